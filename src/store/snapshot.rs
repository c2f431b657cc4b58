//! The content of a store as one canonical byte stream: the LOG and every replicated table, in
//! `tables::log_and_replicated` order, each row as raw redb bytes. Backups carry this stream
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

use super::tables::{self, Visit};
use crate::error::{Error, Result};

/// Rows per write transaction while loading (the last commit is the durable one).
const LOAD_BATCH: u64 = 20_000;

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
            for row in self.txn.open_table(t)?.iter()? {
                let (k, v) = row?;
                let (k, v) = (k.value(), v.value());
                let (k, v) = (K::as_bytes(&k), V::as_bytes(&v));
                let (k, v) = (k.as_ref(), v.as_ref());
                let mut rec = Vec::with_capacity(9 + k.len() + v.len());
                rec.push(b'R');
                rec.extend_from_slice(&(k.len() as u32).to_be_bytes());
                rec.extend_from_slice(k);
                rec.extend_from_slice(&(v.len() as u32).to_be_bytes());
                rec.extend_from_slice(v);
                self.out.write_all(&rec).map_err(io)?;
                self.counts.rows += 1;
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
        /// Read the rows of a table without storing them.
        fn skip_rows(&mut self, table: &str) -> Result<()> {
            loop {
                match self.byte()? {
                    b'E' => return Ok(()),
                    b'R' => {}
                    x => return Err(bad(format!("unknown record {x} in table {table}"))),
                }
                let kl = self.len32()?;
                self.bytes(kl)?;
                let vl = self.len32()?;
                self.bytes(vl)?;
            }
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
            let mut w = self.db.begin_write()?;
            w.set_durability(redb::Durability::None)?;
            let mut in_txn = 0u64;
            loop {
                match self.byte()? {
                    b'E' => break,
                    b'R' => {}
                    x => return Err(bad(format!("unknown record {x} in table {}", t.name()))),
                }
                let kl = self.len32()?;
                let k = self.bytes(kl)?;
                let vl = self.len32()?;
                let v = self.bytes(vl)?;
                if K::fixed_width().is_some_and(|n| n != k.len())
                    || V::fixed_width().is_some_and(|n| n != v.len())
                {
                    return Err(bad(format!("a row of the wrong width in {}", t.name())));
                }
                w.open_table(t)?
                    .insert(K::from_bytes(&k), V::from_bytes(&v))?;
                self.counts.rows += 1;
                in_txn += 1;
                if in_txn == LOAD_BATCH {
                    w.commit()?;
                    w = self.db.begin_write()?;
                    w.set_durability(redb::Durability::None)?;
                    in_txn = 0;
                }
            }
            w.commit()?;
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
