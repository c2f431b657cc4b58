//! `TestServer`: the real app in-process on an ephemeral loopback port, a temp data dir and a
//! manual clock; `Client`: a cookie session (with its CSRF token) or an API token.

use std::sync::Arc;

use reqwest::{Method, StatusCode};
use rongmei::clock::ManualClock;
use rongmei::config::Config;
use serde_json::{Value, json};

pub const T0: i64 = 1_795_000_000_000;

pub struct TestServer {
    pub base: String,
    pub clock: Arc<ManualClock>,
    pub admin_password: String,
    pub dir: tempfile::TempDir,
    running: Option<rongmei::app::Running>,
}

impl TestServer {
    pub async fn start() -> Self {
        Self::start_with(|_| {}).await
    }

    pub async fn start_with(tweak: impl FnOnce(&mut Config)) -> Self {
        Self::start_in(tempfile::tempdir().unwrap(), None, tweak).await
    }

    /// Start again on the data dir of a stopped server (its admin password carried over).
    pub async fn restart_in(dir: tempfile::TempDir, admin_password: String) -> Self {
        Self::start_in(dir, Some(admin_password), |_| {}).await
    }

    async fn start_in(
        dir: tempfile::TempDir,
        admin_password: Option<String>,
        tweak: impl FnOnce(&mut Config),
    ) -> Self {
        let mut cfg = Config {
            data_dir: dir.path().to_path_buf(),
            ..Config::default()
        };
        cfg.http.listen = "127.0.0.1:0".into();
        cfg.http.max_json_bytes = 256 * 1024;
        cfg.assets.max_upload_bytes = 1024 * 1024;
        tweak(&mut cfg);
        let clock = ManualClock::new(T0);
        let running = rongmei::app::start(cfg, clock.clone()).await.unwrap();
        Self {
            base: format!("http://{}", running.addr),
            clock,
            admin_password: admin_password
                .or_else(|| running.initial_password.clone())
                .unwrap_or_default(),
            dir,
            running: Some(running),
        }
    }

    /// Shut down gracefully; returns the data dir (kept until the returned value drops).
    pub async fn stop(mut self) -> tempfile::TempDir {
        if let Some(r) = self.running.take() {
            r.shutdown().await.unwrap();
        }
        self.dir
    }

    /// Stop, keeping the data dir and the admin password for `restart_in`.
    pub async fn stop_keep(self) -> (tempfile::TempDir, String) {
        let pw = self.admin_password.clone();
        (self.stop().await, pw)
    }

    pub fn anon(&self) -> Client {
        Client::new(&self.base, None, None)
    }

    /// Log in (cookie session) and keep the CSRF token.
    pub async fn login(&self, user: &str, password: &str) -> Client {
        let mut c = self.anon();
        let (st, body) = c
            .send(
                Method::POST,
                "/api/v1/session",
                Some(json!({"username": user, "password": password})),
            )
            .await;
        assert_eq!(st, StatusCode::OK, "login {user}: {body}");
        c.csrf = body["csrf_token"].as_str().map(str::to_string);
        c
    }

    pub async fn admin(&self) -> Client {
        self.login("admin", &self.admin_password.clone()).await
    }
}

#[derive(Clone)]
pub struct Client {
    pub http: reqwest::Client,
    pub base: String,
    pub csrf: Option<String>,
    pub bearer: Option<String>,
}

impl Client {
    pub fn new(base: &str, csrf: Option<String>, bearer: Option<String>) -> Self {
        rongmei::fed::tls::install_provider();
        let http = reqwest::Client::builder()
            .cookie_store(true)
            .build()
            .unwrap();
        Self {
            http,
            base: base.to_string(),
            csrf,
            bearer,
        }
    }

    pub fn request(&self, m: Method, path: &str) -> reqwest::RequestBuilder {
        let mut r = self.http.request(m, format!("{}{path}", self.base));
        if let Some(c) = &self.csrf {
            r = r.header("x-csrf-token", c);
        }
        if let Some(b) = &self.bearer {
            r = r.bearer_auth(b);
        }
        r
    }

    pub async fn send(&self, m: Method, path: &str, body: Option<Value>) -> (StatusCode, Value) {
        let mut r = self.request(m, path);
        if let Some(b) = body {
            r = r.json(&b);
        }
        let resp = r.send().await.unwrap();
        let st = resp.status();
        let text = resp.text().await.unwrap();
        (
            st,
            serde_json::from_str(&text).unwrap_or(Value::String(text)),
        )
    }

    pub async fn get(&self, path: &str) -> (StatusCode, Value) {
        self.send(Method::GET, path, None).await
    }
    pub async fn post(&self, path: &str, body: Value) -> (StatusCode, Value) {
        self.send(Method::POST, path, Some(body)).await
    }
    pub async fn put(&self, path: &str, body: Value) -> (StatusCode, Value) {
        self.send(Method::PUT, path, Some(body)).await
    }
    pub async fn patch(&self, path: &str, body: Value) -> (StatusCode, Value) {
        self.send(Method::PATCH, path, Some(body)).await
    }
    pub async fn delete(&self, path: &str) -> (StatusCode, Value) {
        self.send(Method::DELETE, path, None).await
    }
}

/// Assert success and return the body.
#[track_caller]
pub fn ok(r: &(StatusCode, Value)) -> Value {
    assert!(r.0.is_success(), "{} {}", r.0, r.1);
    r.1.clone()
}

/// Assert a status and a stable error code.
#[track_caller]
pub fn assert_err(got: &(StatusCode, Value), status: u16, code: &str) {
    assert_eq!(got.0.as_u16(), status, "body: {}", got.1);
    assert_eq!(got.1["code"], code, "body: {}", got.1);
    assert!(
        got.1["request_id"].as_str().is_some_and(|s| !s.is_empty()),
        "no request id: {}",
        got.1
    );
}

/// A fresh server, its admin session and one outlet: how most tests begin.
pub async fn newsroom(slug: &str) -> (TestServer, Client, u64) {
    let s = TestServer::start().await;
    let admin = s.admin().await;
    let outlet = create_outlet(&admin, slug).await;
    (s, admin, outlet)
}

pub async fn create_outlet(admin: &Client, slug: &str) -> u64 {
    let (st, o) = admin
        .post(
            "/api/v1/outlets",
            json!({"slug": slug, "name": format!("{slug} 台"), "kind": "tv"}),
        )
        .await;
    assert_eq!(st, StatusCode::CREATED, "{o}");
    o["id"].as_u64().unwrap()
}

/// Create a user with one role in one outlet; returns (id, password).
pub async fn create_user(admin: &Client, name: &str, outlet: u64, role: &str) -> (u64, String) {
    let pw = format!("{name}-secret-pass");
    let (st, u) = admin
        .post("/api/v1/users", json!({"username": name, "display_name": name, "password": pw, "roles": {outlet.to_string(): role}}))
        .await;
    assert_eq!(st, StatusCode::CREATED, "{u}");
    (u["user"]["id"].as_u64().unwrap(), pw)
}

pub async fn create_article(c: &Client, outlet: &str, title: &str) -> Value {
    let (st, a) = c
        .post(
            "/api/v1/articles",
            json!({"outlet": outlet, "title": title, "body": "第一段\n第二段"}),
        )
        .await;
    assert_eq!(st, StatusCode::CREATED, "{a}");
    a
}

/// Path to the built binary (tests run against the same release build as CI's smoke run).
/// Was the web UI built into this binary (`build.rs`), i.e. `RONGMEI_SKIP_WEB_BUILD` unset?
/// `.ci/run` refuses to run with it set, so CI always runs the UI tests.
pub fn web_ui_built() -> bool {
    std::env::var_os("RONGMEI_SKIP_WEB_BUILD").is_none_or(|v| v == "0")
}

pub fn binary() -> std::path::PathBuf {
    std::path::PathBuf::from(env!("CARGO_BIN_EXE_rongmei"))
}

/// `rongmei check` on a data dir; returns (success, output).
pub fn run_check(data_dir: &std::path::Path) -> (bool, String) {
    run_offline(&["check"], data_dir)
}

/// The content digest `rongmei check` (or backup/restore) printed.
pub fn content_digest(out: &str) -> String {
    out.lines()
        .find_map(|l| l.split("content digest").nth(1))
        .and_then(|rest| {
            rest.trim_start_matches([':', ' '])
                .split_whitespace()
                .next()
        })
        .map(|d| d.trim_end_matches([',', ')', ';']).to_string())
        .unwrap_or_else(|| panic!("no content digest in {out}"))
}

/// `rongmei check` on a stopped data dir must pass; returns its content digest.
pub fn checked_digest(dir: &std::path::Path) -> String {
    let (good, out) = run_check(dir);
    assert!(good, "{}: {out}", dir.display());
    content_digest(&out)
}

/// An offline command of the binary on a data dir; returns (success, stdout + stderr).
pub fn run_offline(args: &[&str], data_dir: &std::path::Path) -> (bool, String) {
    let out = std::process::Command::new(binary())
        .args(args)
        .arg("--data-dir")
        .arg(data_dir)
        .env("RONGMEI_LOG", "warn")
        .output()
        .unwrap();
    (
        out.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

/// Percent-encode a query value.
pub fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-_.".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// Wait (with a deadline) until the search index contains every log entry written so far.
pub async fn wait_indexed(c: &Client) -> Value {
    let (st, s) = c.get("/api/v1/search/status").await;
    assert_eq!(st, StatusCode::OK, "{s}");
    let head = s["log_lsn"].as_u64().unwrap();
    let (st, s) = c
        .get(&format!(
            "/api/v1/search/status?wait_for_lsn={head}&timeout_ms=20000"
        ))
        .await;
    assert_eq!(st, StatusCode::OK, "{s}");
    assert!(
        s["indexed_lsn"].as_u64().unwrap() >= head,
        "the index did not reach lsn {head}: {s}"
    );
    s
}

/// `GET /api/v1/search?…`, expecting success.
pub async fn search(c: &Client, query: &str) -> Value {
    let (st, v) = c.get(&format!("/api/v1/search?{query}")).await;
    assert_eq!(st, StatusCode::OK, "search {query}: {v}");
    v
}

/// Ids of the hits of a search, in order.
pub fn hit_ids(v: &Value) -> Vec<u64> {
    v["hits"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["id"].as_u64().unwrap())
        .collect()
}

/// A file of `../shared/corpus` (next to the repository). Its absence fails the test.
pub fn corpus(name: &str) -> std::path::PathBuf {
    let p = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../shared/corpus")
        .join(name);
    assert!(
        p.exists(),
        "corpus file {} is missing (../shared must sit beside the repository)",
        p.display()
    );
    p
}

/// `rongmei index check` on a data dir; returns (success, output).
pub fn run_index_check(data_dir: &std::path::Path) -> (bool, String) {
    run_offline(&["index", "check"], data_dir)
}
