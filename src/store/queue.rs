//! The "my reviews" queues (table `REVIEW_QUEUE`): which keys an open review occupies, kept in
//! step by the projection, and read one scope at a time by `Reader::queue_page`.

use serde::{Deserialize, Serialize};

use super::Tx;
use super::access;
use super::codec::encode;
use super::tables::REVIEW_QUEUE;
use crate::clock::Millis;
use crate::domain::article::Article;
use crate::domain::review::{Level, Review};
use crate::domain::{OutletId, UserId};
use crate::error::Result;

/// Role code of entries for a named user.
pub const USER_SCOPE: u8 = u8::MAX;
/// Sort values without a deadline come after every deadline, oldest first.
pub const NO_DUE: i64 = 1 << 60;

/// What a queue row carries so a page can be filtered without reading the article.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct QueueEntry {
    pub outlet: OutletId,
    pub level: u8,
    pub authors: Vec<UserId>,
    pub approved_by: Vec<UserId>,
    pub due: Option<Millis>,
    /// The level lets authors act (`Level::allow_self`).
    pub allow_self: bool,
}

pub type Key = (u64, u8, i64, u64);

fn sort_of(r: &Review) -> i64 {
    r.due.unwrap_or(NO_DUE.saturating_add(r.level_since))
}

/// The keys an open review occupies at its current level.
pub fn keys(level: &Level, r: &Review) -> Vec<Key> {
    let sort = sort_of(r);
    let mut out: Vec<Key> = match level.site.outlet() {
        Some(site) => level
            .roles
            .iter()
            .map(|role| (site.0, role.code(), sort, r.article.0))
            .collect(),
        None => Vec::new(),
    };
    out.extend(
        level
            .users
            .iter()
            .map(|u| (u.0, USER_SCOPE, sort, r.article.0)),
    );
    out
}

fn current_level(txn: &Tx<'_>, r: &Review) -> Result<Option<Level>> {
    if !r.is_open() {
        return Ok(None);
    }
    Ok(access::chain_version(txn, r.chain, r.chain_version)?
        .and_then(|c| c.levels.get(usize::from(r.level)).cloned()))
}

/// Replace the queue entries of `old` (if any) with those of `new` (if open).
pub fn update(
    txn: &Tx<'_>,
    old: Option<&Review>,
    new: Option<&Review>,
    article: &Article,
) -> Result<()> {
    let mut t = txn.open_table(REVIEW_QUEUE)?;
    if let Some(o) = old
        && let Some(level) = current_level(txn, o)?
    {
        for k in keys(&level, o) {
            t.remove(k)?;
        }
    }
    if let Some(n) = new
        && let Some(level) = current_level(txn, n)?
    {
        let mut authors = article.authors.clone();
        if !authors.contains(&article.created_by) {
            authors.push(article.created_by);
        }
        let entry = encode(&QueueEntry {
            outlet: article.outlet,
            level: n.level,
            authors,
            approved_by: n.approvals.iter().map(|a| a.user).collect(),
            due: n.due,
            allow_self: level.allow_self,
        });
        for k in keys(&level, n) {
            t.insert(k, entry.as_slice())?;
        }
    }
    Ok(())
}
