//! Articles: list, create, read, edit (optimistic concurrency), versions, diff, restore.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use base64::Engine;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::ts;
use crate::clock::parse_time;
use crate::domain::article::{Article, ArticleFields, ArticleStatus, DiffLine};
use crate::domain::{ArticleId, AssetId, UserId};
use crate::error::{Error, Resource, Result};
use crate::http::AppState;
use crate::http::auth::Auth;
use crate::http::error::{Json, Query, parse_id};
use crate::store::access::{ArticleFilter, ArticleSort};
use crate::workflow::{articles, outlets};

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list, create))
        .routes(routes!(get_one, update))
        .routes(routes!(versions))
        .routes(routes!(version))
        .routes(routes!(diff))
        .routes(routes!(restore))
}

#[derive(Serialize, ToSchema)]
pub struct ArticleDto {
    pub id: u64,
    pub outlet: u64,
    pub revision: u32,
    pub status: ArticleStatus,
    pub title: String,
    pub subtitle: String,
    pub summary: String,
    /// Sanitized HTML.
    pub body: String,
    pub byline: String,
    pub authors: Vec<u64>,
    pub category: String,
    pub tags: Vec<String>,
    pub cover: Option<u64>,
    pub source_id: Option<String>,
    /// Date given by the import source (RFC 3339).
    pub source_date: Option<String>,
    pub created_by: u64,
    pub created_at: String,
    pub updated_by: u64,
    pub updated_at: String,
    pub restored_from: Option<u32>,
    /// The revision readers see (a correction under way keeps the older one live).
    pub published_revision: Option<u32>,
    pub published_at: Option<String>,
    pub retraction: Option<RetractionDto>,
}

#[derive(Serialize, ToSchema)]
pub struct RetractionDto {
    pub by: u64,
    pub at: String,
    pub reason: String,
}

impl From<&Article> for ArticleDto {
    fn from(a: &Article) -> Self {
        Self {
            id: a.id.0,
            outlet: a.outlet.0,
            revision: a.revision,
            status: a.status,
            title: a.title.clone(),
            subtitle: a.subtitle.clone(),
            summary: a.summary.clone(),
            body: a.body.clone(),
            byline: a.byline.clone(),
            authors: a.authors.iter().map(|u| u.0).collect(),
            category: a.category.clone(),
            tags: a.tags.clone(),
            cover: a.cover.map(|c| c.0),
            source_id: a.source_id.clone(),
            source_date: a.source_date.map(ts),
            created_by: a.created_by.0,
            created_at: ts(a.created_at),
            updated_by: a.updated_by.0,
            updated_at: ts(a.updated_at),
            restored_from: a.restored_from,
            published_revision: a.published_revision,
            published_at: a.published_at.map(ts),
            retraction: a.retraction.as_ref().map(|r| RetractionDto {
                by: r.by.0,
                at: ts(r.at),
                reason: r.reason.clone(),
            }),
        }
    }
}

/// A list row: everything but the body.
#[derive(Serialize, ToSchema)]
pub struct ArticleSummary {
    pub id: u64,
    pub outlet: u64,
    pub revision: u32,
    pub status: ArticleStatus,
    pub title: String,
    pub byline: String,
    pub authors: Vec<u64>,
    pub category: String,
    pub tags: Vec<String>,
    pub cover: Option<u64>,
    pub created_at: String,
    pub updated_at: String,
    pub published_revision: Option<u32>,
}

impl From<&Article> for ArticleSummary {
    fn from(a: &Article) -> Self {
        Self {
            id: a.id.0,
            outlet: a.outlet.0,
            revision: a.revision,
            status: a.status,
            title: a.title.clone(),
            byline: a.byline.clone(),
            authors: a.authors.iter().map(|u| u.0).collect(),
            category: a.category.clone(),
            tags: a.tags.clone(),
            cover: a.cover.map(|c| c.0),
            created_at: ts(a.created_at),
            updated_at: ts(a.updated_at),
            published_revision: a.published_revision,
        }
    }
}

/// Body of create (needs `outlet`) and update (needs `base_revision`).
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ArticleInput {
    /// Outlet id or slug (create only).
    pub outlet: Option<String>,
    /// The revision this edit was made on (update only).
    pub base_revision: Option<u32>,
    pub title: String,
    #[serde(default)]
    pub subtitle: String,
    #[serde(default)]
    pub summary: String,
    /// HTML (sanitized on the server) or plain text with one paragraph per line.
    #[serde(default)]
    pub body: String,
    #[serde(default)]
    pub byline: String,
    #[serde(default)]
    pub category: String,
    #[serde(default)]
    pub tags: Vec<String>,
    pub cover: Option<u64>,
}

impl ArticleInput {
    fn fields(&self) -> ArticleFields {
        ArticleFields {
            title: self.title.clone(),
            subtitle: self.subtitle.clone(),
            summary: self.summary.clone(),
            body: self.body.clone(),
            byline: self.byline.clone(),
            category: self.category.clone(),
            tags: self.tags.clone(),
            cover: self.cover.map(AssetId),
        }
    }
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    /// Outlet id or slug.
    pub outlet: Option<String>,
    pub status: Option<String>,
    /// User id of an author.
    pub author: Option<u64>,
    pub tag: Option<String>,
    /// Updated at or after (RFC 3339 or YYYY-MM-DD).
    pub updated_from: Option<String>,
    /// Updated at or before.
    pub updated_to: Option<String>,
    /// `updated_desc` (default), `updated_asc`, `created_desc`, `created_asc`.
    pub sort: Option<String>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
    /// 1–200, default 50.
    pub limit: Option<usize>,
}

#[derive(Serialize, ToSchema)]
pub struct ArticlePage {
    pub items: Vec<ArticleSummary>,
    /// Pass as `cursor` for the next page; absent on the last page.
    pub next_cursor: Option<String>,
}

fn encode_cursor(k: (i64, u64)) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!("{}:{}", k.0, k.1))
}

fn decode_cursor(s: &str) -> Result<(i64, u64)> {
    let bad = || Error::InvalidQuery("cursor is not one this server issued".into());
    let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(s)
        .map_err(|_| bad())?;
    let text = String::from_utf8(raw).map_err(|_| bad())?;
    let (a, b) = text.split_once(':').ok_or_else(bad)?;
    Ok((a.parse().map_err(|_| bad())?, b.parse().map_err(|_| bad())?))
}

fn time_param(name: &'static str, v: Option<&String>) -> Result<Option<i64>> {
    v.map(|s| {
        parse_time(s)
            .ok_or_else(|| Error::InvalidQuery(format!("{name}: use RFC 3339 or YYYY-MM-DD")))
    })
    .transpose()
}

#[utoipa::path(get, path = "/api/v1/articles", tag = "articles", params(ListQuery), responses((status = 200, body = ArticlePage)))]
async fn list(
    State(s): State<AppState>,
    auth: Auth,
    Query(q): Query<ListQuery>,
) -> Result<Json<ArticlePage>> {
    let r = s.core.reader()?;
    let sort = match q.sort.as_deref().unwrap_or("updated_desc") {
        "updated_desc" => ArticleSort::UpdatedDesc,
        "updated_asc" => ArticleSort::UpdatedAsc,
        "created_desc" => ArticleSort::CreatedDesc,
        "created_asc" => ArticleSort::CreatedAsc,
        other => {
            return Err(Error::InvalidQuery(format!(
                "sort {other:?} is not one of updated_desc, updated_asc, created_desc, created_asc"
            )));
        }
    };
    let limit = q.limit.unwrap_or(50);
    if !(1..=200).contains(&limit) {
        return Err(Error::InvalidQuery("limit must be 1–200".into()));
    }
    let filter = ArticleFilter {
        outlets: q
            .outlet
            .as_deref()
            .map(|o| outlets::resolve(&r.0, o).map(|o| vec![o.id]))
            .transpose()?,
        status: q
            .status
            .as_deref()
            .map(|st| {
                ArticleStatus::parse(st)
                    .ok_or_else(|| Error::InvalidQuery(format!("unknown status {st:?}")))
            })
            .transpose()?,
        author: q.author.map(UserId),
        tag: q.tag.clone(),
        updated_from: time_param("updated_from", q.updated_from.as_ref())?,
        updated_to: time_param("updated_to", q.updated_to.as_ref())?,
    };
    let after = q.cursor.as_deref().map(decode_cursor).transpose()?;
    let items = articles::list(&r, &auth.actor, filter, sort, after, limit)?;
    let next_cursor = (items.len() == limit)
        .then(|| items.last())
        .flatten()
        .map(|a| match sort {
            ArticleSort::UpdatedDesc | ArticleSort::UpdatedAsc => {
                encode_cursor((a.updated_at, a.id.0))
            }
            _ => encode_cursor((0, a.id.0)),
        });
    Ok(Json(ArticlePage {
        items: items.iter().map(ArticleSummary::from).collect(),
        next_cursor,
    }))
}

#[utoipa::path(post, path = "/api/v1/articles", tag = "articles", request_body = ArticleInput, responses((status = 201, body = ArticleDto)))]
async fn create(
    State(s): State<AppState>,
    auth: Auth,
    Json(input): Json<ArticleInput>,
) -> Result<(StatusCode, Json<ArticleDto>)> {
    let key = input
        .outlet
        .clone()
        .ok_or_else(|| Error::invalid("outlet", "required when creating an article"))?;
    let outlet = outlets::resolve(&s.core.reader()?.0, &key)?.id;
    let fields = input.fields().normalized()?;
    let a = s
        .core
        .committer
        .write(move |w| articles::create(w, &auth.actor, outlet, &fields, None))
        .await?;
    Ok((StatusCode::CREATED, Json(ArticleDto::from(&a))))
}

#[utoipa::path(get, path = "/api/v1/articles/{id}", tag = "articles", params(("id" = u64, Path)), responses((status = 200, body = ArticleDto)))]
async fn get_one(
    State(s): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
) -> Result<Json<ArticleDto>> {
    let id = ArticleId(parse_id(&id, Resource::Article)?);
    Ok(Json(ArticleDto::from(&articles::get(
        &s.core.reader()?.0,
        &auth.actor,
        id,
    )?)))
}

#[utoipa::path(put, path = "/api/v1/articles/{id}", tag = "articles", params(("id" = u64, Path)), request_body = ArticleInput,
    responses((status = 200, body = ArticleDto), (status = 409, description = "revision_conflict: carries current_revision", body = crate::http::error::ErrorBody)))]
async fn update(
    State(s): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
    Json(input): Json<ArticleInput>,
) -> Result<Json<ArticleDto>> {
    let id = ArticleId(parse_id(&id, Resource::Article)?);
    let base = input.base_revision.ok_or_else(|| {
        Error::invalid(
            "base_revision",
            "required: the revision this edit was made on",
        )
    })?;
    if input.outlet.is_some() {
        return Err(Error::invalid("outlet", "cannot be changed by an edit"));
    }
    let fields = input.fields().normalized()?;
    s.core
        .locks
        .check_save(&auth.actor, id, s.core.clock.now())?;
    let a = s
        .core
        .committer
        .write(move |w| articles::update(w, &auth.actor, id, base, &fields))
        .await?;
    Ok(Json(ArticleDto::from(&a)))
}

#[derive(Serialize, ToSchema)]
pub struct VersionDto {
    pub revision: u32,
    pub title: String,
    pub updated_by: u64,
    pub updated_at: String,
    pub restored_from: Option<u32>,
}

#[utoipa::path(get, path = "/api/v1/articles/{id}/versions", tag = "articles", params(("id" = u64, Path)), responses((status = 200, body = Vec<VersionDto>)))]
async fn versions(
    State(s): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
) -> Result<Json<Vec<VersionDto>>> {
    let id = ArticleId(parse_id(&id, Resource::Article)?);
    let v = articles::versions(&s.core.reader()?, &auth.actor, id)?;
    Ok(Json(
        v.iter()
            .map(|a| VersionDto {
                revision: a.revision,
                title: a.title.clone(),
                updated_by: a.updated_by.0,
                updated_at: ts(a.updated_at),
                restored_from: a.restored_from,
            })
            .collect(),
    ))
}

#[utoipa::path(get, path = "/api/v1/articles/{id}/versions/{revision}", tag = "articles", params(("id" = u64, Path), ("revision" = u32, Path)), responses((status = 200, body = ArticleDto)))]
async fn version(
    State(s): State<AppState>,
    auth: Auth,
    Path((id, rev)): Path<(String, String)>,
) -> Result<Json<ArticleDto>> {
    let id = ArticleId(parse_id(&id, Resource::Article)?);
    let rev = u32::try_from(parse_id(&rev, Resource::Version)?)
        .map_err(|_| Error::NotFound(Resource::Version))?;
    Ok(Json(ArticleDto::from(&articles::version(
        &s.core.reader()?,
        &auth.actor,
        id,
        rev,
    )?)))
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct DiffQuery {
    pub from: u32,
    pub to: u32,
}

#[derive(Serialize, ToSchema)]
pub struct DiffDto {
    pub from: u32,
    pub to: u32,
    pub lines: Vec<DiffLine>,
}

#[utoipa::path(get, path = "/api/v1/articles/{id}/diff", tag = "articles", params(("id" = u64, Path), DiffQuery), responses((status = 200, body = DiffDto)))]
async fn diff(
    State(s): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
    Query(q): Query<DiffQuery>,
) -> Result<Json<DiffDto>> {
    let id = ArticleId(parse_id(&id, Resource::Article)?);
    let lines = articles::diff_versions(&s.core.reader()?, &auth.actor, id, q.from, q.to)?;
    Ok(Json(DiffDto {
        from: q.from,
        to: q.to,
        lines,
    }))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RestoreInput {
    /// The version to bring back.
    pub revision: u32,
    /// The current revision the restore was decided on.
    pub base_revision: u32,
}

#[utoipa::path(post, path = "/api/v1/articles/{id}/restore", tag = "articles", params(("id" = u64, Path)), request_body = RestoreInput, responses((status = 200, body = ArticleDto)))]
async fn restore(
    State(s): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
    Json(r): Json<RestoreInput>,
) -> Result<Json<ArticleDto>> {
    let id = ArticleId(parse_id(&id, Resource::Article)?);
    let a = s
        .core
        .committer
        .write(move |w| articles::restore(w, &auth.actor, id, r.revision, r.base_revision))
        .await?;
    Ok(Json(ArticleDto::from(&a)))
}
