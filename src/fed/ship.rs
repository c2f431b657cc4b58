//! County → hub shipping over the federation listener. Counties sit behind NAT, so the county
//! connects out, with the certificate the hub signed when it joined (`rongmei join`), trusting
//! only the hub CA it pinned:
//!
//! - `GET /fed/v1/county/cursor` (role `county`): where the hub's copy of this county ends;
//! - `POST /fed/v1/county/batch`: the next shipped entries (`hub::SHIPPED`) after that cursor,
//!   each with the hash before it, as zstd-compressed JSON. The hub applies them with the
//!   county's cursor in one transaction (`workflow::hub`) and answers with the new cursor.
//!
//! The county reads its own log from the hub's cursor, so after any failure (either side
//! killed, a partition) it resumes exactly there; entries the hub already has are skipped by
//! the hub, never applied twice. Drafts never leave the county: only shipped kinds are sent.

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::response::{IntoResponse, Response};
use base64::Engine;
use serde::{Deserialize, Serialize};

use super::follow::Upstream;
use super::retry::{Backoff, closed, pause};
use super::{pki, tls};
use crate::clock::Millis;
use crate::domain::hub::{CountyCursor, SHIPPED};
use crate::domain::peer::Peer;
use crate::domain::{InstanceId, Lsn};
use crate::error::{Error, Result};
use crate::log::entry;
use crate::workflow::Core;
use crate::workflow::hub;

/// Where a county keeps what `rongmei join` gave it (in `pki/`).
pub const HUB_FILE: &str = "hub.toml";
pub const HUB_KEY: &str = "hub.key";
pub const HUB_CRT: &str = "hub.crt";
pub const HUB_CA_CRT: &str = "hub-ca.crt";

/// Largest compressed batch the hub reads, and its size uncompressed.
pub const MAX_BATCH_BYTES: usize = 8 << 20;
const MAX_BATCH_RAW: u64 = 64 << 20;
/// A county sends at most this many entries, or about this many bytes, per batch.
const BATCH_ITEMS: usize = 1_000;
const BATCH_RAW: usize = 4 << 20;
/// Entries read from the county's log per step while looking for shipped ones.
const SCAN: usize = 5_000;
const MIN_BACKOFF: Duration = Duration::from_millis(500);
const MAX_BACKOFF: Duration = Duration::from_secs(30);

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ItemDto {
    pub instance: String,
    /// Hex of the hash of the entry before it in the county's log.
    pub prev: String,
    /// The stored entry (`hash ‖ entry`), base64.
    pub stored: String,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct BatchDto {
    /// Where the hub's copy ended when this batch was read (its cursor's `through`).
    pub after: u64,
    /// How far the county's log was read for it.
    pub through: u64,
    /// The county's log head when it sent the batch (0: not said): the hub's dashboard shows
    /// how far behind its copy is.
    #[serde(default)]
    pub head: u64,
    pub items: Vec<ItemDto>,
    /// Media its entries name, uploaded before it (not part of the wire form).
    #[serde(skip)]
    pub media: Vec<crate::domain::hub::CarriedMedia>,
}

/// `GET /fed/v1/county/cursor?head=N`: the county's log head as it asks.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Head {
    #[serde(default)]
    pub head: Option<u64>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct CursorDto {
    pub epoch: u64,
    pub lsn: u64,
    pub hash: String,
    pub through: u64,
    pub quarantined: Option<String>,
}

impl From<CountyCursor> for CursorDto {
    fn from(c: CountyCursor) -> Self {
        Self {
            epoch: c.epoch,
            lsn: c.lsn,
            hash: c.hash,
            through: c.through,
            quarantined: c.quarantined,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ReceiptDto {
    pub applied: u64,
    pub skipped: u64,
    pub cursor: Option<CursorDto>,
}

/// Encode a batch for the wire (zstd of JSON).
pub fn encode_batch(b: &BatchDto) -> Result<Vec<u8>> {
    let json = serde_json::to_vec(b).map_err(|e| Error::Internal(e.to_string()))?;
    zstd::encode_all(json.as_slice(), 3).map_err(|e| Error::Io(e.to_string()))
}

/// The batch, and the county's head if it said.
fn decode_batch(body: &[u8]) -> Result<(hub::Batch, Option<u64>)> {
    use std::io::Read;
    let mut json = Vec::new();
    zstd::stream::read::Decoder::new(body)
        .map_err(|e| Error::invalid("batch", e.to_string()))?
        .take(MAX_BATCH_RAW + 1)
        .read_to_end(&mut json)
        .map_err(|e| Error::invalid("batch", format!("not zstd: {e}")))?;
    if json.len() as u64 > MAX_BATCH_RAW {
        return Err(Error::invalid("batch", "over 64 MiB uncompressed"));
    }
    let b: BatchDto = serde_json::from_slice(&json)
        .map_err(|e| Error::invalid("batch", format!("not a batch: {e}")))?;
    let items = b
        .items
        .into_iter()
        .map(|i| {
            let prev: [u8; 32] = hex::decode(&i.prev)
                .ok()
                .and_then(|v| v.try_into().ok())
                .ok_or_else(|| Error::invalid("prev", "64 hex digits"))?;
            let stored = base64::engine::general_purpose::STANDARD
                .decode(&i.stored)
                .map_err(|_| Error::invalid("stored", "base64"))?;
            Ok(hub::Item {
                instance: i.instance,
                prev,
                stored,
            })
        })
        .collect::<Result<Vec<_>>>()?;
    Ok((
        hub::Batch {
            after: b.after,
            through: b.through,
            items,
        },
        (b.head > 0).then_some(b.head),
    ))
}

/// `GET /fed/v1/county/cursor` (hub side).
pub async fn cursor_handler(core: Core, who: Peer, head: Head) -> Response {
    core.contacts.touch(&who.id, core.clock.now(), head.head);
    let r = core
        .reader()
        .and_then(|r| {
            hub::current(&r.0, &who, core.clock.now()).and_then(|()| hub::cursor(&r.0, &who.id))
        })
        .map(|c| axum::Json(c.map(CursorDto::from)));
    match r {
        Ok(j) => j.into_response(),
        Err(e) => e.into_response(),
    }
}

/// `POST /fed/v1/county/batch` (hub side).
pub async fn batch_handler(core: Core, who: Peer, body: Bytes) -> Response {
    // (`hub::receive` checks the peer record again inside the write.)
    if who.role != "county" {
        return Error::Forbidden.into_response();
    }
    let batch = match tokio::task::spawn_blocking(move || decode_batch(&body)).await {
        Ok(Ok((b, head))) => {
            core.contacts.touch(&who.id, core.clock.now(), head);
            b
        }
        Ok(Err(e)) => return e.into_response(),
        Err(e) => return Error::Internal(e.to_string()).into_response(),
    };
    let r = core
        .committer
        .write(move |w| hub::receive(w, &who, &batch))
        .await;
    match r {
        Ok(hub::Receipt {
            quarantined: Some(reason),
            ..
        }) => Error::CountyQuarantined(reason).into_response(),
        Ok(r) => axum::Json(ReceiptDto {
            applied: r.applied,
            skipped: r.skipped,
            cursor: r.cursor.map(CursorDto::from),
        })
        .into_response(),
        Err(e) => e.into_response(),
    }
}

/// The county's connection to its hub, for `/api/v1/federation/status` and `/metrics`.
#[derive(Debug, Clone, Default, Serialize, utoipa::ToSchema)]
pub struct ShipStatus {
    /// `connecting`, `shipping`, `idle`, `quarantined`, `revoked` or `error`.
    pub state: String,
    pub hub: String,
    /// The hub's cursor: the last entry of this county's log it has.
    pub hub_lsn: u64,
    /// This county's log head.
    pub local_lsn: u64,
    pub last_contact: Option<Millis>,
    pub last_error: String,
    pub shipped: u64,
    pub batches: u64,
    pub bytes: u64,
    /// The number of the last message from the hub applied here (`fed::inbox`).
    pub inbox_seq: u64,
    /// Messages from the hub applied since start.
    pub messages: u64,
    /// Why the last fetch of the hub's messages failed (empty once one succeeds).
    pub inbox_error: String,
    /// When this county's certificate expires (it renews `federation.renew_before_days`
    /// before), and how many times it renewed since start.
    pub cert_not_after: Option<Millis>,
    pub renewals: u64,
    /// Instruction files not fetched from the hub yet, and fetched since start.
    pub files_pending: u64,
    pub files_fetched: u64,
}

pub type SharedShipStatus = Arc<Mutex<ShipStatus>>;

pub(super) fn update(s: &SharedShipStatus, f: impl FnOnce(&mut ShipStatus)) {
    if let Ok(mut g) = s.lock() {
        f(&mut g);
    }
}

/// The hub a county joined, if it did.
pub fn load_hub(data_dir: &Path) -> Result<Option<Upstream>> {
    Upstream::load_named(data_dir, HUB_FILE)
}

/// Ship to the hub until `closing` turns true.
pub async fn run(
    core: Core,
    hub: Upstream,
    status: SharedShipStatus,
    mut closing: tokio::sync::watch::Receiver<bool>,
) {
    update(&status, |s| {
        s.hub = hub.addr.clone();
        s.state = "connecting".into();
    });
    // A session also ends well after 30 s without a commit: the next one re-reads the hub's
    // cursor, which notices a revocation.
    let mut backoff = Backoff::new(MIN_BACKOFF, MAX_BACKOFF);
    loop {
        let r = tokio::select! {
            r = session(&core, &hub, &status) => r,
            () = closed(&mut closing) => return,
        };
        let wait = match &r {
            Err(Error::CountyQuarantined(_) | Error::PeerRevoked(_)) => backoff.max(),
            _ => backoff.after(r.is_ok()),
        };
        if let Err(e) = &r {
            tracing::warn!(hub = %hub.addr, "shipping to the hub: {e}");
            update(&status, |s| {
                s.state = if matches!(e, Error::CountyQuarantined(_)) {
                    "quarantined".into()
                } else if matches!(e, Error::PeerRevoked(_)) {
                    "revoked".into()
                } else {
                    "error".into()
                };
                s.last_error = format!("{} {e}", e.code());
            });
        }
        if !pause(wait, &mut closing).await {
            return;
        }
    }
}

pub(super) async fn client(core: &Core, hub: &Upstream) -> Result<(reqwest::Client, String)> {
    let d = pki::dir(&core.config.data_dir);
    super::renew::settle(&d.join(HUB_KEY), &d.join(HUB_CRT))?;
    let cfg = tls::client_config_with(&d.join(HUB_CA_CRT), &d.join(HUB_CRT), &d.join(HUB_KEY))?;
    super::follow::mtls_client(cfg, hub).await
}

pub(super) async fn error_of(r: reqwest::Response) -> Error {
    let status = r.status();
    let body: serde_json::Value = r.json().await.unwrap_or_default();
    match body["code"].as_str() {
        Some("county_quarantined") => {
            Error::CountyQuarantined(body["message"].as_str().unwrap_or_default().to_string())
        }
        Some("peer_revoked") => {
            let m = body["message"].as_str().unwrap_or_default();
            Error::PeerRevoked(m.strip_prefix("revoked: ").unwrap_or(m).to_string())
        }
        code => Error::Io(format!(
            "the hub answered {status}: {} {}",
            code.unwrap_or_default(),
            body["message"].as_str().unwrap_or_default()
        )),
    }
}

/// One connection: learn the hub's cursor, then ship everything after it, then follow the log.
async fn session(core: &Core, hub: &Upstream, status: &SharedShipStatus) -> Result<()> {
    let (http, base) = client(core, hub).await?;
    let head = core.committer.log_watch().current().0;
    let r = http
        .get(format!("{base}/fed/v1/county/cursor?head={head}"))
        .send()
        .await
        .map_err(|e| Error::Io(format!("{}: {e}", hub.addr)))?;
    if !r.status().is_success() {
        return Err(error_of(r).await);
    }
    let cur: Option<CursorDto> = r
        .json()
        .await
        .map_err(|e| Error::Io(format!("hub cursor: {e}")))?;
    if let Some(reason) = cur.as_ref().and_then(|c| c.quarantined.clone()) {
        return Err(Error::CountyQuarantined(reason));
    }
    renew_if_due(core, &http, &base, status).await?;
    let mut at = Lsn(cur.as_ref().map_or(0, |c| c.through));
    update(status, |s| {
        s.state = "shipping".into();
        s.hub_lsn = at.0;
        s.last_contact = Some(core.clock.now());
        s.last_error.clear();
    });
    let instance = {
        let r = core.reader()?;
        crate::store::access::instance(&r.0)?
            .ok_or_else(|| Error::Internal("instance not initialized".into()))?
            .instance_id
    };
    let mut watch = core.committer.log_watch();
    loop {
        let head = watch.current();
        update(status, |s| s.local_lsn = head.0);
        if at >= head {
            update(status, |s| s.state = "idle".into());
            // Wait for the next commit; a pause without one re-checks the hub's cursor.
            match tokio::time::timeout(Duration::from_secs(30), watch.wait_past(at)).await {
                Ok(None) => return Ok(()),
                Ok(Some(_)) => continue,
                Err(_) => return Ok(()),
            }
        }
        let db = core.db.clone();
        let inst = instance.clone();
        let mut batch = tokio::task::spawn_blocking(move || next_batch(&db, &inst, at))
            .await
            .map_err(|e| Error::Internal(e.to_string()))??;
        batch.head = head.0.max(batch.through);
        if !batch.media.is_empty() {
            let sent = super::media::upload(core, &http, &base, &batch.media).await?;
            update(status, |s| s.bytes += sent);
        }
        let n = batch.items.len() as u64;
        let body = encode_batch(&batch)?;
        let len = body.len() as u64;
        let r = http
            .post(format!("{base}/fed/v1/county/batch"))
            .header("content-type", "application/x-rongmei-batch")
            .body(body)
            .send()
            .await
            .map_err(|e| Error::Io(format!("{}: {e}", hub.addr)))?;
        if !r.status().is_success() {
            return Err(error_of(r).await);
        }
        let receipt: ReceiptDto = r
            .json()
            .await
            .map_err(|e| Error::Io(format!("hub receipt: {e}")))?;
        // The hub's word is the cursor.
        at = Lsn(receipt.cursor.as_ref().map_or(0, |c| c.through));
        if at.0 < batch.through {
            return Err(Error::Io(format!(
                "the hub acknowledged up to entry {} of a batch through {}",
                at.0, batch.through
            )));
        }
        update(status, |s| {
            s.state = "shipping".into();
            s.hub_lsn = at.0;
            s.last_contact = Some(core.clock.now());
            s.shipped += n;
            s.batches += 1;
            s.bytes += len;
        });
    }
}

/// Renew this county's certificate over the open connection when it is due; the connection
/// carries on with the old one, the next uses the new.
async fn renew_if_due(
    core: &Core,
    http: &reqwest::Client,
    base: &str,
    status: &SharedShipStatus,
) -> Result<()> {
    let d = pki::dir(&core.config.data_dir);
    let (key, crt) = (d.join(HUB_KEY), d.join(HUB_CRT));
    let before = core.config.federation.renew_before_days;
    let renewed = if super::renew::due(&crt, core.clock.now(), before) {
        let not_after = super::renew::renew_at(http, base, &key, &crt).await?;
        tracing::info!(not_after, "certificate renewed at the hub");
        1
    } else {
        0
    };
    // One update: a reader never sees a renewal without the new certificate's expiry.
    let exp = super::renew::expiry(&crt);
    update(status, |s| {
        s.renewals += renewed;
        s.cert_not_after = exp;
    });
    Ok(())
}

/// The shipped entries after `after`, each with the hash before it, up to a batch's worth or
/// the log's end (`through` says how far it read). (Public for tests that replay batches.)
pub fn next_batch(db: &redb::Database, instance: &InstanceId, after: Lsn) -> Result<BatchDto> {
    let mut out = BatchDto {
        after: after.0,
        through: after.0,
        head: 0,
        media: Vec::new(),
        items: Vec::new(),
    };
    let mut raw = 0usize;
    let mut prev: Option<[u8; 32]> = None;
    let b64 = base64::engine::general_purpose::STANDARD;
    // One scan step at most: the hub learns of progress through stretches with nothing to ship.
    for stored in crate::log::read_raw(db, Lsn(after.0 + 1), SCAN, usize::MAX)? {
        let (hash, _) = entry::split_stored(&stored)?;
        let lsn = Lsn(out.through + 1);
        if SHIPPED.iter().any(|k| entry::fact_is(&stored, k)) {
            if (entry::fact_is(&stored, "ProvincialReviewRequested")
                || entry::fact_is(&stored, "ArticleOffered"))
                && let Ok(e) = entry::decode_stored(&stored)
            {
                use crate::domain::fact::Fact;
                match e.fact {
                    Fact::ProvincialReviewRequested { request } => out.media.extend(request.media),
                    Fact::ArticleOffered { media, .. } => out.media.extend(media),
                    _ => {}
                }
            }
            let before = match prev {
                Some(h) => h,
                None if lsn.0 <= 1 => entry::genesis(instance),
                None => {
                    let p = crate::log::raw_at(db, Lsn(lsn.0 - 1))?.ok_or_else(|| {
                        Error::LogIntegrity(format!("entry {} missing", lsn.0 - 1))
                    })?;
                    entry::split_stored(&p)?.0
                }
            };
            raw += stored.len();
            out.items.push(ItemDto {
                instance: instance.0.clone(),
                prev: hex::encode(before),
                stored: b64.encode(&stored),
            });
        }
        prev = Some(hash);
        out.through = lsn.0;
        if out.items.len() >= BATCH_ITEMS || raw >= BATCH_RAW {
            break;
        }
    }
    Ok(out)
}
