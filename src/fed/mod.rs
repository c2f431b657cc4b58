//! Federation: trust between instances (a primary and its disaster-recovery replica, a
//! provincial hub and its counties) and shipping the log between them.
//!
//! - `pki`: the instance CA, peer certificates, fingerprints (rcgen, PEM files under `pki/`).
//! - `tls`: rustls configurations: a listener that takes only TLS 1.3 with a client certificate
//!   from our CA, and a client that trusts only the CA it pinned.
//! - `listener`: the federation listener; every connection's certificate is checked against the
//!   peer records (known, same fingerprint, not revoked, right role) before any request is read.
//! - `wire`: the log-stream framing (zstd-compressed batches of stored entries).
//! - `chunks`: the catch-up cache (the log compressed once, for replicas coming back).
//! - `carry`: segments, media and manifest on removable media; applying segments to a store.
//! - `backup`: consistent online backups and restore as a new epoch (with roll-forward).
//! - `follow`: the replica's follower: connect, state its position, apply batches, reconnect
//!   with capped backoff.
//! - `retry`: shutdown waits and the reconnect backoff the long-lived tasks share.
//! - `ship`: county → hub: the county connects out and sends the entries the hub should have;
//!   the hub's handlers apply them through `workflow::hub`.

pub mod backup;
pub mod carry;
pub mod chunks;
pub mod follow;
pub mod inbox;
pub mod listener;
pub mod media;
pub mod pki;
pub mod renew;
pub mod retry;
pub mod segment;
pub mod ship;
pub mod tls;
pub mod wire;
