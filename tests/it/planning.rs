//! Topic planning (选题) through the API: propose, decide, assign, write, board moves with their
//! permissions, merge duplicates, calendar, isolation between outlets, and `check` afterwards.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::harness::*;

const DAY: i64 = 86_400_000;

fn day(n: i64) -> String {
    rongmei::clock::rfc3339(T0 + n * DAY)
}

async fn mv(c: &Client, t: &Value, m: &str, comment: &str) -> (StatusCode, Value) {
    c.post(
        &format!("/api/v1/topics/{}/move", t["id"]),
        json!({"revision": t["revision"], "move": m, "comment": comment}),
    )
    .await
}

fn column<'a>(board: &'a Value, state: &str) -> &'a Value {
    board["columns"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["state"] == state)
        .unwrap()
}

fn ids(col: &Value) -> Vec<u64> {
    col["topics"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["id"].as_u64().unwrap())
        .collect()
}

#[tokio::test]
async fn a_topic_goes_from_proposal_to_done_with_assignments_and_an_article() {
    let (s, admin, tv) = newsroom("tv").await;
    let (rid, pr) = create_user(&admin, "reporter", tv, "reporter").await;
    let (_, pe) = create_user(&admin, "editor", tv, "editor").await;
    let (pid, pp) = create_user(&admin, "photo", tv, "reporter").await;
    let reporter = s.login("reporter", &pr).await;
    let editor = s.login("editor", &pe).await;
    let photo = s.login("photo", &pp).await;

    // Reporters propose; they may not assign people.
    let body = json!({"outlets": ["tv"], "title": "春运首日客流", "angle": "从车站、高速两条线看返乡",
        "channels": ["图文", "短视频"], "deadline": day(3), "publish_at": day(4)});
    let mut with_people = body.clone();
    with_people["assignments"] = json!([{"user": rid, "duty": "reporter"}]);
    assert_err(
        &reporter.post("/api/v1/topics", with_people).await,
        403,
        "forbidden",
    );
    let t = ok(&reporter.post("/api/v1/topics", body.clone()).await);
    assert_eq!(t["state"], "proposed");
    assert_eq!(t["proposed_by_name"], "reporter");
    // The proposer may cancel or edit; only editors approve.
    assert_eq!(t["moves"], json!(["cancel"]));
    assert_err(&mv(&reporter, &t, "approve", "").await, 403, "forbidden");
    // Rejecting needs a reason; a move the table lacks is 409.
    assert_err(&mv(&editor, &t, "reject", " ").await, 400, "invalid_input");
    assert_err(
        &mv(&editor, &t, "complete", "").await,
        409,
        "invalid_transition",
    );
    let t = ok(&mv(&editor, &t, "approve", "好选题").await);
    assert_eq!(t["state"], "approved");
    // A stale revision is refused.
    assert_err(
        &editor
            .put(
                &format!("/api/v1/topics/{}", t["id"]),
                json!({"revision": 1, "outlets": ["tv"], "title": "x"}),
            )
            .await,
        409,
        "revision_conflict",
    );
    // The editor assigns a reporter and a photographer with deadlines.
    let mut edit = body.clone();
    edit["revision"] = t["revision"].clone();
    edit["assignments"] = json!([
        {"user": rid, "duty": "reporter", "deadline": day(2)},
        {"user": pid, "duty": "photo", "deadline": day(2), "note": "车站候车厅"}
    ]);
    let t = ok(&editor
        .put(&format!("/api/v1/topics/{}", t["id"]), edit.clone())
        .await);
    assert_eq!(t["assignments"][1]["name"], "photo");
    // Assigning someone outside the topic's outlets is refused.
    let radio = create_outlet(&admin, "radio").await;
    let (outsider, _) = create_user(&admin, "outsider", radio, "reporter").await;
    let mut bad = edit.clone();
    bad["revision"] = t["revision"].clone();
    bad["assignments"] = json!([{"user": outsider, "duty": "video"}]);
    assert_err(
        &editor
            .put(&format!("/api/v1/topics/{}", t["id"]), bad)
            .await,
        400,
        "invalid_input",
    );
    // The assigned photographer was notified.
    let (_, inbox) = photo.get("/api/v1/notifications").await;
    assert_eq!(inbox["unread"], 1, "{inbox}");
    assert_eq!(inbox["items"][0]["kind"], "assigned");
    assert_eq!(
        inbox["items"][0]["on"],
        json!({"kind": "topic", "id": t["id"]})
    );

    // An assignee starts writing: a draft linked to the topic.
    let (st, art) = reporter
        .post(&format!("/api/v1/topics/{}/write", t["id"]), json!({}))
        .await;
    assert_eq!(st, StatusCode::CREATED, "{art}");
    assert_eq!(art["title"], "春运首日客流");
    let detail = ok(&reporter.get(&format!("/api/v1/topics/{}", t["id"])).await);
    assert_eq!(detail["topic"]["articles"], json!([art["id"]]));
    assert_eq!(detail["articles"][0]["id"], art["id"]);
    let t = detail["topic"].clone();
    // An assignee may start and complete; not approve.
    assert_eq!(t["moves"], json!(["start"]));
    let t = ok(&mv(&reporter, &t, "start", "").await);
    assert_eq!(t["state"], "in_progress");

    // The board: one card in "in_progress", with the caller's moves.
    let board = ok(&reporter.get("/api/v1/topics/board").await);
    assert_eq!(
        ids(column(&board, "in_progress")),
        vec![t["id"].as_u64().unwrap()]
    );
    assert_eq!(column(&board, "in_progress")["count"], 1);
    assert_eq!(column(&board, "proposed")["count"], 0);
    assert_eq!(
        column(&board, "in_progress")["topics"][0]["moves"],
        json!(["complete"])
    );

    // The calendar shows the deadline, the assignment deadline and the planned publication.
    let cal = ok(&editor
        .get(&format!(
            "/api/v1/topics/calendar?from={}&to={}",
            urlencode(&day(0)),
            urlencode(&day(7))
        ))
        .await);
    let kinds: Vec<&str> = cal["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, vec!["assignment", "deadline", "publish"], "{cal}");
    assert_eq!(cal["items"][0]["people"], json!(["reporter", "photo"]));
    assert_err(
        &editor
            .get("/api/v1/topics/calendar?from=2026-01-01&to=2026-06-01")
            .await,
        400,
        "invalid_query",
    );
    // Overdue once the clock passes the deadline.
    s.clock.advance_ms(3 * DAY + 1);
    let reporter = s.login("reporter", &pr).await;
    let editor = s.login("editor", &pe).await;
    let t = ok(&reporter.get(&format!("/api/v1/topics/{}", t["id"])).await)["topic"].clone();
    assert_eq!(t["overdue"], true);
    assert_eq!(t["assignments"][0]["overdue"], true);
    let t = ok(&mv(&reporter, &t, "complete", "").await);
    assert_eq!(t["state"], "done");
    // Done topics leave the calendar.
    let cal = ok(&editor
        .get(&format!(
            "/api/v1/topics/calendar?from={}&to={}",
            urlencode(&day(0)),
            urlencode(&day(7))
        ))
        .await);
    assert_eq!(cal["items"], json!([]));

    // The topic's audit trail tells the story.
    let (_, audit) = editor
        .get(&format!("/api/v1/topics/{}/audit", t["id"]))
        .await;
    let kinds: Vec<&str> = audit["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["kind"].as_str().unwrap())
        .collect();
    assert_eq!(
        kinds,
        vec![
            "TopicMoved",
            "TopicMoved",
            "TopicUpdated",
            "TopicUpdated",
            "TopicMoved",
            "TopicProposed"
        ]
    );
    assert_eq!(audit["rows"][4]["from"], "proposed");
    assert_eq!(audit["rows"][4]["to"], "approved");
    assert_eq!(audit["rows"][4]["comment"], "好选题");
    let dir = s.stop().await;
    let (ok, out) = run_check(dir.path());
    assert!(ok, "{out}");
}

#[tokio::test]
async fn duplicates_merge_into_one_topic_and_outlets_stay_apart() {
    let (s, admin, tv) = newsroom("tv").await;
    let radio = create_outlet(&admin, "radio").await;
    let (_, pa) = create_user(&admin, "zhang", tv, "reporter").await;
    let (b, pb) = create_user(&admin, "wang", tv, "reporter").await;
    let (_, pe) = create_user(&admin, "editor", tv, "editor").await;
    let (_, pr) = create_user(&admin, "li", radio, "editor").await;
    let zhang = s.login("zhang", &pa).await;
    let wang = s.login("wang", &pb).await;
    let editor = s.login("editor", &pe).await;
    let li = s.login("li", &pr).await;

    let t1 = ok(&zhang
        .post(
            "/api/v1/topics",
            json!({"outlets": ["tv"], "title": "暴雨后的农田抢排", "deadline": day(2)}),
        )
        .await);
    let t2 = ok(&wang
        .post(
            "/api/v1/topics",
            json!({"outlets": ["tv"], "title": "农田抢排（重复）", "deadline": day(1)}),
        )
        .await);
    // The board sorts by deadline.
    let board = ok(&editor.get("/api/v1/topics/board").await);
    assert_eq!(
        ids(column(&board, "proposed")),
        vec![t2["id"].as_u64().unwrap(), t1["id"].as_u64().unwrap()]
    );
    // Another outlet sees nothing of it.
    let other = ok(&li.get("/api/v1/topics/board").await);
    assert_eq!(column(&other, "proposed")["count"], 0);
    assert_err(
        &li.get(&format!("/api/v1/topics/{}", t1["id"])).await,
        404,
        "topic_not_found",
    );
    assert_err(
        &li.post(
            &format!("/api/v1/topics/{}/comments", t1["id"]),
            json!({"body": "?"}),
        )
        .await,
        404,
        "topic_not_found",
    );
    // A reporter may not list another outlet as a topic's outlet.
    assert_err(
        &zhang
            .post(
                "/api/v1/topics",
                json!({"outlets": ["tv", "radio"], "title": "联合报道"}),
            )
            .await,
        400,
        "invalid_input",
    );

    // Assign wang on the duplicate, link an article, then merge it into t1.
    let art = create_article(&wang, "tv", "抢排现场").await;
    let e = json!({"revision": t2["revision"], "outlets": ["tv"], "title": "农田抢排（重复）",
        "assignments": [{"user": b, "duty": "video"}]});
    let t2 = ok(&editor
        .put(&format!("/api/v1/topics/{}", t2["id"]), e.clone())
        .await);
    let t2 = ok(&mv(&editor, &t2, "approve", "").await);
    let t2 = ok(&wang
        .post(
            &format!("/api/v1/topics/{}/articles", t2["id"]),
            json!({"article": art["id"]}),
        )
        .await);
    assert_eq!(t2["articles"], json!([art["id"]]));
    // An article belongs to one topic at a time.
    let t1 = ok(&mv(&editor, &t1, "approve", "").await);
    assert_err(
        &editor
            .post(
                &format!("/api/v1/topics/{}/articles", t1["id"]),
                json!({"article": art["id"]}),
            )
            .await,
        409,
        "invalid_transition",
    );
    assert_err(
        &zhang
            .post(
                &format!("/api/v1/topics/{}/merge", t2["id"]),
                json!({"revision": t2["revision"], "into": t1["id"]}),
            )
            .await,
        403,
        "forbidden",
    );
    assert_err(
        &editor
            .post(
                &format!("/api/v1/topics/{}/merge", t2["id"]),
                json!({"revision": t2["revision"], "into": t2["id"]}),
            )
            .await,
        400,
        "invalid_input",
    );
    let merged = ok(&editor
        .post(
            &format!("/api/v1/topics/{}/merge", t2["id"]),
            json!({"revision": t2["revision"], "into": t1["id"], "comment": "重复选题"}),
        )
        .await);
    assert_eq!(merged["id"], t1["id"]);
    assert_eq!(merged["articles"], json!([art["id"]]));
    assert_eq!(merged["assignments"][0]["user"], b);
    assert_eq!(merged["merged_from"], json!([t2["id"]]));
    let (_, src) = editor.get(&format!("/api/v1/topics/{}", t2["id"])).await;
    assert_eq!(src["topic"]["state"], "merged");
    assert_eq!(src["topic"]["merged_into"], t1["id"]);
    assert_eq!(src["topic"]["moves"], json!([]));
    // Merged topics are not on the board; the article now links to the target.
    let board = ok(&editor.get("/api/v1/topics/board").await);
    assert_eq!(
        ids(column(&board, "approved")),
        vec![t1["id"].as_u64().unwrap()]
    );
    assert!(
        board["columns"]
            .as_array()
            .unwrap()
            .iter()
            .all(|c| !ids(c).contains(&t2["id"].as_u64().unwrap()))
    );
    // The duplicate's proposer heard about it.
    let (_, inbox) = wang.get("/api/v1/notifications").await;
    assert!(
        inbox["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|n| n["kind"] == "topic_moved" && n["state"] == "merged"),
        "{inbox}"
    );
    // Column pages continue where the board stopped.
    for i in 0..5 {
        ok(&zhang
            .post(
                "/api/v1/topics",
                json!({"outlets": ["tv"], "title": format!("选题 {i}"), "deadline": day(10 + i)}),
            )
            .await);
    }
    let p1 = ok(&editor.get("/api/v1/topics?state=proposed&limit=2").await);
    assert_eq!(p1["count"], 5);
    let p2 = ok(&editor
        .get(&format!(
            "/api/v1/topics?state=proposed&limit=2&after={}",
            p1["next"].as_str().unwrap()
        ))
        .await);
    let p3 = ok(&editor
        .get(&format!(
            "/api/v1/topics?state=proposed&limit=2&after={}",
            p2["next"].as_str().unwrap()
        ))
        .await);
    let all: Vec<u64> = [ids(&p1), ids(&p2), ids(&p3)].concat();
    assert_eq!(all.len(), 5);
    let mut sorted = all.clone();
    sorted.sort();
    assert_eq!(all, sorted, "deadlines were given in id order");
    assert_err(
        &editor.get("/api/v1/topics?state=nope").await,
        400,
        "invalid_query",
    );
    assert_err(
        &editor.get("/api/v1/topics?state=proposed&after=x").await,
        400,
        "invalid_query",
    );
    let dir = s.stop().await;
    let (ok, out) = run_check(dir.path());
    assert!(ok, "{out}");
}
