//! Rendering of `Error` as `{"code","message","request_id"}` using the one table in `crate::error`,
//! and conversion of axum's extractor rejections into our codes.

use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use crate::error::{Error, Level};

tokio::task_local! {
    /// The id of the request being served (set by the request middleware).
    pub static REQUEST_ID: String;
}

pub fn current_request_id() -> String {
    REQUEST_ID.try_with(Clone::clone).unwrap_or_default()
}

#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct ErrorBody {
    /// Stable machine-readable code, e.g. `revision_conflict`.
    pub code: &'static str,
    /// Human-readable explanation (never internals for 5xx).
    pub message: String,
    pub request_id: String,
    /// For `revision_conflict`: the article's current revision.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub current_revision: Option<u32>,
    /// For `screening_blocked` and `screening_unacknowledged`: the terms concerned.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub terms: Option<Vec<String>>,
}

impl IntoResponse for Error {
    fn into_response(self) -> Response {
        let row = self.row();
        let request_id = current_request_id();
        match row.level {
            Level::Error => tracing::error!(code = row.code, %request_id, "{self}"),
            Level::Warn => tracing::warn!(code = row.code, %request_id, "{self}"),
            Level::Info => tracing::info!(code = row.code, %request_id, "{self}"),
            Level::Debug => tracing::debug!(code = row.code, %request_id, "{self}"),
        }
        let current_revision = match &self {
            Error::RevisionConflict { current, .. } => Some(*current),
            _ => None,
        };
        let terms = match &self {
            Error::ScreeningBlocked { terms } | Error::ScreeningUnacknowledged { terms } => {
                Some(terms.clone())
            }
            _ => None,
        };
        let body = ErrorBody {
            code: row.code,
            message: self.public_message(),
            request_id,
            current_revision,
            terms,
        };
        let status = StatusCode::from_u16(row.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let mut resp = (status, axum::Json(body)).into_response();
        if let Error::LoginRateLimited { retry_after_secs } = self
            && let Ok(v) = HeaderValue::from_str(&retry_after_secs.to_string())
        {
            resp.headers_mut().insert(header::RETRY_AFTER, v);
        }
        resp
    }
}

impl From<JsonRejection> for Error {
    fn from(r: JsonRejection) -> Self {
        match r.status().as_u16() {
            413 => Error::PayloadTooLarge,
            415 => Error::UnsupportedMediaType("application/json"),
            _ => Error::InvalidJson(r.body_text()),
        }
    }
}

impl From<QueryRejection> for Error {
    fn from(r: QueryRejection) -> Self {
        Error::InvalidQuery(r.body_text())
    }
}

impl From<PathRejection> for Error {
    fn from(_: PathRejection) -> Self {
        Error::NotFound(crate::error::Resource::Route)
    }
}

/// JSON body extractor with our error codes (unknown fields are rejected by the DTOs).
#[derive(axum::extract::FromRequest)]
#[from_request(via(axum::Json), rejection(Error))]
pub struct Json<T>(pub T);

impl<T: serde::Serialize> IntoResponse for Json<T> {
    fn into_response(self) -> Response {
        axum::Json(self.0).into_response()
    }
}

/// Query-string extractor with our error codes.
#[derive(axum::extract::FromRequestParts)]
#[from_request(via(axum::extract::Query), rejection(Error))]
pub struct Query<T>(pub T);

/// Parse a numeric id from a path segment; anything else is "not found" for that resource.
pub fn parse_id(s: &str, r: crate::error::Resource) -> Result<u64, Error> {
    s.parse::<u64>().map_err(|_| Error::NotFound(r))
}

pub async fn method_not_allowed() -> Error {
    Error::MethodNotAllowed
}
