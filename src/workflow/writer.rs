//! `Writer`: one redb write transaction plus the log appender and the time of the write. Use
//! cases are functions over `&mut Writer`; `emit` is the only way state changes: it applies the
//! fact to the tables and appends it to the log in the same transaction.

use std::collections::HashMap;

use redb::WriteTransaction;

use crate::clock::Millis;
use crate::domain::credentials::Session;
use crate::domain::fact::Fact;
use crate::domain::{Lsn, UserId};
use crate::error::Result;
use crate::log::Appender;
use crate::store::{access, apply};

use super::screening::Screens;

pub struct Writer<'t> {
    txn: crate::store::Tx<'t>,
    log: &'t mut Appender,
    reserved: &'t mut HashMap<&'static str, u64>,
    now: Millis,
    dirty: bool,
    screens: &'t Screens,
    /// A replica: only the primary's entries (`replicate`) and local state may be written.
    read_only: bool,
}

impl<'t> Writer<'t> {
    pub(crate) fn new(
        txn: &'t WriteTransaction,
        log: &'t mut Appender,
        reserved: &'t mut HashMap<&'static str, u64>,
        now: Millis,
        screens: &'t Screens,
        read_only: bool,
    ) -> Self {
        Self {
            txn: crate::store::Tx::new(txn),
            log,
            reserved,
            now,
            dirty: false,
            screens,
            read_only,
        }
    }

    /// The compiled word lists (shared with the request handlers).
    pub fn screens(&self) -> &'t Screens {
        self.screens
    }

    /// Time of this write (one value for the whole transaction).
    pub fn now(&self) -> Millis {
        self.now
    }

    /// Read access inside the transaction (sees earlier writes of the same batch).
    pub fn tx(&self) -> &crate::store::Tx<'t> {
        &self.txn
    }

    /// Has this writer changed anything yet?
    pub fn dirty(&self) -> bool {
        self.dirty
    }

    /// Write what the log still holds back (`Tx::finish_log`); the transaction may then commit.
    pub(crate) fn finish(&self) -> Result<()> {
        self.txn.finish_log()
    }

    pub(crate) fn reset_dirty(&mut self) {
        self.dirty = false;
    }

    /// Record a fact: project it onto the tables and append it to the log.
    pub fn emit(&mut self, actor: Option<UserId>, fact: Fact) -> Result<Lsn> {
        if self.read_only {
            return Err(crate::error::Error::ReadOnlyReplica);
        }
        self.dirty = true;
        let (txn, log, now) = (&self.txn, &mut *self.log, self.now);
        let lsn = apply::entry(txn, now, actor, &fact, || {
            Ok(log.append(txn, now, actor, &fact)?.0)
        })?;
        Ok(Lsn(lsn))
    }

    /// Copy entries of the primary's log (stored bytes, in order, each with its decoding, which
    /// callers do before the write so that it does not take the writer's time): each is checked
    /// against the chain, applied to the tables and stored as it was. The log head is the
    /// follower's cursor, so entries and cursor commit together.
    pub fn replicate(&mut self, entries: &[crate::log::entry::Received]) -> Result<Lsn> {
        self.dirty = true;
        let (txn, log) = (&self.txn, &mut *self.log);
        let mut last = log.head();
        for r in entries {
            let e = r.entry();
            last = Lsn(apply::entry(txn, e.at, e.actor, &e.fact, || {
                Ok(log.append_stored(txn, r.stored(), r.linked_from())?.0)
            })?);
        }
        Ok(last)
    }

    /// The log position this transaction has reached (epoch, lsn, hash).
    pub fn position(&self) -> (crate::domain::Epoch, Lsn, [u8; 32]) {
        self.log.position()
    }

    /// Allocate the next id of a kind (`outlet`, `user`, `article`, `asset`, `token`).
    pub fn next_id(&mut self, kind: &'static str) -> Result<u64> {
        let stored = access::counter(&self.txn, kind)?;
        let r = self.reserved.entry(kind).or_insert(0);
        *r = (*r).max(stored) + 1;
        Ok(*r)
    }

    pub fn put_session(&mut self, key: &[u8], s: &Session) -> Result<()> {
        self.dirty = true;
        apply::put_session(&self.txn, key, s)
    }

    pub fn delete_session(&mut self, key: &[u8]) -> Result<()> {
        self.dirty = true;
        apply::delete_session(&self.txn, key)
    }

    /// Pairing tokens are local (each instance admits its own peers).
    pub fn put_pairing(&mut self, key: &[u8], p: &crate::domain::peer::Pairing) -> Result<()> {
        self.dirty = true;
        apply::put_pairing(&self.txn, key, p)
    }

    pub fn take_pairing(&mut self, key: &[u8]) -> Result<()> {
        self.dirty = true;
        apply::take_pairing(&self.txn, key)
    }

    pub fn purge_sessions(&mut self) -> Result<usize> {
        self.dirty = true;
        apply::purge_sessions(&self.txn, self.now)
    }
}
