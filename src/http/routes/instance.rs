//! Instance information and the replication log (instance administrators).

use axum::extract::State;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::ts;
use crate::domain::Lsn;
use crate::error::{Error, Result};
use crate::http::AppState;
use crate::http::auth::Auth;
use crate::http::error::{Json, Query};
use crate::store::access;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(info))
        .routes(routes!(log))
}

#[derive(Serialize, ToSchema)]
pub struct InstanceDto {
    pub instance_id: String,
    pub epoch: u64,
    pub role: String,
    pub version: &'static str,
    pub log_head: u64,
    pub created_at: String,
}

#[utoipa::path(get, path = "/api/v1/instance", tag = "instance", responses((status = 200, body = InstanceDto)))]
async fn info(State(s): State<AppState>, _auth: Auth) -> Result<Json<InstanceDto>> {
    let r = s.core.reader()?;
    let m = access::instance(&r.0)?
        .ok_or_else(|| Error::Internal("instance not initialized".into()))?;
    Ok(Json(InstanceDto {
        instance_id: m.instance_id.0,
        epoch: m.epoch.0,
        role: m.role,
        version: env!("CARGO_PKG_VERSION"),
        log_head: s.core.committer.log_watch().current().0,
        created_at: ts(m.created_at),
    }))
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct LogQuery {
    /// First lsn (default 1).
    pub from: Option<u64>,
    /// At most this many entries (1–1000, default 100).
    pub limit: Option<usize>,
}

#[derive(Serialize, ToSchema)]
pub struct LogEntryDto {
    pub lsn: u64,
    pub epoch: u64,
    pub at: String,
    pub actor: Option<u64>,
    pub kind: &'static str,
    pub hash: String,
    #[schema(value_type = Object)]
    pub fact: serde_json::Value,
}

#[utoipa::path(get, path = "/api/v1/log", tag = "instance", params(LogQuery), responses((status = 200, body = Vec<LogEntryDto>)))]
async fn log(
    State(s): State<AppState>,
    auth: Auth,
    Query(q): Query<LogQuery>,
) -> Result<Json<Vec<LogEntryDto>>> {
    auth.actor.require_instance_admin()?;
    let limit = q.limit.unwrap_or(100).clamp(1, 1000);
    let entries = crate::log::read_range(&s.core.db, Lsn(q.from.unwrap_or(1)), limit)?;
    Ok(Json(
        entries
            .into_iter()
            .map(|e| LogEntryDto {
                lsn: e.lsn.0,
                epoch: e.epoch.0,
                at: ts(e.at),
                actor: e.actor.map(|u| u.0),
                kind: e.fact.kind(),
                hash: e.hash,
                fact: redact(serde_json::to_value(&e.fact).unwrap_or_default()),
            })
            .collect(),
    ))
}

/// Password hashes and token digests never leave through the API.
fn redact(mut v: serde_json::Value) -> serde_json::Value {
    if let Some(o) = v.as_object_mut() {
        if o.contains_key("phc") {
            o.insert("phc".into(), "[redacted]".into());
        }
        if let Some(t) = o.get_mut("token").and_then(|t| t.as_object_mut()) {
            t.insert("secret_sha256".into(), "[redacted]".into());
        }
    }
    v
}
