//! Encoding, decoding and hashing of one log entry (format in the module doc of `log`).

use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::clock::Millis;
use crate::domain::fact::Fact;
use crate::domain::{Epoch, InstanceId, Lsn, UserId};
use crate::error::{Error, Result};

pub const ENTRY_FORMAT: u8 = 1;
const HEADER: usize = 33;
// The store reads the article a stored entry carries without this module: same layout.
const _: () = assert!(32 == crate::store::tables::LOG_FORMAT_AT);
const _: () = assert!(32 + HEADER == crate::store::tables::LOG_FACT_OFFSET);
const _: () = assert!(ENTRY_FORMAT == crate::store::tables::LOG_ENTRY_FORMAT);

/// A decoded entry.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Entry {
    pub epoch: Epoch,
    pub lsn: Lsn,
    pub at: Millis,
    pub actor: Option<UserId>,
    pub fact: Fact,
    /// Hex of the chained hash.
    pub hash: String,
}

pub fn genesis(instance: &InstanceId) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(b"rongmei-log-genesis\0");
    h.update(instance.0.as_bytes());
    h.finalize().into()
}

pub fn chain(prev: &[u8; 32], entry: &[u8]) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(prev);
    h.update(entry);
    h.finalize().into()
}

/// An entry as the LOG table stores it (`hash ‖ entry`), chained to `prev`, with its hash.
pub fn seal(prev: &[u8; 32], entry: &[u8]) -> ([u8; 32], Vec<u8>) {
    let hash = chain(prev, entry);
    let mut stored = Vec::with_capacity(32 + entry.len());
    stored.extend_from_slice(&hash);
    stored.extend_from_slice(entry);
    (hash, stored)
}

pub fn encode_entry(
    epoch: Epoch,
    lsn: Lsn,
    at: Millis,
    actor: Option<UserId>,
    fact: &Fact,
) -> Vec<u8> {
    let mut out = Vec::with_capacity(HEADER + 256);
    out.push(ENTRY_FORMAT);
    out.extend_from_slice(&epoch.0.to_be_bytes());
    out.extend_from_slice(&lsn.0.to_be_bytes());
    out.extend_from_slice(&at.to_be_bytes());
    out.extend_from_slice(&actor.map_or(0, |u| u.0).to_be_bytes());
    // Plain data types; serialization to a Vec cannot fail.
    let _ = serde_json::to_writer(&mut out, fact);
    out
}

fn be8(b: &[u8], at: usize) -> [u8; 8] {
    let mut a = [0u8; 8];
    a.copy_from_slice(&b[at..at + 8]);
    a
}

/// Split a stored value into (hash, entry bytes).
pub fn split_stored(stored: &[u8]) -> Result<([u8; 32], &[u8])> {
    if stored.len() < 32 + HEADER {
        return Err(Error::LogIntegrity(format!(
            "stored entry too short ({} bytes)",
            stored.len()
        )));
    }
    let mut h = [0u8; 32];
    h.copy_from_slice(&stored[..32]);
    Ok((h, &stored[32..]))
}

/// The position fields of a stored value, without decoding its fact: (epoch, lsn).
pub fn position_of(stored: &[u8]) -> Result<(Epoch, Lsn)> {
    let (_, e) = split_stored(stored)?;
    if e[0] != ENTRY_FORMAT {
        return Err(Error::LogIntegrity(format!(
            "unknown entry format {}",
            e[0]
        )));
    }
    Ok((
        Epoch(u64::from_be_bytes(be8(e, 1))),
        Lsn(u64::from_be_bytes(be8(e, 9))),
    ))
}

/// Whether the stored entry's fact is of `kind` (read from its JSON tag, which serde writes
/// first), without decoding it.
pub fn fact_is(stored: &[u8], kind: &str) -> bool {
    let Some(json) = stored.get(32 + HEADER..) else {
        return false;
    };
    let prefix = format!("{{\"type\":\"{kind}\"");
    json.starts_with(prefix.as_bytes())
}

/// A stored value received from another instance, with its decoding (made once, where it
/// arrives, so that the writer only applies it).
#[derive(Debug, Clone)]
pub struct Received {
    stored: Vec<u8>,
    entry: Entry,
    /// The hash this entry was found to extend (its hash is `chain(linked_from, entry)`), when
    /// checked on arrival: the writer then only compares it with its head.
    linked_from: Option<[u8; 32]>,
}

impl Received {
    pub fn decode(stored: Vec<u8>) -> Result<Self> {
        let entry = decode_stored(&stored)?;
        Ok(Self {
            stored,
            entry,
            linked_from: None,
        })
    }

    /// Decode and check that the entry extends `prev` (the hash of the entry before it), which
    /// becomes the entry's own hash when it does. An entry that does not is still returned,
    /// unchecked: the writer refuses it with the usual error.
    pub fn decode_after(stored: Vec<u8>, prev: &mut [u8; 32]) -> Result<Self> {
        let mut r = Self::decode(stored)?;
        let (hash, bytes) = split_stored(&r.stored)?;
        if chain(prev, bytes) == hash {
            r.linked_from = Some(*prev);
            *prev = hash;
        }
        Ok(r)
    }

    pub fn stored(&self) -> &[u8] {
        &self.stored
    }
    pub fn entry(&self) -> &Entry {
        &self.entry
    }
    pub fn linked_from(&self) -> Option<&[u8; 32]> {
        self.linked_from.as_ref()
    }
}

/// Decode a stored value (`hash ‖ entry`).
pub fn decode_stored(stored: &[u8]) -> Result<Entry> {
    let (hash, e) = split_stored(stored)?;
    if e[0] != ENTRY_FORMAT {
        return Err(Error::LogIntegrity(format!(
            "unknown entry format {}",
            e[0]
        )));
    }
    let actor = u64::from_be_bytes(be8(e, 25));
    // JSON is UTF-8: validated in one pass over the whole fact (SIMD), then parsed as text.
    // Parsing the bytes would validate each string as it goes, at a fifth of the speed on
    // Chinese text.
    let json = simdutf8::basic::from_utf8(&e[HEADER..])
        .map_err(|_| Error::LogIntegrity("undecodable fact: not UTF-8".into()))?;
    let fact: Fact = serde_json::from_str(json)
        .map_err(|err| Error::LogIntegrity(format!("undecodable fact: {err}")))?;
    Ok(Entry {
        epoch: Epoch(u64::from_be_bytes(be8(e, 1))),
        lsn: Lsn(u64::from_be_bytes(be8(e, 9))),
        at: i64::from_be_bytes(be8(e, 17)),
        actor: (actor != 0).then_some(UserId(actor)),
        fact,
        hash: hex::encode(hash),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::OutletId;
    use crate::domain::fact::Fact;
    use proptest::prelude::*;

    #[test]
    fn encode_decode_round_trip() {
        let f = Fact::AssetDeleted {
            id: crate::domain::AssetId(9),
        };
        let e = encode_entry(Epoch(2), Lsn(7), 123, Some(UserId(3)), &f);
        let h = chain(&genesis(&InstanceId("i".into())), &e);
        let mut stored = h.to_vec();
        stored.extend_from_slice(&e);
        assert!(fact_is(&stored, "AssetDeleted") && !fact_is(&stored, "AssetAdded"));
        assert_eq!(position_of(&stored).unwrap(), (Epoch(2), Lsn(7)));
        let d = decode_stored(&stored).unwrap();
        assert_eq!(
            (d.epoch, d.lsn, d.at, d.actor, d.fact),
            (Epoch(2), Lsn(7), 123, Some(UserId(3)), f)
        );
        let _ = OutletId(1);
    }

    #[test]
    fn chinese_text_decodes_and_broken_utf8_is_refused() {
        let f = Fact::PasswordSet {
            user: UserId(1),
            phc: "县级融媒体中心 三审三校".into(),
        };
        let e = encode_entry(Epoch(1), Lsn(1), 0, None, &f);
        let mut stored = chain(&[0; 32], &e).to_vec();
        stored.extend_from_slice(&e);
        assert_eq!(decode_stored(&stored).unwrap().fact, f);
        // The first byte of "县" (E5 8E BF) as a lone continuation byte: not UTF-8.
        let at = stored
            .windows(3)
            .position(|w| w == "县".as_bytes())
            .unwrap();
        stored[at] = 0x8e;
        let err = decode_stored(&stored).unwrap_err();
        assert_eq!(err.code(), "log_integrity", "{err}");
    }

    proptest! {
        #[test]
        fn decoder_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
            let _ = decode_stored(&bytes);
            let _ = position_of(&bytes);
            let _ = fact_is(&bytes, "AssetAdded");
        }
    }
}
