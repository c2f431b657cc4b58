//! Review chains of an outlet: list, create a chain type, save a new version, version history.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::ts;
use crate::domain::ChainId;
use crate::domain::review::{Chain, Level};
use crate::error::{Error, Resource, Result};
use crate::http::AppState;
use crate::http::auth::Auth;
use crate::http::error::{Json, parse_id};
use crate::workflow::chains::{self, ChainInput as UseCaseInput};
use crate::workflow::outlets;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list, create))
        .routes(routes!(get_one, update))
        .routes(routes!(versions))
}

#[derive(Serialize, ToSchema)]
pub struct ChainDto {
    pub id: u64,
    pub outlet: u64,
    pub slug: String,
    pub name: String,
    pub version: u32,
    pub levels: Vec<Level>,
    pub is_default: bool,
    pub enabled: bool,
    pub updated_by: Option<u64>,
    pub updated_at: String,
}

impl From<&Chain> for ChainDto {
    fn from(c: &Chain) -> Self {
        Self {
            id: c.id.0,
            outlet: c.outlet.0,
            slug: c.slug.clone(),
            name: c.name.clone(),
            version: c.version,
            levels: c.levels.clone(),
            is_default: c.is_default,
            enabled: c.enabled,
            updated_by: c.updated_by.map(|u| u.0),
            updated_at: ts(c.updated_at),
        }
    }
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChainInput {
    /// Chain type, unique per outlet (create only).
    pub slug: Option<String>,
    /// The version this edit was made on (update only).
    pub base_version: Option<u32>,
    pub name: String,
    pub levels: Vec<Level>,
    #[serde(default)]
    pub is_default: bool,
    #[serde(default = "yes")]
    pub enabled: bool,
}

fn yes() -> bool {
    true
}

impl ChainInput {
    fn use_case(&self) -> UseCaseInput {
        UseCaseInput {
            name: self.name.clone(),
            levels: self.levels.clone(),
            is_default: self.is_default,
            enabled: self.enabled,
        }
    }
}

#[utoipa::path(get, path = "/api/v1/outlets/{id}/chains", tag = "review", params(("id" = String, Path, description = "outlet id or slug")), responses((status = 200, body = Vec<ChainDto>)))]
async fn list(
    State(s): State<AppState>,
    auth: Auth,
    Path(key): Path<String>,
) -> Result<Json<Vec<ChainDto>>> {
    let r = s.core.reader()?;
    let outlet = outlets::resolve(&r.0, &key)?.id;
    Ok(Json(
        chains::list(&r, &auth.actor, outlet)?
            .iter()
            .map(ChainDto::from)
            .collect(),
    ))
}

#[utoipa::path(post, path = "/api/v1/outlets/{id}/chains", tag = "review", params(("id" = String, Path)), request_body = ChainInput, responses((status = 201, body = ChainDto)))]
async fn create(
    State(s): State<AppState>,
    auth: Auth,
    Path(key): Path<String>,
    Json(i): Json<ChainInput>,
) -> Result<(StatusCode, Json<ChainDto>)> {
    let outlet = outlets::resolve(&s.core.reader()?.0, &key)?.id;
    let slug = i
        .slug
        .clone()
        .ok_or_else(|| Error::invalid("slug", "required when creating a chain"))?;
    let input = i.use_case();
    let c = s
        .core
        .committer
        .write(move |w| chains::create(w, &auth.actor, outlet, &slug, &input))
        .await?;
    Ok((StatusCode::CREATED, Json(ChainDto::from(&c))))
}

#[utoipa::path(get, path = "/api/v1/chains/{id}", tag = "review", params(("id" = u64, Path)), responses((status = 200, body = ChainDto)))]
async fn get_one(
    State(s): State<AppState>,
    auth: Auth,
    Path(raw): Path<String>,
) -> Result<Json<ChainDto>> {
    let id = ChainId(parse_id(&raw, Resource::Chain)?);
    Ok(Json(ChainDto::from(&chains::get(
        &s.core.reader()?,
        &auth.actor,
        id,
    )?)))
}

#[utoipa::path(put, path = "/api/v1/chains/{id}", tag = "review", params(("id" = u64, Path)), request_body = ChainInput, responses((status = 200, body = ChainDto)))]
async fn update(
    State(s): State<AppState>,
    auth: Auth,
    Path(raw): Path<String>,
    Json(i): Json<ChainInput>,
) -> Result<Json<ChainDto>> {
    let id = ChainId(parse_id(&raw, Resource::Chain)?);
    let base = i.base_version.ok_or_else(|| {
        Error::invalid(
            "base_version",
            "required: the version this edit was made on",
        )
    })?;
    if i.slug.is_some() {
        return Err(Error::invalid("slug", "cannot be changed"));
    }
    let input = i.use_case();
    let c = s
        .core
        .committer
        .write(move |w| chains::update(w, &auth.actor, id, base, &input))
        .await?;
    Ok(Json(ChainDto::from(&c)))
}

#[utoipa::path(get, path = "/api/v1/chains/{id}/versions", tag = "review", params(("id" = u64, Path)), responses((status = 200, body = Vec<ChainDto>)))]
async fn versions(
    State(s): State<AppState>,
    auth: Auth,
    Path(raw): Path<String>,
) -> Result<Json<Vec<ChainDto>>> {
    let id = ChainId(parse_id(&raw, Resource::Chain)?);
    Ok(Json(
        chains::history(&s.core.reader()?, &auth.actor, id)?
            .iter()
            .map(ChainDto::from)
            .collect(),
    ))
}
