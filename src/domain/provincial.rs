//! 省级审核: a county's review chain may have a level whose site is the province. When an
//! article reaches it, the county sends the article up (`ReviewRequest`, shipped with its
//! log); the hub's reviewers decide; the decision comes back down as a numbered message and
//! moves the county's chain on (approve) or sends the article back as that level says (return).

use serde::{Deserialize, Serialize};

use super::article::Article;
use crate::clock::Millis;

/// What a county sends up when an article reaches a provincial level.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReviewRequest {
    /// The article as it is at the county (its ids are the county's).
    pub article: Article,
    /// The provincial level (0-based) and its name in the county's chain.
    pub level: u8,
    pub level_name: String,
    pub chain_name: String,
    /// The county's review round: a decision applies only to the round it was asked for.
    pub round: u32,
    pub requested_at: Millis,
    /// Its cover, images and video, uploaded to the hub ahead of this request.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub media: Vec<super::hub::CarriedMedia>,
}

/// The hub's reviewer's decision.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Decision {
    pub approved: bool,
    pub comment: String,
    /// Display name of the hub reviewer.
    pub by: String,
    pub at: Millis,
}

/// A provincial review as the hub keeps it: one row per county article (a new request for the
/// same article, in a later round, replaces it).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProvincialReview {
    pub county: String,
    pub request: ReviewRequest,
    pub received_at: Millis,
    pub decision: Option<Decision>,
}

/// The decision as it travels down to the county.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DecisionDown {
    pub article: u64,
    pub round: u32,
    pub level: u8,
    pub decision: Decision,
}
