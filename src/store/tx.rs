//! `Tx`: a redb write transaction whose hot tables stay open. Opening a redb table looks it up
//! in the table tree and closing it stages its new root: with every fact opening the seven
//! tables an article touches anew, that was about a sixth of the writer's time (a replica
//! catching up applies thousands of facts per transaction; applying one went from 23–25 µs to
//! 19 µs). Inside one `Tx` those tables are opened once, on first use, and kept until the `Tx`
//! is dropped (before the commit); every other table is opened per use, as before.
//!
//! The two never meet: `open_table` of a kept table's name first closes the kept handle, so redb
//! never sees one table opened twice. Kept tables are reached only through closures
//! (`Tx::log` …), which cannot hold a handle across another call.

use std::cell::RefCell;

use redb::{Key, Table, TableDefinition, TableHandle, Value, WriteTransaction};

use super::logtable::{Pending, Run};
use super::tables::{
    ARTICLE_HEADS, ARTICLE_REVISIONS, ARTICLES_BY_UPDATED, AUDIT_BY_ARTICLE, AUDIT_BY_USER,
    COUNTERS, LOG, LOG_BLOCKS,
};
use crate::error::{Error, Result};

/// A table opened on first use and kept open.
struct Kept<'t, K: Key + 'static, V: Value + 'static> {
    def: TableDefinition<'static, K, V>,
    open: RefCell<Option<Table<'t, K, V>>>,
}

impl<'t, K: Key + 'static, V: Value + 'static> Kept<'t, K, V> {
    fn new(def: TableDefinition<'static, K, V>) -> Self {
        Self {
            def,
            open: RefCell::new(None),
        }
    }

    fn with<R>(
        &self,
        txn: &'t WriteTransaction,
        f: impl FnOnce(&mut Table<'t, K, V>) -> Result<R>,
    ) -> Result<R> {
        let mut slot = self.open.try_borrow_mut().map_err(|_| {
            Error::Internal(format!("table {} used within its own use", self.def.name()))
        })?;
        let table = match slot.as_mut() {
            Some(t) => t,
            None => slot.insert(txn.open_table(self.def)?),
        };
        f(table)
    }

    /// Close the kept handle if it is the table `name`.
    fn close_if(&self, name: &str) -> Result<()> {
        if name == self.def.name() {
            let mut slot = self
                .open
                .try_borrow_mut()
                .map_err(|_| Error::Internal(format!("table {name} opened within its own use")))?;
            slot.take();
        }
        Ok(())
    }
}

/// A write transaction with its hot tables kept open (see the module doc). Drop it before
/// committing the transaction.
pub struct Tx<'t> {
    txn: &'t WriteTransaction,
    log: Kept<'t, u64, &'static [u8]>,
    blocks: Kept<'t, u64, &'static [u8]>,
    /// Appended entries not yet in a row (`logtable`); `finish_log` writes them.
    pending: RefCell<Pending>,
    heads: Kept<'t, u64, u64>,
    revisions: Kept<'t, (u64, u32), u64>,
    by_updated: Kept<'t, (i64, u64), u64>,
    by_article: Kept<'t, (u64, u64), ()>,
    by_user: Kept<'t, (u64, u64), ()>,
    counters: Kept<'t, &'static str, u64>,
}

macro_rules! kept {
    ($($(#[$doc:meta])* $name:ident: $k:ty => $v:ty;)*) => {
        $(
            $(#[$doc])*
            pub fn $name<R>(
                &self,
                f: impl FnOnce(&mut Table<'t, $k, $v>) -> Result<R>,
            ) -> Result<R> {
                self.$name.with(self.txn, f)
            }
        )*
    };
}

impl<'t> Tx<'t> {
    pub fn new(txn: &'t WriteTransaction) -> Self {
        Self {
            txn,
            log: Kept::new(LOG),
            blocks: Kept::new(LOG_BLOCKS),
            pending: RefCell::new(Pending::default()),
            heads: Kept::new(ARTICLE_HEADS),
            revisions: Kept::new(ARTICLE_REVISIONS),
            by_updated: Kept::new(ARTICLES_BY_UPDATED),
            by_article: Kept::new(AUDIT_BY_ARTICLE),
            by_user: Kept::new(AUDIT_BY_USER),
            counters: Kept::new(COUNTERS),
        }
    }

    /// Open any table for one use (a kept one of that name is closed first).
    pub fn open_table<K: Key + 'static, V: Value + 'static>(
        &self,
        def: TableDefinition<'_, K, V>,
    ) -> Result<Table<'t, K, V>> {
        let name = def.name();
        self.log.close_if(name)?;
        self.blocks.close_if(name)?;
        self.heads.close_if(name)?;
        self.revisions.close_if(name)?;
        self.by_updated.close_if(name)?;
        self.by_article.close_if(name)?;
        self.by_user.close_if(name)?;
        self.counters.close_if(name)?;
        Ok(self.txn.open_table(def)?)
    }

    /// Append the stored entry `lsn` (the next one) to the log's rows: entries of one
    /// transaction are packed into LOG_BLOCKS rows as they fill (`logtable`). Call
    /// `finish_log` before the commit.
    pub fn append_log(&self, lsn: u64, stored: &[u8]) -> Result<()> {
        let full = self.pending_mut()?.push(lsn, stored)?;
        match full {
            Some(run) => self.write_run(&run),
            None => Ok(()),
        }
    }

    /// Write the entries still pending: one alone becomes a LOG row, more a LOG_BLOCKS row.
    pub fn finish_log(&self) -> Result<()> {
        let run = self.pending_mut()?.take();
        match run {
            Some(run) => self.write_run(&run),
            None => Ok(()),
        }
    }

    /// The stored entry `lsn`, whether pending or in a row.
    pub fn log_get(&self, lsn: u64) -> Result<Option<Vec<u8>>> {
        let pending = self
            .pending
            .try_borrow()
            .map_err(|_| Error::Internal("log read while appending".into()))?;
        if let Some(stored) = pending.get(lsn) {
            return Ok(Some(stored.to_vec()));
        }
        drop(pending);
        self.log(|l| self.blocks(|b| super::logtable::get(l, Some(b), lsn)))
    }

    fn pending_mut(&self) -> Result<std::cell::RefMut<'_, Pending>> {
        self.pending
            .try_borrow_mut()
            .map_err(|_| Error::Internal("log appended while read".into()))
    }

    fn write_run(&self, run: &Run) -> Result<()> {
        let (packed, key, value) = run.row();
        let put = |t: &mut Table<'t, u64, &'static [u8]>| {
            t.insert(key, value)?;
            Ok(())
        };
        if packed {
            self.blocks(put)
        } else {
            self.log(put)
        }
    }

    kept! {
        /// LOG.
        log: u64 => &'static [u8];
        /// LOG_BLOCKS.
        blocks: u64 => &'static [u8];
        /// ARTICLE_HEADS.
        heads: u64 => u64;
        /// ARTICLE_REVISIONS.
        revisions: (u64, u32) => u64;
        /// ARTICLES_BY_UPDATED.
        by_updated: (i64, u64) => u64;
        /// AUDIT_BY_ARTICLE.
        by_article: (u64, u64) => ();
        /// AUDIT_BY_USER.
        by_user: (u64, u64) => ();
        /// COUNTERS.
        counters: &'static str => u64;
    }
}

#[cfg(test)]
mod tests {
    use redb::{ReadableTable, ReadableTableMetadata};

    use super::*;

    #[test]
    fn kept_and_opened_handles_of_one_table_take_turns() {
        let db = crate::store::open_in_memory().unwrap();
        let w = db.begin_write().unwrap();
        {
            let tx = Tx::new(&w);
            tx.heads(|t| Ok(t.insert(1, 10)?.is_none())).unwrap();
            // Opened by name while kept: the kept handle is closed first, its write kept.
            let mut t = tx.open_table(ARTICLE_HEADS).unwrap();
            assert_eq!(t.get(1).unwrap().unwrap().value(), 10);
            t.insert(2, 20).unwrap();
            // The kept one cannot open while that handle is held: an error, not a panic.
            assert!(tx.heads(|t| Ok(t.len()?)).is_err());
            drop(t);
            assert_eq!(
                tx.heads(|t| Ok(t.get(2)?.map(|g| g.value()))).unwrap(),
                Some(20)
            );
            // A use within its own use is refused.
            let inner = tx.heads(|_| tx.heads(|t| Ok(t.len()?)));
            assert!(matches!(inner, Err(Error::Internal(_))), "{inner:?}");
        }
        w.commit().unwrap();
        let r = db.begin_write().unwrap();
        let t = r.open_table(ARTICLE_HEADS).unwrap();
        assert_eq!(t.iter().unwrap().count(), 2, "both writes committed");
    }
}
