//! Log-stream framing. A stream is a sequence of frames, `u32 BE length ‖ zstd(payload)`;
//! a payload is
//!
//! | size | field                                                      |
//! |------|------------------------------------------------------------|
//! | 1    | kind: 1 = entries, 2 = heartbeat                           |
//! | 8    | the sender's durable head lsn, u64 BE                      |
//! | 8    | the sender's clock, ms since Unix epoch, i64 BE            |
//! | ..   | entries only: repeated `u32 BE length ‖ stored entry`      |
//!
//! A stored entry is exactly the LOG value (`hash ‖ entry`, see `log`), so the follower checks
//! the chain itself and stores the same bytes.

use crate::clock::Millis;
use crate::error::{Error, Result};

/// Largest compressed frame and largest payload accepted (a batch is cut well below).
pub const MAX_FRAME: usize = 64 << 20;
pub const MAX_PAYLOAD: usize = 256 << 20;
/// A batch is cut at this many raw bytes.
pub const BATCH_BYTES: usize = 4 << 20;

#[derive(Debug, Clone, PartialEq)]
pub struct Frame {
    pub head: u64,
    pub at: Millis,
    /// Empty for a heartbeat.
    pub entries: Vec<Vec<u8>>,
}

pub fn encode(f: &Frame) -> Result<Vec<u8>> {
    let mut p = Vec::with_capacity(17 + f.entries.iter().map(|e| e.len() + 4).sum::<usize>());
    p.push(if f.entries.is_empty() { 2 } else { 1 });
    p.extend_from_slice(&f.head.to_be_bytes());
    p.extend_from_slice(&f.at.to_be_bytes());
    for e in &f.entries {
        p.extend_from_slice(&(e.len() as u32).to_be_bytes());
        p.extend_from_slice(e);
    }
    let z = zstd::bulk::compress(&p, 3).map_err(|e| Error::Internal(format!("zstd: {e}")))?;
    let mut out = Vec::with_capacity(z.len() + 4);
    out.extend_from_slice(&(z.len() as u32).to_be_bytes());
    out.extend_from_slice(&z);
    Ok(out)
}

fn bad(why: &str) -> Error {
    Error::LogIntegrity(format!("log stream: {why}"))
}

/// Incremental decoder: feed bytes as they arrive, take whole frames.
#[derive(Default)]
pub struct Decoder {
    buf: Vec<u8>,
}

impl Decoder {
    pub fn feed(&mut self, bytes: &[u8]) {
        self.buf.extend_from_slice(bytes);
    }

    /// The next whole frame, if one has arrived.
    pub fn next_frame(&mut self) -> Result<Option<Frame>> {
        if self.buf.len() < 4 {
            return Ok(None);
        }
        let n = u32::from_be_bytes([self.buf[0], self.buf[1], self.buf[2], self.buf[3]]) as usize;
        if n > MAX_FRAME {
            return Err(bad("frame too large"));
        }
        if self.buf.len() < 4 + n {
            return Ok(None);
        }
        let p = zstd::bulk::decompress(&self.buf[4..4 + n], MAX_PAYLOAD)
            .map_err(|e| bad(&format!("undecodable frame: {e}")))?;
        self.buf.drain(..4 + n);
        decode_payload(&p).map(Some)
    }
}

fn decode_payload(p: &[u8]) -> Result<Frame> {
    if p.len() < 17 || !matches!(p[0], 1 | 2) {
        return Err(bad("bad frame header"));
    }
    let head = u64::from_be_bytes(p[1..9].try_into().map_err(|_| bad("head"))?);
    let at = i64::from_be_bytes(p[9..17].try_into().map_err(|_| bad("time"))?);
    let mut entries = Vec::new();
    let mut i = 17;
    while i < p.len() {
        if i + 4 > p.len() {
            return Err(bad("truncated entry length"));
        }
        let n = u32::from_be_bytes(p[i..i + 4].try_into().map_err(|_| bad("length"))?) as usize;
        i += 4;
        if i + n > p.len() {
            return Err(bad("truncated entry"));
        }
        entries.push(p[i..i + n].to_vec());
        i += n;
    }
    if p[0] == 1 && entries.is_empty() {
        return Err(bad("empty batch"));
    }
    Ok(Frame { head, at, entries })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn frames_round_trip_in_any_chunking() {
        let a = Frame {
            head: 9,
            at: 5,
            entries: vec![b"one".to_vec(), vec![7u8; 10_000]],
        };
        let b = Frame {
            head: 9,
            at: 6,
            entries: vec![],
        };
        let mut bytes = encode(&a).unwrap();
        bytes.extend(encode(&b).unwrap());
        for chunk in [1, 3, 100, bytes.len()] {
            let mut d = Decoder::default();
            let mut got = Vec::new();
            for c in bytes.chunks(chunk) {
                d.feed(c);
                while let Some(f) = d.next_frame().unwrap() {
                    got.push(f);
                }
            }
            assert_eq!(got, vec![a.clone(), b.clone()]);
        }
    }

    proptest! {
        #[test]
        fn garbage_is_an_error_never_a_panic(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
            let mut d = Decoder::default();
            d.feed(&bytes);
            let _ = d.next_frame();
            let _ = decode_payload(&bytes);
        }
    }
}
