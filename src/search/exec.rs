//! Running a search for an actor: permissions and filters go into the query, then hits are read
//! back from the store and highlighted.
//!
//! Ordering (relevance): `score = bm25 × (1 + RECENCY × 0.5^(age_days / HALF_LIFE_DAYS))`, ties
//! broken by the newer article id, so the same query on the same index always gives the same
//! order. `explain=true` returns tantivy's score breakdown for each hit plus the recency factor.

use serde::Serialize;
use tantivy::aggregation::agg_req::Aggregations;
use tantivy::aggregation::agg_result::AggregationResults;
use tantivy::aggregation::{AggContextParams, AggregationCollector};
use tantivy::collector::{Count, TopDocs};
use tantivy::query::Query;
use tantivy::{DocAddress, SegmentReader};

use super::highlight::{self, Needles, Segment};
use super::index::{SearchIndex, tantivy_err};
use super::query::{Builder, Filters, Parsed, Scope, parse};
use super::schema::CST_OFFSET_MS;
use crate::clock::Millis;
use crate::domain::article::Article;
use crate::domain::user::Permission;
use crate::domain::{ArticleId, OutletId};
use crate::error::{Error, Result};
use crate::store::{Reader, access, federation};
use crate::workflow::{Actor, articles, hub};

pub const RECENCY: f32 = 0.1;
pub const HALF_LIFE_DAYS: f32 = 30.0;
pub const MAX_PAGE_SIZE: usize = 100;
/// Deepest result reachable by paging.
pub const MAX_WINDOW: usize = 10_000;
const SNIPPET_CHARS: usize = 120;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sort {
    Relevance,
    Newest,
    Oldest,
}

#[derive(Debug, Clone)]
pub struct SearchRequest {
    pub q: String,
    /// The filters asked for; `outlets` is narrowed to what the actor may read.
    pub filters: Filters,
    pub sort: Sort,
    /// 1-based.
    pub page: usize,
    pub size: usize,
    pub facets: bool,
    pub explain: bool,
}

impl Default for SearchRequest {
    fn default() -> Self {
        Self {
            q: String::new(),
            filters: Filters::default(),
            sort: Sort::Relevance,
            page: 1,
            size: 20,
            facets: false,
            explain: false,
        }
    }
}

pub struct Hit {
    pub article: Article,
    /// The county it comes from (county scope at a hub).
    pub county: Option<String>,
    pub score: f32,
    pub title: Vec<Segment>,
    pub snippet: Vec<Segment>,
    pub explanation: Option<serde_json::Value>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Bucket {
    pub value: String,
    /// Display name (outlets: the outlet's name; months: `YYYY-MM`).
    pub label: String,
    pub count: u64,
}

#[derive(Debug, Clone, Default, Serialize, utoipa::ToSchema)]
pub struct Facets {
    pub outlet: Vec<Bucket>,
    /// County scope at a hub: the counties (value: instance id, label: its name).
    pub county: Vec<Bucket>,
    pub category: Vec<Bucket>,
    pub status: Vec<Bucket>,
    pub month: Vec<Bucket>,
}

pub struct SearchResult {
    pub total: u64,
    pub hits: Vec<Hit>,
    pub facets: Option<Facets>,
    pub indexed_lsn: u64,
}

pub struct Suggestion {
    pub id: ArticleId,
    pub outlet: OutletId,
    pub title: Vec<Segment>,
}

/// The asked filters with the outlets narrowed to those the actor may read; the counties'
/// content only for the hub's staff.
fn permitted(r: &Reader, actor: &Actor, asked: &Filters) -> Result<Filters> {
    if asked.scope == Scope::Counties {
        hub::county_reader(&r.0, actor)?;
        return Ok(Filters {
            outlets: None,
            ..asked.clone()
        });
    }
    let outlets = asked
        .outlets
        .as_ref()
        .map(|v| v.iter().map(|o| OutletId(*o)).collect());
    Ok(Filters {
        outlets: actor
            .restrict(Permission::ArticleRead, outlets)
            .map(|v| v.into_iter().map(|o| o.0).collect()),
        counties: None,
        ..asked.clone()
    })
}

/// The sort key of the top-k collector: (score or date, id), higher first.
type Key = (f64, u64);

/// Total hits, the requested page of (key, address), and facet aggregations when asked.
type Collected = (u64, Vec<(Key, DocAddress)>, Option<AggregationResults>);

fn recency(now: Millis, date: i64) -> f32 {
    let age_days = ((now - date).max(0) as f32) / 86_400_000.0;
    1.0 + RECENCY * 0.5f32.powf(age_days / HALF_LIFE_DAYS)
}

fn top(
    searcher: &tantivy::Searcher,
    q: &dyn Query,
    sort: Sort,
    now: Millis,
    offset: usize,
    limit: usize,
    facets: Option<Scope>,
) -> Result<Collected> {
    let collector = TopDocs::with_limit(limit.max(1))
        .and_offset(offset)
        .tweak_score(move |seg: &SegmentReader| {
            let ff = seg.fast_fields();
            let date = ff.i64("date").ok().map(|c| c.first_or_default_col(0));
            let id = ff.u64("id").ok().map(|c| c.first_or_default_col(0));
            move |doc: tantivy::DocId, score: tantivy::Score| -> Key {
                let d = date.as_ref().map_or(0, |c| c.get_val(doc));
                let i = id.as_ref().map_or(0, |c| c.get_val(doc));
                match sort {
                    Sort::Relevance => (f64::from(score * recency(now, d)), i),
                    // f64 holds every millisecond date exactly.
                    Sort::Newest => (d as f64, i),
                    Sort::Oldest => (-(d as f64), u64::MAX - i),
                }
            }
        });
    if let Some(scope) = facets {
        let mut req = serde_json::json!({
            "category": {"terms": {"field": "category", "size": 50}},
            "status": {"terms": {"field": "status", "size": 20}},
            "month": {"terms": {"field": "month", "size": 240, "order": {"_key": "desc"}}},
        });
        // Outlet ids are an instance's own: a county's mean nothing at the hub.
        let (name, field, size) = match scope {
            Scope::Local => ("outlet", "outlet", 200),
            Scope::Counties => ("county", "county", 500),
        };
        req[name] = serde_json::json!({"terms": {"field": field, "size": size}});
        let aggs: Aggregations =
            serde_json::from_value(req).map_err(|e| Error::Internal(e.to_string()))?;
        let agg = AggregationCollector::from_aggs(aggs, AggContextParams::default());
        let (n, hits, a) = searcher
            .search(q, &(Count, collector, agg))
            .map_err(tantivy_err)?;
        Ok((n as u64, hits, Some(a)))
    } else {
        let (n, hits) = searcher
            .search(q, &(Count, collector))
            .map_err(tantivy_err)?;
        Ok((n as u64, hits, None))
    }
}

fn buckets(v: &serde_json::Value, name: &str) -> Vec<(String, u64)> {
    let Some(arr) = v
        .get(name)
        .and_then(|x| x.get("buckets"))
        .and_then(|b| b.as_array())
    else {
        return Vec::new();
    };
    arr.iter()
        .filter_map(|b| {
            let key = match b.get("key")? {
                serde_json::Value::String(s) => s.clone(),
                serde_json::Value::Number(n) => n
                    .as_u64()
                    .or_else(|| n.as_f64().map(|f| f as u64))?
                    .to_string(),
                _ => return None,
            };
            Some((key, b.get("doc_count")?.as_u64()?))
        })
        .collect()
}

fn facets(r: &Reader, a: &AggregationResults) -> Result<Facets> {
    let v = serde_json::to_value(a).map_err(|e| Error::Internal(e.to_string()))?;
    let plain = |name: &str| -> Vec<Bucket> {
        buckets(&v, name)
            .into_iter()
            .map(|(value, count)| Bucket {
                label: value.clone(),
                value,
                count,
            })
            .collect()
    };
    let mut outlet = Vec::new();
    for (value, count) in buckets(&v, "outlet") {
        let id = value.parse().map(OutletId).ok();
        let label = match id {
            Some(id) => access::outlet(&r.0, id)?.map_or(value.clone(), |o| o.name),
            None => value.clone(),
        };
        outlet.push(Bucket {
            value,
            label,
            count,
        });
    }
    let mut county = Vec::new();
    for (value, count) in buckets(&v, "county") {
        let label = federation::peer_name(&r.0, &value)?;
        county.push(Bucket {
            value,
            label,
            count,
        });
    }
    let month = buckets(&v, "month")
        .into_iter()
        .map(|(value, count)| Bucket {
            label: match value.parse::<u64>() {
                Ok(m) => format!("{:04}-{:02}", m / 100, m % 100),
                Err(_) => value.clone(),
            },
            value,
            count,
        })
        .collect();
    Ok(Facets {
        outlet,
        county,
        category: plain("category"),
        status: plain("status"),
        month,
    })
}

fn doc_id(searcher: &tantivy::Searcher, addr: DocAddress) -> Result<u64> {
    let col = searcher
        .segment_reader(addr.segment_ord)
        .fast_fields()
        .u64("id")
        .map_err(tantivy_err)?;
    col.first(addr.doc_id)
        .ok_or_else(|| Error::SearchIndex("document without id".into()))
}

/// The county a document comes from, if it is a county article.
fn doc_county(searcher: &tantivy::Searcher, addr: DocAddress) -> Result<Option<String>> {
    let col = searcher
        .segment_reader(addr.segment_ord)
        .fast_fields()
        .str("county")
        .map_err(tantivy_err)?;
    let mut buf = String::new();
    Ok(super::schema::county_of(col.as_ref(), addr.doc_id, &mut buf)?.map(str::to_string))
}

/// The article a hit stands for, read back from the store (the source of truth) with the same
/// permission check as the query's; `None` when it is gone or not readable.
fn resolve(
    r: &Reader,
    actor: &Actor,
    searcher: &tantivy::Searcher,
    addr: DocAddress,
) -> Result<Option<(Article, Option<String>)>> {
    let id = doc_id(searcher, addr)?;
    Ok(match doc_county(searcher, addr)? {
        Some(county) => {
            federation::county_article(&r.0, &county, id)?.map(|c| (c.article, Some(county)))
        }
        None => articles::get(&r.0, actor, ArticleId(id))
            .ok()
            .map(|a| (a, None)),
    })
}

/// Search the articles the actor may read.
pub fn search(
    idx: &SearchIndex,
    r: &Reader,
    actor: &Actor,
    req: &SearchRequest,
    now: Millis,
) -> Result<SearchResult> {
    if req.size == 0 || req.size > MAX_PAGE_SIZE {
        return Err(Error::invalid(
            "size",
            format!("must be 1 to {MAX_PAGE_SIZE}"),
        ));
    }
    let offset = req.page.saturating_sub(1).saturating_mul(req.size);
    if req.page == 0 || offset + req.size > MAX_WINDOW {
        return Err(Error::invalid(
            "page",
            format!("page × size must stay within the first {MAX_WINDOW} results"),
        ));
    }
    let parsed: Parsed = parse(&req.q)?;
    let live = idx.live()?;
    let a = idx.analyzers();
    let b = Builder {
        analyzers: a,
        f: &live.fields,
    };
    let filters = permitted(r, actor, &req.filters)?;
    let q = b.build(&parsed, &filters);
    let searcher = live.reader.searcher();
    let (total, top_docs, aggs) = top(
        &searcher,
        q.as_ref(),
        req.sort,
        now,
        offset,
        req.size,
        req.facets.then_some(filters.scope),
    )?;
    let needles = Needles::new(a, parsed.positives());
    let mut hits = Vec::with_capacity(top_docs.len());
    for ((score, _), addr) in top_docs {
        let Some((article, county)) = resolve(r, actor, &searcher, addr)? else {
            continue;
        };
        let (title_text, body_text) = super::schema::searchable_text(&article);
        let explanation = if req.explain {
            let e = q.explain(&searcher, addr).map_err(tantivy_err)?;
            let mut v = serde_json::to_value(&e).map_err(|e| Error::Internal(e.to_string()))?;
            if req.sort == Sort::Relevance
                && let Some(o) = v.as_object_mut()
            {
                o.insert(
                    "recency_factor".into(),
                    serde_json::json!(recency(now, super::schema::article_date(&article))),
                );
            }
            Some(v)
        } else {
            None
        };
        hits.push(Hit {
            title: highlight::whole(a, &needles, &title_text),
            snippet: highlight::snippet(a, &needles, &body_text, SNIPPET_CHARS),
            score: if req.sort == Sort::Relevance {
                score as f32
            } else {
                0.0
            },
            article,
            county,
            explanation,
        });
    }
    let facets = aggs.as_ref().map(|a| facets(r, a)).transpose()?;
    let indexed_lsn = idx.status().indexed_lsn;
    Ok(SearchResult {
        total,
        hits,
        facets,
        indexed_lsn,
    })
}

/// Titles matching what has been typed so far, best first.
pub fn suggest(
    idx: &SearchIndex,
    r: &Reader,
    actor: &Actor,
    text: &str,
    limit: usize,
    now: Millis,
) -> Result<Vec<Suggestion>> {
    let text: String = text.chars().take(super::query::MAX_QUERY_CHARS).collect();
    let live = idx.live()?;
    let a = idx.analyzers();
    let b = Builder {
        analyzers: a,
        f: &live.fields,
    };
    let Some(title_q) = b.title_prefix(&text) else {
        return Ok(Vec::new());
    };
    let f = permitted(r, actor, &Filters::default())?;
    let mut parts: Vec<(tantivy::query::Occur, Box<dyn Query>)> =
        vec![(tantivy::query::Occur::Must, title_q)];
    let base = b.build(&Parsed::default(), &f);
    parts.push((tantivy::query::Occur::Must, base));
    let q = tantivy::query::BooleanQuery::new(parts);
    let searcher = live.reader.searcher();
    let (_, top_docs, _) = top(
        &searcher,
        &q,
        Sort::Relevance,
        now,
        0,
        limit.clamp(1, 20),
        None,
    )?;
    let needles = Needles::new(a, std::iter::once(&text));
    let mut out = Vec::new();
    for (_, addr) in top_docs {
        let id = ArticleId(doc_id(&searcher, addr)?);
        if let Ok(article) = articles::get(&r.0, actor, id) {
            out.push(Suggestion {
                id,
                outlet: article.outlet,
                title: highlight::whole(a, &needles, &article.title),
            });
        }
    }
    Ok(out)
}

/// Start of a `YYYY-MM-DD` day in China Standard Time, in ms.
pub fn day_start(s: &str) -> Option<Millis> {
    let fmt = time::macros::format_description!("[year]-[month]-[day]");
    let d = time::Date::parse(s.trim(), &fmt).ok()?;
    Some(d.midnight().assume_utc().unix_timestamp() * 1000 - CST_OFFSET_MS)
}
