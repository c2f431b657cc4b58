//! The provincial hub with real binaries on loopback: a county enrolls with a one-time token and
//! ships what it publishes over mTLS (drafts stay home), exactly once across SIGKILLs of both
//! sides; a revoked county is refused; the hub takes entries only from the county its
//! certificate names, skips replays, refuses a batch that arrives before its predecessor, and
//! quarantines a county whose entries do not fit the history it has.

use std::time::Duration;

use rongmei::domain::fact::Fact;
use rongmei::domain::{InstanceId, Lsn};
use rongmei::fed::pki;
use rongmei::fed::ship::{HUB_CA_CRT, HUB_CRT, HUB_FILE, HUB_KEY};
use serde_json::{Value, json};

use crate::crash::{spawn, spawn_env, stop};
use crate::harness::{checked_digest, run_offline};
use crate::hub_support::*;
use crate::replica::{api, kill, metrics};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_county_ships_what_it_publishes_exactly_once_and_a_revoked_one_is_refused() {
    rongmei::fed::tls::install_provider();
    let hdir = tempfile::tempdir().unwrap();
    let cdir = tempfile::tempdir().unwrap();
    let (mut hub, htoken) = start_hub(hdir.path()).await;
    let h = api(&hub.base, &htoken);
    let (mut cproc, ctoken) = first_start(cdir.path()).await;
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
    let metrics = metrics(&cproc.base).await;
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
    let metrics = metrics(&hub.base).await;
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn duplicated_and_reordered_batches_give_the_same_final_state() {
    rongmei::fed::tls::install_provider();
    let cdir = tempfile::tempdir().unwrap();
    let (mut cproc, ctoken) = first_start(cdir.path()).await;
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_county_renews_its_certificate_over_its_connection_and_keeps_shipping() {
    rongmei::fed::tls::install_provider();
    let (hdir, cdir) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let (mut hub, htoken) = start_hub(hdir.path()).await;
    let h = api(&hub.base, &htoken);
    let (mut cproc, ctoken) = first_start(cdir.path()).await;
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
