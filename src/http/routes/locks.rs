//! Edit locks on articles: see who is editing, take/renew (heartbeat), release, take over.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::ts;
use crate::domain::ArticleId;
use crate::error::{Resource, Result};
use crate::http::AppState;
use crate::http::auth::Auth;
use crate::http::error::{Json, parse_id};
use crate::workflow::articles;
use crate::workflow::locks::{self, LOCK_TTL_MS, Lock};

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(show, acquire, release))
        .routes(routes!(take))
}

#[derive(Serialize, ToSchema)]
pub struct LockDto {
    pub user: u64,
    pub name: String,
    pub since: String,
    pub expires: String,
}

impl From<&Lock> for LockDto {
    fn from(l: &Lock) -> Self {
        Self {
            user: l.user.0,
            name: l.name.clone(),
            since: ts(l.since),
            expires: ts(l.expires),
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct LockState {
    pub lock: Option<LockDto>,
    /// The caller holds it.
    pub mine: bool,
    /// The caller may take it over (needs a reason; recorded).
    pub can_take: bool,
    /// Send a heartbeat (POST) at least this often to keep the lock.
    pub ttl_seconds: i64,
}

fn id(raw: &str) -> Result<ArticleId> {
    Ok(ArticleId(parse_id(raw, Resource::Article)?))
}

#[utoipa::path(get, path = "/api/v1/articles/{id}/lock", tag = "locks", params(("id" = u64, Path)), responses((status = 200, body = LockState)))]
async fn show(
    State(s): State<AppState>,
    auth: Auth,
    Path(raw): Path<String>,
) -> Result<Json<LockState>> {
    let id = id(&raw)?;
    let art = articles::get(&s.core.reader()?.0, &auth.actor, id)?;
    let l = s.core.locks.current(id, s.core.clock.now());
    let mine = l.as_ref().is_some_and(|l| l.user == auth.actor.id());
    Ok(Json(LockState {
        can_take: l.is_some() && !mine && locks::may_take(&auth.actor, &art),
        mine,
        lock: l.as_ref().map(LockDto::from),
        ttl_seconds: LOCK_TTL_MS / 1000,
    }))
}

#[utoipa::path(post, path = "/api/v1/articles/{id}/lock", tag = "locks", params(("id" = u64, Path)),
    responses((status = 200, body = LockDto), (status = 423, description = "article_locked: someone else is editing", body = crate::http::error::ErrorBody)))]
async fn acquire(
    State(s): State<AppState>,
    auth: Auth,
    Path(raw): Path<String>,
) -> Result<Json<LockDto>> {
    let id = id(&raw)?;
    let r = s.core.reader()?;
    let l = s
        .core
        .locks
        .acquire(&r.0, &auth.actor, id, s.core.clock.now())?;
    Ok(Json(LockDto::from(&l)))
}

#[utoipa::path(delete, path = "/api/v1/articles/{id}/lock", tag = "locks", params(("id" = u64, Path)), responses((status = 204)))]
async fn release(
    State(s): State<AppState>,
    auth: Auth,
    Path(raw): Path<String>,
) -> Result<StatusCode> {
    let id = id(&raw)?;
    articles::get(&s.core.reader()?.0, &auth.actor, id)?;
    s.core.locks.release(&auth.actor, id);
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TakeInput {
    pub reason: String,
}

#[utoipa::path(post, path = "/api/v1/articles/{id}/lock/take", tag = "locks", params(("id" = u64, Path)), request_body = TakeInput, responses((status = 200, body = LockDto)))]
async fn take(
    State(s): State<AppState>,
    auth: Auth,
    Path(raw): Path<String>,
    Json(i): Json<TakeInput>,
) -> Result<Json<LockDto>> {
    let id = id(&raw)?;
    let (locks, actor) = (s.core.locks.clone(), auth.actor.clone());
    s.core
        .committer
        .write(move |w| locks.take(w, &actor, id, &i.reason))
        .await?;
    let l = s.core.locks.install(&auth.actor, id, s.core.clock.now());
    Ok(Json(LockDto::from(&l)))
}
