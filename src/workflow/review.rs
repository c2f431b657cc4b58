//! The article lifecycle as use cases: submit, approve, return, escalate, withdraw, publish,
//! correct, retract. Each checks the lifecycle table (`domain::lifecycle`), then who may do it,
//! then emits ONE fact carrying the article and its review cycle as they are afterwards.
//! Reviewers are whoever the chain version's level names (role in the level's outlet, or by
//! name); instance administrators are not reviewers by virtue of being administrators.

use crate::domain::article::{Article, ArticleStatus, Retraction};
use crate::domain::fact::{Fact, Step};
use crate::domain::lifecycle::{self, Action};
use crate::domain::provincial::{DecisionDown, ReviewRequest};
use crate::domain::review::{self, Advance, Chain, Level, Review, ReviewState};
use crate::domain::user::{Permission, User};
use crate::domain::{ArticleId, UserId};
use crate::error::{Error, Resource, Result};
use crate::store::access::{self, Access};

use super::articles::{get, may_edit};
use super::screening::{self, Clearance};
use super::{Actor, Writer, comment, same_revision};

/// How the province appears in the county's review record: approvals at a provincial level
/// are by no user of this center.
pub const PROVINCE_USER: UserId = UserId(0);
const PROVINCE: &str = "省级审核";

fn chain_of(a: &impl Access, r: &Review) -> Result<Chain> {
    access::chain_version(a, r.chain, r.chain_version)?.ok_or(Error::NotFound(Resource::Chain))
}

/// The users who could act at `level` for `art`, among `users` (all users of the instance).
pub fn eligible(users: &[User], level: &Level, art: &Article) -> Vec<UserId> {
    users
        .iter()
        .filter(|u| review::may_act(level, u, art))
        .map(|u| u.id)
        .collect()
}

fn ensure_satisfiable(a: &impl Access, chain: &Chain, art: &Article) -> Result<()> {
    let users = access::users(a)?;
    for (i, l) in chain.levels.iter().enumerate() {
        if l.site.is_province() {
            continue;
        }
        let n = eligible(&users, l, art).len();
        if review::unsatisfiable(l, n) {
            return Err(Error::ReviewUnsatisfiable(format!(
                "level {} ({}) needs {} reviewer(s) who are not authors of the article; {n} may act",
                i + 1,
                l.name,
                review::required(l, n),
            )));
        }
    }
    Ok(())
}

/// Does the article's review chain route any level to this actor (another outlet's reviewer)?
pub fn routed_to(a: &impl Access, actor: &Actor, art: &Article) -> Result<bool> {
    let Some(r) = access::review(a, art.id)? else {
        return Ok(false);
    };
    let Some(chain) = access::chain_version(a, r.chain, r.chain_version)? else {
        return Ok(false);
    };
    let u = &actor.user;
    Ok(!u.disabled
        && chain.levels.iter().any(|l| {
            l.users.contains(&u.id)
                || l.site
                    .outlet()
                    .is_some_and(|o| u.roles.get(&o).is_some_and(|role| l.roles.contains(role)))
        }))
}

/// May the actor decide at the article's current level now?
pub fn acts_now(a: &impl Access, actor: &Actor, art: &Article) -> Result<bool> {
    let Some(r) = access::review(a, art.id)?.filter(Review::is_open) else {
        return Ok(false);
    };
    let chain = chain_of(a, &r)?;
    Ok(actor.writes()
        && chain
            .levels
            .get(usize::from(r.level))
            .is_some_and(|l| review::may_act(l, &actor.user, art)))
}

fn step(
    article: &Article,
    review: Option<Review>,
    from: ArticleStatus,
    level: Option<(u8, &Chain)>,
    comment: String,
) -> Step {
    Step {
        article: article.clone(),
        review,
        from,
        level: level.map(|(l, _)| l),
        level_name: level.and_then(|(l, c)| c.levels.get(usize::from(l)).map(|x| x.name.clone())),
        comment,
    }
}

fn pick_chain(w: &Writer<'_>, art: &Article, slug: Option<&str>) -> Result<Chain> {
    let c = match slug {
        Some(s) => access::chain_by_slug(w.tx(), art.outlet, s)?,
        None => access::chains_of(w.tx(), art.outlet)?
            .into_iter()
            .find(|c| c.is_default),
    };
    match c {
        Some(c) if c.enabled => Ok(c),
        Some(_) => Err(Error::InvalidTransition(
            "that review chain is disabled".into(),
        )),
        None => Err(Error::NotFound(Resource::Chain)),
    }
}

/// Send an article into review (again, after a return: same chain version, from level 1).
pub fn submit(
    w: &mut Writer<'_>,
    actor: &Actor,
    id: ArticleId,
    revision: u32,
    chain: Option<&str>,
    note: &str,
    clearance: &Clearance,
) -> Result<Article> {
    let mut art = get(w.tx(), actor, id)?;
    lifecycle::check(&art, Action::Submit)?;
    if !may_edit(actor, &art) {
        return Err(Error::Forbidden);
    }
    same_revision(revision, art.revision)?;
    let note = comment(note, false)?;
    screening::clear_blocked(w, actor, &art, clearance)?;
    let old = access::review(w.tx(), id)?;
    let (review, chain) = match old {
        Some(mut r) if r.state == ReviewState::Returned && chain.is_none() => {
            let c = chain_of(w.tx(), &r)?;
            r.resubmit(&c, actor.id(), w.now());
            (r, c)
        }
        _ => {
            let c = pick_chain(w, &art, chain)?;
            (Review::start(id, &c, actor.id(), w.now(), 1), c)
        }
    };
    ensure_satisfiable(w.tx(), &chain, &art)?;
    let from = art.status;
    art.status = ArticleStatus::Submitted;
    w.emit(
        Some(actor.id()),
        Fact::ArticleSubmitted(step(&art, Some(review.clone()), from, None, note)),
    )?;
    up_to_province(w, &art, &review, &chain)?;
    Ok(art)
}

/// The media an article uses, as they go up to the hub with it.
pub(crate) fn carried_media(
    a: &impl crate::store::Access,
    art: &Article,
) -> Result<Vec<crate::domain::hub::CarriedMedia>> {
    let mut out = Vec::new();
    for id in art.asset_refs() {
        if let Some(x) = crate::store::access::asset(a, id)? {
            out.push(crate::domain::hub::CarriedMedia::of(&x));
        }
    }
    Ok(out)
}

/// If the review now waits at a provincial level, send the article up (the request ships to
/// the hub with the county's log).
fn up_to_province(w: &mut Writer<'_>, art: &Article, r: &Review, chain: &Chain) -> Result<()> {
    let Some(level) = chain
        .levels
        .get(usize::from(r.level))
        .filter(|l| r.is_open() && l.site.is_province())
    else {
        return Ok(());
    };
    let request = ReviewRequest {
        article: art.clone(),
        level: r.level,
        level_name: level.name.clone(),
        chain_name: chain.name.clone(),
        round: r.round,
        requested_at: w.now(),
        media: carried_media(w.tx(), art)?,
    };
    w.emit(None, Fact::ProvincialReviewRequested { request })?;
    Ok(())
}

/// The province's decision on an article this county sent up (applied by the inbox fetcher,
/// no user). A decision for a round or level the article is no longer at changes nothing: it
/// was overtaken here (withdrawn, escalated, resubmitted).
pub fn provincial_decision(w: &mut Writer<'_>, d: &DecisionDown) -> Result<()> {
    let id = ArticleId(d.article);
    let Some(mut art) = access::article(w.tx(), id)? else {
        return Ok(());
    };
    let Some(mut r) = access::review(w.tx(), id)? else {
        return Ok(());
    };
    let chain = chain_of(w.tx(), &r)?;
    let waiting = r.is_open()
        && r.round == d.round
        && r.level == d.level
        && chain
            .levels
            .get(usize::from(r.level))
            .is_some_and(|l| l.site.is_province());
    if !waiting {
        tracing::info!(
            article = id.0,
            "a provincial decision arrived for a review no longer waiting for it"
        );
        return Ok(());
    }
    let note = format!("{}（{}）：{}", PROVINCE, d.decision.by, d.decision.comment);
    let from = art.status;
    let level = Some((d.level, &chain));
    if d.decision.approved {
        art.status = match r.approve(&chain, PROVINCE_USER, art.revision, 1, w.now()) {
            Advance::Approved => ArticleStatus::Approved,
            Advance::NextLevel | Advance::Recorded => ArticleStatus::InReview,
        };
        w.emit(
            None,
            Fact::ReviewApproved(step(&art, Some(r.clone()), from, level, note)),
        )?;
        up_to_province(w, &art, &r, &chain)?;
    } else {
        art.status = match r.send_back(&chain, w.now()) {
            None => ArticleStatus::Returned,
            Some(_) => ArticleStatus::InReview,
        };
        w.emit(
            None,
            Fact::ReviewReturned(step(&art, Some(r), from, level, note)),
        )?;
    }
    Ok(())
}

/// Load what a reviewer decides on, checking they may act at `level` on `revision`.
fn decision(
    w: &Writer<'_>,
    actor: &Actor,
    id: ArticleId,
    level: u8,
    revision: u32,
    action: Action,
) -> Result<(Article, Review, Chain)> {
    let art = get(w.tx(), actor, id)?;
    lifecycle::check(&art, action)?;
    if !actor.writes() {
        return Err(Error::Forbidden);
    }
    let r = access::review(w.tx(), id)?.ok_or(Error::NotFound(Resource::Review))?;
    let chain = chain_of(w.tx(), &r)?;
    r.check_actor(&chain, level, &actor.user, &art)?;
    same_revision(revision, art.revision)?;
    Ok((art, r, chain))
}

pub fn approve(
    w: &mut Writer<'_>,
    actor: &Actor,
    id: ArticleId,
    level: u8,
    revision: u32,
    note: &str,
    clearance: &Clearance,
) -> Result<Article> {
    let (mut art, mut r, chain) = decision(w, actor, id, level, revision, Action::Approve)?;
    let note = comment(note, false)?;
    screening::clear_review(w, actor, &art, level, clearance)?;
    let l = chain
        .levels
        .get(usize::from(level))
        .ok_or(Error::NotFound(Resource::Review))?;
    let n = eligible(&access::users(w.tx())?, l, &art).len();
    let from = art.status;
    art.status = match r.approve(&chain, actor.id(), art.revision, n, w.now()) {
        Advance::Approved => ArticleStatus::Approved,
        Advance::NextLevel | Advance::Recorded => ArticleStatus::InReview,
    };
    w.emit(
        Some(actor.id()),
        Fact::ReviewApproved(step(
            &art,
            Some(r.clone()),
            from,
            Some((level, &chain)),
            note,
        )),
    )?;
    up_to_province(w, &art, &r, &chain)?;
    Ok(art)
}

/// Send back as the level says: to the author (`returned`) or to an earlier level.
pub fn send_back(
    w: &mut Writer<'_>,
    actor: &Actor,
    id: ArticleId,
    level: u8,
    revision: u32,
    note: &str,
) -> Result<Article> {
    let (mut art, mut r, chain) = decision(w, actor, id, level, revision, Action::Return)?;
    let note = comment(note, true)?;
    let from = art.status;
    art.status = match r.send_back(&chain, w.now()) {
        None => ArticleStatus::Returned,
        Some(_) => ArticleStatus::InReview,
    };
    w.emit(
        Some(actor.id()),
        Fact::ReviewReturned(step(&art, Some(r), from, Some((level, &chain)), note)),
    )?;
    Ok(art)
}

/// Move the article onto another chain type of its outlet (e.g. a major report), from its first
/// level; every level of the new chain must then approve.
pub fn escalate(
    w: &mut Writer<'_>,
    actor: &Actor,
    id: ArticleId,
    level: u8,
    revision: u32,
    to_chain: &str,
    note: &str,
) -> Result<Article> {
    let (mut art, r, chain) = decision(w, actor, id, level, revision, Action::Escalate)?;
    let note = comment(note, true)?;
    let target = pick_chain(w, &art, Some(to_chain))?;
    if target.id == r.chain {
        return Err(Error::invalid(
            "chain",
            "the article is already on this chain",
        ));
    }
    ensure_satisfiable(w.tx(), &target, &art)?;
    let next = Review::start(id, &target, r.submitted_by, w.now(), r.round);
    let from = art.status;
    art.status = ArticleStatus::Submitted;
    w.emit(
        Some(actor.id()),
        Fact::ReviewEscalated(step(
            &art,
            Some(next.clone()),
            from,
            Some((level, &chain)),
            note,
        )),
    )?;
    up_to_province(w, &art, &next, &target)?;
    Ok(art)
}

/// The author (or an editor) takes the article back out of review.
pub fn withdraw(w: &mut Writer<'_>, actor: &Actor, id: ArticleId, note: &str) -> Result<Article> {
    let mut art = get(w.tx(), actor, id)?;
    lifecycle::check(&art, Action::Withdraw)?;
    if !may_edit(actor, &art) {
        return Err(Error::Forbidden);
    }
    let note = comment(note, false)?;
    let review = access::review(w.tx(), id)?.map(|mut r| {
        r.state = ReviewState::Closed;
        r.due = None;
        r
    });
    let from = art.status;
    art.status = ArticleStatus::Withdrawn;
    w.emit(
        Some(actor.id()),
        Fact::ArticleWithdrawn(step(&art, review, from, None, note)),
    )?;
    Ok(art)
}

/// 签发: make the approved revision the live one.
pub fn publish(
    w: &mut Writer<'_>,
    actor: &Actor,
    id: ArticleId,
    revision: u32,
    clearance: &Clearance,
) -> Result<Article> {
    let mut art = get(w.tx(), actor, id)?;
    lifecycle::check(&art, Action::Publish)?;
    if !actor.can(art.outlet, Permission::ArticlePublish) {
        return Err(Error::Forbidden);
    }
    same_revision(revision, art.revision)?;
    screening::clear_blocked(w, actor, &art, clearance)?;
    let review = access::review(w.tx(), id)?;
    let from = art.status;
    art.status = ArticleStatus::Published;
    art.published_revision = Some(art.revision);
    art.published_at = Some(w.now());
    w.emit(
        Some(actor.id()),
        Fact::ArticlePublished(step(&art, review, from, None, String::new())),
    )?;
    Ok(art)
}

/// Start a correction: a new working revision goes through review while readers keep seeing
/// the published one.
pub fn correct(w: &mut Writer<'_>, actor: &Actor, id: ArticleId, note: &str) -> Result<Article> {
    let cur = get(w.tx(), actor, id)?;
    lifecycle::check(&cur, Action::Correct)?;
    if !may_edit(actor, &cur) {
        return Err(Error::Forbidden);
    }
    let note = comment(note, true)?;
    let art = Article {
        revision: cur.revision + 1,
        status: ArticleStatus::Draft,
        updated_by: actor.id(),
        updated_at: w.now(),
        restored_from: None,
        ..cur.clone()
    };
    w.emit(
        Some(actor.id()),
        Fact::CorrectionStarted(step(&art, None, cur.status, None, note)),
    )?;
    Ok(art)
}

/// Kill a published article (with any correction under way), with a reason.
pub fn retract(w: &mut Writer<'_>, actor: &Actor, id: ArticleId, reason: &str) -> Result<Article> {
    let mut art = get(w.tx(), actor, id)?;
    lifecycle::check(&art, Action::Retract)?;
    if !actor.can(art.outlet, Permission::ArticleRetract) {
        return Err(Error::Forbidden);
    }
    let reason = comment(reason, true)?;
    let review = access::review(w.tx(), id)?.map(|mut r| {
        if r.is_open() || r.state == ReviewState::Returned {
            r.state = ReviewState::Closed;
            r.due = None;
        }
        r
    });
    let from = art.status;
    art.status = ArticleStatus::Retracted;
    art.retraction = Some(Retraction {
        by: actor.id(),
        at: w.now(),
        reason: reason.clone(),
    });
    w.emit(
        Some(actor.id()),
        Fact::ArticleRetracted(step(&art, review, from, None, reason)),
    )?;
    Ok(art)
}
