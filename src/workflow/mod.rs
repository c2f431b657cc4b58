//! Use cases: the only code that opens write transactions and appends to the log. Each use case is
//! a function over `&mut Writer` that checks permissions, validates, and emits facts; callers run
//! it through the group `Committer`. Read-side queries with the same permission rules live beside
//! them. Must not know about HTTP.

pub mod actor;
pub mod articles;
pub mod assets;
pub mod attachments;
pub mod audit;
pub mod bootstrap;
pub mod chains;
pub mod comments;
pub mod commit;
pub mod federation;
pub mod hub;
pub mod import;
pub mod instructions;
pub mod lexicons;
pub mod locks;
pub mod messages;
pub mod names;
pub mod notices;
pub mod outlets;
pub mod planning;
pub mod pool_media;
pub mod provincial;
pub mod queue;
pub mod review;
pub mod screening;
pub mod sessions;
pub mod shared;
pub mod throttle;
pub mod tokens;
pub mod topics;
pub mod users;
pub mod writer;

use std::sync::Arc;

pub use actor::Actor;
pub use commit::Committer;
pub use writer::Writer;

use crate::clock::SharedClock;
use crate::config::Config;
use crate::error::Result;
use crate::media::BlobStore;
use crate::store::Reader;

/// Everything a use case needs at run time, built once by `app`.
#[derive(Clone)]
pub struct Core {
    pub db: Arc<redb::Database>,
    pub committer: Committer,
    pub clock: SharedClock,
    pub blobs: BlobStore,
    pub throttle: Arc<throttle::LoginThrottle>,
    pub config: Arc<Config>,
    /// Bounds concurrent argon2 hashes (each takes ~20 ms of one core).
    pub hashing: Arc<tokio::sync::Semaphore>,
    /// Who is editing which article (in memory; see `locks`).
    pub locks: Arc<locks::Locks>,
    /// At a hub: when each county last made a request (in memory; see `hub::Contacts`).
    pub contacts: Arc<hub::Contacts>,
}

/// This instance is a `county` or a `hub` (`wrong_role` otherwise).
/// A replica reads as what its primary is (a county's replica shows the county's inbox, a
/// hub's replica the hub's pages); its writes are refused before any use case runs.
pub(crate) fn require_role(a: &impl crate::store::access::Access, role: &str) -> Result<()> {
    match crate::store::access::instance(a)? {
        Some(m) if m.role == role => Ok(()),
        Some(m) if m.role == "replica" && bootstrap::origin_role_in(a)? == role => Ok(()),
        _ => Err(crate::error::Error::WrongRole(role.into())),
    }
}

/// A hub, and its instance administrator.
pub(crate) fn hub_admin(a: &impl crate::store::access::Access, actor: &Actor) -> Result<()> {
    actor.require_instance_admin()?;
    require_role(a, "hub")
}

/// Optimistic concurrency: the revision (or version) the caller saw must still be the current
/// one, else `409 revision_conflict` naming both.
pub(crate) fn same_revision(seen: u32, current: u32) -> Result<()> {
    if seen == current {
        Ok(())
    } else {
        Err(crate::error::Error::RevisionConflict {
            expected: seen,
            current,
        })
    }
}

/// Longest comment or reason a step records.
pub(crate) const MAX_COMMENT: usize = 2_000;

/// A step's comment or reason: trimmed, at most `MAX_COMMENT` characters, present if required.
pub(crate) fn comment(s: &str, required: bool) -> Result<String> {
    use crate::error::Error;
    let t = s.trim();
    if required && t.is_empty() {
        return Err(Error::invalid("comment", "say why"));
    }
    if t.chars().count() > MAX_COMMENT {
        return Err(Error::invalid(
            "comment",
            format!("must be at most {MAX_COMMENT} characters"),
        ));
    }
    Ok(t.to_string())
}

impl Core {
    pub fn reader(&self) -> Result<Reader> {
        Reader::begin(&self.db)
    }
}
