//! Review chains (三审三校) as data, and the pure rules of one review cycle: who may act at a
//! level, when a level's quorum is met, where "send back" goes. No I/O: the workflow layer loads
//! the chain version and the users and calls these functions inside its write transaction.
//!
//! A chain is versioned: every save is a new immutable version, and an article in review keeps
//! the version it started with (`Review::chain_version`), so editing a chain never changes an
//! article already under way.

use serde::{Deserialize, Serialize};

use super::article::Article;
use super::user::{Role, User};
use super::{ArticleId, ChainId, OutletId, UserId};
use crate::clock::Millis;
use crate::error::{Error, Result};

pub const MAX_LEVELS: usize = 6;
const HOUR_MS: i64 = 3_600_000;

/// A review level's job: a review pass (审) or a proofreading pass (校).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum LevelKind {
    Review,
    Proofread,
}

/// Where a level's reviewers sit: an outlet of this instance (possibly another outlet than the
/// article's: cross-outlet routing), or the provincial hub this county joined (省级审核: the
/// article goes up, the hub's reviewers decide, the decision comes back into the chain).
/// Everything that routes work asks `Site` and nothing else.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Site {
    Outlet { outlet: OutletId },
    Province,
}

impl Site {
    /// The outlet whose members review here (`None`: the province).
    pub fn outlet(&self) -> Option<OutletId> {
        match self {
            Site::Outlet { outlet } => Some(*outlet),
            Site::Province => None,
        }
    }

    pub fn is_province(&self) -> bool {
        matches!(self, Site::Province)
    }
}

/// How many distinct eligible approvals close a level.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Quorum {
    /// Any one eligible reviewer.
    Any,
    /// Every eligible reviewer (at the time of deciding).
    All,
    /// At least `k` eligible reviewers.
    AtLeast { k: u8 },
}

/// Where "send back" from a level goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum SendBack {
    /// To the author: the article becomes `returned` and is resubmitted from level 1.
    Author,
    /// To an earlier level (0-based index); approvals from there on are cleared.
    Level { index: u8 },
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Level {
    /// 初审, 复审, 终审, 一校 ...
    pub name: String,
    pub kind: LevelKind,
    pub site: Site,
    /// Holders of any of these roles in the site's outlet may act.
    pub roles: Vec<Role>,
    /// Named users who may act whatever their role.
    pub users: Vec<UserId>,
    pub quorum: Quorum,
    /// Hours after the article reaches this level before it is overdue.
    pub deadline_hours: Option<u32>,
    pub send_back: SendBack,
    /// May an author of the article act at this level? Off unless the chain says so.
    #[serde(default)]
    pub allow_self: bool,
}

/// One version of a review chain of an outlet.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Chain {
    pub id: ChainId,
    pub outlet: OutletId,
    /// Chain type, unique per outlet: `normal`, `major`, `urgent` ... `[a-z0-9-]{1,32}`.
    pub slug: String,
    pub name: String,
    pub version: u32,
    pub levels: Vec<Level>,
    /// The chain used when a submit names none.
    pub is_default: bool,
    /// Disabled chains cannot start new reviews (running ones finish on their version).
    pub enabled: bool,
    pub updated_by: Option<UserId>,
    pub updated_at: Millis,
}

impl Chain {
    /// The 三审 chain every outlet starts with: 初审 by an editor (or above), 复审 and 终审 by chief
    /// editors or the outlet's admin; 复审 sends back to 初审, the others to the author.
    pub fn default_for(id: ChainId, outlet: OutletId, now: Millis) -> Self {
        let level = |name: &str, roles: &[Role], back: SendBack| Level {
            name: name.into(),
            kind: LevelKind::Review,
            site: Site::Outlet { outlet },
            roles: roles.to_vec(),
            users: Vec::new(),
            quorum: Quorum::Any,
            deadline_hours: Some(24),
            send_back: back,
            allow_self: false,
        };
        Chain {
            id,
            outlet,
            slug: "normal".into(),
            name: "三审 (normal)".into(),
            version: 1,
            levels: vec![
                level(
                    "初审",
                    &[Role::Editor, Role::ChiefEditor, Role::Admin],
                    SendBack::Author,
                ),
                level(
                    "复审",
                    &[Role::ChiefEditor, Role::Admin],
                    SendBack::Level { index: 0 },
                ),
                level("终审", &[Role::ChiefEditor, Role::Admin], SendBack::Author),
            ],
            is_default: true,
            enabled: true,
            updated_by: None,
            updated_at: now,
        }
    }

    /// Structural rules a chain must satisfy before it is saved.
    pub fn validate(&self) -> Result<()> {
        validate_slug(&self.slug)?;
        let name = self.name.trim();
        if name.is_empty() || name.chars().count() > 64 {
            return Err(Error::invalid("name", "must be 1–64 characters"));
        }
        if self.levels.is_empty() || self.levels.len() > MAX_LEVELS {
            return Err(Error::invalid(
                "levels",
                format!("a chain has 1–{MAX_LEVELS} levels"),
            ));
        }
        for (i, l) in self.levels.iter().enumerate() {
            let n = l.name.trim();
            if n.is_empty() || n.chars().count() > 32 {
                return Err(Error::invalid(
                    "levels",
                    format!("level {}: name must be 1–32 characters", i + 1),
                ));
            }
            if l.site.is_province() {
                if !(l.roles.is_empty() && l.users.is_empty() && l.quorum == Quorum::Any) {
                    return Err(Error::invalid(
                        "levels",
                        format!(
                            "level {} ({n}): a provincial level names no roles or users here (the province decides) and needs one decision",
                            i + 1
                        ),
                    ));
                }
            } else if l.roles.is_empty() && l.users.is_empty() {
                return Err(Error::invalid(
                    "levels",
                    format!(
                        "level {} ({n}): name at least one role or user who may act",
                        i + 1
                    ),
                ));
            }
            if let Quorum::AtLeast { k } = l.quorum
                && !(1..=20).contains(&k)
            {
                return Err(Error::invalid(
                    "levels",
                    format!("level {} ({n}): k must be 1–20", i + 1),
                ));
            }
            if let SendBack::Level { index } = l.send_back
                && self
                    .levels
                    .get(usize::from(index))
                    .is_some_and(|x| x.site.is_province())
                && usize::from(index) < i
            {
                return Err(Error::invalid(
                    "levels",
                    format!(
                        "level {} ({n}): send back to a level of this center, not to the province",
                        i + 1
                    ),
                ));
            }
            if let SendBack::Level { index } = l.send_back
                && usize::from(index) >= i
            {
                return Err(Error::invalid(
                    "levels",
                    format!(
                        "level {} ({n}): send back must go to an earlier level",
                        i + 1
                    ),
                ));
            }
            if l.deadline_hours.is_some_and(|h| h == 0 || h > 24 * 90) {
                return Err(Error::invalid(
                    "levels",
                    format!("level {} ({n}): deadline must be 1–2160 hours", i + 1),
                ));
            }
        }
        Ok(())
    }
}

pub fn validate_slug(slug: &str) -> Result<()> {
    let ok = (1..=32).contains(&slug.len())
        && slug
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    if ok {
        Ok(())
    } else {
        Err(Error::invalid("slug", "use 1–32 of a-z, 0-9 and '-'"))
    }
}

/// Where a review cycle stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ReviewState {
    /// Waiting at level `Review::level`.
    Open,
    /// Sent back to the author; resubmitting restarts at level 1 of the same chain version.
    Returned,
    /// Every level approved.
    Approved,
    /// Ended without approval (withdrawn by the author).
    Closed,
}

/// One approval at the current level.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Approval {
    pub user: UserId,
    pub at: Millis,
    /// The article revision the reviewer saw.
    pub revision: u32,
}

/// A level that was closed in this cycle, with who closed it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Passed {
    pub level: u8,
    pub approvals: Vec<Approval>,
}

/// The review cycle of an article (one row per article; a new submit after withdrawal or a
/// published correction starts a new cycle).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Review {
    pub article: ArticleId,
    pub chain: ChainId,
    pub chain_version: u32,
    pub state: ReviewState,
    /// Current level (0-based); `levels.len()` once approved.
    pub level: u8,
    pub level_since: Millis,
    pub due: Option<Millis>,
    pub approvals: Vec<Approval>,
    /// Levels closed in this cycle, in order.
    pub passed: Vec<Passed>,
    /// Submissions in this cycle (1 = first submit; resubmits after a return add one).
    pub round: u32,
    pub submitted_by: UserId,
    pub submitted_at: Millis,
}

fn is_author(a: &Article, u: UserId) -> bool {
    a.created_by == u || a.authors.contains(&u)
}

/// Could `u` act at `level` for article `a` (ignoring what they already did)?
pub fn may_act(level: &Level, u: &User, a: &Article) -> bool {
    if u.disabled {
        return false;
    }
    if is_author(a, u.id) && !level.allow_self {
        return false;
    }
    let Some(outlet) = level.site.outlet() else {
        // The province decides; nobody here acts at a provincial level.
        return false;
    };
    level.users.contains(&u.id)
        || u.roles
            .get(&outlet)
            .is_some_and(|r| level.roles.contains(r))
}

/// How many approvals close `level`, given the users who could act there now.
pub fn required(level: &Level, eligible: usize) -> usize {
    match level.quorum {
        Quorum::Any => 1,
        Quorum::All => eligible.max(1),
        Quorum::AtLeast { k } => usize::from(k),
    }
}

/// Why a level cannot be closed by anyone: fewer eligible users than its quorum needs.
pub fn unsatisfiable(level: &Level, eligible: usize) -> bool {
    eligible < required(level, eligible)
}

fn due_at(level: &Level, since: Millis) -> Option<Millis> {
    level
        .deadline_hours
        .map(|h| since.saturating_add(i64::from(h) * HOUR_MS))
}

/// What an approval did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Advance {
    /// Recorded; the level still needs more approvals.
    Recorded,
    /// The level closed; the review moved to the next level.
    NextLevel,
    /// The last level closed: the article is approved.
    Approved,
}

impl Review {
    pub fn start(article: ArticleId, chain: &Chain, by: UserId, now: Millis, round: u32) -> Self {
        Review {
            article,
            chain: chain.id,
            chain_version: chain.version,
            state: ReviewState::Open,
            level: 0,
            level_since: now,
            due: chain.levels.first().and_then(|l| due_at(l, now)),
            approvals: Vec::new(),
            passed: Vec::new(),
            round,
            submitted_by: by,
            submitted_at: now,
        }
    }

    pub fn is_open(&self) -> bool {
        self.state == ReviewState::Open
    }

    pub fn overdue(&self, now: Millis) -> bool {
        self.is_open() && self.due.is_some_and(|d| now > d)
    }

    fn enter(&mut self, chain: &Chain, level: u8, now: Millis) {
        self.level = level;
        self.level_since = now;
        self.approvals.clear();
        self.due = chain
            .levels
            .get(usize::from(level))
            .and_then(|l| due_at(l, now));
    }

    /// Record an approval by `u` (already checked by `check_actor`); `eligible` is how many users
    /// could act at this level now.
    pub fn approve(
        &mut self,
        chain: &Chain,
        u: UserId,
        revision: u32,
        eligible: usize,
        now: Millis,
    ) -> Advance {
        self.approvals.push(Approval {
            user: u,
            at: now,
            revision,
        });
        let Some(level) = chain.levels.get(usize::from(self.level)) else {
            return Advance::Recorded;
        };
        if self.approvals.len() < required(level, eligible) {
            return Advance::Recorded;
        }
        self.passed.push(Passed {
            level: self.level,
            approvals: std::mem::take(&mut self.approvals),
        });
        let next = self.level + 1;
        if usize::from(next) >= chain.levels.len() {
            self.level = next;
            self.due = None;
            self.state = ReviewState::Approved;
            Advance::Approved
        } else {
            self.enter(chain, next, now);
            Advance::NextLevel
        }
    }

    /// Send back from the current level as the level says; returns the level it went to, or
    /// `None` for the author.
    pub fn send_back(&mut self, chain: &Chain, now: Millis) -> Option<u8> {
        let target = chain
            .levels
            .get(usize::from(self.level))
            .map_or(SendBack::Author, |l| l.send_back);
        match target {
            SendBack::Author => {
                self.state = ReviewState::Returned;
                self.approvals.clear();
                self.passed.clear();
                self.due = None;
                None
            }
            SendBack::Level { index } => {
                self.passed.retain(|p| p.level < index);
                self.enter(chain, index, now);
                Some(index)
            }
        }
    }

    /// Resubmission after a return: level 1 of the same chain version again.
    pub fn resubmit(&mut self, chain: &Chain, by: UserId, now: Millis) {
        self.state = ReviewState::Open;
        self.passed.clear();
        self.round += 1;
        self.submitted_by = by;
        self.submitted_at = now;
        self.enter(chain, 0, now);
    }

    /// Is `u` allowed to approve or return right now, deciding on `level`?
    pub fn check_actor(&self, chain: &Chain, level: u8, u: &User, a: &Article) -> Result<()> {
        if !self.is_open() {
            return Err(Error::InvalidTransition(format!(
                "the article is not waiting for review (it is {})",
                a.status.as_str()
            )));
        }
        if level != self.level {
            return Err(Error::StaleReview {
                expected: level,
                current: self.level,
            });
        }
        let Some(l) = chain.levels.get(usize::from(level)) else {
            return Err(Error::InvalidTransition("no such level".into()));
        };
        if !may_act(l, u, a) {
            return Err(Error::Forbidden);
        }
        if self.approvals.iter().any(|x| x.user == u.id) {
            return Err(Error::AlreadyDecided);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::domain::article::ArticleStatus;

    fn user(id: u64, roles: &[(u64, Role)]) -> User {
        User {
            id: UserId(id),
            username: format!("u{id}"),
            display_name: format!("U{id}"),
            instance_admin: false,
            roles: roles
                .iter()
                .map(|(o, r)| (OutletId(*o), *r))
                .collect::<BTreeMap<_, _>>(),
            disabled: false,
            session_generation: 0,
            created_at: 0,
            updated_at: 0,
        }
    }

    fn article(author: u64) -> Article {
        let mut a = crate::domain::article::tests::sample();
        a.created_by = UserId(author);
        a.authors = vec![UserId(author)];
        a.status = ArticleStatus::InReview;
        a
    }

    #[test]
    fn default_chain_is_valid_and_has_three_levels() {
        let c = Chain::default_for(ChainId(1), OutletId(1), 0);
        c.validate().unwrap();
        assert_eq!(c.levels.len(), 3);
    }

    #[test]
    fn invalid_chains_are_rejected() {
        let mut c = Chain::default_for(ChainId(1), OutletId(1), 0);
        c.levels[0].send_back = SendBack::Level { index: 0 };
        assert_eq!(c.validate().unwrap_err().code(), "invalid_input");
        let mut c = Chain::default_for(ChainId(1), OutletId(1), 0);
        c.levels = vec![c.levels[0].clone(); 7];
        assert!(c.validate().is_err());
        let mut c = Chain::default_for(ChainId(1), OutletId(1), 0);
        c.levels[1].roles.clear();
        assert!(c.validate().is_err());
    }

    #[test]
    fn authors_do_not_review_their_own_work_unless_allowed() {
        let mut c = Chain::default_for(ChainId(1), OutletId(1), 0);
        let editor = user(2, &[(1, Role::Editor)]);
        assert!(may_act(&c.levels[0], &editor, &article(1)));
        assert!(!may_act(&c.levels[0], &editor, &article(2)));
        c.levels[0].allow_self = true;
        assert!(may_act(&c.levels[0], &editor, &article(2)));
        assert!(!may_act(&c.levels[1], &editor, &article(1)), "wrong role");
        assert!(
            !may_act(&c.levels[0], &user(3, &[(2, Role::Editor)]), &article(1)),
            "wrong outlet"
        );
    }

    #[test]
    fn quorum_all_of_and_k_of_n() {
        let mut c = Chain::default_for(ChainId(1), OutletId(1), 0);
        c.levels[0].quorum = Quorum::AtLeast { k: 2 };
        let mut r = Review::start(ArticleId(1), &c, UserId(1), 0, 1);
        assert_eq!(r.approve(&c, UserId(2), 1, 5, 10), Advance::Recorded);
        assert_eq!(r.approve(&c, UserId(3), 1, 5, 11), Advance::NextLevel);
        assert_eq!((r.level, r.approvals.len(), r.passed.len()), (1, 0, 1));
        c.levels[1].quorum = Quorum::All;
        assert_eq!(r.approve(&c, UserId(4), 1, 2, 12), Advance::Recorded);
        assert_eq!(r.approve(&c, UserId(5), 1, 2, 13), Advance::NextLevel);
        assert_eq!(r.approve(&c, UserId(6), 1, 1, 14), Advance::Approved);
        assert_eq!(r.state, ReviewState::Approved);
        assert!(unsatisfiable(&c.levels[0], 1));
        assert!(
            unsatisfiable(&c.levels[1], 0),
            "nobody to approve an all-of level"
        );
    }

    #[test]
    fn send_back_to_an_earlier_level_clears_later_approvals() {
        let c = Chain::default_for(ChainId(1), OutletId(1), 0);
        let mut r = Review::start(ArticleId(1), &c, UserId(1), 0, 1);
        r.approve(&c, UserId(2), 1, 1, 1);
        assert_eq!(r.level, 1);
        assert_eq!(r.send_back(&c, 5), Some(0));
        assert_eq!(
            (r.level, r.passed.len(), r.state),
            (0, 0, ReviewState::Open)
        );
        assert_eq!(r.due, Some(5 + 24 * HOUR_MS));
        assert_eq!(r.send_back(&c, 6), None);
        assert_eq!(r.state, ReviewState::Returned);
        r.resubmit(&c, UserId(1), 7);
        assert_eq!((r.level, r.round, r.state), (0, 2, ReviewState::Open));
    }
}
