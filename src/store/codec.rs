//! Versioned value encoding: `[format: u8][JSON]`. Decoders keep reading every older format
//! through `upgrade` (a migration chain), so a new field or shape never strands stored data.
//! Golden samples in `fixtures/golden/` fail a test on any accidental format change.

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::error::{Error, Result};

/// The format written today.
pub const CURRENT: u8 = 1;

pub fn encode<T: Serialize>(v: &T) -> Vec<u8> {
    let mut out = Vec::with_capacity(256);
    out.push(CURRENT);
    // Serializing our own plain data types to JSON cannot fail (no maps with non-string keys).
    if serde_json::to_writer(&mut out, v).is_err() {
        out.truncate(1);
        out.extend_from_slice(b"null");
    }
    out
}

pub fn decode<T: DeserializeOwned>(bytes: &[u8]) -> Result<T> {
    let (&format, body) = bytes
        .split_first()
        .ok_or_else(|| Error::Store("empty value".into()))?;
    let json = upgrade(format, body)?;
    serde_json::from_slice(&json)
        .map_err(|e| Error::Store(format!("undecodable value (format {format}): {e}")))
}

/// Bring an older format's body to the current one. Format 1 is the first; future formats add a
/// step here (`1 => v1_to_v2(body)`, then fall through to the next step).
fn upgrade(format: u8, body: &[u8]) -> Result<std::borrow::Cow<'_, [u8]>> {
    match format {
        CURRENT => Ok(std::borrow::Cow::Borrowed(body)),
        other => Err(Error::Store(format!(
            "value format {other} is newer than this binary understands"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn round_trips(s in any::<String>(), n in any::<u64>(), v in proptest::collection::vec(any::<i32>(), 0..8)) {
            let x = (s, n, v);
            let back: (String, u64, Vec<i32>) = decode(&encode(&x)).unwrap();
            prop_assert_eq!(back, x);
        }

        #[test]
        fn garbage_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
            let _ = decode::<(String, u64)>(&bytes);
        }
    }

    #[test]
    fn unknown_format_is_an_error() {
        assert!(decode::<u64>(&[9, b'1']).is_err());
        assert!(decode::<u64>(&[]).is_err());
    }
}
