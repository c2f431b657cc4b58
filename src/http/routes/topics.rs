//! Topic planning (选题): the board and calendar, proposing and editing topics, moves, merges,
//! linking articles and starting to write.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::articles::{ArticleDto, ArticleSummary};
use super::ts;
use crate::clock::{Millis, parse_time};
use crate::domain::topic::{Assignment, DateKind, Duty, Move, Topic, TopicState};
use crate::domain::{ArticleId, AssetId, OutletId, TopicId, UserId};
use crate::error::{Error, Resource, Result};
use crate::http::AppState;
use crate::http::auth::Auth;
use crate::http::error::{Json, Query, parse_id};
use crate::store::Reader;
use crate::workflow::names::Names;
use crate::workflow::planning::{self, Column};
use crate::workflow::topics::{self, TopicInput as UseCaseInput};
use crate::workflow::{Actor, outlets};

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(board))
        .routes(routes!(column, propose))
        .routes(routes!(calendar))
        .routes(routes!(get_one, update))
        .routes(routes!(move_topic))
        .routes(routes!(merge))
        .routes(routes!(link))
        .routes(routes!(unlink))
        .routes(routes!(write))
}

#[derive(Serialize, ToSchema)]
pub struct AssignmentDto {
    pub user: u64,
    pub name: String,
    pub duty: Duty,
    pub deadline: Option<String>,
    pub overdue: bool,
    pub note: String,
}

#[derive(Serialize, ToSchema)]
pub struct TopicDto {
    pub id: u64,
    /// The first is the topic's home outlet.
    pub outlets: Vec<u64>,
    pub title: String,
    pub angle: String,
    pub channels: Vec<String>,
    pub deadline: Option<String>,
    pub publish_at: Option<String>,
    /// Open and past its deadline.
    pub overdue: bool,
    pub attachments: Vec<u64>,
    pub state: TopicState,
    pub assignments: Vec<AssignmentDto>,
    pub articles: Vec<u64>,
    pub merged_into: Option<u64>,
    pub merged_from: Vec<u64>,
    pub reason: String,
    pub proposed_by: u64,
    pub proposed_by_name: String,
    pub proposed_at: String,
    pub updated_at: String,
    pub revision: u32,
    /// Moves the caller may make now (drag targets on the board).
    pub moves: Vec<Move>,
    pub can_edit: bool,
    pub can_decide: bool,
}

fn dto(t: &Topic, actor: &Actor, now: Millis, names: &mut Names<'_>) -> Result<TopicDto> {
    let open = t.state.is_open();
    let mut assignments = Vec::new();
    for a in &t.assignments {
        assignments.push(AssignmentDto {
            user: a.user.0,
            name: names.name(a.user)?,
            duty: a.duty,
            deadline: a.deadline.map(ts),
            overdue: open && a.deadline.is_some_and(|d| d < now),
            note: a.note.clone(),
        });
    }
    Ok(TopicDto {
        id: t.id.0,
        outlets: t.outlets.iter().map(|o| o.0).collect(),
        title: t.title.clone(),
        angle: t.angle.clone(),
        channels: t.channels.clone(),
        deadline: t.deadline.map(ts),
        publish_at: t.publish_at.map(ts),
        overdue: open && t.deadline.is_some_and(|d| d < now),
        attachments: t.attachments.iter().map(|a| a.0).collect(),
        state: t.state,
        assignments,
        articles: t.articles.iter().map(|a| a.0).collect(),
        merged_into: t.merged_into.map(|x| x.0),
        merged_from: t.merged_from.iter().map(|x| x.0).collect(),
        reason: t.reason.clone(),
        proposed_by: t.proposed_by.0,
        proposed_by_name: names.name(t.proposed_by)?,
        proposed_at: ts(t.proposed_at),
        updated_at: ts(t.updated_at),
        revision: t.revision,
        moves: topics::moves_for(actor, t),
        can_edit: topics::may_edit(actor, t),
        can_decide: topics::is_decider(actor, t),
    })
}

/// Read something with a snapshot and name lookups, off the async threads.
async fn read<T: Send + 'static>(
    s: &AppState,
    f: impl FnOnce(&Reader, &mut Names<'_>, Millis) -> Result<T> + Send + 'static,
) -> Result<T> {
    let core = s.core.clone();
    tokio::task::spawn_blocking(move || {
        let r = core.reader()?;
        let now = core.clock.now();
        let mut names = Names::new(&r);
        f(&r, &mut names, now)
    })
    .await
    .map_err(|e| Error::Internal(e.to_string()))?
}

fn outlet_param(r: &Reader, raw: Option<&str>) -> Result<Option<OutletId>> {
    raw.map(|o| outlets::resolve(&r.0, o).map(|x| x.id))
        .transpose()
}

#[derive(Serialize, ToSchema)]
pub struct ColumnDto {
    pub state: TopicState,
    pub topics: Vec<TopicDto>,
    /// Topics in the column; with `capped`, at least this many.
    pub count: usize,
    pub capped: bool,
    /// Pass as `after` (with `state`) to `GET /topics` for more.
    pub next: Option<String>,
}

fn column_dto(c: Column, actor: &Actor, now: Millis, names: &mut Names<'_>) -> Result<ColumnDto> {
    Ok(ColumnDto {
        state: c.state,
        topics: c
            .topics
            .iter()
            .map(|t| dto(t, actor, now, names))
            .collect::<Result<_>>()?,
        count: c.count,
        capped: c.capped,
        next: c.next,
    })
}

fn limit(l: Option<usize>, default: usize) -> Result<usize> {
    let l = l.unwrap_or(default);
    if (1..=planning::MAX_LIMIT).contains(&l) {
        Ok(l)
    } else {
        Err(Error::InvalidQuery(format!(
            "limit must be 1–{}",
            planning::MAX_LIMIT
        )))
    }
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct BoardQuery {
    /// Outlet id or slug; default: every outlet the caller reads.
    pub outlet: Option<String>,
    /// Cards per column, 1–200, default 50.
    pub limit: Option<usize>,
}

#[derive(Serialize, ToSchema)]
pub struct BoardDto {
    pub columns: Vec<ColumnDto>,
}

#[utoipa::path(get, path = "/api/v1/topics/board", tag = "planning", params(BoardQuery), responses((status = 200, body = BoardDto)))]
async fn board(
    State(s): State<AppState>,
    auth: Auth,
    Query(q): Query<BoardQuery>,
) -> Result<Json<BoardDto>> {
    let l = limit(q.limit, 50)?;
    read(&s, move |r, names, now| {
        let outlet = outlet_param(r, q.outlet.as_deref())?;
        let cols = planning::board(r, &auth.actor, outlet, l)?;
        Ok(Json(BoardDto {
            columns: cols
                .into_iter()
                .map(|c| column_dto(c, &auth.actor, now, names))
                .collect::<Result<_>>()?,
        }))
    })
    .await
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ColumnQuery {
    /// The column (topic state).
    pub state: String,
    pub outlet: Option<String>,
    /// `next` of the previous page.
    pub after: Option<String>,
    pub limit: Option<usize>,
}

#[utoipa::path(get, path = "/api/v1/topics", tag = "planning", params(ColumnQuery), responses((status = 200, body = ColumnDto)))]
async fn column(
    State(s): State<AppState>,
    auth: Auth,
    Query(q): Query<ColumnQuery>,
) -> Result<Json<ColumnDto>> {
    let l = limit(q.limit, 50)?;
    let state = TopicState::parse(&q.state)
        .ok_or_else(|| Error::InvalidQuery(format!("unknown state {:?}", q.state)))?;
    let after = q.after.as_deref().map(planning::parse_cursor).transpose()?;
    read(&s, move |r, names, now| {
        let outlet = outlet_param(r, q.outlet.as_deref())?;
        let c = planning::column(r, &auth.actor, outlet, state, after, l, after.is_none())?;
        Ok(Json(column_dto(c, &auth.actor, now, names)?))
    })
    .await
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct CalendarQuery {
    /// Start (RFC 3339 or YYYY-MM-DD), inclusive.
    pub from: String,
    /// End, exclusive; at most 62 days after `from`.
    pub to: String,
    pub outlet: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct CalendarItemDto {
    pub at: String,
    pub kind: DateKind,
    pub topic: u64,
    /// For assignment deadlines: who is due then.
    pub people: Vec<String>,
}

#[derive(Serialize, ToSchema)]
pub struct CalendarDto {
    pub items: Vec<CalendarItemDto>,
    pub topics: Vec<TopicDto>,
}

#[utoipa::path(get, path = "/api/v1/topics/calendar", tag = "planning", params(CalendarQuery), responses((status = 200, body = CalendarDto)))]
async fn calendar(
    State(s): State<AppState>,
    auth: Auth,
    Query(q): Query<CalendarQuery>,
) -> Result<Json<CalendarDto>> {
    let t = |name: &str, v: &str| {
        parse_time(v)
            .ok_or_else(|| Error::InvalidQuery(format!("{name}: use RFC 3339 or YYYY-MM-DD")))
    };
    let (from, to) = (t("from", &q.from)?, t("to", &q.to)?);
    read(&s, move |r, names, now| {
        let outlet = outlet_param(r, q.outlet.as_deref())?;
        let (items, topics) = planning::calendar(r, &auth.actor, outlet, from, to)?;
        let mut out = Vec::new();
        for i in items {
            let people = match (i.kind, topics.get(&i.topic)) {
                (DateKind::Assignment, Some(t)) => t
                    .assignments
                    .iter()
                    .filter(|a| a.deadline == Some(i.at))
                    .map(|a| names.name(a.user))
                    .collect::<Result<_>>()?,
                _ => vec![],
            };
            out.push(CalendarItemDto {
                at: ts(i.at),
                kind: i.kind,
                topic: i.topic.0,
                people,
            });
        }
        Ok(Json(CalendarDto {
            items: out,
            topics: topics
                .values()
                .map(|t| dto(t, &auth.actor, now, names))
                .collect::<Result<_>>()?,
        }))
    })
    .await
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AssignmentInput {
    pub user: u64,
    pub duty: Duty,
    pub deadline: Option<String>,
    #[serde(default)]
    pub note: String,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TopicInput {
    /// The revision you edited (required to update).
    pub revision: Option<u32>,
    /// Outlet ids or slugs; the first is the home outlet.
    pub outlets: Vec<String>,
    pub title: String,
    #[serde(default)]
    pub angle: String,
    #[serde(default)]
    pub channels: Vec<String>,
    pub deadline: Option<String>,
    pub publish_at: Option<String>,
    #[serde(default)]
    pub attachments: Vec<u64>,
    #[serde(default)]
    pub assignments: Vec<AssignmentInput>,
}

fn time_field(field: &'static str, v: Option<&str>) -> Result<Option<Millis>> {
    v.filter(|s| !s.is_empty())
        .map(|s| parse_time(s).ok_or_else(|| Error::invalid(field, "use RFC 3339 or YYYY-MM-DD")))
        .transpose()
}

fn input(r: &Reader, i: TopicInput) -> Result<UseCaseInput> {
    let mut outlets_ = Vec::new();
    for o in &i.outlets {
        outlets_.push(
            outlets::resolve(&r.0, o)
                .map(|x| x.id)
                .map_err(|_| Error::invalid("outlets", format!("no outlet {o:?}")))?,
        );
    }
    let mut assignments = Vec::new();
    for a in i.assignments {
        assignments.push(Assignment {
            user: UserId(a.user),
            duty: a.duty,
            deadline: time_field("assignments", a.deadline.as_deref())?,
            note: a.note.trim().to_string(),
        });
    }
    Ok(UseCaseInput {
        outlets: outlets_,
        title: i.title,
        angle: i.angle,
        channels: i.channels,
        deadline: time_field("deadline", i.deadline.as_deref())?,
        publish_at: time_field("publish_at", i.publish_at.as_deref())?,
        attachments: i.attachments.into_iter().map(AssetId).collect(),
        assignments,
    })
}

/// Run a use case that returns a topic, and answer with its DTO.
async fn write_topic(
    s: &AppState,
    auth: Auth,
    mut f: impl FnMut(&mut crate::workflow::Writer<'_>, &Actor) -> Result<Topic> + Send + 'static,
) -> Result<Json<TopicDto>> {
    let actor = auth.actor.clone();
    let t = s.core.committer.write(move |w| f(w, &actor)).await?;
    read(s, move |_, names, now| {
        Ok(Json(dto(&t, &auth.actor, now, names)?))
    })
    .await
}

#[utoipa::path(post, path = "/api/v1/topics", tag = "planning", request_body = TopicInput, responses((status = 201, body = TopicDto)))]
async fn propose(
    State(s): State<AppState>,
    auth: Auth,
    Json(i): Json<TopicInput>,
) -> Result<(StatusCode, Json<TopicDto>)> {
    if i.revision.is_some() {
        return Err(Error::invalid("revision", "not allowed when proposing"));
    }
    let input = input(&s.core.reader()?, i)?;
    let t = write_topic(&s, auth, move |w, a| topics::propose(w, a, input.clone())).await?;
    Ok((StatusCode::CREATED, t))
}

fn id(raw: &str) -> Result<TopicId> {
    Ok(TopicId(parse_id(raw, Resource::Topic)?))
}

#[derive(Serialize, ToSchema)]
pub struct TopicDetail {
    pub topic: TopicDto,
    pub articles: Vec<ArticleSummary>,
}

#[utoipa::path(get, path = "/api/v1/topics/{id}", tag = "planning", params(("id" = u64, Path)), responses((status = 200, body = TopicDetail)))]
async fn get_one(
    State(s): State<AppState>,
    auth: Auth,
    Path(raw): Path<String>,
) -> Result<Json<TopicDetail>> {
    let id = id(&raw)?;
    read(&s, move |r, names, now| {
        let t = topics::get(&r.0, &auth.actor, id)?;
        let mut arts = Vec::new();
        for a in &t.articles {
            // Linked articles the caller cannot read are left out.
            if let Ok(x) = crate::workflow::articles::get(&r.0, &auth.actor, *a) {
                arts.push(ArticleSummary::from(&x));
            }
        }
        Ok(Json(TopicDetail {
            topic: dto(&t, &auth.actor, now, names)?,
            articles: arts,
        }))
    })
    .await
}

#[utoipa::path(put, path = "/api/v1/topics/{id}", tag = "planning", params(("id" = u64, Path)), request_body = TopicInput, responses((status = 200, body = TopicDto)))]
async fn update(
    State(s): State<AppState>,
    auth: Auth,
    Path(raw): Path<String>,
    Json(i): Json<TopicInput>,
) -> Result<Json<TopicDto>> {
    let id = id(&raw)?;
    let rev = i
        .revision
        .ok_or_else(|| Error::invalid("revision", "required: the revision you edited"))?;
    let input = input(&s.core.reader()?, i)?;
    write_topic(&s, auth, move |w, a| {
        topics::update(w, a, id, rev, input.clone())
    })
    .await
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MoveInput {
    pub revision: u32,
    #[serde(rename = "move")]
    pub mv: Move,
    /// Reason; required to reject and to cancel an approved topic.
    #[serde(default)]
    pub comment: String,
}

#[utoipa::path(post, path = "/api/v1/topics/{id}/move", tag = "planning", params(("id" = u64, Path)), request_body = MoveInput,
    responses((status = 200, body = TopicDto), (status = 409, description = "invalid_transition, revision_conflict", body = crate::http::error::ErrorBody)))]
async fn move_topic(
    State(s): State<AppState>,
    auth: Auth,
    Path(raw): Path<String>,
    Json(i): Json<MoveInput>,
) -> Result<Json<TopicDto>> {
    let id = id(&raw)?;
    write_topic(&s, auth, move |w, a| {
        topics::move_to(w, a, id, i.revision, i.mv, &i.comment)
    })
    .await
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MergeInput {
    pub revision: u32,
    /// The topic to merge into.
    pub into: u64,
    #[serde(default)]
    pub comment: String,
}

#[utoipa::path(post, path = "/api/v1/topics/{id}/merge", tag = "planning", params(("id" = u64, Path)), request_body = MergeInput, responses((status = 200, body = TopicDto, description = "the topic merged into")))]
async fn merge(
    State(s): State<AppState>,
    auth: Auth,
    Path(raw): Path<String>,
    Json(i): Json<MergeInput>,
) -> Result<Json<TopicDto>> {
    let id = id(&raw)?;
    write_topic(&s, auth, move |w, a| {
        topics::merge(w, a, id, i.revision, TopicId(i.into), &i.comment)
    })
    .await
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LinkInput {
    pub article: u64,
}

#[utoipa::path(post, path = "/api/v1/topics/{id}/articles", tag = "planning", params(("id" = u64, Path)), request_body = LinkInput, responses((status = 200, body = TopicDto)))]
async fn link(
    State(s): State<AppState>,
    auth: Auth,
    Path(raw): Path<String>,
    Json(i): Json<LinkInput>,
) -> Result<Json<TopicDto>> {
    let id = id(&raw)?;
    let art = ArticleId(i.article);
    write_topic(&s, auth, move |w, a| topics::link(w, a, id, art, true)).await
}

#[utoipa::path(delete, path = "/api/v1/topics/{id}/articles/{article}", tag = "planning", params(("id" = u64, Path), ("article" = u64, Path)), responses((status = 200, body = TopicDto)))]
async fn unlink(
    State(s): State<AppState>,
    auth: Auth,
    Path((raw, art)): Path<(String, String)>,
) -> Result<Json<TopicDto>> {
    let id = id(&raw)?;
    let art = ArticleId(parse_id(&art, Resource::Article)?);
    write_topic(&s, auth, move |w, a| topics::link(w, a, id, art, false)).await
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WriteInput {
    /// Outlet id or slug for the new draft (default: the topic's home outlet).
    pub outlet: Option<String>,
}

#[utoipa::path(post, path = "/api/v1/topics/{id}/write", tag = "planning", params(("id" = u64, Path)), request_body = WriteInput, responses((status = 201, body = ArticleDto)))]
async fn write(
    State(s): State<AppState>,
    auth: Auth,
    Path(raw): Path<String>,
    Json(i): Json<WriteInput>,
) -> Result<(StatusCode, Json<ArticleDto>)> {
    let id = id(&raw)?;
    let outlet = outlet_param(&s.core.reader()?, i.outlet.as_deref())?;
    let a = s
        .core
        .committer
        .write(move |w| topics::write(w, &auth.actor, id, outlet))
        .await?;
    Ok((StatusCode::CREATED, Json(ArticleDto::from(&a))))
}
