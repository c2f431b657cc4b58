//! The hub's side of county shipping. A county sends the entries of its log the hub should have
//! (`hub::SHIPPED`), each with the hash of the entry before it in the county's log. The hub
//! applies them in order, each as a `CountyEntry` of its own log, together with that county's
//! cursor: a batch sent twice, or entries the hub already has, change nothing.
//!
//! Checks, per entry:
//! - origin: the entry's instance is the county the certificate names (`origin_mismatch`, the
//!   whole batch refused); the county's first entry (lsn 1) must hash from that instance's
//!   genesis, so a log is bound to its county from the start;
//! - integrity: the entry hashes, from the previous hash it came with, to its stated hash;
//! - history: an entry right after the cursor continues the cursor's hash; an entry at the
//!   cursor has the cursor's hash; a new epoch starts with its `EpochBegan`, which must continue
//!   from a position at or after the cursor with the same hash there.
//!
//! An entry that fails integrity or history quarantines the county (`CountyQuarantined`, in the
//! hub's log): what came before it in the batch stays applied, nothing after it is, and every
//! later batch is refused until an operator acts. Other counties are unaffected.

use crate::clock::Millis;
use crate::domain::fact::Fact;
use crate::domain::hub::{CountyCursor, SHIPPED, day_of};
use crate::domain::peer::Peer;
use crate::domain::{InstanceId, Lsn};
use crate::error::{Error, Result};
use crate::log::entry;
use crate::store::access::Access;
use crate::store::federation;
use crate::store::tables::{COUNTY_ARTICLES, COUNTY_PUBLISHED};

use super::{Writer, hub_admin};

/// One shipped entry: as the county stored it, with the hash before it.
#[derive(Debug, Clone)]
pub struct Item {
    /// The instance whose log this entry is from.
    pub instance: String,
    pub prev: [u8; 32],
    pub stored: Vec<u8>,
}

/// What a batch did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Receipt {
    pub applied: u64,
    /// Entries the hub already had.
    pub skipped: u64,
    /// The county's cursor after the batch.
    pub cursor: Option<CountyCursor>,
    /// Set when this batch quarantined the county.
    pub quarantined: Option<String>,
}

/// When each county last made a request of this hub (any request: a county with nothing to
/// ship still asks for its cursor and messages). In memory: after a restart a county is
/// "never" until it next connects, which it does within seconds.
/// With it, the county's log head as it last said (shipping requests say it).
#[derive(Default)]
pub struct Contacts(std::sync::Mutex<std::collections::HashMap<String, Contact>>);

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Contact {
    pub at: Millis,
    /// The county's log head it last reported.
    pub head: Option<u64>,
}

impl Contacts {
    pub fn touch(&self, county: &str, at: Millis, head: Option<u64>) {
        if let Ok(mut m) = self.0.lock() {
            let c = m.entry(county.to_string()).or_default();
            c.at = at;
            if head.is_some() {
                c.head = head;
            }
        }
    }

    pub fn last(&self, county: &str) -> Option<Contact> {
        self.0.lock().ok().and_then(|m| m.get(county).copied())
    }
}

/// A county as the hub's admin sees it: its link, and its dashboard figures.
pub struct County {
    pub peer: Peer,
    pub cursor: Option<CountyCursor>,
    pub articles: u64,
    /// Articles published on each of the last 7 days (China time), oldest first, today last.
    pub published_7d: Vec<u64>,
    /// Its articles waiting for a provincial review decision here.
    pub pending_reviews: u64,
    /// Instructions sent to it that it has not acknowledged.
    pub unacknowledged: u64,
}

/// Every county enrolled here, with how far the hub has its log and its figures as of `now`.
pub fn counties(a: &impl Access, actor: &super::Actor, now: Millis) -> Result<Vec<County>> {
    hub_admin(a, actor)?;
    let today = day_of(now);
    let instructions = federation::instructions(a)?;
    let mut out = Vec::new();
    for peer in federation::peers(a)?
        .into_iter()
        .filter(|p| p.role == "county")
    {
        let cursor = federation::county_cursor(a, &peer.id)?;
        let articles = a.count_under(COUNTY_ARTICLES, &peer.id)?;
        let published_7d = (0..7)
            .rev()
            .map(|back| a.count_in_set(COUNTY_PUBLISHED, &peer.id, today.saturating_sub(back)))
            .collect::<Result<Vec<_>>>()?;
        let pending_reviews = federation::provincial_reviews(a, std::slice::from_ref(&peer.id))?
            .iter()
            .filter(|r| r.decision.is_none())
            .count() as u64;
        let mut unacknowledged = 0;
        for i in instructions
            .iter()
            .filter(|i| i.counties.contains(&peer.id))
        {
            let p = federation::progress(a, &peer.id, i.id)?.unwrap_or_default();
            unacknowledged += u64::from(p.acknowledged_at.is_none());
        }
        out.push(County {
            peer,
            cursor,
            articles,
            published_7d,
            pending_reviews,
            unacknowledged,
        });
    }
    Ok(out)
}

/// A county's published articles held here.
pub fn articles(
    a: &impl Access,
    actor: &super::Actor,
    county: &str,
) -> Result<Vec<crate::domain::hub::CountyArticle>> {
    hub_admin(a, actor)?;
    match federation::peer(a, county)? {
        Some(p) if p.role == "county" => federation::county_articles(a, county),
        _ => Err(Error::NotFound(crate::error::Resource::Peer)),
    }
}

/// Who may read the counties' content at a hub (search it, open an article): its instance
/// administrators and whoever may read articles in one of its outlets, the province's staff.
pub fn county_reader(a: &impl Access, actor: &super::Actor) -> Result<()> {
    super::require_role(a, "hub")?;
    let staff = actor
        .outlets_with(crate::domain::user::Permission::ArticleRead)
        .is_none_or(|o| !o.is_empty());
    if actor.is_instance_admin() || (!actor.user.disabled && staff) {
        Ok(())
    } else {
        Err(Error::Forbidden)
    }
}

/// One county article as the hub holds it, for the province's staff.
pub fn county_article(
    a: &impl Access,
    actor: &super::Actor,
    county: &str,
    id: u64,
) -> Result<crate::domain::hub::CountyArticle> {
    county_reader(a, actor)?;
    federation::county_article(a, county, id)?
        .ok_or(Error::NotFound(crate::error::Resource::Article))
}

/// The hub's cursor for a county (where its next batch starts).
pub fn cursor(a: &impl Access, county: &str) -> Result<Option<CountyCursor>> {
    federation::county_cursor(a, county)
}

/// The peer admitted at the handshake (`county.fingerprint`: the certificate it presented) is
/// still a county here, that certificate still its own, and not revoked: a county revoked while
/// connected is refused at its next request; one that renewed carries on.
pub fn current(a: &impl Access, county: &Peer, now: Millis) -> Result<()> {
    match federation::peer(a, &county.id)? {
        Some(p) if p.role == "county" && p.accepts(&county.fingerprint, now) => Ok(()),
        _ => Err(Error::Forbidden),
    }
}

fn hex32(s: &str) -> Option<[u8; 32]> {
    hex::decode(s).ok()?.try_into().ok()
}

/// A county's batch: its shipped entries in `(after, through]`, in log order. `after` is where
/// the hub's copy ended when the county read it; `through` is how far the county looked.
#[derive(Debug, Clone, Default)]
pub struct Batch {
    pub after: u64,
    pub through: u64,
    pub items: Vec<Item>,
}

/// Apply a batch from `county` (the peer its certificate names). A batch that starts beyond
/// what the hub has (sent before an earlier one arrived) is refused with the hub's position; one
/// that starts before it (a replay) applies only what is new.
pub fn receive(w: &mut Writer<'_>, county: &Peer, batch: &Batch) -> Result<Receipt> {
    current(w.tx(), county, w.now())?;
    let items = &batch.items;
    if batch.through < batch.after {
        return Err(Error::invalid("through", "at or after `after`"));
    }
    // Origin first, for the whole batch: nothing of a batch naming another instance is applied.
    for it in items {
        if it.instance != county.id {
            let lsn = entry::decode_stored(&it.stored).map_or(0, |e| e.lsn.0);
            return Err(Error::OriginMismatch {
                instance: it.instance.clone(),
                lsn,
            });
        }
    }
    let mut cur = cursor(w.tx(), &county.id)?;
    if let Some(reason) = cur.as_ref().and_then(|c| c.quarantined.clone()) {
        return Err(Error::CountyQuarantined(reason));
    }
    let have = cur.as_ref().map_or(0, |c| c.through);
    if batch.after > have {
        return Err(Error::BatchOutOfOrder {
            after: batch.after,
            hub: have,
        });
    }
    let mut last = batch.after;
    for it in items {
        let lsn = entry::decode_stored(&it.stored)
            .map_err(|e| Error::invalid("stored", e.to_string()))?
            .lsn
            .0;
        if lsn <= last || lsn > batch.through {
            return Err(Error::invalid(
                "items",
                format!(
                    "entries in log order within ({}, {}]",
                    batch.after, batch.through
                ),
            ));
        }
        last = lsn;
    }
    let mut r = Receipt::default();
    for it in items {
        match check(cur.as_ref(), county, it) {
            Ok(None) => r.skipped += 1,
            Ok(Some(e)) => {
                let offered = match &e.fact {
                    Fact::ArticleOffered {
                        article,
                        note,
                        media,
                    } => Some((article.clone(), note.clone(), media.clone())),
                    _ => None,
                };
                let retracted = match &e.fact {
                    Fact::ArticleRetracted(step) => Some(step.article.clone()),
                    _ => None,
                };
                let fact = Fact::CountyEntry {
                    county: county.id.clone(),
                    epoch: e.epoch.0,
                    lsn: e.lsn.0,
                    hash: e.hash.clone(),
                    received_at: w.now(),
                    fact: Box::new(e.fact),
                };
                w.emit(None, fact)?;
                // What a county offers is shared as it arrives, in the same transaction.
                if let Some((article, note, media)) = offered {
                    super::shared::share_offered(w, county, &article, &note, media)?;
                }
                // What it retracts leaves the shared pool at once.
                if let Some(article) = retracted {
                    super::shared::withdraw_retracted(w, county, &article)?;
                }
                r.applied += 1;
                cur = cursor(w.tx(), &county.id)?;
            }
            Err(reason) => {
                tracing::warn!(county = %county.id, %reason, "county quarantined");
                w.emit(
                    None,
                    Fact::CountyQuarantined {
                        county: county.id.clone(),
                        reason: reason.clone(),
                    },
                )?;
                r.quarantined = Some(reason);
                r.cursor = cursor(w.tx(), &county.id)?;
                return Ok(r);
            }
        }
    }
    if cur.as_ref().is_some_and(|c| batch.through > c.through) {
        w.emit(
            None,
            Fact::CountyThrough {
                county: county.id.clone(),
                through: batch.through,
            },
        )?;
    }
    r.cursor = cursor(w.tx(), &county.id)?;
    Ok(r)
}

/// `Ok(Some(entry))` to apply, `Ok(None)` if the hub has it already, `Err(reason)` to
/// quarantine.
fn check(
    cur: Option<&CountyCursor>,
    county: &Peer,
    it: &Item,
) -> std::result::Result<Option<entry::Entry>, String> {
    let (hash, bytes) = entry::split_stored(&it.stored).map_err(|e| e.to_string())?;
    let e = entry::decode_stored(&it.stored).map_err(|e| e.to_string())?;
    let at = format!("entry {} (epoch {})", e.lsn.0, e.epoch.0);
    if entry::chain(&it.prev, bytes) != hash {
        return Err(format!("{at}: its hash does not match its contents"));
    }
    if !SHIPPED.contains(&e.fact.kind()) {
        return Err(format!(
            "{at}: a {} is not shipped to the hub",
            e.fact.kind()
        ));
    }
    let Some(c) = cur else {
        // First contact: the county's log from its first entry, bound to its instance id.
        if e.lsn != Lsn(1) || it.prev != entry::genesis(&InstanceId(county.id.clone())) {
            return Err(format!(
                "{at}: the first entry received must be entry 1 of instance {}",
                county.id
            ));
        }
        return Ok(Some(e));
    };
    let cur_hash = hex32(&c.hash).unwrap_or([0; 32]);
    if e.epoch.0 > c.epoch {
        let Fact::EpochBegan {
            after_lsn,
            after_hash,
            ..
        } = &e.fact
        else {
            return Err(format!(
                "{at}: epoch {} began without its EpochBegan",
                e.epoch.0
            ));
        };
        if after_lsn.0 < c.lsn || (after_lsn.0 == c.lsn && *after_hash != c.hash) {
            return Err(format!(
                "{at}: the county's history was rewound to entry {after_lsn} (a restore or a promotion) but the hub has received up to entry {}",
                c.lsn
            ));
        }
    }
    if e.lsn.0 > c.lsn && e.lsn.0 <= c.through {
        return Err(format!(
            "{at}: was not in the earlier batches that covered the log up to entry {}",
            c.through
        ));
    }
    if e.lsn.0 <= c.lsn {
        if e.lsn.0 == c.lsn && hash != cur_hash {
            return Err(format!(
                "{at}: differs from the entry {} received before",
                c.lsn
            ));
        }
        return Ok(None);
    }
    if e.lsn.0 == c.lsn + 1 && it.prev != cur_hash {
        return Err(format!(
            "{at}: does not continue entry {} received before",
            c.lsn
        ));
    }
    if e.epoch.0 < c.epoch {
        return Err(format!("{at}: goes back from epoch {}", c.epoch));
    }
    Ok(Some(e))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::fact::EpochReason;
    use crate::domain::{Epoch, UserId};

    const COUNTY: &str = "6f1c1d4e-5d7a-4a53-9f0e-2b1f3f1b0c11";

    fn peer() -> Peer {
        Peer {
            id: COUNTY.into(),
            role: "county".into(),
            name: "测试县".into(),
            region: String::new(),
            fingerprint: String::new(),
            not_after: 0,
            enrolled_at: 0,
            by: UserId(1),
            revoked: None,
            previous: None,
        }
    }

    /// A county log of `facts` in epoch 1, as items (each with its previous hash).
    fn log(facts: &[Fact]) -> Vec<Item> {
        let mut prev = entry::genesis(&InstanceId(COUNTY.into()));
        facts
            .iter()
            .enumerate()
            .map(|(i, f)| item(&mut prev, 1, i as u64 + 1, f))
            .collect()
    }

    fn item(prev: &mut [u8; 32], epoch: u64, lsn: u64, f: &Fact) -> Item {
        let bytes = entry::encode_entry(Epoch(epoch), Lsn(lsn), 0, None, f);
        let (hash, stored) = entry::seal(prev, &bytes);
        let it = Item {
            instance: COUNTY.into(),
            prev: *prev,
            stored,
        };
        *prev = hash;
        it
    }

    fn created() -> Fact {
        Fact::InstanceCreated {
            instance_id: InstanceId(COUNTY.into()),
            role: "county".into(),
        }
    }

    fn cursor_at(it: &Item, through: u64) -> CountyCursor {
        let e = entry::decode_stored(&it.stored).unwrap();
        CountyCursor {
            epoch: e.epoch.0,
            lsn: e.lsn.0,
            hash: e.hash,
            through,
            received_at: 0,
            quarantined: None,
        }
    }

    #[test]
    fn first_contact_is_entry_one_of_the_certificates_instance() {
        let items = log(&[created(), created()]);
        assert!(check(None, &peer(), &items[0]).unwrap().is_some());
        let e = check(None, &peer(), &items[1]).unwrap_err();
        assert!(e.contains("first entry"), "{e}");
        let mut other = peer();
        other.id = "00000000-0000-4000-8000-000000000000".into();
        assert!(check(None, &other, &items[0]).is_err());
    }

    #[test]
    fn replays_are_skipped_and_a_changed_history_is_not() {
        let items = log(&[created(), created(), created()]);
        let cur = cursor_at(&items[1], 2);
        assert!(check(Some(&cur), &peer(), &items[0]).unwrap().is_none());
        assert!(check(Some(&cur), &peer(), &items[1]).unwrap().is_none());
        // Another entry 2 (another history): refused.
        let other = log(&[
            created(),
            Fact::InstanceCreated {
                instance_id: InstanceId(COUNTY.into()),
                role: "hub".into(),
            },
        ]);
        let e = check(Some(&cur), &peer(), &other[1]).unwrap_err();
        assert!(e.contains("differs"), "{e}");
        // Entry 3 continues entry 2; with another previous hash it does not.
        assert!(check(Some(&cur), &peer(), &items[2]).unwrap().is_some());
        let mut broken = items[2].clone();
        broken.prev = [7; 32];
        assert!(check(Some(&cur), &peer(), &broken).is_err());
    }

    #[test]
    fn a_new_epoch_must_continue_from_what_the_hub_has() {
        let items = log(&[created(), created(), created()]);
        let cur = cursor_at(&items[2], 3);
        let head = entry::decode_stored(&items[2].stored).unwrap().hash;
        let began = |after: u64, hash: &str| Fact::EpochBegan {
            epoch: Epoch(2),
            reason: EpochReason::Restore,
            after_lsn: Lsn(after),
            after_hash: hash.to_string(),
        };
        let mut prev = [1; 32];
        // Restored to entry 2: the hub has entry 3 of the old line. Quarantine.
        let rewound = item(&mut prev, 2, 3, &began(2, "x"));
        let e = check(Some(&cur), &peer(), &rewound).unwrap_err();
        assert!(e.contains("rewound"), "{e}");
        // Continuing exactly where the hub is: fine.
        let mut prev = hex32(&head).unwrap();
        let fine = item(&mut prev, 2, 4, &began(3, &head));
        assert!(check(Some(&cur), &peer(), &fine).unwrap().is_some());
        // A later epoch that does not start with its EpochBegan.
        let mut prev = [1; 32];
        let sneaky = item(&mut prev, 2, 4, &created());
        assert!(
            check(Some(&cur), &peer(), &sneaky)
                .unwrap_err()
                .contains("EpochBegan")
        );
    }

    #[test]
    fn drafts_are_not_taken() {
        let mut prev = entry::genesis(&InstanceId(COUNTY.into()));
        let draft = item(
            &mut prev,
            1,
            1,
            &Fact::TokenRevoked {
                id: crate::domain::TokenId(1),
                at: 0,
            },
        );
        assert!(
            check(None, &peer(), &draft)
                .unwrap_err()
                .contains("not shipped")
        );
    }
}
