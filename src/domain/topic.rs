//! Topic planning (选题): a proposed story with its angle, the outlets and channels it is meant
//! for, deadlines, the people assigned to it and the articles it produced. Its states and the
//! moves between them are one table, `MOVES`, like the article lifecycle; the planning board
//! asks it which columns a card may be dragged to.

use serde::{Deserialize, Serialize};

use super::{ArticleId, AssetId, OutletId, TopicId, UserId};
use crate::clock::Millis;
use crate::error::{Error, Result};

#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum TopicState {
    /// 待审: proposed, waiting for an editor's decision.
    Proposed,
    /// 已通过: approved, not started.
    Approved,
    /// 采写中: work under way.
    InProgress,
    /// 已完成.
    Done,
    /// 未通过.
    Rejected,
    /// 已合并 into another topic (`merged_into`).
    Merged,
    /// 已取消.
    Cancelled,
}

impl TopicState {
    pub const ALL: [TopicState; 7] = [
        TopicState::Proposed,
        TopicState::Approved,
        TopicState::InProgress,
        TopicState::Done,
        TopicState::Rejected,
        TopicState::Merged,
        TopicState::Cancelled,
    ];

    /// Stable number used in index keys.
    pub fn code(self) -> u8 {
        match self {
            TopicState::Proposed => 0,
            TopicState::Approved => 1,
            TopicState::InProgress => 2,
            TopicState::Done => 3,
            TopicState::Rejected => 4,
            TopicState::Merged => 5,
            TopicState::Cancelled => 6,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            TopicState::Proposed => "proposed",
            TopicState::Approved => "approved",
            TopicState::InProgress => "in_progress",
            TopicState::Done => "done",
            TopicState::Rejected => "rejected",
            TopicState::Merged => "merged",
            TopicState::Cancelled => "cancelled",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|x| x.as_str() == s)
    }

    /// Still being planned or worked on (deadlines matter, it shows on the calendar).
    pub fn is_open(self) -> bool {
        matches!(
            self,
            TopicState::Proposed | TopicState::Approved | TopicState::InProgress
        )
    }
}

/// A move on the board. Merging is not here: it needs a target (`workflow::topics::merge`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Move {
    Approve,
    Reject,
    Start,
    Complete,
    Cancel,
    Reopen,
}

/// Who may make a move: editors of the topic's outlets, or also the people working on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Who {
    Deciders,
    DecidersOrAssignees,
    DecidersOrProposer,
}

/// THE topic state table: (move, from, to, who may, reason required).
pub const MOVES: &[(Move, TopicState, TopicState, Who, bool)] = {
    use Move::*;
    use TopicState::*;
    use Who::*;
    &[
        (Approve, Proposed, Approved, Deciders, false),
        (Reject, Proposed, Rejected, Deciders, true),
        (Start, Approved, InProgress, DecidersOrAssignees, false),
        (Complete, InProgress, Done, DecidersOrAssignees, false),
        (Cancel, Approved, Cancelled, Deciders, true),
        (Cancel, InProgress, Cancelled, Deciders, true),
        (Cancel, Proposed, Cancelled, DecidersOrProposer, false),
        (Reopen, Rejected, Proposed, DecidersOrProposer, false),
        (Reopen, Cancelled, Proposed, Deciders, false),
        (Reopen, Done, InProgress, DecidersOrAssignees, false),
    ]
};

/// The row for a move from a state, or `409 invalid_transition`.
pub fn row(m: Move, from: TopicState) -> Result<(TopicState, Who, bool)> {
    MOVES
        .iter()
        .find(|(mv, f, ..)| *mv == m && *f == from)
        .map(|&(_, _, to, who, reason)| (to, who, reason))
        .ok_or_else(|| {
            Error::InvalidTransition(format!(
                "a topic that is {} cannot be moved that way",
                from.as_str()
            ))
        })
}

/// What kind of work an assignment is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Duty {
    /// 文字记者
    Reporter,
    /// 摄影
    Photo,
    /// 摄像 / 视频
    Video,
    /// 编辑
    Editor,
    /// 其他
    Other,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Assignment {
    pub user: UserId,
    pub duty: Duty,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deadline: Option<Millis>,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub note: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Topic {
    pub id: TopicId,
    /// The outlets it is planned for; the first is its home (permissions, new articles).
    pub outlets: Vec<OutletId>,
    pub title: String,
    /// 角度 / 报道思路.
    pub angle: String,
    /// Forms and channels intended (图文, 短视频, 直播 ...).
    pub channels: Vec<String>,
    pub deadline: Option<Millis>,
    /// Planned publication time.
    pub publish_at: Option<Millis>,
    pub attachments: Vec<AssetId>,
    pub state: TopicState,
    pub assignments: Vec<Assignment>,
    pub articles: Vec<ArticleId>,
    pub merged_into: Option<TopicId>,
    /// Topics merged into this one.
    pub merged_from: Vec<TopicId>,
    /// Reason of the last rejection or cancellation.
    pub reason: String,
    pub proposed_by: UserId,
    pub proposed_at: Millis,
    pub updated_by: UserId,
    pub updated_at: Millis,
    pub revision: u32,
}

impl Topic {
    pub fn home(&self) -> OutletId {
        self.outlets[0]
    }

    pub fn assignees(&self) -> impl Iterator<Item = UserId> + '_ {
        self.assignments.iter().map(|a| a.user)
    }

    pub fn is_assigned(&self, u: UserId) -> bool {
        self.assignees().any(|x| x == u)
    }

    /// Every (time, kind) the calendar shows for this topic; none once it is closed.
    pub fn dates(&self) -> Vec<(Millis, DateKind)> {
        if !self.state.is_open() {
            return Vec::new();
        }
        let mut v = Vec::new();
        v.extend(self.deadline.map(|d| (d, DateKind::Deadline)));
        v.extend(self.publish_at.map(|d| (d, DateKind::Publish)));
        v.extend(
            self.assignments
                .iter()
                .filter_map(|a| a.deadline.map(|d| (d, DateKind::Assignment))),
        );
        v.sort();
        v.dedup();
        v
    }
}

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum DateKind {
    Deadline,
    Publish,
    Assignment,
}

impl DateKind {
    pub fn code(self) -> u8 {
        match self {
            DateKind::Deadline => 0,
            DateKind::Publish => 1,
            DateKind::Assignment => 2,
        }
    }
    pub fn from_code(c: u8) -> Option<Self> {
        [DateKind::Deadline, DateKind::Publish, DateKind::Assignment]
            .into_iter()
            .find(|k| k.code() == c)
    }
}

pub const MAX_TITLE: usize = 200;
pub const MAX_ANGLE: usize = 10_000;
pub const MAX_CHANNELS: usize = 10;
pub const MAX_ASSIGNMENTS: usize = 30;
pub const MAX_OUTLETS: usize = 20;

/// Check the editable fields (not who may, nor that ids exist: the use case does that).
pub fn validate(t: &Topic) -> Result<()> {
    let title = t.title.chars().count();
    if title == 0 || title > MAX_TITLE {
        return Err(Error::invalid(
            "title",
            format!("must be 1–{MAX_TITLE} characters"),
        ));
    }
    if t.title.chars().any(char::is_control) {
        return Err(Error::invalid(
            "title",
            "must be a single line without control characters",
        ));
    }
    if t.angle.chars().count() > MAX_ANGLE {
        return Err(Error::invalid(
            "angle",
            format!("must be at most {MAX_ANGLE} characters"),
        ));
    }
    if t.outlets.is_empty() || t.outlets.len() > MAX_OUTLETS {
        return Err(Error::invalid(
            "outlets",
            format!("name 1–{MAX_OUTLETS} outlets"),
        ));
    }
    let mut o = t.outlets.clone();
    o.sort();
    o.dedup();
    if o.len() != t.outlets.len() {
        return Err(Error::invalid("outlets", "an outlet is named twice"));
    }
    if t.channels.len() > MAX_CHANNELS
        || t.channels
            .iter()
            .any(|c| c.trim().is_empty() || c.chars().count() > 20)
    {
        return Err(Error::invalid(
            "channels",
            format!("at most {MAX_CHANNELS} names of 1–20 characters"),
        ));
    }
    if t.assignments.len() > MAX_ASSIGNMENTS {
        return Err(Error::invalid(
            "assignments",
            format!("at most {MAX_ASSIGNMENTS}"),
        ));
    }
    for (i, a) in t.assignments.iter().enumerate() {
        if t.assignments[..i]
            .iter()
            .any(|b| b.user == a.user && b.duty == a.duty)
        {
            return Err(Error::invalid(
                "assignments",
                "the same person is assigned the same duty twice",
            ));
        }
        if a.note.chars().count() > 500 {
            return Err(Error::invalid(
                "assignments",
                "a note must be at most 500 characters",
            ));
        }
    }
    if let (Some(d), Some(p)) = (t.deadline, t.publish_at)
        && p < d - 366 * 86_400_000
    {
        return Err(Error::invalid(
            "publish_at",
            "planned publication is more than a year before the deadline",
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_move_has_one_row_per_from_state() {
        for (i, (m, f, ..)) in MOVES.iter().enumerate() {
            assert!(
                !MOVES[..i].iter().any(|(m2, f2, ..)| m2 == m && f2 == f),
                "{m:?} from {f:?} twice"
            );
        }
        assert!(row(Move::Approve, TopicState::Done).is_err());
        assert_eq!(
            row(Move::Approve, TopicState::Proposed).unwrap().0,
            TopicState::Approved
        );
    }

    #[test]
    fn closed_topics_have_no_dates() {
        let mut t = Topic {
            id: TopicId(1),
            outlets: vec![OutletId(1)],
            title: "t".into(),
            angle: String::new(),
            channels: vec![],
            deadline: Some(10),
            publish_at: Some(20),
            attachments: vec![],
            state: TopicState::Approved,
            assignments: vec![Assignment {
                user: UserId(2),
                duty: Duty::Photo,
                deadline: Some(10),
                note: String::new(),
            }],
            articles: vec![],
            merged_into: None,
            merged_from: vec![],
            reason: String::new(),
            proposed_by: UserId(1),
            proposed_at: 0,
            updated_by: UserId(1),
            updated_at: 0,
            revision: 1,
        };
        assert_eq!(t.dates().len(), 3);
        t.state = TopicState::Done;
        assert!(t.dates().is_empty());
        assert!(validate(&t).is_ok());
        t.outlets.push(OutletId(1));
        assert!(validate(&t).is_err());
    }
}
