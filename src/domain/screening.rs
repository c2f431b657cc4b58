//! Screening results as the store keeps them: what the lexicons found in one version of an
//! article (stored with the revision it checked), and the overrides that let a blocked article
//! through. The rules: `block` findings stop submit and publish unless every blocked term has
//! an override on the article (by a role allowed to override, with a reason); `review` findings
//! must be acknowledged by the reviewer who approves.

use serde::{Deserialize, Serialize};

use super::{ArticleId, LexiconId, UserId};
use crate::clock::Millis;
use crate::screen::Severity;

/// Where in the article a finding is.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Field {
    Title,
    Subtitle,
    Summary,
    /// The body as text: one line per block, captions included (`html::to_text`).
    Body,
    /// An image's alt text (`index`: which image, in order).
    Alt,
    /// A tag (`index`: which one).
    Tag,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Finding {
    pub field: Field,
    #[serde(default)]
    pub index: u32,
    /// Character offsets in the field's text.
    pub start: u32,
    pub end: u32,
    /// The text as written (with whatever was inserted between the characters).
    pub matched: String,
    /// The listed term it matched.
    pub term: String,
    pub category: String,
    pub severity: Severity,
    pub lexicon: LexiconId,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Screening {
    pub article: ArticleId,
    pub revision: u32,
    /// The lexicon generation the check ran with.
    pub generation: u64,
    pub at: Millis,
    pub findings: Vec<Finding>,
}

impl Screening {
    /// Distinct terms at a severity, in order.
    pub fn terms(&self, s: Severity) -> Vec<String> {
        let mut t: Vec<String> = self
            .findings
            .iter()
            .filter(|f| f.severity == s)
            .map(|f| f.term.clone())
            .collect();
        t.sort();
        t.dedup();
        t
    }
}

/// A proofreading suggestion someone chose to ignore on one article: the same rule on the same
/// text is not suggested again there (every occurrence, every later revision).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Ignored {
    #[schema(value_type = u64)]
    pub article: ArticleId,
    /// The proofreading rule (`wordlist`, `spelling` ...).
    pub rule: String,
    pub text: String,
    #[schema(value_type = u64)]
    pub by: UserId,
    #[schema(value_type = u64)]
    pub at: Millis,
}

impl Ignored {
    /// The row key within the article.
    pub fn key(&self) -> String {
        ignore_key(&self.rule, &self.text)
    }
}

pub fn ignore_key(rule: &str, text: &str) -> String {
    format!("{rule}|{text}")
}

/// Permission to go ahead despite a blocked term on one article.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Override {
    pub article: ArticleId,
    pub term: String,
    /// The revision it was granted on.
    pub revision: u32,
    pub by: UserId,
    pub at: Millis,
    pub reason: String,
}
