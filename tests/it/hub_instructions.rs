//! Reporting instructions and provincial word lists, hub → county, with real binaries on
//! loopback: an instruction reaches the counties of its target (also across a partition and a
//! hub outage), they acknowledge and answer it, the hub follows each county, moves its deadline
//! or calls it off; a provincial word list takes effect in every county and stays the
//! province's.

use serde_json::{Value, json};

use crate::crash::{spawn, spawn_env, stop};
use crate::harness::checked_digest;
use crate::hub_support::*;
use crate::replica::{api, kill};

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
    let Province {
        hdir,
        adir,
        bdir,
        mut hub,
        htoken,
        h,
        a: (mut aproc, atoken, a_id),
        b: (mut bproc, btoken, b_id),
    } = province(
        ("西湖区融媒体中心", "330106", &[]),
        ("瑶海区融媒体中心", "340102", &[]),
    )
    .await;
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

    let (mut cproc, ctoken) = first_start(cdir.path()).await;
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
