//! Serving the embedded web UI: SPA fallback, cache headers, precompressed gzip, ETag, CSP, and
//! the API's own 404s staying JSON.

use reqwest::Method;
use reqwest::header::{
    ACCEPT_ENCODING, CACHE_CONTROL, CONTENT_ENCODING, CONTENT_SECURITY_POLICY, CONTENT_TYPE, ETAG,
    IF_NONE_MATCH,
};

use crate::harness::{TestServer, assert_err, web_ui_built};

/// The first `/assets/*.js` the index page references.
fn script_path(index: &str) -> String {
    let at = index
        .find("/assets/")
        .expect("index.html references /assets/");
    let rest = &index[at..];
    rest[..rest.find('"').unwrap()].to_string()
}

#[tokio::test]
async fn index_and_client_routes_get_the_app_without_caching() {
    if !web_ui_built() {
        return;
    }
    let s = TestServer::start().await;
    let c = s.anon();
    for path in ["/", "/articles/12", "/admin/users", "/login"] {
        let r = c.request(Method::GET, path).send().await.unwrap();
        assert_eq!(r.status(), 200, "{path}");
        assert_eq!(r.headers()[CACHE_CONTROL], "no-cache", "{path}");
        assert!(
            r.headers()[CONTENT_SECURITY_POLICY]
                .to_str()
                .unwrap()
                .contains("script-src 'self'")
        );
        assert!(
            r.headers()[CONTENT_TYPE]
                .to_str()
                .unwrap()
                .starts_with("text/html")
        );
        assert!(
            r.text().await.unwrap().contains("<div id=\"app\"></div>"),
            "{path}"
        );
    }
    s.stop().await;
}

#[tokio::test]
async fn hashed_assets_are_immutable_gzipped_and_revalidate_by_etag() {
    if !web_ui_built() {
        return;
    }
    let s = TestServer::start().await;
    let c = s.anon();
    let index = c
        .request(Method::GET, "/")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let js = script_path(&index);

    let plain = c.request(Method::GET, &js).send().await.unwrap();
    assert_eq!(plain.status(), 200);
    assert!(
        plain.headers()[CACHE_CONTROL]
            .to_str()
            .unwrap()
            .contains("immutable")
    );
    assert!(plain.headers().get(CONTENT_ENCODING).is_none());
    assert!(
        plain.headers()[CONTENT_TYPE]
            .to_str()
            .unwrap()
            .contains("javascript")
    );
    let etag = plain.headers()[ETAG].clone();
    let plain_len = plain.bytes().await.unwrap().len();

    let gz = c
        .request(Method::GET, &js)
        .header(ACCEPT_ENCODING, "gzip, br")
        .send()
        .await
        .unwrap();
    assert_eq!(gz.headers()[CONTENT_ENCODING], "gzip");
    let body = gz.bytes().await.unwrap();
    assert_eq!(&body[..2], &[0x1f, 0x8b], "gzip magic");
    assert!(body.len() < plain_len);

    let again = c
        .request(Method::GET, &js)
        .header(IF_NONE_MATCH, etag)
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 304);
    s.stop().await;
}

#[tokio::test]
async fn unknown_files_and_api_routes_are_404_not_the_app() {
    let s = TestServer::start().await;
    let c = s.anon();
    assert_err(&c.get("/api/v1/nope").await, 404, "route_not_found");
    assert_err(
        &c.get("/api/v1/articles/1/nope").await,
        404,
        "route_not_found",
    );
    assert_err(
        &c.get("/assets/missing-abc123.js").await,
        404,
        "route_not_found",
    );
    // Lookups are in the embedded table only: a path that looks like a file outside it is a
    // client route at most, never a read from disk.
    let (st, body) = c.get("/%2e%2e/%2e%2e/etc/passwd").await;
    assert!(
        st == 404
            || body
                .as_str()
                .is_some_and(|b| b.contains("<div id=\"app\">")),
        "{st} {body}"
    );
    assert!(!body.to_string().contains("root:"));
    assert_err(
        &c.send(Method::POST, "/articles", None).await,
        405,
        "method_not_allowed",
    );
    s.stop().await;
}
