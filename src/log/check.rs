//! `rongmei check`: verify the log (dense, hash chain, epochs, head) and prove invariant 6 by
//! replaying every entry into an in-memory database and comparing each replicated table with the
//! real one byte for byte.

use redb::{Key, ReadableDatabase, ReadableTable, TableDefinition, Value};

use super::entry::{chain, decode_stored, genesis, split_stored};
use crate::domain::fact::Fact;
use crate::error::{Error, Result};
use crate::store::tables::*;
use crate::store::{access, apply, logtable};

#[derive(Debug, Default)]
pub struct Report {
    pub entries: u64,
    pub tables_compared: usize,
    pub rows_compared: u64,
    pub problems: Vec<String>,
}

impl Report {
    pub fn ok(&self) -> bool {
        self.problems.is_empty()
    }
}

const REPLAY_BATCH: usize = 2_000;
pub fn check(db: &redb::Database, progress: &dyn Fn(u64, u64)) -> Result<Report> {
    let mut report = Report::default();
    let txn = db.begin_read()?;
    let Some(meta) = access::instance(&txn)? else {
        return Err(Error::LogIntegrity(
            "no instance: the data dir was never initialized".into(),
        ));
    };
    let head = access::log_head(&txn)?;
    let total = head.as_ref().map_or(0, |h| h.lsn.0);
    let mem = crate::store::open_in_memory()?;
    let w = mem.begin_write()?;
    apply::ensure_tables(&w)?;
    w.commit()?;
    let mut replay = Replay {
        mem: &mem,
        prev: genesis(&meta.instance_id),
        expected_lsn: 1,
        last_epoch: 0,
        instance: &meta.instance_id.0,
        batch: Vec::new(),
    };
    let read = logtable::visit_in(&txn, 1, |lsn, stored| {
        replay.batch.push((lsn, stored.to_vec()));
        if replay.batch.len() < REPLAY_BATCH {
            return Ok(true);
        }
        let more = replay.run(&mut report)?;
        progress(report.entries, total);
        Ok(more)
    });
    match read {
        Ok(()) => {}
        // A malformed row ends the verifiable part of the log like a broken link does.
        Err(Error::LogIntegrity(p)) => report.problems.push(p),
        Err(e) => return Err(e),
    }
    if report.ok() {
        replay.run(&mut report)?;
        progress(report.entries, total);
    }
    let (prev, expected_lsn) = (replay.prev, replay.expected_lsn);
    let last = expected_lsn - 1;
    match &head {
        Some(h) if h.lsn.0 != last || h.hash != hex::encode(prev) => {
            report.problems.push(format!(
                "log head says lsn {} but the log ends at {last}",
                h.lsn.0
            ));
        }
        None if last != 0 => report.problems.push("log has entries but no head".into()),
        _ => {}
    }
    if report.ok() {
        compare_all(&txn, &mem.begin_read()?, &mut report)?;
    }
    Ok(report)
}

/// Entries read and not yet verified and replayed into the in-memory copy.
struct Replay<'a> {
    mem: &'a redb::Database,
    prev: [u8; 32],
    expected_lsn: u64,
    last_epoch: u64,
    instance: &'a str,
    batch: Vec<(u64, Vec<u8>)>,
}

impl Replay<'_> {
    /// Verify and replay the batch in one transaction; `false` after a problem (everything
    /// after a broken link is unverifiable).
    fn run(&mut self, report: &mut Report) -> Result<bool> {
        let w = self.mem.begin_write()?;
        let mut more = true;
        {
            let tx = crate::store::Tx::new(&w);
            for (lsn, stored) in std::mem::take(&mut self.batch) {
                let verified = verify_entry(
                    lsn,
                    self.expected_lsn,
                    &stored,
                    &mut self.prev,
                    &mut self.last_epoch,
                    self.instance,
                );
                match verified {
                    Ok(e) => {
                        // Article tables point into the log: the copy needs the entry too.
                        tx.append_log(lsn, &stored)?;
                        apply::entry(&tx, e.at, e.actor, &e.fact, || Ok(lsn))?;
                    }
                    Err(p) => {
                        report.problems.push(p);
                        more = false;
                        break;
                    }
                }
                self.expected_lsn = lsn + 1;
                report.entries += 1;
            }
            tx.finish_log()?;
        }
        w.commit()?;
        Ok(more)
    }
}

fn verify_entry(
    lsn: u64,
    expected: u64,
    stored: &[u8],
    prev: &mut [u8; 32],
    last_epoch: &mut u64,
    instance: &str,
) -> std::result::Result<super::entry::Entry, String> {
    if lsn != expected {
        return Err(format!(
            "gap in the log: expected lsn {expected}, found {lsn}"
        ));
    }
    let (hash, bytes) = split_stored(stored).map_err(|e| format!("lsn {lsn}: {e}"))?;
    if chain(prev, bytes) != hash {
        return Err(format!("hash chain broken at lsn {lsn}"));
    }
    let e = decode_stored(stored).map_err(|e| format!("lsn {lsn}: {e}"))?;
    if e.lsn.0 != lsn {
        return Err(format!("entry at key {lsn} says lsn {}", e.lsn.0));
    }
    if e.epoch.0 < *last_epoch {
        return Err(format!("epoch went back at lsn {lsn}"));
    }
    if let Fact::InstanceCreated { instance_id, .. } = &e.fact
        && instance_id.0 != instance
    {
        return Err(format!("lsn {lsn} belongs to instance {}", instance_id.0));
    }
    *prev = hash;
    *last_epoch = e.epoch.0;
    Ok(e)
}

fn compare_all(
    real: &redb::ReadTransaction,
    rebuilt: &redb::ReadTransaction,
    r: &mut Report,
) -> Result<()> {
    struct Compare<'a> {
        real: &'a redb::ReadTransaction,
        rebuilt: &'a redb::ReadTransaction,
        report: &'a mut Report,
    }
    impl Visit for Compare<'_> {
        fn table<K: Key + 'static, V: Value + 'static>(
            &mut self,
            t: TableDefinition<'static, K, V>,
        ) -> Result<()> {
            compare(self.real, self.rebuilt, t, self.report)
        }
    }
    crate::store::tables::replicated(&mut Compare {
        real,
        rebuilt,
        report: r,
    })
}

fn compare<K: Key + 'static, V: Value + 'static>(
    real: &redb::ReadTransaction,
    rebuilt: &redb::ReadTransaction,
    t: TableDefinition<K, V>,
    r: &mut Report,
) -> Result<()> {
    let name = t.to_string();
    let a = real.open_table(t)?;
    let b = rebuilt.open_table(t)?;
    let (mut ia, mut ib) = (a.iter()?, b.iter()?);
    r.tables_compared += 1;
    loop {
        let (x, y) = (ia.next().transpose()?, ib.next().transpose()?);
        let (x, y) = match (x, y) {
            (None, None) => return Ok(()),
            (Some(_), None) => {
                r.problems
                    .push(format!("table {name}: rows that no log entry produced"));
                return Ok(());
            }
            (None, Some(_)) => {
                r.problems
                    .push(format!("table {name}: rows the log produces are missing"));
                return Ok(());
            }
            (Some(x), Some(y)) => (x, y),
        };
        r.rows_compared += 1;
        let same_key = K::as_bytes(&x.0.value()).as_ref() == K::as_bytes(&y.0.value()).as_ref();
        let same_val = V::as_bytes(&x.1.value()).as_ref() == V::as_bytes(&y.1.value()).as_ref();
        if !(same_key && same_val) {
            r.problems.push(format!(
                "table {name}: row {} differs from the log's",
                r.rows_compared
            ));
            return Ok(()); // the first difference per table is enough to locate it
        }
    }
}
