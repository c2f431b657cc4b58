//! Secrets: argon2id password hashes, random tokens, and API tokens (stored as SHA-256 of the
//! secret: tokens carry 256 bits of entropy, so a fast hash is sufficient and lookups stay cheap).

use argon2::password_hash::{PasswordHasher, PasswordVerifier, phc::PasswordHash};
use base64::Engine;
use rand::RngCore;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::{TokenId, UserId};
use crate::clock::Millis;
use crate::error::{Error, Result};

/// What an API token may be used for (on top of its user's own permissions).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Scope {
    /// Read what the user can read.
    Read,
    /// Create and change articles and assets.
    Write,
    /// Manage outlets, users and tokens (instance admins only).
    Admin,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ApiToken {
    pub id: TokenId,
    pub user: UserId,
    pub name: String,
    pub scopes: Vec<Scope>,
    /// Hex SHA-256 of the secret part.
    pub secret_sha256: String,
    pub created_at: Millis,
    pub expires_at: Option<Millis>,
    pub revoked_at: Option<Millis>,
}

impl ApiToken {
    pub fn usable(&self, now: Millis) -> bool {
        self.revoked_at.is_none() && self.expires_at.is_none_or(|e| now < e)
    }
}

/// 32 random bytes, URL-safe base64 (43 characters).
pub fn random_token() -> String {
    let mut b = [0u8; 32];
    rand::rng().fill_bytes(&mut b);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b)
}

pub fn sha256_hex(s: &str) -> String {
    hex::encode(Sha256::digest(s.as_bytes()))
}

/// Compare two secrets without leaking where they differ (compares their digests).
pub fn secrets_equal(a: &str, b: &str) -> bool {
    Sha256::digest(a.as_bytes()) == Sha256::digest(b.as_bytes())
}

/// The full token a client presents: `rmt_<id>_<secret>`.
pub fn format_api_token(id: TokenId, secret: &str) -> String {
    format!("rmt_{}_{secret}", id.0)
}

pub fn parse_api_token(s: &str) -> Option<(TokenId, &str)> {
    let rest = s.strip_prefix("rmt_")?;
    let (id, secret) = rest.split_once('_')?;
    Some((TokenId(id.parse().ok()?), secret))
}

/// A readable initial password: 16 characters from an unambiguous alphabet.
pub fn generate_password() -> String {
    const ALPHABET: &[u8] = b"abcdefghjkmnpqrstuvwxyzABCDEFGHJKMNPQRSTUVWXYZ23456789";
    let mut rng = rand::rng();
    (0..16)
        .map(|_| ALPHABET[(rng.next_u32() as usize) % ALPHABET.len()] as char)
        .collect()
}

/// argon2id with the crate's default (OWASP) parameters. CPU-heavy: call off the async runtime.
pub fn hash_password(pw: &str) -> Result<String> {
    argon2::Argon2::default()
        .hash_password(pw.as_bytes())
        .map(|h| h.to_string())
        .map_err(|e| Error::Internal(format!("password hashing failed: {e}")))
}

pub fn verify_password(phc: &str, pw: &str) -> bool {
    match PasswordHash::new(phc) {
        Ok(h) => argon2::Argon2::default()
            .verify_password(pw.as_bytes(), &h)
            .is_ok(),
        Err(_) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn api_tokens_parse() {
        let t = format_api_token(TokenId(42), "abc_def");
        assert_eq!(parse_api_token(&t), Some((TokenId(42), "abc_def")));
        assert_eq!(parse_api_token("rmt_x_y"), None);
        assert_eq!(parse_api_token("Bearer"), None);
    }

    #[test]
    fn passwords_verify() {
        let h = hash_password("correct horse battery").unwrap();
        assert!(h.starts_with("$argon2id$"));
        assert!(verify_password(&h, "correct horse battery"));
        assert!(!verify_password(&h, "wrong"));
        assert!(!verify_password("garbage", "x"));
    }
}

/// A login session (local to the installation, never shipped). Stored under SHA-256 of the cookie.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Session {
    pub user: UserId,
    /// Synchronizer token the client must echo in `X-CSRF-Token` on cookie-authenticated writes.
    pub csrf: String,
    pub created_at: Millis,
    pub expires_at: Millis,
    /// The user's `session_generation` when the session began.
    pub generation: u32,
}
