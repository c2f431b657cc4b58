//! Media assets: the record kept for each upload, the accepted file types (sniffed from the bytes),
//! and file-name rules. Bytes live on disk content-addressed by SHA-256 (see `media`).

use serde::{Deserialize, Serialize};

use super::{AssetId, OutletId, UserId};
use crate::clock::Millis;
use crate::error::{Error, Result};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum AssetKind {
    Image,
    Audio,
    Video,
    Document,
}

impl AssetKind {
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "image" => Some(Self::Image),
            "audio" => Some(Self::Audio),
            "video" => Some(Self::Video),
            "document" => Some(Self::Document),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Asset {
    pub id: AssetId,
    pub outlet: OutletId,
    /// Hex SHA-256 of the bytes; names the blob file.
    pub sha256: String,
    pub name: String,
    pub mime: String,
    pub kind: AssetKind,
    pub size: u64,
    pub width: Option<u32>,
    pub height: Option<u32>,
    /// Hex SHA-256 of the JPEG thumbnail blob (images only).
    pub thumb_sha256: Option<String>,
    pub uploaded_by: UserId,
    pub created_at: Millis,
}

/// The types accepted, by sniffed MIME type.
const ACCEPTED: &[(&str, AssetKind)] = &[
    ("image/jpeg", AssetKind::Image),
    ("image/png", AssetKind::Image),
    ("image/gif", AssetKind::Image),
    ("image/webp", AssetKind::Image),
    ("audio/mpeg", AssetKind::Audio),
    ("audio/x-wav", AssetKind::Audio),
    ("audio/ogg", AssetKind::Audio),
    ("audio/aac", AssetKind::Audio),
    ("audio/m4a", AssetKind::Audio),
    ("audio/x-flac", AssetKind::Audio),
    ("video/mp4", AssetKind::Video),
    ("video/webm", AssetKind::Video),
    ("video/quicktime", AssetKind::Video),
    ("video/x-matroska", AssetKind::Video),
    ("video/x-flv", AssetKind::Video),
    ("application/pdf", AssetKind::Document),
    ("application/msword", AssetKind::Document),
    (
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        AssetKind::Document,
    ),
    (
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        AssetKind::Document,
    ),
    (
        "application/vnd.openxmlformats-officedocument.presentationml.presentation",
        AssetKind::Document,
    ),
];

/// Classify the sniffed type of the first bytes of a file.
/// A media file's name in the store: the SHA-256 of its bytes in hex, lowercased; anything
/// else (a path, a short or odd string) is refused naming `field`.
pub fn sha256_name(field: &'static str, s: &str) -> Result<String> {
    if s.len() == 64 && s.bytes().all(|b| b.is_ascii_hexdigit()) {
        Ok(s.to_ascii_lowercase())
    } else {
        Err(Error::invalid(field, "64 hex digits (a SHA-256)"))
    }
}

pub fn classify(head: &[u8]) -> Result<(String, AssetKind)> {
    let detected = infer::get(head).map(|t| t.mime_type().to_string());
    match detected {
        Some(m) => ACCEPTED
            .iter()
            .find(|(a, _)| *a == m)
            .map(|(a, k)| (a.to_string(), *k))
            .ok_or(Error::AssetTypeNotAllowed { detected: m }),
        None => Err(Error::AssetTypeNotAllowed {
            detected: "unknown".into(),
        }),
    }
}

/// Normalize a declared MIME type's aliases.
fn canonical(mime: &str) -> String {
    let m = mime
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    match m.as_str() {
        "image/jpg" | "image/pjpeg" => "image/jpeg".into(),
        "audio/mp3" => "audio/mpeg".into(),
        "audio/wav" | "audio/wave" => "audio/x-wav".into(),
        _ => m,
    }
}

fn type_of_extension(name: &str) -> Option<&'static str> {
    let ext = name.rsplit_once('.')?.1.to_ascii_lowercase();
    Some(match ext.as_str() {
        "jpg" | "jpeg" => "image/jpeg",
        "png" => "image/png",
        "gif" => "image/gif",
        "webp" => "image/webp",
        "mp3" => "audio/mpeg",
        "wav" => "audio/x-wav",
        "mp4" | "m4v" => "video/mp4",
        "webm" => "video/webm",
        "mov" => "video/quicktime",
        "pdf" => "application/pdf",
        "doc" => "application/msword",
        "docx" => "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        "exe" | "sh" | "js" | "html" | "htm" | "svg" | "php" => "application/x-executable",
        _ => return None,
    })
}

fn family(m: &str) -> &str {
    m.split('/').next().unwrap_or(m)
}

/// A declared type (Content-Type) or file extension that disagrees with the bytes is a lie.
pub fn check_declared(declared: Option<&str>, name: &str, detected: &str) -> Result<()> {
    let mismatch = |d: &str| Error::AssetTypeMismatch {
        declared: d.to_string(),
        detected: detected.to_string(),
    };
    if let Some(d) = declared
        .map(canonical)
        .filter(|d| !d.is_empty() && d != "application/octet-stream")
    {
        let same = if family(&d) == "image" {
            d == detected
        } else {
            family(&d) == family(detected)
        };
        if !same {
            return Err(mismatch(&d));
        }
    }
    if let Some(e) = type_of_extension(name) {
        let same = if family(e) == "image" {
            e == detected
        } else {
            family(e) == family(detected)
        };
        if !same {
            return Err(mismatch(name));
        }
    }
    Ok(())
}

/// A display file name: no directories, no control characters, no traversal.
pub fn validate_file_name(name: &str) -> Result<String> {
    let n = name.trim();
    let bad = n.is_empty()
        || n.len() > 255
        || n == "."
        || n.starts_with("..")
        || n.contains(['/', '\\', '\0'])
        || n.chars().any(char::is_control);
    if bad {
        return Err(Error::InvalidName(format!(
            "{n:?}: use a plain file name without directories"
        )));
    }
    Ok(n.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    const PNG: &[u8] = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR";

    #[test]
    fn sniffs_and_refuses_lies() {
        let (m, k) = classify(PNG).unwrap();
        assert_eq!((m.as_str(), k), ("image/png", AssetKind::Image));
        assert!(check_declared(Some("image/png"), "a.png", &m).is_ok());
        assert_eq!(
            check_declared(Some("image/jpeg"), "a.png", &m)
                .unwrap_err()
                .code(),
            "asset_type_mismatch"
        );
        assert_eq!(
            check_declared(None, "a.exe", &m).unwrap_err().code(),
            "asset_type_mismatch"
        );
        assert_eq!(
            classify(b"MZ\x90\0\x03\0\0\0").unwrap_err().code(),
            "asset_type_not_allowed"
        );
        assert_eq!(
            classify(b"hello").unwrap_err().code(),
            "asset_type_not_allowed"
        );
    }

    #[test]
    fn names_cannot_traverse() {
        for n in ["../etc/passwd", "a/b.png", "..", "a\\b", "x\0y", ""] {
            assert_eq!(
                validate_file_name(n).unwrap_err().code(),
                "invalid_name",
                "{n:?}"
            );
        }
        assert_eq!(
            validate_file_name(" 县城夜景.jpg ").unwrap(),
            "县城夜景.jpg"
        );
    }
}
