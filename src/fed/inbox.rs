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
use crate::workflow::{Core, hub, messages};

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
    let mut backoff = Backoff::new(MIN_BACKOFF, MAX_BACKOFF);
    loop {
        let r = tokio::select! {
            r = session(&core, &hub, &status) => r,
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
async fn session(core: &Core, hub: &Upstream, status: &SharedShipStatus) -> Result<()> {
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
        }
        update(status, |s| {
            s.inbox_error.clear();
            s.last_contact = Some(core.clock.now());
        });
    }
}
