//! Admitting peers: an instance admin creates a one-time, expiring pairing token for a role; the
//! node presenting it with a certificate request gets a certificate our CA signs (done by the
//! caller: key files are not the writer's business) and becomes a peer (`PeerEnrolled`), the
//! token spent in the same transaction. Revoking a peer refuses its certificate at the next
//! handshake.

use sha2::{Digest, Sha256};

use crate::clock::Millis;
use crate::domain::fact::Fact;
use crate::domain::peer::{Pairing, Peer, ROLES, Revocation};
use crate::error::{Error, Resource, Result};
use crate::store::access::{self, Access};
use crate::store::federation;

use super::{Actor, Writer, comment};

/// Longest a pairing token may live.
const MAX_TTL_MINUTES: u32 = 7 * 24 * 60;

fn admin(actor: &Actor) -> Result<()> {
    if actor.is_instance_admin() && actor.writes() {
        Ok(())
    } else {
        Err(Error::Forbidden)
    }
}

pub fn token_key(token: &str) -> Vec<u8> {
    Sha256::digest(token.as_bytes()).to_vec()
}

/// A new pairing token (returned once; only its hash is kept).
pub fn create_pairing(
    w: &mut Writer<'_>,
    actor: &Actor,
    role: &str,
    name: &str,
    region: &str,
    ttl_minutes: u32,
) -> Result<(String, Millis)> {
    admin(actor)?;
    if !ROLES.contains(&role) {
        return Err(Error::invalid(
            "role",
            format!("one of {}", ROLES.join(", ")),
        ));
    }
    // Counties join a hub; a county center has replicas only.
    let here = access::instance(w.tx())?
        .map(|m| m.role)
        .unwrap_or_default();
    if role == "county" && here != "hub" {
        return Err(Error::WrongRole("hub".into()));
    }
    let region = region.trim();
    if !region.is_empty() && (region.len() != 6 || !region.bytes().all(|b| b.is_ascii_digit())) {
        return Err(Error::invalid(
            "region",
            "a 6-digit region code (GB/T 2260)",
        ));
    }
    if ttl_minutes == 0 || ttl_minutes > MAX_TTL_MINUTES {
        return Err(Error::invalid(
            "ttl_minutes",
            format!("1 to {MAX_TTL_MINUTES}"),
        ));
    }
    let name = comment(name, true)?;
    let token = format!("rmp_{}", hex::encode(rand::random::<[u8; 24]>()));
    let p = Pairing {
        role: role.to_string(),
        name,
        region: region.to_string(),
        expires_at: w.now() + i64::from(ttl_minutes) * 60_000,
        by: actor.id(),
    };
    w.put_pairing(&token_key(&token), &p)?;
    Ok((token, p.expires_at))
}

/// The pairing a token stands for, if it is valid now (the caller signs, then `enroll`s).
pub fn pairing(a: &impl Access, token: &str, now: Millis) -> Result<Pairing> {
    match federation::pairing(a, &token_key(token))? {
        Some(p) if p.expires_at > now => Ok(p),
        _ => Err(Error::PairingInvalid),
    }
}

/// Spend the token and record the peer with its certificate's fingerprint.
pub fn enroll(
    w: &mut Writer<'_>,
    token: &str,
    id: &str,
    fingerprint: &str,
    not_after: Millis,
) -> Result<Peer> {
    let p = pairing(w.tx(), token, w.now())?;
    // A county's id is its instance id, chosen by the node that joins: an id enrolled before
    // (another county's, or a revoked one's) is never taken over by a new token.
    if federation::peer(w.tx(), id)?.is_some() {
        return Err(Error::AlreadyExists(Resource::Peer));
    }
    w.take_pairing(&token_key(token))?;
    let peer = Peer {
        id: id.to_string(),
        role: p.role,
        name: p.name,
        region: p.region,
        fingerprint: fingerprint.to_string(),
        not_after,
        enrolled_at: w.now(),
        by: p.by,
        revoked: None,
        previous: None,
    };
    w.emit(Some(p.by), Fact::PeerEnrolled { peer: peer.clone() })?;
    if peer.role == "county" {
        super::lexicons::push_all_to(w, &peer.id)?;
    }
    Ok(peer)
}

/// A peer connected with `presented` (its certificate's fingerprint) renews: record the
/// certificate the CA just signed for it.
pub fn renew(
    w: &mut Writer<'_>,
    peer: &Peer,
    presented: &str,
    fingerprint: &str,
    not_after: Millis,
) -> Result<Peer> {
    let now = w.now();
    let p = federation::peer(w.tx(), &peer.id)?
        .filter(|p| p.role == peer.role && p.accepts(presented, now))
        .ok_or(Error::Forbidden)?;
    w.emit(
        None,
        Fact::PeerRenewed {
            id: p.id.clone(),
            fingerprint: fingerprint.to_string(),
            not_after,
        },
    )?;
    federation::peer(w.tx(), &peer.id)?.ok_or(Error::NotFound(Resource::Peer))
}

pub fn revoke(w: &mut Writer<'_>, actor: &Actor, id: &str, reason: &str) -> Result<Peer> {
    admin(actor)?;
    let mut peer = federation::peer(w.tx(), id)?.ok_or(Error::NotFound(Resource::Peer))?;
    if peer.revoked.is_some() {
        return Ok(peer);
    }
    let revocation = Revocation {
        at: w.now(),
        by: actor.id(),
        reason: comment(reason, true)?,
    };
    w.emit(
        Some(actor.id()),
        Fact::PeerRevoked {
            id: id.to_string(),
            revocation: revocation.clone(),
        },
    )?;
    peer.revoked = Some(revocation);
    Ok(peer)
}

pub fn peers(a: &impl Access, actor: &Actor) -> Result<Vec<Peer>> {
    actor.require_instance_admin()?;
    federation::peers(a)
}
