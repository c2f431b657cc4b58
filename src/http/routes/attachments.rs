//! Files of reporting instructions: the hub's upload before issuing, and the download on each
//! side (the hub's copy; a county's copy once fetched from the hub).

use axum::body::Body;
use axum::extract::{Path, Request, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::assets::serve_blob;
use super::instructions::AttachmentDto;
use crate::error::{Error, Resource, Result};
use crate::http::AppState;
use crate::http::auth::Auth;
use crate::http::error::{Json, Query, parse_id};
use crate::workflow::attachments;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(upload))
        .routes(routes!(issued_file))
        .routes(routes!(inbox_file))
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct UploadQuery {
    /// The file name the counties see.
    pub name: String,
}

/// Upload a file for an instruction about to be issued (hub administrators); name it in the
/// instruction's `attachments` by the `sha256` returned.
#[utoipa::path(post, path = "/api/v1/instructions/attachments", tag = "federation", params(UploadQuery),
    request_body(content = Vec<u8>, description = "the file's bytes; Content-Type is checked against them", content_type = "application/octet-stream"),
    responses((status = 201, body = AttachmentDto), (status = 413, body = crate::http::error::ErrorBody), (status = 415, body = crate::http::error::ErrorBody)))]
async fn upload(
    State(s): State<AppState>,
    auth: Auth,
    Query(q): Query<UploadQuery>,
    headers: HeaderMap,
    body: Body,
) -> Result<(StatusCode, Json<AttachmentDto>)> {
    let declared = super::assets::declared_type(&s, &headers)?;
    let a = attachments::upload(
        &s.core,
        &auth.actor,
        &q.name,
        declared,
        body.into_data_stream(),
    )
    .await?;
    Ok((StatusCode::CREATED, Json(AttachmentDto::from(&a))))
}

fn index(raw: &str) -> Result<usize> {
    raw.parse().map_err(|_| Error::NotFound(Resource::Asset))
}

/// File `n` (from 0) of an instruction this hub issued.
#[utoipa::path(get, path = "/api/v1/instructions/{id}/attachments/{n}", tag = "federation", params(("id" = u64, Path), ("n" = usize, Path)),
    responses((status = 200, description = "the bytes"), (status = 206, description = "the requested range")))]
async fn issued_file(
    State(s): State<AppState>,
    auth: Auth,
    Path((raw, n)): Path<(String, String)>,
    req: Request,
) -> Result<Response> {
    let id = parse_id(&raw, Resource::Instruction)?;
    let a = attachments::of_issued(&s.core.reader()?.0, &auth.actor, id, index(&n)?)?;
    serve_blob(&s, &a.sha256, &a.mime, Some(&a.name), req).await
}

/// File `n` (from 0) of an instruction in this county's inbox (`attachment_pending` until it
/// has arrived from the hub).
#[utoipa::path(get, path = "/api/v1/inbox/{id}/attachments/{n}", tag = "federation", params(("id" = u64, Path), ("n" = usize, Path)),
    responses((status = 200, description = "the bytes"), (status = 206, description = "the requested range"), (status = 409, body = crate::http::error::ErrorBody)))]
async fn inbox_file(
    State(s): State<AppState>,
    _auth: Auth,
    Path((raw, n)): Path<(String, String)>,
    req: Request,
) -> Result<Response> {
    let id = parse_id(&raw, Resource::Instruction)?;
    let a = attachments::of_inbox(&s.core.reader()?.0, &s.core.blobs, id, index(&n)?)?;
    serve_blob(&s, &a.sha256, &a.mime, Some(&a.name), req).await
}
