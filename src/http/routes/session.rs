//! Login sessions: log in, who am I, log out, log out everywhere, change password.

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, State};
use axum::http::StatusCode;
use axum_extra::extract::cookie::CookieJar;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::users::UserDto;
use crate::error::Result;
use crate::http::AppState;
use crate::http::auth::{Auth, expired_cookie, session_cookie};
use crate::http::error::Json;
use crate::workflow::{sessions, users};

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(login, whoami, logout))
        .routes(routes!(revoke_all))
        .routes(routes!(change_password))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginInput {
    pub username: String,
    pub password: String,
}

#[derive(Serialize, ToSchema)]
pub struct SessionDto {
    pub user: UserDto,
    /// Send as `X-CSRF-Token` on every POST/PUT/PATCH/DELETE made with the session cookie.
    pub csrf_token: Option<String>,
}

#[utoipa::path(post, path = "/api/v1/session", tag = "session", request_body = LoginInput,
    responses((status = 200, body = SessionDto), (status = 401, body = crate::http::error::ErrorBody), (status = 429, body = crate::http::error::ErrorBody)))]
async fn login(
    State(s): State<AppState>,
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
    jar: CookieJar,
    Json(input): Json<LoginInput>,
) -> Result<(CookieJar, Json<SessionDto>)> {
    let ns = sessions::login(
        &s.core,
        input.username.trim(),
        &input.password,
        &addr.ip().to_string(),
    )
    .await?;
    let max_age = (ns.expires_at - s.core.clock.now()) / 1000;
    let jar = jar.add(session_cookie(
        ns.cookie,
        max_age,
        s.core.config.auth.cookie_secure,
    ));
    Ok((
        jar,
        Json(SessionDto {
            user: UserDto::from(&ns.user),
            csrf_token: Some(ns.csrf),
        }),
    ))
}

#[utoipa::path(get, path = "/api/v1/session", tag = "session", responses((status = 200, body = SessionDto), (status = 401, body = crate::http::error::ErrorBody)))]
async fn whoami(auth: Auth) -> Json<SessionDto> {
    Json(SessionDto {
        user: UserDto::from(&auth.actor.user),
        csrf_token: auth.csrf,
    })
}

#[utoipa::path(delete, path = "/api/v1/session", tag = "session", responses((status = 204)))]
async fn logout(
    State(s): State<AppState>,
    auth: Auth,
    jar: CookieJar,
) -> Result<(CookieJar, StatusCode)> {
    if let Some(c) = &auth.cookie {
        sessions::logout(&s.core, c).await?;
    }
    Ok((
        jar.add(expired_cookie(s.core.config.auth.cookie_secure)),
        StatusCode::NO_CONTENT,
    ))
}

#[utoipa::path(post, path = "/api/v1/session/revoke-all", tag = "session", responses((status = 204)))]
async fn revoke_all(State(s): State<AppState>, auth: Auth) -> Result<StatusCode> {
    let (actor, id) = (auth.actor.clone(), auth.actor.id());
    s.core
        .committer
        .write(move |w| users::revoke_sessions(w, &actor, id))
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PasswordChange {
    pub old_password: String,
    pub new_password: String,
}

#[utoipa::path(put, path = "/api/v1/me/password", tag = "session", request_body = PasswordChange,
    responses((status = 204), (status = 401, body = crate::http::error::ErrorBody)))]
async fn change_password(
    State(s): State<AppState>,
    auth: Auth,
    Json(p): Json<PasswordChange>,
) -> Result<StatusCode> {
    sessions::change_password(
        &s.core,
        &auth.actor,
        auth.cookie.as_deref(),
        &p.old_password,
        &p.new_password,
    )
    .await?;
    Ok(StatusCode::NO_CONTENT)
}
