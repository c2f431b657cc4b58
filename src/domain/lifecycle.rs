//! THE article lifecycle table: which action is legal in which status. Use cases ask `check`
//! before anything else; an illegal action is `409 invalid_transition` naming both.
//!
//! ```text
//! draft ─submit→ submitted ─approve→ in_review(k) ─approve…→ approved ─publish→ published
//!   ↑               │  └─return→ returned ─submit→ submitted        │               │
//!   └──withdraw─────┴────────────────────────────────────────────────┘   correct → draft (new revision;
//!                                                                          the live one stays)
//! published / correction in progress ─retract→ retracted (terminal)
//! ```

use serde::{Deserialize, Serialize};

use super::article::{Article, ArticleStatus};
use crate::error::{Error, Result};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    Edit,
    Submit,
    Approve,
    Return,
    Escalate,
    Withdraw,
    Publish,
    Correct,
    Retract,
}

impl Action {
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Edit => "edit",
            Action::Submit => "submit",
            Action::Approve => "approve",
            Action::Return => "return",
            Action::Escalate => "escalate",
            Action::Withdraw => "withdraw",
            Action::Publish => "publish",
            Action::Correct => "correct",
            Action::Retract => "retract",
        }
    }
}

use ArticleStatus::*;

/// THE table: the statuses each action may start from.
pub const TRANSITIONS: &[(Action, &[ArticleStatus])] = &[
    (
        Action::Edit,
        &[Draft, Returned, Withdrawn, Submitted, InReview],
    ),
    (Action::Submit, &[Draft, Returned, Withdrawn]),
    (Action::Approve, &[Submitted, InReview]),
    (Action::Return, &[Submitted, InReview]),
    (Action::Escalate, &[Submitted, InReview]),
    (Action::Withdraw, &[Submitted, InReview, Returned, Approved]),
    (Action::Publish, &[Approved]),
    (Action::Correct, &[Published]),
    // Retract also needs a live version (see `check`).
    (
        Action::Retract,
        &[
            Published, Draft, Submitted, InReview, Returned, Withdrawn, Approved,
        ],
    ),
];

pub fn allowed(a: &Article, action: Action) -> bool {
    let from_ok = TRANSITIONS
        .iter()
        .any(|(x, from)| *x == action && from.contains(&a.status));
    from_ok && (action != Action::Retract || a.published_revision.is_some())
}

pub fn check(a: &Article, action: Action) -> Result<()> {
    if allowed(a, action) {
        Ok(())
    } else {
        Err(Error::InvalidTransition(format!(
            "cannot {} an article that is {}",
            action.as_str(),
            a.status.as_str()
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn published_articles_are_corrected_not_edited() {
        let mut a = crate::domain::article::tests::sample();
        a.status = Published;
        a.published_revision = Some(1);
        assert!(!allowed(&a, Action::Edit));
        assert!(allowed(&a, Action::Correct));
        assert!(allowed(&a, Action::Retract));
        a.status = Draft;
        assert!(
            allowed(&a, Action::Retract),
            "a correction draft can still be killed"
        );
        a.published_revision = None;
        assert!(!allowed(&a, Action::Retract), "nothing live to retract");
        a.status = Retracted;
        for (x, _) in TRANSITIONS {
            assert!(!allowed(&a, *x), "retracted is terminal ({x:?})");
        }
        let e = check(&a, Action::Submit).unwrap_err();
        assert_eq!(e.code(), "invalid_transition");
    }
}
