//! Articles: create, edit, versions, diff, restore, conflicts, listing, import.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::harness::*;

#[tokio::test]
async fn edit_versions_diff_restore_and_conflict() {
    let (s, admin, tv) = newsroom("tv").await;
    let (_, pw) = create_user(&admin, "wangwu", tv, "reporter").await;
    let rep = s.login("wangwu", &pw).await;
    let a = create_article(&rep, "tv", "县城新闻").await;
    let id = a["id"].as_u64().unwrap();
    assert_eq!(a["revision"], 1);
    assert_eq!(a["body"], "<p>第一段</p><p>第二段</p>");

    s.clock.advance_ms(60_000);
    let edit = json!({"base_revision": 1, "title": "县城新闻（更新）", "body": "<p>第一段</p><p>第二段改写</p><script>x()</script>", "tags": ["民生"]});
    let (st, a2) = rep
        .put(&format!("/api/v1/articles/{id}"), edit.clone())
        .await;
    assert_eq!(st, StatusCode::OK, "{a2}");
    assert_eq!(a2["revision"], 2);
    assert!(!a2["body"].as_str().unwrap().contains("script"));

    // A stale edit (still on revision 1) is refused with the current revision.
    let stale = rep.put(&format!("/api/v1/articles/{id}"), edit).await;
    assert_err(&stale, 409, "revision_conflict");
    assert_eq!(stale.1["current_revision"], 2);
    assert_err(
        &rep.put(&format!("/api/v1/articles/{id}"), json!({"title": "x"}))
            .await,
        400,
        "invalid_input",
    );

    let (_, versions) = rep.get(&format!("/api/v1/articles/{id}/versions")).await;
    let v = versions.as_array().unwrap();
    assert_eq!(v.len(), 2);
    assert_eq!(v[0]["title"], "县城新闻");
    let (_, d) = rep
        .get(&format!("/api/v1/articles/{id}/diff?from=1&to=2"))
        .await;
    let lines = d["lines"].as_array().unwrap();
    let has = |op: &str, text: &str| lines.iter().any(|l| l["op"] == op && l["text"] == text);
    assert!(
        has("delete", "第二段") && has("insert", "第二段改写") && has("equal", "第一段"),
        "{d}"
    );
    assert_err(
        &rep.get(&format!("/api/v1/articles/{id}/diff?from=1&to=9"))
            .await,
        404,
        "version_not_found",
    );

    let (st, r) = rep
        .post(
            &format!("/api/v1/articles/{id}/restore"),
            json!({"revision": 1, "base_revision": 2}),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{r}");
    assert_eq!(
        (
            r["revision"].as_u64(),
            r["title"].as_str(),
            r["restored_from"].as_u64()
        ),
        (Some(3), Some("县城新闻"), Some(1))
    );
    assert_err(
        &rep.post(
            &format!("/api/v1/articles/{id}/restore"),
            json!({"revision": 1, "base_revision": 2}),
        )
        .await,
        409,
        "revision_conflict",
    );
    let (_, v1) = rep.get(&format!("/api/v1/articles/{id}/versions/1")).await;
    assert_eq!(v1["title"], "县城新闻");

    assert_err(
        &rep.get("/api/v1/articles/999999").await,
        404,
        "article_not_found",
    );
    assert_err(
        &rep.get("/api/v1/articles/abc").await,
        404,
        "article_not_found",
    );
    let keep = s.stop().await;
    let (ok, out) = run_check(keep.path());
    assert!(ok, "{out}");
}

#[tokio::test]
async fn reporters_edit_only_their_own_work() {
    let (s, admin, tv) = newsroom("tv").await;
    let (_, p1) = create_user(&admin, "rep1", tv, "reporter").await;
    let (_, p2) = create_user(&admin, "rep2", tv, "reporter").await;
    let (_, pe) = create_user(&admin, "ed1", tv, "editor").await;
    let a = create_article(&s.login("rep1", &p1).await, "tv", "一号稿").await;
    let path = format!("/api/v1/articles/{}", a["id"]);
    let body = json!({"base_revision": 1, "title": "改"});
    assert_eq!(
        s.login("rep2", &p2).await.get(&path).await.0,
        StatusCode::OK,
        "colleagues may read"
    );
    assert_err(
        &s.login("rep2", &p2).await.put(&path, body.clone()).await,
        403,
        "forbidden",
    );
    assert_eq!(
        s.login("ed1", &pe).await.put(&path, body).await.0,
        StatusCode::OK,
        "editors may edit anyone's"
    );
    s.stop().await;
}

async fn collect_pages(c: &Client, query: &str) -> Vec<u64> {
    let mut ids = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let q = match &cursor {
            Some(cur) => format!("{query}&cursor={cur}"),
            None => query.to_string(),
        };
        let (st, page) = c.get(&format!("/api/v1/articles?{q}")).await;
        assert_eq!(st, StatusCode::OK, "{page}");
        ids.extend(
            page["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|a| a["id"].as_u64().unwrap()),
        );
        match page["next_cursor"].as_str() {
            Some(n) => cursor = Some(n.to_string()),
            None => return ids,
        }
    }
}

#[tokio::test]
async fn listing_filters_sorts_and_pages_stably() {
    let (s, admin, tv) = newsroom("tv").await;
    create_outlet(&admin, "radio").await;
    let (uid, pw) = create_user(&admin, "zhao", tv, "reporter").await;
    let rep = s.login("zhao", &pw).await;
    let mut ids = Vec::new();
    for i in 0..7 {
        s.clock.advance_ms(1_000);
        let (_, a) = rep.post("/api/v1/articles", json!({"outlet": "tv", "title": format!("稿件{i}"), "tags": if i % 2 == 0 { vec!["偶数"] } else { vec!["奇数"] }})).await;
        ids.push(a["id"].as_u64().unwrap());
    }
    create_article(&admin, "radio", "电台稿").await;
    let newest_first: Vec<u64> = ids.iter().rev().copied().collect();
    assert_eq!(collect_pages(&rep, "limit=3").await, newest_first);
    assert_eq!(collect_pages(&rep, "limit=2&sort=updated_asc").await, ids);
    assert_eq!(
        collect_pages(&rep, "limit=4&sort=created_desc").await,
        newest_first
    );
    assert_eq!(
        collect_pages(&rep, "limit=4&sort=created_asc&outlet=tv").await,
        ids
    );
    let even: Vec<u64> = ids.iter().step_by(2).rev().copied().collect();
    assert_eq!(
        collect_pages(&rep, &format!("limit=2&tag={}", urlencode("偶数"))).await,
        even
    );
    assert_eq!(
        collect_pages(&rep, &format!("limit=50&author={uid}")).await,
        newest_first
    );
    assert_eq!(
        collect_pages(&admin, "limit=50&outlet=radio").await.len(),
        1
    );
    assert_eq!(collect_pages(&admin, "limit=50").await.len(), 8);
    // Updated range: the 3rd..5th articles.
    let from = rongmei::clock::rfc3339(T0 + 3_000);
    let to = rongmei::clock::rfc3339(T0 + 5_000);
    let got = collect_pages(
        &rep,
        &format!(
            "limit=50&updated_from={}&updated_to={}",
            urlencode(&from),
            urlencode(&to)
        ),
    )
    .await;
    assert_eq!(got, vec![ids[4], ids[3], ids[2]]);
    // Editing moves an article to the front of "updated" but not of "created".
    s.clock.advance_ms(1_000);
    rep.put(
        &format!("/api/v1/articles/{}", ids[0]),
        json!({"base_revision": 1, "title": "改"}),
    )
    .await;
    assert_eq!(collect_pages(&rep, "limit=3").await[0], ids[0]);
    assert_eq!(
        collect_pages(&rep, "limit=3&sort=created_desc").await[0],
        ids[6]
    );
    s.stop().await;
}

#[tokio::test]
async fn store_passes_check_after_a_working_session() {
    let (s, admin, _) = newsroom("tv").await;
    let a = create_article(&admin, "tv", "核对").await;
    admin
        .put(
            &format!("/api/v1/articles/{}", a["id"]),
            json!({"base_revision": 1, "title": "核对二"}),
        )
        .await;
    let keep = s.stop().await;
    let (ok, out) = run_check(keep.path());
    assert!(ok, "{out}");
    assert!(out.contains("ok"), "{out}");
}

fn corpus_slice(n: usize) -> (tempfile::NamedTempFile, Vec<Value>) {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../shared/corpus/zh_peoples_daily_199801.jsonl");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "the corpus must be beside the repo at {}: {e}",
            path.display()
        )
    });
    let lines: Vec<&str> = text.lines().take(n).collect();
    let f = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(f.path(), lines.join("\n")).unwrap();
    (
        f,
        lines
            .iter()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect(),
    )
}

#[tokio::test]
async fn import_is_idempotent_and_goes_through_the_log() {
    let s = TestServer::start().await;
    let password = s.admin_password.clone();
    let keep = s.stop().await;
    let dir = keep.path().to_path_buf();
    let (file, items) = corpus_slice(200);
    let run = || {
        std::process::Command::new(binary())
            .args(["import", "articles"])
            .arg(file.path())
            .args(["--outlet", "paper", "--batch", "64", "--data-dir"])
            .arg(&dir)
            .output()
            .unwrap()
    };
    let first = run();
    let out = String::from_utf8_lossy(&first.stdout).to_string();
    assert!(
        first.status.success(),
        "{out}{}",
        String::from_utf8_lossy(&first.stderr)
    );
    assert!(
        out.contains("200 created, 0 already present, 0 rejected"),
        "{out}"
    );
    let again = String::from_utf8_lossy(&run().stdout).to_string();
    assert!(again.contains("0 created, 200 already present"), "{again}");
    let (ok, report) = run_check(&dir);
    assert!(ok, "{report}");

    let s2 = TestServer::start_with(|c| c.data_dir = dir.clone()).await;
    let admin = s2.login("admin", &password).await;
    let (_, page) = admin
        .get("/api/v1/articles?outlet=paper&limit=200&sort=created_asc")
        .await;
    let got = page["items"].as_array().unwrap();
    assert_eq!(got.len(), 200);
    let first_titled = items
        .iter()
        .find(|i| !i["title"].as_str().unwrap_or("").is_empty())
        .unwrap();
    let imported = got
        .iter()
        .find(|a| a["title"] == first_titled["title"])
        .unwrap();
    let (_, full) = admin
        .get(&format!("/api/v1/articles/{}", imported["id"]))
        .await;
    assert_eq!(full["source_id"], first_titled["id"]);
    let date = first_titled["date"].as_str().unwrap();
    assert!(
        full["source_date"].as_str().unwrap().starts_with(date),
        "{} vs {date}",
        full["source_date"]
    );
    let (_, log) = admin.get("/api/v1/log?from=1&limit=1000").await;
    let created = log
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["kind"] == "ArticleCreated")
        .count();
    assert_eq!(created, 200);
    assert!(
        !log.to_string().contains("$argon2id$"),
        "password hashes are redacted from the API"
    );
    s2.stop().await;
}
