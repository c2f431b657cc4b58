//! Request authentication: `Authorization: Bearer rmt_…` API tokens, or the `rongmei_session`
//! cookie, in which case every non-safe method must carry the session's `X-CSRF-Token`.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{Method, header};
use axum_extra::extract::cookie::{Cookie, CookieJar, SameSite};

use super::AppState;
use crate::error::Error;
use crate::workflow::{Actor, sessions};

pub const SESSION_COOKIE: &str = "rongmei_session";
pub const CSRF_HEADER: &str = "x-csrf-token";

/// The authenticated caller.
pub struct Auth {
    pub actor: Actor,
    /// The session cookie, when authenticated by cookie.
    pub cookie: Option<String>,
    pub csrf: Option<String>,
}

impl FromRequestParts<AppState> for Auth {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Error> {
        if let Some(h) = parts.headers.get(header::AUTHORIZATION) {
            let v = h.to_str().map_err(|_| Error::Unauthenticated)?;
            let token = v.strip_prefix("Bearer ").ok_or(Error::Unauthenticated)?;
            let actor = sessions::authenticate_token(&state.core, token.trim())?;
            return Ok(Auth {
                actor,
                cookie: None,
                csrf: None,
            });
        }
        let jar = CookieJar::from_headers(&parts.headers);
        let cookie = jar
            .get(SESSION_COOKIE)
            .map(|c| c.value().to_string())
            .ok_or(Error::Unauthenticated)?;
        let (actor, session) = sessions::authenticate_session(&state.core, &cookie)?;
        let safe = matches!(parts.method, Method::GET | Method::HEAD | Method::OPTIONS);
        if !safe {
            let presented = parts.headers.get(CSRF_HEADER).and_then(|v| v.to_str().ok());
            if !sessions::csrf_ok(&session, presented) {
                return Err(Error::CsrfInvalid);
            }
        }
        Ok(Auth {
            actor,
            cookie: Some(cookie),
            csrf: Some(session.csrf),
        })
    }
}

pub fn session_cookie(value: String, max_age_secs: i64, secure: bool) -> Cookie<'static> {
    Cookie::build((SESSION_COOKIE, value))
        .http_only(true)
        .same_site(SameSite::Strict)
        .secure(secure)
        .path("/")
        .max_age(time::Duration::seconds(max_age_secs))
        .build()
}

pub fn expired_cookie(secure: bool) -> Cookie<'static> {
    session_cookie(String::new(), 0, secure)
}
