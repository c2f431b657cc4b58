//! Typed reads. `Access` is implemented by both redb transaction kinds, so every getter is written
//! once and works in a `Reader` (request handlers) and inside a write transaction (use cases).

use std::borrow::Borrow;
use std::ops::Bound;

use redb::{Key, ReadableDatabase, ReadableTable, ReadableTableMetadata, TableDefinition};
use serde::de::DeserializeOwned;

use super::tables::*;
use super::{InstanceMeta, LogHead, codec};
use crate::domain::article::Article;
use crate::domain::asset::Asset;
use crate::domain::comment::Comment;
use crate::domain::credentials::{ApiToken, Session};
use crate::domain::lexicon::{Entry as LexEntry, Lexicon};
use crate::domain::outlet::Outlet;
use crate::domain::review::{Chain, Review};
use crate::domain::screening::{Override, Screening};
use crate::domain::topic::Topic;
use crate::domain::user::User;
use crate::domain::{
    ArticleId, AssetId, ChainId, CommentId, LexiconId, OutletId, TokenId, TopicId, UserId,
};
use crate::error::{Error, Result};

pub trait Access {
    fn bytes<'a, K: Key + 'static>(
        &self,
        t: TableDefinition<K, &'static [u8]>,
        k: impl Borrow<K::SelfType<'a>>,
    ) -> Result<Option<Vec<u8>>>;

    fn number<'a, K: Key + 'static>(
        &self,
        t: TableDefinition<K, u64>,
        k: impl Borrow<K::SelfType<'a>>,
    ) -> Result<Option<u64>>;

    /// Every value of a table keyed by id, in id order.
    fn all_values(&self, t: TableDefinition<u64, &'static [u8]>) -> Result<Vec<Vec<u8>>>;

    /// Every value of a table keyed by text, in key order.
    fn values_by_name(
        &self,
        t: TableDefinition<&'static str, &'static [u8]>,
    ) -> Result<Vec<Vec<u8>>>;

    /// Ids of the chains of an outlet, by slug.
    fn chain_ids(&self, outlet: OutletId) -> Result<Vec<u64>>;

    /// Values of a table keyed by (id, text) for one id, in text order.
    fn values_of(
        &self,
        t: TableDefinition<(u64, &'static str), &'static [u8]>,
        id: u64,
    ) -> Result<Vec<Vec<u8>>>;

    /// Values of a table keyed by (text, id) for one text, in id order.
    fn values_under(
        &self,
        t: TableDefinition<(&'static str, u64), &'static [u8]>,
        name: &str,
    ) -> Result<Vec<Vec<u8>>>;

    /// Up to `limit` rows of a table keyed by (text, id) with this text and an id after
    /// `after`, in id order, as (id, value).
    fn rows_under(
        &self,
        t: TableDefinition<(&'static str, u64), &'static [u8]>,
        name: &str,
        after: u64,
        limit: usize,
    ) -> Result<Vec<(u64, Vec<u8>)>>;

    /// How many rows of a table keyed by (text, id) have this text.
    fn count_under(
        &self,
        t: TableDefinition<(&'static str, u64), &'static [u8]>,
        name: &str,
    ) -> Result<u64>;

    /// How many rows of a set keyed by (text, a, b) have this text and `a`.
    fn count_in_set(
        &self,
        t: TableDefinition<(&'static str, u64, u64), ()>,
        name: &str,
        a: u64,
    ) -> Result<u64>;

    // Reads the writer makes for every article fact; a `Tx` answers them from its kept tables.

    /// ARTICLE_HEADS: the lsn of the entry carrying the article's newest state.
    fn article_head(&self, id: u64) -> Result<Option<u64>> {
        self.number(ARTICLE_HEADS, id)
    }

    /// ARTICLE_REVISIONS: the lsn of the entry carrying that revision.
    fn article_revision(&self, id: u64, revision: u32) -> Result<Option<u64>> {
        self.number(ARTICLE_REVISIONS, (id, revision))
    }

    /// A stored LOG value.
    fn log_value(&self, lsn: u64) -> Result<Option<Vec<u8>>> {
        self.bytes(LOG, lsn)
    }

    /// COUNTERS.
    fn counter_value(&self, kind: &str) -> Result<Option<u64>> {
        self.number(COUNTERS, kind)
    }
}

macro_rules! impl_access {
    ($t:ty $(, $more:item)*) => {
        impl Access for $t {
            $($more)*

            fn bytes<'a, K: Key + 'static>(
                &self,
                t: TableDefinition<K, &'static [u8]>,
                k: impl Borrow<K::SelfType<'a>>,
            ) -> Result<Option<Vec<u8>>> {
                let table = self.open_table(t)?;
                Ok(table.get(k)?.map(|g| g.value().to_vec()))
            }

            fn number<'a, K: Key + 'static>(
                &self,
                t: TableDefinition<K, u64>,
                k: impl Borrow<K::SelfType<'a>>,
            ) -> Result<Option<u64>> {
                let table = self.open_table(t)?;
                Ok(table.get(k)?.map(|g| g.value()))
            }

            fn all_values(&self, t: TableDefinition<u64, &'static [u8]>) -> Result<Vec<Vec<u8>>> {
                let table = self.open_table(t)?;
                let mut out = Vec::new();
                for row in table.iter()? {
                    out.push(row?.1.value().to_vec());
                }
                Ok(out)
            }

            fn values_by_name(
                &self,
                t: TableDefinition<&'static str, &'static [u8]>,
            ) -> Result<Vec<Vec<u8>>> {
                let table = self.open_table(t)?;
                let mut out = Vec::new();
                for row in table.iter()? {
                    out.push(row?.1.value().to_vec());
                }
                Ok(out)
            }

            fn chain_ids(&self, outlet: OutletId) -> Result<Vec<u64>> {
                let table = self.open_table(CHAIN_SLUGS)?;
                let mut out = Vec::new();
                for row in table.range((outlet.0, "")..(outlet.0 + 1, ""))? {
                    out.push(row?.1.value());
                }
                Ok(out)
            }

            fn values_of(
                &self,
                t: TableDefinition<(u64, &'static str), &'static [u8]>,
                id: u64,
            ) -> Result<Vec<Vec<u8>>> {
                let table = self.open_table(t)?;
                let mut out = Vec::new();
                for row in table.range((id, "")..(id + 1, ""))? {
                    out.push(row?.1.value().to_vec());
                }
                Ok(out)
            }

            fn values_under(
                &self,
                t: TableDefinition<(&'static str, u64), &'static [u8]>,
                name: &str,
            ) -> Result<Vec<Vec<u8>>> {
                let table = self.open_table(t)?;
                let mut out = Vec::new();
                for row in table.range((name, 0)..=(name, u64::MAX))? {
                    out.push(row?.1.value().to_vec());
                }
                Ok(out)
            }

            fn rows_under(
                &self,
                t: TableDefinition<(&'static str, u64), &'static [u8]>,
                name: &str,
                after: u64,
                limit: usize,
            ) -> Result<Vec<(u64, Vec<u8>)>> {
                let table = self.open_table(t)?;
                let mut out = Vec::new();
                if after == u64::MAX {
                    return Ok(out);
                }
                for row in table
                    .range((name, after + 1)..=(name, u64::MAX))?
                    .take(limit)
                {
                    let (k, v) = row?;
                    out.push((k.value().1, v.value().to_vec()));
                }
                Ok(out)
            }

            fn count_in_set(
                &self,
                t: TableDefinition<(&'static str, u64, u64), ()>,
                name: &str,
                a: u64,
            ) -> Result<u64> {
                let table = self.open_table(t)?;
                let mut n = 0;
                for row in table.range((name, a, 0)..=(name, a, u64::MAX))? {
                    row?;
                    n += 1;
                }
                Ok(n)
            }

            fn count_under(
                &self,
                t: TableDefinition<(&'static str, u64), &'static [u8]>,
                name: &str,
            ) -> Result<u64> {
                let table = self.open_table(t)?;
                let mut n = 0;
                for row in table.range((name, 0)..=(name, u64::MAX))? {
                    row?;
                    n += 1;
                }
                Ok(n)
            }
        }
    };
}
impl_access!(redb::ReadTransaction);
impl_access!(redb::WriteTransaction);
impl_access!(
    super::Tx<'_>,
    fn article_head(&self, id: u64) -> Result<Option<u64>> {
        self.heads(|t| Ok(t.get(id)?.map(|g| g.value())))
    },
    fn article_revision(&self, id: u64, revision: u32) -> Result<Option<u64>> {
        self.revisions(|t| Ok(t.get((id, revision))?.map(|g| g.value())))
    },
    fn log_value(&self, lsn: u64) -> Result<Option<Vec<u8>>> {
        self.log(|t| Ok(t.get(lsn)?.map(|g| g.value().to_vec())))
    },
    fn counter_value(&self, kind: &str) -> Result<Option<u64>> {
        self.counters(|t| Ok(t.get(kind)?.map(|g| g.value())))
    }
);

pub(super) fn typed<T: DeserializeOwned>(b: Option<Vec<u8>>) -> Result<Option<T>> {
    b.map(|b| codec::decode(&b)).transpose()
}

/// Every value of a table keyed by id, decoded, in id order.
pub(super) fn all_typed<T: DeserializeOwned>(
    a: &impl Access,
    t: TableDefinition<u64, &'static [u8]>,
) -> Result<Vec<T>> {
    a.all_values(t)?.iter().map(|b| codec::decode(b)).collect()
}

/// The values of a table keyed by (text, id) for one text, decoded, in id order.
pub(super) fn under_typed<T: DeserializeOwned>(
    a: &impl Access,
    t: TableDefinition<(&'static str, u64), &'static [u8]>,
    name: &str,
) -> Result<Vec<T>> {
    a.values_under(t, name)?
        .iter()
        .map(|b| codec::decode(b))
        .collect()
}

pub fn instance(a: &impl Access) -> Result<Option<InstanceMeta>> {
    typed(a.bytes(META, "instance")?)
}
pub fn log_head(a: &impl Access) -> Result<Option<LogHead>> {
    typed(a.bytes(META, "log_head")?)
}
pub fn counter(a: &impl Access, kind: &str) -> Result<u64> {
    Ok(a.counter_value(kind)?.unwrap_or(0))
}
pub fn outlet(a: &impl Access, id: OutletId) -> Result<Option<Outlet>> {
    typed(a.bytes(OUTLETS, id.0)?)
}
pub fn outlet_by_slug(a: &impl Access, slug: &str) -> Result<Option<Outlet>> {
    match a.number(OUTLET_SLUGS, slug)? {
        Some(id) => outlet(a, OutletId(id)),
        None => Ok(None),
    }
}
pub fn user(a: &impl Access, id: UserId) -> Result<Option<User>> {
    typed(a.bytes(USERS, id.0)?)
}
pub fn user_by_name(a: &impl Access, name: &str) -> Result<Option<User>> {
    match a.number(USERNAMES, name)? {
        Some(id) => user(a, UserId(id)),
        None => Ok(None),
    }
}
pub fn password(a: &impl Access, id: UserId) -> Result<Option<String>> {
    Ok(a.bytes(PASSWORDS, id.0)?
        .map(|b| String::from_utf8_lossy(&b).into_owned()))
}
pub fn token(a: &impl Access, id: TokenId) -> Result<Option<ApiToken>> {
    typed(a.bytes(TOKENS, id.0)?)
}
pub fn article(a: &impl Access, id: ArticleId) -> Result<Option<Article>> {
    match a.article_head(id.0)? {
        Some(lsn) => article_at(a, lsn).map(Some),
        None => Ok(None),
    }
}
pub fn version(a: &impl Access, id: ArticleId, rev: u32) -> Result<Option<Article>> {
    match a.article_revision(id.0, rev)? {
        Some(lsn) => article_at(a, lsn).map(Some),
        None => Ok(None),
    }
}

/// The article the fact of LOG entry `lsn` carries (ARTICLE_HEADS and ARTICLE_REVISIONS point
/// at such entries).
pub fn article_at(a: &impl Access, lsn: u64) -> Result<Article> {
    let stored = a.log_value(lsn)?.ok_or_else(|| {
        Error::Store(format!(
            "an article points at log entry {lsn}, which is missing"
        ))
    })?;
    article_in(&stored, lsn)
}

/// The fact (JSON) of a stored LOG value (`lsn` names it in errors).
pub fn log_fact_json(stored: &[u8], lsn: u64) -> Result<&[u8]> {
    match (stored.get(LOG_FORMAT_AT), stored.get(LOG_FACT_OFFSET..)) {
        (Some(&LOG_ENTRY_FORMAT), Some(json)) => Ok(json),
        _ => Err(Error::Store(format!(
            "log entry {lsn} is too short or of an unknown format"
        ))),
    }
}

/// The article carried by a stored LOG value (`lsn` names it in errors).
fn article_in(stored: &[u8], lsn: u64) -> Result<Article> {
    /// Every fact that saves an article has it under `article` (its other fields are ignored).
    #[derive(serde::Deserialize)]
    struct Carried {
        article: Article,
    }
    serde_json::from_slice::<Carried>(log_fact_json(stored, lsn)?)
        .map(|c| c.article)
        .map_err(|e| Error::Store(format!("log entry {lsn} carries no article: {e}")))
}

pub fn article_by_source(
    a: &impl Access,
    outlet: OutletId,
    source: &str,
) -> Result<Option<ArticleId>> {
    Ok(a.number(ARTICLE_SOURCES, (outlet.0, source))?
        .map(ArticleId))
}
pub fn asset(a: &impl Access, id: AssetId) -> Result<Option<Asset>> {
    typed(a.bytes(ASSETS, id.0)?)
}
pub fn chain(a: &impl Access, id: ChainId) -> Result<Option<Chain>> {
    typed(a.bytes(CHAINS, id.0)?)
}
pub fn chain_version(a: &impl Access, id: ChainId, version: u32) -> Result<Option<Chain>> {
    typed(a.bytes(CHAIN_VERSIONS, (id.0, version))?)
}
pub fn chain_by_slug(a: &impl Access, outlet: OutletId, slug: &str) -> Result<Option<Chain>> {
    match a.number(CHAIN_SLUGS, (outlet.0, slug))? {
        Some(id) => chain(a, ChainId(id)),
        None => Ok(None),
    }
}
pub fn chains_of(a: &impl Access, outlet: OutletId) -> Result<Vec<Chain>> {
    let mut out = Vec::new();
    for id in a.chain_ids(outlet)? {
        out.extend(chain(a, ChainId(id))?);
    }
    Ok(out)
}
pub fn users(a: &impl Access) -> Result<Vec<User>> {
    a.all_values(USERS)?
        .iter()
        .map(|b| codec::decode(b))
        .collect()
}
pub fn review(a: &impl Access, id: ArticleId) -> Result<Option<Review>> {
    typed(a.bytes(REVIEWS, id.0)?)
}
pub fn topic(a: &impl Access, id: TopicId) -> Result<Option<Topic>> {
    typed(a.bytes(TOPICS, id.0)?)
}
pub fn comment(a: &impl Access, id: CommentId) -> Result<Option<Comment>> {
    typed(a.bytes(COMMENTS, id.0)?)
}
/// The topic an article is linked to.
pub fn topic_of(a: &impl Access, article: ArticleId) -> Result<Option<TopicId>> {
    Ok(a.number(ARTICLE_TOPIC, article.0)?.map(TopicId))
}
pub fn lexicon(a: &impl Access, id: LexiconId) -> Result<Option<Lexicon>> {
    typed(a.bytes(LEXICONS, id.0)?)
}
pub fn lexicons(a: &impl Access) -> Result<Vec<Lexicon>> {
    a.all_values(LEXICONS)?
        .iter()
        .map(|b| codec::decode(b))
        .collect()
}
pub fn lexicon_entries(a: &impl Access, id: LexiconId) -> Result<Vec<LexEntry>> {
    a.values_of(LEXICON_ENTRIES, id.0)?
        .iter()
        .map(|b| codec::decode(b))
        .collect()
}
pub fn lexicon_entry(a: &impl Access, id: LexiconId, text: &str) -> Result<Option<LexEntry>> {
    typed(a.bytes(LEXICON_ENTRIES, (id.0, text))?)
}
pub fn screening(a: &impl Access, article: ArticleId, revision: u32) -> Result<Option<Screening>> {
    typed(a.bytes(SCREENINGS, (article.0, revision))?)
}
pub fn overrides(a: &impl Access, article: ArticleId) -> Result<Vec<Override>> {
    a.values_of(SCREEN_OVERRIDES, article.0)?
        .iter()
        .map(|b| codec::decode(b))
        .collect()
}
pub fn proof_ignores(
    a: &impl Access,
    article: ArticleId,
) -> Result<Vec<crate::domain::screening::Ignored>> {
    a.values_of(PROOF_IGNORES, article.0)?
        .iter()
        .map(|b| codec::decode(b))
        .collect()
}
pub fn all_assets(a: &impl Access) -> Result<Vec<crate::domain::asset::Asset>> {
    a.all_values(ASSETS)?
        .iter()
        .map(|b| codec::decode(b))
        .collect()
}
pub fn session(a: &impl Access, key: &[u8]) -> Result<Option<Session>> {
    typed(a.bytes(SESSIONS, key)?)
}

/// Filters for listing articles. `outlets: None` means every outlet.
#[derive(Debug, Clone, Default)]
pub struct ArticleFilter {
    pub outlets: Option<Vec<OutletId>>,
    pub status: Option<crate::domain::article::ArticleStatus>,
    pub author: Option<UserId>,
    pub tag: Option<String>,
    pub updated_from: Option<i64>,
    pub updated_to: Option<i64>,
}

impl ArticleFilter {
    fn matches(&self, a: &Article) -> bool {
        self.outlets.as_ref().is_none_or(|o| o.contains(&a.outlet))
            && self.status.is_none_or(|s| s == a.status)
            && self
                .author
                .is_none_or(|u| a.authors.contains(&u) || a.created_by == u)
            && self.tag.as_ref().is_none_or(|t| a.tags.contains(t))
    }
}

/// Sort orders for listing; each has a stable position key `(sort value, id)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ArticleSort {
    UpdatedDesc,
    UpdatedAsc,
    CreatedDesc,
    CreatedAsc,
}

/// Which audit trail to read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuditIndex {
    Article,
    User,
    Topic,
}

/// A read-only snapshot of the store.
pub struct Reader(pub redb::ReadTransaction);

impl Reader {
    pub fn begin(db: &redb::Database) -> Result<Self> {
        Ok(Self(db.begin_read()?))
    }

    fn all<T: DeserializeOwned>(&self, t: TableDefinition<u64, &'static [u8]>) -> Result<Vec<T>> {
        let table = self.0.open_table(t)?;
        let mut out = Vec::new();
        for row in table.iter()? {
            out.push(codec::decode(row?.1.value())?);
        }
        Ok(out)
    }

    pub fn outlets(&self) -> Result<Vec<Outlet>> {
        self.all(OUTLETS)
    }
    pub fn users(&self) -> Result<Vec<User>> {
        self.all(USERS)
    }
    pub fn tokens(&self) -> Result<Vec<ApiToken>> {
        self.all(TOKENS)
    }

    /// Number of articles (current versions).
    pub fn article_count(&self) -> Result<u64> {
        Ok(self.0.open_table(ARTICLE_HEADS)?.len()?)
    }

    /// Every article's current version in id order, one at a time (rebuilding an index).
    pub fn for_each_article(&self, mut f: impl FnMut(Article) -> Result<()>) -> Result<()> {
        let table = self.0.open_table(ARTICLE_HEADS)?;
        for row in table.iter()? {
            f(article_at(&self.0, row?.1.value())?)?;
        }
        Ok(())
    }

    pub fn versions(&self, id: ArticleId) -> Result<Vec<Article>> {
        let table = self.0.open_table(ARTICLE_REVISIONS)?;
        let mut out = Vec::new();
        for row in table.range((id.0, 0)..=(id.0, u32::MAX))? {
            out.push(article_at(&self.0, row?.1.value())?);
        }
        Ok(out)
    }

    /// One page of articles after `after` (the last row's position key of the previous page).
    pub fn list_articles(
        &self,
        f: &ArticleFilter,
        sort: ArticleSort,
        after: Option<(i64, u64)>,
        limit: usize,
    ) -> Result<Vec<Article>> {
        let mut out = Vec::with_capacity(limit);
        let mut push = |a: Article| -> bool {
            if f.matches(&a) {
                out.push(a);
            }
            out.len() < limit
        };
        match sort {
            ArticleSort::UpdatedDesc | ArticleSort::UpdatedAsc => {
                let lo = f.updated_from.unwrap_or(i64::MIN);
                let hi = f.updated_to.unwrap_or(i64::MAX);
                let idx = self.0.open_table(ARTICLES_BY_UPDATED)?;
                let desc = sort == ArticleSort::UpdatedDesc;
                let range = match (after, desc) {
                    (Some(k), true) => idx.range((Bound::Included((lo, 0)), Bound::Excluded(k)))?,
                    (Some(k), false) => {
                        idx.range((Bound::Excluded(k), Bound::Included((hi, u64::MAX))))?
                    }
                    (None, _) => idx.range((lo, 0)..=(hi, u64::MAX))?,
                };
                let outlets = f.outlets.as_ref();
                let iter: Box<dyn Iterator<Item = _>> = if desc {
                    Box::new(range.rev())
                } else {
                    Box::new(range)
                };
                for row in iter {
                    let (k, v) = row?;
                    let (ts, id) = k.value();
                    if ts < lo
                        || ts > hi
                        || outlets.is_some_and(|o| !o.contains(&OutletId(v.value())))
                    {
                        continue;
                    }
                    if let Some(a) = article(&self.0, ArticleId(id))?
                        && !push(a)
                    {
                        break;
                    }
                }
            }
            ArticleSort::CreatedDesc | ArticleSort::CreatedAsc => {
                let table = self.0.open_table(ARTICLE_HEADS)?;
                let desc = sort == ArticleSort::CreatedDesc;
                let range = match (after.map(|k| k.1), desc) {
                    (Some(id), true) => table.range(..id)?,
                    (Some(id), false) => table.range((Bound::Excluded(id), Bound::Unbounded))?,
                    (None, _) => table.range::<u64>(..)?,
                };
                let iter: Box<dyn Iterator<Item = _>> = if desc {
                    Box::new(range.rev())
                } else {
                    Box::new(range)
                };
                for row in iter {
                    let a = article_at(&self.0, row?.1.value())?;
                    let in_range = f.updated_from.is_none_or(|t| a.updated_at >= t)
                        && f.updated_to.is_none_or(|t| a.updated_at <= t);
                    if in_range && !push(a) {
                        break;
                    }
                }
            }
        }
        Ok(out)
    }

    /// Assets of the given outlets (`None` = all), newest first, optionally filtered.
    pub fn list_assets(
        &self,
        outlets: Option<&[OutletId]>,
        kind: Option<crate::domain::asset::AssetKind>,
        name_contains: Option<&str>,
        before: Option<u64>,
        limit: usize,
    ) -> Result<Vec<Asset>> {
        let table = self.0.open_table(ASSETS)?;
        let needle = name_contains.map(str::to_lowercase);
        let mut out = Vec::new();
        for row in table.range(..before.unwrap_or(u64::MAX))?.rev() {
            let a: Asset = codec::decode(row?.1.value())?;
            let ok = outlets.is_none_or(|o| o.contains(&a.outlet))
                && kind.is_none_or(|k| k == a.kind)
                && needle
                    .as_ref()
                    .is_none_or(|n| a.name.to_lowercase().contains(n.as_str()));
            if ok {
                out.push(a);
                if out.len() >= limit {
                    break;
                }
            }
        }
        Ok(out)
    }

    /// How many articles' current versions use the asset.
    pub fn asset_ref_count(&self, id: AssetId) -> Result<u64> {
        let t = self.0.open_table(ASSET_REFS)?;
        Ok(t.range((id.0, 0)..=(id.0, u64::MAX))?.count() as u64)
    }

    /// Every version of a chain, oldest first.
    pub fn chain_history(&self, id: ChainId) -> Result<Vec<Chain>> {
        let t = self.0.open_table(CHAIN_VERSIONS)?;
        let mut out = Vec::new();
        for row in t.range((id.0, 0)..=(id.0, u32::MAX))? {
            out.push(codec::decode(row?.1.value())?);
        }
        Ok(out)
    }

    /// Walk one review queue (scope, role code) in sort order, after `after` (sort, article);
    /// `f` returns `false` to stop.
    pub fn walk_queue(
        &self,
        scope: u64,
        role: u8,
        after: Option<(i64, u64)>,
        mut f: impl FnMut(super::queue::Key, super::queue::QueueEntry) -> bool,
    ) -> Result<()> {
        let t = self.0.open_table(REVIEW_QUEUE)?;
        let lo = match after {
            Some((s, a)) => Bound::Excluded((scope, role, s, a)),
            None => Bound::Included((scope, role, i64::MIN, 0)),
        };
        let hi = Bound::Included((scope, role, i64::MAX, u64::MAX));
        for row in t.range::<(u64, u8, i64, u64)>((lo, hi))? {
            let (k, v) = row?;
            if !f(k.value(), codec::decode(v.value())?) {
                break;
            }
        }
        Ok(())
    }

    /// Log positions of one audit trail (of an article, a user or a topic), newest first,
    /// before `before`.
    pub fn audit_lsns(
        &self,
        by: AuditIndex,
        id: u64,
        before: Option<u64>,
        limit: usize,
    ) -> Result<Vec<u64>> {
        let t = self.0.open_table(match by {
            AuditIndex::Article => AUDIT_BY_ARTICLE,
            AuditIndex::User => AUDIT_BY_USER,
            AuditIndex::Topic => AUDIT_BY_TOPIC,
        })?;
        let hi = before.unwrap_or(u64::MAX);
        let mut out = Vec::new();
        for row in t.range((id, 0)..(id, hi))?.rev().take(limit) {
            out.push(row?.0.value().1);
        }
        Ok(out)
    }

    /// Walk one planning-board column of an outlet in sort order, after `after` (sort, topic);
    /// `f` returns `false` to stop.
    pub fn walk_board(
        &self,
        outlet: OutletId,
        state: u8,
        after: Option<(i64, u64)>,
        mut f: impl FnMut(i64, TopicId) -> bool,
    ) -> Result<()> {
        let t = self.0.open_table(TOPIC_BOARD)?;
        let lo = match after {
            Some((s, id)) => Bound::Excluded((outlet.0, state, s, id)),
            None => Bound::Included((outlet.0, state, i64::MIN, 0)),
        };
        let hi = Bound::Included((outlet.0, state, i64::MAX, u64::MAX));
        for row in t.range::<(u64, u8, i64, u64)>((lo, hi))? {
            let (_, _, s, id) = row?.0.value();
            if !f(s, TopicId(id)) {
                break;
            }
        }
        Ok(())
    }

    /// Calendar entries of an outlet with `from <= time < to`: (time, topic, date kind code).
    pub fn topic_dates(
        &self,
        outlet: OutletId,
        from: i64,
        to: i64,
        limit: usize,
    ) -> Result<Vec<(i64, TopicId, u8)>> {
        let t = self.0.open_table(TOPIC_DATES)?;
        let mut out = Vec::new();
        for row in t
            .range((outlet.0, from, 0, 0)..(outlet.0, to, 0, 0))?
            .take(limit)
        {
            let (_, at, id, k) = row?.0.value();
            out.push((at, TopicId(id), k));
        }
        Ok(out)
    }

    /// The comments of an article or a topic, oldest first.
    pub fn thread(&self, on: crate::domain::comment::Subject) -> Result<Vec<Comment>> {
        let (k, id) = on.key();
        let idx = self.0.open_table(COMMENTS_BY_SUBJECT)?;
        let mut out = Vec::new();
        for row in idx.range((k, id, 0)..=(k, id, u64::MAX))? {
            let c = row?.0.value().2;
            if let Some(c) = comment(&self.0, CommentId(c))? {
                out.push(c);
            }
        }
        Ok(out)
    }

    /// A user's notifications, newest first, before lsn `before`.
    pub fn notices(
        &self,
        user: UserId,
        before: Option<u64>,
        after: Option<u64>,
        limit: usize,
    ) -> Result<Vec<(u64, crate::domain::notice::Notice)>> {
        let t = self.0.open_table(NOTICES)?;
        let lo = after.map_or(0, |a| a.saturating_add(1));
        let hi = before.unwrap_or(u64::MAX);
        let mut out = Vec::new();
        for row in t.range((user.0, lo)..(user.0, hi))?.rev().take(limit) {
            let (k, v) = row?;
            out.push((k.value().1, codec::decode(v.value())?));
        }
        Ok(out)
    }

    pub fn unread(&self, user: UserId) -> Result<u64> {
        Ok(self.0.number(UNREAD, user.0)?.unwrap_or(0))
    }

    /// Is any asset record still pointing at this blob?
    pub fn blob_in_use(&self, sha256: &str) -> Result<bool> {
        Ok(self
            .all::<Asset>(ASSETS)?
            .iter()
            .any(|a| a.sha256 == sha256 || a.thumb_sha256.as_deref() == Some(sha256)))
    }
}
