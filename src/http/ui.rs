//! The browser UI built from `web/` (see `build.rs`) and embedded into the binary with rust-embed,
//! compressed. Hashed files under `/assets/` are `immutable`; `index.html` is `no-cache` so a new
//! release is picked up on the next load; a precompressed `.gz` twin is sent to browsers that
//! accept gzip; any other GET path without a file extension gets `index.html` (client routes).

use axum::body::Body;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};

use crate::error::{Error, Resource};

#[derive(rust_embed::Embed)]
#[folder = "web/dist/"]
#[exclude = "*.gz"]
struct Dist;

#[derive(rust_embed::Embed)]
#[folder = "web/dist/"]
#[include = "*.gz"]
struct DistGz;

const INDEX: &str = "index.html";

/// Was the binary built with the UI (not with `RONGMEI_SKIP_WEB_BUILD`)?
pub fn available() -> bool {
    Dist::get(INDEX).is_some()
}

/// Everything the API and ops routes did not claim.
pub async fn fallback(method: Method, uri: Uri, headers: HeaderMap) -> Response {
    let path = uri.path();
    if path.starts_with("/api/") || path == "/api" {
        return Error::NotFound(Resource::Route).into_response();
    }
    if method != Method::GET && method != Method::HEAD {
        return Error::MethodNotAllowed.into_response();
    }
    let name = path.trim_start_matches('/');
    if let Some(r) = file(name, &headers) {
        return r;
    }
    let last = name.rsplit('/').next().unwrap_or_default();
    if !last.contains('.')
        && let Some(r) = file(INDEX, &headers)
    {
        return r;
    }
    Error::NotFound(Resource::Route).into_response()
}

/// `/`: the UI, or a status page when the binary was built without it.
pub async fn root(headers: HeaderMap) -> Response {
    file(INDEX, &headers).unwrap_or_else(|| {
        (
            [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
            concat!(
                "<!doctype html><html lang=\"zh-CN\"><meta charset=\"utf-8\"><title>融媒 rongmei</title>",
                "<h1>融媒 rongmei</h1><p>服务运行中（未包含网页界面）· server running (built without the web UI). ",
                "API: <a href=\"/api/v1/openapi.json\">/api/v1/openapi.json</a> · ",
                "<a href=\"/healthz\">/healthz</a> · <a href=\"/metrics\">/metrics</a></p></html>"
            ),
        )
            .into_response()
    })
}

fn file(name: &str, req: &HeaderMap) -> Option<Response> {
    let f = Dist::get(name)?;
    let etag = format!("\"{}\"", hex::encode(&f.metadata.sha256_hash()[..16]));
    let cache = if name.starts_with("assets/") {
        "public, max-age=31536000, immutable"
    } else if name == INDEX {
        "no-cache"
    } else {
        "public, max-age=3600"
    };
    let mut resp = if req
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == etag))
    {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        let gz = accepts_gzip(req)
            .then(|| DistGz::get(&format!("{name}.gz")))
            .flatten();
        let mut r = match gz {
            Some(g) => {
                let mut r = Response::new(Body::from(g.data.into_owned()));
                r.headers_mut()
                    .insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
                r
            }
            None => Response::new(Body::from(f.data.into_owned())),
        };
        if let Ok(v) = HeaderValue::from_str(f.metadata.mimetype()) {
            r.headers_mut().insert(header::CONTENT_TYPE, v);
        }
        r
    };
    let h = resp.headers_mut();
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    h.insert(header::VARY, HeaderValue::from_static("accept-encoding"));
    if let Ok(v) = HeaderValue::from_str(&etag) {
        h.insert(header::ETAG, v);
    }
    Some(resp)
}

fn accepts_gzip(h: &HeaderMap) -> bool {
    h.get_all(header::ACCEPT_ENCODING)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|enc| {
            let mut parts = enc.split(';');
            let name = parts.next().unwrap_or_default().trim();
            let q_zero = parts.any(|p| {
                p.trim()
                    .strip_prefix("q=")
                    .is_some_and(|q| q.trim().parse::<f32>().is_ok_and(|q| q == 0.0))
            });
            (name.eq_ignore_ascii_case("gzip") || name == "*") && !q_zero
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h(v: &str) -> HeaderMap {
        let mut m = HeaderMap::new();
        m.insert(header::ACCEPT_ENCODING, HeaderValue::from_str(v).unwrap());
        m
    }

    #[test]
    fn gzip_negotiation() {
        assert!(accepts_gzip(&h("gzip, deflate, br")));
        assert!(accepts_gzip(&h("br;q=1.0, gzip;q=0.8")));
        assert!(accepts_gzip(&h("*")));
        assert!(!accepts_gzip(&h("gzip;q=0")));
        assert!(!accepts_gzip(&h("br, deflate")));
        assert!(!accepts_gzip(&HeaderMap::new()));
    }
}
