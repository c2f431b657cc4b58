//! The provincial shared content pool (共享稿库). The hub shares an article — one a county
//! published, or one a county offered up — with every county; a county adopts it as a new draft
//! of its own (with the origin in its byline and a link back), and each adoption is counted at
//! the hub as a reprint.

use serde::{Deserialize, Serialize};

use crate::clock::Millis;

/// An article in the pool, as the hub shared it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SharedItem {
    /// The hub's id for it.
    pub id: u64,
    /// The county it came from (empty: the hub's own).
    pub origin: String,
    pub origin_name: String,
    /// Its id where it came from.
    pub source_article: u64,
    pub title: String,
    pub subtitle: String,
    pub summary: String,
    /// Sanitized HTML.
    pub body: String,
    pub byline: String,
    pub category: String,
    pub tags: Vec<String>,
    /// Its cover: the origin's asset id (among `media` when the origin sent it up).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cover: Option<u64>,
    /// Why it is shared (the hub's note to counties).
    pub note: String,
    pub shared_at: Millis,
    pub shared_by: String,
    /// Set when the hub took it back (by hand, or because its origin retracted the article):
    /// it can no longer be adopted; drafts already adopted stay, their authors are told.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub withdrawn: Option<Withdrawal>,
    /// Its media as the origin sent them up (an offered article); counties fetch them from the
    /// hub, and an adopted draft gets its own copies.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub media: Vec<super::hub::CarriedMedia>,
}

/// Why and when a shared item was taken back.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Withdrawal {
    pub at: Millis,
    /// Display name of the hub user, or the origin county's name for a retraction.
    pub by: String,
    pub reason: String,
}

/// A county's adoption of a shared item: the draft it became there.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Adoption {
    pub article: u64,
    pub outlet: u64,
    pub by: String,
    pub at: Millis,
}

/// A shared item in a county's pool.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PoolItem {
    pub item: SharedItem,
    pub seq: u64,
    pub received_at: Millis,
    pub adoptions: Vec<Adoption>,
}

/// The byline an adopted draft starts with: its origin first (转自 …).
pub fn attributed_byline(item: &SharedItem) -> String {
    let from = format!("转自{}", item.origin_name);
    if item.byline.trim().is_empty() {
        from
    } else {
        format!("{from}（{}）", item.byline.trim())
    }
}
