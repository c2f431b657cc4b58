//! The article lifecycle (submit, approve, return, escalate, withdraw, publish, correction,
//! retract), the review panel of an article, and the "my reviews" queue.

use std::collections::BTreeMap;

use axum::extract::{Path, State};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::articles::{ArticleDto, ArticleSummary};
use super::chains::ChainDto;
use super::ts;
use crate::domain::ArticleId;
use crate::domain::article::Article;
use crate::domain::lifecycle::Action;
use crate::domain::review::{LevelKind, ReviewState, Site};
use crate::error::{Error, Resource, Result};
use crate::http::AppState;
use crate::http::auth::Auth;
use crate::http::error::{Json, Query, parse_id};
use crate::workflow::queue::{self, LevelState};
use crate::workflow::screening::Clearance;
use crate::workflow::{Actor, Writer, review};

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(submit))
        .routes(routes!(approve))
        .routes(routes!(send_back))
        .routes(routes!(escalate))
        .routes(routes!(withdraw))
        .routes(routes!(publish))
        .routes(routes!(correction))
        .routes(routes!(retract))
        .routes(routes!(panel))
        .routes(routes!(mine))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StepInput {
    /// The revision the caller saw (submit, approve, return, escalate, publish).
    pub revision: Option<u32>,
    /// The level decided on, 0-based (approve, return, escalate).
    pub level: Option<u8>,
    /// Chain type slug: the chain to submit on (default: the outlet's default chain) or to
    /// escalate to.
    pub chain: Option<String>,
    /// Comment; required to return, escalate, start a correction and retract.
    #[serde(default)]
    pub comment: String,
    /// Submit, publish: let blocked terms through with this reason (needs the override right).
    pub override_reason: Option<String>,
    /// Approve: the reviewer acknowledges the terms screening asks reviewers to look at.
    #[serde(default)]
    pub acknowledge_screening: bool,
}

impl StepInput {
    fn clearance(&self) -> Clearance {
        Clearance {
            override_reason: self.override_reason.clone(),
            acknowledge: self.acknowledge_screening,
        }
    }
    fn revision(&self) -> Result<u32> {
        self.revision
            .ok_or_else(|| Error::invalid("revision", "required: the revision you saw"))
    }
    fn level(&self) -> Result<u8> {
        self.level
            .ok_or_else(|| Error::invalid("level", "required: the level you decide on"))
    }
}

type UseCase = Box<dyn FnMut(&mut Writer<'_>, &Actor) -> Result<Article> + Send>;

/// Run one lifecycle use case for the caller.
async fn run(s: &AppState, auth: Auth, mut f: UseCase) -> Result<Json<ArticleDto>> {
    let a = s.core.committer.write(move |w| f(w, &auth.actor)).await?;
    Ok(Json(ArticleDto::from(&a)))
}

fn id(raw: &str) -> Result<ArticleId> {
    Ok(ArticleId(parse_id(raw, Resource::Article)?))
}

#[utoipa::path(post, path = "/api/v1/articles/{id}/submit", tag = "review", params(("id" = u64, Path)), request_body = StepInput,
    responses((status = 200, body = ArticleDto), (status = 409, description = "invalid_transition, revision_conflict, review_unsatisfiable", body = crate::http::error::ErrorBody), (status = 422, description = "screening_blocked: the terms are in `terms`", body = crate::http::error::ErrorBody)))]
async fn submit(
    State(s): State<AppState>,
    auth: Auth,
    Path(raw): Path<String>,
    Json(i): Json<StepInput>,
) -> Result<Json<ArticleDto>> {
    let (id, rev) = (id(&raw)?, i.revision()?);
    run(
        &s,
        auth,
        Box::new(move |w, a| {
            review::submit(
                w,
                a,
                id,
                rev,
                i.chain.as_deref(),
                &i.comment,
                &i.clearance(),
            )
        }),
    )
    .await
}

#[utoipa::path(post, path = "/api/v1/articles/{id}/approve", tag = "review", params(("id" = u64, Path)), request_body = StepInput,
    responses((status = 200, body = ArticleDto), (status = 409, description = "invalid_transition, review_level_changed, already_decided, revision_conflict", body = crate::http::error::ErrorBody), (status = 422, description = "screening_unacknowledged", body = crate::http::error::ErrorBody)))]
async fn approve(
    State(s): State<AppState>,
    auth: Auth,
    Path(raw): Path<String>,
    Json(i): Json<StepInput>,
) -> Result<Json<ArticleDto>> {
    let (id, rev, level) = (id(&raw)?, i.revision()?, i.level()?);
    run(
        &s,
        auth,
        Box::new(move |w, a| review::approve(w, a, id, level, rev, &i.comment, &i.clearance())),
    )
    .await
}

#[utoipa::path(post, path = "/api/v1/articles/{id}/return", tag = "review", params(("id" = u64, Path)), request_body = StepInput, responses((status = 200, body = ArticleDto)))]
async fn send_back(
    State(s): State<AppState>,
    auth: Auth,
    Path(raw): Path<String>,
    Json(i): Json<StepInput>,
) -> Result<Json<ArticleDto>> {
    let (id, rev, level) = (id(&raw)?, i.revision()?, i.level()?);
    run(
        &s,
        auth,
        Box::new(move |w, a| review::send_back(w, a, id, level, rev, &i.comment)),
    )
    .await
}

#[utoipa::path(post, path = "/api/v1/articles/{id}/escalate", tag = "review", params(("id" = u64, Path)), request_body = StepInput, responses((status = 200, body = ArticleDto)))]
async fn escalate(
    State(s): State<AppState>,
    auth: Auth,
    Path(raw): Path<String>,
    Json(i): Json<StepInput>,
) -> Result<Json<ArticleDto>> {
    let (id, rev, level) = (id(&raw)?, i.revision()?, i.level()?);
    let chain = i
        .chain
        .clone()
        .ok_or_else(|| Error::invalid("chain", "required: the chain type to escalate to"))?;
    run(
        &s,
        auth,
        Box::new(move |w, a| review::escalate(w, a, id, level, rev, &chain, &i.comment)),
    )
    .await
}

#[utoipa::path(post, path = "/api/v1/articles/{id}/withdraw", tag = "review", params(("id" = u64, Path)), request_body = StepInput, responses((status = 200, body = ArticleDto)))]
async fn withdraw(
    State(s): State<AppState>,
    auth: Auth,
    Path(raw): Path<String>,
    Json(i): Json<StepInput>,
) -> Result<Json<ArticleDto>> {
    let id = id(&raw)?;
    run(
        &s,
        auth,
        Box::new(move |w, a| review::withdraw(w, a, id, &i.comment)),
    )
    .await
}

#[utoipa::path(post, path = "/api/v1/articles/{id}/publish", tag = "review", params(("id" = u64, Path)), request_body = StepInput, responses((status = 200, body = ArticleDto)))]
async fn publish(
    State(s): State<AppState>,
    auth: Auth,
    Path(raw): Path<String>,
    Json(i): Json<StepInput>,
) -> Result<Json<ArticleDto>> {
    let (id, rev) = (id(&raw)?, i.revision()?);
    run(
        &s,
        auth,
        Box::new(move |w, a| review::publish(w, a, id, rev, &i.clearance())),
    )
    .await
}

#[utoipa::path(post, path = "/api/v1/articles/{id}/correction", tag = "review", params(("id" = u64, Path)), request_body = StepInput, responses((status = 200, body = ArticleDto)))]
async fn correction(
    State(s): State<AppState>,
    auth: Auth,
    Path(raw): Path<String>,
    Json(i): Json<StepInput>,
) -> Result<Json<ArticleDto>> {
    let id = id(&raw)?;
    run(
        &s,
        auth,
        Box::new(move |w, a| review::correct(w, a, id, &i.comment)),
    )
    .await
}

#[utoipa::path(post, path = "/api/v1/articles/{id}/retract", tag = "review", params(("id" = u64, Path)), request_body = StepInput, responses((status = 200, body = ArticleDto)))]
async fn retract(
    State(s): State<AppState>,
    auth: Auth,
    Path(raw): Path<String>,
    Json(i): Json<StepInput>,
) -> Result<Json<ArticleDto>> {
    let id = id(&raw)?;
    run(
        &s,
        auth,
        Box::new(move |w, a| review::retract(w, a, id, &i.comment)),
    )
    .await
}

#[derive(Serialize, ToSchema)]
pub struct ApprovalDto {
    pub user: u64,
    pub at: String,
    pub revision: u32,
}

#[derive(Serialize, ToSchema)]
pub struct LevelDto {
    pub index: u8,
    pub name: String,
    pub kind: LevelKind,
    pub site: Site,
    pub state: LevelState,
    pub approvals: Vec<ApprovalDto>,
    /// Approvals that close the level.
    pub required: usize,
    /// Users who could act at this level now.
    pub eligible: Vec<u64>,
    pub deadline_hours: Option<u32>,
}

#[derive(Serialize, ToSchema)]
pub struct ReviewDto {
    pub article: u64,
    pub outlet: u64,
    pub state: Option<ReviewState>,
    pub chain: Option<ChainDto>,
    /// Current level (0-based) while open.
    pub level: Option<u8>,
    pub round: Option<u32>,
    pub due: Option<String>,
    pub overdue: bool,
    pub submitted_by: Option<u64>,
    pub submitted_at: Option<String>,
    pub levels: Vec<LevelDto>,
    /// What the caller may do now.
    pub actions: Vec<Action>,
    /// Display names of every user mentioned above.
    pub names: BTreeMap<String, String>,
}

#[utoipa::path(get, path = "/api/v1/articles/{id}/review", tag = "review", params(("id" = u64, Path)), responses((status = 200, body = ReviewDto)))]
async fn panel(
    State(s): State<AppState>,
    auth: Auth,
    Path(raw): Path<String>,
) -> Result<Json<ReviewDto>> {
    let id = id(&raw)?;
    let r = s.core.reader()?;
    let v = queue::view(&r, &auth.actor, id, s.core.clock.now())?;
    let open = v.review.as_ref().is_some_and(|x| x.is_open());
    Ok(Json(ReviewDto {
        article: v.article.0,
        outlet: v.outlet.0,
        state: v.review.as_ref().map(|x| x.state),
        chain: v.chain.as_ref().map(ChainDto::from),
        level: v.review.as_ref().filter(|_| open).map(|x| x.level),
        round: v.review.as_ref().map(|x| x.round),
        due: v.review.as_ref().and_then(|x| x.due).map(ts),
        overdue: v.overdue,
        submitted_by: v.review.as_ref().map(|x| x.submitted_by.0),
        submitted_at: v.review.as_ref().map(|x| ts(x.submitted_at)),
        levels: v
            .levels
            .into_iter()
            .map(|l| LevelDto {
                index: l.index,
                name: l.name,
                kind: l.kind,
                site: l.site,
                state: l.state,
                approvals: l
                    .approvals
                    .iter()
                    .map(|a| ApprovalDto {
                        user: a.user.0,
                        at: ts(a.at),
                        revision: a.revision,
                    })
                    .collect(),
                required: l.required,
                eligible: l.eligible.iter().map(|u| u.0).collect(),
                deadline_hours: l.deadline_hours,
            })
            .collect(),
        actions: v.actions,
        names: v
            .names
            .iter()
            .map(|(u, n)| (u.to_string(), n.clone()))
            .collect(),
    }))
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct MineQuery {
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
    /// 1–200, default 50.
    pub limit: Option<usize>,
}

#[derive(Serialize, ToSchema)]
pub struct QueueItemDto {
    pub article: ArticleSummary,
    pub level: u8,
    pub level_name: String,
    pub chain_name: String,
    pub round: u32,
    pub submitted_at: String,
    pub due: Option<String>,
    pub overdue: bool,
}

#[derive(Serialize, ToSchema)]
pub struct QueueDto {
    pub items: Vec<QueueItemDto>,
    /// Pending reviews (first page only), counted up to 1000.
    pub total: Option<usize>,
    pub next_cursor: Option<String>,
}

fn cursor(c: Option<&str>) -> Result<Option<(i64, u64)>> {
    let bad = || Error::InvalidQuery("cursor is not one this server issued".into());
    c.map(|c| {
        let (a, b) = c.split_once('.').ok_or_else(bad)?;
        Ok((a.parse().map_err(|_| bad())?, b.parse().map_err(|_| bad())?))
    })
    .transpose()
}

#[utoipa::path(get, path = "/api/v1/reviews/mine", tag = "review", params(MineQuery), responses((status = 200, body = QueueDto)))]
async fn mine(
    State(s): State<AppState>,
    auth: Auth,
    Query(q): Query<MineQuery>,
) -> Result<Json<QueueDto>> {
    let limit = q.limit.unwrap_or(50);
    if !(1..=200).contains(&limit) {
        return Err(Error::InvalidQuery("limit must be 1–200".into()));
    }
    let after = cursor(q.cursor.as_deref())?;
    let p = queue::my_reviews(
        &s.core.reader()?,
        &auth.actor,
        s.core.clock.now(),
        after,
        limit,
    )?;
    Ok(Json(QueueDto {
        items: p
            .items
            .iter()
            .map(|i| QueueItemDto {
                article: ArticleSummary::from(&i.article),
                level: i.review.level,
                level_name: i.level_name.clone(),
                chain_name: i.chain_name.clone(),
                round: i.review.round,
                submitted_at: ts(i.review.submitted_at),
                due: i.due.map(ts),
                overdue: i.overdue,
            })
            .collect(),
        total: p.total,
        next_cursor: p.next.map(|(a, b)| format!("{a}.{b}")),
    }))
}
