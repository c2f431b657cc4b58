//! The control socket: `<data_dir>/control.sock`, a Unix socket (mode 0600) through which the
//! operator's own CLI asks the running server for what needs its open store — a consistent
//! backup, log segments for removable media. Whoever may open the socket may read the data dir
//! anyway, so it takes no further credentials; it is never reachable over the network.
//!
//! - `GET /v1/status` → `{instance, epoch, lsn}`
//! - `GET /v1/backup` → the backup file's bytes, streamed (`fed::backup` format)
//! - `GET /v1/segment?from=N` → one segment file (`fed::segment`) starting at N, with headers
//!   `x-rongmei-file` and `x-rongmei-head`; 204 when the log ends before N

use std::path::{Path, PathBuf};

use axum::Router;
use axum::body::Body;
use axum::extract::{Query, State};
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde::Deserialize;

use crate::error::{Error, Result};
use crate::fed::{backup, carry, pki};
use crate::workflow::Core;

pub const SOCKET: &str = "control.sock";

pub fn path(data_dir: &Path) -> PathBuf {
    data_dir.join(SOCKET)
}

/// Bind the socket (replacing a stale one: this process holds the store's lock, so no other
/// server uses this data dir) and serve until `closing`.
pub async fn serve(core: Core, mut closing: tokio::sync::watch::Receiver<bool>) -> Result<()> {
    let p = path(&core.config.data_dir);
    let _ = std::fs::remove_file(&p);
    let listener = tokio::net::UnixListener::bind(&p)
        .map_err(|e| Error::Config(format!("control socket {}: {e}", p.display())))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o600))?;
    }
    let app = Router::new()
        .route("/v1/status", get(status))
        .route("/v1/backup", get(backup))
        .route("/v1/segment", get(segment))
        .with_state(core);
    tokio::spawn(async move {
        let served = axum::serve(listener, app)
            .with_graceful_shutdown(async move {
                let _ = closing.wait_for(|c| *c).await;
            })
            .await;
        if let Err(e) = served {
            tracing::warn!("control socket: {e}");
        }
        let _ = std::fs::remove_file(&p);
    });
    Ok(())
}

async fn status(State(core): State<Core>) -> Result<Response> {
    let r = core.reader()?;
    let meta =
        crate::store::access::instance(&r.0)?.ok_or_else(|| Error::Config("no instance".into()))?;
    let head = crate::store::access::log_head(&r.0)?;
    Ok(axum::Json(serde_json::json!({
        "instance": meta.instance_id.0,
        "role": meta.role,
        "epoch": head.as_ref().map_or(meta.epoch.0, |h| h.epoch.0),
        "lsn": head.map_or(0, |h| h.lsn.0),
    }))
    .into_response())
}

fn ca_pem(core: &Core) -> Option<String> {
    pki::read(&pki::dir(&core.config.data_dir).join(pki::CA_CRT)).ok()
}

async fn backup(State(core): State<Core>) -> Result<Response> {
    let (reader, writer) = tokio::io::duplex(1 << 20);
    let ca = ca_pem(&core);
    let now = core.clock.now();
    tokio::task::spawn_blocking(move || {
        let out = std::io::BufWriter::new(tokio_util::io::SyncIoBridge::new(writer));
        match backup::write(&core.db, &core.blobs, ca, now, out) {
            Ok((h, t)) => tracing::info!(lsn = h.lsn, rows = t.rows, "backup written"),
            // The client sees a stream without the end marker and refuses it.
            Err(e) => tracing::warn!("backup failed: {e}"),
        }
    });
    Ok(Body::from_stream(tokio_util::io::ReaderStream::new(reader)).into_response())
}

#[derive(Deserialize)]
struct SegmentQuery {
    from: u64,
}

async fn segment(State(core): State<Core>, Query(q): Query<SegmentQuery>) -> Result<Response> {
    let ca = pki::load_ca(&core.config.data_dir).map_err(|e| {
        Error::Config(format!(
            "{e}: segments are signed with this instance's CA (`rongmei pki init`)"
        ))
    })?;
    let c = core.clone();
    let built = tokio::task::spawn_blocking(move || {
        let r = c.reader()?;
        let meta = crate::store::access::instance(&r.0)?
            .ok_or_else(|| Error::Config("no instance".into()))?;
        drop(r);
        carry::build_segment(&c.db, &meta.instance_id, q.from, &|m| ca.sign(m))
    })
    .await
    .map_err(|e| Error::Internal(e.to_string()))??;
    let Some(b) = built else {
        return Ok(StatusCode::NO_CONTENT.into_response());
    };
    let mut resp = Body::from(b.bytes).into_response();
    let h = resp.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&b.header.file_name()) {
        h.insert("x-rongmei-file", v);
    }
    h.insert("x-rongmei-head", HeaderValue::from(b.head));
    Ok(resp)
}
