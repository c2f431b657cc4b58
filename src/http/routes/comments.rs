//! Comments on articles and topics (a topic's discussion), with @mentions and text anchors.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::ts;
use crate::domain::comment::{Anchor, Comment, Subject};
use crate::domain::{ArticleId, CommentId, TopicId};
use crate::error::{Error, Resource, Result};
use crate::http::AppState;
use crate::http::auth::Auth;
use crate::http::error::{Json, parse_id};
use crate::workflow::Actor;
use crate::workflow::comments::{self, Change};
use crate::workflow::names::Names;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(article_thread, add_to_article))
        .routes(routes!(topic_thread, add_to_topic))
        .routes(routes!(change, delete))
        .routes(routes!(article_mentionable))
        .routes(routes!(topic_mentionable))
}

#[derive(Serialize, ToSchema)]
pub struct PersonDto {
    pub id: u64,
    pub username: String,
    pub name: String,
}

#[derive(Serialize, ToSchema)]
pub struct CommentDto {
    pub id: u64,
    pub on: Subject,
    pub author: u64,
    pub author_name: String,
    /// Plain text: render as text, never as HTML.
    pub body: String,
    pub mentions: Vec<PersonDto>,
    pub anchor: Option<Anchor>,
    pub reply_to: Option<u64>,
    pub created_at: String,
    pub edited_at: Option<String>,
    pub resolved: bool,
    pub resolved_by_name: Option<String>,
    pub deleted: bool,
    pub can_edit: bool,
    pub can_resolve: bool,
}

fn person(names: &mut Names<'_>, u: crate::domain::UserId) -> Result<PersonDto> {
    let x = names.user(u)?;
    Ok(PersonDto {
        id: u.0,
        username: x.map(|x| x.username.clone()).unwrap_or_default(),
        name: x.map(|x| x.display_name.clone()).unwrap_or_default(),
    })
}

fn dto(names: &mut Names<'_>, c: &Comment, actor: &Actor, moderator: bool) -> Result<CommentDto> {
    let own = c.author == actor.id() && actor.writes();
    Ok(CommentDto {
        id: c.id.0,
        on: c.on,
        author: c.author.0,
        author_name: names.name(c.author)?,
        body: c.body.clone(),
        mentions: c
            .mentions
            .iter()
            .map(|u| person(names, *u))
            .collect::<Result<_>>()?,
        anchor: c.anchor.clone(),
        reply_to: c.reply_to.map(|x| x.0),
        created_at: ts(c.created_at),
        edited_at: c.edited_at.map(ts),
        resolved: c.resolved_by.is_some(),
        resolved_by_name: c.resolved_by.map(|u| names.name(u)).transpose()?,
        deleted: c.deleted,
        can_edit: own && !c.deleted,
        can_resolve: (own || moderator) && !c.deleted,
    })
}

#[derive(Serialize, ToSchema)]
pub struct ThreadDto {
    pub comments: Vec<CommentDto>,
}

fn thread(s: &AppState, actor: &Actor, on: Subject) -> Result<Json<ThreadDto>> {
    let r = s.core.reader()?;
    let (cs, moderator) = comments::thread(&r, actor, on)?;
    let mut names = Names::new(&r);
    Ok(Json(ThreadDto {
        comments: cs
            .iter()
            .map(|c| dto(&mut names, c, actor, moderator))
            .collect::<Result<_>>()?,
    }))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CommentInput {
    /// Plain text; `@username` mentions a colleague who can read the article or topic.
    pub body: String,
    /// Article comments only: the text range commented on.
    pub anchor: Option<Anchor>,
    pub reply_to: Option<u64>,
}

async fn add(
    s: &AppState,
    auth: Auth,
    on: Subject,
    i: CommentInput,
) -> Result<(StatusCode, Json<CommentDto>)> {
    let actor = auth.actor.clone();
    let c = s
        .core
        .committer
        .write(move |w| {
            comments::add(
                w,
                &actor,
                on,
                &i.body,
                i.anchor.clone(),
                i.reply_to.map(CommentId),
            )
        })
        .await?;
    let r = s.core.reader()?;
    let d = dto(&mut Names::new(&r), &c, &auth.actor, false)?;
    Ok((StatusCode::CREATED, Json(d)))
}

fn article(raw: &str) -> Result<Subject> {
    Ok(Subject::Article(ArticleId(parse_id(
        raw,
        Resource::Article,
    )?)))
}

fn topic(raw: &str) -> Result<Subject> {
    Ok(Subject::Topic(TopicId(parse_id(raw, Resource::Topic)?)))
}

#[utoipa::path(get, path = "/api/v1/articles/{id}/comments", tag = "comments", params(("id" = u64, Path)), responses((status = 200, body = ThreadDto)))]
async fn article_thread(
    State(s): State<AppState>,
    auth: Auth,
    Path(raw): Path<String>,
) -> Result<Json<ThreadDto>> {
    thread(&s, &auth.actor, article(&raw)?)
}

#[utoipa::path(post, path = "/api/v1/articles/{id}/comments", tag = "comments", params(("id" = u64, Path)), request_body = CommentInput, responses((status = 201, body = CommentDto)))]
async fn add_to_article(
    State(s): State<AppState>,
    auth: Auth,
    Path(raw): Path<String>,
    Json(i): Json<CommentInput>,
) -> Result<(StatusCode, Json<CommentDto>)> {
    add(&s, auth, article(&raw)?, i).await
}

#[utoipa::path(get, path = "/api/v1/topics/{id}/comments", tag = "comments", params(("id" = u64, Path)), responses((status = 200, body = ThreadDto)))]
async fn topic_thread(
    State(s): State<AppState>,
    auth: Auth,
    Path(raw): Path<String>,
) -> Result<Json<ThreadDto>> {
    thread(&s, &auth.actor, topic(&raw)?)
}

#[utoipa::path(post, path = "/api/v1/topics/{id}/comments", tag = "comments", params(("id" = u64, Path)), request_body = CommentInput, responses((status = 201, body = CommentDto)))]
async fn add_to_topic(
    State(s): State<AppState>,
    auth: Auth,
    Path(raw): Path<String>,
    Json(i): Json<CommentInput>,
) -> Result<(StatusCode, Json<CommentDto>)> {
    add(&s, auth, topic(&raw)?, i).await
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChangeInput {
    /// New text (your own comments only).
    pub body: Option<String>,
    /// Resolve or reopen.
    pub resolved: Option<bool>,
}

async fn run(s: &AppState, auth: Auth, id: CommentId, ch: Change) -> Result<Json<CommentDto>> {
    let actor = auth.actor.clone();
    let c = s
        .core
        .committer
        .write(move |w| comments::change(w, &actor, id, ch.clone()))
        .await?;
    let r = s.core.reader()?;
    let moderator = comments::moderates(&r.0, &auth.actor, c.on)? && auth.actor.writes();
    Ok(Json(dto(&mut Names::new(&r), &c, &auth.actor, moderator)?))
}

#[utoipa::path(patch, path = "/api/v1/comments/{id}", tag = "comments", params(("id" = u64, Path)), request_body = ChangeInput, responses((status = 200, body = CommentDto)))]
async fn change(
    State(s): State<AppState>,
    auth: Auth,
    Path(raw): Path<String>,
    Json(i): Json<ChangeInput>,
) -> Result<Json<CommentDto>> {
    let id = CommentId(parse_id(&raw, Resource::Comment)?);
    let ch = match (i.body, i.resolved) {
        (Some(b), None) => Change::Edit(b),
        (None, Some(r)) => Change::Resolve(r),
        _ => {
            return Err(Error::invalid("body", "send either body or resolved"));
        }
    };
    run(&s, auth, id, ch).await
}

#[utoipa::path(delete, path = "/api/v1/comments/{id}", tag = "comments", params(("id" = u64, Path)), responses((status = 200, body = CommentDto)))]
async fn delete(
    State(s): State<AppState>,
    auth: Auth,
    Path(raw): Path<String>,
) -> Result<Json<CommentDto>> {
    let id = CommentId(parse_id(&raw, Resource::Comment)?);
    run(&s, auth, id, Change::Delete).await
}

#[derive(Serialize, ToSchema)]
pub struct PeopleDto {
    pub people: Vec<PersonDto>,
}

fn mentionable(s: &AppState, actor: &Actor, on: Subject) -> Result<Json<PeopleDto>> {
    let r = s.core.reader()?;
    Ok(Json(PeopleDto {
        people: comments::mentionable(&r, actor, on)?
            .into_iter()
            .map(|u| PersonDto {
                id: u.id.0,
                username: u.username,
                name: u.display_name,
            })
            .collect(),
    }))
}

#[utoipa::path(get, path = "/api/v1/articles/{id}/mentionable", tag = "comments", params(("id" = u64, Path)), responses((status = 200, body = PeopleDto)))]
async fn article_mentionable(
    State(s): State<AppState>,
    auth: Auth,
    Path(raw): Path<String>,
) -> Result<Json<PeopleDto>> {
    mentionable(&s, &auth.actor, article(&raw)?)
}

#[utoipa::path(get, path = "/api/v1/topics/{id}/mentionable", tag = "comments", params(("id" = u64, Path)), responses((status = 200, body = PeopleDto)))]
async fn topic_mentionable(
    State(s): State<AppState>,
    auth: Auth,
    Path(raw): Path<String>,
) -> Result<Json<PeopleDto>> {
    mentionable(&s, &auth.actor, topic(&raw)?)
}
