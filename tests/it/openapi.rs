//! The OpenAPI document lists every API route (and only real ones).

use std::collections::BTreeSet;

use reqwest::Method;

use crate::harness::*;

fn src(path: &str) -> String {
    std::fs::read_to_string(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(path)).unwrap()
}

/// `(METHOD, path)` of every `#[utoipa::path(...)]` handler in the route files.
fn annotated_routes() -> BTreeSet<(String, String)> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src/http/routes");
    let mut out = BTreeSet::new();
    for f in std::fs::read_dir(dir).unwrap() {
        let text = std::fs::read_to_string(f.unwrap().path()).unwrap();
        for chunk in text.split("#[utoipa::path(").skip(1) {
            let method = chunk.split(',').next().unwrap().trim().to_uppercase();
            let path = chunk
                .split("path = \"")
                .nth(1)
                .unwrap()
                .split('"')
                .next()
                .unwrap();
            out.insert((method, path.to_string()));
        }
    }
    out
}

#[tokio::test]
async fn every_route_is_documented() {
    let s = TestServer::start().await;
    let (st, doc) = s.anon().get("/api/v1/openapi.json").await;
    assert_eq!(st.as_u16(), 200);
    let mut documented = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for m in item.as_object().unwrap().keys() {
            documented.insert((m.to_uppercase(), path.clone()));
        }
    }
    let annotated = annotated_routes();
    assert!(
        annotated.len() >= 30,
        "found only {} handlers",
        annotated.len()
    );
    assert_eq!(
        annotated, documented,
        "handlers and the OpenAPI document disagree"
    );
    // Every documented operation is really routed and guarded: an unauthenticated call is refused
    // as such (login itself rejects the empty body as invalid JSON).
    for (m, p) in &documented {
        let path = p.replace("{id}", "1").replace("{revision}", "1");
        let got = s
            .anon()
            .send(
                Method::from_bytes(m.as_bytes()).unwrap(),
                &path,
                Some(serde_json::json!({})),
            )
            .await;
        // Login and a replica's join (its one-time token is the credential) take no session.
        let want = if [
            ("POST", "/api/v1/session"),
            ("POST", "/api/v1/federation/join"),
        ]
        .contains(&(m.as_str(), p.as_str()))
        {
            (400, "invalid_json")
        } else {
            (401, "unauthenticated")
        };
        assert_eq!(
            (got.0.as_u16(), got.1["code"].as_str().unwrap_or("")),
            want,
            "{m} {p}: {}",
            got.1
        );
    }
    s.stop().await;
}

#[test]
fn only_ops_routes_bypass_the_documented_router() {
    // Plain axum `.route(` registrations exist only in ops.rs, for the fixed operational paths.
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut offenders = Vec::new();
    let mut stack = vec![dir];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else if std::fs::read_to_string(&p).unwrap().contains(".route(\"")
                && !p.ends_with("http/routes/ops.rs")
                // The federation listener's own router (mTLS peers, not the API).
                && !p.ends_with("fed/listener.rs")
                // The control socket (the operator's CLI on this machine, not the API).
                && !p.ends_with("http/control.rs")
            {
                offenders.push(p.display().to_string());
            }
        }
    }
    assert!(offenders.is_empty(), "undocumented routes in {offenders:?}");
    let ops = src("src/http/routes/ops.rs");
    for p in rongmei::http::routes::ops::PATHS {
        assert!(ops.contains(&format!(".route(\"{p}\"")), "{p}");
    }
    assert_eq!(
        ops.matches(".route(\"").count(),
        rongmei::http::routes::ops::PATHS.len()
    );
}
