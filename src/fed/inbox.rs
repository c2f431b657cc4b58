//! Hub → county messages (instructions now) over the same mTLS listener as shipping. The county
//! connects out and asks for its messages after the last number it applied:
//!
//! - `GET /fed/v1/county/inbox?after=N` (role `county`, on a hub): the county's outbox after
//!   `N`, as JSON. With nothing there the hub holds the request until its log moves (or about
//!   25 s), so a message reaches a connected county within one commit, without polling.
//!
//! The county applies each message through its own log with its number (`messages::receive`),
//! so a message fetched twice, or again after a crash, is applied once. What the county does
//! with it (receipt, acknowledgement, answers) goes back up with its shipped entries.

use std::time::Duration;

use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};

use super::follow::Upstream;
use super::retry::{Backoff, closed, pause};
use super::ship::{SharedShipStatus, update};
use crate::domain::instruction::Down;
use crate::domain::peer::Peer;
use crate::error::{Error, Result};
use crate::workflow::{Core, attachments, hub, messages};

/// Messages per answer.
const PAGE: usize = 200;
/// How long the hub holds a request with nothing to send.
const HOLD: Duration = Duration::from_secs(25);
/// After a commit, how long a held request waits before looking at the outbox again.
const SETTLE: Duration = Duration::from_millis(100);
const MIN_BACKOFF: Duration = Duration::from_millis(500);
const MAX_BACKOFF: Duration = Duration::from_secs(30);

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct MessageDto {
    pub seq: u64,
    pub message: Down,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct InboxDto {
    pub messages: Vec<MessageDto>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct After {
    #[serde(default)]
    pub after: u64,
}

fn page(core: &Core, who: &Peer, after: u64) -> Result<Vec<MessageDto>> {
    let r = core.reader()?;
    hub::current(&r.0, who, core.clock.now())?;
    let mut out = Vec::new();
    for (seq, message) in messages::outbox(&r.0, &who.id, after, PAGE)? {
        // A word list goes as it is now, whole; one per answer (a list can be large).
        if let Down::Lexicon { id } = message {
            let message = messages::lexicon_snapshot(&r.0, id)?;
            out.push(MessageDto { seq, message });
            break;
        }
        out.push(MessageDto { seq, message });
    }
    Ok(out)
}

/// `GET /fed/v1/county/inbox` (hub side).
pub async fn handler(
    core: Core,
    who: Peer,
    after: After,
    mut closing: tokio::sync::watch::Receiver<bool>,
) -> Response {
    if who.role != "county" {
        return Error::Forbidden.into_response();
    }
    core.contacts.touch(&who.id, core.clock.now(), None);
    let mut watch = core.committer.log_watch();
    let hold = tokio::time::sleep(HOLD);
    tokio::pin!(hold);
    loop {
        // Read the head before the outbox: a commit after the read wakes the wait below.
        let head = watch.current();
        match page(&core, &who, after.after) {
            Ok(m) if !m.is_empty() => {
                tracing::debug!(county = %who.id, after = after.after, n = m.len(), "messages sent");
                return axum::Json(InboxDto { messages: m }).into_response();
            }
            Ok(_) => {}
            Err(e) => return e.into_response(),
        }
        tracing::debug!(county = %who.id, after = after.after, head = head.0, "holding");
        tokio::select! {
            r = watch.wait_past(head) => if r.is_none() { break },
            () = &mut hold => break,
            () = closed(&mut closing) => break,
        }
        // Most commits at a hub are other counties' batches: look again once per `SETTLE`,
        // not once per commit, so a hundred held polls cost little.
        tokio::select! {
            () = tokio::time::sleep(SETTLE) => {},
            () = &mut hold => break,
            () = closed(&mut closing) => break,
        }
    }
    core.contacts.touch(&who.id, core.clock.now(), None);
    axum::Json(InboxDto::default()).into_response()
}

/// Fetch and apply the hub's messages until `closing` turns true.
pub async fn run(
    core: Core,
    hub: Upstream,
    status: SharedShipStatus,
    mut closing: tokio::sync::watch::Receiver<bool>,
) {
    let arrived = std::sync::Arc::new(tokio::sync::Notify::new());
    tokio::spawn(files(
        core.clone(),
        hub.clone(),
        status.clone(),
        arrived.clone(),
        closing.clone(),
    ));
    let mut backoff = Backoff::new(MIN_BACKOFF, MAX_BACKOFF);
    loop {
        let r = tokio::select! {
            r = session(&core, &hub, &status, &arrived) => r,
            () = closed(&mut closing) => return,
        };
        if let Err(e) = &r {
            tracing::warn!(hub = %hub.addr, "fetching messages from the hub: {e}");
            update(&status, |s| s.inbox_error = format!("{} {e}", e.code()));
        }
        if !pause(backoff.after(r.is_ok()), &mut closing).await {
            return;
        }
    }
}

/// One connection: ask for messages after the last one applied, apply them, ask again.
async fn session(
    core: &Core,
    hub: &Upstream,
    status: &SharedShipStatus,
    arrived: &tokio::sync::Notify,
) -> Result<()> {
    let (http, base) = super::ship::client(core, hub).await?;
    loop {
        let after = {
            let r = core.reader()?;
            messages::received_through(&r.0)?
        };
        update(status, |s| s.inbox_seq = after);
        let r = http
            .get(format!("{base}/fed/v1/county/inbox?after={after}"))
            .timeout(HOLD + Duration::from_secs(15))
            .send()
            .await
            .map_err(|e| Error::Io(format!("{}: {e}", hub.addr)))?;
        if !r.status().is_success() {
            return Err(super::ship::error_of(r).await);
        }
        let page: InboxDto = r
            .json()
            .await
            .map_err(|e| Error::Io(format!("hub messages: {e}")))?;
        let n = page.messages.len() as u64;
        tracing::debug!(after, n, "messages fetched");
        if n > 0 {
            let applied = core
                .committer
                .write(move |w| {
                    let mut applied = 0u64;
                    for m in &page.messages {
                        applied += u64::from(messages::receive(w, m.seq, m.message.clone())?);
                    }
                    Ok(applied)
                })
                .await?;
            update(status, |s| s.messages += applied);
            arrived.notify_one();
        }
        update(status, |s| {
            s.inbox_error.clear();
            s.last_contact = Some(core.clock.now());
        });
    }
}

/// How long the file fetcher waits between looks when nothing new arrives.
const FILES_IDLE: Duration = Duration::from_secs(60);

/// Fetch the files of the inbox's instructions from the hub, one at a time, oldest instruction
/// first; a failed fetch is tried again after a pause (the hub may be away). Woken when messages
/// arrive.
async fn files(
    core: Core,
    hub: Upstream,
    status: SharedShipStatus,
    arrived: std::sync::Arc<tokio::sync::Notify>,
    mut closing: tokio::sync::watch::Receiver<bool>,
) {
    let mut conn: Option<(reqwest::Client, String)> = None;
    let mut backoff = Backoff::new(MIN_BACKOFF, MAX_BACKOFF);
    loop {
        let c2 = core.clone();
        let missing = tokio::task::spawn_blocking(move || {
            let r = c2.reader()?;
            attachments::missing(&r.0, &c2.blobs)
        })
        .await
        .map_err(|e| Error::Internal(e.to_string()))
        .and_then(|r| r);
        let missing = match missing {
            Ok(m) => m,
            Err(e) => {
                tracing::warn!("listing instruction files to fetch: {e}");
                Vec::new()
            }
        };
        update(&status, |s| s.files_pending = missing.len() as u64);
        let mut failed = false;
        for h in &missing {
            if conn.is_none() {
                conn = super::ship::client(&core, &hub).await.ok();
            }
            let r = match &conn {
                Some((c, base)) => super::follow::fetch(&core, c, base, h).await,
                None => Err(Error::Io("no connection to the hub".into())),
            };
            match r {
                Ok(_) => update(&status, |s| {
                    s.files_fetched += 1;
                    s.files_pending = s.files_pending.saturating_sub(1);
                }),
                Err(e) => {
                    tracing::warn!(sha256 = %h, "fetching an instruction file from the hub: {e}");
                    conn = None;
                    failed = true;
                    break;
                }
            }
        }
        let wait = if failed {
            backoff.after(false)
        } else {
            backoff.after(true);
            FILES_IDLE
        };
        tokio::select! {
            () = arrived.notified() => {},
            () = tokio::time::sleep(wait) => {},
            () = closed(&mut closing) => return,
        }
    }
}
