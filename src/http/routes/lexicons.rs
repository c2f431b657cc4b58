//! Word lists (词库): list, create, edit, delete, per-outlet switch, entries, import (with a dry
//! run that only reports) and export.

use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::ts;
use crate::domain::LexiconId;
use crate::domain::lexicon::{Entry, Format, ImportReport, Lexicon, LexiconKind};
use crate::error::{Error, Resource, Result};
use crate::http::AppState;
use crate::http::auth::Auth;
use crate::http::error::{Json, Query, parse_id};
use crate::screen::Severity;
use crate::workflow::lexicons::{self, LexiconInput as UseCaseInput};
use crate::workflow::outlets;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list, create))
        .routes(routes!(get_one, update, delete))
        .routes(routes!(set_outlet))
        .routes(routes!(entries, edit_entries))
        .routes(routes!(import))
        .routes(routes!(export))
}

#[derive(Serialize, ToSchema)]
pub struct LexiconDto {
    pub id: u64,
    pub name: String,
    pub kind: LexiconKind,
    pub category: String,
    pub description: String,
    pub source: String,
    pub default_severity: Severity,
    pub enabled: bool,
    pub disabled_outlets: Vec<u64>,
    pub entries: u32,
    pub revision: u32,
    pub updated_by: Option<u64>,
    pub updated_at: String,
    /// At a hub: pushed to every county.
    pub provincial: bool,
    /// At a county: a copy of the province's list (read-only here).
    pub from_province: bool,
}

impl From<&Lexicon> for LexiconDto {
    fn from(l: &Lexicon) -> Self {
        Self {
            id: l.id.0,
            name: l.name.clone(),
            kind: l.kind,
            category: l.category.clone(),
            description: l.description.clone(),
            source: l.source.clone(),
            default_severity: l.default_severity,
            enabled: l.enabled,
            disabled_outlets: l.disabled_outlets.iter().map(|o| o.0).collect(),
            entries: l.entries,
            revision: l.revision,
            updated_by: l.updated_by.map(|u| u.0),
            updated_at: ts(l.updated_at),
            provincial: l.provincial,
            from_province: l.province_id.is_some(),
        }
    }
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LexiconInput {
    /// Create only: `screen`, `allow` or `proof`.
    pub kind: Option<LexiconKind>,
    /// Update only: the revision the edit was made on.
    pub base_revision: Option<u32>,
    pub name: String,
    pub category: String,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub source: String,
    #[serde(default = "review")]
    pub default_severity: Severity,
    #[serde(default = "yes")]
    pub enabled: bool,
    /// On a hub: push the list to every county, where it takes effect (省级词库). Left out on
    /// update: unchanged.
    #[serde(default)]
    pub provincial: Option<bool>,
}

fn review() -> Severity {
    Severity::Review
}
fn yes() -> bool {
    true
}

impl LexiconInput {
    fn use_case(&self) -> UseCaseInput {
        UseCaseInput {
            name: self.name.clone(),
            category: self.category.clone(),
            description: self.description.clone(),
            source: self.source.clone(),
            default_severity: self.default_severity,
            enabled: self.enabled,
            provincial: self.provincial,
        }
    }
}

/// After a list changed: compile the new lists in the background, off the writer thread.
fn warm(s: &AppState) {
    let core = s.core.clone();
    tokio::task::spawn_blocking(move || {
        if let Err(e) = core
            .reader()
            .and_then(|r| crate::workflow::screening::warm(&r, &core.committer.screens))
        {
            tracing::warn!("compiling the word lists: {e}");
        }
    });
}

fn lexicon_id(raw: &str) -> Result<LexiconId> {
    Ok(LexiconId(parse_id(raw, Resource::Lexicon)?))
}

#[utoipa::path(get, path = "/api/v1/lexicons", tag = "screening", responses((status = 200, body = Vec<LexiconDto>)))]
async fn list(State(s): State<AppState>, auth: Auth) -> Result<Json<Vec<LexiconDto>>> {
    let r = s.core.reader()?;
    Ok(Json(
        lexicons::list(&r.0, &auth.actor)?
            .iter()
            .map(LexiconDto::from)
            .collect(),
    ))
}

#[utoipa::path(post, path = "/api/v1/lexicons", tag = "screening", request_body = LexiconInput, responses((status = 201, body = LexiconDto)))]
async fn create(
    State(s): State<AppState>,
    auth: Auth,
    Json(i): Json<LexiconInput>,
) -> Result<(StatusCode, Json<LexiconDto>)> {
    let kind = i
        .kind
        .ok_or_else(|| Error::invalid("kind", "required: screen, allow or proof"))?;
    let input = i.use_case();
    let l = s
        .core
        .committer
        .write(move |w| lexicons::create(w, &auth.actor, kind, &input))
        .await?;
    warm(&s);
    Ok((StatusCode::CREATED, Json(LexiconDto::from(&l))))
}

#[utoipa::path(get, path = "/api/v1/lexicons/{id}", tag = "screening", params(("id" = u64, Path)), responses((status = 200, body = LexiconDto)))]
async fn get_one(
    State(s): State<AppState>,
    auth: Auth,
    Path(raw): Path<String>,
) -> Result<Json<LexiconDto>> {
    let r = s.core.reader()?;
    Ok(Json(LexiconDto::from(&lexicons::get(
        &r.0,
        &auth.actor,
        lexicon_id(&raw)?,
    )?)))
}

#[utoipa::path(put, path = "/api/v1/lexicons/{id}", tag = "screening", params(("id" = u64, Path)), request_body = LexiconInput, responses((status = 200, body = LexiconDto)))]
async fn update(
    State(s): State<AppState>,
    auth: Auth,
    Path(raw): Path<String>,
    Json(i): Json<LexiconInput>,
) -> Result<Json<LexiconDto>> {
    let id = lexicon_id(&raw)?;
    let base = i
        .base_revision
        .ok_or_else(|| Error::invalid("base_revision", "required: the revision you edited"))?;
    let input = i.use_case();
    let l = s
        .core
        .committer
        .write(move |w| lexicons::update(w, &auth.actor, id, base, &input))
        .await?;
    warm(&s);
    Ok(Json(LexiconDto::from(&l)))
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct RevisionQuery {
    /// The revision the caller saw.
    pub revision: u32,
}

#[utoipa::path(delete, path = "/api/v1/lexicons/{id}", tag = "screening", params(("id" = u64, Path), RevisionQuery), responses((status = 204)))]
async fn delete(
    State(s): State<AppState>,
    auth: Auth,
    Path(raw): Path<String>,
    Query(q): Query<RevisionQuery>,
) -> Result<StatusCode> {
    let id = lexicon_id(&raw)?;
    s.core
        .committer
        .write(move |w| lexicons::delete(w, &auth.actor, id, q.revision))
        .await?;
    warm(&s);
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OutletSwitch {
    pub enabled: bool,
}

#[utoipa::path(put, path = "/api/v1/lexicons/{id}/outlets/{outlet}", tag = "screening", params(("id" = u64, Path), ("outlet" = String, Path, description = "outlet id or slug")), request_body = OutletSwitch, responses((status = 200, body = LexiconDto)))]
async fn set_outlet(
    State(s): State<AppState>,
    auth: Auth,
    Path((raw, key)): Path<(String, String)>,
    Json(i): Json<OutletSwitch>,
) -> Result<Json<LexiconDto>> {
    let id = lexicon_id(&raw)?;
    let outlet = outlets::resolve(&s.core.reader()?.0, &key)?.id;
    let l = s
        .core
        .committer
        .write(move |w| lexicons::set_outlet(w, &auth.actor, id, outlet, i.enabled))
        .await?;
    warm(&s);
    Ok(Json(LexiconDto::from(&l)))
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct EntriesQuery {
    /// Only entries containing this text.
    pub q: Option<String>,
    /// Cursor: the last text of the previous page.
    pub after: Option<String>,
    /// 1–500, default 100.
    pub limit: Option<usize>,
}

#[derive(Serialize, ToSchema)]
pub struct EntriesPage {
    pub entries: Vec<Entry>,
    pub next_after: Option<String>,
}

#[utoipa::path(get, path = "/api/v1/lexicons/{id}/entries", tag = "screening", params(("id" = u64, Path), EntriesQuery), responses((status = 200, body = EntriesPage)))]
async fn entries(
    State(s): State<AppState>,
    auth: Auth,
    Path(raw): Path<String>,
    Query(q): Query<EntriesQuery>,
) -> Result<Json<EntriesPage>> {
    let id = lexicon_id(&raw)?;
    let limit = q.limit.unwrap_or(100);
    if !(1..=500).contains(&limit) {
        return Err(Error::invalid("limit", "1 to 500"));
    }
    let r = s.core.reader()?;
    let (entries, next_after) = lexicons::entries(
        &r.0,
        &auth.actor,
        id,
        q.q.as_deref().filter(|x| !x.is_empty()),
        q.after.as_deref(),
        limit,
    )?;
    Ok(Json(EntriesPage {
        entries,
        next_after,
    }))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EntriesEdit {
    pub base_revision: u32,
    /// Entries to add or change (by text).
    #[serde(default)]
    pub set: Vec<Entry>,
    /// Texts of entries to remove.
    #[serde(default)]
    pub remove: Vec<String>,
}

#[utoipa::path(post, path = "/api/v1/lexicons/{id}/entries", tag = "screening", params(("id" = u64, Path)), request_body = EntriesEdit, responses((status = 200, body = LexiconDto)))]
async fn edit_entries(
    State(s): State<AppState>,
    auth: Auth,
    Path(raw): Path<String>,
    Json(i): Json<EntriesEdit>,
) -> Result<Json<LexiconDto>> {
    let id = lexicon_id(&raw)?;
    let l = s
        .core
        .committer
        .write(move |w| {
            lexicons::edit_entries(
                w,
                &auth.actor,
                id,
                i.base_revision,
                i.set.clone(),
                i.remove.clone(),
            )
        })
        .await?;
    warm(&s);
    Ok(Json(LexiconDto::from(&l)))
}

#[derive(Deserialize, Clone, Copy, PartialEq, Eq, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    /// Add new entries and change existing ones; keep the rest.
    Merge,
    /// Make the list exactly the file.
    Replace,
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ImportQuery {
    pub format: Format,
    pub mode: Mode,
    /// The list revision the caller saw (not needed for a dry run).
    pub revision: Option<u32>,
    /// Only report what would happen.
    #[serde(default)]
    pub dry_run: bool,
}

#[derive(Serialize, ToSchema)]
pub struct ImportResult {
    pub lexicon: LexiconDto,
    pub report: ImportReport,
    pub dry_run: bool,
}

#[utoipa::path(post, path = "/api/v1/lexicons/{id}/import", tag = "screening", params(("id" = u64, Path), ImportQuery), request_body(content = String, content_type = "text/plain"),
    responses((status = 200, body = ImportResult)))]
async fn import(
    State(s): State<AppState>,
    auth: Auth,
    Path(raw): Path<String>,
    Query(q): Query<ImportQuery>,
    body: axum::body::Bytes,
) -> Result<Json<ImportResult>> {
    let id = lexicon_id(&raw)?;
    let text = String::from_utf8(body.to_vec())
        .map_err(|_| Error::invalid("file", "must be UTF-8 text (save the list as UTF-8)"))?;
    let replace = q.mode == Mode::Replace;
    if q.dry_run {
        let r = s.core.reader()?;
        let p = lexicons::plan(&r.0, &auth.actor, id, &text, q.format, replace)?;
        return Ok(Json(ImportResult {
            lexicon: LexiconDto::from(&p.lexicon),
            report: p.report,
            dry_run: true,
        }));
    }
    let rev = q
        .revision
        .ok_or_else(|| Error::invalid("revision", "required: the list revision you saw"))?;
    let (format, actor) = (q.format, auth.actor);
    let (l, report) = s
        .core
        .committer
        .write(move |w| lexicons::import(w, &actor, id, rev, &text, format, replace))
        .await?;
    warm(&s);
    Ok(Json(ImportResult {
        lexicon: LexiconDto::from(&l),
        report,
        dry_run: false,
    }))
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ExportQuery {
    pub format: Format,
}

#[utoipa::path(get, path = "/api/v1/lexicons/{id}/export", tag = "screening", params(("id" = u64, Path), ExportQuery), responses((status = 200, content_type = "text/plain")))]
async fn export(
    State(s): State<AppState>,
    auth: Auth,
    Path(raw): Path<String>,
    Query(q): Query<ExportQuery>,
) -> Result<Response> {
    let id = lexicon_id(&raw)?;
    let r = s.core.reader()?;
    let (l, body) = lexicons::export(&r.0, &auth.actor, id, q.format)?;
    let (ext, mime) = match q.format {
        Format::Txt => ("txt", "text/plain; charset=utf-8"),
        Format::Csv => ("csv", "text/csv; charset=utf-8"),
    };
    // The name may be Chinese: RFC 5987 for browsers, an ASCII fallback for the rest.
    let encoded =
        percent_encoding::utf8_percent_encode(&l.name, percent_encoding::NON_ALPHANUMERIC);
    Ok((
        [
            (header::CONTENT_TYPE, mime.to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!(
                    "attachment; filename=\"lexicon-{}.{ext}\"; filename*=UTF-8''{encoded}.{ext}",
                    l.id
                ),
            ),
        ],
        body,
    )
        .into_response())
}
