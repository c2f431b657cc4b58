//! Notifications: what a log entry means for one user. They are derived from facts by the
//! projection (`store::notify`), keyed by (user, lsn), so a replica derives the same inbox.

use serde::{Deserialize, Serialize};

use super::comment::Subject;
use super::{ArticleId, TopicId, UserId};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum NoticeKind {
    /// @mentioned in a comment.
    Mention,
    /// Someone answered your comment.
    Reply,
    /// A comment on your article or on a topic you proposed or work on.
    Comment,
    /// You were assigned to a topic.
    Assigned,
    /// Your topic was approved, rejected, cancelled, merged ... (`state` says what).
    TopicMoved,
    /// Your article was sent back.
    Returned,
    /// Your article passed its last review level.
    Approved,
    Published,
    Retracted,
    /// Someone took over your edit lock.
    LockTaken,
    /// (County) the province sent a reporting instruction.
    Instruction,
    /// (County) the province moved an instruction's deadline, or called it off (the excerpt
    /// says why).
    InstructionChanged,
    /// (Hub) a county sent an article up for provincial review.
    ProvincialReview,
    /// (Hub) a county's entries stopped fitting its history: nothing more is applied from it.
    CountyQuarantined,
    /// (County) the province withdrew the shared article your draft was adopted from.
    SharedWithdrawn,
}

/// What a notice is about, and where clicking it leads.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(tag = "kind", content = "id", rename_all = "snake_case")]
pub enum NoticeOn {
    Article(ArticleId),
    Topic(TopicId),
    /// An instruction in this county's inbox (the hub's id).
    Instruction(u64),
    /// A county's request in the hub's provincial review queue.
    ProvincialReview {
        county: String,
        article: u64,
    },
    /// A county enrolled at this hub (its instance id).
    County(String),
}

impl From<Subject> for NoticeOn {
    fn from(s: Subject) -> Self {
        match s {
            Subject::Article(a) => NoticeOn::Article(a),
            Subject::Topic(t) => NoticeOn::Topic(t),
        }
    }
}

/// Priority when one entry concerns a user in several ways (a mention beats a plain comment).
impl NoticeKind {
    pub fn rank(self) -> u8 {
        match self {
            NoticeKind::Mention => 0,
            NoticeKind::Reply => 1,
            _ => 2,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Notice {
    pub kind: NoticeKind,
    pub actor: Option<UserId>,
    /// When it happened (the log entry's time).
    pub at: crate::clock::Millis,
    pub on: NoticeOn,
    /// Title of the article or topic when it happened.
    pub title: String,
    /// Comment text, reason, or the new state.
    pub excerpt: String,
    /// For `TopicMoved`: the state the topic went to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<super::topic::TopicState>,
    pub read: bool,
}

pub const MAX_EXCERPT: usize = 140;

/// The first `MAX_EXCERPT` characters, with an ellipsis if cut.
pub fn excerpt(s: &str) -> String {
    let mut out: String = s.chars().take(MAX_EXCERPT).collect();
    if s.chars().nth(MAX_EXCERPT).is_some() {
        out.push('…');
    }
    out
}
