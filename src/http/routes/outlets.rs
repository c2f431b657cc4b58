//! Outlets (TV, radio, app, WeChat, website ...).

use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::ts;
use crate::domain::OutletId;
use crate::domain::outlet::{Outlet, OutletKind};
use crate::error::{Resource, Result};
use crate::http::AppState;
use crate::http::auth::Auth;
use crate::http::error::{Json, parse_id};
use crate::workflow::outlets;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list, create))
        .routes(routes!(get_one, update))
}

#[derive(Serialize, ToSchema)]
pub struct OutletDto {
    pub id: u64,
    pub slug: String,
    pub name: String,
    pub kind: OutletKind,
    pub created_at: String,
    pub updated_at: String,
}

impl From<&Outlet> for OutletDto {
    fn from(o: &Outlet) -> Self {
        Self {
            id: o.id.0,
            slug: o.slug.clone(),
            name: o.name.clone(),
            kind: o.kind,
            created_at: ts(o.created_at),
            updated_at: ts(o.updated_at),
        }
    }
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewOutlet {
    pub slug: String,
    pub name: String,
    pub kind: OutletKind,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OutletPatch {
    pub name: Option<String>,
    pub kind: Option<OutletKind>,
}

#[utoipa::path(get, path = "/api/v1/outlets", tag = "outlets", responses((status = 200, body = Vec<OutletDto>)))]
async fn list(State(s): State<AppState>, auth: Auth) -> Result<Json<Vec<OutletDto>>> {
    Ok(Json(
        outlets::list(&s.core.reader()?, &auth.actor)?
            .iter()
            .map(OutletDto::from)
            .collect(),
    ))
}

#[utoipa::path(post, path = "/api/v1/outlets", tag = "outlets", request_body = NewOutlet, responses((status = 201, body = OutletDto)))]
async fn create(
    State(s): State<AppState>,
    auth: Auth,
    Json(n): Json<NewOutlet>,
) -> Result<(StatusCode, Json<OutletDto>)> {
    let o = s
        .core
        .committer
        .write(move |w| outlets::create(w, &auth.actor, &n.slug, &n.name, n.kind))
        .await?;
    Ok((StatusCode::CREATED, Json(OutletDto::from(&o))))
}

#[utoipa::path(get, path = "/api/v1/outlets/{id}", tag = "outlets", params(("id" = u64, Path)), responses((status = 200, body = OutletDto)))]
async fn get_one(
    State(s): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
) -> Result<Json<OutletDto>> {
    let id = OutletId(parse_id(&id, Resource::Outlet)?);
    Ok(Json(OutletDto::from(&outlets::get_visible(
        &s.core.reader()?.0,
        &auth.actor,
        id,
    )?)))
}

#[utoipa::path(patch, path = "/api/v1/outlets/{id}", tag = "outlets", params(("id" = u64, Path)), request_body = OutletPatch, responses((status = 200, body = OutletDto)))]
async fn update(
    State(s): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
    Json(p): Json<OutletPatch>,
) -> Result<Json<OutletDto>> {
    let id = OutletId(parse_id(&id, Resource::Outlet)?);
    let o = s
        .core
        .committer
        .write(move |w| outlets::update(w, &auth.actor, id, p.name.as_deref(), p.kind))
        .await?;
    Ok(Json(OutletDto::from(&o)))
}
