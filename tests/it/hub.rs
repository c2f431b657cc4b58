//! The provincial hub with real binaries on loopback: a county enrolls with a one-time token and
//! ships what it publishes over mTLS (drafts stay home), exactly once across SIGKILLs of both
//! sides; a revoked county is refused; the hub takes entries only from the county its
//! certificate names, skips replays, refuses a batch that arrives before its predecessor, and
//! quarantines a county whose entries do not fit the history it has.

use std::time::Duration;

use base64::Engine;
use rongmei::domain::fact::Fact;
use rongmei::domain::{Epoch, InstanceId, Lsn};
use rongmei::fed::pki;
use rongmei::fed::ship::{BatchDto, HUB_CA_CRT, HUB_CRT, HUB_FILE, HUB_KEY, ItemDto};
use rongmei::log::entry;
use serde_json::{Value, json};

use crate::crash::{Proc, setup_token_with, spawn, spawn_env, stop};
use crate::harness::{checked_digest, run_offline};
use crate::replica::{Api, api, kill};

const HUB_ENV: [(&str, &str); 2] = [
    ("RONGMEI_FEDERATION_LISTEN", "127.0.0.1:0"),
    ("RONGMEI_FEDERATION_ROLE", "hub"),
];

pub(crate) async fn start_hub(dir: &std::path::Path) -> (Proc, String) {
    let hub = spawn_env(dir, &HUB_ENV);
    let pw = hub.password.clone().unwrap();
    let token = setup_token_with(&hub.base, &pw, &["read", "write", "admin"]).await;
    (hub, token)
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
async fn county(h: &Api, id: &str) -> Value {
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_county_ships_what_it_publishes_exactly_once_and_a_revoked_one_is_refused() {
    rongmei::fed::tls::install_provider();
    let hdir = tempfile::tempdir().unwrap();
    let cdir = tempfile::tempdir().unwrap();
    let (mut hub, htoken) = start_hub(hdir.path()).await;
    let h = api(&hub.base, &htoken);
    let mut cproc = spawn(cdir.path());
    let ctoken = setup_token_with(
        &cproc.base,
        cproc.password.as_deref().unwrap(),
        &["read", "write", "admin"],
    )
    .await;
    let c = api(&cproc.base, &ctoken);

    // Only a hub enrolls counties; a region code has six digits.
    let (s, v) = c
        .post(
            "/api/v1/federation/pairings",
            json!({"role": "county", "name": "x"}),
        )
        .await;
    assert_eq!((s, v["code"].as_str()), (409, Some("wrong_role")), "{v}");
    let (s, v) = h
        .post(
            "/api/v1/federation/pairings",
            json!({"role": "county", "name": "x", "region": "33"}),
        )
        .await;
    assert_eq!((s, v["code"].as_str()), (400, Some("invalid_input")), "{v}");

    // Enrollment while the county runs; it ships from its next start.
    let id = enroll(&h, &hub.base, cdir.path(), "安吉县融媒体中心").await;
    let listed = county(&h, &id).await;
    assert_eq!(listed["region"], "330523");
    assert_eq!(listed["articles"], 0);
    stop(&mut cproc);
    let mut cproc = spawn(cdir.path());
    let c = api(&cproc.base, &ctoken);
    let first = publish(&c, "县里的第一篇公开稿件").await;
    c.article("一篇草稿：不离开县里").await;
    hub_has(&h, &id, 1).await;
    let arts = h
        .get(&format!("/api/v1/federation/counties/{id}/articles"))
        .await;
    assert_eq!(arts.as_array().unwrap().len(), 1, "{arts}");
    assert_eq!(arts[0]["id"].as_u64(), Some(first));
    assert_eq!(arts[0]["title"], "县里的第一篇公开稿件");
    // The county says its log head as it ships: the dashboard shows nothing left to get
    // (the draft is read through, not shipped).
    let head = crate::replica::head(&c).await;
    until(
        &h,
        "/api/v1/federation/counties",
        "the county's head at the hub",
        |l| l[0]["county_head"] == head && l[0]["lag_entries"] == 0,
    )
    .await;
    assert_eq!(arts[0]["status"], "published");
    let st = c.get("/api/v1/federation/status").await;
    assert_eq!(st["instance_role"], "county");
    assert!(st["hub"]["hub_lsn"].as_u64().unwrap() > 0, "{st}");

    // SIGKILL both sides, write while the hub is down, restart (the hub on the federation port
    // the county knows): each article arrives once.
    let fed_addr = h.get("/api/v1/federation/status").await["listen"]
        .as_str()
        .unwrap()
        .to_string();
    kill(&mut hub);
    let second = publish(&c, "断网期间发布的稿件").await;
    kill(&mut cproc);
    let mut hub = spawn_env(
        hdir.path(),
        &[
            ("RONGMEI_FEDERATION_LISTEN", &fed_addr),
            ("RONGMEI_FEDERATION_ROLE", "hub"),
        ],
    );
    let h = api(&hub.base, &htoken);
    let mut cproc = spawn(cdir.path());
    let c = api(&cproc.base, &ctoken);
    let third = publish(&c, "恢复之后的稿件").await;
    hub_has(&h, &id, 3).await;
    let arts = h
        .get(&format!("/api/v1/federation/counties/{id}/articles"))
        .await;
    let mut ids: Vec<u64> = arts
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["id"].as_u64().unwrap())
        .collect();
    ids.sort_unstable();
    assert_eq!(ids, vec![first, second, third]);
    // The dashboard's figures: published per day over the last week, last contact.
    let row = county(&h, &id).await;
    let week: u64 = row["published_7d"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n.as_u64().unwrap())
        .sum();
    assert_eq!(week, 3, "{row}");
    assert!(row["last_contact"].is_string(), "{row}");

    // Revoked at the hub: refused at once, the reason shown; nothing more arrives.
    let (s, v) = h
        .send(
            reqwest::Method::DELETE,
            &format!("/api/v1/federation/peers/{id}?reason=%E8%AF%81%E4%B9%A6%E6%B3%84%E9%9C%B2"),
            None,
        )
        .await;
    assert_eq!(s, 200, "{v}");
    stop(&mut cproc);
    let mut cproc = spawn(cdir.path());
    let c = api(&cproc.base, &ctoken);
    publish(&c, "吊销之后的稿件").await;
    // The county is told why (the hub answers its revoked certificate with the reason only).
    let refused = until(&c, "/api/v1/federation/status", "the refusal", |st| {
        st["hub"]["state"] == "revoked"
    })
    .await;
    let why = refused["hub"]["last_error"].as_str().unwrap();
    assert!(
        why.starts_with("peer_revoked") && why.contains("证书泄露"),
        "{refused}"
    );
    let metrics = reqwest::get(format!("{}/metrics", cproc.base))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(metrics.contains("rongmei_hub_refused 1"), "{metrics}");
    let listed = county(&h, &id).await;
    assert_eq!(listed["articles"], 3);
    assert_eq!(listed["revoke_reason"], "证书泄露");
    stop(&mut cproc);
    stop(&mut hub);
    for d in [hdir.path(), cdir.path()] {
        checked_digest(d);
    }
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

/// The row of an instruction's progress for one county.
fn row<'a>(detail: &'a Value, county: &str) -> &'a Value {
    detail["counties"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["county"] == county)
        .unwrap_or(&Value::Null)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_instruction_reaches_its_counties_and_their_answers_reach_the_hub() {
    rongmei::fed::tls::install_provider();
    let hdir = tempfile::tempdir().unwrap();
    let adir = tempfile::tempdir().unwrap();
    let bdir = tempfile::tempdir().unwrap();
    let (mut hub, htoken) = start_hub(hdir.path()).await;
    let h = api(&hub.base, &htoken);
    // Each county joins while running and ships (and fetches) from its next start.
    let mut started = Vec::new();
    for (dir, name, region) in [
        (adir.path(), "西湖区融媒体中心", "330106"),
        (bdir.path(), "瑶海区融媒体中心", "340102"),
    ] {
        let mut p = spawn(dir);
        let token = setup_token_with(
            &p.base,
            p.password.as_deref().unwrap(),
            &["read", "write", "admin"],
        )
        .await;
        let id = enroll_in(&h, &hub.base, dir, name, region).await;
        stop(&mut p);
        started.push((spawn(dir), token, id));
    }
    let (mut bproc, btoken, b_id) = started.pop().unwrap();
    let (mut aproc, atoken, a_id) = started.pop().unwrap();
    let a = api(&aproc.base, &atoken);
    let b = api(&bproc.base, &btoken);

    // Bad instructions are refused with the field named; only a hub issues them.
    let ok = json!({"title": "防汛防台专题报道", "brief": "各县做好防汛报道。", "deadline": "2099-01-01",
        "target": {"kind": "region", "code": "3301"}});
    for (patch, field) in [
        (json!({"title": " "}), "title"),
        (json!({"deadline": "2001-01-01"}), "deadline"),
        (json!({"deadline": "明天"}), "deadline"),
        (
            json!({"target": {"kind": "region", "code": "33x"}}),
            "target.code",
        ),
        (
            json!({"target": {"kind": "counties", "ids": ["nobody"]}}),
            "target.ids",
        ),
        (
            json!({"target": {"kind": "region", "code": "44"}}),
            "target",
        ),
        (json!({"target": {"kind": "everyone"}}), "target.kind"),
    ] {
        let mut body = ok.clone();
        for (k, v) in patch.as_object().unwrap() {
            body[k] = v.clone();
        }
        let (s, v) = h.post("/api/v1/instructions", body).await;
        assert_eq!(
            (s, v["code"].as_str()),
            (400, Some("invalid_input")),
            "{field}: {v}"
        );
        assert!(
            v["message"].as_str().unwrap().contains(field),
            "{field}: {v}"
        );
    }
    let (s, v) = a.post("/api/v1/instructions", ok.clone()).await;
    assert_eq!((s, v["code"].as_str()), (409, Some("wrong_role")), "{v}");
    let (s, v) = h.send(reqwest::Method::GET, "/api/v1/inbox", None).await;
    assert_eq!((s, v["code"].as_str()), (409, Some("wrong_role")), "{v}");

    // To region 3301: county A only. Then to everyone.
    let (s, first) = h.post("/api/v1/instructions", ok.clone()).await;
    assert_eq!(s, 201, "{first}");
    assert_eq!(first["progress"]["targets"], 1);
    let first = first["id"].as_u64().unwrap();
    let mut all = ok.clone();
    all["title"] = json!("全省统一宣传口径");
    all["target"] = json!({"kind": "all"});
    let (s, second) = h.post("/api/v1/instructions", all).await;
    assert_eq!(
        (s, second["progress"]["targets"].as_u64()),
        (201, Some(2)),
        "{second}"
    );
    let second = second["id"].as_u64().unwrap();
    let inbox_a = until(&a, "/api/v1/inbox", "A receiving both", |v| {
        v.as_array().is_some_and(|l| l.len() == 2)
    })
    .await;
    assert_eq!(
        inbox_a[0]["id"].as_u64(),
        Some(second),
        "newest first: {inbox_a}"
    );
    assert_eq!(inbox_a[1]["title"], "防汛防台专题报道");
    assert_eq!(inbox_a[1]["brief"], "各县做好防汛报道。");
    // Those who speak for the county are notified, with a link to the inbox item.
    let notes = a.get("/api/v1/notifications").await;
    let about: Vec<(&Value, &Value)> = notes["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|n| n["kind"] == "instruction")
        .map(|n| (&n["on"]["id"], &n["title"]))
        .collect();
    assert_eq!(
        about,
        vec![
            (&json!(second), &json!("全省统一宣传口径")),
            (&json!(first), &json!("防汛防台专题报道"))
        ],
        "{notes}"
    );
    assert!(inbox_a[1]["acknowledged_at"].is_null());
    let inbox_b = until(&b, "/api/v1/inbox", "B receiving one", |v| {
        v.as_array().is_some_and(|l| !l.is_empty())
    })
    .await;
    assert_eq!(inbox_b.as_array().unwrap().len(), 1, "{inbox_b}");
    assert_eq!(inbox_b[0]["id"].as_u64(), Some(second));
    // B cannot act on what it was not sent.
    let (s, v) = b
        .post(&format!("/api/v1/inbox/{first}/acknowledge"), json!({}))
        .await;
    assert_eq!(
        (s, v["code"].as_str()),
        (404, Some("instruction_not_found")),
        "{v}"
    );

    // The hub sees the deliveries come back up.
    let path = format!("/api/v1/instructions/{second}");
    until(&h, &path, "both deliveries at the hub", |d| {
        !row(d, &a_id)["delivered_at"].is_null() && !row(d, &b_id)["delivered_at"].is_null()
    })
    .await;

    // A acknowledges and answers with a published article; a draft or a stranger's id is no
    // answer.
    let (s, v) = a
        .post(&format!("/api/v1/inbox/{first}/acknowledge"), json!({}))
        .await;
    assert_eq!(s, 200, "{v}");
    assert!(v["acknowledged_at"].is_string(), "{v}");
    let draft = a.article("还在写的防汛稿").await["id"].as_u64().unwrap();
    let (s, v) = a
        .post(
            &format!("/api/v1/inbox/{first}/answers"),
            json!({"article": draft}),
        )
        .await;
    assert_eq!((s, v["code"].as_str()), (400, Some("invalid_input")), "{v}");
    let (s, v) = a
        .post(
            &format!("/api/v1/inbox/{first}/answers"),
            json!({"article": 99999}),
        )
        .await;
    assert_eq!(
        (s, v["code"].as_str()),
        (404, Some("article_not_found")),
        "{v}"
    );
    let story = publish(&a, "西湖区全力防汛").await;
    let (s, v) = a
        .post(
            &format!("/api/v1/inbox/{first}/answers"),
            json!({"article": story}),
        )
        .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["answers"][0]["title"], "西湖区全力防汛");
    let path = format!("/api/v1/instructions/{first}");
    let d = until(&h, &path, "A's answer at the hub", |d| {
        row(d, &a_id)["answers"]
            .as_array()
            .is_some_and(|l| l.len() == 1)
    })
    .await;
    assert_eq!(d["counties"].as_array().unwrap().len(), 1, "{d}");
    let ra = row(&d, &a_id);
    assert_eq!(ra["name"], "西湖区融媒体中心");
    assert!(ra["acknowledged_at"].is_string(), "{d}");
    assert_eq!(ra["answers"][0]["article"].as_u64(), Some(story));
    assert_eq!(ra["answers"][0]["title"], "西湖区全力防汛");
    let list = h.get("/api/v1/instructions").await;
    let p = &list[1]["progress"];
    assert_eq!(
        (
            p["targets"].as_u64(),
            p["delivered"].as_u64(),
            p["acknowledged"].as_u64(),
            p["answered"].as_u64()
        ),
        (Some(1), Some(1), Some(1), Some(1)),
        "{list}"
    );

    // Partition: A is down (SIGKILL) while the hub issues; it arrives when A is back, once.
    kill(&mut aproc);
    let mut third = ok.clone();
    third["title"] = json!("断线期间下达的指令");
    let (s, v) = h.post("/api/v1/instructions", third).await;
    assert_eq!(s, 201, "{v}");
    let mut aproc = spawn(adir.path());
    let a = api(&aproc.base, &atoken);
    let inbox_a = until(&a, "/api/v1/inbox", "A receiving the third", |v| {
        v.as_array().is_some_and(|l| l.len() == 3)
    })
    .await;
    assert_eq!(inbox_a[0]["title"], "断线期间下达的指令");
    // The hub down: A keeps working; its acknowledgement arrives when the hub is back.
    let fed_addr = h.get("/api/v1/federation/status").await["listen"]
        .as_str()
        .unwrap()
        .to_string();
    kill(&mut hub);
    let third = inbox_a[0]["id"].as_u64().unwrap();
    let (s, v) = a
        .post(&format!("/api/v1/inbox/{third}/acknowledge"), json!({}))
        .await;
    assert_eq!(s, 200, "{v}");
    let mut hub = spawn_env(
        hdir.path(),
        &[
            ("RONGMEI_FEDERATION_LISTEN", &fed_addr),
            ("RONGMEI_FEDERATION_ROLE", "hub"),
        ],
    );
    let h = api(&hub.base, &htoken);
    until(
        &h,
        &format!("/api/v1/instructions/{third}"),
        "the acknowledgement after the outage",
        |d| row(d, &a_id)["acknowledged_at"].is_string(),
    )
    .await;
    assert_eq!(a.get("/api/v1/inbox").await.as_array().unwrap().len(), 3);

    // The hub moves the first instruction's deadline and calls the second off; both counties
    // follow, and a called-off instruction cannot be acknowledged or answered any more.
    let (s, v) = h
        .send(
            reqwest::Method::PATCH,
            &format!("/api/v1/instructions/{first}"),
            Some(json!({"deadline": "2000-01-01"})),
        )
        .await;
    assert_eq!((s, v["code"].as_str()), (400, Some("invalid_input")), "{v}");
    let (s, v) = h
        .send(
            reqwest::Method::PATCH,
            &format!("/api/v1/instructions/{first}"),
            Some(json!({"deadline": "2099-12-31"})),
        )
        .await;
    assert_eq!(
        (s, v["deadline"].as_str()),
        (200, Some("2099-12-31T00:00:00Z")),
        "{v}"
    );
    let cancel = format!("/api/v1/instructions/{second}/cancel");
    let (s, v) = h.post(&cancel, json!({"reason": ""})).await;
    assert_eq!((s, v["code"].as_str()), (400, Some("invalid_input")), "{v}");
    let (s, v) = h
        .post(&cancel, json!({"reason": "口径已更新，另行下达"}))
        .await;
    assert_eq!(
        (s, v["cancel_reason"].as_str()),
        (200, Some("口径已更新，另行下达")),
        "{v}"
    );
    let (s, v) = h.post(&cancel, json!({"reason": "again"})).await;
    assert_eq!(
        (s, v["code"].as_str()),
        (409, Some("invalid_transition")),
        "{v}"
    );
    let inbox_a = until(&a, "/api/v1/inbox", "the changes at A", |l| {
        l.as_array().is_some_and(|l| {
            l.iter()
                .any(|i| i["id"] == second && i["cancel_reason"].is_string())
                && l.iter()
                    .any(|i| i["id"] == first && i["deadline"] == "2099-12-31T00:00:00Z")
        })
    })
    .await;
    assert_eq!(inbox_a.as_array().unwrap().len(), 3);
    until(&b, "/api/v1/inbox", "the cancellation at B", |l| {
        l[0]["cancel_reason"] == "口径已更新，另行下达"
    })
    .await;
    let (s, v) = b
        .post(&format!("/api/v1/inbox/{second}/acknowledge"), json!({}))
        .await;
    assert_eq!(
        (s, v["code"].as_str()),
        (409, Some("invalid_transition")),
        "{v}"
    );
    let notes = b.get("/api/v1/notifications").await;
    assert_eq!(
        (&notes["items"][0]["kind"], &notes["items"][0]["excerpt"]),
        (
            &json!("instruction_changed"),
            &json!("口径已更新，另行下达")
        ),
        "{notes}"
    );
    // B never acknowledged the instruction to everyone; A acknowledged all but the second.
    assert_eq!(county(&h, &b_id).await["unacknowledged"], 1);
    assert_eq!(county(&h, &a_id).await["unacknowledged"], 1);
    for p in [&mut aproc, &mut bproc, &mut hub] {
        stop(p);
    }
    for d in [hdir.path(), adir.path(), bdir.path()] {
        checked_digest(d);
    }
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
fn log_of(instance: &str, facts: &[Fact]) -> Vec<Raw> {
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

async fn send(
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
fn batch_body(instance: &str, after: u64, through: u64, items: &[&Raw]) -> Vec<u8> {
    let b = BatchDto {
        after,
        through,
        head: through,
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_hub_checks_origin_order_and_history_of_every_entry() {
    rongmei::fed::tls::install_provider();
    let hdir = tempfile::tempdir().unwrap();
    let cdir = tempfile::tempdir().unwrap();
    let (mut hub, htoken) = start_hub(hdir.path()).await;
    let h = api(&hub.base, &htoken);
    // A county whose server is stopped: the test speaks for it with its certificate.
    let mut cproc = spawn(cdir.path());
    stop(&mut cproc);
    let id = enroll(&h, &hub.base, cdir.path(), "测试县").await;
    let (http, base) = county_client(cdir.path());

    let created = Fact::InstanceCreated {
        instance_id: InstanceId(id.clone()),
        role: "county".into(),
    };
    let other = uuid::Uuid::new_v4().to_string();
    let mine = log_of(&id, std::slice::from_ref(&created));
    let theirs = log_of(
        &other,
        &[Fact::InstanceCreated {
            instance_id: InstanceId(other.clone()),
            role: "county".into(),
        }],
    );

    // Another county's entries over this certificate: refused, nothing applied.
    let (s, v) = send(&http, &base, &other, 0, 1, &[&theirs[0]]).await;
    assert_eq!(
        (s, v["code"].as_str()),
        (403, Some("origin_mismatch")),
        "{v}"
    );
    // A batch that arrives before its predecessor: refused with the hub's position.
    let (s, v) = send(&http, &base, &id, 5, 6, &[]).await;
    assert_eq!(
        (s, v["code"].as_str()),
        (409, Some("batch_out_of_order")),
        "{v}"
    );
    // The genuine first entry, twice (a replay): applied once.
    let (s, v) = send(&http, &base, &id, 0, 3, &[&mine[0]]).await;
    assert_eq!((s, v["applied"].as_u64()), (200, Some(1)), "{v}");
    let (s, v) = send(&http, &base, &id, 0, 3, &[&mine[0]]).await;
    assert_eq!(
        (s, v["applied"].as_u64(), v["skipped"].as_u64()),
        (200, Some(0), Some(1)),
        "{v}"
    );
    assert_eq!(v["cursor"]["through"], 3);
    // An entry whose bytes were altered: the county is quarantined, and stays so.
    let mut forged = log_of(
        &id,
        &[created.clone(), created.clone(), created.clone(), created],
    )
    .pop()
    .unwrap();
    let n = forged.2.len();
    forged.2[n - 3] ^= 0x01;
    let (s, v) = send(&http, &base, &id, 3, 4, &[&forged]).await;
    assert_eq!(
        (s, v["code"].as_str()),
        (409, Some("county_quarantined")),
        "{v}"
    );
    let c = county(&h, &id).await;
    assert!(c["quarantined"].as_str().unwrap().contains("hash"), "{c}");
    let (s, v) = send(&http, &base, &id, 3, 4, &[]).await;
    assert_eq!(
        (s, v["code"].as_str()),
        (409, Some("county_quarantined")),
        "{v}"
    );
    assert_eq!(county(&h, &id).await["lsn"], 1);
    // The hub's administrators are told, and monitoring sees it.
    let notes = h.get("/api/v1/notifications").await;
    assert_eq!(notes["items"][0]["kind"], "county_quarantined", "{notes}");
    assert_eq!(notes["items"][0]["on"]["id"], id.as_str());
    assert!(
        notes["items"][0]["excerpt"]
            .as_str()
            .unwrap()
            .contains("hash")
    );
    let metrics = reqwest::get(format!("{}/metrics", hub.base))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains(&format!(
            "rongmei_hub_county_quarantined{{county=\"{id}\"}} 1"
        )),
        "{metrics}"
    );

    // Another enrollment token cannot take over an enrolled county's id.
    let (_, p) = h
        .post(
            "/api/v1/federation/pairings",
            json!({"role": "county", "name": "冒名县"}),
        )
        .await;
    let (_, csr) = pki::new_csr("rongmei county").unwrap();
    let r = reqwest::Client::new()
        .post(format!("{}/api/v1/federation/join", hub.base))
        .json(&json!({"token": p["token"], "csr": csr, "instance_id": id}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 409);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["code"], "peer_exists", "{v}");

    // Revoked while connected: the next request on the open connection is refused too.
    let (s, v) = h
        .send(
            reqwest::Method::DELETE,
            &format!("/api/v1/federation/peers/{id}?reason=test"),
            None,
        )
        .await;
    assert_eq!(s, 200, "{v}");
    let r = http
        .get(format!("{base}/fed/v1/county/cursor"))
        .send()
        .await;
    if let Ok(r) = r {
        assert_eq!(r.status().as_u16(), 403);
    }
    stop(&mut hub);
    checked_digest(hdir.path());
}

/// A chain whose second level is the province: 值班审核 here, then 省级审核.
async fn provincial_chain(c: &Api) {
    let admin = id_where(&c.get("/api/v1/users").await, "username", "admin");
    let tv = id_where(&c.get("/api/v1/outlets").await, "slug", "tv");
    let here = json!({"name": "值班审核", "kind": "review", "site": {"type": "outlet", "outlet": tv},
        "roles": [], "users": [admin], "allow_self": true, "quorum": {"type": "any"},
        "deadline_hours": null, "send_back": {"type": "author"}});
    let mut province = json!({"name": "省级审核", "kind": "review", "site": {"type": "province"},
        "roles": ["chief_editor"], "users": [], "allow_self": false, "quorum": {"type": "any"},
        "deadline_hours": 48, "send_back": {"type": "author"}});
    // A provincial level names nobody here.
    let (s, v) = c
        .post(
            "/api/v1/outlets/tv/chains",
            json!({"slug": "prov", "name": "省级审核流程", "levels": [here, province]}),
        )
        .await;
    assert_eq!((s, v["code"].as_str()), (400, Some("invalid_input")), "{v}");
    province["roles"] = json!([]);
    let (s, v) = c
        .post(
            "/api/v1/outlets/tv/chains",
            json!({"slug": "prov", "name": "省级审核流程", "levels": [here, province]}),
        )
        .await;
    assert_eq!(s, 201, "{v}");
}

/// Submit an article on the provincial chain and pass the local level: it goes up.
async fn send_up(c: &Api, title: &str) -> u64 {
    let id = c.article(title).await["id"].as_u64().unwrap();
    for (step, body) in [
        ("submit", json!({"revision": 1, "chain": "prov"})),
        ("approve", json!({"revision": 1, "level": 0})),
    ] {
        let (s, v) = c.post(&format!("/api/v1/articles/{id}/{step}"), body).await;
        assert_eq!(s, 200, "{step}: {v}");
    }
    id
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_province_reviews_what_a_county_sends_up_and_its_decision_moves_the_chain() {
    rongmei::fed::tls::install_provider();
    let hdir = tempfile::tempdir().unwrap();
    let cdir = tempfile::tempdir().unwrap();
    let (mut hub, htoken) = start_hub(hdir.path()).await;
    let h = api(&hub.base, &htoken);
    let mut cproc = spawn(cdir.path());
    let ctoken = setup_token_with(
        &cproc.base,
        cproc.password.as_deref().unwrap(),
        &["read", "write", "admin"],
    )
    .await;
    let county_id = enroll(&h, &hub.base, cdir.path(), "安吉县融媒体中心").await;
    stop(&mut cproc);
    let mut cproc = spawn(cdir.path());
    let c = api(&cproc.base, &ctoken);
    // The hub itself has no provincial level.
    let (s, v) = h
        .post(
            "/api/v1/outlets/tv/chains",
            json!({"slug": "p", "name": "p", "levels": [{"name": "省级审核", "kind": "review",
                "site": {"type": "province"}, "roles": [], "users": [], "allow_self": false,
                "quorum": {"type": "any"}, "deadline_hours": null, "send_back": {"type": "author"}}]}),
        )
        .await;
    assert_eq!((s, v["code"].as_str()), (400, Some("invalid_input")), "{v}");
    provincial_chain(&c).await;

    // Up: the article waits at the provincial level; the hub's queue has it with its body.
    let first = send_up(&c, "县里送省级审核的稿件").await;
    let art = c.get(&format!("/api/v1/articles/{first}")).await;
    assert_eq!(art["status"], "in_review", "{art}");
    let queue = until(
        &h,
        "/api/v1/provincial/reviews?pending=true",
        "the request at the hub",
        |v| v.as_array().is_some_and(|l| l.len() == 1),
    )
    .await;
    assert_eq!(queue[0]["county"], county_id.as_str());
    assert_eq!(queue[0]["county_name"], "安吉县融媒体中心");
    assert_eq!(queue[0]["article"].as_u64(), Some(first));
    assert_eq!(queue[0]["level_name"], "省级审核");
    assert_eq!(queue[0]["round"], 1);
    assert_eq!(county(&h, &county_id).await["pending_reviews"], 1);
    let notes = h.get("/api/v1/notifications").await;
    let n = &notes["items"][0];
    assert_eq!(
        (
            &n["kind"],
            &n["on"]["kind"],
            &n["on"]["id"]["article"],
            &n["excerpt"]
        ),
        (
            &json!("provincial_review"),
            &json!("provincial_review"),
            &json!(first),
            &json!("安吉县融媒体中心")
        ),
        "{notes}"
    );
    let path = format!("/api/v1/provincial/reviews/{county_id}/{first}");
    let one = h.get(&path).await;
    assert_eq!(one["title"], "县里送省级审核的稿件");
    assert!(one["body"].is_string(), "{one}");
    // Nobody at the county may decide at the provincial level.
    let (s, v) = c
        .post(
            &format!("/api/v1/articles/{first}/approve"),
            json!({"revision": 1, "level": 1}),
        )
        .await;
    assert_eq!(s, 403, "{v}");

    // Bad decisions change nothing: a return without a reason, a stale round, a county's
    // reviewer at its own hub (wrong role), an unknown article.
    let decide = format!("{path}/decision");
    let (s, v) = h.post(&decide, json!({"round": 1, "approve": false})).await;
    assert_eq!((s, v["code"].as_str()), (400, Some("invalid_input")), "{v}");
    let (s, v) = h.post(&decide, json!({"round": 2, "approve": true})).await;
    assert_eq!(s, 409, "{v}");
    let (s, v) = c.post(&decide, json!({"round": 1, "approve": true})).await;
    assert_eq!((s, v["code"].as_str()), (409, Some("wrong_role")), "{v}");
    let (s, v) = h
        .post(
            &format!("/api/v1/provincial/reviews/{county_id}/99999/decision"),
            json!({"round": 1, "approve": true}),
        )
        .await;
    assert_eq!(s, 404, "{v}");

    // Approved at the province: the county's chain closes and the article can be published.
    let (s, v) = h
        .post(
            &decide,
            json!({"round": 1, "approve": true, "comment": "同意刊发"}),
        )
        .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["decision"]["approved"], true);
    let (s, v) = h.post(&decide, json!({"round": 1, "approve": true})).await;
    assert_eq!(s, 409, "decided twice: {v}");
    let art = until(
        &c,
        &format!("/api/v1/articles/{first}"),
        "the approval at the county",
        |a| a["status"] == "approved",
    )
    .await;
    let (s, v) = c
        .post(
            &format!("/api/v1/articles/{first}/publish"),
            json!({"revision": art["revision"]}),
        )
        .await;
    assert_eq!(s, 200, "{v}");

    // Returned by the province (while the hub was down when the county sent it up): back to
    // the author with the province's reason; resubmitted, it goes up again as round 2.
    let fed_addr = h.get("/api/v1/federation/status").await["listen"]
        .as_str()
        .unwrap()
        .to_string();
    kill(&mut hub);
    let second = send_up(&c, "需要修改的稿件").await;
    let mut hub = spawn_env(
        hdir.path(),
        &[
            ("RONGMEI_FEDERATION_LISTEN", &fed_addr),
            ("RONGMEI_FEDERATION_ROLE", "hub"),
        ],
    );
    let h = api(&hub.base, &htoken);
    let path = format!("/api/v1/provincial/reviews/{county_id}/{second}");
    until(
        &h,
        "/api/v1/provincial/reviews?pending=true",
        "the second request",
        |v| v.as_array().is_some_and(|l| l.len() == 1),
    )
    .await;
    let (s, v) = h
        .post(
            &format!("{path}/decision"),
            json!({"round": 1, "approve": false, "comment": "数据需要核实"}),
        )
        .await;
    assert_eq!(s, 200, "{v}");
    until(
        &c,
        &format!("/api/v1/articles/{second}"),
        "the return at the county",
        |a| a["status"] == "returned",
    )
    .await;
    let audit = c.get(&format!("/api/v1/articles/{second}/audit")).await;
    assert!(audit.to_string().contains("数据需要核实"), "{audit}");
    let (s, v) = c
        .post(
            &format!("/api/v1/articles/{second}/submit"),
            json!({"revision": 1}),
        )
        .await;
    assert_eq!(s, 200, "{v}");
    let (s, v) = c
        .post(
            &format!("/api/v1/articles/{second}/approve"),
            json!({"revision": 1, "level": 0}),
        )
        .await;
    assert_eq!(s, 200, "{v}");
    let again = until(&h, &path, "round 2 at the hub", |v| v["round"] == 2).await;
    assert!(again["decision"].is_null(), "{again}");
    let all = h.get("/api/v1/provincial/reviews").await;
    assert_eq!(all.as_array().unwrap().len(), 2, "{all}");
    for p in [&mut cproc, &mut hub] {
        stop(p);
    }
    for d in [hdir.path(), cdir.path()] {
        checked_digest(d);
    }
}

/// A county log entry as `send` takes it: (lsn, prev hash, stored bytes).
type Raw = (u64, [u8; 32], Vec<u8>);

/// The items of a county's batch as `send` takes them.
fn items_of(b: &BatchDto) -> Vec<Raw> {
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
async fn holding(h: &Api, id: &str) -> (Value, Vec<(u64, String, u64, u64)>) {
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn duplicated_and_reordered_batches_give_the_same_final_state() {
    rongmei::fed::tls::install_provider();
    let cdir = tempfile::tempdir().unwrap();
    let mut cproc = spawn(cdir.path());
    let ctoken = setup_token_with(
        &cproc.base,
        cproc.password.as_deref().unwrap(),
        &["read", "write", "admin"],
    )
    .await;
    let c = api(&cproc.base, &ctoken);
    for i in 0..6 {
        publish(&c, &format!("第{i}篇公开稿件")).await;
        c.article(&format!("第{i}篇草稿")).await;
    }
    stop(&mut cproc);

    // Two hubs; the county enrolls at both (the test speaks for it with each certificate).
    let (adir, bdir) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let (mut hub_a, ta) = start_hub(adir.path()).await;
    let (mut hub_b, tb) = start_hub(bdir.path()).await;
    let (ha, hb) = (api(&hub_a.base, &ta), api(&hub_b.base, &tb));
    let id = enroll(&ha, &hub_a.base, cdir.path(), "测试县").await;
    let (http_a, base_a) = county_client(cdir.path());
    let pk = pki::dir(cdir.path());
    for f in [HUB_FILE, HUB_KEY, HUB_CRT, HUB_CA_CRT] {
        std::fs::rename(pk.join(f), pk.join(format!("a-{f}"))).unwrap();
    }
    assert_eq!(enroll(&hb, &hub_b.base, cdir.path(), "测试县").await, id);
    let (http_b, base_b) = county_client(cdir.path());

    // The county's shipped entries, cut into three batches.
    let batch = {
        let db = redb::Database::open(cdir.path().join("rongmei.redb")).unwrap();
        rongmei::fed::ship::next_batch(&db, &InstanceId(id.clone()), Lsn(0)).unwrap()
    };
    let items = items_of(&batch);
    assert_eq!(
        items.len(),
        7,
        "the first entry and six publications, no drafts"
    );
    let cuts = [0, 2, 5, items.len()];
    let chunks: Vec<(u64, u64, Vec<&Raw>)> = cuts
        .windows(2)
        .enumerate()
        .map(|(k, w)| {
            let after = if w[0] == 0 { 0 } else { items[w[0] - 1].0 };
            let through = if k == 2 {
                batch.through
            } else {
                items[w[1] - 1].0
            };
            (after, through, items[w[0]..w[1]].iter().collect())
        })
        .collect();

    // Hub B: each batch once, in order.
    for (after, through, its) in &chunks {
        let (s, v) = send(&http_b, &base_b, &id, *after, *through, its).await;
        assert_eq!(s, 200, "{v}");
    }
    // Hub A: duplicated, early and late batches in a shuffled order.
    let early = |k: usize| k == 2;
    for k in [0, 0, 2, 1, 1, 0, 2, 2, 1, 0] {
        let (after, through, its) = &chunks[k];
        let (s, v) = send(&http_a, &base_a, &id, *after, *through, its).await;
        if early(k) && v["code"] == "batch_out_of_order" {
            assert_eq!(s, 409, "{v}");
        } else {
            assert_eq!(s, 200, "batch {k}: {v}");
        }
    }
    let (a, b) = (holding(&ha, &id).await, holding(&hb, &id).await);
    assert_eq!(a, b);
    assert_eq!(a.1.len(), 6);
    assert_eq!(a.0[0].as_u64(), Some(items.last().unwrap().0));
    for p in [&mut hub_a, &mut hub_b] {
        stop(p);
    }
    for d in [adir.path(), bdir.path()] {
        checked_digest(d);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hub_killed_while_applying_batches_ends_with_every_entry_once() {
    rongmei::fed::tls::install_provider();
    let (hdir, cdir) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let (mut hub, htoken) = start_hub(hdir.path()).await;
    let h = api(&hub.base, &htoken);
    let fed_addr = h.get("/api/v1/federation/status").await["listen"]
        .as_str()
        .unwrap()
        .to_string();
    let mut cproc = spawn(cdir.path());
    stop(&mut cproc);
    let id = enroll(&h, &hub.base, cdir.path(), "测试县").await;
    let (http, base) = county_client(cdir.path());
    // A county log of 6,000 shipped entries, sent 500 a batch from the hub's cursor, as a county
    // does, while the hub is killed (SIGKILL) and restarted three times.
    const N: u64 = 6_000;
    let facts: Vec<Fact> = (0..N)
        .map(|_| Fact::InstanceCreated {
            instance_id: InstanceId(id.clone()),
            role: "county".into(),
        })
        .collect();
    let log = log_of(&id, &facts);
    let env = [
        ("RONGMEI_FEDERATION_LISTEN", fed_addr.clone()),
        ("RONGMEI_FEDERATION_ROLE", "hub".to_string()),
    ];
    let dir = hdir.path().to_path_buf();
    let killer = tokio::spawn(async move {
        for ms in [150, 260, 90] {
            tokio::time::sleep(Duration::from_millis(ms)).await;
            kill(&mut hub);
            let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
            hub = spawn_env(&dir, &env);
        }
        hub
    });
    let mut refused = 0;
    for _ in 0..2_000 {
        let cur = match http
            .get(format!("{base}/fed/v1/county/cursor"))
            .send()
            .await
        {
            Ok(r) if r.status().is_success() => r.json::<Value>().await.unwrap_or(Value::Null),
            _ => Value::Null,
        };
        if cur.is_null() && refused < 1_000 {
            refused += 1;
            tokio::time::sleep(Duration::from_millis(20)).await;
            continue;
        }
        let at = cur["through"].as_u64().unwrap_or(0);
        if at == N && killer.is_finished() {
            break;
        }
        let end = (at + 500).min(N);
        let batch: Vec<_> = log[at as usize..end as usize].iter().collect();
        if send_result(&http, &base, &id, at, end, &batch)
            .await
            .is_err()
        {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
    let mut hub = killer.await.unwrap();
    let c = county(&h_of(&hub, &htoken), &id).await;
    assert_eq!(c["lsn"].as_u64(), Some(N), "{c}");
    assert!(c["quarantined"].is_null(), "{c}");
    stop(&mut hub);
    checked_digest(hdir.path());
    // Each county entry is in the hub's log exactly once.
    let (ok, out) = run_offline(
        &["log", "show", "--json", "--limit", "1000000"],
        hdir.path(),
    );
    assert!(ok, "{out}");
    let mut seen = std::collections::HashSet::new();
    for line in out.lines().filter(|l| l.starts_with('{')) {
        let e: Value = serde_json::from_str(line).unwrap();
        if e["fact"]["type"] == "CountyEntry" {
            let lsn = e["fact"]["lsn"].as_u64().unwrap();
            assert!(seen.insert(lsn), "county entry {lsn} applied twice");
        }
    }
    assert_eq!(seen.len() as u64, N);
}

fn h_of(p: &Proc, token: &str) -> Api {
    api(&p.base, token)
}

/// `send` that reports a failed connection instead of panicking (the hub may be dead).
async fn send_result(
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shared_articles_reach_the_other_counties_and_adoptions_count_as_reprints() {
    rongmei::fed::tls::install_provider();
    let hdir = tempfile::tempdir().unwrap();
    let adir = tempfile::tempdir().unwrap();
    let bdir = tempfile::tempdir().unwrap();
    let (mut hub, htoken) = start_hub(hdir.path()).await;
    let h = api(&hub.base, &htoken);
    let mut started = Vec::new();
    for (dir, name) in [
        (adir.path(), "西湖区融媒体中心"),
        (bdir.path(), "安吉县融媒体中心"),
    ] {
        let mut p = spawn(dir);
        let token = setup_token_with(
            &p.base,
            p.password.as_deref().unwrap(),
            &["read", "write", "admin"],
        )
        .await;
        let id = enroll(&h, &hub.base, dir, name).await;
        stop(&mut p);
        started.push((spawn(dir), token, id));
    }
    let (mut bproc, btoken, b_id) = started.pop().unwrap();
    let (mut aproc, atoken, a_id) = started.pop().unwrap();
    let (a, b) = (api(&aproc.base, &atoken), api(&bproc.base, &btoken));

    // The hub shares A's published article; a draft is not something it holds.
    let x = publish(&a, "西湖区发布会实录").await;
    let draft = a.article("西湖草稿").await["id"].as_u64().unwrap();
    hub_has(&h, &a_id, 1).await;
    let (s, v) = h
        .post("/api/v1/shared", json!({"county": a_id, "article": draft}))
        .await;
    assert_eq!(
        (s, v["code"].as_str()),
        (404, Some("article_not_found")),
        "{v}"
    );
    let (s, v) = h
        .post(
            "/api/v1/shared",
            json!({"county": a_id, "article": x, "note": "请各县参考转载"}),
        )
        .await;
    assert_eq!(s, 201, "{v}");
    assert_eq!(v["origin_name"], "西湖区融媒体中心");
    let shared_x = v["id"].as_u64().unwrap();

    // B offers its own published article; a draft cannot be offered.
    let y = publish(&b, "安吉白茶开采").await;
    let bdraft = b.article("安吉草稿").await["id"].as_u64().unwrap();
    let (s, v) = b
        .post(&format!("/api/v1/articles/{bdraft}/offer"), json!({}))
        .await;
    assert_eq!((s, v["code"].as_str()), (400, Some("invalid_input")), "{v}");
    let (s, v) = b
        .post(
            &format!("/api/v1/articles/{y}/offer"),
            json!({"note": "春茶专题"}),
        )
        .await;
    assert_eq!(s, 200, "{v}");

    // Each county's pool has the other's article, never its own.
    let pool_b = until(&b, "/api/v1/pool", "B's pool", |v| {
        v.as_array().is_some_and(|l| !l.is_empty())
    })
    .await;
    assert_eq!(pool_b.as_array().unwrap().len(), 1, "{pool_b}");
    assert_eq!(pool_b[0]["title"], "西湖区发布会实录");
    assert_eq!(pool_b[0]["note"], "请各县参考转载");
    let pool_a = until(&a, "/api/v1/pool", "A's pool", |v| {
        v.as_array().is_some_and(|l| !l.is_empty())
    })
    .await;
    assert_eq!(pool_a.as_array().unwrap().len(), 1, "{pool_a}");
    assert_eq!(pool_a[0]["title"], "安吉白茶开采");
    assert_eq!(pool_a[0]["origin"], b_id.as_str());
    assert_eq!(pool_a[0]["note"], "春茶专题");

    // B adopts X: a draft of its own, the origin in its byline; the hub counts the reprint.
    let (s, v) = b
        .post(
            &format!("/api/v1/pool/{shared_x}/adopt"),
            json!({"outlet": "nowhere"}),
        )
        .await;
    assert_eq!(
        (s, v["code"].as_str()),
        (404, Some("outlet_not_found")),
        "{v}"
    );
    let (s, v) = b
        .post("/api/v1/pool/99999/adopt", json!({"outlet": "tv"}))
        .await;
    assert_eq!(
        (s, v["code"].as_str()),
        (404, Some("shared_not_found")),
        "{v}"
    );
    let (s, v) = b
        .post(
            &format!("/api/v1/pool/{shared_x}/adopt"),
            json!({"outlet": "tv"}),
        )
        .await;
    assert_eq!(s, 201, "{v}");
    let adopted = v["article"].as_u64().unwrap();
    let art = b.get(&format!("/api/v1/articles/{adopted}")).await;
    assert_eq!(art["title"], "西湖区发布会实录");
    assert_eq!(art["status"], "draft");
    assert!(
        art["byline"]
            .as_str()
            .unwrap()
            .starts_with("转自西湖区融媒体中心"),
        "{art}"
    );
    let pool_b = b.get("/api/v1/pool").await;
    assert_eq!(pool_b[0]["adoptions"][0]["article"].as_u64(), Some(adopted));
    let list = until(&h, "/api/v1/shared", "the reprint at the hub", |v| {
        v.as_array().is_some_and(|l| {
            l.iter().any(|i| {
                i["id"].as_u64() == Some(shared_x) && !i["adoptions"].as_array().unwrap().is_empty()
            })
        })
    })
    .await;
    let item = list
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["id"].as_u64() == Some(shared_x))
        .unwrap();
    assert_eq!(item["adoptions"][0]["county"], "安吉县融媒体中心");
    assert_eq!(item["adoptions"][0]["article"].as_u64(), Some(adopted));
    assert_eq!(list.as_array().unwrap().len(), 2, "{list}");

    // A retracts X: the pool item is withdrawn with it, B can no longer adopt it, and the
    // author of B's adopted draft is told.
    let (s, v) = a
        .post(
            &format!("/api/v1/articles/{x}/retract"),
            json!({"comment": "数据有误"}),
        )
        .await;
    assert_eq!(s, 200, "{v}");
    let pool_b = until(&b, "/api/v1/pool", "the withdrawal at B", |v| {
        v[0]["withdraw_reason"].is_string()
    })
    .await;
    assert_eq!(pool_b[0]["withdraw_reason"], "原稿已撤稿：数据有误");
    assert_eq!(pool_b[0]["withdrawn_by"], "西湖区融媒体中心");
    let (s, v) = b
        .post(
            &format!("/api/v1/pool/{shared_x}/adopt"),
            json!({"outlet": "tv"}),
        )
        .await;
    assert_eq!(
        (s, v["code"].as_str()),
        (409, Some("invalid_transition")),
        "{v}"
    );
    let notes = b.get("/api/v1/notifications").await;
    let n = &notes["items"][0];
    assert_eq!(
        (&n["kind"], &n["on"]["id"], &n["excerpt"]),
        (
            &json!("shared_withdrawn"),
            &json!(adopted),
            &json!("原稿已撤稿：数据有误")
        ),
        "{notes}"
    );

    // The hub takes B's offered article back by hand, with a reason, once.
    let y_item = h.get("/api/v1/shared").await[0]["id"].as_u64().unwrap();
    let path = format!("/api/v1/shared/{y_item}/withdraw");
    let (s, v) = h.post(&path, json!({"reason": " "})).await;
    assert_eq!((s, v["code"].as_str()), (400, Some("invalid_input")), "{v}");
    let (s, v) = h.post(&path, json!({"reason": "版权待确认"})).await;
    assert_eq!(
        (s, v["withdraw_reason"].as_str()),
        (200, Some("版权待确认")),
        "{v}"
    );
    let (s, v) = h.post(&path, json!({"reason": "again"})).await;
    assert_eq!(
        (s, v["code"].as_str()),
        (409, Some("invalid_transition")),
        "{v}"
    );
    until(&a, "/api/v1/pool", "the withdrawal at A", |v| {
        v[0]["withdraw_reason"] == "版权待确认"
    })
    .await;
    for p in [&mut aproc, &mut bproc, &mut hub] {
        stop(p);
    }
    for d in [hdir.path(), adir.path(), bdir.path()] {
        checked_digest(d);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn provincial_word_lists_take_effect_in_every_county_and_stay_the_provinces() {
    rongmei::fed::tls::install_provider();
    let (hdir, cdir) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let (mut hub, htoken) = start_hub(hdir.path()).await;
    let h = api(&hub.base, &htoken);
    // A provincial list made before the county enrolls: the county gets it when it joins.
    let (s, l) = h
        .post(
            "/api/v1/lexicons",
            json!({"kind": "screen", "name": "省级禁用词", "category": "political", "provincial": true}),
        )
        .await;
    assert_eq!(s, 201, "{l}");
    assert_eq!(l["provincial"], true);
    let lid = l["id"].as_u64().unwrap();
    let (s, l) = h
        .post(
            &format!("/api/v1/lexicons/{lid}/entries"),
            json!({"base_revision": 1, "set": [{"text": "违禁测试词", "severity": "block"}]}),
        )
        .await;
    assert_eq!(s, 200, "{l}");

    let mut cproc = spawn(cdir.path());
    let ctoken = setup_token_with(
        &cproc.base,
        cproc.password.as_deref().unwrap(),
        &["read", "write", "admin"],
    )
    .await;
    // Only a hub pushes lists.
    let c = api(&cproc.base, &ctoken);
    let (s, v) = c
        .post(
            "/api/v1/lexicons",
            json!({"kind": "screen", "name": "x", "category": "other", "provincial": true}),
        )
        .await;
    assert_eq!((s, v["code"].as_str()), (400, Some("invalid_input")), "{v}");
    enroll(&h, &hub.base, cdir.path(), "安吉县融媒体中心").await;
    stop(&mut cproc);
    let mut cproc = spawn(cdir.path());
    let c = api(&cproc.base, &ctoken);
    let copy_of = |v: &Value| {
        v.as_array()
            .and_then(|l| l.iter().find(|x| x["name"] == "省级禁用词").cloned())
    };
    let lists = until(
        &c,
        "/api/v1/lexicons",
        "the provincial list at the county",
        |v| copy_of(v).is_some_and(|x| x["entries"] == 1),
    )
    .await;
    let copy = copy_of(&lists).unwrap();
    assert_eq!(copy["from_province"], true);
    let cid = copy["id"].as_u64().unwrap();

    // It takes effect: the county's screening finds the term.
    let a = c
        .post(
            "/api/v1/articles",
            json!({"outlet": "tv", "title": "一篇含有违禁测试词的稿件"}),
        )
        .await;
    assert_eq!(a.0, 201, "{}", a.1);
    let sc = c
        .get(&format!("/api/v1/articles/{}/screening", a.1["id"]))
        .await;
    assert!(
        sc["findings"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["matched"] == "违禁测试词" && f["severity"] == "block"),
        "{sc}"
    );
    // The county cannot change, delete or switch off the province's list.
    let rev = copy["revision"].as_u64().unwrap();
    let (s, v) = c
        .post(
            &format!("/api/v1/lexicons/{cid}/entries"),
            json!({"base_revision": rev, "remove": ["违禁测试词"]}),
        )
        .await;
    assert_eq!(
        (s, v["code"].as_str()),
        (409, Some("invalid_transition")),
        "{v}"
    );
    let (s, v) = c
        .send(
            reqwest::Method::DELETE,
            &format!("/api/v1/lexicons/{cid}?revision={rev}"),
            None,
        )
        .await;
    assert_eq!(s, 409, "{v}");
    let (s, v) = c
        .send(
            reqwest::Method::PUT,
            &format!("/api/v1/lexicons/{cid}/outlets/tv"),
            Some(json!({"enabled": false})),
        )
        .await;
    assert_eq!(s, 409, "{v}");

    // The hub changes the list: the county follows; the hub stops pushing it: the copy goes.
    let (s, v) = h
        .post(
            &format!("/api/v1/lexicons/{lid}/entries"),
            json!({"base_revision": 2, "remove": ["违禁测试词"], "set": [{"text": "另一个词", "severity": "review"}]}),
        )
        .await;
    assert_eq!(s, 200, "{v}");
    let path = format!("/api/v1/lexicons/{cid}/entries");
    until(&c, &path, "the changed entries at the county", |v| {
        v["entries"]
            .as_array()
            .is_some_and(|l| l.len() == 1 && l[0]["text"] == "另一个词")
    })
    .await;
    let (s, v) = h
        .send(
            reqwest::Method::PUT,
            &format!("/api/v1/lexicons/{lid}"),
            Some(json!({"base_revision": 3, "name": "省级禁用词", "category": "political", "provincial": false})),
        )
        .await;
    assert_eq!(s, 200, "{v}");
    until(&c, "/api/v1/lexicons", "the copy removed", |v| {
        copy_of(v).is_none()
    })
    .await;
    stop(&mut cproc);
    stop(&mut hub);
    for d in [hdir.path(), cdir.path()] {
        checked_digest(d);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_county_renews_its_certificate_over_its_connection_and_keeps_shipping() {
    rongmei::fed::tls::install_provider();
    let (hdir, cdir) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let (mut hub, htoken) = start_hub(hdir.path()).await;
    let h = api(&hub.base, &htoken);
    let mut cproc = spawn(cdir.path());
    let ctoken = setup_token_with(
        &cproc.base,
        cproc.password.as_deref().unwrap(),
        &["read", "write", "admin"],
    )
    .await;
    let id = enroll(&h, &hub.base, cdir.path(), "安吉县融媒体中心").await;
    stop(&mut cproc);
    let first = county(&h, &id).await;
    let old_fp = first["fingerprint"].as_str().unwrap().to_string();
    // Keep the first certificate: it must still open connections after the renewal.
    let old = tempfile::tempdir().unwrap();
    let pk = pki::dir(cdir.path());
    let old_pki = pki::dir(old.path());
    std::fs::create_dir_all(&old_pki).unwrap();
    for f in [HUB_FILE, HUB_KEY, HUB_CRT, HUB_CA_CRT] {
        std::fs::copy(pk.join(f), old_pki.join(f)).unwrap();
    }

    // Due at once (renew 400 days before expiry; certificates last 397): it renews on its first connection.
    let mut cproc = spawn_env(
        cdir.path(),
        &[("RONGMEI_FEDERATION_RENEW_BEFORE_DAYS", "400")],
    );
    let c = api(&cproc.base, &ctoken);
    let st = until(&c, "/api/v1/federation/status", "the renewal", |s| {
        s["hub"]["renewals"].as_u64().is_some_and(|n| n >= 1)
    })
    .await;
    let row = county(&h, &id).await;
    let new_fp = row["fingerprint"].as_str().unwrap().to_string();
    assert_ne!(new_fp, old_fp, "{row}");
    let on_disk = pki::fingerprint(
        &pki::pem_to_der(&std::fs::read_to_string(pk.join(HUB_CRT)).unwrap()).unwrap(),
    );
    assert_eq!(on_disk, new_fp, "the county uses what the hub recorded");
    assert!(st["hub"]["cert_not_after"].as_i64().is_some(), "{st}");
    // The old certificate is still accepted (until it expires): nothing is dropped.
    let (http, base) = county_client(old.path());
    let r = http
        .get(format!("{base}/fed/v1/county/cursor"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    // Shipping goes on, now and after a restart with the new certificate.
    publish(&c, "续期之后的稿件").await;
    hub_has(&h, &id, 1).await;
    stop(&mut cproc);
    let mut cproc = spawn(cdir.path());
    let c = api(&cproc.base, &ctoken);
    publish(&c, "重启之后的稿件").await;
    hub_has(&h, &id, 2).await;
    let st = c.get("/api/v1/federation/status").await;
    assert_eq!(st["hub"]["renewals"], 0, "not due again: {st}");
    stop(&mut cproc);
    stop(&mut hub);
    checked_digest(hdir.path());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hubs_replica_promoted_is_a_hub() {
    rongmei::fed::tls::install_provider();
    let (hdir, rdir) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let (mut hub, htoken) = start_hub(hdir.path()).await;
    let h = api(&hub.base, &htoken);
    crate::replica::pair(&h, rdir.path()).await;
    let mut rproc = spawn(rdir.path());
    let head = h.get("/api/v1/instance").await["log_head"]
        .as_u64()
        .unwrap();
    crate::replica::caught_up(&api(&rproc.base, &htoken), head).await;
    stop(&mut rproc);
    stop(&mut hub);
    let (ok, out) = run_offline(&["promote"], rdir.path());
    assert!(ok, "{out}");
    // It starts as a hub (a hub's configuration), and says so.
    let mut promoted = spawn_env(rdir.path(), &HUB_ENV);
    let st = api(&promoted.base, &htoken)
        .get("/api/v1/federation/status")
        .await;
    assert_eq!(st["instance_role"], "hub", "{st}");
    stop(&mut promoted);
}
