//! API tokens for machine clients.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::ts;
use crate::clock::parse_time;
use crate::domain::TokenId;
use crate::domain::credentials::{ApiToken, Scope};
use crate::error::{Error, Resource, Result};
use crate::http::AppState;
use crate::http::auth::Auth;
use crate::http::error::{Json, parse_id};
use crate::workflow::tokens;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list, create))
        .routes(routes!(revoke))
}

#[derive(Serialize, ToSchema)]
pub struct TokenDto {
    pub id: u64,
    pub user: u64,
    pub name: String,
    pub scopes: Vec<Scope>,
    pub created_at: String,
    pub expires_at: Option<String>,
    pub revoked_at: Option<String>,
}

impl From<&ApiToken> for TokenDto {
    fn from(t: &ApiToken) -> Self {
        Self {
            id: t.id.0,
            user: t.user.0,
            name: t.name.clone(),
            scopes: t.scopes.clone(),
            created_at: ts(t.created_at),
            expires_at: t.expires_at.map(ts),
            revoked_at: t.revoked_at.map(ts),
        }
    }
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewToken {
    pub name: String,
    pub scopes: Vec<Scope>,
    /// RFC 3339 time or YYYY-MM-DD; omit for no expiry.
    pub expires_at: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct CreatedToken {
    pub token: TokenDto,
    /// Use as `Authorization: Bearer <secret>`. Shown once; only its hash is stored.
    pub secret: String,
}

#[utoipa::path(get, path = "/api/v1/tokens", tag = "tokens", responses((status = 200, body = Vec<TokenDto>)))]
async fn list(State(s): State<AppState>, auth: Auth) -> Result<Json<Vec<TokenDto>>> {
    Ok(Json(
        tokens::list(&s.core.reader()?, &auth.actor)?
            .iter()
            .map(TokenDto::from)
            .collect(),
    ))
}

#[utoipa::path(post, path = "/api/v1/tokens", tag = "tokens", request_body = NewToken, responses((status = 201, body = CreatedToken)))]
async fn create(
    State(s): State<AppState>,
    auth: Auth,
    Json(n): Json<NewToken>,
) -> Result<(StatusCode, Json<CreatedToken>)> {
    let expires = match &n.expires_at {
        Some(t) => Some(
            parse_time(t)
                .ok_or_else(|| Error::invalid("expires_at", "use RFC 3339 or YYYY-MM-DD"))?,
        ),
        None => None,
    };
    let (t, secret) = s
        .core
        .committer
        .write(move |w| tokens::create(w, &auth.actor, &n.name, &n.scopes, expires))
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(CreatedToken {
            token: TokenDto::from(&t),
            secret,
        }),
    ))
}

#[utoipa::path(delete, path = "/api/v1/tokens/{id}", tag = "tokens", params(("id" = u64, Path)), responses((status = 204)))]
async fn revoke(
    State(s): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
) -> Result<StatusCode> {
    let id = TokenId(parse_id(&id, Resource::Token)?);
    s.core
        .committer
        .write(move |w| tokens::revoke(w, &auth.actor, id))
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
