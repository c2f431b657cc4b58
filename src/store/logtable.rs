//! How the log's entries (`hash ‖ entry`, see `log`) are kept in redb: each is a row of LOG
//! (key = its lsn) or one of a run of consecutive entries packed into one row of LOG_BLOCKS
//! (key = the run's first lsn; value = `u32 BE length ‖ stored entry` for each).
//!
//! Why runs: an entry with an article is about 2–3 KB, so a redb leaf page (4 KB) held one
//! entry and its spare room, and every entry cost a page allocation and a branch rebuild. A
//! replica applying thousands of entries per transaction spent two thirds of its writer on
//! that (catch-up at 40–45k entries/s on the reference VM). Entries written in one transaction
//! are now packed into rows of up to `BLOCK_BYTES`, which fill their pages; a transaction that
//! appends one entry (the usual case on a primary) still writes one LOG row.
//!
//! The split is physical only: readers see one sequence of entries by lsn, and the content
//! stream (`snapshot`) carries the entries one by one, so two stores holding the same log in
//! different rows have the same digest.

use redb::{ReadableTable, TableError};

use crate::error::{Error, Result};

/// The most a LOG_BLOCKS value holds: a run and redb's leaf header fit in 32 KiB of pages.
pub const BLOCK_BYTES: usize = 32 * 1024 - 64;

const LEN: usize = 4;

fn corrupt(first: u64, why: &str) -> Error {
    Error::LogIntegrity(format!("log block at lsn {first}: {why}"))
}

/// One LOG_BLOCKS row.
#[derive(Clone, Copy)]
struct Block<'a> {
    first: u64,
    bytes: &'a [u8],
}

impl<'a> Block<'a> {
    fn new(first: u64, bytes: &'a [u8]) -> Self {
        Self { first, bytes }
    }

    /// Its entries in order, each with its lsn; a malformed row is an error, not a short run.
    fn entries(self) -> impl Iterator<Item = Result<(u64, &'a [u8])>> {
        let (first, bytes) = (self.first, self.bytes);
        let (mut at, mut lsn) = (0usize, first);
        std::iter::from_fn(move || {
            if at == bytes.len() {
                return None;
            }
            let Some(len) = bytes.get(at..at + LEN) else {
                at = bytes.len();
                return Some(Err(corrupt(first, "truncated length")));
            };
            let len = u32::from_be_bytes([len[0], len[1], len[2], len[3]]) as usize;
            let Some(stored) = bytes.get(at + LEN..at + LEN + len) else {
                at = bytes.len();
                return Some(Err(corrupt(first, "truncated entry")));
            };
            at += LEN + len;
            lsn += 1;
            Some(Ok((lsn - 1, stored)))
        })
    }

    /// The entry `lsn`, if this run holds it.
    fn get(self, lsn: u64) -> Result<Option<&'a [u8]>> {
        if lsn < self.first {
            return Ok(None);
        }
        for e in self.entries() {
            let (at, stored) = e?;
            if at == lsn {
                return Ok(Some(stored));
            }
        }
        Ok(None)
    }
}

/// A run of consecutive entries as a row holds it.
#[derive(Debug, Default)]
pub struct Run {
    first: u64,
    count: u64,
    /// `u32 BE length ‖ stored entry` for each entry.
    bytes: Vec<u8>,
    /// Where each entry's length starts in `bytes`.
    starts: Vec<usize>,
}

impl Run {
    /// The row this run becomes: LOG (key, the entry) when it is one entry, else LOG_BLOCKS
    /// (key, the packed run).
    pub fn row(&self) -> (bool, u64, &[u8]) {
        if self.count == 1 {
            (false, self.first, &self.bytes[LEN..])
        } else {
            (true, self.first, &self.bytes)
        }
    }

    fn get(&self, lsn: u64) -> Option<&[u8]> {
        let i = usize::try_from(lsn.checked_sub(self.first)?).ok()?;
        let start = *self.starts.get(i)?;
        let end = self.starts.get(i + 1).copied().unwrap_or(self.bytes.len());
        self.bytes.get(start + LEN..end)
    }
}

/// Entries appended in a write transaction and not yet written to a row (`Tx` keeps one).
#[derive(Debug, Default)]
pub struct Pending {
    run: Run,
}

impl Pending {
    /// Add the entry `lsn`; it must follow the last one added. Returns the run to write first
    /// when this entry would take it past `BLOCK_BYTES`.
    pub fn push(&mut self, lsn: u64, stored: &[u8]) -> Result<Option<Run>> {
        let r = &mut self.run;
        if r.count > 0 && lsn != r.first + r.count {
            return Err(Error::LogIntegrity(format!(
                "entry {lsn} appended after {}",
                r.first + r.count - 1
            )));
        }
        let len = u32::try_from(stored.len())
            .map_err(|_| Error::LogIntegrity(format!("entry {lsn} is over 4 GiB")))?;
        let full = (r.count > 0 && r.bytes.len() + LEN + stored.len() > BLOCK_BYTES)
            .then(|| std::mem::take(r));
        if r.count == 0 {
            r.first = lsn;
        } else if r.count == 1 {
            // A second entry makes the run a block: room for a row's worth, allocated once
            // rather than doubled into place (a lone entry, a primary's usual, allocates none).
            r.bytes.reserve(BLOCK_BYTES.saturating_sub(r.bytes.len()));
        }
        r.starts.push(r.bytes.len());
        r.bytes.extend_from_slice(&len.to_be_bytes());
        r.bytes.extend_from_slice(stored);
        r.count += 1;
        Ok(full)
    }

    /// The entries not yet written, as one run (`None` if there are none).
    pub fn take(&mut self) -> Option<Run> {
        (self.run.count > 0).then(|| std::mem::take(&mut self.run))
    }

    /// The entry `lsn` if it is still here.
    pub fn get(&self, lsn: u64) -> Option<&[u8]> {
        self.run.get(lsn)
    }
}

/// The stored entry `lsn` from the two tables (`blocks` is `None` in a store older than
/// LOG_BLOCKS, opened read-only).
pub fn get(
    log: &impl ReadableTable<u64, &'static [u8]>,
    blocks: Option<&impl ReadableTable<u64, &'static [u8]>>,
    lsn: u64,
) -> Result<Option<Vec<u8>>> {
    if let Some(v) = log.get(lsn)? {
        return Ok(Some(v.value().to_vec()));
    }
    let Some(blocks) = blocks else {
        return Ok(None);
    };
    let Some(row) = blocks.range(..=lsn)?.next_back() else {
        return Ok(None);
    };
    let (k, v) = row?;
    Ok(Block::new(k.value(), v.value())
        .get(lsn)?
        .map(<[u8]>::to_vec))
}

type Row<'a> = (u64, redb::AccessGuard<'a, &'static [u8]>);

fn next_row<'a>(it: &mut redb::Range<'a, u64, &'static [u8]>) -> Result<Option<Row<'a>>> {
    Ok(it.next().transpose()?.map(|(k, v)| (k.value(), v)))
}

/// Call `f(lsn, stored entry)` for each entry from `from` on, in lsn order, until it returns
/// `false`.
pub fn visit(
    log: &impl ReadableTable<u64, &'static [u8]>,
    blocks: Option<&impl ReadableTable<u64, &'static [u8]>>,
    from: u64,
    mut f: impl FnMut(u64, &[u8]) -> Result<bool>,
) -> Result<()> {
    let from = from.max(1);
    let mut singles = log.range(from..)?;
    let mut runs = match blocks {
        Some(b) => {
            // The run holding `from` starts before it.
            let start = match b.range(..=from)?.next_back() {
                Some(row) => row?.0.value(),
                None => from,
            };
            Some(b.range(start..)?)
        }
        None => None,
    };
    let mut single = next_row(&mut singles)?;
    let mut run = match runs.as_mut() {
        Some(it) => next_row(it)?,
        None => None,
    };
    loop {
        let single_first = match (&single, &run) {
            (None, None) => return Ok(()),
            (Some(s), Some(r)) => s.0 < r.0,
            (Some(_), None) => true,
            (None, Some(_)) => false,
        };
        if single_first {
            if let Some((lsn, v)) = single.take()
                && !f(lsn, v.value())?
            {
                return Ok(());
            }
            single = next_row(&mut singles)?;
        } else {
            if let Some((first, v)) = run.take() {
                for e in Block::new(first, v.value()).entries() {
                    let (lsn, stored) = e?;
                    if lsn >= from && !f(lsn, stored)? {
                        return Ok(());
                    }
                }
            }
            run = match runs.as_mut() {
                Some(it) => next_row(it)?,
                None => None,
            };
        }
    }
}

/// LOG_BLOCKS in a read snapshot, or `None` when the store predates it.
pub fn blocks_in(
    txn: &redb::ReadTransaction,
) -> Result<Option<redb::ReadOnlyTable<u64, &'static [u8]>>> {
    match txn.open_table(crate::store::tables::LOG_BLOCKS) {
        Ok(t) => Ok(Some(t)),
        Err(TableError::TableDoesNotExist(_)) => Ok(None),
        Err(e) => Err(e.into()),
    }
}

/// The stored entry `lsn` in a read snapshot.
pub fn get_in(txn: &redb::ReadTransaction, lsn: u64) -> Result<Option<Vec<u8>>> {
    let log = txn.open_table(crate::store::tables::LOG)?;
    get(&log, blocks_in(txn)?.as_ref(), lsn)
}

/// `visit` over a read snapshot.
pub fn visit_in(
    txn: &redb::ReadTransaction,
    from: u64,
    f: impl FnMut(u64, &[u8]) -> Result<bool>,
) -> Result<()> {
    let log = txn.open_table(crate::store::tables::LOG)?;
    visit(&log, blocks_in(txn)?.as_ref(), from, f)
}

#[cfg(test)]
mod tests {
    use redb::{ReadableDatabase, ReadableTableMetadata};

    use super::*;
    use crate::store::Tx;
    use crate::store::tables::{LOG, LOG_BLOCKS};

    /// A stand-in for a stored entry: its lsn, then filler up to `len` bytes.
    fn stored(lsn: u64, len: usize) -> Vec<u8> {
        let mut v = lsn.to_be_bytes().to_vec();
        v.resize(len.max(8), (lsn % 251) as u8);
        v
    }

    /// Append `lsns` with entries of `len` bytes in one transaction.
    fn append(db: &redb::Database, lsns: std::ops::RangeInclusive<u64>, len: usize) {
        let first = *lsns.start();
        let w = db.begin_write().unwrap();
        {
            let tx = Tx::new(&w);
            for lsn in lsns {
                tx.append_log(lsn, &stored(lsn, len)).unwrap();
                // Read your own writes, pending or already packed into a row.
                assert_eq!(tx.log_get(lsn).unwrap(), Some(stored(lsn, len)));
                assert_eq!(tx.log_get(first).unwrap(), Some(stored(first, len)));
            }
            tx.finish_log().unwrap();
        }
        w.commit().unwrap();
    }

    fn new_db() -> redb::Database {
        let db = crate::store::open_in_memory().unwrap();
        let w = db.begin_write().unwrap();
        crate::store::apply::ensure_tables(&w).unwrap();
        w.commit().unwrap();
        db
    }

    fn rows(db: &redb::Database) -> (u64, u64) {
        let r = db.begin_read().unwrap();
        let log = r.open_table(LOG).unwrap().len().unwrap();
        let blocks = r.open_table(LOG_BLOCKS).unwrap().len().unwrap();
        (log, blocks)
    }

    fn all_from(db: &redb::Database, from: u64) -> Vec<(u64, Vec<u8>)> {
        let r = db.begin_read().unwrap();
        let mut out = Vec::new();
        visit_in(&r, from, |lsn, s| {
            out.push((lsn, s.to_vec()));
            Ok(true)
        })
        .unwrap();
        out
    }

    #[test]
    fn one_entry_per_transaction_is_a_log_row_and_more_are_packed_runs() {
        let db = new_db();
        append(&db, 1..=1, 2300);
        assert_eq!(rows(&db), (1, 0), "a lone entry stays a LOG row");
        // 100 entries of 2.3 KB: runs of 14 (14 × 2304 < BLOCK_BYTES < 15 × 2304).
        append(&db, 2..=101, 2300);
        let per_run = BLOCK_BYTES / (2300 + LEN);
        let runs = 100u64.div_ceil(per_run as u64);
        let lone_tail = 100 % per_run == 1;
        assert_eq!(
            rows(&db),
            (1 + u64::from(lone_tail), runs - u64::from(lone_tail))
        );
        append(&db, 102..=102, 2300);
        // One sequence by lsn, from anywhere: before, inside and at the end of a run.
        for from in [0, 1, 2, 3, 17, 50, 101, 102, 103] {
            let got = all_from(&db, from);
            let want: Vec<_> = (from.max(1)..=102).map(|l| (l, stored(l, 2300))).collect();
            assert_eq!(got, want, "from {from}");
        }
        let r = db.begin_read().unwrap();
        for lsn in [1, 2, 15, 16, 101, 102] {
            assert_eq!(get_in(&r, lsn).unwrap(), Some(stored(lsn, 2300)), "{lsn}");
        }
        assert_eq!(get_in(&r, 0).unwrap(), None);
        assert_eq!(get_in(&r, 103).unwrap(), None);
        // A visit stops when told to.
        let mut seen = Vec::new();
        visit_in(&r, 10, |lsn, _| {
            seen.push(lsn);
            Ok(seen.len() < 3)
        })
        .unwrap();
        assert_eq!(seen, [10, 11, 12]);
    }

    #[test]
    fn an_entry_over_the_block_size_is_a_row_of_its_own() {
        let db = new_db();
        let w = db.begin_write().unwrap();
        {
            let tx = Tx::new(&w);
            tx.append_log(1, &stored(1, 100)).unwrap();
            tx.append_log(2, &stored(2, BLOCK_BYTES * 2)).unwrap();
            tx.append_log(3, &stored(3, 100)).unwrap();
            tx.finish_log().unwrap();
        }
        w.commit().unwrap();
        assert_eq!(rows(&db), (3, 0));
        assert_eq!(all_from(&db, 2)[0].1.len(), BLOCK_BYTES * 2);
    }

    #[test]
    fn appending_out_of_order_is_refused() {
        let mut p = Pending::default();
        assert!(p.push(5, b"a").unwrap().is_none());
        for lsn in [5, 7, 4] {
            let e = p.push(lsn, b"b").unwrap_err();
            assert!(matches!(e, Error::LogIntegrity(_)), "{e:?}");
        }
        assert!(p.push(6, b"b").unwrap().is_none());
        assert_eq!(p.get(6), Some(&b"b"[..]));
        assert_eq!(p.get(7), None);
        let run = p.take().unwrap();
        assert_eq!((run.first, run.count), (5, 2));
        assert!(p.take().is_none());
    }

    #[test]
    fn a_malformed_run_is_an_error_not_a_short_log() {
        let db = new_db();
        append(&db, 1..=4, 100);
        let w = db.begin_write().unwrap();
        {
            let mut t = w.open_table(LOG_BLOCKS).unwrap();
            let v = t.get(1).unwrap().unwrap().value().to_vec();
            t.insert(1, &v[..v.len() - 10]).unwrap();
        }
        w.commit().unwrap();
        let r = db.begin_read().unwrap();
        let e = visit_in(&r, 1, |_, _| Ok(true)).unwrap_err();
        assert!(e.to_string().contains("truncated entry"), "{e}");
        assert!(get_in(&r, 4).is_err());
        // Entries before the damage still read.
        assert_eq!(get_in(&r, 3).unwrap(), Some(stored(3, 100)));
    }
}
