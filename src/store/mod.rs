//! redb: the one database file, its tables (`tables`), value encoding (`codec`), typed reads that
//! work inside read and write transactions (`access`), and the projection of domain facts onto
//! tables (`apply`, with the review queues in `queue`). Owns no business rules and never appends to the log (that is `log`).

pub mod access;
pub mod apply;
pub mod codec;
pub mod federation;
pub mod logtable;
pub mod notify;
pub mod planning;
pub mod queue;
pub mod reader;
pub mod snapshot;
pub mod tables;
pub mod tx;
pub mod upgrade;

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::clock::Millis;
use crate::domain::{Epoch, InstanceId, Lsn};
use crate::error::{Error, Result};

pub use access::{Access, Reader};
pub use tx::Tx;

/// File name of the database inside the data dir.
pub const DB_FILE: &str = "rongmei.redb";

/// Identity of this installation (META `instance`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InstanceMeta {
    pub instance_id: InstanceId,
    pub epoch: Epoch,
    pub role: String,
    pub created_at: Millis,
}

/// Newest log position (META `log_head`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LogHead {
    pub epoch: Epoch,
    pub lsn: Lsn,
    /// Hex of the chained hash of entry `lsn`.
    pub hash: String,
}

/// Open (or create) the database with quick-repair commits; a crash-interrupted file is repaired
/// on open, and one written by an older binary is upgraded (`upgrade`).
pub fn open(path: &Path) -> Result<redb::Database> {
    let mut b = redb::Builder::new();
    b.set_repair_callback(|s| {
        tracing::warn!(
            progress = s.progress(),
            "repairing database after an unclean shutdown"
        );
    });
    let db = b.create(path).map_err(store_err)?;
    upgrade::run(&db)?;
    Ok(db)
}

/// An empty in-memory database (used by `check` to rebuild tables from the log).
pub fn open_in_memory() -> Result<redb::Database> {
    redb::Builder::new()
        .create_with_backend(redb::backends::InMemoryBackend::new())
        .map_err(store_err)
}

pub fn store_err(e: impl std::fmt::Display) -> Error {
    Error::Store(e.to_string())
}

macro_rules! from_redb {
    ($($t:ty),*) => {$(
        impl From<$t> for Error {
            fn from(e: $t) -> Self {
                Error::Store(e.to_string())
            }
        }
    )*};
}
from_redb!(
    redb::Error,
    redb::StorageError,
    redb::TableError,
    redb::TransactionError,
    redb::CommitError,
    redb::DatabaseError,
    redb::SetDurabilityError
);
