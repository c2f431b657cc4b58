//! Reading the log from a position, and waiting for new entries without polling.

use redb::ReadableDatabase;
use tokio::sync::watch;

use super::entry::{Entry, decode_stored};
use crate::domain::Lsn;
use crate::error::Result;
use crate::store::tables::LOG;

/// Entries with `from <= lsn`, at most `limit` of them.
pub fn read_range(db: &redb::Database, from: Lsn, limit: usize) -> Result<Vec<Entry>> {
    let txn = db.begin_read()?;
    let table = txn.open_table(LOG)?;
    let mut out = Vec::new();
    for row in table.range(from.0.max(1)..)?.take(limit) {
        out.push(decode_stored(row?.1.value())?);
    }
    Ok(out)
}

/// Stored entries (`hash ‖ entry`, as in the LOG table) from `from`, up to `limit` of them or
/// about `max_bytes`.
pub fn read_raw(
    db: &redb::Database,
    from: Lsn,
    limit: usize,
    max_bytes: usize,
) -> Result<Vec<Vec<u8>>> {
    let txn = db.begin_read()?;
    let table = txn.open_table(LOG)?;
    let (mut out, mut bytes) = (Vec::new(), 0usize);
    for row in table.range(from.0.max(1)..)?.take(limit) {
        let v = row?.1.value().to_vec();
        bytes += v.len();
        out.push(v);
        if bytes >= max_bytes {
            break;
        }
    }
    Ok(out)
}

/// The durable head (epoch, lsn) as META records it ((0, 0) for an empty log).
pub fn head(db: &redb::Database) -> Result<(crate::domain::Epoch, Lsn)> {
    let txn = db.begin_read()?;
    Ok(crate::store::access::log_head(&txn)?
        .map_or((crate::domain::Epoch(0), Lsn(0)), |h| (h.epoch, h.lsn)))
}

/// The stored entry at `lsn`, if there is one.
pub fn raw_at(db: &redb::Database, lsn: Lsn) -> Result<Option<Vec<u8>>> {
    let txn = db.begin_read()?;
    let table = txn.open_table(LOG)?;
    Ok(table.get(lsn.0)?.map(|v| v.value().to_vec()))
}

/// Receives the newest durable lsn after every commit.
#[derive(Clone)]
pub struct LogWatch(pub watch::Receiver<Lsn>);

impl LogWatch {
    pub fn current(&self) -> Lsn {
        *self.0.borrow()
    }

    /// Wait until the durable head is past `cursor`; returns the new head, or `None` when the
    /// writer has shut down.
    pub async fn wait_past(&mut self, cursor: Lsn) -> Option<Lsn> {
        self.0.wait_for(|h| *h > cursor).await.ok().map(|h| *h)
    }
}

/// The entries at the given positions (missing ones are skipped), inside one snapshot.
pub fn entries_at(txn: &redb::ReadTransaction, lsns: &[u64]) -> Result<Vec<Entry>> {
    let table = txn.open_table(LOG)?;
    let mut out = Vec::with_capacity(lsns.len());
    for &lsn in lsns {
        if let Some(v) = table.get(lsn)? {
            out.push(decode_stored(v.value())?);
        }
    }
    Ok(out)
}
