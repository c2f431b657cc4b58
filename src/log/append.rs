//! Appending entries inside a write transaction, extending the hash chain.

use redb::WriteTransaction;

use super::entry::{chain, encode_entry, genesis, position_of, seal, split_stored};
use crate::clock::Millis;
use crate::domain::fact::Fact;
use crate::domain::{Epoch, InstanceId, Lsn, UserId};
use crate::error::{Error, Result};
use crate::store::tables::META;
use crate::store::{LogHead, Tx, access, codec};

struct Position {
    epoch: Epoch,
    lsn: Lsn,
}

/// The log's head as seen by the single writer. `commit_head`/`rollback` keep it in step with
/// what redb actually committed.
#[derive(Debug, Clone)]
pub struct Appender {
    epoch: Epoch,
    lsn: Lsn,
    hash: [u8; 32],
    committed: (Epoch, Lsn, [u8; 32]),
}

impl Appender {
    /// Load the head from the store (or start at the genesis of `instance`).
    pub fn load(txn: &impl access::Access, instance: &InstanceId, epoch: Epoch) -> Result<Self> {
        let (epoch, lsn, hash) = match access::log_head(txn)? {
            Some(h) => {
                let bytes = hex::decode(&h.hash).map_err(|e| Error::LogIntegrity(e.to_string()))?;
                let hash: [u8; 32] = bytes
                    .try_into()
                    .map_err(|_| Error::LogIntegrity("bad head hash".into()))?;
                (h.epoch.max(epoch), h.lsn, hash)
            }
            None => (epoch, Lsn(0), genesis(instance)),
        };
        Ok(Self {
            epoch,
            lsn,
            hash,
            committed: (epoch, lsn, hash),
        })
    }

    pub fn head(&self) -> Lsn {
        self.lsn
    }

    pub fn committed_head(&self) -> Lsn {
        self.committed.1
    }

    /// Append one fact; returns its lsn.
    pub fn append(
        &mut self,
        txn: &Tx<'_>,
        at: Millis,
        actor: Option<UserId>,
        fact: &Fact,
    ) -> Result<Lsn> {
        let lsn = Lsn(self.lsn.0 + 1);
        let entry = encode_entry(self.epoch, lsn, at, actor, fact);
        let (hash, stored) = seal(&self.hash, &entry);
        txn.append_log(lsn.0, &stored)?;
        self.lsn = lsn;
        self.hash = hash;
        Ok(lsn)
    }

    /// Append an entry exactly as another instance stored it (a follower copying its primary's
    /// log): it must be the next lsn, not go back in epoch, and extend the hash chain.
    /// `linked_from`: the hash the entry was already found to extend (`entry::Received`), which
    /// spares hashing it again here.
    pub fn append_stored(
        &mut self,
        txn: &Tx<'_>,
        stored: &[u8],
        linked_from: Option<&[u8; 32]>,
    ) -> Result<Lsn> {
        let (hash, bytes) = split_stored(stored)?;
        let (epoch, lsn) = position_of(stored)?;
        let e = Position { epoch, lsn };
        if e.lsn.0 != self.lsn.0 + 1 {
            return Err(Error::LogIntegrity(format!(
                "expected lsn {}, received {}",
                self.lsn.0 + 1,
                e.lsn.0
            )));
        }
        if e.epoch < self.epoch {
            return Err(Error::LogIntegrity(format!(
                "entry {} goes back from epoch {} to {}",
                e.lsn.0, self.epoch.0, e.epoch.0
            )));
        }
        let extends = match linked_from {
            Some(prev) => *prev == self.hash,
            None => chain(&self.hash, bytes) == hash,
        };
        if !extends {
            return Err(Error::LogIntegrity(format!(
                "entry {} does not extend the hash chain",
                e.lsn.0
            )));
        }
        txn.append_log(e.lsn.0, stored)?;
        (self.epoch, self.lsn, self.hash) = (e.epoch, e.lsn, hash);
        Ok(e.lsn)
    }

    /// The current position (epoch, lsn, hash).
    pub fn position(&self) -> (Epoch, Lsn, [u8; 32]) {
        (self.epoch, self.lsn, self.hash)
    }

    /// Write META `log_head` (call once per transaction, before commit).
    pub fn write_head(&self, txn: &WriteTransaction) -> Result<()> {
        if self.lsn == self.committed.1 {
            return Ok(());
        }
        // The head must name an entry this transaction wrote (a writer that did not finish
        // its log, `Tx::finish_log`, would otherwise commit a head past its entries).
        let written = access::Access::log_value(txn, self.lsn.0)?;
        if written.as_deref().and_then(|s| s.get(..32)) != Some(self.hash.as_slice()) {
            return Err(Error::LogIntegrity(format!(
                "log head {} was not written to the log",
                self.lsn.0
            )));
        }
        let head = LogHead {
            epoch: self.epoch,
            lsn: self.lsn,
            hash: hex::encode(self.hash),
        };
        txn.open_table(META)?
            .insert("log_head", codec::encode(&head).as_slice())?;
        Ok(())
    }

    /// The transaction committed: the current head is durable.
    pub fn commit_head(&mut self) {
        self.committed = (self.epoch, self.lsn, self.hash);
    }

    /// The transaction was aborted: forget what it appended.
    pub fn rollback(&mut self) {
        (self.epoch, self.lsn, self.hash) = self.committed;
    }
}
