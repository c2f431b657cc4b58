//! `rongmei check`: verify the log (dense, hash chain, epochs, head) and prove invariant 6 by
//! replaying every entry into an in-memory database and comparing each replicated table with the
//! real one byte for byte.

use redb::{Key, ReadableDatabase, ReadableTable, ReadableTableMetadata, TableDefinition, Value};

use super::entry::{chain, decode_stored, genesis, split_stored};
use crate::domain::fact::Fact;
use crate::error::{Error, Result};
use crate::store::tables::*;
use crate::store::{access, apply};

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

const REPLAY_BATCH: u64 = 2_000;
pub fn check(db: &redb::Database, progress: &dyn Fn(u64, u64)) -> Result<Report> {
    let mut report = Report::default();
    let txn = db.begin_read()?;
    let Some(meta) = access::instance(&txn)? else {
        return Err(Error::LogIntegrity(
            "no instance: the data dir was never initialized".into(),
        ));
    };
    let head = access::log_head(&txn)?;
    let log = txn.open_table(LOG)?;
    let total = log.len()?;
    let mem = crate::store::open_in_memory()?;
    let w = mem.begin_write()?;
    apply::ensure_tables(&w)?;
    w.commit()?;
    let mut prev = genesis(&meta.instance_id);
    let mut expected_lsn = 1u64;
    let mut last_epoch = 0u64;
    let mut rows = log.iter()?;
    let mut more = true;
    while more {
        let w = mem.begin_write()?;
        {
            let tx = crate::store::Tx::new(&w);
            for _ in 0..REPLAY_BATCH {
                let Some(row) = rows.next() else {
                    more = false;
                    break;
                };
                let (k, v) = row?;
                let lsn = k.value();
                let problem = verify_entry(
                    lsn,
                    expected_lsn,
                    v.value(),
                    &mut prev,
                    &mut last_epoch,
                    &meta.instance_id.0,
                );
                match problem {
                    Ok(e) => {
                        // Article tables point into the log: the copy needs the entry too.
                        tx.log(|t| {
                            t.insert(lsn, v.value())?;
                            Ok(())
                        })?;
                        apply::entry(&tx, e.at, e.actor, &e.fact, || Ok(lsn))?;
                    }
                    Err(p) => {
                        report.problems.push(p);
                        more = false; // everything after a broken link is unverifiable
                        break;
                    }
                }
                expected_lsn = lsn + 1;
                report.entries += 1;
            }
        }
        w.commit()?;
        progress(report.entries, total);
    }
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
