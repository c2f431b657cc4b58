//! Search: full-text query with filters, facets and highlights; title suggestions; index status
//! and rebuild.

use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::articles::ArticleSummary;
use super::ts;
use crate::error::{Error, Result};
use crate::http::AppState;
use crate::http::auth::Auth;
use crate::http::error::{Json, Query};
use crate::search::exec::{Facets, day_start};
use crate::search::highlight::Segment;
use crate::search::query::{Filters, Scope};
use crate::search::{SearchRequest, Sort, Status, exec};
use crate::workflow::outlets;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(search))
        .routes(routes!(suggest))
        .routes(routes!(status))
        .routes(routes!(rebuild))
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct SearchQuery {
    /// Query: words and "phrases" (ANDed), `OR`, `-word` to exclude. Chinese needs no spaces.
    #[serde(default)]
    pub q: String,
    /// `local` (default): this instance's articles; `counties`: at a provincial hub, the
    /// articles its counties published (for the hub's staff).
    pub scope: Option<String>,
    /// Outlet ids or slugs, comma-separated (default: every outlet you may read). Local scope.
    pub outlet: Option<String>,
    /// County instance ids, comma-separated (default: every county). County scope.
    pub county: Option<String>,
    pub status: Option<String>,
    pub category: Option<String>,
    pub tag: Option<String>,
    /// User id of an author.
    pub author: Option<u64>,
    /// First day, `YYYY-MM-DD` (China Standard Time).
    pub from: Option<String>,
    /// Last day, inclusive.
    pub to: Option<String>,
    /// `relevance` (default), `newest`, `oldest`.
    pub sort: Option<String>,
    /// 1-based page number.
    pub page: Option<usize>,
    /// Hits per page, 1–100 (default 20).
    pub size: Option<usize>,
    /// Include facet counts (default true).
    pub facets: Option<bool>,
    /// Include each hit's score breakdown.
    pub explain: Option<bool>,
}

#[derive(Serialize, ToSchema)]
pub struct CountyRef {
    /// The county's instance id.
    pub id: String,
    pub name: String,
}

#[derive(Serialize, ToSchema)]
pub struct SearchHit {
    /// Ids (article, outlet, authors) of a county hit are the county's own.
    #[serde(flatten)]
    pub article: ArticleSummary,
    /// County scope: where the article comes from.
    pub county: Option<CountyRef>,
    /// Date the article is filed under (source date of imports, else creation), RFC 3339.
    pub date: String,
    pub score: f32,
    /// The title with matches marked.
    pub title_highlight: Vec<Segment>,
    /// A passage of the text around the densest matches.
    pub snippet: Vec<Segment>,
    #[schema(value_type = Option<Object>)]
    pub explanation: Option<serde_json::Value>,
}

#[derive(Serialize, ToSchema)]
pub struct SearchPage {
    pub total: u64,
    pub page: usize,
    pub size: usize,
    pub hits: Vec<SearchHit>,
    pub facets: Option<Facets>,
    /// Last log entry the index contains (results reflect every change up to it).
    pub indexed_lsn: u64,
    pub took_ms: f64,
}

fn request(s: &AppState, q: &SearchQuery) -> Result<SearchRequest> {
    let r = s.core.reader()?;
    let outlets = q
        .outlet
        .as_deref()
        .filter(|o| !o.trim().is_empty())
        .map(|list| {
            list.split(',')
                .map(|o| outlets::resolve(&r.0, o.trim()).map(|o| o.id))
                .collect::<Result<Vec<_>>>()
        })
        .transpose()?;
    let day = |name: &str, v: &Option<String>| -> Result<Option<i64>> {
        v.as_deref()
            .filter(|d| !d.trim().is_empty())
            .map(|d| {
                day_start(d).ok_or_else(|| Error::InvalidQuery(format!("{name}: use YYYY-MM-DD")))
            })
            .transpose()
    };
    let sort = match q.sort.as_deref().unwrap_or("relevance") {
        "relevance" => Sort::Relevance,
        "newest" => Sort::Newest,
        "oldest" => Sort::Oldest,
        other => {
            return Err(Error::InvalidQuery(format!(
                "sort {other:?} is not one of relevance, newest, oldest"
            )));
        }
    };
    let scope = match q.scope.as_deref().unwrap_or("local") {
        "local" => Scope::Local,
        "counties" => Scope::Counties,
        other => {
            return Err(Error::InvalidQuery(format!(
                "scope {other:?} is not one of local, counties"
            )));
        }
    };
    let counties = q
        .county
        .as_deref()
        .filter(|c| !c.trim().is_empty())
        .map(|list| list.split(',').map(|c| c.trim().to_string()).collect());
    let nonempty = |v: &Option<String>| v.clone().filter(|x| !x.trim().is_empty());
    Ok(SearchRequest {
        q: q.q.clone(),
        filters: Filters {
            scope,
            outlets: outlets.map(|v| v.into_iter().map(|o| o.0).collect()),
            counties,
            status: nonempty(&q.status),
            category: nonempty(&q.category),
            tag: nonempty(&q.tag),
            author: q.author,
            date_from: day("from", &q.from)?,
            date_to: day("to", &q.to)?.map(|d| d + 86_400_000),
        },
        sort,
        page: q.page.unwrap_or(1),
        size: q.size.unwrap_or(20),
        facets: q.facets.unwrap_or(true),
        explain: q.explain.unwrap_or(false),
    })
}

#[utoipa::path(get, path = "/api/v1/search", tag = "search", params(SearchQuery), responses((status = 200, body = SearchPage)))]
async fn search(
    State(s): State<AppState>,
    auth: Auth,
    Query(q): Query<SearchQuery>,
) -> Result<Json<SearchPage>> {
    let req = request(&s, &q)?;
    let (page, size) = (req.page, req.size);
    let sw = crate::clock::Stopwatch::start();
    let now = s.core.clock.now();
    let st = s.clone();
    let res = tokio::task::spawn_blocking(move || {
        exec::search(&st.search, &st.core.reader()?, &auth.actor, &req, now)
    })
    .await
    .map_err(|e| Error::Internal(e.to_string()))??;
    let r = s.core.reader()?;
    let county_ref = |id: Option<String>| -> Result<Option<CountyRef>> {
        id.map(|id| {
            let name = crate::store::federation::peer_name(&r.0, &id)?;
            Ok(CountyRef { id, name })
        })
        .transpose()
    };
    let hits = res
        .hits
        .into_iter()
        .map(|h| {
            Ok(SearchHit {
                county: county_ref(h.county)?,
                date: ts(crate::search::schema::article_date(&h.article)),
                article: ArticleSummary::from(&h.article),
                score: h.score,
                title_highlight: h.title,
                snippet: h.snippet,
                explanation: h.explanation,
            })
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(Json(SearchPage {
        total: res.total,
        page,
        size,
        hits,
        facets: res.facets,
        indexed_lsn: res.indexed_lsn,
        took_ms: sw.elapsed_us() as f64 / 1000.0,
    }))
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct SuggestQuery {
    /// What has been typed so far.
    #[serde(default)]
    pub q: String,
    /// 1–20, default 8.
    pub limit: Option<usize>,
}

#[derive(Serialize, ToSchema)]
pub struct SuggestionDto {
    pub id: u64,
    pub outlet: u64,
    pub title: Vec<Segment>,
}

#[utoipa::path(get, path = "/api/v1/search/suggest", tag = "search", params(SuggestQuery), responses((status = 200, body = [SuggestionDto])))]
async fn suggest(
    State(s): State<AppState>,
    auth: Auth,
    Query(q): Query<SuggestQuery>,
) -> Result<Json<Vec<SuggestionDto>>> {
    let now = s.core.clock.now();
    let limit = q.limit.unwrap_or(8);
    let st = s.clone();
    let out = tokio::task::spawn_blocking(move || {
        exec::suggest(
            &st.search,
            &st.core.reader()?,
            &auth.actor,
            &q.q,
            limit,
            now,
        )
    })
    .await
    .map_err(|e| Error::Internal(e.to_string()))??;
    Ok(Json(
        out.into_iter()
            .map(|x| SuggestionDto {
                id: x.id.0,
                outlet: x.outlet.0,
                title: x.title,
            })
            .collect(),
    ))
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct StatusQuery {
    /// Wait until the index contains this log position (read your own writes)…
    pub wait_for_lsn: Option<u64>,
    /// …or until this many index builds have completed since start…
    pub wait_for_build: Option<u64>,
    /// …for at most this long (default 5000, at most 30000).
    pub timeout_ms: Option<u64>,
}

#[utoipa::path(get, path = "/api/v1/search/status", tag = "search", params(StatusQuery), responses((status = 200, body = Status)))]
async fn status(
    State(s): State<AppState>,
    auth: Auth,
    Query(q): Query<StatusQuery>,
) -> Result<Json<Status>> {
    if let Some(lsn) = q.wait_for_lsn {
        let limit = std::time::Duration::from_millis(q.timeout_ms.unwrap_or(5_000).min(30_000));
        let mut rx = s.search.indexed_watch();
        // On timeout the status below says how far the index got.
        let _ = tokio::time::timeout(limit, rx.wait_for(|l| l.0 >= lsn)).await;
    }
    if let Some(n) = q.wait_for_build {
        let limit = std::time::Duration::from_millis(q.timeout_ms.unwrap_or(5_000).min(30_000));
        let mut rx = s.search.builds_watch();
        let _ = tokio::time::timeout(limit, rx.wait_for(|b| *b >= n)).await;
    }
    let mut st = s.search.status();
    st.log_lsn = s.core.committer.log_watch().current().0;
    if !auth.actor.is_instance_admin() {
        // Counts across outlets are for administrators.
        st.docs = 0;
        st.rebuild_total = 0;
        st.rebuild_done = 0;
    }
    Ok(Json(st))
}

#[utoipa::path(post, path = "/api/v1/search/rebuild", tag = "search", responses((status = 202, body = Status)))]
async fn rebuild(State(s): State<AppState>, auth: Auth) -> Result<(StatusCode, Json<Status>)> {
    auth.actor.require_instance_admin()?;
    s.search.request_rebuild()?;
    Ok((StatusCode::ACCEPTED, Json(s.search.status())))
}
