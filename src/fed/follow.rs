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

use super::retry::{Backoff, closed, pause};
use super::{pki, tls, wire};
use crate::clock::Millis;
use crate::error::{Error, Result};
use crate::log::entry;
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
        Self::load_named(data_dir, UPSTREAM_FILE)
    }

    /// The same record under another name in `pki/` (a county's `hub.toml`).
    pub fn load_named(data_dir: &Path, name: &str) -> Result<Option<Self>> {
        let p = pki::dir(data_dir).join(name);
        if !p.exists() {
            return Ok(None);
        }
        let text = pki::read(&p)?;
        toml::from_str(&text)
            .map(Some)
            .map_err(|e| Error::Config(format!("{}: {e}", p.display())))
    }

    pub fn save(&self, data_dir: &Path) -> Result<()> {
        self.save_named(data_dir, UPSTREAM_FILE)
    }

    pub fn save_named(&self, data_dir: &Path, name: &str) -> Result<()> {
        let text = toml::to_string(self).map_err(|e| Error::Internal(e.to_string()))?;
        pki::write_public(&pki::dir(data_dir).join(name), &text)
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
    /// Frames received as the primary's catch-up cache keeps them (`chunks`).
    pub chunks: u64,
    pub connects: u64,
    /// Media files the replica's records name but it does not have yet.
    pub media_pending: u64,
    pub media_fetched: u64,
    pub media_bytes: u64,
}

pub type SharedStatus = Arc<Mutex<FollowStatus>>;

const MIN_BACKOFF: Duration = Duration::from_millis(200);
const MAX_BACKOFF: Duration = Duration::from_secs(30);
/// No frame for this long (heartbeats come every 2 s): reconnect.
/// Frames received ahead of the applier (each at most `wire::BATCH_BYTES`).
const QUEUED_FRAMES: usize = 8;
/// Entries applied in one transaction at most.
const COALESCE_ENTRIES: usize = 8_000;
const SILENCE: Duration = Duration::from_secs(10);
/// Frames decoded at once (see `receive`).
const DECODING: usize = 4;
/// Decoding yields to the writer: a replica catching up on few cores is fastest when the
/// writer (one thread, the pipeline's end) gets a core whenever it has work.
const DECODER_NICE: i32 = 10;
/// Behind the primary by more than this many entries, the replica is catching up: its search
/// indexer holds back (tokenizing takes the CPU the writer needs; see `search::indexer`).
const CATCHING_UP: u64 = 10_000;

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
    // Media files follow by content hash: everything missing now, then what new entries name.
    let (media_tx, media_rx) = tokio::sync::mpsc::unbounded_channel();
    tokio::spawn(media_loop(
        core.clone(),
        up.clone(),
        status.clone(),
        media_rx,
        closing.clone(),
    ));
    let c2 = core.clone();
    if let Ok(Ok(missing)) = tokio::task::spawn_blocking(move || missing_media(&c2)).await {
        for h in missing {
            let _ = media_tx.send(h);
        }
    }
    let mut backoff = Backoff::new(MIN_BACKOFF, MAX_BACKOFF);
    loop {
        let r = tokio::select! {
            r = session(&core, &up, &status, &media_tx) => Some(r),
            () = closed(&mut closing) => None,
        };
        // Not following, so not behind (until the next session's first batch says so).
        core.committer.stats.set_behind(false);
        let Some(r) = r else { return };
        let wait = backoff.after(r.is_ok());
        let (state, wait) = match &r {
            Err(Error::HistoryDiverged { .. }) => ("diverged", backoff.max()),
            Err(_) => ("error", wait),
            Ok(()) => ("connecting", wait),
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
        if !pause(wait, &mut closing).await {
            return;
        }
    }
}

/// The replica's position: (epoch, lsn, hash hex) of its last entry.
fn position(core: &Core) -> Result<(u64, u64, String)> {
    let r = core.reader()?;
    Ok(access::log_head(&r.0)?.map_or((0, 0, String::new()), |h| (h.epoch.0, h.lsn.0, h.hash)))
}

/// An mTLS client for the primary's listener and its base URL.
async fn client(core: &Core, up: &Upstream) -> Result<(reqwest::Client, String)> {
    mtls_client(tls::client_config(&core.config.data_dir)?, up).await
}

/// An HTTP client over `cfg` for the listener `up` names, and its base URL.
pub async fn mtls_client(
    cfg: rustls::ClientConfig,
    up: &Upstream,
) -> Result<(reqwest::Client, String)> {
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
    Ok((client, format!("https://{name}:{}", addr.port())))
}

/// Media hashes (files and thumbnails) the replica's asset records and inbox name but it lacks.
fn missing_media(core: &Core) -> Result<Vec<String>> {
    let r = core.reader()?;
    let mut out = Vec::new();
    for a in access::all_assets(&r.0)? {
        for h in std::iter::once(a.sha256).chain(a.thumb_sha256) {
            if !core.blobs.path(&h).exists() {
                out.push(h);
            }
        }
    }
    // A county's instruction files, as its primary fetched them from the hub.
    out.extend(crate::workflow::attachments::missing(&r.0, &core.blobs)?);
    Ok(out)
}

/// Fetch media files one at a time (streamed to disk, hash checked, then moved into place); a
/// failed fetch is retried after a pause, so an interrupted copy resumes by content hash.
async fn media_loop(
    core: Core,
    up: Upstream,
    status: SharedStatus,
    mut rx: tokio::sync::mpsc::UnboundedReceiver<String>,
    mut closing: tokio::sync::watch::Receiver<bool>,
) {
    let mut queue: std::collections::VecDeque<String> = std::collections::VecDeque::new();
    let mut queued: std::collections::HashSet<String> = std::collections::HashSet::new();
    let mut conn: Option<(reqwest::Client, String)> = None;
    loop {
        while let Ok(h) = rx.try_recv() {
            if queued.insert(h.clone()) {
                queue.push_back(h);
            }
        }
        update(&status, |s| s.media_pending = queue.len() as u64);
        let Some(h) = queue.front().cloned() else {
            tokio::select! {
                m = rx.recv() => match m {
                    Some(h) => {
                        if queued.insert(h.clone()) {
                            queue.push_back(h);
                        }
                    }
                    None => return,
                },
                () = closed(&mut closing) => return,
            }
            continue;
        };
        if core.blobs.path(&h).exists() {
            queue.pop_front();
            queued.remove(&h);
            continue;
        }
        if conn.is_none() {
            conn = client(&core, &up).await.ok();
        }
        let r = match &conn {
            Some((c, base)) => fetch(&core, c, base, &h).await,
            None => Err(Error::Io("no federation client".into())),
        };
        match r {
            Ok(n) => {
                queue.pop_front();
                queued.remove(&h);
                update(&status, |s| {
                    s.media_fetched += 1;
                    s.media_bytes += n;
                });
            }
            Err(e) => {
                tracing::warn!(sha256 = %h, "fetching a media file from the primary: {e}");
                conn = None;
                // To the back of the queue, and a pause before trying again.
                if let Some(x) = queue.pop_front() {
                    queue.push_back(x);
                }
                tokio::select! {
                    _ = tokio::time::sleep(MIN_BACKOFF * 10) => {},
                    () = closed(&mut closing) => return,
                }
            }
        }
    }
}

/// Fetch one media file from a peer's `/fed/v1/blob` (streamed to disk, hash checked, then
/// moved into place); returns its size.
pub(super) async fn fetch(core: &Core, c: &reqwest::Client, base: &str, h: &str) -> Result<u64> {
    let resp = c
        .get(format!("{base}/fed/v1/blob/{h}"))
        .send()
        .await
        .map_err(|e| Error::Io(e.to_string()))?;
    if !resp.status().is_success() {
        return Err(Error::Io(format!("{base} answered {}", resp.status())));
    }
    let limit = core.config.assets.max_upload_bytes.max(1) * 2;
    let staged = core.blobs.stage(resp.bytes_stream(), limit).await?;
    if staged.sha256 != h {
        let got = staged.sha256.clone();
        staged.discard().await;
        return Err(Error::Io(format!("received bytes hash to {got}, not {h}")));
    }
    let n = staged.size;
    core.blobs.keep(staged).await?;
    Ok(n)
}

async fn session(
    core: &Core,
    up: &Upstream,
    status: &SharedStatus,
    media: &tokio::sync::mpsc::UnboundedSender<String>,
) -> Result<()> {
    let (client, base) = client(core, up).await?;
    let (epoch, lsn, hash) = position(core)?;
    let url = format!("{base}/fed/v1/log?epoch={epoch}&lsn={lsn}&hash={hash}");
    let resp = client
        .get(&url)
        .header(wire::FRAMES_HEADER, wire::FRAMES_STREAM)
        .header(wire::CHUNKS_HEADER, wire::CHUNKS_YES)
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
    // A reader task receives and decodes frames while the previous ones are being applied;
    // the applier takes everything that has arrived into one transaction, so while a commit
    // waits for the disk the next frames queue up and the lag stays near one commit however
    // fast the primary writes.
    let (tx, mut rx) = tokio::sync::mpsc::channel::<Result<DecodedFrame>>(QUEUED_FRAMES);
    let reader = {
        let status = status.clone();
        // A primary of an older version sends independent frames (and not the header).
        let dec = if wire::stream_frames(resp.headers()) {
            wire::Decoder::stream()?
        } else {
            wire::Decoder::default()
        };
        tokio::spawn(receive(resp.bytes_stream(), dec, status, tx))
    };
    let _stop_reader = AbortOnDrop(reader);
    while let Some(first) = rx.recv().await {
        let mut frames = vec![first?];
        let mut n = frames[0].entries.len();
        while n < COALESCE_ENTRIES {
            match rx.try_recv() {
                Ok(f) => {
                    let f = f?;
                    n += f.entries.len();
                    frames.push(f);
                }
                Err(_) => break,
            }
        }
        let head = frames.last().map(|f| f.head);
        let entries: Vec<entry::Received> = frames.into_iter().flat_map(|f| f.entries).collect();
        // Said before the entries are committed, so the indexer knows when it sees them.
        if let (Some(head), Some(last)) = (head, entries.last()) {
            let behind = head.saturating_sub(last.entry().lsn.0) > CATCHING_UP;
            core.committer.stats.set_behind(behind);
        }
        let now = core.clock.now();
        let mut applied = None;
        if !entries.is_empty() {
            let n = entries.len() as u64;
            let wanted = super::carry::media_of_facts(entries.iter().map(|r| &r.entry().fact));
            let last = core.committer.write(move |w| w.replicate(&entries)).await?;
            applied = Some((last.0, n));
            for h in wanted {
                let _ = media.send(h);
            }
        }
        update(status, |s| {
            s.last_contact = Some(now);
            s.primary_head = head.unwrap_or(s.primary_head);
            if let Some((l, n)) = applied {
                s.applied_lsn = l;
                s.entries += n;
            }
            s.lag_entries = s.primary_head.saturating_sub(s.applied_lsn);
        });
    }
    Ok(())
}

/// Receive the stream's frames and decode them, several at once on the decoders' threads (a
/// cached frame is decompressed there too); decoded frames go to `tx` in order, an error after
/// the frames before it.
async fn receive(
    mut stream: impl futures_util::Stream<Item = reqwest::Result<bytes::Bytes>> + Unpin,
    mut dec: wire::Decoder,
    status: SharedStatus,
    tx: tokio::sync::mpsc::Sender<Result<DecodedFrame>>,
) {
    let pool = match decoders() {
        Ok(p) => p,
        Err(e) => {
            let _ = tx.send(Err(e)).await;
            return;
        }
    };
    let mut decoding = futures_util::stream::FuturesOrdered::new();
    // The stream's end, or its failure: either way frames still decoding are delivered first.
    let (mut ended, mut failure) = (false, None);
    loop {
        tokio::select! {
            biased;
            Some(done) = decoding.next(), if !decoding.is_empty() => {
                let r = joined(done);
                let failed = r.is_err();
                if tx.send(r).await.is_err() || failed {
                    return;
                }
            }
            chunk = tokio::time::timeout(SILENCE, stream.next()),
                if !ended && decoding.len() < DECODING =>
            {
                ended = matches!(chunk, Ok(None));
                let frames = match chunk {
                    Err(_) => Err(Error::Io("the primary went silent".into())),
                    Ok(None) => Ok(Vec::new()),
                    Ok(Some(c)) => c
                        .map_err(|e| Error::Io(format!("log stream: {e}")))
                        .and_then(|c| frames_of(&mut dec, &c, &status)),
                };
                match frames {
                    Ok(frames) => {
                        for f in frames {
                            decoding.push_back(decode_on(pool, f));
                        }
                    }
                    Err(e) => (ended, failure) = (true, Some(e)),
                }
            }
            else => {
                if let Some(e) = failure {
                    let _ = tx.send(Err(e)).await;
                }
                return;
            }
        }
    }
}

/// Feed a chunk of the stream to the decoder and take the frames it completes.
fn frames_of(
    dec: &mut wire::Decoder,
    c: &[u8],
    status: &SharedStatus,
) -> Result<Vec<wire::Arrived>> {
    dec.feed(c);
    let mut out = Vec::new();
    while let Some(f) = dec.next_arrived()? {
        out.push(f);
    }
    let cached = dec.take_cached();
    update(status, |s| {
        s.bytes += c.len() as u64;
        s.chunks += cached;
    });
    Ok(out)
}

fn joined(
    done: std::result::Result<Result<DecodedFrame>, tokio::sync::oneshot::error::RecvError>,
) -> Result<DecodedFrame> {
    done.map_err(|e| Error::Internal(format!("decoding a frame: {e}")))?
}

/// The decoding threads (one per core, at most `DECODING`), shared by every session.
fn decoders() -> Result<&'static rayon::ThreadPool> {
    static POOL: std::sync::OnceLock<rayon::ThreadPool> = std::sync::OnceLock::new();
    if let Some(p) = POOL.get() {
        return Ok(p);
    }
    let n = std::thread::available_parallelism().map_or(2, |n| n.get().min(DECODING));
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(n)
        .thread_name(|i| format!("replica-decode-{i}"))
        .start_handler(|_| {
            // On Linux the nice value is per thread.
            if let Err(e) = rustix::process::setpriority_process(None, DECODER_NICE) {
                tracing::debug!("replica decoder priority unchanged: {e}");
            }
        })
        .build()
        .map_err(|e| Error::Internal(format!("cannot start the replica's decoders: {e}")))?;
    Ok(POOL.get_or_init(|| pool))
}

/// Decode `f` on the pool; the result arrives on the returned receiver.
fn decode_on(
    pool: &rayon::ThreadPool,
    f: wire::Arrived,
) -> tokio::sync::oneshot::Receiver<Result<DecodedFrame>> {
    let (tx, rx) = tokio::sync::oneshot::channel();
    pool.spawn(move || {
        let _ = tx.send(DecodedFrame::decode(f));
    });
    rx
}

/// A frame of the log stream with its entries decoded.
struct DecodedFrame {
    head: u64,
    entries: Vec<entry::Received>,
}

impl DecodedFrame {
    /// Each entry after the first is checked against the hash the entry before it claims; the
    /// writer checks the first against its head (and so the claims, link by link). The
    /// entries are decoded in parallel on the decoders' threads, so the first frame of a
    /// catch-up, which the writer waits for, takes half the time on two cores.
    fn decode(f: wire::Arrived) -> Result<Self> {
        use rayon::prelude::*;
        let f = f.open()?;
        let claims = f
            .entries
            .iter()
            .map(|s| entry::split_stored(s).map(|(h, _)| h))
            .collect::<Result<Vec<_>>>()?;
        let entries = f
            .entries
            .into_par_iter()
            .enumerate()
            .map(|(i, s)| match i.checked_sub(1) {
                None => entry::Received::decode(s),
                Some(before) => {
                    let mut claimed = claims[before];
                    entry::Received::decode_after(s, &mut claimed)
                }
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(Self {
            head: f.head,
            entries,
        })
    }
}

/// Aborts a task when dropped (the session's reader ends with the session).
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::fact::Fact;
    use crate::domain::{Epoch, Lsn, UserId};

    /// `n` entries chained from `prev`, as stored.
    fn chained(mut prev: [u8; 32], n: u64) -> Vec<Vec<u8>> {
        (1..=n)
            .map(|i| {
                let f = Fact::PasswordSet {
                    user: UserId(i),
                    phc: format!("口令 {i}"),
                };
                let (h, stored) =
                    entry::seal(&prev, &entry::encode_entry(Epoch(1), Lsn(i), 0, None, &f));
                prev = h;
                stored
            })
            .collect()
    }

    fn links(f: &DecodedFrame) -> Vec<Option<[u8; 32]>> {
        f.entries.iter().map(|r| r.linked_from().copied()).collect()
    }

    fn hash(stored: &[u8]) -> [u8; 32] {
        entry::split_stored(stored).unwrap().0
    }

    #[test]
    fn a_frame_links_each_entry_to_the_one_before_and_leaves_the_first_to_the_writer() {
        let e = chained([7; 32], 3);
        let frame = wire::Frame {
            head: 3,
            at: 0,
            entries: e.clone(),
        };
        let z = wire::compress_for_cache(&frame, 1).unwrap();
        for arrived in [
            wire::Arrived::Frame(frame),
            wire::Arrived::Cached { head: 3, at: 0, z },
        ] {
            let d = DecodedFrame::decode(arrived).unwrap();
            assert_eq!(d.head, 3);
            assert_eq!(links(&d), vec![None, Some(hash(&e[0])), Some(hash(&e[1]))]);
        }
    }

    #[test]
    fn an_altered_entry_is_left_unlinked_for_the_writer_to_refuse() {
        let mut e = chained([7; 32], 3);
        let claimed = e.iter().map(|s| hash(s)).collect::<Vec<_>>();
        // Change a character of the second entry's fact; its hash no longer matches.
        let at = e[1].windows(3).position(|w| w == "口".as_bytes()).unwrap();
        e[1][at + 2] ^= 1;
        let d = DecodedFrame::decode(wire::Arrived::Frame(wire::Frame {
            head: 3,
            at: 0,
            entries: e,
        }))
        .unwrap();
        // The third still extends the hash the second claims: the writer applies it only after
        // the second, which it refuses.
        assert_eq!(links(&d), vec![None, None, Some(claimed[1])]);
        // What the writer computes for an unlinked entry does not match what it claims.
        let (h, bytes) = entry::split_stored(d.entries[1].stored()).unwrap();
        assert_eq!(h, claimed[1]);
        assert_ne!(entry::chain(&claimed[0], bytes), h);
    }

    #[test]
    fn a_damaged_cached_frame_is_an_error() {
        let frame = wire::Frame {
            head: 2,
            at: 0,
            entries: chained([7; 32], 2),
        };
        let mut z = wire::compress_for_cache(&frame, 1).unwrap();
        let mid = z.len() / 2;
        z[mid] ^= 0xff;
        let r = DecodedFrame::decode(wire::Arrived::Cached { head: 2, at: 0, z });
        assert!(r.is_err());
    }
}
