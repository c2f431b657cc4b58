//! Screening and proofreading for the editor: an article's stored screening (or a fresh one when
//! the lists changed since), and a check of text not saved yet.

use axum::extract::{Path, State};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::ts;
use crate::domain::ArticleId;
use crate::domain::screening::{Finding, Ignored};
use crate::error::{Resource, Result};
use crate::http::AppState;
use crate::http::auth::Auth;
use crate::http::error::{Json, Query, parse_id};
use crate::screen::proof::Rule;
use crate::workflow::outlets;
use crate::workflow::screening::{self, Placed};

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(article))
        .routes(routes!(draft))
        .routes(routes!(ignore, unignore))
}

#[derive(Serialize, ToSchema)]
pub struct IgnoredDto {
    pub rule: String,
    pub text: String,
    pub by: u64,
    pub at: String,
}

fn ignored_dtos(v: Vec<Ignored>) -> Vec<IgnoredDto> {
    v.into_iter()
        .map(|i| IgnoredDto {
            rule: i.rule,
            text: i.text,
            by: i.by.0,
            at: ts(i.at),
        })
        .collect()
}

#[derive(Deserialize, ToSchema, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct IgnoreInput {
    pub rule: Rule,
    /// The suggestion's text, as the check returned it.
    pub text: String,
}

/// Ignore a proofreading suggestion on this article: that rule on that text is not suggested
/// again here (for everyone, in later revisions too). Needs the right to edit the article.
#[utoipa::path(post, path = "/api/v1/articles/{id}/screening/ignored", tag = "screening", params(("id" = u64, Path)), request_body = IgnoreInput, responses((status = 200, body = Vec<IgnoredDto>)))]
async fn ignore(
    State(s): State<AppState>,
    auth: Auth,
    Path(raw): Path<String>,
    Json(i): Json<IgnoreInput>,
) -> Result<Json<Vec<IgnoredDto>>> {
    let id = ArticleId(parse_id(&raw, Resource::Article)?);
    let v = s
        .core
        .committer
        .write(move |w| screening::ignore(w, &auth.actor, id, i.rule, &i.text))
        .await?;
    Ok(Json(ignored_dtos(v)))
}

/// Suggest an ignored suggestion again.
#[utoipa::path(delete, path = "/api/v1/articles/{id}/screening/ignored", tag = "screening", params(("id" = u64, Path), IgnoreInput), responses((status = 200, body = Vec<IgnoredDto>)))]
async fn unignore(
    State(s): State<AppState>,
    auth: Auth,
    Path(raw): Path<String>,
    Query(i): Query<IgnoreInput>,
) -> Result<Json<Vec<IgnoredDto>>> {
    let id = ArticleId(parse_id(&raw, Resource::Article)?);
    let v = s
        .core
        .committer
        .write(move |w| screening::unignore(w, &auth.actor, id, i.rule, &i.text))
        .await?;
    Ok(Json(ignored_dtos(v)))
}

#[derive(Serialize, ToSchema)]
pub struct OverrideDto {
    pub term: String,
    pub revision: u32,
    pub by: u64,
    pub at: String,
    pub reason: String,
}

#[derive(Serialize, ToSchema)]
pub struct ScreeningDto {
    pub revision: u32,
    /// The lexicon generation the findings are for.
    pub generation: u64,
    /// Stored with the revision on save (else computed for this request: the lists changed).
    pub stored: bool,
    pub findings: Vec<Finding>,
    pub suggestions: Vec<Placed>,
    pub overrides: Vec<OverrideDto>,
    /// Blocked terms no override covers: submit and publish need an override.
    pub blocked: Vec<String>,
    /// Suggestions ignored on this article (not in `suggestions`).
    pub ignored: Vec<IgnoredDto>,
}

#[utoipa::path(get, path = "/api/v1/articles/{id}/screening", tag = "screening", params(("id" = u64, Path)), responses((status = 200, body = ScreeningDto)))]
async fn article(
    State(s): State<AppState>,
    auth: Auth,
    Path(raw): Path<String>,
) -> Result<Json<ScreeningDto>> {
    let id = ArticleId(parse_id(&raw, Resource::Article)?);
    let r = s.core.reader()?;
    let screens = s.core.committer.screens.clone();
    // Proofreading a long article takes milliseconds: off the async threads.
    let rep =
        tokio::task::spawn_blocking(move || screening::report(&r.0, &screens, &auth.actor, id))
            .await
            .map_err(|e| crate::error::Error::Internal(format!("screening task: {e}")))??;
    Ok(Json(ScreeningDto {
        revision: rep.revision,
        generation: rep.generation,
        stored: rep.stored,
        findings: rep.findings,
        suggestions: rep.suggestions,
        overrides: rep
            .overrides
            .into_iter()
            .map(|o| OverrideDto {
                term: o.term,
                revision: o.revision,
                by: o.by.0,
                at: ts(o.at),
                reason: o.reason,
            })
            .collect(),
        blocked: rep.blocked,
        ignored: ignored_dtos(rep.ignored),
    }))
}

/// Longest text the draft check takes per request (characters of all fields).
const MAX_DRAFT_CHARS: usize = 200_000;

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DraftInput {
    #[serde(default)]
    pub title: String,
    #[serde(default)]
    pub subtitle: String,
    #[serde(default)]
    pub summary: String,
    /// HTML as the editor holds it.
    #[serde(default)]
    pub body: String,
    #[serde(default)]
    pub tags: Vec<String>,
    /// The saved article this text is a new version of: its ignored suggestions stay hidden.
    #[serde(default)]
    pub article: Option<u64>,
}

#[derive(Serialize, ToSchema)]
pub struct DraftCheck {
    pub findings: Vec<Finding>,
    pub suggestions: Vec<Placed>,
    /// Suggestions ignored on `article` (empty without one).
    pub ignored: Vec<IgnoredDto>,
}

#[utoipa::path(post, path = "/api/v1/outlets/{id}/screen", tag = "screening", params(("id" = String, Path, description = "outlet id or slug")), request_body = DraftInput, responses((status = 200, body = DraftCheck)))]
async fn draft(
    State(s): State<AppState>,
    auth: Auth,
    Path(key): Path<String>,
    Json(i): Json<DraftInput>,
) -> Result<Json<DraftCheck>> {
    let total = [&i.title, &i.subtitle, &i.summary, &i.body]
        .iter()
        .map(|t| t.chars().count())
        .sum::<usize>();
    if total > MAX_DRAFT_CHARS {
        return Err(crate::error::Error::invalid(
            "body",
            format!("at most {MAX_DRAFT_CHARS} characters per check"),
        ));
    }
    let r = s.core.reader()?;
    let outlet = outlets::resolve(&r.0, &key)?.id;
    // The body is checked as it would be stored.
    let body = crate::domain::html::sanitize(&i.body);
    let texts = screening::texts(&i.title, &i.subtitle, &i.summary, &body, &i.tags);
    let screens = s.core.committer.screens.clone();
    let actor = auth.actor;
    let article = i.article.map(ArticleId);
    let rep = tokio::task::spawn_blocking(move || {
        screening::check_draft(&r.0, &screens, &actor, outlet, article, &texts)
    })
    .await
    .map_err(|e| crate::error::Error::Internal(format!("screening task: {e}")))??;
    Ok(Json(DraftCheck {
        findings: rep.findings,
        suggestions: rep.suggestions,
        ignored: ignored_dtos(rep.ignored),
    }))
}
