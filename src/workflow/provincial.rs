//! 省级审核 at the hub: the queue of county articles sent up by a provincial level of their
//! chain, and the decision that goes back down. Provincial reviewers are the hub's instance
//! administrators and whoever may publish (签发) in one of the hub's outlets. A decision is
//! taken once per request; a county's later request for the same article (a new round)
//! replaces the row.

use crate::domain::fact::Fact;
use crate::domain::provincial::{Decision, DecisionDown, ProvincialReview};
use crate::error::{Error, Resource, Result};
use crate::store::access::Access;
use crate::store::federation;

use super::{Actor, Writer, comment, require_role};

fn reviewer(a: &impl Access, actor: &Actor) -> Result<()> {
    require_role(a, "hub")?;
    if actor.speaks_for_the_center() {
        Ok(())
    } else {
        Err(Error::Forbidden)
    }
}

fn counties(a: &impl Access) -> Result<Vec<String>> {
    Ok(federation::peers(a)?
        .into_iter()
        .filter(|p| p.role == "county")
        .map(|p| p.id)
        .collect())
}

/// The requests, undecided first (oldest first), then decided ones (newest first).
pub fn queue(a: &impl Access, actor: &Actor, pending_only: bool) -> Result<Vec<ProvincialReview>> {
    reviewer(a, actor)?;
    let mut v: Vec<ProvincialReview> = federation::provincial_reviews(a, &counties(a)?)?
        .into_iter()
        .filter(|r| !pending_only || r.decision.is_none())
        .collect();
    v.sort_by_key(|r| match &r.decision {
        None => (0, r.received_at),
        Some(d) => (1, -d.at),
    });
    Ok(v)
}

/// One request, with the article as the county sent it.
pub fn get(a: &impl Access, actor: &Actor, county: &str, article: u64) -> Result<ProvincialReview> {
    reviewer(a, actor)?;
    federation::provincial_review(a, county, article)?.ok_or(Error::NotFound(Resource::Review))
}

/// Decide on the request for round `round` (the one the reviewer saw). A return needs a
/// comment. The decision goes down to the county as its next message.
pub fn decide(
    w: &mut Writer<'_>,
    actor: &Actor,
    county: &str,
    article: u64,
    round: u32,
    approved: bool,
    note: &str,
) -> Result<ProvincialReview> {
    reviewer(w.tx(), actor)?;
    if !actor.writes() {
        return Err(Error::Forbidden);
    }
    let row = federation::provincial_review(w.tx(), county, article)?
        .ok_or(Error::NotFound(Resource::Review))?;
    if row.request.round != round {
        return Err(Error::InvalidTransition(format!(
            "the county sent this article again (round {}); decide on what it sent last",
            row.request.round
        )));
    }
    if row.decision.is_some() {
        return Err(Error::InvalidTransition(
            "a decision was already taken on this request".into(),
        ));
    }
    let note = comment(note, !approved)?;
    let decision = DecisionDown {
        article,
        round,
        level: row.request.level,
        decision: Decision {
            approved,
            comment: note,
            by: actor.user.display_name.clone(),
            at: w.now(),
        },
    };
    let seq = w.next_id("down")?;
    w.emit(
        Some(actor.id()),
        Fact::ProvincialReviewDecided {
            county: county.to_string(),
            decision,
            seq,
        },
    )?;
    federation::provincial_review(w.tx(), county, article)?.ok_or(Error::NotFound(Resource::Review))
}
