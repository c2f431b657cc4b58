//! The content of a store as one canonical byte stream: the log and every replicated table, in
//! `tables::log_and_replicated` order, each row as raw redb bytes; the log as one LOG row per
//! entry, however `logtable` packs its entries. Backups carry this stream
//! (zstd-compressed) and restore loads it back; its SHA-256 is the store's *content digest*, so
//! two stores with the same digest hold the same log and the same rows byte for byte (META and
//! the local tables — sessions, pairings — are not content).
//!
//! # Stream format
//!
//! For each table: `b'T' ‖ u16 BE name length ‖ name`, then per row `b'R' ‖ u32 BE key length ‖
//! key ‖ u32 BE value length ‖ value` in key order, then `b'E'`. Nothing follows the last table.

use std::io::{Read, Write};

use redb::{Key, ReadableTable, TableDefinition, TableHandle, Value};
use sha2::{Digest, Sha256};

use super::logtable;
use super::tables::{self, Visit};
use crate::error::{Error, Result};

/// Rows per write transaction while loading (the last commit is the durable one).
const LOAD_BATCH: usize = 20_000;
/// … or of this many bytes of keys and values, whichever comes first.
const LOAD_BYTES: usize = 32 << 20;

/// Counts of what a stream held.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Counts {
    pub tables: u64,
    pub rows: u64,
}

/// Write the content stream of the snapshot `txn` to `out`.
pub fn write(txn: &redb::ReadTransaction, out: &mut impl Write) -> Result<Counts> {
    struct Dump<'a, W> {
        txn: &'a redb::ReadTransaction,
        out: &'a mut W,
        counts: Counts,
    }
    impl<W: Write> Dump<'_, W> {
        fn row(&mut self, k: &[u8], v: &[u8]) -> Result<()> {
            let mut rec = Vec::with_capacity(9 + k.len() + v.len());
            rec.push(b'R');
            rec.extend_from_slice(&(k.len() as u32).to_be_bytes());
            rec.extend_from_slice(k);
            rec.extend_from_slice(&(v.len() as u32).to_be_bytes());
            rec.extend_from_slice(v);
            self.out.write_all(&rec).map_err(io)?;
            self.counts.rows += 1;
            Ok(())
        }
    }
    impl<W: Write> Visit for Dump<'_, W> {
        fn table<K: Key + 'static, V: Value + 'static>(
            &mut self,
            t: TableDefinition<'static, K, V>,
        ) -> Result<()> {
            let name = t.name().as_bytes();
            let mut head = vec![b'T'];
            head.extend_from_slice(&(name.len() as u16).to_be_bytes());
            head.extend_from_slice(name);
            self.out.write_all(&head).map_err(io)?;
            if t.name() == tables::LOG.name() {
                // The log's entries one by one, however its rows pack them (`logtable`).
                logtable::visit_in(self.txn, 1, |lsn, stored| {
                    self.row(&<u64 as Value>::as_bytes(&lsn), stored)?;
                    Ok(true)
                })?;
            } else {
                for row in self.txn.open_table(t)?.iter()? {
                    let (k, v) = row?;
                    let (k, v) = (k.value(), v.value());
                    self.row(K::as_bytes(&k).as_ref(), V::as_bytes(&v).as_ref())?;
                }
            }
            self.out.write_all(b"E").map_err(io)?;
            self.counts.tables += 1;
            Ok(())
        }
    }
    let mut d = Dump {
        txn,
        out,
        counts: Counts::default(),
    };
    tables::log_and_replicated(&mut d)?;
    Ok(d.counts)
}

/// Hex SHA-256 of the content stream of `txn`.
pub fn digest(txn: &redb::ReadTransaction) -> Result<String> {
    let mut h = HashWriter(Sha256::new());
    write(txn, &mut h)?;
    Ok(hex::encode(h.0.finalize()))
}

/// A `Write` that only hashes.
pub struct HashWriter(pub Sha256);

impl Write for HashWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.update(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn io(e: std::io::Error) -> Error {
    Error::Io(e.to_string())
}

fn bad(what: impl std::fmt::Display) -> Error {
    Error::BackupInvalid(format!("content: {what}"))
}

/// Does a stream table named `found` stand where this layout has `expected`? (Backups of
/// stores that kept article copies, before `store::upgrade`.)
fn legacy_in_place_of(expected: &str, found: &[u8]) -> bool {
    (expected == tables::ARTICLE_HEADS.name() && found == tables::LEGACY_ARTICLES.name().as_bytes())
        || (expected == tables::ARTICLE_REVISIONS.name()
            && found == tables::LEGACY_ARTICLE_VERSIONS.name().as_bytes())
}

/// Load a content stream into `db` (whose tables must be empty), committing in batches and
/// durably at the end. Every record is checked for shape before it is stored.
pub fn load(db: &redb::Database, input: &mut impl Read) -> Result<Counts> {
    struct Load<'a, R> {
        db: &'a redb::Database,
        input: &'a mut R,
        counts: Counts,
        legacy: bool,
    }
    impl<R: Read> Load<'_, R> {
        fn byte(&mut self) -> Result<u8> {
            let mut b = [0u8; 1];
            self.input
                .read_exact(&mut b)
                .map_err(|e| bad(format!("truncated ({e})")))?;
            Ok(b[0])
        }
        fn bytes(&mut self, n: usize) -> Result<Vec<u8>> {
            let mut b = Vec::new();
            self.input
                .by_ref()
                .take(n as u64)
                .read_to_end(&mut b)
                .map_err(io)?;
            if b.len() != n {
                return Err(bad("truncated"));
            }
            Ok(b)
        }
        fn len32(&mut self) -> Result<usize> {
            let b = self.bytes(4)?;
            let n = u32::from_be_bytes([b[0], b[1], b[2], b[3]]) as usize;
            if n > 256 << 20 {
                return Err(bad(format!("a field of {n} bytes")));
            }
            Ok(n)
        }
        /// The next row of `table` (key, value), or `None` at its end.
        fn row(&mut self, table: &str) -> Result<Option<(Vec<u8>, Vec<u8>)>> {
            match self.byte()? {
                b'E' => return Ok(None),
                b'R' => {}
                x => return Err(bad(format!("unknown record {x} in table {table}"))),
            }
            let kl = self.len32()?;
            let k = self.bytes(kl)?;
            let vl = self.len32()?;
            let v = self.bytes(vl)?;
            Ok(Some((k, v)))
        }
        /// Read the rows of a table without storing them.
        fn skip_rows(&mut self, table: &str) -> Result<()> {
            while self.row(table)?.is_some() {}
            Ok(())
        }
    }
    impl<R: Read> Visit for Load<'_, R> {
        fn table<K: Key + 'static, V: Value + 'static>(
            &mut self,
            t: TableDefinition<'static, K, V>,
        ) -> Result<()> {
            if self.byte()? != b'T' {
                return Err(bad(format!("expected table {}", t.name())));
            }
            let n = self.bytes(2)?;
            let name = self.bytes(u16::from_be_bytes([n[0], n[1]]) as usize)?;
            if legacy_in_place_of(t.name(), &name) {
                // A backup of an older layout: its article copies are not needed (the
                // pointer tables are rebuilt from the log once it is loaded).
                self.legacy = true;
                return self.skip_rows(t.name());
            }
            if name != t.name().as_bytes() {
                return Err(bad(format!(
                    "expected table {}, found {}",
                    t.name(),
                    String::from_utf8_lossy(&name)
                )));
            }
            let is_log = t.name() == tables::LOG.name();
            let (mut rows, mut bytes) = (Vec::new(), 0usize);
            loop {
                let row = self.row(t.name())?;
                let last = row.is_none();
                if let Some((k, v)) = row {
                    if K::fixed_width().is_some_and(|n| n != k.len())
                        || V::fixed_width().is_some_and(|n| n != v.len())
                    {
                        return Err(bad(format!("a row of the wrong width in {}", t.name())));
                    }
                    bytes += k.len() + v.len();
                    rows.push((k, v));
                }
                if rows.len() == LOAD_BATCH || bytes >= LOAD_BYTES || (last && !rows.is_empty()) {
                    let mut w = self.db.begin_write()?;
                    w.set_durability(redb::Durability::None)?;
                    if is_log {
                        // Entries go in as a writer appends them, packed into rows.
                        let tx = super::Tx::new(&w);
                        for (k, v) in &rows {
                            tx.append_log(<u64 as Value>::from_bytes(k), v)
                                .map_err(|e| bad(format!("log: {e}")))?;
                        }
                        tx.finish_log()?;
                    } else {
                        let mut table = w.open_table(t)?;
                        for (k, v) in &rows {
                            table.insert(K::from_bytes(k), V::from_bytes(v))?;
                        }
                    }
                    w.commit()?;
                    self.counts.rows += rows.len() as u64;
                    rows.clear();
                    bytes = 0;
                }
                if last {
                    break;
                }
            }
            self.counts.tables += 1;
            Ok(())
        }
    }
    let mut l = Load {
        db,
        input,
        counts: Counts::default(),
        legacy: false,
    };
    tables::log_and_replicated(&mut l)?;
    let mut extra = [0u8; 1];
    if l.input.read(&mut extra).map_err(io)? != 0 {
        return Err(bad("data after the last table"));
    }
    if l.legacy {
        let w = db.begin_write()?;
        super::upgrade::point_articles_into_log(&w)?;
        w.commit()?;
    }
    // One durable commit makes everything loaded above durable.
    let w = db.begin_write()?;
    w.commit()?;
    Ok(l.counts)
}

#[cfg(test)]
mod tests {
    use redb::ReadableDatabase;

    use super::*;
    use crate::store::Tx;

    fn new_db() -> redb::Database {
        let db = crate::store::open_in_memory().unwrap();
        let w = db.begin_write().unwrap();
        crate::store::apply::ensure_tables(&w).unwrap();
        w.commit().unwrap();
        db
    }

    fn entry(lsn: u64) -> Vec<u8> {
        let mut v = lsn.to_be_bytes().to_vec();
        v.resize(700 + (lsn as usize % 3000), lsn as u8);
        v
    }

    /// Append `lsns`, `per_txn` entries per transaction.
    fn append(db: &redb::Database, lsns: std::ops::RangeInclusive<u64>, per_txn: usize) {
        let lsns: Vec<u64> = lsns.collect();
        for part in lsns.chunks(per_txn) {
            let w = db.begin_write().unwrap();
            {
                let tx = Tx::new(&w);
                for &lsn in part {
                    tx.append_log(lsn, &entry(lsn)).unwrap();
                }
                tx.finish_log().unwrap();
            }
            w.commit().unwrap();
        }
    }

    #[test]
    fn the_digest_is_of_the_entries_not_of_how_rows_pack_them() {
        let (one_by_one, packed) = (new_db(), new_db());
        append(&one_by_one, 1..=300, 1);
        append(&packed, 1..=300, 300);
        let digest = |db: &redb::Database| super::digest(&db.begin_read().unwrap()).unwrap();
        assert_eq!(digest(&one_by_one), digest(&packed));
        // The stream carries one row per entry, and loads back to the same content.
        let mut stream = Vec::new();
        let counts = write(&packed.begin_read().unwrap(), &mut stream).unwrap();
        assert_eq!(counts.rows, 300);
        let loaded = new_db();
        load(&loaded, &mut stream.as_slice()).unwrap();
        assert_eq!(digest(&loaded), digest(&packed));
        let r = loaded.begin_read().unwrap();
        assert_eq!(
            crate::store::logtable::get_in(&r, 123).unwrap(),
            Some(entry(123))
        );
        // Packed another way, the same entries have the same digest; one more changes it.
        let other = new_db();
        append(&other, 1..=299, 300);
        append(&other, 300..=300, 1);
        assert_eq!(digest(&other), digest(&packed));
        let w = other.begin_write().unwrap();
        {
            let tx = Tx::new(&w);
            tx.append_log(301, &entry(301)).unwrap();
            tx.finish_log().unwrap();
        }
        w.commit().unwrap();
        assert_ne!(digest(&other), digest(&packed));
    }

    #[test]
    fn a_stream_whose_log_skips_an_lsn_is_refused() {
        let db = new_db();
        append(&db, 1..=5, 5);
        let mut stream = Vec::new();
        write(&db.begin_read().unwrap(), &mut stream).unwrap();
        // The third log row's key (after `T`, the name and two rows) names lsn 9 instead of 3.
        let name = tables::LOG.name().len();
        let mut at = 1 + 2 + name;
        for _ in 0..2 {
            let kl = u32::from_be_bytes(stream[at + 1..at + 5].try_into().unwrap()) as usize;
            let vl_at = at + 5 + kl;
            let vl = u32::from_be_bytes(stream[vl_at..vl_at + 4].try_into().unwrap()) as usize;
            at = vl_at + 4 + vl;
        }
        stream[at + 5..at + 13].copy_from_slice(&9u64.to_le_bytes());
        let e = load(&new_db(), &mut stream.as_slice()).unwrap_err();
        assert!(matches!(e, Error::BackupInvalid(_)), "{e:?}");
        assert!(e.to_string().contains("entry 9"), "{e}");
    }
}
