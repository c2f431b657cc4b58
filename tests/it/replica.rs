//! The disaster-recovery replica, with real binaries on loopback: pairing with a one-time token,
//! following the primary over mTLS (entries arrive, writes are refused, SIGKILL and a primary
//! restart are survived, `rongmei check` passes on both), and the federation listener refusing
//! every certificate it should: none, another CA's, the wrong role, expired, revoked.

use std::time::Duration;

use rongmei::fed::pki;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use serde_json::{Value, json};

use crate::crash::{Proc, setup_token_with, spawn, spawn_env, stop};
use crate::harness::{checked_digest, run_check, run_offline};

pub(crate) struct Api {
    http: reqwest::Client,
    base: String,
    token: String,
}

impl Api {
    pub(crate) async fn send(
        &self,
        m: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> (u16, Value) {
        let mut r = self
            .http
            .request(m, format!("{}{path}", self.base))
            .bearer_auth(&self.token);
        if let Some(b) = body {
            r = r.json(&b);
        }
        let resp = r.send().await.unwrap();
        let status = resp.status().as_u16();
        (status, resp.json().await.unwrap_or(Value::Null))
    }
    pub(crate) async fn get(&self, path: &str) -> Value {
        let (s, v) = self.send(reqwest::Method::GET, path, None).await;
        assert_eq!(s, 200, "{path}: {v}");
        v
    }
    pub(crate) async fn post(&self, path: &str, body: Value) -> (u16, Value) {
        self.send(reqwest::Method::POST, path, Some(body)).await
    }
    pub(crate) fn base_url(&self) -> String {
        self.base.clone()
    }
    /// Create an article in outlet `tv`; it must succeed.
    pub(crate) async fn article(&self, title: &str) -> Value {
        let (s, v) = self
            .post("/api/v1/articles", json!({"outlet": "tv", "title": title}))
            .await;
        assert_eq!(s, 201, "{title}: {v}");
        v
    }
}

impl Api {
    /// Upload an image; returns (asset id, sha256).
    pub(crate) async fn upload_png(&self, w: u32) -> (u64, String) {
        let r = self
            .http
            .post(format!(
                "{}/api/v1/assets?outlet=tv&name=p{w}.png",
                self.base
            ))
            .bearer_auth(&self.token)
            .header("content-type", "image/png")
            .body(crate::api_assets::png(w, 40))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status().as_u16(), 201);
        let v: Value = r.json().await.unwrap();
        (
            v["id"].as_u64().unwrap(),
            v["sha256"].as_str().unwrap().to_string(),
        )
    }

    /// The bytes of an asset, once this node has them (deadline 30 s).
    pub(crate) async fn content(&self, id: u64) -> Vec<u8> {
        for _ in 0..300 {
            let r = self
                .http
                .get(format!("{}/api/v1/assets/{id}/content", self.base))
                .bearer_auth(&self.token)
                .send()
                .await
                .unwrap();
            if r.status().as_u16() == 200 {
                return r.bytes().await.unwrap().to_vec();
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("asset {id} never arrived at {}", self.base);
    }
    /// GET a path; (status, body bytes).
    pub(crate) async fn send_raw(&self, path: &str) -> (u16, Vec<u8>) {
        let r = self
            .http
            .get(format!("{}{path}", self.base))
            .bearer_auth(&self.token)
            .send()
            .await
            .unwrap();
        (r.status().as_u16(), r.bytes().await.unwrap().to_vec())
    }
}

pub(crate) fn api(base: &str, token: &str) -> Api {
    Api {
        http: reqwest::Client::new(),
        base: base.to_string(),
        token: token.to_string(),
    }
}

/// Wait (deadline 30 s) until the replica has applied everything up to `lsn`.
pub(crate) async fn caught_up(replica: &Api, lsn: u64) -> Value {
    for _ in 0..300 {
        // (Until the replica has the token's own entry, the token is unknown there: 401.)
        let (code, s) = replica
            .send(reqwest::Method::GET, "/api/v1/federation/status", None)
            .await;
        if code == 200 && s["follow"]["applied_lsn"].as_u64() >= Some(lsn) {
            return s;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("replica did not reach lsn {lsn}");
}

/// The Prometheus text of the server at `base`.
pub(crate) async fn metrics(base: &str) -> String {
    reqwest::get(format!("{base}/metrics"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}

pub(crate) async fn head(a: &Api) -> u64 {
    a.get("/api/v1/instance").await["log_head"]
        .as_u64()
        .unwrap()
}

/// One request to the federation listener with the given client certificate (or none):
/// Ok(status) if the listener served it, Err if the connection was refused.
async fn fed_request(
    addr: &str,
    instance: &str,
    ca_pem: &str,
    client: Option<(&str, &str)>,
) -> Result<u16, String> {
    let (http, url) = fed_client(addr, instance, ca_pem, client);
    http.get(url)
        .send()
        .await
        .map(|r| r.status().as_u16())
        .map_err(|e| format!("{e:?}"))
}

/// The log stream from its start, as a replica with `client` gets it, asking for `stream`
/// compression or not: whether the answer says it uses it, and its first frame.
async fn first_frame(
    addr: &str,
    instance: &str,
    ca_pem: &str,
    client: (&str, &str),
    stream: bool,
) -> (bool, rongmei::fed::wire::Frame) {
    use rongmei::fed::wire;
    let (http, url) = fed_client(addr, instance, ca_pem, Some(client));
    let mut req = http.get(url);
    if stream {
        req = req.header(wire::FRAMES_HEADER, wire::FRAMES_STREAM);
    }
    let mut resp = req.send().await.unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    let said = wire::stream_frames(resp.headers());
    let mut dec = if said {
        wire::Decoder::stream().unwrap()
    } else {
        wire::Decoder::default()
    };
    loop {
        dec.feed(&resp.chunk().await.unwrap().expect("the stream ended"));
        if let Some(f) = dec.next_frame().unwrap() {
            return (said, f);
        }
    }
}

/// A client of the federation listener at `addr` and the URL of the log from its start.
fn fed_client(
    addr: &str,
    instance: &str,
    ca_pem: &str,
    client: Option<(&str, &str)>,
) -> (reqwest::Client, String) {
    rongmei::fed::tls::install_provider();
    let mut roots = rustls::RootCertStore::empty();
    for c in CertificateDer::pem_slice_iter(ca_pem.as_bytes()) {
        roots.add(c.unwrap()).unwrap();
    }
    let b = rustls::ClientConfig::builder_with_protocol_versions(&[&rustls::version::TLS13])
        .with_root_certificates(roots);
    let cfg = match client {
        Some((cert, key)) => b
            .with_client_auth_cert(
                CertificateDer::pem_slice_iter(cert.as_bytes())
                    .map(|c| c.unwrap())
                    .collect(),
                PrivateKeyDer::from_pem_slice(key.as_bytes()).unwrap(),
            )
            .unwrap(),
        None => b.with_no_client_auth(),
    };
    let sock: std::net::SocketAddr = addr.parse().unwrap();
    let name = pki::server_name(instance);
    let http = reqwest::Client::builder()
        .tls_backend_preconfigured(cfg)
        .resolve(&name, sock)
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap();
    // A position on every log: the start. A served request streams.
    let url = format!("https://{name}:{}/fed/v1/log?epoch=1&lsn=0", sock.port());
    (http, url)
}

fn join(url: &str, token: &str, dir: &std::path::Path) -> (bool, String) {
    run_offline(&["replica", "join", url, "--token", token], dir)
}

/// Chunks of the primary's catch-up cache small enough that a replica a few writes behind is
/// sent some.
pub(crate) const CHUNKS_ENV: (&str, &str) = ("RONGMEI_FEDERATION_CATCH_UP_CHUNK_ENTRIES", "7");
pub(crate) const FED_ENV: [(&str, &str); 2] =
    [("RONGMEI_FEDERATION_LISTEN", "127.0.0.1:0"), CHUNKS_ENV];

/// A primary with its federation listener on, an outlet `tv`, and an all-scopes admin token.
pub(crate) async fn start_primary(dir: &std::path::Path) -> (Proc, String) {
    let primary = spawn_env(dir, &FED_ENV);
    let pw = primary.password.clone().unwrap();
    let token = setup_token_with(&primary.base, &pw, &["read", "write", "admin"]).await;
    (primary, token)
}

/// Pair `dir` with the primary as a replica (a new token, `rongmei replica join`).
pub(crate) async fn pair(p: &Api, dir: &std::path::Path) {
    let (s, pairing) = p
        .post(
            "/api/v1/federation/pairings",
            json!({"role": "replica", "name": "副本"}),
        )
        .await;
    assert_eq!(s, 201, "{pairing}");
    let (ok, out) = join(&p.base, pairing["token"].as_str().unwrap(), dir);
    assert!(ok, "{out}");
}

pub(crate) fn kill(p: &mut Proc) {
    p.child.kill().unwrap();
    p.child.wait().unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replica_pairs_follows_and_strangers_are_refused() {
    rongmei::fed::tls::install_provider();
    let pdir = tempfile::tempdir().unwrap();
    let rdir = tempfile::tempdir().unwrap();
    let (mut primary, token) = start_primary(pdir.path()).await;
    let p = api(&primary.base, &token);

    // Pairing: a one-time token, the CA fingerprint shown on both sides.
    let (s, pairing) = p
        .post(
            "/api/v1/federation/pairings",
            json!({"role": "replica", "name": "异地灾备"}),
        )
        .await;
    assert_eq!(s, 201, "{pairing}");
    let (s, bad) = p
        .post(
            "/api/v1/federation/pairings",
            json!({"role": "emperor", "name": "x"}),
        )
        .await;
    assert_eq!((s, bad["code"].as_str()), (400, Some("invalid_input")));
    let ptoken = pairing["token"].as_str().unwrap();
    let (ok, out) = join(&primary.base, "rmp_not-a-token", rdir.path());
    assert!(!ok && out.contains("pairing_invalid"), "{out}");
    let (ok, out) = join(&primary.base, ptoken, rdir.path());
    assert!(ok, "{out}");
    assert!(
        out.contains(pairing["ca_fingerprint"].as_str().unwrap()),
        "{out}"
    );
    let other = tempfile::tempdir().unwrap();
    let (ok, out) = join(&primary.base, ptoken, other.path());
    assert!(!ok && out.contains("pairing_invalid"), "used twice: {out}");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        for (dir, key) in [(rdir.path(), pki::NODE_KEY), (pdir.path(), pki::CA_KEY)] {
            let m = std::fs::metadata(pki::dir(dir).join(key)).unwrap();
            assert_eq!(m.permissions().mode() & 0o777, 0o600, "{key}");
        }
    }
    let peers = p.get("/api/v1/federation/peers").await;
    assert_eq!(peers.as_array().unwrap().len(), 1);
    assert_eq!(peers[0]["role"], "replica");
    let peer_id = peers[0]["id"].as_str().unwrap().to_string();

    // The replica follows: what the primary writes arrives; writes on the replica are refused.
    let mut replica = spawn(rdir.path());
    let r = api(&replica.base, &token);
    let (s, a) = p
        .post(
            "/api/v1/articles",
            json!({"outlet": "tv", "title": "灾备演练", "body": "<p>主站写入</p>"}),
        )
        .await;
    assert_eq!(s, 201, "{a}");
    let id = a["id"].as_u64().unwrap();
    let st = caught_up(&r, head(&p).await).await;
    assert_eq!(st["role"], "replica");
    assert_eq!(st["follow"]["state"], "following");
    assert_eq!(
        r.get(&format!("/api/v1/articles/{id}")).await["title"],
        "灾备演练"
    );
    let text = metrics(&replica.base).await;
    assert!(text.contains("rongmei_replica_following 1"), "{text}");
    assert!(text.contains("rongmei_replica_lag_entries"), "{text}");
    let (s, e) = r
        .post(
            "/api/v1/articles",
            json!({"outlet": "tv", "title": "不该写在这里"}),
        )
        .await;
    assert_eq!((s, e["code"].as_str()), (403, Some("read_only_replica")));

    // Media files follow by content hash.
    let (img1, sha1) = p.upload_png(64).await;
    assert_eq!(r.content(img1).await, crate::api_assets::png(64, 40));

    // SIGKILL the replica while the primary writes; it resumes exactly where its log ends.
    for i in 0..30 {
        p.article(&format!("稿件{i}")).await;
        if i == 5 {
            kill(&mut replica);
        }
    }
    // An image uploaded while it is down, and one whose copy was lost (an interrupted
    // transfer): both are fetched after the restart.
    let (img2, _) = p.upload_png(72).await;
    let lost = rongmei::media::BlobStore::open(rdir.path())
        .unwrap()
        .path(&sha1);
    std::fs::remove_file(&lost).unwrap();
    // The primary's catch-up cache has the chunks of the outage (its writer compresses them
    // once the primary's writer is not busy) before the replica comes back.
    let h = head(&p).await;
    for _ in 0..300 {
        let cache = &p.get("/api/v1/federation/status").await["catch_up_cache"];
        if cache["end_lsn"].as_u64().unwrap() + 7 > h {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let mut replica = spawn(rdir.path());
    let r = api(&replica.base, &token);
    let st = caught_up(&r, head(&p).await).await;
    // Behind by more than a chunk: part of the way came from the primary's catch-up cache.
    assert!(st["follow"]["chunks"].as_u64().unwrap() >= 1, "{st}");
    let chunk_files = std::fs::read_dir(pdir.path().join("chunks"))
        .unwrap()
        .count() as u64;
    assert!(chunk_files >= 2, "{chunk_files} chunk files");
    let cache = &p.get("/api/v1/federation/status").await["catch_up_cache"];
    assert_eq!(cache["chunks"].as_u64(), Some(chunk_files), "{cache}");
    assert!(cache["end_lsn"].as_u64().unwrap() >= 14, "{cache}");
    let metrics = metrics(&primary.base).await;
    assert!(
        metrics.contains("rongmei_catch_up_cache_bytes"),
        "{metrics}"
    );
    assert_eq!(r.content(img2).await, crate::api_assets::png(72, 40));
    for _ in 0..300 {
        if lost.exists() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(r.content(img1).await, crate::api_assets::png(64, 40));
    // The primary restarts (a new federation port is not needed: same data dir, new port is
    // advertised only to new peers, so keep the port by restarting on the one it had).
    let st = p.get("/api/v1/federation/status").await;
    let fed_addr = st["listen"].as_str().unwrap().to_string();
    let instance = p.get("/api/v1/instance").await["instance_id"]
        .as_str()
        .unwrap()
        .to_string();
    kill(&mut primary);
    let mut primary = spawn_env(
        pdir.path(),
        &[("RONGMEI_FEDERATION_LISTEN", &fed_addr), CHUNKS_ENV],
    );
    let p = api(&primary.base, &token);
    p.article("主站重启后").await;
    let st = caught_up(&r, head(&p).await).await;
    assert!(st["follow"]["connects"].as_u64().unwrap() >= 2, "{st}");

    // Under continuous writes, SIGKILL the replica and then the primary at random moments;
    // after both restart, the replica's content and log equal the primary's (content digest).
    let mut acked: Vec<u64> = Vec::new();
    for victim in ["replica", "primary"] {
        let writer = {
            let p = api(&primary.base, &token);
            tokio::spawn(async move {
                let mut ids = Vec::new();
                for i in 0.. {
                    let r = p
                        .http
                        .post(format!("{}/api/v1/articles", p.base))
                        .bearer_auth(&p.token)
                        .json(&json!({"outlet": "tv", "title": format!("压力{i}")}))
                        .send()
                        .await;
                    match r {
                        Ok(resp) if resp.status().as_u16() == 201 => {
                            let v: Value = resp.json().await.unwrap();
                            ids.push(v["id"].as_u64().unwrap());
                        }
                        _ => break,
                    }
                    if ids.len() >= 400 {
                        break;
                    }
                }
                ids
            })
        };
        tokio::time::sleep(Duration::from_millis(rand::random_range(30..300))).await;
        if victim == "replica" {
            kill(&mut replica);
            replica = spawn(rdir.path());
            acked.extend(writer.await.unwrap());
        } else {
            kill(&mut primary);
            acked.extend(writer.await.unwrap());
            primary = spawn_env(
                pdir.path(),
                &[("RONGMEI_FEDERATION_LISTEN", &fed_addr), CHUNKS_ENV],
            );
        }
    }
    let (p, r) = (api(&primary.base, &token), api(&replica.base, &token));
    caught_up(&r, head(&p).await).await;
    assert!(!acked.is_empty());
    eprintln!(
        "replica kill test: {} acknowledged writes around a replica and a primary SIGKILL",
        acked.len()
    );
    for id in &acked {
        let (s, _) = r
            .send(
                reqwest::Method::GET,
                &format!("/api/v1/articles/{id}"),
                None,
            )
            .await;
        assert_eq!(s, 200, "acknowledged article {id} missing on the replica");
    }
    stop(&mut replica);
    stop(&mut primary);
    assert_eq!(
        checked_digest(pdir.path()),
        checked_digest(rdir.path()),
        "replica content differs from the primary's"
    );
    let mut primary = spawn_env(
        pdir.path(),
        &[("RONGMEI_FEDERATION_LISTEN", &fed_addr), CHUNKS_ENV],
    );
    let mut replica = spawn(rdir.path());
    let (p, r) = (api(&primary.base, &token), api(&replica.base, &token));
    caught_up(&r, head(&p).await).await;

    // Strangers: no certificate, another CA's, the wrong role, expired.
    let ca_pem = std::fs::read_to_string(pki::dir(pdir.path()).join(pki::CA_CRT)).unwrap();
    let node_crt = std::fs::read_to_string(pki::dir(rdir.path()).join(pki::NODE_CRT)).unwrap();
    let node_key = std::fs::read_to_string(pki::dir(rdir.path()).join(pki::NODE_KEY)).unwrap();
    assert_eq!(
        fed_request(&fed_addr, &instance, &ca_pem, Some((&node_crt, &node_key))).await,
        Ok(200),
        "the replica's own certificate is served"
    );
    // Asked for, the stream is one zstd stream (and the answer says so); not asked for (a
    // replica of an earlier release), each frame is compressed alone. Both carry the log.
    for stream in [true, false] {
        let (said, f) = first_frame(
            &fed_addr,
            &instance,
            &ca_pem,
            (&node_crt, &node_key),
            stream,
        )
        .await;
        assert_eq!(said, stream);
        let first = rongmei::log::entry::decode_stored(&f.entries[0]).unwrap();
        assert_eq!(first.lsn.0, 1);
        assert!(matches!(
            first.fact,
            rongmei::domain::fact::Fact::InstanceCreated { .. }
        ));
    }
    assert!(
        fed_request(&fed_addr, &instance, &ca_pem, None)
            .await
            .is_err()
    );
    let now = rongmei::clock::system().now();
    let foreign = tempfile::tempdir().unwrap();
    let (foreign_ca, _) = pki::init_ca(foreign.path(), "someone-else", now).unwrap();
    let (k, csr) = pki::new_csr("x").unwrap();
    let c = foreign_ca
        .sign_peer(&csr, "replica", &peer_id, now)
        .unwrap();
    assert!(
        fed_request(&fed_addr, &instance, &ca_pem, Some((&c.pem, &k)))
            .await
            .is_err(),
        "another CA"
    );
    let ours = pki::load_ca(pdir.path()).unwrap();
    let c = ours.sign_peer(&csr, "county", &peer_id, now).unwrap();
    assert!(
        fed_request(&fed_addr, &instance, &ca_pem, Some((&c.pem, &k)))
            .await
            .is_err(),
        "wrong role (and not the enrolled certificate)"
    );
    let c = ours
        .sign_peer(&csr, "replica", &peer_id, now - 800 * 86_400_000)
        .unwrap();
    assert!(
        fed_request(&fed_addr, &instance, &ca_pem, Some((&c.pem, &k)))
            .await
            .is_err(),
        "expired"
    );

    // Revoked: the live stream is cut and the next handshake refused; the replica says so.
    let (s, rv) = p
        .send(
            reqwest::Method::DELETE,
            &format!(
                "/api/v1/federation/peers/{peer_id}?reason=%E8%AE%BE%E5%A4%87%E4%B8%A2%E5%A4%B1"
            ),
            None,
        )
        .await;
    assert_eq!(s, 200, "{rv}");
    assert!(rv["revoked_at"].is_string());
    // (Its holder is told why — `403 peer_revoked` to every request — and nothing else.)
    let r403 = fed_request(&fed_addr, &instance, &ca_pem, Some((&node_crt, &node_key))).await;
    assert!(matches!(r403, Err(_) | Ok(403)), "revoked: {r403:?}");
    p.article("吊销之后").await;
    let last = head(&p).await;
    let mut refused = false;
    for _ in 0..100 {
        let st = r.get("/api/v1/federation/status").await;
        if st["follow"]["state"] == "error" {
            assert!(st["follow"]["applied_lsn"].as_u64().unwrap() < last);
            refused = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(refused, "the revoked replica kept following");

    kill(&mut replica);
    kill(&mut primary);
    for d in [pdir.path(), rdir.path()] {
        let (good, out) = run_check(d);
        assert!(good, "{}: {out}", d.display());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replica_whose_log_forked_is_refused_and_merges_nothing() {
    rongmei::fed::tls::install_provider();
    let pdir = tempfile::tempdir().unwrap();
    let rdir = tempfile::tempdir().unwrap();
    let (mut primary, token) = start_primary(pdir.path()).await;
    let p = api(&primary.base, &token);
    pair(&p, rdir.path()).await;
    let mut replica = spawn(rdir.path());
    let r = api(&replica.base, &token);
    let at = head(&p).await;
    caught_up(&r, at).await;
    kill(&mut replica);

    // The replica's store gets an entry of its own (as if it had been written to while cut off):
    // its position is no longer on the primary's history.
    let mut opened = rongmei::workflow::bootstrap::open_or_init(rdir.path(), "county", 0).unwrap();
    rongmei::workflow::commit::run_once(&opened.db, &mut opened.appender, 0, |w| {
        w.emit(
            None,
            rongmei::domain::fact::Fact::AssetDeleted {
                id: rongmei::domain::AssetId(999),
            },
        )
    })
    .unwrap();
    drop(opened);

    let mut replica = spawn(rdir.path());
    let r = api(&replica.base, &token);
    p.article("分叉之后").await;
    let mut seen = Value::Null;
    for _ in 0..100 {
        let (code, st) = r
            .send(reqwest::Method::GET, "/api/v1/federation/status", None)
            .await;
        if code == 200 && st["follow"]["state"] == "diverged" {
            seen = st;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(seen["follow"]["state"], "diverged", "{seen}");
    assert!(
        seen["follow"]["last_error"]
            .as_str()
            .unwrap()
            .starts_with("history_diverged"),
        "{seen}"
    );
    // Nothing of the primary's later history was merged.
    assert_eq!(r.get("/api/v1/instance").await["log_head"], at + 1);
    kill(&mut replica);
    kill(&mut primary);
    let (good, out) = run_check(rdir.path());
    assert!(good, "{out}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_offline_replica_is_fed_by_segment_files() {
    rongmei::fed::tls::install_provider();
    let (pdir, rdir, r2dir, media) = (
        tempfile::tempdir().unwrap(),
        tempfile::tempdir().unwrap(),
        tempfile::tempdir().unwrap(),
        tempfile::tempdir().unwrap(),
    );
    let (mut primary, token) = start_primary(pdir.path()).await;
    let p = api(&primary.base, &token);
    for dir in [rdir.path(), r2dir.path()] {
        pair(&p, dir).await;
    }
    for i in 0..5 {
        p.article(&format!("第一批{i}")).await;
    }
    let first_head = head(&p).await;
    kill(&mut primary);

    let m1 = media.path().join("m1");
    let (ok, out) = run_offline(
        &["log", "export", "--out", m1.to_str().unwrap()],
        pdir.path(),
    );
    assert!(ok, "{out}");
    let (ok, out) = run_offline(
        &["log", "export", "--out", m1.to_str().unwrap()],
        pdir.path(),
    );
    assert!(!ok && out.contains("never overwritten"), "{out}");
    let (ok, out) = run_offline(&["log", "import", m1.to_str().unwrap()], rdir.path());
    assert!(ok, "{out}");
    assert!(out.contains(&format!("ends at {first_head}")), "{out}");
    let (ok, out) = run_offline(&["log", "import", m1.to_str().unwrap()], rdir.path());
    assert!(ok && out.contains("already here"), "importing twice: {out}");

    // More work on the primary, carried by a second medium.
    let mut primary = spawn_env(pdir.path(), &FED_ENV);
    let p = api(&primary.base, &token);
    for i in 0..5 {
        p.article(&format!("第二批{i}")).await;
    }
    let second_head = head(&p).await;
    kill(&mut primary);
    let m2 = media.path().join("m2");
    let from = (first_head + 1).to_string();
    let (ok, out) = run_offline(
        &[
            "log",
            "export",
            "--from",
            &from,
            "--out",
            m2.to_str().unwrap(),
        ],
        pdir.path(),
    );
    assert!(ok, "{out}");

    // A replica that lacks the first medium is told exactly what is missing.
    let (ok, out) = run_offline(&["log", "import", m2.to_str().unwrap()], r2dir.path());
    assert!(!ok, "{out}");
    assert!(
        out.contains(&format!("missing entries 1–{first_head}")),
        "{out}"
    );
    // A damaged copy is refused with the reason, and changes nothing.
    let seg = std::fs::read_dir(&m2)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|x| x == "rmlog"))
        .unwrap();
    let m3 = media.path().join("m3");
    std::fs::create_dir_all(&m3).unwrap();
    let mut bytes = std::fs::read(&seg).unwrap();
    let n = bytes.len();
    bytes[n - 10] ^= 0x55;
    std::fs::write(m3.join(seg.file_name().unwrap()), &bytes).unwrap();
    let (ok, out) = run_offline(&["log", "import", m3.to_str().unwrap()], rdir.path());
    assert!(!ok && out.contains("checksum"), "{out}");
    std::fs::write(m3.join(seg.file_name().unwrap()), &bytes[..n / 2]).unwrap();
    let (ok, out) = run_offline(&["log", "import", m3.to_str().unwrap()], rdir.path());
    assert!(!ok && out.contains("refused"), "{out}");

    // A segment of another instance (signed by another CA) is refused.
    let qdir = tempfile::tempdir().unwrap();
    let mut other = spawn_env(qdir.path(), &FED_ENV);
    kill(&mut other);
    let m4 = media.path().join("m4");
    let (ok, out) = run_offline(
        &["log", "export", "--out", m4.to_str().unwrap()],
        qdir.path(),
    );
    assert!(ok, "{out}");
    let (ok, out) = run_offline(&["log", "import", m4.to_str().unwrap()], rdir.path());
    assert!(!ok && out.contains("foreign"), "{out}");

    let (ok, out) = run_offline(&["log", "import", m2.to_str().unwrap()], rdir.path());
    assert!(ok, "{out}");
    assert!(out.contains(&format!("ends at {second_head}")), "{out}");
    let (good, out) = run_check(rdir.path());
    assert!(good, "{out}");
    // The replica serves what came on the media.
    let mut replica = spawn(rdir.path());
    let r = api(&replica.base, &token);
    let list = r.get("/api/v1/articles?limit=100").await;
    let titles: Vec<&str> = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["title"].as_str().unwrap())
        .collect();
    assert!(
        titles.contains(&"第一批0") && titles.contains(&"第二批4"),
        "{titles:?}"
    );
    kill(&mut replica);
}
