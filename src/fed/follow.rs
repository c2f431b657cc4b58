//! The replica's follower: connect to the primary's federation listener with the certificate
//! it got when it joined (trusting only the CA it pinned), state its position, and apply each
//! batch of entries through the writer — entries and cursor (the log head) in one durable
//! transaction. On any failure it reconnects with capped exponential backoff and resumes
//! exactly where its own log ends. A position the primary does not have is `history_diverged`:
//! nothing is merged, the state says so, and it keeps retrying slowly (an operator decides).

use std::net::SocketAddr;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::StreamExt;
use serde::{Deserialize, Serialize};

use super::{pki, tls, wire};
use crate::clock::Millis;
use crate::error::{Error, Result};
use crate::store::access;
use crate::workflow::Core;

/// What the replica follows (`pki/upstream.toml`, written by `rongmei replica join`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Upstream {
    /// host:port of the primary's federation listener.
    pub addr: String,
    /// The primary's instance id (its listener's certificate names it).
    pub instance: String,
    /// This node's peer id at the primary.
    pub peer_id: String,
    /// Fingerprint of the primary's CA, as pinned.
    pub ca_fingerprint: String,
}

pub const UPSTREAM_FILE: &str = "upstream.toml";

impl Upstream {
    pub fn load(data_dir: &Path) -> Result<Option<Self>> {
        let p = pki::dir(data_dir).join(UPSTREAM_FILE);
        if !p.exists() {
            return Ok(None);
        }
        let text = pki::read(&p)?;
        toml::from_str(&text)
            .map(Some)
            .map_err(|e| Error::Config(format!("{}: {e}", p.display())))
    }

    pub fn save(&self, data_dir: &Path) -> Result<()> {
        let text = toml::to_string(self).map_err(|e| Error::Internal(e.to_string()))?;
        pki::write_public(&pki::dir(data_dir).join(UPSTREAM_FILE), &text)
    }
}

/// The follower's state, for `/metrics`, the instance endpoint and the replica banner.
#[derive(Debug, Clone, Default, Serialize, utoipa::ToSchema)]
pub struct FollowStatus {
    /// `connecting`, `following`, `diverged` or `error`.
    pub state: String,
    pub primary: String,
    pub applied_lsn: u64,
    /// The primary's durable head as of the last frame.
    pub primary_head: u64,
    /// Entries the replica is behind.
    pub lag_entries: u64,
    /// Last frame from the primary (ms since the Unix epoch).
    pub last_contact: Option<Millis>,
    pub last_error: String,
    /// Compressed bytes received since start.
    pub bytes: u64,
    pub entries: u64,
    pub connects: u64,
}

pub type SharedStatus = Arc<Mutex<FollowStatus>>;

const MIN_BACKOFF: Duration = Duration::from_millis(200);
const MAX_BACKOFF: Duration = Duration::from_secs(30);
/// No frame for this long (heartbeats come every 2 s): reconnect.
const SILENCE: Duration = Duration::from_secs(10);

fn update(status: &SharedStatus, f: impl FnOnce(&mut FollowStatus)) {
    if let Ok(mut s) = status.lock() {
        f(&mut s);
    }
}

/// Follow until `closing` turns true.
pub async fn run(
    core: Core,
    up: Upstream,
    status: SharedStatus,
    mut closing: tokio::sync::watch::Receiver<bool>,
) {
    update(&status, |s| {
        s.primary = up.addr.clone();
        s.state = "connecting".into();
    });
    let mut backoff = MIN_BACKOFF;
    loop {
        let r = tokio::select! {
            r = session(&core, &up, &status) => r,
            () = closed(&mut closing) => return,
        };
        let (state, wait) = match &r {
            Err(Error::HistoryDiverged { .. }) => ("diverged", MAX_BACKOFF),
            Err(_) => ("error", backoff),
            Ok(()) => ("connecting", MIN_BACKOFF),
        };
        if let Err(e) = &r {
            tracing::warn!(primary = %up.addr, "replication: {e}");
        }
        update(&status, |s| {
            s.state = state.into();
            if let Err(e) = &r {
                s.last_error = format!("{} {e}", e.code());
            }
        });
        tokio::select! {
            _ = tokio::time::sleep(wait) => {},
            () = closed(&mut closing) => return,
        }
        backoff = if r.is_ok() {
            MIN_BACKOFF
        } else {
            (backoff * 2).min(MAX_BACKOFF)
        };
    }
}

async fn closed(c: &mut tokio::sync::watch::Receiver<bool>) {
    let _ = c.wait_for(|c| *c).await;
}

/// The replica's position: (epoch, lsn, hash hex) of its last entry.
fn position(core: &Core) -> Result<(u64, u64, String)> {
    let r = core.reader()?;
    Ok(access::log_head(&r.0)?.map_or((0, 0, String::new()), |h| (h.epoch.0, h.lsn.0, h.hash)))
}

async fn session(core: &Core, up: &Upstream, status: &SharedStatus) -> Result<()> {
    let cfg = tls::client_config(&core.config.data_dir)?;
    let addr: SocketAddr = tokio::net::lookup_host(&up.addr)
        .await
        .map_err(|e| Error::Io(format!("{}: {e}", up.addr)))?
        .next()
        .ok_or_else(|| Error::Io(format!("{}: no address", up.addr)))?;
    let name = pki::server_name(&up.instance);
    let client = reqwest::Client::builder()
        .tls_backend_preconfigured(cfg)
        .resolve(&name, addr)
        .connect_timeout(Duration::from_secs(10))
        .tcp_nodelay(true)
        .build()
        .map_err(|e| Error::Io(format!("federation client: {e}")))?;
    let (epoch, lsn, hash) = position(core)?;
    let url = format!(
        "https://{name}:{}/fed/v1/log?epoch={epoch}&lsn={lsn}&hash={hash}",
        addr.port()
    );
    let resp = client
        .get(&url)
        .send()
        .await
        .map_err(|e| Error::Io(format!("connecting to {}: {e}", up.addr)))?;
    if !resp.status().is_success() {
        let code = resp.status();
        let body: serde_json::Value = resp.json().await.unwrap_or_default();
        let message = body["message"].as_str().unwrap_or_default().to_string();
        return Err(if body["code"] == "history_diverged" {
            Error::HistoryDiverged {
                follower: format!("epoch {epoch} lsn {lsn}"),
                here: message,
            }
        } else {
            Error::Io(format!("primary answered {code}: {message}"))
        });
    }
    update(status, |s| {
        s.state = "following".into();
        s.connects += 1;
        s.applied_lsn = lsn;
        s.last_error.clear();
    });
    let mut stream = resp.bytes_stream();
    let mut dec = wire::Decoder::default();
    loop {
        let chunk = match tokio::time::timeout(SILENCE, stream.next()).await {
            Err(_) => return Err(Error::Io("the primary went silent".into())),
            Ok(None) => return Ok(()),
            Ok(Some(c)) => c.map_err(|e| Error::Io(format!("log stream: {e}")))?,
        };
        update(status, |s| s.bytes += chunk.len() as u64);
        dec.feed(&chunk);
        while let Some(frame) = dec.next_frame()? {
            let now = core.clock.now();
            let mut applied = None;
            if !frame.entries.is_empty() {
                let n = frame.entries.len() as u64;
                let entries = frame.entries;
                let last = core.committer.write(move |w| w.replicate(&entries)).await?;
                applied = Some((last.0, n));
            }
            update(status, |s| {
                s.last_contact = Some(now);
                s.primary_head = frame.head;
                if let Some((l, n)) = applied {
                    s.applied_lsn = l;
                    s.entries += n;
                }
                s.lag_entries = s.primary_head.saturating_sub(s.applied_lsn);
            });
        }
    }
}
