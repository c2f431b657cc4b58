//! Media that go up with a county's entries (the cover, images and video of an article sent up
//! for provincial review). Before it posts a batch whose entries name media, the county asks
//! the hub which of them it lacks and uploads those, each streamed and hash-checked at the
//! hub, so the entry that names them finds them there:
//!
//! - `POST /fed/v1/county/media/wanted` (role `county`): `{"sha256": [...]}` →
//!   `{"wanted": [...]}`, the ones the hub does not have;
//! - `PUT /fed/v1/county/media/{sha256}`: the bytes (at most twice `assets.max_upload_bytes`),
//!   kept only if they hash to the name.

use axum::body::Body;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};

use crate::domain::asset::sha256_name;
use crate::domain::hub::CarriedMedia;
use crate::domain::peer::Peer;
use crate::error::{Error, Result};
use crate::workflow::{Core, hub};

/// Hashes asked about in one request.
pub const MAX_WANTED: usize = 1_000;

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Ask {
    pub sha256: Vec<String>,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct Wanted {
    pub wanted: Vec<String>,
}

fn active(core: &Core, who: &Peer) -> Result<()> {
    if who.role != "county" {
        return Err(Error::Forbidden);
    }
    let r = core.reader()?;
    hub::current(&r.0, who, core.clock.now())
}

/// `POST /fed/v1/county/media/wanted` (hub side).
pub async fn wanted_handler(core: Core, who: Peer, body: axum::body::Bytes) -> Response {
    let r = (|| {
        active(&core, &who)?;
        let ask: Ask = serde_json::from_slice(&body)
            .map_err(|e| Error::invalid("body", format!("not a media question: {e}")))?;
        if ask.sha256.len() > MAX_WANTED {
            return Err(Error::invalid("sha256", format!("at most {MAX_WANTED}")));
        }
        let mut wanted = Vec::new();
        for s in &ask.sha256 {
            let sha = sha256_name("sha256", s)?;
            if !core.blobs.path(&sha).exists() {
                wanted.push(sha);
            }
        }
        Ok(Wanted { wanted })
    })();
    match r {
        Ok(w) => axum::Json(w).into_response(),
        Err(e) => e.into_response(),
    }
}

/// `PUT /fed/v1/county/media/{sha256}` (hub side).
pub async fn put_handler(core: Core, who: Peer, sha256: String, body: Body) -> Response {
    let r = async {
        active(&core, &who)?;
        let sha256 = sha256_name("sha256", &sha256)?;
        if core.blobs.path(&sha256).exists() {
            return Ok(());
        }
        let limit = core.config.assets.max_upload_bytes.max(1) * 2;
        let staged = core.blobs.stage(body.into_data_stream(), limit).await?;
        if staged.sha256 != sha256 {
            let got = staged.sha256.clone();
            staged.discard().await;
            return Err(Error::invalid(
                "body",
                format!("the bytes hash to {got}, not {sha256}"),
            ));
        }
        core.blobs.keep(staged).await?;
        Ok(())
    }
    .await;
    match r {
        Ok(()) => axum::http::StatusCode::NO_CONTENT.into_response(),
        Err(e) => e.into_response(),
    }
}

/// County side: make sure the hub has `media` before an entry naming them goes up. A file the
/// county no longer has is skipped (the hub shows the article without it).
pub async fn upload(
    core: &Core,
    http: &reqwest::Client,
    base: &str,
    media: &[CarriedMedia],
) -> Result<u64> {
    let mut shas: Vec<String> = media.iter().map(|m| m.sha256.clone()).collect();
    shas.sort();
    shas.dedup();
    let mut sent = 0;
    for chunk in shas.chunks(MAX_WANTED) {
        let r = http
            .post(format!("{base}/fed/v1/county/media/wanted"))
            .json(&Ask {
                sha256: chunk.to_vec(),
            })
            .send()
            .await
            .map_err(|e| Error::Io(format!("hub media: {e}")))?;
        if r.status() == reqwest::StatusCode::NOT_FOUND {
            // A hub of an older version takes no media: the entries still go up.
            tracing::warn!("the hub takes no media (an older version); sending entries without");
            return Ok(sent);
        }
        if !r.status().is_success() {
            return Err(super::ship::error_of(r).await);
        }
        let w: Wanted = r
            .json()
            .await
            .map_err(|e| Error::Io(format!("hub media: {e}")))?;
        for sha in w.wanted.iter().filter(|s| chunk.contains(s)) {
            let path = core.blobs.path(sha);
            let Ok(f) = tokio::fs::File::open(&path).await else {
                tracing::warn!(sha256 = %sha, "a media file to send up is missing here");
                continue;
            };
            let len = f.metadata().await.map(|m| m.len()).unwrap_or(0);
            let r = http
                .put(format!("{base}/fed/v1/county/media/{sha}"))
                .header("content-length", len)
                .body(reqwest::Body::wrap_stream(
                    tokio_util::io::ReaderStream::new(f),
                ))
                .send()
                .await
                .map_err(|e| Error::Io(format!("hub media: {e}")))?;
            if !r.status().is_success() {
                return Err(super::ship::error_of(r).await);
            }
            sent += len;
        }
    }
    Ok(sent)
}
