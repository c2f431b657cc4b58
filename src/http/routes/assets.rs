//! Media assets: streamed upload, list/search, metadata, download with Range, thumbnail, delete.

use axum::body::Body;
use axum::extract::{Path, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use tower::ServiceExt;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::ts;
use crate::domain::AssetId;
use crate::domain::asset::{Asset, AssetKind};
use crate::error::{Error, Resource, Result};
use crate::http::AppState;
use crate::http::auth::Auth;
use crate::http::error::{Json, Query, parse_id};
use crate::workflow::{assets, outlets};

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list, upload))
        .routes(routes!(get_one, delete))
        .routes(routes!(content))
        .routes(routes!(thumbnail))
}

#[derive(Serialize, ToSchema)]
pub struct AssetDto {
    pub id: u64,
    pub outlet: u64,
    pub name: String,
    pub mime: String,
    pub kind: AssetKind,
    pub size: u64,
    pub sha256: String,
    pub width: Option<u32>,
    pub height: Option<u32>,
    pub url: String,
    pub thumbnail_url: Option<String>,
    pub uploaded_by: u64,
    pub created_at: String,
}

impl From<&Asset> for AssetDto {
    fn from(a: &Asset) -> Self {
        Self {
            id: a.id.0,
            outlet: a.outlet.0,
            name: a.name.clone(),
            mime: a.mime.clone(),
            kind: a.kind,
            size: a.size,
            sha256: a.sha256.clone(),
            width: a.width,
            height: a.height,
            url: format!("/api/v1/assets/{}/content", a.id),
            thumbnail_url: a
                .thumb_sha256
                .as_ref()
                .map(|_| format!("/api/v1/assets/{}/thumbnail", a.id)),
            uploaded_by: a.uploaded_by.0,
            created_at: ts(a.created_at),
        }
    }
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct UploadQuery {
    /// Outlet id or slug.
    pub outlet: String,
    /// Display file name (no directories).
    pub name: String,
}

#[utoipa::path(post, path = "/api/v1/assets", tag = "assets", params(UploadQuery),
    request_body(content = Vec<u8>, description = "the file's bytes; Content-Type is checked against them", content_type = "application/octet-stream"),
    responses((status = 201, body = AssetDto), (status = 413, body = crate::http::error::ErrorBody), (status = 415, body = crate::http::error::ErrorBody)))]
async fn upload(
    State(s): State<AppState>,
    auth: Auth,
    Query(q): Query<UploadQuery>,
    headers: HeaderMap,
    body: Body,
) -> Result<(StatusCode, Json<AssetDto>)> {
    let declared = declared_type(&s, &headers)?;
    let u = assets::Upload {
        outlet: &q.outlet,
        name: &q.name,
        declared_type: declared,
    };
    let a = assets::upload(&s.core, &auth.actor, u, body.into_data_stream()).await?;
    Ok((StatusCode::CREATED, Json(AssetDto::from(&a))))
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct AssetListQuery {
    pub outlet: Option<String>,
    /// image, audio, video or document.
    pub kind: Option<String>,
    /// Part of the file name.
    pub q: Option<String>,
    /// Return assets with ids below this (the last id of the previous page).
    pub before: Option<u64>,
    pub limit: Option<usize>,
}

#[utoipa::path(get, path = "/api/v1/assets", tag = "assets", params(AssetListQuery), responses((status = 200, body = Vec<AssetDto>)))]
async fn list(
    State(s): State<AppState>,
    auth: Auth,
    Query(q): Query<AssetListQuery>,
) -> Result<Json<Vec<AssetDto>>> {
    let r = s.core.reader()?;
    let outlet = q
        .outlet
        .as_deref()
        .map(|o| outlets::resolve(&r.0, o).map(|o| o.id))
        .transpose()?;
    let kind = q
        .kind
        .as_deref()
        .map(|k| {
            AssetKind::parse(k).ok_or_else(|| Error::InvalidQuery(format!("unknown kind {k:?}")))
        })
        .transpose()?;
    let limit = q.limit.unwrap_or(50).clamp(1, 200);
    let v = assets::list(
        &r,
        &auth.actor,
        outlet,
        kind,
        q.q.as_deref(),
        q.before,
        limit,
    )?;
    Ok(Json(v.iter().map(AssetDto::from).collect()))
}

#[derive(Serialize, ToSchema)]
pub struct AssetDetail {
    #[serde(flatten)]
    pub asset: AssetDto,
    /// Articles whose current version uses the asset.
    pub used_by_articles: u64,
}

#[utoipa::path(get, path = "/api/v1/assets/{id}", tag = "assets", params(("id" = u64, Path)), responses((status = 200, body = AssetDetail)))]
async fn get_one(
    State(s): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
) -> Result<Json<AssetDetail>> {
    let id = AssetId(parse_id(&id, Resource::Asset)?);
    let r = s.core.reader()?;
    let a = assets::get(&r.0, &auth.actor, id)?;
    let used = assets::usage(&r, &auth.actor, id)?;
    Ok(Json(AssetDetail {
        asset: AssetDto::from(&a),
        used_by_articles: used,
    }))
}

#[utoipa::path(delete, path = "/api/v1/assets/{id}", tag = "assets", params(("id" = u64, Path)), responses((status = 204), (status = 409, body = crate::http::error::ErrorBody)))]
async fn delete(
    State(s): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
) -> Result<StatusCode> {
    let id = AssetId(parse_id(&id, Resource::Asset)?);
    assets::delete(&s.core, &auth.actor, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// An upload's declared Content-Type, after refusing at once one whose declared length is over
/// the limit (the stream is limited too, for those that do not say).
pub(super) fn declared_type<'h>(s: &AppState, headers: &'h HeaderMap) -> Result<Option<&'h str>> {
    let limit = s.core.config.assets.max_upload_bytes;
    let declared_len = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared_len.is_some_and(|n| n > limit) {
        return Err(Error::AssetTooLarge { limit });
    }
    Ok(headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok()))
}

/// Serve a blob file with Range/conditional support, the recorded type and a safe disposition.
pub(super) async fn serve_blob(
    s: &AppState,
    sha: &str,
    mime: &str,
    name: Option<&str>,
    req: Request,
) -> Result<Response> {
    let path = s.core.blobs.path(sha);
    let resp = tower_http::services::ServeFile::new(path)
        .oneshot(req)
        .await
        .map_err(|e| Error::Io(e.to_string()))?;
    if resp.status() == StatusCode::NOT_FOUND {
        return Err(Error::Io(format!(
            "blob {sha} is missing from the media directory"
        )));
    }
    let mut resp = resp.map(Body::new).into_response();
    let h = resp.headers_mut();
    if let Ok(v) = HeaderValue::from_str(mime) {
        h.insert(header::CONTENT_TYPE, v);
    }
    let inline = mime.starts_with("image/")
        || mime.starts_with("audio/")
        || mime.starts_with("video/")
        || mime == "application/pdf";
    let disposition = match name {
        Some(n) => format!(
            "{}; filename*=UTF-8''{}",
            if inline { "inline" } else { "attachment" },
            percent_encoding::utf8_percent_encode(n, percent_encoding::NON_ALPHANUMERIC)
        ),
        None => "inline".into(),
    };
    if let Ok(v) = HeaderValue::from_str(&disposition) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, max-age=31536000, immutable"),
    );
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("sandbox; default-src 'none'"),
    );
    Ok(resp)
}

#[utoipa::path(get, path = "/api/v1/assets/{id}/content", tag = "assets", params(("id" = u64, Path)),
    responses((status = 200, description = "the bytes"), (status = 206, description = "the requested range")))]
async fn content(
    State(s): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
    req: Request,
) -> Result<Response> {
    let id = AssetId(parse_id(&id, Resource::Asset)?);
    let a = assets::get(&s.core.reader()?.0, &auth.actor, id)?;
    serve_blob(&s, &a.sha256, &a.mime, Some(&a.name), req).await
}

#[utoipa::path(get, path = "/api/v1/assets/{id}/thumbnail", tag = "assets", params(("id" = u64, Path)), responses((status = 200, description = "JPEG thumbnail")))]
async fn thumbnail(
    State(s): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
    req: Request,
) -> Result<Response> {
    let id = AssetId(parse_id(&id, Resource::Asset)?);
    let a = assets::get(&s.core.reader()?.0, &auth.actor, id)?;
    let sha = a.thumb_sha256.ok_or(Error::NotFound(Resource::Asset))?;
    serve_blob(&s, &sha, "image/jpeg", None, req).await
}
