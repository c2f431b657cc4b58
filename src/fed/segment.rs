//! Log segment files for removable media (U盘/移动硬盘 to an offline replica).
//!
//! A segment holds consecutive entries of one epoch, named `E<epoch>-<first>-<last>.rmlog`
//! (zero-padded, so names sort by position). Byte format:
//!
//! | size | field                                                                      |
//! |------|----------------------------------------------------------------------------|
//! | 7    | magic `RMLOG1\n`                                                           |
//! | 4    | header length, u32 BE                                                      |
//! | ..   | header, JSON: instance, epoch, first, last, prev_hash, count, raw_bytes,   |
//! |      | sha256 (of the body), signature (hex, by the instance CA key, over `signed`)|
//! | ..   | body: zstd of repeated `u32 BE length ‖ stored entry` (as in the LOG table)  |
//!
//! The signature covers instance, epoch, range, the hash the segment continues from and the
//! body's checksum, so a segment cannot be moved to another instance, renumbered or altered.
//! Files are never overwritten; each is at most `MAX_RAW` bytes of entries (FAT32-safe).

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::error::{Error, Result};

pub const MAGIC: &[u8; 7] = b"RMLOG1\n";
/// Entries per segment are cut here (raw bytes; the file is smaller after zstd), well under
/// FAT32's 4 GiB file limit and the 1 GiB the operators asked for.
pub const MAX_RAW: usize = 1 << 30;
const MAX_HEADER: usize = 64 * 1024;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Header {
    pub instance: String,
    pub epoch: u64,
    pub first: u64,
    pub last: u64,
    /// Hash (hex) of entry `first - 1` (or the genesis): the chain this segment continues.
    pub prev_hash: String,
    pub count: u64,
    pub raw_bytes: u64,
    /// SHA-256 (hex) of the body.
    pub sha256: String,
    pub signature: String,
}

impl Header {
    pub fn file_name(&self) -> String {
        format!(
            "E{:06}-{:012}-{:012}.rmlog",
            self.epoch, self.first, self.last
        )
    }

    /// The bytes the signature covers.
    pub fn signed(&self) -> Vec<u8> {
        format!(
            "rmlog1|{}|{}|{}|{}|{}|{}|{}",
            self.instance,
            self.epoch,
            self.first,
            self.last,
            self.prev_hash,
            self.count,
            self.sha256
        )
        .into_bytes()
    }
}

/// Build a segment file's bytes from stored entries; `sign` signs the header.
pub fn encode(
    mut header: Header,
    entries: &[Vec<u8>],
    sign: impl FnOnce(&[u8]) -> Result<Vec<u8>>,
) -> Result<(Header, Vec<u8>)> {
    let mut raw = Vec::with_capacity(entries.iter().map(|e| e.len() + 4).sum());
    for e in entries {
        raw.extend_from_slice(&(e.len() as u32).to_be_bytes());
        raw.extend_from_slice(e);
    }
    let body = zstd::bulk::compress(&raw, 3).map_err(|e| Error::Internal(format!("zstd: {e}")))?;
    header.count = entries.len() as u64;
    header.raw_bytes = raw.len() as u64;
    header.sha256 = hex::encode(Sha256::digest(&body));
    header.signature = hex::encode(sign(&header.signed())?);
    let h = serde_json::to_vec(&header).map_err(|e| Error::Internal(e.to_string()))?;
    let mut out = Vec::with_capacity(MAGIC.len() + 4 + h.len() + body.len());
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&(h.len() as u32).to_be_bytes());
    out.extend_from_slice(&h);
    out.extend_from_slice(&body);
    Ok((header, out))
}

fn refuse(why: String) -> Error {
    Error::invalid("segment", why)
}

/// Read a segment: header, then (after the caller checked the header) its entries. `verify`
/// checks the signature over `Header::signed`.
pub fn decode(
    bytes: &[u8],
    verify: impl FnOnce(&[u8], &[u8]) -> bool,
) -> Result<(Header, Vec<Vec<u8>>)> {
    if bytes.len() < MAGIC.len() + 4 || &bytes[..MAGIC.len()] != MAGIC {
        return Err(refuse("not a rongmei log segment (bad magic)".into()));
    }
    let n = u32::from_be_bytes(
        bytes[7..11]
            .try_into()
            .map_err(|_| refuse("header".into()))?,
    ) as usize;
    if n > MAX_HEADER || bytes.len() < 11 + n {
        return Err(refuse("truncated header".into()));
    }
    let header: Header = serde_json::from_slice(&bytes[11..11 + n])
        .map_err(|e| refuse(format!("unreadable header: {e}")))?;
    let body = &bytes[11 + n..];
    let sig =
        hex::decode(&header.signature).map_err(|_| refuse("bad signature encoding".into()))?;
    if !verify(&header.signed(), &sig) {
        return Err(refuse(
            "signature does not verify with the pinned CA (foreign or altered segment)".into(),
        ));
    }
    if hex::encode(Sha256::digest(body)) != header.sha256 {
        return Err(refuse(
            "checksum mismatch: the file is truncated or corrupt".into(),
        ));
    }
    let raw = zstd::bulk::decompress(body, header.raw_bytes as usize)
        .map_err(|e| refuse(format!("undecodable body: {e}")))?;
    let mut entries = Vec::with_capacity(header.count as usize);
    let mut i = 0;
    while i < raw.len() {
        let len = raw
            .get(i..i + 4)
            .and_then(|b| b.try_into().ok())
            .map(u32::from_be_bytes)
            .ok_or_else(|| refuse("truncated entry length".into()))? as usize;
        i += 4;
        let e = raw
            .get(i..i + len)
            .ok_or_else(|| refuse("truncated entry".into()))?;
        entries.push(e.to_vec());
        i += len;
    }
    if entries.len() as u64 != header.count {
        return Err(refuse(format!(
            "{} entries, the header says {}",
            entries.len(),
            header.count
        )));
    }
    Ok((header, entries))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header() -> Header {
        Header {
            instance: "i".into(),
            epoch: 1,
            first: 5,
            last: 6,
            prev_hash: "ab".into(),
            count: 0,
            raw_bytes: 0,
            sha256: String::new(),
            signature: String::new(),
        }
    }

    #[test]
    fn round_trip_and_every_kind_of_damage_is_refused() {
        let sign = |m: &[u8]| Ok(Sha256::digest(m).to_vec());
        let ok = |m: &[u8], s: &[u8]| Sha256::digest(m).as_slice() == s;
        let entries = vec![b"one".to_vec(), b"two".to_vec()];
        let (h, bytes) = encode(header(), &entries, sign).unwrap();
        assert_eq!(h.file_name(), "E000001-000000000005-000000000006.rmlog");
        assert_eq!(decode(&bytes, ok).unwrap(), (h.clone(), entries));
        // Truncated, a flipped body bit, a renumbered header, a foreign signer, garbage.
        let cut = &bytes[..bytes.len() - 3];
        assert!(
            decode(cut, ok)
                .unwrap_err()
                .to_string()
                .contains("checksum")
        );
        let mut flipped = bytes.clone();
        let last = flipped.len() - 1;
        flipped[last] ^= 1;
        assert!(
            decode(&flipped, ok)
                .unwrap_err()
                .to_string()
                .contains("checksum")
        );
        let mut renumbered = bytes.clone();
        let at = renumbered
            .windows(9)
            .position(|w| w == b"\"first\":5")
            .unwrap();
        renumbered[at + 8] = b'4';
        assert!(
            decode(&renumbered, ok)
                .unwrap_err()
                .to_string()
                .contains("signature")
        );
        assert!(decode(&bytes, |_, _| false).is_err());
        assert!(decode(b"hello", ok).is_err());
    }
}
