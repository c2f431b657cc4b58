//! The provincial shared content pool (共享稿库): the hub shares and counts reprints; a county
//! offers its published articles up and adopts pool items as drafts.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::ts;
use crate::domain::ArticleId;
use crate::domain::shared::{Adoption, SharedItem};
use crate::error::{Error, Resource, Result};
use crate::http::AppState;
use crate::http::auth::Auth;
use crate::http::error::{Json, parse_id};
use crate::store::access;
use crate::workflow::shared;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(share, list))
        .routes(routes!(withdraw))
        .routes(routes!(pool))
        .routes(routes!(adopt))
        .routes(routes!(offer))
}

#[derive(Serialize, ToSchema)]
pub struct AdoptionDto {
    /// The county's name (at the hub) or empty (at the county: its own).
    pub county: String,
    /// The draft it became (the county's article id).
    pub article: u64,
    pub by: String,
    pub at: String,
}

fn adoption(county: String, a: &Adoption) -> AdoptionDto {
    AdoptionDto {
        county,
        article: a.article,
        by: a.by.clone(),
        at: ts(a.at),
    }
}

#[derive(Serialize, ToSchema)]
pub struct SharedDto {
    pub id: u64,
    pub origin: String,
    pub origin_name: String,
    pub source_article: u64,
    pub title: String,
    pub subtitle: String,
    pub summary: String,
    /// Sanitized HTML.
    pub body: String,
    pub byline: String,
    pub note: String,
    pub shared_at: String,
    pub shared_by: String,
    /// Adoptions (reprints).
    pub adoptions: Vec<AdoptionDto>,
    /// Media the origin sent up with it (an offered article), and how many are here (at a
    /// county: fetched from the hub; an adoption copies them once all have arrived).
    pub media: u64,
    pub media_here: u64,
    /// Set when the hub took it back: when, by whom (or the origin county, for a retraction),
    /// and why. It can no longer be adopted.
    pub withdrawn_at: Option<String>,
    pub withdrawn_by: Option<String>,
    pub withdraw_reason: Option<String>,
    /// At a county: when it arrived.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub received_at: Option<String>,
}

fn dto(
    blobs: &crate::media::BlobStore,
    i: &SharedItem,
    adoptions: Vec<AdoptionDto>,
    received_at: Option<String>,
) -> SharedDto {
    SharedDto {
        media: i.media.len() as u64,
        media_here: i
            .media
            .iter()
            .filter(|m| blobs.path(&m.sha256).exists())
            .count() as u64,
        id: i.id,
        origin: i.origin.clone(),
        origin_name: i.origin_name.clone(),
        source_article: i.source_article,
        title: i.title.clone(),
        subtitle: i.subtitle.clone(),
        summary: i.summary.clone(),
        // The origin's asset URLs must not show this instance's files (an adoption gets its
        // own copies).
        body: crate::domain::hub::foreign_html(&i.body, |_| None),
        byline: i.byline.clone(),
        note: i.note.clone(),
        shared_at: ts(i.shared_at),
        shared_by: i.shared_by.clone(),
        adoptions,
        withdrawn_at: i.withdrawn.as_ref().map(|x| ts(x.at)),
        withdrawn_by: i.withdrawn.as_ref().map(|x| x.by.clone()),
        withdraw_reason: i.withdrawn.as_ref().map(|x| x.reason.clone()),
        received_at,
    }
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WithdrawInput {
    /// Why (the counties see it).
    pub reason: String,
}

/// Take a shared item back (hub administrators): counties can no longer adopt it, and the
/// authors of drafts adopted from it are told.
#[utoipa::path(post, path = "/api/v1/shared/{id}/withdraw", tag = "federation", params(("id" = u64, Path)), request_body = WithdrawInput, responses((status = 200, body = SharedDto)))]
async fn withdraw(
    State(s): State<AppState>,
    auth: Auth,
    Path(raw): Path<String>,
    Json(i): Json<WithdrawInput>,
) -> Result<Json<SharedDto>> {
    let id = parse_id(&raw, Resource::Shared)?;
    let item = s
        .core
        .committer
        .write(move |w| shared::withdraw(w, &auth.actor, id, &i.reason))
        .await?;
    Ok(Json(dto(&s.core.blobs, &item, Vec::new(), None)))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ShareInput {
    /// The county whose published article (as the hub holds it) is shared.
    pub county: String,
    /// Its id at the county.
    pub article: u64,
    #[serde(default)]
    pub note: String,
}

/// Share a county's published article with every other county (hub administrators).
#[utoipa::path(post, path = "/api/v1/shared", tag = "federation", request_body = ShareInput, responses((status = 201, body = SharedDto)))]
async fn share(
    State(s): State<AppState>,
    auth: Auth,
    Json(i): Json<ShareInput>,
) -> Result<(StatusCode, Json<SharedDto>)> {
    let item = s
        .core
        .committer
        .write(move |w| shared::share(w, &auth.actor, &i.county, i.article, &i.note))
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(dto(&s.core.blobs, &item, Vec::new(), None)),
    ))
}

/// The hub's shared pool, newest first, with each item's adoptions (reprints).
#[utoipa::path(get, path = "/api/v1/shared", tag = "federation", responses((status = 200, body = Vec<SharedDto>)))]
async fn list(State(s): State<AppState>, auth: Auth) -> Result<Json<Vec<SharedDto>>> {
    let r = s.core.reader()?;
    Ok(Json(
        shared::shared_items(&r.0, &auth.actor)?
            .iter()
            .map(|(i, rows)| {
                dto(
                    &s.core.blobs,
                    i,
                    rows.iter().map(|(c, a)| adoption(c.clone(), a)).collect(),
                    None,
                )
            })
            .collect(),
    ))
}

/// This county's view of the provincial pool, newest first, with its own adoptions.
#[utoipa::path(get, path = "/api/v1/pool", tag = "federation", responses((status = 200, body = Vec<SharedDto>)))]
async fn pool(State(s): State<AppState>, auth: Auth) -> Result<Json<Vec<SharedDto>>> {
    let r = s.core.reader()?;
    Ok(Json(
        shared::pool(&r.0, &auth.actor)?
            .iter()
            .map(|p| {
                dto(
                    &s.core.blobs,
                    &p.item,
                    p.adoptions
                        .iter()
                        .map(|a| adoption(String::new(), a))
                        .collect(),
                    Some(ts(p.received_at)),
                )
            })
            .collect(),
    ))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AdoptInput {
    /// The outlet (slug) the draft is written in.
    pub outlet: String,
}

#[derive(Serialize, ToSchema)]
pub struct AdoptedDto {
    /// The new draft's id.
    pub article: u64,
}

/// Adopt a pool item as a new draft of this county (its origin in the byline).
#[utoipa::path(post, path = "/api/v1/pool/{id}/adopt", tag = "federation", params(("id" = u64, Path)), request_body = AdoptInput, responses((status = 201, body = AdoptedDto)))]
async fn adopt(
    State(s): State<AppState>,
    auth: Auth,
    Path(raw): Path<String>,
    Json(i): Json<AdoptInput>,
) -> Result<(StatusCode, Json<AdoptedDto>)> {
    let id = parse_id(&raw, Resource::Shared)?;
    let outlet = {
        let r = s.core.reader()?;
        access::outlet_by_slug(&r.0, &i.outlet)?
            .filter(|o| auth.actor.sees_outlet(o.id))
            .ok_or(Error::NotFound(Resource::Outlet))?
            .id
    };
    let ready = crate::workflow::pool_media::prepare(&s.core, id).await?;
    let a = s
        .core
        .committer
        .write(move |w| shared::adopt(w, &auth.actor, id, outlet, &ready))
        .await?;
    Ok((StatusCode::CREATED, Json(AdoptedDto { article: a.id.0 })))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OfferInput {
    #[serde(default)]
    pub note: String,
}

/// Offer a published article to the provincial pool (it is shared when the hub receives it).
#[utoipa::path(post, path = "/api/v1/articles/{id}/offer", tag = "federation", params(("id" = u64, Path)), request_body = OfferInput, responses((status = 200, body = AdoptedDto)))]
async fn offer(
    State(s): State<AppState>,
    auth: Auth,
    Path(raw): Path<String>,
    Json(i): Json<OfferInput>,
) -> Result<Json<AdoptedDto>> {
    let id = ArticleId(parse_id(&raw, Resource::Article)?);
    let a = s
        .core
        .committer
        .write(move |w| shared::offer(w, &auth.actor, id, &i.note))
        .await?;
    Ok(Json(AdoptedDto { article: a.id.0 }))
}
