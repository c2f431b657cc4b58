//! Helpers of the provincial hub tests: a hub and its counties on loopback, enrollment,
//! publishing through a one-level chain, waiting on what the hub holds, and speaking to the
//! hub's federation listener with a county's certificate (made-up logs, raw batches).

use std::time::Duration;

use base64::Engine;
use rongmei::domain::fact::Fact;
use rongmei::domain::{Epoch, InstanceId, Lsn};
use rongmei::fed::pki;
use rongmei::fed::ship::{BatchDto, HUB_CA_CRT, HUB_CRT, HUB_FILE, HUB_KEY, ItemDto};
use rongmei::log::entry;
use serde_json::{Value, json};

use crate::crash::{Proc, setup_token_with, spawn, spawn_env, stop};
use crate::harness::run_offline;
use crate::replica::{Api, api};

pub(crate) const HUB_ENV: [(&str, &str); 2] = [
    ("RONGMEI_FEDERATION_LISTEN", "127.0.0.1:0"),
    ("RONGMEI_FEDERATION_ROLE", "hub"),
];

pub(crate) async fn start_hub(dir: &std::path::Path) -> (Proc, String) {
    let hub = spawn_env(dir, &HUB_ENV);
    let pw = hub.password.clone().unwrap();
    let token = setup_token_with(&hub.base, &pw, &["read", "write", "admin"]).await;
    (hub, token)
}

/// First start of an instance in `dir`, with an all-scopes token of its admin.
pub(crate) async fn first_start(dir: &std::path::Path) -> (Proc, String) {
    let p = spawn(dir);
    let token = setup_token_with(
        &p.base,
        p.password.as_deref().unwrap(),
        &["read", "write", "admin"],
    )
    .await;
    (p, token)
}

/// A hub and two counties enrolled at it, each in a temp dir of its own.
pub(crate) struct Province {
    pub hdir: tempfile::TempDir,
    pub adir: tempfile::TempDir,
    pub bdir: tempfile::TempDir,
    pub hub: Proc,
    pub htoken: String,
    pub h: Api,
    /// County A: (its process, an all-scopes token, its id at the hub).
    pub a: (Proc, String, String),
    pub b: (Proc, String, String),
}

/// A county to enroll: name, region code, environment of its shipping start.
pub(crate) type CountySpec<'a> = (&'a str, &'a str, &'a [(&'a str, &'a str)]);

/// Start a hub and enroll two counties (`enrolled_county`: each joins while running and ships
/// from its next start).
pub(crate) async fn province(a: CountySpec<'_>, b: CountySpec<'_>) -> Province {
    rongmei::fed::tls::install_provider();
    let hdir = tempfile::tempdir().unwrap();
    let adir = tempfile::tempdir().unwrap();
    let bdir = tempfile::tempdir().unwrap();
    let (hub, htoken) = start_hub(hdir.path()).await;
    let h = api(&hub.base, &htoken);
    let a = enrolled_county(&h, &hub.base, adir.path(), a.0, a.1, a.2).await;
    let b = enrolled_county(&h, &hub.base, bdir.path(), b.0, b.1, b.2).await;
    Province {
        hdir,
        adir,
        bdir,
        hub,
        htoken,
        h,
        a,
        b,
    }
}

/// A county in `dir` enrolled at the hub with `region` and started again (with `env`) so it
/// ships: (its process, an all-scopes token, its id).
pub(crate) async fn enrolled_county(
    h: &Api,
    hub_base: &str,
    dir: &std::path::Path,
    name: &str,
    region: &str,
    env: &[(&str, &str)],
) -> (Proc, String, String) {
    let (mut p, token) = first_start(dir).await;
    let id = enroll_in(h, hub_base, dir, name, region).await;
    stop(&mut p);
    (spawn_env(dir, env), token, id)
}

/// Enroll `dir` (a county, running or stopped) at the hub; returns the county's id.
pub(crate) async fn enroll(h: &Api, hub_base: &str, dir: &std::path::Path, name: &str) -> String {
    enroll_in(h, hub_base, dir, name, "330523").await
}

/// Enroll with a region code.
pub(crate) async fn enroll_in(
    h: &Api,
    hub_base: &str,
    dir: &std::path::Path,
    name: &str,
    region: &str,
) -> String {
    let (s, p) = h
        .post(
            "/api/v1/federation/pairings",
            json!({"role": "county", "name": name, "region": region}),
        )
        .await;
    assert_eq!(s, 201, "{p}");
    let (ok, out) = run_offline(
        &["join", hub_base, "--token", p["token"].as_str().unwrap()],
        dir,
    );
    assert!(ok, "{out}");
    assert!(out.contains(p["ca_fingerprint"].as_str().unwrap()), "{out}");
    let up: toml::Value =
        toml::from_str(&std::fs::read_to_string(pki::dir(dir).join(HUB_FILE)).unwrap()).unwrap();
    up["peer_id"].as_str().unwrap().to_string()
}

/// The id of the row of `list` whose `key` is `value`.
pub(crate) fn id_where(list: &Value, key: &str, value: &str) -> u64 {
    list.as_array()
        .unwrap()
        .iter()
        .find(|r| r[key] == value)
        .unwrap_or_else(|| panic!("no {key} = {value} in {list}"))["id"]
        .as_u64()
        .unwrap()
}

/// A one-level chain the admin closes alone, then publish an article through it.
pub(crate) async fn publish(c: &Api, title: &str) -> u64 {
    publish_with(c, title, "").await
}

/// The same, with a body.
pub(crate) async fn publish_with(c: &Api, title: &str, body: &str) -> u64 {
    let admin = id_where(&c.get("/api/v1/users").await, "username", "admin");
    let tv = id_where(&c.get("/api/v1/outlets").await, "slug", "tv");
    let chains = c.get("/api/v1/outlets/tv/chains").await;
    if !chains
        .as_array()
        .unwrap()
        .iter()
        .any(|ch| ch["slug"] == "quick")
    {
        let level = json!({"name": "值班审核", "kind": "review", "site": {"type": "outlet", "outlet": tv},
            "roles": [], "users": [admin], "allow_self": true, "quorum": {"type": "any"},
            "deadline_hours": null, "send_back": {"type": "author"}});
        let (s, v) = c
            .post(
                "/api/v1/outlets/tv/chains",
                json!({"slug": "quick", "name": "快审", "levels": [level]}),
            )
            .await;
        assert_eq!(s, 201, "{v}");
    }
    let (s, a) = c
        .post(
            "/api/v1/articles",
            json!({"outlet": "tv", "title": title, "body": body}),
        )
        .await;
    assert_eq!(s, 201, "{title}: {a}");
    let id = a["id"].as_u64().unwrap();
    for (step, body) in [
        ("submit", json!({"revision": 1, "chain": "quick"})),
        ("approve", json!({"revision": 1, "level": 0})),
        ("publish", json!({"revision": 1})),
    ] {
        let (s, v) = c.post(&format!("/api/v1/articles/{id}/{step}"), body).await;
        assert_eq!(s, 200, "{step}: {v}");
    }
    id
}

/// The hub's view of one county.
pub(crate) async fn county(h: &Api, id: &str) -> Value {
    let list = h.get("/api/v1/federation/counties").await;
    list.as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == id)
        .cloned()
        .unwrap_or(Value::Null)
}

/// Wait (deadline 30 s) until the hub holds `n` articles of the county.
pub(crate) async fn hub_has(h: &Api, id: &str, n: u64) -> Value {
    let list = until(
        h,
        "/api/v1/federation/counties",
        "the articles at the hub",
        |l| {
            l.as_array()
                .is_some_and(|l| l.iter().any(|c| c["id"] == id && c["articles"] == n))
        },
    )
    .await;
    list.as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == id)
        .cloned()
        .unwrap()
}

/// Wait (deadline 30 s) until `f` holds of what `path` answers.
pub(crate) async fn until(a: &Api, path: &str, what: &str, f: impl Fn(&Value) -> bool) -> Value {
    for _ in 0..300 {
        let v = a.get(path).await;
        if f(&v) {
            return v;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("{what} never happened: {}", a.get(path).await);
}

/// A client of the hub's federation listener with the county's certificate.
pub(crate) fn county_client(cdir: &std::path::Path) -> (reqwest::Client, String) {
    let d = pki::dir(cdir);
    let cfg = rongmei::fed::tls::client_config_with(
        &d.join(HUB_CA_CRT),
        &d.join(HUB_CRT),
        &d.join(HUB_KEY),
    )
    .unwrap();
    let up: toml::Value =
        toml::from_str(&std::fs::read_to_string(d.join(HUB_FILE)).unwrap()).unwrap();
    let addr: std::net::SocketAddr = up["addr"].as_str().unwrap().parse().unwrap();
    let name = pki::server_name(up["instance"].as_str().unwrap());
    let http = reqwest::Client::builder()
        .tls_backend_preconfigured(cfg)
        .resolve(&name, addr)
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap();
    (http, format!("https://{name}:{}", addr.port()))
}

/// Entries of a made-up log of `instance`, as (lsn, prev hash, stored bytes).
pub(crate) fn log_of(instance: &str, facts: &[Fact]) -> Vec<Raw> {
    let mut prev = entry::genesis(&InstanceId(instance.to_string()));
    let mut out = Vec::new();
    for (i, f) in facts.iter().enumerate() {
        let lsn = i as u64 + 1;
        let bytes = entry::encode_entry(Epoch(1), Lsn(lsn), 1_700_000_000_000, None, f);
        let (hash, stored) = entry::seal(&prev, &bytes);
        out.push((lsn, prev, stored));
        prev = hash;
    }
    out
}

pub(crate) async fn send(
    http: &reqwest::Client,
    base: &str,
    instance: &str,
    after: u64,
    through: u64,
    items: &[&Raw],
) -> (u16, Value) {
    let r = http
        .post(format!("{base}/fed/v1/county/batch"))
        .body(batch_body(instance, after, through, items))
        .send()
        .await
        .unwrap();
    let s = r.status().as_u16();
    (s, r.json().await.unwrap_or(Value::Null))
}

/// A batch of `items` of `instance`'s log covering (after, through], as the wire carries it.
pub(crate) fn batch_body(instance: &str, after: u64, through: u64, items: &[&Raw]) -> Vec<u8> {
    let b = BatchDto {
        after,
        through,
        head: through,
        media: Vec::new(),
        items: items
            .iter()
            .map(|(_, prev, stored)| ItemDto {
                instance: instance.to_string(),
                prev: hex::encode(prev),
                stored: base64::engine::general_purpose::STANDARD.encode(stored),
            })
            .collect(),
    };
    rongmei::fed::ship::encode_batch(&b).unwrap()
}

/// A county log entry as `send` takes it: (lsn, prev hash, stored bytes).
pub(crate) type Raw = (u64, [u8; 32], Vec<u8>);

/// The items of a county's batch as `send` takes them.
pub(crate) fn items_of(b: &BatchDto) -> Vec<Raw> {
    b.items
        .iter()
        .map(|i| {
            let stored = base64::engine::general_purpose::STANDARD
                .decode(&i.stored)
                .unwrap();
            let lsn = entry::decode_stored(&stored).unwrap().lsn.0;
            let prev: [u8; 32] = hex::decode(&i.prev).unwrap().try_into().unwrap();
            (lsn, prev, stored)
        })
        .collect()
}

/// What a hub holds of a county, without its own receipt times.
pub(crate) async fn holding(h: &Api, id: &str) -> (Value, Vec<(u64, String, u64, u64)>) {
    let c = county(h, id).await;
    let arts = h
        .get(&format!("/api/v1/federation/counties/{id}/articles"))
        .await;
    let mut rows: Vec<(u64, String, u64, u64)> = arts
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            (
                a["id"].as_u64().unwrap(),
                a["title"].as_str().unwrap().to_string(),
                a["revision"].as_u64().unwrap(),
                a["lsn"].as_u64().unwrap(),
            )
        })
        .collect();
    rows.sort();
    (
        json!([c["lsn"], c["epoch"], c["articles"], c["quarantined"]]),
        rows,
    )
}

pub(crate) fn h_of(p: &Proc, token: &str) -> Api {
    api(&p.base, token)
}

/// `send` that reports a failed connection instead of panicking (the hub may be dead).
pub(crate) async fn send_result(
    http: &reqwest::Client,
    base: &str,
    instance: &str,
    after: u64,
    through: u64,
    items: &[&Raw],
) -> Result<Value, String> {
    let r = http
        .post(format!("{base}/fed/v1/county/batch"))
        .body(batch_body(instance, after, through, items))
        .send()
        .await
        .map_err(|e| e.to_string())?;
    if !r.status().is_success() {
        return Err(format!("{}", r.status()));
    }
    r.json().await.map_err(|e| e.to_string())
}
