//! Crash test: the real binary under concurrent write load is SIGKILLed at random moments and
//! restarted. Every create that got a 2xx must be there afterwards, and `rongmei check` must pass.
//! 20 cycles by default; RONGMEI_CRASH_CYCLES=1000 for the long run.

use std::io::BufRead;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rand::Rng;
use serde_json::json;

use crate::harness::{binary, run_check};

pub struct Proc {
    pub child: Child,
    pub base: String,
    pub password: Option<String>,
}

/// A test that fails part-way must not leave its servers running (they would load the machine
/// for every later test): whatever was not stopped is killed.
impl Drop for Proc {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// SIGTERM (graceful shutdown) and wait for the process to end.
pub fn stop(p: &mut Proc) {
    let pid = p.child.id().to_string();
    assert!(
        Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap()
            .success()
    );
    p.child.wait().unwrap();
}

/// Start `rongmei serve` on an ephemeral port and wait (with a deadline) for its address.
pub fn spawn(dir: &std::path::Path) -> Proc {
    spawn_env(dir, &[])
}

/// `spawn` with extra environment (configuration overrides).
pub fn spawn_env(dir: &std::path::Path, env: &[(&str, &str)]) -> Proc {
    let mut child = Command::new(binary())
        .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(dir)
        .env("RONGMEI_LOG", "warn")
        .envs(env.iter().copied())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(stdout)
            .lines()
            .map_while(Result::ok)
        {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let mut password = None;
    loop {
        let line = rx
            .recv_timeout(Duration::from_secs(30))
            .expect("server did not report its address");
        if line.starts_with("initial admin password")
            && let Some(p) = line.rsplit("password ").next()
        {
            password = Some(p.trim().to_string());
        }
        if let Some(addr) = line.strip_prefix("listening on ") {
            return Proc {
                child,
                base: addr.trim().to_string(),
                password,
            };
        }
    }
}

/// Outlet `tv` and a read/write API token, from a cookie login of `admin`.
pub async fn setup_token(base: &str, password: &str) -> String {
    setup_token_with(base, password, &["read", "write"]).await
}

/// Outlet `tv` and an API token with `scopes`.
pub async fn setup_token_with(base: &str, password: &str, scopes: &[&str]) -> String {
    rongmei::fed::tls::install_provider();
    let c = reqwest::Client::builder()
        .cookie_store(true)
        .build()
        .unwrap();
    let login: serde_json::Value = c
        .post(format!("{base}/api/v1/session"))
        .json(&json!({"username": "admin", "password": password}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let csrf = login["csrf_token"].as_str().unwrap().to_string();
    let post = |p: &str, b: serde_json::Value| {
        c.post(format!("{base}{p}"))
            .header("x-csrf-token", &csrf)
            .json(&b)
            .send()
    };
    assert_eq!(
        post(
            "/api/v1/outlets",
            json!({"slug": "tv", "name": "电视", "kind": "tv"})
        )
        .await
        .unwrap()
        .status(),
        201
    );
    let t: serde_json::Value = post("/api/v1/tokens", json!({"name": "crash", "scopes": scopes}))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    t["secret"].as_str().unwrap().to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_under_load_loses_no_acknowledged_write() {
    let cycles: usize = std::env::var("RONGMEI_CRASH_CYCLES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(20);
    let dir = tempfile::tempdir().unwrap();
    let first = spawn(dir.path());
    let token = setup_token(&first.base, first.password.as_deref().unwrap()).await;
    let mut proc = first;
    let acked: Arc<Mutex<Vec<(u64, String)>>> = Arc::default();
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap();
    for cycle in 0..cycles {
        if cycle > 0 {
            proc = spawn(dir.path());
        }
        let mut writers = Vec::new();
        for w in 0..8 {
            let (client, base, token, acked) = (
                client.clone(),
                proc.base.clone(),
                token.clone(),
                acked.clone(),
            );
            writers.push(tokio::spawn(async move {
                for n in 0.. {
                    let title = format!("crash {cycle}-{w}-{n}");
                    let body = json!({"outlet": "tv", "title": title, "body": "第一段\n第二段"});
                    let Ok(r) = client
                        .post(format!("{base}/api/v1/articles"))
                        .bearer_auth(&token)
                        .json(&body)
                        .send()
                        .await
                    else {
                        return;
                    };
                    if r.status().as_u16() != 201 {
                        return;
                    }
                    let Ok(v) = r.json::<serde_json::Value>().await else {
                        return;
                    };
                    acked
                        .lock()
                        .unwrap()
                        .push((v["id"].as_u64().unwrap(), title));
                }
            }));
        }
        let delay = rand::rng().random_range(20..250);
        tokio::time::sleep(Duration::from_millis(delay)).await;
        proc.child.kill().unwrap(); // SIGKILL
        proc.child.wait().unwrap();
        for w in writers {
            let _ = w.await;
        }
    }
    let acked = acked.lock().unwrap().clone();
    assert!(
        acked.len() > cycles,
        "the load produced too few writes ({})",
        acked.len()
    );
    let last = spawn(dir.path());
    for (id, title) in &acked {
        let r = client
            .get(format!("{}/api/v1/articles/{id}", last.base))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "acknowledged article {id} lost");
        let v: serde_json::Value = r.json().await.unwrap();
        assert_eq!(v["title"], title.as_str());
    }
    let mut last = last;
    last.child.kill().unwrap();
    last.child.wait().unwrap();
    let (ok, out) = run_check(dir.path());
    assert!(ok, "check failed after {cycles} crashes:\n{out}");
    eprintln!(
        "crash test: {cycles} SIGKILL cycles, {} acknowledged creates verified",
        acked.len()
    );
}
