//! Peers of this instance in federation: nodes holding a certificate its CA signed (a DR
//! `replica` of a primary or a hub, a `county` of a hub), and the one-time pairing tokens that
//! admit them.

use serde::{Deserialize, Serialize};

use super::UserId;
use crate::clock::Millis;

/// Roles a peer certificate can name.
pub const ROLES: &[&str] = &["replica", "county"];

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Peer {
    /// The id its certificate names (`rongmei://<role>/<id>`): a UUID the peer generated.
    pub id: String,
    pub role: String,
    /// What the admin called it when pairing.
    pub name: String,
    /// A county's administrative region code (GB/T 2260, e.g. `330481`); empty otherwise.
    #[serde(default)]
    pub region: String,
    /// SHA-256 of its certificate: only this certificate is accepted for the peer.
    pub fingerprint: String,
    pub not_after: Millis,
    pub enrolled_at: Millis,
    /// The admin who created the pairing token.
    pub by: UserId,
    pub revoked: Option<Revocation>,
    /// The certificate it renewed from: still accepted until it expires, so connections made
    /// with it carry on while the peer switches to the new one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous: Option<PreviousCert>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PreviousCert {
    pub fingerprint: String,
    pub not_after: Millis,
}

impl Peer {
    /// Is a certificate with this fingerprint this peer's, at `now` (its current one, or the
    /// one it renewed from while that is still valid), and the peer not revoked?
    pub fn accepts(&self, fingerprint: &str, now: Millis) -> bool {
        self.revoked.is_none()
            && (self.fingerprint == fingerprint
                || self
                    .previous
                    .as_ref()
                    .is_some_and(|p| p.fingerprint == fingerprint && now < p.not_after))
    }
}

/// How long before its certificate expires a peer renews it.
pub const RENEW_BEFORE_DAYS: i64 = 30;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Revocation {
    pub at: Millis,
    pub by: UserId,
    pub reason: String,
}

/// A pairing token not used yet (local: only its hash is stored).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Pairing {
    pub role: String,
    pub name: String,
    #[serde(default)]
    pub region: String,
    pub expires_at: Millis,
    pub by: UserId,
}
