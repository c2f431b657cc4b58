//! Read side of review: the "my reviews" queue (sorted by deadline, overdue first) and the review
//! panel of one article (its chain version, level by level, and what the actor may do now).

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use crate::clock::Millis;
use crate::domain::article::Article;
use crate::domain::lifecycle::{self, Action};
use crate::domain::review::{Approval, Chain, LevelKind, Review, Site};
use crate::domain::user::{Permission, User};
use crate::domain::{ArticleId, ChainId, OutletId, UserId};
use crate::error::Result;
use crate::store::queue::{Key, QueueEntry, USER_SCOPE};
use crate::store::{Reader, access};

use super::Actor;
use super::articles::{get, may_edit};
use super::review::{acts_now, eligible};

/// Count pending reviews up to this many (the badge shows "999+").
pub const COUNT_CAP: usize = 1_000;

pub struct QueueItem {
    pub article: Article,
    pub review: Review,
    pub level_name: String,
    pub chain_name: String,
    pub due: Option<Millis>,
    pub overdue: bool,
}

pub struct QueuePage {
    pub items: Vec<QueueItem>,
    /// Pending reviews for this actor, counted up to `COUNT_CAP` (first page only).
    pub total: Option<usize>,
    /// Position of the last item, for the next page.
    pub next: Option<(i64, u64)>,
}

fn scopes(actor: &Actor) -> Vec<(u64, u8)> {
    let mut v: Vec<(u64, u8)> = actor
        .user
        .roles
        .iter()
        .map(|(o, r)| (o.0, r.code()))
        .collect();
    v.push((actor.id().0, USER_SCOPE));
    v
}

fn mine(actor: &Actor, e: &QueueEntry) -> bool {
    let me = actor.id();
    !e.approved_by.contains(&me) && (e.allow_self || !e.authors.contains(&me))
}

/// One page of the reviews waiting for the actor, by deadline (no deadline last, oldest first).
pub fn my_reviews(
    r: &Reader,
    actor: &Actor,
    now: Millis,
    after: Option<(i64, u64)>,
    limit: usize,
) -> Result<QueuePage> {
    if actor.user.disabled {
        return Ok(QueuePage {
            items: Vec::new(),
            total: Some(0),
            next: None,
        });
    }
    let mut found: Vec<Key> = Vec::new();
    let mut counted: HashSet<u64> = HashSet::new();
    for (scope, role) in scopes(actor) {
        let mut taken = 0;
        r.walk_queue(scope, role, after, |k, e| {
            if mine(actor, &e) {
                if taken < limit {
                    found.push(k);
                    taken += 1;
                }
                counted.insert(k.3);
            }
            taken < limit || (after.is_none() && counted.len() < COUNT_CAP)
        })?;
    }
    found.sort_by_key(|k| (k.2, k.3));
    found.dedup_by_key(|k| k.3);
    found.truncate(limit);
    let mut chains: HashMap<(ChainId, u32), Option<Chain>> = HashMap::new();
    let mut items = Vec::with_capacity(found.len());
    for k in &found {
        let id = ArticleId(k.3);
        let (Some(article), Some(review)) = (access::article(&r.0, id)?, access::review(&r.0, id)?)
        else {
            continue;
        };
        let key = (review.chain, review.chain_version);
        if let std::collections::hash_map::Entry::Vacant(v) = chains.entry(key) {
            v.insert(access::chain_version(&r.0, key.0, key.1)?);
        }
        let chain = chains.get(&key).and_then(Option::as_ref);
        let level_name = chain
            .and_then(|c| c.levels.get(usize::from(review.level)))
            .map(|l| l.name.clone())
            .unwrap_or_default();
        items.push(QueueItem {
            due: review.due,
            overdue: review.overdue(now),
            level_name,
            chain_name: chain.map(|c| c.name.clone()).unwrap_or_default(),
            article,
            review,
        });
    }
    let next = (found.len() == limit)
        .then(|| found.last().map(|k| (k.2, k.3)))
        .flatten();
    Ok(QueuePage {
        items,
        total: after.is_none().then(|| counted.len().min(COUNT_CAP)),
        next,
    })
}

/// Where one level of the chain stands for this article.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum LevelState {
    Passed,
    Current,
    Pending,
}

pub struct LevelView {
    pub index: u8,
    pub name: String,
    pub kind: LevelKind,
    pub site: Site,
    pub state: LevelState,
    pub approvals: Vec<Approval>,
    pub required: usize,
    pub eligible: Vec<UserId>,
    pub deadline_hours: Option<u32>,
}

pub struct ReviewView {
    pub article: ArticleId,
    pub outlet: OutletId,
    pub review: Option<Review>,
    pub chain: Option<Chain>,
    pub levels: Vec<LevelView>,
    /// Display names of everyone in `levels` and of the submitter.
    pub names: BTreeMap<UserId, String>,
    pub overdue: bool,
    /// What the actor may do now (buttons of the review panel).
    pub actions: Vec<Action>,
}

fn level_views(users: &[User], rev: &Review, chain: &Chain, art: &Article) -> Vec<LevelView> {
    let mut out = Vec::new();
    for (i, l) in chain.levels.iter().enumerate() {
        let i8 = u8::try_from(i).unwrap_or(u8::MAX);
        let passed = rev.passed.iter().find(|p| p.level == i8);
        let state = if passed.is_some() {
            LevelState::Passed
        } else if rev.is_open() && rev.level == i8 {
            LevelState::Current
        } else {
            LevelState::Pending
        };
        let approvals = match state {
            LevelState::Passed => passed.map(|p| p.approvals.clone()).unwrap_or_default(),
            LevelState::Current => rev.approvals.clone(),
            LevelState::Pending => Vec::new(),
        };
        let eligible = eligible(users, l, art);
        out.push(LevelView {
            index: i8,
            name: l.name.clone(),
            kind: l.kind,
            site: l.site,
            state,
            approvals,
            required: crate::domain::review::required(l, eligible.len()),
            eligible,
            deadline_hours: l.deadline_hours,
        });
    }
    out
}

fn actions(r: &Reader, actor: &Actor, art: &Article, rev: Option<&Review>) -> Result<Vec<Action>> {
    let mut v = Vec::new();
    if !actor.writes() {
        return Ok(v);
    }
    let edits = may_edit(actor, art);
    let reviewer = acts_now(&r.0, actor, art)?
        && rev.is_some_and(|x| !x.approvals.iter().any(|a| a.user == actor.id()));
    for a in [
        Action::Edit,
        Action::Submit,
        Action::Approve,
        Action::Return,
        Action::Escalate,
        Action::Withdraw,
        Action::Publish,
        Action::Correct,
        Action::Retract,
    ] {
        let who = match a {
            Action::Edit if art.status.in_review() => {
                reviewer && actor.can(art.outlet, Permission::ArticleEditAny)
            }
            Action::Edit | Action::Submit | Action::Withdraw | Action::Correct => edits,
            Action::Approve | Action::Return | Action::Escalate => reviewer,
            Action::Publish => actor.can(art.outlet, Permission::ArticlePublish),
            Action::Retract => actor.can(art.outlet, Permission::ArticleRetract),
        };
        if who && lifecycle::allowed(art, a) {
            v.push(a);
        }
    }
    Ok(v)
}

pub fn view(r: &Reader, actor: &Actor, id: ArticleId, now: Millis) -> Result<ReviewView> {
    let art = get(&r.0, actor, id)?;
    let review = access::review(&r.0, id)?;
    let chain = match &review {
        Some(x) => access::chain_version(&r.0, x.chain, x.chain_version)?,
        None => None,
    };
    let users = access::users(&r.0)?;
    let levels = match (&review, &chain) {
        (Some(x), Some(c)) => level_views(&users, x, c, &art),
        _ => Vec::new(),
    };
    let mentioned: BTreeSet<UserId> = levels
        .iter()
        .flat_map(|l| {
            l.eligible
                .iter()
                .copied()
                .chain(l.approvals.iter().map(|a| a.user))
        })
        .chain(review.as_ref().map(|x| x.submitted_by))
        .collect();
    let names = users
        .into_iter()
        .filter(|u| mentioned.contains(&u.id))
        .map(|u| (u.id, u.display_name))
        .collect();
    Ok(ReviewView {
        article: id,
        outlet: art.outlet,
        overdue: review.as_ref().is_some_and(|x| x.overdue(now)),
        actions: actions(r, actor, &art, review.as_ref())?,
        review,
        chain,
        levels,
        names,
    })
}
