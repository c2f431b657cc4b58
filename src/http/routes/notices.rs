//! The notifications inbox: list, unread count, mark read, and a live event stream (SSE) that
//! pushes new notifications as their log entries commit (it wakes on the log watch, no polling).

use std::collections::VecDeque;
use std::convert::Infallible;
use std::time::Duration;

use axum::extract::State;
use axum::response::sse::{Event, KeepAlive, Sse};
use futures_util::Stream;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::ts;
use crate::domain::notice::{Notice, NoticeKind};
use crate::domain::topic::TopicState;
use crate::domain::{Lsn, UserId};
use crate::error::{Error, Result};
use crate::http::AppState;
use crate::http::auth::Auth;
use crate::http::error::{Json, Query};
use crate::store::Reader;
use crate::workflow::names::Names;
use crate::workflow::notices;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list))
        .routes(routes!(mark_read))
        .routes(routes!(stream))
}

#[derive(Serialize, ToSchema)]
pub struct NoticeDto {
    /// Log position of the entry that caused it (its id).
    pub lsn: u64,
    pub kind: NoticeKind,
    pub at: String,
    pub actor: Option<u64>,
    pub actor_name: String,
    pub on: crate::domain::notice::NoticeOn,
    pub title: String,
    pub excerpt: String,
    pub state: Option<TopicState>,
    pub read: bool,
}

fn dto(names: &mut Names<'_>, lsn: u64, n: Notice) -> Result<NoticeDto> {
    let actor_name = match n.actor {
        Some(u) => names.name(u)?,
        None => String::new(),
    };
    Ok(NoticeDto {
        lsn,
        kind: n.kind,
        at: ts(n.at),
        actor: n.actor.map(|u| u.0),
        actor_name,
        on: n.on,
        title: n.title,
        excerpt: n.excerpt,
        state: n.state,
        read: n.read,
    })
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    /// `next_before` of the previous page.
    pub before: Option<u64>,
    /// 1–100, default 30.
    pub limit: Option<usize>,
}

#[derive(Serialize, ToSchema)]
pub struct InboxDto {
    pub items: Vec<NoticeDto>,
    pub unread: u64,
    pub next_before: Option<u64>,
}

#[utoipa::path(get, path = "/api/v1/notifications", tag = "notifications", params(ListQuery), responses((status = 200, body = InboxDto)))]
async fn list(
    State(s): State<AppState>,
    auth: Auth,
    Query(q): Query<ListQuery>,
) -> Result<Json<InboxDto>> {
    let limit = q.limit.unwrap_or(30);
    if !(1..=100).contains(&limit) {
        return Err(Error::InvalidQuery("limit must be 1–100".into()));
    }
    let r = s.core.reader()?;
    let inbox = notices::inbox(&r, &auth.actor, q.before, limit)?;
    let mut names = Names::new(&r);
    Ok(Json(InboxDto {
        items: inbox
            .items
            .into_iter()
            .map(|(l, n)| dto(&mut names, l, n))
            .collect::<Result<_>>()?,
        unread: inbox.unread,
        next_before: inbox.next_before,
    }))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReadInput {
    /// Notifications to mark read (their `lsn`).
    #[serde(default)]
    pub lsns: Vec<u64>,
    /// Also mark every notification up to this lsn read ("mark all read").
    pub up_to: Option<u64>,
}

#[derive(Serialize, ToSchema)]
pub struct UnreadDto {
    pub unread: u64,
    /// How many this request marked.
    pub marked: u64,
}

#[utoipa::path(post, path = "/api/v1/notifications/read", tag = "notifications", request_body = ReadInput, responses((status = 200, body = UnreadDto)))]
async fn mark_read(
    State(s): State<AppState>,
    auth: Auth,
    Json(i): Json<ReadInput>,
) -> Result<Json<UnreadDto>> {
    let user = auth.actor.id();
    let marked = s
        .core
        .committer
        .write(move |w| notices::mark_read(w, &auth.actor, i.lsns.clone(), i.up_to))
        .await?;
    Ok(Json(UnreadDto {
        unread: s.core.reader()?.unread(user)?,
        marked,
    }))
}

/// What the stream carries between wake-ups.
struct Feed {
    db: std::sync::Arc<redb::Database>,
    log: crate::log::LogWatch,
    closing: tokio::sync::watch::Receiver<bool>,
    user: UserId,
    /// Newest lsn already looked at.
    seen: u64,
    unread: Option<u64>,
    queue: VecDeque<Event>,
}

impl Feed {
    /// Read what is new for the user since `seen` (runs on the blocking pool).
    fn poll_store(&mut self, head: u64) -> Result<()> {
        let r = Reader::begin(&self.db)?;
        let mut fresh = r.notices(self.user, None, Some(self.seen), 100)?;
        fresh.reverse();
        let mut names = Names::new(&r);
        for (lsn, n) in fresh {
            let d = dto(&mut names, lsn, n)?;
            self.queue.push_back(json_event("notification", &d));
        }
        let unread = r.unread(self.user)?;
        if self.unread != Some(unread) {
            self.unread = Some(unread);
            self.queue.push_back(json_event(
                "unread",
                &serde_json::json!({ "unread": unread }),
            ));
        }
        self.seen = head;
        Ok(())
    }
}

fn json_event<T: Serialize>(name: &str, v: &T) -> Event {
    Event::default()
        .event(name)
        .data(serde_json::to_string(v).unwrap_or_else(|_| "{}".into()))
}

async fn next(mut f: Feed) -> Option<(Result<Event, Infallible>, Feed)> {
    loop {
        if let Some(e) = f.queue.pop_front() {
            return Some((Ok(e), f));
        }
        let head = tokio::select! {
            h = f.log.wait_past(Lsn(f.seen)) => h?,
            _ = f.closing.wait_for(|c| *c) => return None,
        };
        let (res, back) = tokio::task::spawn_blocking(move || {
            let r = f.poll_store(head.0);
            (r, f)
        })
        .await
        .ok()?;
        f = back;
        if let Err(e) = res {
            tracing::warn!(error = %e, "notification stream read failed");
            return None;
        }
    }
}

/// `text/event-stream`: an `unread` event (`{"unread": n}`) at once and whenever the count
/// changes, and a `notification` event (a NoticeDto) for each new notification.
#[utoipa::path(get, path = "/api/v1/notifications/stream", tag = "notifications", responses((status = 200, content_type = "text/event-stream", description = "server-sent events")))]
async fn stream(
    State(s): State<AppState>,
    auth: Auth,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>> {
    let log = s.core.committer.log_watch();
    let head = log.current().0;
    let mut feed = Feed {
        db: s.core.db.clone(),
        log,
        closing: s.closing.clone(),
        user: auth.actor.id(),
        seen: head,
        unread: None,
        queue: VecDeque::new(),
    };
    let r = s.core.reader()?;
    let unread = r.unread(feed.user)?;
    feed.unread = Some(unread);
    feed.queue.push_back(json_event(
        "unread",
        &serde_json::json!({ "unread": unread }),
    ));
    let st = futures_util::stream::unfold(feed, next);
    Ok(Sse::new(st).keep_alive(KeepAlive::new().interval(Duration::from_secs(20))))
}
