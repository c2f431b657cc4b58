//! Working together on an article: comments with @mentions and text anchors, the notifications
//! inbox with its live event stream, and edit locks with heartbeat, expiry and recorded takeover.

use std::time::Duration;

use futures_util::StreamExt;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::harness::*;

struct Team {
    s: TestServer,
    reporter: Client,
    editor: Client,
    other: Client,
    article: u64,
}

async fn team() -> Team {
    let (s, admin, tv) = newsroom("tv").await;
    let radio = create_outlet(&admin, "radio").await;
    let (_, pr) = create_user(&admin, "zhang.san", tv, "reporter").await;
    let (_, pe) = create_user(&admin, "li-si", tv, "editor").await;
    let (_, po) = create_user(&admin, "wang", radio, "editor").await;
    let reporter = s.login("zhang.san", &pr).await;
    let editor = s.login("li-si", &pe).await;
    let other = s.login("wang", &po).await;
    let a = create_article(&reporter, "tv", "乡村公路通到家门口");
    let article = a.await["id"].as_u64().unwrap();
    Team {
        s,
        reporter,
        editor,
        other,
        article,
    }
}

#[tokio::test]
async fn comments_mention_reply_resolve_and_notify() {
    let t = team().await;
    let path = format!("/api/v1/articles/{}/comments", t.article);
    // An anchored comment by the editor mentioning the reporter, and a stranger from another
    // outlet (who cannot read the article, so is not mentioned).
    let c = ok(&t
        .editor
        .post(
            &path,
            json!({"body": "@zhang.san 这里的数字请核实，@wang 不在本台",
                   "anchor": {"revision": 1, "start": 0, "end": 3, "quote": "第一段"}}),
        )
        .await);
    assert_eq!(c["mentions"].as_array().unwrap().len(), 1);
    assert_eq!(c["mentions"][0]["username"], "zhang.san");
    assert_eq!(c["anchor"]["quote"], "第一段");
    // Bad input: empty body, inverted anchor, a reply to nothing, anchors on topics.
    assert_err(
        &t.editor.post(&path, json!({"body": "  "})).await,
        400,
        "invalid_input",
    );
    assert_err(
        &t.editor
            .post(
                &path,
                json!({"body": "x", "anchor": {"revision": 1, "start": 5, "end": 2, "quote": "a"}}),
            )
            .await,
        400,
        "invalid_input",
    );
    assert_err(
        &t.editor
            .post(&path, json!({"body": "x", "reply_to": 999}))
            .await,
        400,
        "invalid_input",
    );
    assert_err(&t.other.get(&path).await, 404, "article_not_found");
    assert_err(
        &t.other.post(&path, json!({"body": "看看"})).await,
        404,
        "article_not_found",
    );

    // The reporter has one unread mention; the stranger nothing.
    let inbox = ok(&t.reporter.get("/api/v1/notifications").await);
    assert_eq!(inbox["unread"], 1);
    assert_eq!(inbox["items"][0]["kind"], "mention");
    assert_eq!(inbox["items"][0]["actor_name"], "li-si");
    assert_eq!(inbox["items"][0]["title"], "乡村公路通到家门口");
    assert_eq!(ok(&t.other.get("/api/v1/notifications").await)["unread"], 0);

    // The reporter replies: the editor gets a reply notice (not the reporter).
    let r = ok(&t
        .reporter
        .post(
            &path,
            json!({"body": "已核实，改为 3.2 公里", "reply_to": c["id"]}),
        )
        .await);
    let inbox = ok(&t.editor.get("/api/v1/notifications").await);
    assert_eq!(inbox["unread"], 1);
    assert_eq!(inbox["items"][0]["kind"], "reply");
    // Only the author edits; the reporter (the article's author) may resolve.
    assert_err(
        &t.reporter
            .patch(
                &format!("/api/v1/comments/{}", c["id"]),
                json!({"body": "改"}),
            )
            .await,
        403,
        "forbidden",
    );
    let e = ok(&t
        .editor
        .patch(
            &format!("/api/v1/comments/{}", c["id"]),
            json!({"body": "@zhang.san 数字请核实"}),
        )
        .await);
    assert!(e["edited_at"].is_string());
    let res = ok(&t
        .reporter
        .patch(
            &format!("/api/v1/comments/{}", c["id"]),
            json!({"resolved": true}),
        )
        .await);
    assert_eq!(res["resolved"], true);
    assert_eq!(res["resolved_by_name"], "zhang.san");
    let del = ok(&t
        .reporter
        .delete(&format!("/api/v1/comments/{}", r["id"]))
        .await);
    assert_eq!(del["deleted"], true);
    assert_eq!(del["body"], "");
    assert_err(
        &t.reporter
            .patch(
                &format!("/api/v1/comments/{}", r["id"]),
                json!({"resolved": true}),
            )
            .await,
        409,
        "invalid_transition",
    );
    let thread = ok(&t.editor.get(&path).await);
    assert_eq!(thread["comments"].as_array().unwrap().len(), 2);
    // Mark read: one, then all.
    let inbox = ok(&t.reporter.get("/api/v1/notifications").await);
    let first = inbox["items"][0]["lsn"].as_u64().unwrap();
    let m = ok(&t
        .reporter
        .post("/api/v1/notifications/read", json!({"lsns": [first]}))
        .await);
    assert_eq!(m["unread"], 0);
    assert_eq!(m["marked"], 1);
    // Marking again logs nothing new.
    let again = ok(&t
        .reporter
        .post("/api/v1/notifications/read", json!({"up_to": first}))
        .await);
    assert_eq!(again["marked"], 0);
    // The people the editor may mention on this article: members of tv, not radio.
    let people = ok(&t
        .editor
        .get(&format!("/api/v1/articles/{}/mentionable", t.article))
        .await);
    let names: Vec<&str> = people["people"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["username"].as_str().unwrap())
        .collect();
    assert!(
        names.contains(&"zhang.san") && !names.contains(&"wang"),
        "{names:?}"
    );
    let dir = t.s.stop().await;
    let (ok, out) = run_check(dir.path());
    assert!(ok, "{out}");
}

/// Read server-sent events until one named `name` arrives; returns its data.
async fn next_event(
    body: &mut (impl futures_util::Stream<Item = reqwest::Result<bytes::Bytes>> + Unpin),
    buf: &mut String,
    name: &str,
) -> Value {
    loop {
        while let Some(end) = buf.find("\n\n") {
            let block: String = buf.drain(..end + 2).collect();
            let mut ev = "";
            let mut data = String::new();
            for line in block.lines() {
                if let Some(e) = line.strip_prefix("event:") {
                    ev = e.trim();
                } else if let Some(d) = line.strip_prefix("data:") {
                    data.push_str(d.trim());
                }
            }
            if ev == name {
                return serde_json::from_str(&data).unwrap();
            }
        }
        let chunk = tokio::time::timeout(Duration::from_secs(20), body.next())
            .await
            .expect("no event within 20 s")
            .expect("stream ended")
            .unwrap();
        buf.push_str(&String::from_utf8_lossy(&chunk));
    }
}

#[tokio::test]
async fn the_event_stream_pushes_new_notifications_as_they_commit() {
    let t = team().await;
    let resp = t
        .reporter
        .request(reqwest::Method::GET, "/api/v1/notifications/stream")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    assert!(
        resp.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/event-stream")
    );
    let mut body = resp.bytes_stream();
    let mut buf = String::new();
    assert_eq!(next_event(&mut body, &mut buf, "unread").await["unread"], 0);
    ok(&t
        .editor
        .post(
            &format!("/api/v1/articles/{}/comments", t.article),
            json!({"body": "请 @zhang.san 补充采访对象"}),
        )
        .await);
    let n = next_event(&mut body, &mut buf, "notification").await;
    assert_eq!(n["kind"], "mention");
    assert_eq!(n["excerpt"], "请 @zhang.san 补充采访对象");
    assert_eq!(next_event(&mut body, &mut buf, "unread").await["unread"], 1);
    // Without a session there is no stream.
    let anon = t.s.anon();
    let (st, _) = anon.get("/api/v1/notifications/stream").await;
    assert_eq!(st, StatusCode::UNAUTHORIZED);
    drop(body);
    // Shutdown is not held up by open streams.
    let resp2 = t
        .editor
        .request(reqwest::Method::GET, "/api/v1/notifications/stream")
        .send()
        .await
        .unwrap();
    let stop = tokio::time::timeout(Duration::from_secs(20), t.s.stop()).await;
    assert!(stop.is_ok(), "shutdown waited for an event stream");
    drop(resp2);
}

#[tokio::test]
async fn edit_locks_show_the_editor_expire_and_are_taken_over_on_the_record() {
    let t = team().await;
    let lock = format!("/api/v1/articles/{}/lock", t.article);
    let l = ok(&t.reporter.post(&lock, json!({})).await);
    assert_eq!(l["name"], "zhang.san");
    // Heartbeat keeps `since`.
    s_advance(&t.s, 30_000);
    let l2 = ok(&t.reporter.post(&lock, json!({})).await);
    assert_eq!(l2["since"], l["since"]);
    assert_ne!(l2["expires"], l["expires"]);
    // Others see who is editing, cannot take the lock, and cannot save over it.
    let seen = ok(&t.editor.get(&lock).await);
    assert_eq!(seen["lock"]["name"], "zhang.san");
    assert_eq!(seen["mine"], false);
    assert_eq!(seen["can_take"], true);
    assert_err(
        &t.editor.post(&lock, json!({})).await,
        423,
        "article_locked",
    );
    let (_, a) = t
        .editor
        .get(&format!("/api/v1/articles/{}", t.article))
        .await;
    let save = json!({"base_revision": a["revision"], "title": a["title"], "body": "编辑改稿"});
    assert_err(
        &t.editor
            .put(&format!("/api/v1/articles/{}", t.article), save.clone())
            .await,
        423,
        "article_locked",
    );
    assert_err(&t.other.get(&lock).await, 404, "article_not_found");
    // Taking over needs a reason; it is recorded and the holder is told.
    assert_err(
        &t.editor
            .post(&format!("{lock}/take"), json!({"reason": ""}))
            .await,
        400,
        "invalid_input",
    );
    let taken = ok(&t
        .editor
        .post(
            &format!("{lock}/take"),
            json!({"reason": "记者外出，编辑接手改稿"}),
        )
        .await);
    assert_eq!(taken["name"], "li-si");
    assert_err(
        &t.reporter.post(&lock, json!({})).await,
        423,
        "article_locked",
    );
    // A reporter cannot take an editor's lock.
    assert_err(
        &t.reporter
            .post(&format!("{lock}/take"), json!({"reason": "我要改"}))
            .await,
        423,
        "article_locked",
    );
    let inbox = ok(&t.reporter.get("/api/v1/notifications").await);
    assert_eq!(inbox["items"][0]["kind"], "lock_taken");
    assert_eq!(inbox["items"][0]["excerpt"], "记者外出，编辑接手改稿");
    let audit = ok(&t
        .editor
        .get(&format!("/api/v1/articles/{}/audit", t.article))
        .await);
    assert_eq!(audit["rows"][0]["kind"], "EditLockTaken");
    assert_eq!(audit["rows"][0]["comment"], "记者外出，编辑接手改稿");
    ok(&t
        .editor
        .put(&format!("/api/v1/articles/{}", t.article), save)
        .await);
    // Released, or expired without heartbeat: free again.
    let (st, _) = t.editor.delete(&lock).await;
    assert_eq!(st, StatusCode::NO_CONTENT);
    assert_eq!(ok(&t.editor.get(&lock).await)["lock"], Value::Null);
    ok(&t.reporter.post(&lock, json!({})).await);
    s_advance(&t.s, 91_000);
    assert_eq!(ok(&t.editor.get(&lock).await)["lock"], Value::Null);
    ok(&t.editor.post(&lock, json!({})).await);
    t.s.stop().await;
}

fn s_advance(s: &TestServer, ms: i64) {
    s.clock.advance_ms(ms);
}
