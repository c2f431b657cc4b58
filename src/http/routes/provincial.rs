//! 省级审核 at the hub: the queue of county articles sent up for provincial review, one request
//! with its article, and the decision.

use axum::extract::{Path, State};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::ts;
use crate::domain::html;
use crate::domain::provincial::ProvincialReview;
use crate::error::{Error, Resource, Result};
use crate::http::AppState;
use crate::http::auth::Auth;
use crate::http::error::{Json, Query, parse_id};
use crate::store::federation;
use crate::workflow::provincial;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(queue))
        .routes(routes!(one))
        .routes(routes!(decide))
        .routes(routes!(media))
}

#[derive(Serialize, ToSchema)]
pub struct DecisionDto {
    pub approved: bool,
    pub comment: String,
    pub by: String,
    pub at: String,
}

#[derive(Serialize, ToSchema)]
pub struct ProvincialReviewDto {
    pub county: String,
    pub county_name: String,
    /// The article's id at the county.
    pub article: u64,
    pub title: String,
    pub revision: u32,
    pub level: u8,
    pub level_name: String,
    pub chain_name: String,
    pub round: u32,
    pub requested_at: String,
    pub received_at: String,
    pub decision: Option<DecisionDto>,
    /// Only for one request: the article as the county sent it (HTML sanitized again here).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subtitle: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub summary: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub byline: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub body: Option<String>,
    /// Only for one request: the cover image's URL here, if the county sent it up.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cover: Option<String>,
}

fn dto(r: &ProvincialReview, county_name: String, full: bool) -> ProvincialReviewDto {
    let a = &r.request.article;
    ProvincialReviewDto {
        county: r.county.clone(),
        county_name,
        article: a.id.0,
        title: a.title.clone(),
        revision: a.revision,
        level: r.request.level,
        level_name: r.request.level_name.clone(),
        chain_name: r.request.chain_name.clone(),
        round: r.request.round,
        requested_at: ts(r.request.requested_at),
        received_at: ts(r.received_at),
        decision: r.decision.as_ref().map(|d| DecisionDto {
            approved: d.approved,
            comment: d.comment.clone(),
            by: d.by.clone(),
            at: ts(d.at),
        }),
        subtitle: full.then(|| a.subtitle.clone()),
        summary: full.then(|| a.summary.clone()),
        byline: full.then(|| a.byline.clone()),
        // A county's HTML is not trusted here: the same allowlist again; then its media point
        // at the copies the county sent up.
        body: full.then(|| {
            crate::domain::hub::foreign_html(&html::sanitize(&a.body), |id| {
                r.request
                    .media
                    .iter()
                    .find(|m| m.asset == id)
                    .map(|m| media_url(&r.county, a.id.0, &m.sha256))
            })
        }),
        cover: full
            .then(|| {
                a.cover.and_then(|c| {
                    r.request
                        .media
                        .iter()
                        .find(|m| m.asset == c.0)
                        .map(|m| media_url(&r.county, a.id.0, &m.sha256))
                })
            })
            .flatten(),
    }
}

fn media_url(county: &str, article: u64, sha256: &str) -> String {
    format!("/api/v1/provincial/reviews/{county}/{article}/media/{sha256}")
}

/// A media file of a request (image, video, the cover), as the county sent it up.
#[utoipa::path(get, path = "/api/v1/provincial/reviews/{county}/{article}/media/{sha256}", tag = "federation", params(("county" = String, Path), ("article" = u64, Path), ("sha256" = String, Path)),
    responses((status = 200, description = "the bytes"), (status = 206, description = "the requested range")))]
async fn media(
    State(s): State<AppState>,
    auth: Auth,
    Path((county, raw, sha)): Path<(String, String, String)>,
    req: axum::extract::Request,
) -> Result<axum::response::Response> {
    let article = parse_id(&raw, Resource::Review)?;
    let x = provincial::get(&s.core.reader()?.0, &auth.actor, &county, article)?;
    let m = x
        .request
        .media
        .iter()
        .find(|m| m.sha256 == sha)
        .filter(|m| s.core.blobs.path(&m.sha256).exists())
        .ok_or(Error::NotFound(Resource::Asset))?;
    super::assets::serve_blob(&s, &m.sha256, &m.mime, Some(&m.name), req).await
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct QueueQuery {
    /// Only requests not decided yet.
    #[serde(default)]
    pub pending: bool,
}

/// County articles sent up for provincial review: undecided first (oldest first), then decided.
#[utoipa::path(get, path = "/api/v1/provincial/reviews", tag = "federation", params(QueueQuery), responses((status = 200, body = Vec<ProvincialReviewDto>)))]
async fn queue(
    State(s): State<AppState>,
    auth: Auth,
    Query(q): Query<QueueQuery>,
) -> Result<Json<Vec<ProvincialReviewDto>>> {
    let r = s.core.reader()?;
    let list = provincial::queue(&r.0, &auth.actor, q.pending)?;
    let mut out = Vec::with_capacity(list.len());
    for x in &list {
        out.push(dto(x, federation::peer_name(&r.0, &x.county)?, false));
    }
    Ok(Json(out))
}

/// One request with the article as the county sent it.
#[utoipa::path(get, path = "/api/v1/provincial/reviews/{county}/{article}", tag = "federation", params(("county" = String, Path), ("article" = u64, Path)), responses((status = 200, body = ProvincialReviewDto)))]
async fn one(
    State(s): State<AppState>,
    auth: Auth,
    Path((county, raw)): Path<(String, String)>,
) -> Result<Json<ProvincialReviewDto>> {
    let article = parse_id(&raw, Resource::Review)?;
    let r = s.core.reader()?;
    let x = provincial::get(&r.0, &auth.actor, &county, article)?;
    Ok(Json(dto(&x, federation::peer_name(&r.0, &county)?, true)))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DecisionInput {
    /// The round decided on (as listed): a newer request from the county is not decided blind.
    pub round: u32,
    pub approve: bool,
    /// Required to return.
    #[serde(default)]
    pub comment: String,
}

/// Approve, or return to the county as its chain's level says; the decision goes down to it.
#[utoipa::path(post, path = "/api/v1/provincial/reviews/{county}/{article}/decision", tag = "federation", params(("county" = String, Path), ("article" = u64, Path)), request_body = DecisionInput, responses((status = 200, body = ProvincialReviewDto)))]
async fn decide(
    State(s): State<AppState>,
    auth: Auth,
    Path((county, raw)): Path<(String, String)>,
    Json(i): Json<DecisionInput>,
) -> Result<Json<ProvincialReviewDto>> {
    let article = parse_id(&raw, Resource::Review)?;
    let c = county.clone();
    let x = s
        .core
        .committer
        .write(move |w| {
            provincial::decide(w, &auth.actor, &c, article, i.round, i.approve, &i.comment)
        })
        .await?;
    let r = s.core.reader()?;
    let name = federation::peer_name(&r.0, &county)?;
    if x.decision.is_none() {
        return Err(Error::Internal("the decision was not recorded".into()));
    }
    Ok(Json(dto(&x, name, false)))
}
