//! `Reader`: a read-only snapshot of the store for request handlers, with the listings they page
//! through (articles by filter and sort, audit trails, notices). Single-row getters that also work
//! inside a write transaction are `access`.

use std::ops::Bound;

use redb::{ReadableDatabase, ReadableTable, ReadableTableMetadata, TableDefinition};
use serde::de::DeserializeOwned;

use super::access::{Access, article, article_at, comment};
use super::codec;
use super::tables::*;
use crate::domain::article::Article;
use crate::domain::asset::Asset;
use crate::domain::comment::Comment;
use crate::domain::credentials::ApiToken;
use crate::domain::outlet::Outlet;
use crate::domain::review::Chain;
use crate::domain::user::User;
use crate::domain::{ArticleId, AssetId, ChainId, CommentId, OutletId, TopicId, UserId};
use crate::error::Result;

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
