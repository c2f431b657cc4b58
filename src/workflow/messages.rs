//! Messages from a hub to its counties, on both sides. The hub's use cases (instructions,
//! provincial review decisions, the shared pool, provincial word lists) each put a numbered
//! message in the outbox of the counties concerned; a county fetches its messages after the last
//! number it applied and applies each through its own log (`receive`): a message fetched twice
//! is applied once. The hub sends a word list as it is when fetched (a reference in the outbox,
//! the whole list on the wire), and the county records its receipt by reference, so what ships
//! back up stays small.

use crate::domain::fact::Fact;
use crate::domain::instruction::Down;
use crate::error::Result;
use crate::store::access::{self, Access};
use crate::store::federation;

use super::{Writer, require_role};

/// Messages for a county after number `after` (the county's certificate names it).
pub fn outbox(a: &impl Access, county: &str, after: u64, limit: usize) -> Result<Vec<(u64, Down)>> {
    federation::outbox(a, county, after, limit)
}

/// At a hub: a provincial word list as it is now, for the wire.
pub fn lexicon_snapshot(a: &impl Access, id: u64) -> Result<Down> {
    let l = access::lexicon(a, crate::domain::LexiconId(id))?.filter(|l| l.provincial);
    let entries = match &l {
        Some(l) => access::lexicon_entries(a, l.id)?,
        None => Vec::new(),
    };
    Ok(Down::LexiconSnapshot {
        id,
        lexicon: l,
        entries,
    })
}

/// The number of the last hub message this county applied.
pub fn received_through(a: &impl Access) -> Result<u64> {
    access::counter(a, "hub_seq")
}

/// Apply a message from the hub (the inbox fetcher, no user). Numbers at or below the last one
/// applied are skipped, so a message fetched twice is applied once. Returns whether it was new.
pub fn receive(w: &mut Writer<'_>, seq: u64, message: Down) -> Result<bool> {
    require_role(w.tx(), "county")?;
    if seq <= received_through(w.tx())? {
        return Ok(false);
    }
    let received_at = w.now();
    // A word list is recorded by reference (the list itself goes into the county's own
    // lexicon facts, which stay home), so its receipt ships back up small.
    let (recorded, lexicon) = match message {
        Down::LexiconSnapshot {
            id,
            lexicon,
            entries,
        } => (Down::Lexicon { id }, Some((id, lexicon, entries))),
        m => (m, None),
    };
    let decision = match &recorded {
        Down::ReviewDecision { decision } => Some(decision.clone()),
        _ => None,
    };
    w.emit(
        None,
        Fact::HubMessageReceived {
            seq,
            message: recorded,
            received_at,
        },
    )?;
    if let Some(d) = decision {
        super::review::provincial_decision(w, &d)?;
    }
    if let Some((id, l, entries)) = lexicon {
        super::lexicons::apply_provincial(w, id, l.as_ref(), &entries)?;
    }
    Ok(true)
}
