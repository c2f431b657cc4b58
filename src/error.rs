//! The crate error and the ONE table that maps every error to a stable code, an HTTP status and a log
//! level. Handlers never pick status codes themselves; they return `Error` and `http::error` renders
//! `{"code","message","request_id"}` from this table. 5xx messages never carry internals.

use std::fmt;

/// Things that can be missing; each has its own stable `*_not_found` code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resource {
    Article,
    Version,
    Outlet,
    User,
    Asset,
    Token,
    Chain,
    Review,
    Topic,
    Comment,
    Lexicon,
    Peer,
    Instruction,
    Shared,
    Route,
}

/// Log level an error is reported at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    Debug,
    Info,
    Warn,
    Error,
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("invalid {field}: {reason}")]
    InvalidInput { field: &'static str, reason: String },
    #[error("request body is not valid JSON for this endpoint: {0}")]
    InvalidJson(String),
    #[error("invalid query parameters: {0}")]
    InvalidQuery(String),
    #[error("request body too large")]
    PayloadTooLarge,
    #[error("content type must be {0}")]
    UnsupportedMediaType(&'static str),
    #[error("{0:?} not found")]
    NotFound(Resource),
    #[error("{0:?} already exists")]
    AlreadyExists(Resource),
    #[error("the article changed since revision {expected}; the current revision is {current}")]
    RevisionConflict { expected: u32, current: u32 },
    #[error("invalid transition: {0}")]
    InvalidTransition(String),
    #[error("the review moved on: you decided on level {}, it is now at level {}", .expected + 1, .current + 1)]
    StaleReview { expected: u8, current: u8 },
    #[error("you already approved this level")]
    AlreadyDecided,
    #[error("this review cannot be completed: {0}")]
    ReviewUnsatisfiable(String),
    #[error("{holder} is editing this article (lock held until {until})")]
    ArticleLocked { holder: String, until: String },
    #[error("the article contains blocked terms ({}); a chief editor may override them with a reason", .terms.join("、"))]
    ScreeningBlocked { terms: Vec<String> },
    #[error("the article contains terms reviewers must acknowledge ({}); approve again acknowledging them", .terms.join("、"))]
    ScreeningUnacknowledged { terms: Vec<String> },
    #[error("this is a read-only disaster-recovery replica; write on the primary")]
    ReadOnlyReplica,
    #[error("the pairing token is unknown, used or expired; ask the primary's admin for a new one")]
    PairingInvalid,
    #[error("position {follower} is not on this instance's history (here: {here})")]
    HistoryDiverged { follower: String, here: String },
    #[error("backup refused: {0}")]
    BackupInvalid(String),
    #[error("entry {lsn} is from instance {instance}, not from the county this certificate names")]
    OriginMismatch { instance: String, lsn: u64 },
    /// (The reason the revoking admin gave.)
    #[error("revoked: {0}")]
    PeerRevoked(String),
    #[error(
        "the batch continues from entry {after}, but the hub has this county's log up to entry {hub}: send from there"
    )]
    BatchOutOfOrder { after: u64, hub: u64 },
    #[error("this county is quarantined at the hub: {0}")]
    CountyQuarantined(String),
    #[error("the file has not arrived from the hub yet; try again shortly")]
    AttachmentPending,
    #[error("this needs an instance in {0} role")]
    WrongRole(String),
    #[error("the asset is used by {articles} article(s) and cannot be deleted")]
    AssetInUse { articles: u64 },
    #[error("upload exceeds the limit of {limit} bytes")]
    AssetTooLarge { limit: u64 },
    #[error("file type {detected} is not accepted")]
    AssetTypeNotAllowed { detected: String },
    #[error("declared type {declared} does not match the content ({detected})")]
    AssetTypeMismatch { declared: String, detected: String },
    #[error("invalid file name: {0}")]
    InvalidName(String),
    #[error("authentication required")]
    Unauthenticated,
    #[error("the session has expired; please log in again")]
    SessionExpired,
    #[error("wrong username or password")]
    InvalidCredentials,
    #[error("too many failed logins; try again in {retry_after_secs} s")]
    LoginRateLimited { retry_after_secs: u64 },
    #[error("missing or wrong CSRF token (send the X-CSRF-Token header)")]
    CsrfInvalid,
    #[error("you are not allowed to do this")]
    Forbidden,
    #[error("method not allowed")]
    MethodNotAllowed,
    #[error("the server is shutting down")]
    ShuttingDown,
    #[error("search is not available yet: {0}")]
    SearchUnavailable(String),
    #[error("a search index rebuild is already running")]
    RebuildInProgress,
    #[error("search index error: {0}")]
    SearchIndex(String),
    #[error("configuration error: {0}")]
    Config(String),
    #[error("store error: {0}")]
    Store(String),
    #[error("log integrity error: {0}")]
    LogIntegrity(String),
    #[error("I/O error: {0}")]
    Io(String),
    #[error("internal error: {0}")]
    Internal(String),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// One row of the table.
#[derive(Debug, Clone, Copy)]
pub struct Row {
    pub code: &'static str,
    pub status: u16,
    pub level: Level,
}

const fn row(code: &'static str, status: u16, level: Level) -> Row {
    Row {
        code,
        status,
        level,
    }
}

impl Error {
    /// THE table: stable code, HTTP status, log level.
    pub fn row(&self) -> Row {
        use Level::{Debug, Info, Warn};
        match self {
            Error::InvalidInput { .. } => row("invalid_input", 400, Debug),
            Error::InvalidJson(_) => row("invalid_json", 400, Debug),
            Error::InvalidQuery(_) => row("invalid_query", 400, Debug),
            Error::PayloadTooLarge => row("payload_too_large", 413, Info),
            Error::UnsupportedMediaType(_) => row("unsupported_media_type", 415, Debug),
            Error::NotFound(r) => row(not_found_code(*r), 404, Debug),
            Error::AlreadyExists(r) => row(exists_code(*r), 409, Debug),
            Error::RevisionConflict { .. } => row("revision_conflict", 409, Debug),
            Error::InvalidTransition(_) => row("invalid_transition", 409, Debug),
            Error::StaleReview { .. } => row("review_level_changed", 409, Debug),
            Error::AlreadyDecided => row("already_decided", 409, Debug),
            Error::ReviewUnsatisfiable(_) => row("review_unsatisfiable", 409, Info),
            Error::ArticleLocked { .. } => row("article_locked", 423, Debug),
            Error::ScreeningBlocked { .. } => row("screening_blocked", 422, Debug),
            Error::ScreeningUnacknowledged { .. } => row("screening_unacknowledged", 422, Debug),
            Error::ReadOnlyReplica => row("read_only_replica", 403, Debug),
            Error::PairingInvalid => row("pairing_invalid", 403, Info),
            Error::HistoryDiverged { .. } => row("history_diverged", 409, Warn),
            Error::BackupInvalid(_) => row("backup_invalid", 422, Warn),
            Error::OriginMismatch { .. } => row("origin_mismatch", 403, Warn),
            Error::PeerRevoked(_) => row("peer_revoked", 403, Info),
            Error::CountyQuarantined(_) => row("county_quarantined", 409, Warn),
            Error::AttachmentPending => row("attachment_pending", 409, Debug),
            Error::BatchOutOfOrder { .. } => row("batch_out_of_order", 409, Info),
            Error::WrongRole(_) => row("wrong_role", 409, Info),
            Error::AssetInUse { .. } => row("asset_in_use", 409, Debug),
            Error::AssetTooLarge { .. } => row("asset_too_large", 413, Info),
            Error::AssetTypeNotAllowed { .. } => row("asset_type_not_allowed", 415, Info),
            Error::AssetTypeMismatch { .. } => row("asset_type_mismatch", 415, Info),
            Error::InvalidName(_) => row("invalid_name", 400, Info),
            Error::Unauthenticated => row("unauthenticated", 401, Debug),
            Error::SessionExpired => row("session_expired", 401, Debug),
            Error::InvalidCredentials => row("invalid_credentials", 401, Info),
            Error::LoginRateLimited { .. } => row("login_rate_limited", 429, Warn),
            Error::CsrfInvalid => row("csrf_token_invalid", 403, Warn),
            Error::Forbidden => row("forbidden", 403, Info),
            Error::MethodNotAllowed => row("method_not_allowed", 405, Debug),
            Error::ShuttingDown => row("shutting_down", 503, Info),
            Error::SearchUnavailable(_) => row("search_unavailable", 503, Info),
            Error::RebuildInProgress => row("search_rebuild_in_progress", 409, Debug),
            Error::SearchIndex(_) => row("search_index_error", 500, Level::Error),
            Error::Config(_) => row("config_invalid", 500, Level::Error),
            Error::Store(_) => row("storage_error", 500, Level::Error),
            Error::LogIntegrity(_) => row("log_integrity", 500, Level::Error),
            Error::Io(_) => row("io_error", 500, Level::Error),
            Error::Internal(_) => row("internal", 500, Level::Error),
        }
    }

    pub fn code(&self) -> &'static str {
        self.row().code
    }

    /// The message a client sees: the error text for 4xx, a generic sentence for 5xx.
    pub fn public_message(&self) -> String {
        if self.row().status >= 500 {
            match self {
                Error::ShuttingDown | Error::SearchUnavailable(_) => self.to_string(),
                _ => "internal server error; see the server log".to_string(),
            }
        } else {
            self.to_string()
        }
    }

    pub fn invalid(field: &'static str, reason: impl fmt::Display) -> Self {
        Error::InvalidInput {
            field,
            reason: reason.to_string(),
        }
    }
}

fn not_found_code(r: Resource) -> &'static str {
    match r {
        Resource::Article => "article_not_found",
        Resource::Version => "version_not_found",
        Resource::Outlet => "outlet_not_found",
        Resource::User => "user_not_found",
        Resource::Asset => "asset_not_found",
        Resource::Token => "token_not_found",
        Resource::Chain => "chain_not_found",
        Resource::Review => "review_not_found",
        Resource::Topic => "topic_not_found",
        Resource::Comment => "comment_not_found",
        Resource::Lexicon => "lexicon_not_found",
        Resource::Peer => "peer_not_found",
        Resource::Instruction => "instruction_not_found",
        Resource::Shared => "shared_not_found",
        Resource::Route => "route_not_found",
    }
}

fn exists_code(r: Resource) -> &'static str {
    match r {
        Resource::Outlet => "outlet_exists",
        Resource::User => "user_exists",
        Resource::Chain => "chain_exists",
        Resource::Peer => "peer_exists",
        _ => "already_exists",
    }
}

impl From<std::io::Error> for Error {
    fn from(e: std::io::Error) -> Self {
        Error::Io(e.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_4xx_has_a_distinct_code_and_5xx_hide_internals() {
        let e = Error::Store("page 17 checksum".into());
        assert_eq!(e.row().status, 500);
        assert!(!e.public_message().contains("page 17"));
        let e = Error::RevisionConflict {
            expected: 1,
            current: 3,
        };
        assert_eq!(e.code(), "revision_conflict");
        assert!(e.public_message().contains('3'));
        assert_eq!(
            Error::NotFound(Resource::Article).code(),
            "article_not_found"
        );
    }
}
