//! Reporting instructions (重大报道指令): the hub's outbox (issue, list, per-county progress) and
//! the county's inbox (read, acknowledge, answer with an article).

use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::ts;
use crate::clock::parse_time;
use crate::domain::ArticleId;
use crate::domain::instruction::{Attachment, InboxItem, Instruction, Progress, Target};
use crate::error::{Error, Resource, Result};
use crate::http::AppState;
use crate::http::auth::Auth;
use crate::http::error::{Json, parse_id};
use crate::workflow::attachments;
use crate::workflow::instructions::{self, IssueInput, Summary};

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(issue, issued))
        .routes(routes!(detail, amend))
        .routes(routes!(cancel))
        .routes(routes!(inbox))
        .routes(routes!(acknowledge))
        .routes(routes!(answer))
}

#[derive(Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TargetDto {
    /// `all`, `region` (counties whose region code starts with `code`) or `counties` (`ids`).
    pub kind: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ids: Option<Vec<String>>,
}

impl TargetDto {
    fn target(self) -> Result<Target> {
        match self.kind.as_str() {
            "all" => Ok(Target::All),
            "region" => Ok(Target::Region {
                code: self
                    .code
                    .ok_or_else(|| Error::invalid("target.code", "required for a region"))?,
            }),
            "counties" => Ok(Target::Counties {
                ids: self
                    .ids
                    .ok_or_else(|| Error::invalid("target.ids", "required for a list"))?,
            }),
            _ => Err(Error::invalid("target.kind", "all, region or counties")),
        }
    }
}

impl From<&Target> for TargetDto {
    fn from(t: &Target) -> Self {
        match t {
            Target::All => Self {
                kind: "all".into(),
                code: None,
                ids: None,
            },
            Target::Region { code } => Self {
                kind: "region".into(),
                code: Some(code.clone()),
                ids: None,
            },
            Target::Counties { ids } => Self {
                kind: "counties".into(),
                code: None,
                ids: Some(ids.clone()),
            },
        }
    }
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct IssueDto {
    pub title: String,
    #[serde(default)]
    pub brief: String,
    /// RFC 3339 or YYYY-MM-DD (the start of that day, UTC).
    pub deadline: String,
    pub target: TargetDto,
    /// Files uploaded beforehand (`POST /api/v1/instructions/attachments`), at most 10.
    #[serde(default)]
    pub attachments: Vec<AttachmentRef>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AttachmentRef {
    pub sha256: String,
    /// The file name the counties see.
    pub name: String,
}

#[derive(Serialize, ToSchema)]
pub struct AttachmentDto {
    pub sha256: String,
    pub name: String,
    pub mime: String,
    pub kind: crate::domain::asset::AssetKind,
    pub size: u64,
    /// At a county: whether the file has arrived from the hub (until then downloading it gets
    /// `attachment_pending`).
    pub ready: bool,
}

impl From<&Attachment> for AttachmentDto {
    fn from(a: &Attachment) -> Self {
        Self {
            sha256: a.sha256.clone(),
            name: a.name.clone(),
            mime: a.mime.clone(),
            kind: a.kind,
            size: a.size,
            ready: true,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct InstructionDto {
    pub id: u64,
    pub title: String,
    pub brief: String,
    pub deadline: String,
    pub target: TargetDto,
    pub issued_at: String,
    pub issued_by: String,
    /// Download each with `…/attachments/{n}` (n from 0).
    pub attachments: Vec<AttachmentDto>,
    /// Set when the hub called it off: when, by whom, why.
    pub cancelled_at: Option<String>,
    pub cancelled_by: Option<String>,
    pub cancel_reason: Option<String>,
}

impl From<&Instruction> for InstructionDto {
    fn from(i: &Instruction) -> Self {
        Self {
            id: i.id,
            title: i.title.clone(),
            brief: i.brief.clone(),
            deadline: ts(i.deadline),
            target: (&i.target).into(),
            issued_at: ts(i.issued_at),
            issued_by: i.issued_by.clone(),
            attachments: i.attachments.iter().map(AttachmentDto::from).collect(),
            cancelled_at: i.cancelled.as_ref().map(|c| ts(c.at)),
            cancelled_by: i.cancelled.as_ref().map(|c| c.by.clone()),
            cancel_reason: i.cancelled.as_ref().map(|c| c.reason.clone()),
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct SummaryDto {
    /// Counties it was sent to.
    pub targets: u64,
    pub delivered: u64,
    pub acknowledged: u64,
    /// Counties that answered with at least one article.
    pub answered: u64,
}

#[derive(Serialize, ToSchema)]
pub struct IssuedDto {
    #[serde(flatten)]
    pub instruction: InstructionDto,
    pub progress: SummaryDto,
}

fn issued_dto(i: &Instruction, s: Summary) -> IssuedDto {
    IssuedDto {
        instruction: i.into(),
        progress: SummaryDto {
            targets: s.targets,
            delivered: s.delivered,
            acknowledged: s.acknowledged,
            answered: s.answered,
        },
    }
}

#[derive(Serialize, ToSchema)]
pub struct AnswerDto {
    /// The article's id at the county.
    pub article: u64,
    pub title: String,
    pub by: String,
    pub at: String,
}

#[derive(Serialize, ToSchema)]
pub struct ProgressDto {
    pub delivered_at: Option<String>,
    pub acknowledged_at: Option<String>,
    pub acknowledged_by: String,
    pub answers: Vec<AnswerDto>,
}

impl From<&Progress> for ProgressDto {
    fn from(p: &Progress) -> Self {
        Self {
            delivered_at: p.delivered_at.map(ts),
            acknowledged_at: p.acknowledged_at.map(ts),
            acknowledged_by: p.acknowledged_by.clone(),
            answers: p
                .answers
                .iter()
                .map(|a| AnswerDto {
                    article: a.article,
                    title: a.title.clone(),
                    by: a.by.clone(),
                    at: ts(a.at),
                })
                .collect(),
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct CountyProgressDto {
    pub county: String,
    pub name: String,
    pub region: String,
    #[serde(flatten)]
    pub progress: ProgressDto,
}

#[derive(Serialize, ToSchema)]
pub struct DetailDto {
    #[serde(flatten)]
    pub instruction: InstructionDto,
    pub counties: Vec<CountyProgressDto>,
}

/// Issue an instruction to all counties, a region or a list (hub administrators).
#[utoipa::path(post, path = "/api/v1/instructions", tag = "federation", request_body = IssueDto, responses((status = 201, body = IssuedDto)))]
async fn issue(
    State(s): State<AppState>,
    auth: Auth,
    Json(i): Json<IssueDto>,
) -> Result<(StatusCode, Json<IssuedDto>)> {
    let named: Vec<(String, String)> = i
        .attachments
        .into_iter()
        .map(|a| (a.sha256, a.name))
        .collect();
    let input = IssueInput {
        attachments: attachments::describe(&s.core.blobs, &named)?,
        title: i.title,
        brief: i.brief,
        deadline: parse_time(&i.deadline)
            .ok_or_else(|| Error::invalid("deadline", "use RFC 3339 or YYYY-MM-DD"))?,
        target: i.target.target()?,
    };
    let ins = s
        .core
        .committer
        .write(move |w| instructions::issue(w, &auth.actor, &input))
        .await?;
    let summary = Summary {
        targets: ins.counties.len() as u64,
        ..Summary::default()
    };
    Ok((StatusCode::CREATED, Json(issued_dto(&ins, summary))))
}

/// The instructions this hub issued, newest first, with how many counties have received,
/// acknowledged and answered each.
#[utoipa::path(get, path = "/api/v1/instructions", tag = "federation", responses((status = 200, body = Vec<IssuedDto>)))]
async fn issued(State(s): State<AppState>, auth: Auth) -> Result<Json<Vec<IssuedDto>>> {
    let r = s.core.reader()?;
    Ok(Json(
        instructions::issued(&r.0, &auth.actor)?
            .into_iter()
            .map(|(i, s)| issued_dto(&i, s))
            .collect(),
    ))
}

/// One instruction with each target county's progress.
#[utoipa::path(get, path = "/api/v1/instructions/{id}", tag = "federation", params(("id" = u64, Path)), responses((status = 200, body = DetailDto)))]
async fn detail(
    State(s): State<AppState>,
    auth: Auth,
    Path(raw): Path<String>,
) -> Result<Json<DetailDto>> {
    let id = parse_id(&raw, Resource::Instruction)?;
    let r = s.core.reader()?;
    let (ins, rows) = instructions::detail(&r.0, &auth.actor, id)?;
    Ok(Json(DetailDto {
        instruction: (&ins).into(),
        counties: rows
            .iter()
            .map(|c| CountyProgressDto {
                county: c.county.clone(),
                name: c.name.clone(),
                region: c.region.clone(),
                progress: (&c.progress).into(),
            })
            .collect(),
    }))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AmendDto {
    /// The new deadline: RFC 3339 or YYYY-MM-DD.
    pub deadline: String,
}

/// Move an instruction's deadline (hub administrators); its counties see the new one.
#[utoipa::path(patch, path = "/api/v1/instructions/{id}", tag = "federation", params(("id" = u64, Path)), request_body = AmendDto, responses((status = 200, body = InstructionDto)))]
async fn amend(
    State(s): State<AppState>,
    auth: Auth,
    Path(raw): Path<String>,
    Json(i): Json<AmendDto>,
) -> Result<Json<InstructionDto>> {
    let id = parse_id(&raw, Resource::Instruction)?;
    let deadline = parse_time(&i.deadline)
        .ok_or_else(|| Error::invalid("deadline", "use RFC 3339 or YYYY-MM-DD"))?;
    change(&s, auth, id, instructions::Change::Deadline(deadline)).await
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CancelDto {
    /// Why (the counties see it).
    pub reason: String,
}

/// Call an instruction off (hub administrators): its counties can no longer acknowledge or
/// answer it.
#[utoipa::path(post, path = "/api/v1/instructions/{id}/cancel", tag = "federation", params(("id" = u64, Path)), request_body = CancelDto, responses((status = 200, body = InstructionDto)))]
async fn cancel(
    State(s): State<AppState>,
    auth: Auth,
    Path(raw): Path<String>,
    Json(i): Json<CancelDto>,
) -> Result<Json<InstructionDto>> {
    let id = parse_id(&raw, Resource::Instruction)?;
    change(
        &s,
        auth,
        id,
        instructions::Change::Cancel { reason: i.reason },
    )
    .await
}

/// Make a change to an issued instruction and answer with it.
async fn change(
    s: &AppState,
    auth: Auth,
    id: u64,
    change: instructions::Change,
) -> Result<Json<InstructionDto>> {
    let ins = s
        .core
        .committer
        .write(move |w| instructions::change(w, &auth.actor, id, &change))
        .await?;
    Ok(Json((&ins).into()))
}

#[derive(Serialize, ToSchema)]
pub struct InboxDto {
    #[serde(flatten)]
    pub instruction: InstructionDto,
    pub received_at: String,
    #[serde(flatten)]
    pub progress: ProgressDto,
}

impl From<&InboxItem> for InboxDto {
    fn from(i: &InboxItem) -> Self {
        Self {
            instruction: (&i.instruction).into(),
            received_at: ts(i.received_at),
            progress: (&i.progress).into(),
        }
    }
}

/// The instructions this county received from its hub, newest first.
#[utoipa::path(get, path = "/api/v1/inbox", tag = "federation", responses((status = 200, body = Vec<InboxDto>)))]
async fn inbox(State(s): State<AppState>, auth: Auth) -> Result<Json<Vec<InboxDto>>> {
    let r = s.core.reader()?;
    Ok(Json(
        instructions::inbox(&r.0, &auth.actor)?
            .iter()
            .map(|it| {
                let mut dto = InboxDto::from(it);
                for a in &mut dto.instruction.attachments {
                    a.ready = s.core.blobs.path(&a.sha256).exists();
                }
                dto
            })
            .collect(),
    ))
}

/// Acknowledge (签收) an instruction; the hub sees when and by whom.
#[utoipa::path(post, path = "/api/v1/inbox/{id}/acknowledge", tag = "federation", params(("id" = u64, Path)), responses((status = 200, body = InboxDto)))]
async fn acknowledge(
    State(s): State<AppState>,
    auth: Auth,
    Path(raw): Path<String>,
) -> Result<Json<InboxDto>> {
    let id = parse_id(&raw, Resource::Instruction)?;
    let it = s
        .core
        .committer
        .write(move |w| instructions::acknowledge(w, &auth.actor, id))
        .await?;
    Ok(Json((&it).into()))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AnswerInput {
    /// A published article of this county.
    pub article: u64,
}

/// Answer an instruction with a published article (it reaches the hub with the article).
#[utoipa::path(post, path = "/api/v1/inbox/{id}/answers", tag = "federation", params(("id" = u64, Path)), request_body = AnswerInput, responses((status = 200, body = InboxDto)))]
async fn answer(
    State(s): State<AppState>,
    auth: Auth,
    Path(raw): Path<String>,
    Json(i): Json<AnswerInput>,
) -> Result<Json<InboxDto>> {
    let id = parse_id(&raw, Resource::Instruction)?;
    let it = s
        .core
        .committer
        .write(move |w| instructions::answer(w, &auth.actor, id, ArticleId(i.article)))
        .await?;
    Ok(Json((&it).into()))
}
