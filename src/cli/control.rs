//! The CLI's side of the control socket (`http::control`): reach the server running on this
//! data dir, if there is one.

use std::path::Path;

use http_body_util::{BodyExt, Empty};
use hyper::body::{Bytes, Incoming};
use hyper_util::rt::TokioIo;

/// `GET path` on the server running on `data_dir`; `None` when no server is running there.
pub async fn get(data_dir: &Path, path: &str) -> anyhow::Result<Option<hyper::Response<Incoming>>> {
    let sock = crate::http::control::path(data_dir);
    let Ok(stream) = tokio::net::UnixStream::connect(&sock).await else {
        return Ok(None);
    };
    let (mut send, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
    tokio::spawn(async move {
        let _ = conn.await;
    });
    let req = hyper::Request::get(path)
        .header(hyper::header::HOST, "rongmei")
        .body(Empty::<Bytes>::new())?;
    let resp = send.send_request(req).await?;
    if resp.status().is_client_error() || resp.status().is_server_error() {
        let status = resp.status();
        let body = resp.into_body().collect().await?.to_bytes();
        let v: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
        anyhow::bail!(
            "the running server refused ({status}): {} {}",
            v["code"].as_str().unwrap_or_default(),
            v["message"].as_str().unwrap_or_default()
        );
    }
    Ok(Some(resp))
}

/// Write a response body to `out` as it arrives; returns the bytes written.
pub async fn body_to(
    resp: hyper::Response<Incoming>,
    out: &mut impl std::io::Write,
) -> anyhow::Result<u64> {
    let mut body = resp.into_body();
    let mut n = 0u64;
    while let Some(frame) = body.frame().await {
        if let Ok(data) = frame?.into_data() {
            out.write_all(&data)?;
            n += data.len() as u64;
        }
    }
    Ok(n)
}

/// The whole body.
pub async fn body_bytes(resp: hyper::Response<Incoming>) -> anyhow::Result<Vec<u8>> {
    Ok(resp.into_body().collect().await?.to_bytes().to_vec())
}
