//! Reading the log from a position, and waiting for new entries without polling.

use redb::ReadableDatabase;
use tokio::sync::watch;

use super::entry::{Entry, decode_stored};
use crate::domain::Lsn;
use crate::error::Result;
use crate::store::logtable;
use crate::store::tables::LOG;

/// Entries with `from <= lsn`, at most `limit` of them.
pub fn read_range(db: &redb::Database, from: Lsn, limit: usize) -> Result<Vec<Entry>> {
    let txn = db.begin_read()?;
    let mut out = Vec::new();
    if limit == 0 {
        return Ok(out);
    }
    logtable::visit_in(&txn, from.0, |_, stored| {
        out.push(decode_stored(stored)?);
        Ok(out.len() < limit)
    })?;
    Ok(out)
}

/// Stored entries (`hash ‖ entry`, see `log`) from `from`, up to `limit` of them or about
/// `max_bytes`.
pub fn read_raw(
    db: &redb::Database,
    from: Lsn,
    limit: usize,
    max_bytes: usize,
) -> Result<Vec<Vec<u8>>> {
    let txn = db.begin_read()?;
    let (mut out, mut bytes) = (Vec::new(), 0usize);
    if limit == 0 {
        return Ok(out);
    }
    logtable::visit_in(&txn, from.0, |_, stored| {
        bytes += stored.len();
        out.push(stored.to_vec());
        Ok(out.len() < limit && bytes < max_bytes)
    })?;
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
    logtable::get_in(&db.begin_read()?, lsn.0)
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
    let log = txn.open_table(LOG)?;
    let blocks = logtable::blocks_in(txn)?;
    let mut out = Vec::with_capacity(lsns.len());
    for &lsn in lsns {
        if let Some(v) = logtable::get(&log, blocks.as_ref(), lsn)? {
            out.push(decode_stored(&v)?);
        }
    }
    Ok(out)
}
