//! Use cases: the only code that opens write transactions and appends to the log. Each use case is
//! a function over `&mut Writer` that checks permissions, validates, and emits facts; callers run
//! it through the group `Committer`. Read-side queries with the same permission rules live beside
//! them. Must not know about HTTP.

pub mod actor;
pub mod articles;
pub mod assets;
pub mod audit;
pub mod bootstrap;
pub mod chains;
pub mod comments;
pub mod commit;
pub mod import;
pub mod locks;
pub mod notices;
pub mod outlets;
pub mod planning;
pub mod queue;
pub mod review;
pub mod sessions;
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
}

impl Core {
    pub fn reader(&self) -> Result<Reader> {
        Reader::begin(&self.db)
    }
}
