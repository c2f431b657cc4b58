//! Typed reads. `Access` is implemented by both redb transaction kinds and by `Tx`, so every
//! getter is written once and works in a `Reader` (request handlers, `reader`) and inside a write
//! transaction (use cases).

use std::borrow::Borrow;

use redb::{Key, ReadableTable, TableDefinition};
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

    /// The stored log entry `lsn` (`hash ‖ entry`, from LOG or LOG_BLOCKS: `logtable`).
    fn log_value(&self, lsn: u64) -> Result<Option<Vec<u8>>>;

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
impl_access!(
    redb::ReadTransaction,
    fn log_value(&self, lsn: u64) -> Result<Option<Vec<u8>>> {
        super::logtable::get_in(self, lsn)
    }
);
impl_access!(
    redb::WriteTransaction,
    fn log_value(&self, lsn: u64) -> Result<Option<Vec<u8>>> {
        let log = self.open_table(LOG)?;
        let blocks = self.open_table(LOG_BLOCKS)?;
        super::logtable::get(&log, Some(&blocks), lsn)
    }
);
impl_access!(
    super::Tx<'_>,
    fn article_head(&self, id: u64) -> Result<Option<u64>> {
        self.heads(|t| Ok(t.get(id)?.map(|g| g.value())))
    },
    fn article_revision(&self, id: u64, revision: u32) -> Result<Option<u64>> {
        self.revisions(|t| Ok(t.get((id, revision))?.map(|g| g.value())))
    },
    fn log_value(&self, lsn: u64) -> Result<Option<Vec<u8>>> {
        self.log_get(lsn)
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

pub use super::reader::{ArticleFilter, ArticleSort, AuditIndex, Reader};
