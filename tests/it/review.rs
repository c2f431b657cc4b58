//! The editorial lifecycle through the API: three-level review with send-back, publication and
//! a correction; illegal transitions; chain versions; cross-outlet levels; the queue; audit.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::harness::*;

struct Desk {
    s: TestServer,
    admin: Client,
    outlet: u64,
    reporter: Client,
    editor: Client,
    chief: Client,
    chief2: Client,
    ids: [u64; 4],
}

async fn desk() -> Desk {
    let (s, admin, outlet) = newsroom("tv").await;
    let (r, pr) = create_user(&admin, "reporter", outlet, "reporter").await;
    let (e, pe) = create_user(&admin, "editor", outlet, "editor").await;
    let (c, pc) = create_user(&admin, "chief", outlet, "chief_editor").await;
    let (c2, pc2) = create_user(&admin, "chief2", outlet, "chief_editor").await;
    Desk {
        reporter: s.login("reporter", &pr).await,
        editor: s.login("editor", &pe).await,
        chief: s.login("chief", &pc).await,
        chief2: s.login("chief2", &pc2).await,
        s,
        admin,
        outlet,
        ids: [r, e, c, c2],
    }
}

async fn step(c: &Client, id: u64, action: &str, body: Value) -> (StatusCode, Value) {
    c.post(&format!("/api/v1/articles/{id}/{action}"), body)
        .await
}

#[track_caller]
fn ok(r: &(StatusCode, Value)) -> &Value {
    assert_eq!(r.0, StatusCode::OK, "{}", r.1);
    &r.1
}

async fn approve(c: &Client, id: u64, level: u64, rev: u64) -> Value {
    let r = step(c, id, "approve", json!({"level": level, "revision": rev})).await;
    ok(&r).clone()
}

#[tokio::test]
async fn three_levels_with_a_send_back_then_publication_and_a_correction() {
    let d = desk().await;
    let a = create_article(&d.reporter, "tv", "县城新建三座口袋公园").await;
    let id = a["id"].as_u64().unwrap();
    let sub = step(
        &d.reporter,
        id,
        "submit",
        json!({"revision": 1, "comment": "请审"}),
    )
    .await;
    assert_eq!(ok(&sub)["status"], "submitted");

    // The editor's queue has it, at 初审, due in 24 h.
    let (_, q) = d.editor.get("/api/v1/reviews/mine").await;
    assert_eq!(q["total"], 1, "{q}");
    assert_eq!(q["items"][0]["article"]["id"], id);
    assert_eq!(q["items"][0]["level_name"], "初审");
    assert_eq!(q["items"][0]["overdue"], false);
    // The author's queue does not.
    assert_eq!(d.reporter.get("/api/v1/reviews/mine").await.1["total"], 0);

    assert_eq!(approve(&d.editor, id, 0, 1).await["status"], "in_review");
    // 复审 sends back to 初审 (the default chain's rule), with a comment.
    let back = step(
        &d.chief,
        id,
        "return",
        json!({"level": 1, "revision": 1, "comment": "导语再改"}),
    )
    .await;
    assert_eq!(ok(&back)["status"], "in_review");
    let (_, p) = d.editor.get(&format!("/api/v1/articles/{id}/review")).await;
    assert_eq!(p["level"], 0, "{p}");
    assert!(p["actions"].as_array().unwrap().contains(&json!("approve")));
    // The editor fixes the lead while reviewing (an edit in review by the current reviewer).
    let (st, e) = d
        .editor
        .put(
            &format!("/api/v1/articles/{id}"),
            json!({"base_revision": 1, "title": "县城新建三座口袋公园 市民家门口添绿"}),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{e}");
    approve(&d.editor, id, 0, 2).await;
    approve(&d.chief, id, 1, 2).await;
    let done = approve(&d.chief2, id, 2, 2).await;
    assert_eq!(done["status"], "approved");
    let (_, p) = d.chief.get(&format!("/api/v1/articles/{id}/review")).await;
    assert_eq!(p["state"], "approved");
    assert!(
        p["levels"]
            .as_array()
            .unwrap()
            .iter()
            .all(|l| l["state"] == "passed"),
        "{p}"
    );

    let pubd = step(&d.editor, id, "publish", json!({"revision": 2})).await;
    assert_eq!(ok(&pubd)["published_revision"], 2);
    // Search follows lifecycle steps too (the status filter).
    wait_indexed(&d.editor).await;
    let found = search(
        &d.editor,
        &format!("q={}&status=published", urlencode("口袋公园")),
    )
    .await;
    assert_eq!(hit_ids(&found), vec![id], "{found}");

    // Correction: a new revision is reviewed while revision 2 stays live.
    let c = step(
        &d.reporter,
        id,
        "correction",
        json!({"comment": "更正园名"}),
    )
    .await;
    assert_eq!(
        (
            ok(&c)["status"].clone(),
            c.1["revision"].clone(),
            c.1["published_revision"].clone()
        ),
        (json!("draft"), json!(3), json!(2))
    );
    let (st, _) = d
        .reporter
        .put(
            &format!("/api/v1/articles/{id}"),
            json!({"base_revision": 3, "title": "县城新建三座口袋公园（更正）"}),
        )
        .await;
    assert_eq!(st, StatusCode::OK);
    ok(&step(&d.reporter, id, "submit", json!({"revision": 4})).await);
    let (_, live) = d
        .reporter
        .get(&format!("/api/v1/articles/{id}/versions/2"))
        .await;
    assert_eq!(live["title"], "县城新建三座口袋公园 市民家门口添绿");
    approve(&d.editor, id, 0, 4).await;
    approve(&d.chief, id, 1, 4).await;
    approve(&d.chief2, id, 2, 4).await;
    let p2 = step(&d.chief, id, "publish", json!({"revision": 4})).await;
    assert_eq!(
        (
            ok(&p2)["status"].clone(),
            p2.1["published_revision"].clone()
        ),
        (json!("published"), json!(4))
    );

    // Retraction needs a reason and a chief editor.
    assert_err(
        &step(&d.editor, id, "retract", json!({"comment": "x"})).await,
        403,
        "forbidden",
    );
    assert_err(
        &step(&d.chief, id, "retract", json!({})).await,
        400,
        "invalid_input",
    );
    let k = step(&d.chief, id, "retract", json!({"comment": "信息来源有误"})).await;
    assert_eq!(ok(&k)["status"], "retracted");
    assert_eq!(k.1["retraction"]["reason"], "信息来源有误");
    assert_err(
        &step(&d.chief, id, "correction", json!({"comment": "x"})).await,
        409,
        "invalid_transition",
    );

    // The audit trail has every step, with from/to and the comments; CSV too.
    let (_, au) = d
        .reporter
        .get(&format!("/api/v1/articles/{id}/audit?limit=500"))
        .await;
    let kinds: Vec<&str> = au["rows"]
        .as_array()
        .unwrap()
        .iter()
        .rev()
        .map(|r| r["kind"].as_str().unwrap())
        .collect();
    assert_eq!(
        kinds,
        [
            "ArticleCreated",
            "ArticleSubmitted",
            "ReviewApproved",
            "ReviewReturned",
            "ArticleUpdated",
            "ReviewApproved",
            "ReviewApproved",
            "ReviewApproved",
            "ArticlePublished",
            "CorrectionStarted",
            "ArticleUpdated",
            "ArticleSubmitted",
            "ReviewApproved",
            "ReviewApproved",
            "ReviewApproved",
            "ArticlePublished",
            "ArticleRetracted"
        ]
    );
    let ret = au["rows"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["kind"] == "ReviewReturned")
        .unwrap();
    assert_eq!(
        (
            ret["level"].as_str(),
            ret["comment"].as_str(),
            ret["actor_name"].as_str()
        ),
        (Some("复审"), Some("导语再改"), Some("chief"))
    );
    let (_, only) = d
        .reporter
        .get(&format!(
            "/api/v1/articles/{id}/audit?kind=ReviewReturned,ArticleRetracted"
        ))
        .await;
    assert_eq!(only["rows"].as_array().unwrap().len(), 2);
    let resp = d
        .reporter
        .request(
            reqwest::Method::GET,
            &format!("/api/v1/articles/{id}/audit?format=csv"),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(resp.headers()["content-type"], "text/csv; charset=utf-8");
    let csv = resp.text().await.unwrap();
    assert!(csv.starts_with('\u{feff}'));
    assert_eq!(csv.lines().count(), 18, "{csv}");
    assert!(csv.contains("信息来源有误"));
    // Per user: the chief sees what chief did; the reporter may not read the chief's trail.
    let (_, mine) = d
        .chief
        .get(&format!("/api/v1/users/{}/audit", d.ids[2]))
        .await;
    assert!(mine["rows"].as_array().unwrap().len() >= 4);
    assert_err(
        &d.reporter
            .get(&format!("/api/v1/users/{}/audit", d.ids[2]))
            .await,
        403,
        "forbidden",
    );

    let dir = d.s.stop().await;
    let (good, out) = run_check(dir.path());
    assert!(good, "{out}");
}

#[tokio::test]
async fn illegal_steps_get_stable_errors_and_change_nothing() {
    let d = desk().await;
    let a = create_article(&d.editor, "tv", "编辑自己的稿件").await;
    let id = a["id"].as_u64().unwrap();
    assert_err(
        &step(&d.chief, id, "approve", json!({"level": 0, "revision": 1})).await,
        409,
        "invalid_transition",
    );
    assert_err(
        &step(&d.chief, id, "publish", json!({"revision": 1})).await,
        409,
        "invalid_transition",
    );
    assert_err(
        &step(&d.editor, id, "submit", json!({"revision": 9})).await,
        409,
        "revision_conflict",
    );
    assert_err(
        &step(
            &d.editor,
            id,
            "submit",
            json!({"revision": 1, "chain": "nope"}),
        )
        .await,
        404,
        "chain_not_found",
    );
    assert_err(
        &step(&d.editor, id, "submit", json!({})).await,
        400,
        "invalid_input",
    );
    ok(&step(&d.editor, id, "submit", json!({"revision": 1})).await);
    assert_err(
        &step(&d.editor, id, "submit", json!({"revision": 1})).await,
        409,
        "invalid_transition",
    );
    // Nobody approves their own article: the editor wrote it.
    assert_err(
        &step(&d.editor, id, "approve", json!({"level": 0, "revision": 1})).await,
        403,
        "forbidden",
    );
    // Reporters read the outlet's articles but are not on the chain.
    assert_err(
        &step(
            &d.reporter,
            id,
            "approve",
            json!({"level": 0, "revision": 1}),
        )
        .await,
        403,
        "forbidden",
    );
    // A decision names the level it was made on: a stale one is refused.
    assert_err(
        &step(&d.chief, id, "approve", json!({"level": 1, "revision": 1})).await,
        409,
        "review_level_changed",
    );
    assert_err(
        &step(&d.chief, id, "return", json!({"level": 0, "revision": 1})).await,
        400,
        "invalid_input",
    );
    // The author cannot edit in review; withdrawing makes it editable again.
    let (st, e) = d
        .editor
        .put(
            &format!("/api/v1/articles/{id}"),
            json!({"base_revision": 1, "title": "改"}),
        )
        .await;
    assert_err(&(st, e), 409, "invalid_transition");
    assert_eq!(
        ok(&step(&d.editor, id, "withdraw", json!({})).await)["status"],
        "withdrawn"
    );
    let (st, _) = d
        .editor
        .put(
            &format!("/api/v1/articles/{id}"),
            json!({"base_revision": 1, "title": "改"}),
        )
        .await;
    assert_eq!(st, StatusCode::OK);
    let (_, a) = d.editor.get(&format!("/api/v1/articles/{id}")).await;
    assert_eq!(
        (a["revision"].as_u64(), a["status"].as_str()),
        (Some(2), Some("withdrawn"))
    );
    // An unknown field in a step body is an error, not ignored.
    assert_err(
        &step(
            &d.editor,
            id,
            "submit",
            json!({"revision": 2, "level_x": 1}),
        )
        .await,
        400,
        "invalid_json",
    );
    d.s.stop().await;
}

fn level(name: &str, outlet: u64, roles: &[&str], quorum: Value) -> Value {
    json!({"name": name, "kind": "review", "site": {"type": "outlet", "outlet": outlet}, "roles": roles, "users": [],
           "quorum": quorum, "deadline_hours": null, "send_back": {"type": "author"}})
}

#[tokio::test]
async fn chain_edits_never_change_reviews_under_way_and_quorum_counts() {
    let d = desk().await;
    let (_, chains) = d.chief.get("/api/v1/outlets/tv/chains").await;
    let normal = &chains[0];
    assert_eq!(
        (
            normal["slug"].as_str(),
            normal["levels"].as_array().unwrap().len()
        ),
        (Some("normal"), 3)
    );
    let cid = normal["id"].as_u64().unwrap();
    let a = create_article(&d.reporter, "tv", "旧链上的稿件").await;
    let id = a["id"].as_u64().unwrap();
    ok(&step(&d.reporter, id, "submit", json!({"revision": 1})).await);
    // Version 2: one level needing two of the chief editors.
    let v2 = json!({"base_version": 1, "name": "一审", "is_default": true,
                    "levels": [level("会审", d.outlet, &["chief_editor"], json!({"type": "at_least", "k": 2}))]});
    assert_err(
        &d.editor
            .put(&format!("/api/v1/chains/{cid}"), v2.clone())
            .await,
        403,
        "forbidden",
    );
    let (st, c) = d
        .chief
        .put(&format!("/api/v1/chains/{cid}"), v2.clone())
        .await;
    assert_eq!(st, StatusCode::OK, "{c}");
    assert_eq!(c["version"], 2);
    assert_err(
        &d.chief.put(&format!("/api/v1/chains/{cid}"), v2).await,
        409,
        "revision_conflict",
    );
    // The article in review keeps version 1 (three levels).
    let (_, p) = d.editor.get(&format!("/api/v1/articles/{id}/review")).await;
    assert_eq!(
        (
            p["chain"]["version"].as_u64(),
            p["levels"].as_array().unwrap().len()
        ),
        (Some(1), 3)
    );
    // A new submission uses version 2, and needs two distinct approvals.
    let b = create_article(&d.reporter, "tv", "新链上的稿件").await;
    let bid = b["id"].as_u64().unwrap();
    ok(&step(&d.reporter, bid, "submit", json!({"revision": 1})).await);
    assert_eq!(approve(&d.chief, bid, 0, 1).await["status"], "in_review");
    assert_err(
        &step(&d.chief, bid, "approve", json!({"level": 0, "revision": 1})).await,
        409,
        "already_decided",
    );
    assert_eq!(approve(&d.chief2, bid, 0, 1).await["status"], "approved");
    let (_, hist) = d.chief.get(&format!("/api/v1/chains/{cid}/versions")).await;
    assert_eq!(hist.as_array().unwrap().len(), 2);
    // Invalid chains are refused with the reason.
    let bad = json!({"slug": "bad", "name": "x", "levels": [level("a", d.outlet, &[], json!({"type": "any"}))]});
    assert_err(
        &d.chief.post("/api/v1/outlets/tv/chains", bad).await,
        400,
        "invalid_input",
    );
    // A chain nobody can satisfy is refused at submit, naming the level.
    let lone = json!({"slug": "board", "name": "编委会", "levels": [level("编委会", d.outlet, &["admin"], json!({"type": "at_least", "k": 3}))]});
    assert_eq!(
        d.chief.post("/api/v1/outlets/tv/chains", lone).await.0,
        StatusCode::CREATED
    );
    let c2 = create_article(&d.reporter, "tv", "无法满足").await;
    let r = step(
        &d.reporter,
        c2["id"].as_u64().unwrap(),
        "submit",
        json!({"revision": 1, "chain": "board"}),
    )
    .await;
    assert_err(&r, 409, "review_unsatisfiable");
    assert!(r.1["message"].as_str().unwrap().contains("编委会"));
    d.s.stop().await;
}

#[tokio::test]
async fn a_level_of_another_outlet_reviews_and_escalation_switches_chains() {
    let d = desk().await;
    let center = create_outlet(&d.admin, "center").await;
    let (_, pz) = create_user(&d.admin, "zongbian", center, "chief_editor").await;
    let zong = d.s.login("zongbian", &pz).await;
    let other = create_outlet(&d.admin, "radio").await;
    let (_, po) = create_user(&d.admin, "stranger", other, "chief_editor").await;
    let stranger = d.s.login("stranger", &po).await;
    // A "major report" chain: 初审 here, then the center's chief editor.
    let major = json!({"slug": "major", "name": "重大稿件", "levels": [
        level("初审", d.outlet, &["editor"], json!({"type": "any"})),
        level("中心终审", center, &["chief_editor"], json!({"type": "any"})),
    ]});
    let (st, c) = d.chief.post("/api/v1/outlets/tv/chains", major).await;
    assert_eq!(st, StatusCode::CREATED, "{c}");
    let a = create_article(&d.reporter, "tv", "全县防汛工作部署").await;
    let id = a["id"].as_u64().unwrap();
    ok(&step(&d.reporter, id, "submit", json!({"revision": 1})).await);
    // The editor escalates from the normal chain to the major one (a comment is required).
    assert_err(
        &step(
            &d.editor,
            id,
            "escalate",
            json!({"level": 0, "revision": 1, "chain": "major"}),
        )
        .await,
        400,
        "invalid_input",
    );
    let e = step(
        &d.editor,
        id,
        "escalate",
        json!({"level": 0, "revision": 1, "chain": "major", "comment": "涉及防汛，走重大稿件流程"}),
    )
    .await;
    assert_eq!(ok(&e)["status"], "submitted");
    approve(&d.editor, id, 0, 1).await;
    // The center's chief sees it in their queue and can read it; a third outlet cannot.
    let (_, q) = zong.get("/api/v1/reviews/mine").await;
    assert_eq!(q["items"][0]["article"]["id"], id, "{q}");
    assert_eq!(
        zong.get(&format!("/api/v1/articles/{id}")).await.0,
        StatusCode::OK
    );
    assert_err(
        &stranger.get(&format!("/api/v1/articles/{id}")).await,
        404,
        "article_not_found",
    );
    assert_err(
        &step(&stranger, id, "approve", json!({"level": 1, "revision": 1})).await,
        404,
        "article_not_found",
    );
    // Center members cannot edit the county article, only decide on it.
    let (st, _) = zong
        .put(
            &format!("/api/v1/articles/{id}"),
            json!({"base_revision": 1, "title": "改"}),
        )
        .await;
    assert_eq!(st.as_u16(), 409);
    assert_eq!(approve(&zong, id, 1, 1).await["status"], "approved");
    // The decision shows on the county side.
    let (_, p) = d
        .reporter
        .get(&format!("/api/v1/articles/{id}/review"))
        .await;
    assert_eq!(p["chain"]["slug"], "major");
    assert_eq!(p["levels"][1]["approvals"][0]["user"], zong_id(&zong).await);
    d.s.stop().await;
}

async fn zong_id(c: &Client) -> Value {
    c.get("/api/v1/session").await.1["user"]["id"].clone()
}

#[tokio::test]
async fn the_queue_is_sorted_by_deadline_and_flags_overdue_work() {
    let d = desk().await;
    let mut ids = Vec::new();
    for i in 0..3 {
        let a = create_article(&d.reporter, "tv", &format!("稿件{i}")).await;
        let id = a["id"].as_u64().unwrap();
        ok(&step(&d.reporter, id, "submit", json!({"revision": 1})).await);
        ids.push(id);
        d.s.clock.advance_ms(3_600_000);
    }
    d.s.clock.advance_ms(22 * 3_600_000); // the first is now 25 h old: overdue
    let editor = d.s.login("editor", "editor-secret-pass").await; // sessions expired meanwhile
    let (_, q) = editor.get("/api/v1/reviews/mine?limit=2").await;
    let got: Vec<u64> = q["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["article"]["id"].as_u64().unwrap())
        .collect();
    assert_eq!(got, ids[..2]);
    assert_eq!(q["items"][0]["overdue"], true);
    assert_eq!(q["items"][1]["overdue"], false);
    assert_eq!(q["total"], 3);
    let (_, q2) = editor
        .get(&format!(
            "/api/v1/reviews/mine?limit=2&cursor={}",
            q["next_cursor"].as_str().unwrap()
        ))
        .await;
    assert_eq!(q2["items"][0]["article"]["id"], ids[2]);
    assert!(q2["next_cursor"].is_null());
    assert_err(
        &editor.get("/api/v1/reviews/mine?cursor=zz").await,
        400,
        "invalid_query",
    );
    d.s.stop().await;
}
