//! The replication log: every state change as a domain fact, appended in the same redb write
//! transaction as the change. Followers (search index, DR replica, hub shipper ...) read it from a
//! position and wait on a watch channel for more. Owns the LOG table and META `log_head`; must not
//! contain business rules (those are `workflow`).
//!
//! # Byte format (entry format 1)
//!
//! A stored entry is `hash[32] ‖ entry`; `store::logtable` keeps it as a LOG row (key = lsn) or
//! packed with the other entries of its transaction into a LOG_BLOCKS row. `entry` is
//!
//! | offset | size | field                                          |
//! |--------|------|------------------------------------------------|
//! | 0      | 1    | entry format = 1                               |
//! | 1      | 8    | epoch, u64 big-endian                          |
//! | 9      | 8    | lsn, u64 big-endian                            |
//! | 17     | 8    | time of the write, ms since Unix epoch, i64 BE |
//! | 25     | 8    | actor UserId, u64 BE (0 = the system)          |
//! | 33     | ..   | the fact, JSON (`domain::fact::Fact`)          |
//!
//! `hash(n) = SHA-256(hash(n-1) ‖ entry(n))`, `hash(0) = SHA-256("rongmei-log-genesis\0" ‖ instance id)`.
//!
//! # Invariants
//!
//! 1. Lsns are dense: 1, 2, 3 … with no gap; an entry is found under its lsn (a LOG key, or
//!    its place in a LOG_BLOCKS run) and its header names that lsn.
//! 2. Each stored hash equals `SHA-256(previous hash ‖ entry bytes)`; the chain binds the log to
//!    its instance, so a fork, a gap, a foreign entry or a flipped bit is detected.
//! 3. Epochs never decrease along the log; a new epoch starts a new history line (restore,
//!    promotion) with an `EpochBegan` entry naming the position it continues from.
//! 4. META `log_head` names the last entry (epoch, lsn, hash), written in the same transaction
//!    (`Appender::write_head` refuses a head whose entry the transaction did not write).
//! 5. An entry is never rewritten or deleted.
//! 6. The replicated tables equal the fold of `store::apply` over the entries (`check` proves it).
//! 7. An lsn is published on the watch channel only after its transaction committed durably, so a
//!    follower never sees an entry that could still vanish.

pub mod append;
pub mod check;
pub mod entry;
pub mod read;

pub use append::Appender;
pub use entry::Entry;
pub use read::{LogWatch, entries_at, raw_at, read_range, read_raw};
