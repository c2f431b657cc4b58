//! The federation listener: TLS 1.3 with a client certificate from our CA (rustls verifies the
//! chain and validity), then the certificate is checked against the peer records — known id,
//! same fingerprint, not revoked — before any request is read; a stranger is dropped after the
//! handshake. Requests are served by hyper with the peer's identity attached.
//!
//! `GET /fed/v1/log?epoch=E&lsn=N&hash=H` (role `replica`): the follower states its position;
//! if that is not on this log, `409 history_diverged` names both positions. Otherwise the
//! response is an endless stream of `wire` frames: every entry after N as it commits (batches up
//! to `wire::BATCH_BYTES`), and a heartbeat every `HEARTBEAT` when idle.
//!
//! `GET /fed/v1/county/cursor`, `POST /fed/v1/county/batch` (role `county`, on a hub): county
//! shipping (`ship`); `GET /fed/v1/county/inbox` (same role): the hub's messages (`inbox`).
//!
//! `POST /fed/v1/renew` (any peer): a new certificate for the same identity (`renew`).

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::{Extension, Query, State};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use hyper_util::rt::TokioIo;
use hyper_util::service::TowerToHyperService;
use serde::Deserialize;
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;

use super::chunks::Chunks;
use super::retry::closed;
use super::{pki, wire};
use crate::domain::Lsn;
use crate::domain::peer::Peer;
use crate::error::{Error, Result};
use crate::store::federation;
use crate::workflow::Core;

const HEARTBEAT: Duration = Duration::from_secs(2);
const HANDSHAKE: Duration = Duration::from_secs(10);
/// Frames prepared ahead of the wire per follower.
const PREFETCH: usize = 4;
/// Entries per batch read (a batch is also cut at `wire::BATCH_BYTES`).
const BATCH_ENTRIES: usize = 2_000;

/// Check a presented certificate against the peer records. The peer returned carries the
/// presented certificate's fingerprint (its current one, or the one it renewed from).
pub fn admit(core: &Core, der: &[u8]) -> Result<Peer> {
    let (role, id, _) = pki::identity(der).ok_or(Error::Forbidden)?;
    let r = core.reader()?;
    let mut peer = federation::peer(&r.0, &id)?.ok_or(Error::Forbidden)?;
    let presented = pki::fingerprint(der);
    if peer.role != role || !peer.accepts(&presented, core.clock.now()) {
        return Err(Error::Forbidden);
    }
    peer.fingerprint = presented;
    Ok(peer)
}

/// Why the peer whose certificate this is was revoked, if it was (its current certificate, or
/// the one it renewed from).
fn revoked_reason(core: &Core, der: &[u8]) -> Option<String> {
    let (role, id, _) = pki::identity(der)?;
    let r = core.reader().ok()?;
    let peer = federation::peer(&r.0, &id).ok()??;
    let fp = pki::fingerprint(der);
    let mine =
        peer.fingerprint == fp || peer.previous.as_ref().is_some_and(|p| p.fingerprint == fp);
    (peer.role == role && mine)
        .then_some(peer.revoked)
        .flatten()
        .map(|r| r.reason)
}

/// Accept connections until `closing` turns true.
pub async fn serve(
    listener: TcpListener,
    core: Core,
    chunks: Option<Arc<Chunks>>,
    mut closing: tokio::sync::watch::Receiver<bool>,
) -> Result<()> {
    let acceptor = TlsAcceptor::from(super::tls::server_config(&core.config.data_dir)?);
    let app = router(core.clone(), chunks, closing.clone());
    loop {
        let (tcp, addr) = tokio::select! {
            r = listener.accept() => match r {
                Ok(x) => x,
                Err(e) => {
                    tracing::warn!("federation accept: {e}");
                    continue;
                }
            },
            () = closed(&mut closing) => return Ok(()),
        };
        let _ = tcp.set_nodelay(true);
        let (acceptor, core, app, closing) =
            (acceptor.clone(), core.clone(), app.clone(), closing.clone());
        tokio::spawn(async move {
            if let Err(e) = connection(tcp, addr, acceptor, core, app, closing).await {
                tracing::info!(%addr, "federation connection refused: {e}");
            }
        });
    }
}

async fn connection(
    tcp: tokio::net::TcpStream,
    addr: SocketAddr,
    acceptor: TlsAcceptor,
    core: Core,
    app: Router,
    mut closing: tokio::sync::watch::Receiver<bool>,
) -> Result<()> {
    let tls = tokio::time::timeout(HANDSHAKE, acceptor.accept(tcp))
        .await
        .map_err(|_| Error::Io("TLS handshake timed out".into()))?
        .map_err(|e| Error::Io(format!("TLS handshake: {e}")))?;
    let der = tls
        .get_ref()
        .1
        .peer_certificates()
        .and_then(|c| c.first())
        .map(|c| c.to_vec())
        .ok_or(Error::Forbidden)?;
    let peer = match admit(&core, &der) {
        Ok(p) => p,
        Err(e) => {
            // A revoked peer (its own key proved at the handshake) is told why, and nothing
            // else; any other stranger is dropped.
            if let Some(reason) = revoked_reason(&core, &der) {
                tracing::info!(%addr, "revoked peer refused: {reason}");
                let app = Router::new().fallback(move || {
                    let r = reason.clone();
                    async move { Error::PeerRevoked(r).into_response() }
                });
                let svc = TowerToHyperService::new(app);
                let conn = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(tls), svc);
                let _ = tokio::time::timeout(HANDSHAKE, conn).await;
                return Ok(());
            }
            return Err(Error::Io(format!(
                "certificate {} not admitted: {e}",
                pki::fingerprint(&der)
            )));
        }
    };
    tracing::info!(%addr, peer = %peer.id, role = %peer.role, "federation peer connected");
    let svc = TowerToHyperService::new(app.layer(Extension(peer)));
    let conn = hyper::server::conn::http1::Builder::new()
        .max_buf_size(1 << 20)
        .serve_connection(TokioIo::new(tls), svc);
    tokio::pin!(conn);
    let stop = async move {
        let _ = closing.wait_for(|c| *c).await;
    };
    tokio::select! {
        r = conn.as_mut() => return r.map_err(|e| Error::Io(e.to_string())),
        () = stop => {}
    }
    conn.as_mut().graceful_shutdown();
    let _ = conn.await;
    Ok(())
}

#[derive(Clone)]
struct Fed {
    core: Core,
    /// The catch-up cache, when this primary keeps one.
    chunks: Option<Arc<Chunks>>,
    closing: tokio::sync::watch::Receiver<bool>,
}

fn router(
    core: Core,
    chunks: Option<Arc<Chunks>>,
    closing: tokio::sync::watch::Receiver<bool>,
) -> Router {
    Router::new()
        .route("/fed/v1/log", get(log_stream))
        .route("/fed/v1/blob/{sha256}", get(blob))
        .route(
            "/fed/v1/county/cursor",
            get(
                |State(f): State<Fed>,
                 Extension(who): Extension<Peer>,
                 Query(head): Query<super::ship::Head>| {
                    super::ship::cursor_handler(f.core, who, head)
                },
            ),
        )
        .route(
            "/fed/v1/county/inbox",
            get(
                |State(f): State<Fed>,
                 Extension(who): Extension<Peer>,
                 Query(after): Query<super::inbox::After>| {
                    super::inbox::handler(f.core, who, after, f.closing)
                },
            ),
        )
        .route(
            "/fed/v1/renew",
            axum::routing::post(
                |State(f): State<Fed>, Extension(who): Extension<Peer>, body: axum::body::Bytes| {
                    super::renew::handler(f.core, who, body)
                },
            )
            .layer(axum::extract::DefaultBodyLimit::max(
                super::renew::MAX_CSR_BYTES,
            )),
        )
        .route(
            "/fed/v1/county/media/wanted",
            axum::routing::post(
                |State(f): State<Fed>, Extension(who): Extension<Peer>, body: axum::body::Bytes| {
                    super::media::wanted_handler(f.core, who, body)
                },
            )
            .layer(axum::extract::DefaultBodyLimit::max(256 * 1024)),
        )
        .route(
            "/fed/v1/county/media/{sha256}",
            axum::routing::put(
                |State(f): State<Fed>,
                 Extension(who): Extension<Peer>,
                 axum::extract::Path(sha): axum::extract::Path<String>,
                 body: Body| { super::media::put_handler(f.core, who, sha, body) },
            ),
        )
        .route(
            "/fed/v1/county/batch",
            axum::routing::post(
                |State(f): State<Fed>, Extension(who): Extension<Peer>, body: axum::body::Bytes| {
                    super::ship::batch_handler(f.core, who, body)
                },
            )
            .layer(axum::extract::DefaultBodyLimit::max(
                super::ship::MAX_BATCH_BYTES,
            )),
        )
        .with_state(Fed {
            core,
            chunks,
            closing,
        })
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Position {
    epoch: u64,
    lsn: u64,
    #[serde(default)]
    hash: String,
}

/// Is `(epoch, lsn, hash)` a position on this log? (lsn 0: the start, always.)
fn on_history(core: &Core, p: &Position) -> Result<()> {
    if p.lsn == 0 {
        return Ok(());
    }
    let here = crate::log::raw_at(&core.db, Lsn(p.lsn))?
        .map(|s| crate::log::entry::decode_stored(&s))
        .transpose()?;
    match here {
        Some(e) if e.epoch.0 == p.epoch && e.hash == p.hash => Ok(()),
        other => {
            let head = crate::log::read::head(&core.db)?;
            Err(Error::HistoryDiverged {
                follower: format!("epoch {} lsn {} hash {}", p.epoch, p.lsn, short(&p.hash)),
                here: match other {
                    Some(e) => format!(
                        "lsn {} is epoch {} hash {}",
                        p.lsn,
                        e.epoch.0,
                        short(&e.hash)
                    ),
                    None => format!("the log ends at epoch {} lsn {}", head.0.0, head.1.0),
                },
            })
        }
    }
}

fn short(h: &str) -> &str {
    &h[..h.len().min(16)]
}

async fn log_stream(
    State(Fed {
        core,
        chunks,
        closing,
    }): State<Fed>,
    Extension(who): Extension<Peer>,
    Query(p): Query<Position>,
    headers: axum::http::HeaderMap,
) -> Response {
    if who.role != "replica" {
        return Error::Forbidden.into_response();
    }
    if let Err(e) = on_history(&core, &p) {
        return e.into_response();
    }
    let stream_frames = wire::stream_frames(&headers);
    let mut encoder = if stream_frames {
        match wire::Encoder::stream() {
            Ok(e) => e,
            Err(e) => return e.into_response(),
        }
    } else {
        wire::Encoder::Independent
    };
    // Cached frames only to a follower that reads them.
    let chunks = chunks.filter(|_| wire::cached_frames(&headers));
    let send_chunks = chunks.is_some();
    let watch = core.committer.log_watch();
    let peer = who.id.clone();
    // Ends when shutdown begins (a graceful shutdown waits for responses to finish).
    let mut closing = closing;
    let stop = async move { closed(&mut closing).await };
    // A producer prepares the next frames while the previous ones are on the wire (up to
    // `PREFETCH` ahead); it stops when the response is dropped.
    let (tx, rx) = tokio::sync::mpsc::channel::<Vec<u8>>(PREFETCH);
    tokio::spawn(async move {
        let (mut watch, mut cursor) = (watch, Lsn(p.lsn));
        loop {
            // Behind the cache's end: the chunk that starts here, sent as it is.
            match cached_frame(&core, chunks.as_ref(), &watch, cursor).await {
                Ok(Some((bytes, last))) => {
                    if tx.send(bytes).await.is_err() {
                        return;
                    }
                    cursor = last;
                    continue;
                }
                Ok(None) => {}
                Err(e) => tracing::warn!(%peer, "catch-up cache not used: {e}"),
            }
            // Up to the next chunk's start, so that the stream meets the chunks.
            let limit = chunks
                .as_ref()
                .and_then(|c| c.next_start_after(cursor.0))
                .map_or(BATCH_ENTRIES, |s| {
                    (s - cursor.0 - 1).clamp(1, BATCH_ENTRIES as u64) as usize
                });
            let next = tokio::select! {
                n = next_frame(&core, &mut watch, &peer, cursor, limit) => n,
                () = tx.closed() => return,
            };
            // Compressing a batch takes milliseconds: off the runtime's threads. The encoder
            // goes with it (a stream's frames are compressed in order, one at a time).
            let next = match next {
                Ok(Some((frame, c))) => {
                    let done = tokio::task::spawn_blocking(move || {
                        let r = encoder.encode(&frame);
                        (encoder, r)
                    })
                    .await;
                    let Ok((e, r)) = done else {
                        tracing::warn!(%peer, "log stream ended: its encoder task failed");
                        return;
                    };
                    encoder = e;
                    r.map(|f| Some((f, c)))
                }
                other => other.map(|_| None),
            };
            match next {
                Ok(Some((frame, c))) => {
                    cursor = c;
                    if tx.send(frame).await.is_err() {
                        return;
                    }
                }
                Ok(None) => return,
                Err(e) => {
                    tracing::warn!(%peer, "log stream ended: {e}");
                    return;
                }
            }
        }
    });
    let stream = futures_util::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|f| (Ok::<_, std::io::Error>(f), rx))
    });
    let stream = futures_util::StreamExt::take_until(stream, Box::pin(stop));
    let mut r = Response::builder().header("content-type", "application/x-rongmei-log");
    if stream_frames {
        r = r.header(wire::FRAMES_HEADER, wire::FRAMES_STREAM);
    }
    if send_chunks {
        r = r.header(wire::CHUNKS_HEADER, wire::CHUNKS_YES);
    }
    r.body(Body::from_stream(stream))
        .unwrap_or_else(|_| Error::Internal("stream".into()).into_response())
}

/// The next frame for a follower at `cursor` and its new cursor: a batch of what committed
/// after it, else (after waiting up to `HEARTBEAT` for a commit) a heartbeat. `None`: the peer
/// was revoked or the writer shut down.
async fn next_frame(
    core: &Core,
    watch: &mut crate::log::LogWatch,
    peer: &str,
    cursor: Lsn,
    limit: usize,
) -> Result<Option<(wire::Frame, Lsn)>> {
    loop {
        // A peer revoked while connected is cut off at its next batch or heartbeat.
        let revoked =
            federation::peer(&core.reader()?.0, peer)?.is_none_or(|p| p.revoked.is_some());
        if revoked {
            tracing::info!(%peer, "revoked peer disconnected");
            return Ok(None);
        }
        let db = core.db.clone();
        let batch = tokio::task::spawn_blocking(move || {
            crate::log::read_raw(&db, Lsn(cursor.0 + 1), limit, wire::BATCH_BYTES)
        })
        .await
        .map_err(|e| Error::Internal(format!("log read task: {e}")))??;
        let head = watch.current();
        if let Some(last) = batch.last() {
            let last = crate::log::entry::decode_stored(last)?.lsn;
            let frame = wire::Frame {
                head: head.0.max(last.0),
                at: core.clock.now(),
                entries: batch,
            };
            return Ok(Some((frame, last)));
        }
        match tokio::time::timeout(HEARTBEAT, watch.wait_past(cursor)).await {
            Ok(None) => return Ok(None),
            // A commit arrived: read it.
            Ok(Some(_)) => continue,
            Err(_) => {
                let frame = wire::Frame {
                    head: head.0,
                    at: core.clock.now(),
                    entries: vec![],
                };
                return Ok(Some((frame, cursor)));
            }
        }
    }
}

/// The chunk of the catch-up cache that starts right after `cursor`, as a cached frame, and
/// its last lsn.
async fn cached_frame(
    core: &Core,
    chunks: Option<&Arc<Chunks>>,
    watch: &crate::log::LogWatch,
    cursor: Lsn,
) -> Result<Option<(Vec<u8>, Lsn)>> {
    let Some(chunks) = chunks.filter(|c| c.end() > cursor.0).cloned() else {
        return Ok(None);
    };
    let db = core.db.clone();
    let read = tokio::task::spawn_blocking(move || chunks.read(&db, cursor.0 + 1))
        .await
        .map_err(|e| Error::Internal(format!("chunk read task: {e}")))??;
    let Some((last, z)) = read else {
        return Ok(None);
    };
    let bytes = wire::cached(watch.current().0.max(last), core.clock.now(), &z)?;
    Ok(Some((bytes, Lsn(last))))
}

/// A media file by content hash (role `replica`), streamed from disk.
async fn blob(
    State(Fed { core, .. }): State<Fed>,
    Extension(who): Extension<Peer>,
    axum::extract::Path(sha256): axum::extract::Path<String>,
) -> Response {
    let sha256 = match crate::domain::asset::sha256_name("sha256", &sha256) {
        Ok(s) => s,
        Err(e) => return e.into_response(),
    };
    // A replica copies every file; a county only the files of instructions sent to it.
    let allowed = match who.role.as_str() {
        "replica" => Ok(true),
        "county" => core
            .reader()
            .and_then(|r| crate::workflow::attachments::county_may_fetch(&r.0, &who.id, &sha256)),
        _ => Ok(false),
    };
    match allowed {
        Ok(true) => {}
        Ok(false) => return Error::Forbidden.into_response(),
        Err(e) => return e.into_response(),
    }
    let path = core.blobs.path(&sha256);
    match tokio::fs::File::open(&path).await {
        Ok(f) => {
            let len = f.metadata().await.map(|m| m.len()).unwrap_or(0);
            Response::builder()
                .header("content-type", "application/octet-stream")
                .header("content-length", len)
                .body(Body::from_stream(tokio_util::io::ReaderStream::new(f)))
                .unwrap_or_else(|_| Error::Internal("blob".into()).into_response())
        }
        Err(_) => Error::NotFound(crate::error::Resource::Asset).into_response(),
    }
}

/// Bind the federation listener if configured (`federation.listen`); returns its address.
pub async fn bind(core: &Core) -> Result<Option<(TcpListener, SocketAddr)>> {
    let listen = core.config.federation.listen.trim();
    if listen.is_empty() {
        return Ok(None);
    }
    let l = TcpListener::bind(listen)
        .await
        .map_err(|e| Error::Config(format!("federation.listen {listen}: {e}")))?;
    let a = l.local_addr()?;
    Ok(Some((l, a)))
}
