//! Screening in the newsroom: word lists managed over the API (import with a report, export,
//! per-outlet switch), findings stored with every save, blocked terms stopping submit and
//! publish until overridden with a reason, review terms acknowledged by the approver, and
//! proofreading suggestions for text being written.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::harness::*;

async fn raw(c: &Client, path: &str, body: Vec<u8>) -> (StatusCode, Value) {
    let resp = c
        .request(Method::POST, path)
        .header("content-type", "text/plain; charset=utf-8")
        .body(body)
        .send()
        .await
        .unwrap();
    let st = resp.status();
    let text = resp.text().await.unwrap();
    (
        st,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

async fn text_of(c: &Client, path: &str) -> (StatusCode, String, String) {
    let resp = c.request(Method::GET, path).send().await.unwrap();
    let st = resp.status();
    let cd = resp
        .headers()
        .get("content-disposition")
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default();
    (st, cd, resp.text().await.unwrap())
}

async fn new_list(admin: &Client, name: &str, kind: &str, category: &str) -> Value {
    let r = admin
        .post(
            "/api/v1/lexicons",
            json!({"name": name, "kind": kind, "category": category, "default_severity": "review"}),
        )
        .await;
    assert_eq!(r.0, StatusCode::CREATED, "{}", r.1);
    r.1
}

async fn import(admin: &Client, id: u64, rev: u64, q: &str, file: &str) -> Value {
    ok(&raw(
        admin,
        &format!("/api/v1/lexicons/{id}/import?{q}&revision={rev}"),
        file.as_bytes().to_vec(),
    )
    .await)
}

#[tokio::test]
async fn lists_import_export_and_switch_per_outlet() {
    let (s, admin, tv) = newsroom("tv").await;
    let radio = create_outlet(&admin, "radio").await;
    let (_, pc) = create_user(&admin, "chief", tv, "chief_editor").await;
    let (_, pr) = create_user(&admin, "reporter", tv, "reporter").await;
    let chief = s.login("chief", &pc).await;
    let reporter = s.login("reporter", &pr).await;

    // A new instance has the built-in proofreading list and nothing to screen with.
    let lists = ok(&admin.get("/api/v1/lexicons").await);
    assert_eq!(lists.as_array().unwrap().len(), 1);
    assert_eq!(lists[0]["kind"], "proof");
    assert!(lists[0]["entries"].as_u64().unwrap() > 100);

    let l = new_list(&admin, "赌博与广告", "screen", "gambling_drugs").await;
    let id = l["id"].as_u64().unwrap();
    let file = "# 测试词表\n博彩网站\tblock\n代开发票\n枪\tblock\n法*轮\n^^\n";
    // The dry run reports and changes nothing.
    let dry = ok(&raw(
        &admin,
        &format!("/api/v1/lexicons/{id}/import?format=txt&mode=merge&dry_run=true"),
        file.as_bytes().to_vec(),
    )
    .await);
    assert_eq!(dry["dry_run"], true);
    assert_eq!(
        dry["report"]["added"],
        json!(["代开发票", "博彩网站", "枪"])
    );
    let rejected: Vec<&str> = dry["report"]["rejected"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["text"].as_str().unwrap())
        .collect();
    assert_eq!(rejected, vec!["法*轮", "^^"]);
    assert_eq!(dry["report"]["adjusted"][0]["text"], "枪");
    assert_eq!(
        ok(&admin.get(&format!("/api/v1/lexicons/{id}")).await)["entries"],
        0
    );

    let done = import(&admin, id, 1, "format=txt&mode=merge", file).await;
    assert_eq!(done["lexicon"]["entries"], 3);
    assert_eq!(done["lexicon"]["revision"], 2);
    // An import made on an old revision is a conflict; nothing changes.
    let stale = raw(
        &admin,
        &format!("/api/v1/lexicons/{id}/import?format=txt&mode=replace&revision=1"),
        b"x".to_vec(),
    )
    .await;
    assert_err(&stale, 409, "revision_conflict");
    // CSV: one changed, one new, the rest kept; then replace keeps only the file.
    let csv = "text,severity,replacement,note\n代开发票,block,,发票类\n赌球,review,,\n";
    let r = import(&admin, id, 2, "format=csv&mode=merge", csv).await;
    assert_eq!(r["report"]["added"], json!(["赌球"]));
    assert_eq!(r["report"]["changed"][0]["text"], "代开发票");
    assert_eq!(r["report"]["changed"][0]["after"]["severity"], "block");
    assert_eq!(r["report"]["unchanged"], 0);
    let r = import(
        &admin,
        id,
        3,
        "format=txt&mode=replace",
        "博彩网站\tblock\n代开发票\tblock\n",
    )
    .await;
    assert_eq!(r["report"]["removed"], json!(["枪", "赌球"]));
    // The txt line has no note: that is a change too.
    assert_eq!(r["report"]["unchanged"], 1);
    assert_eq!(r["report"]["changed"][0]["text"], "代开发票");
    assert_eq!(r["lexicon"]["entries"], 2);

    // Export gives back what is stored, and imports as "nothing changed".
    let (st, cd, body) = text_of(&admin, &format!("/api/v1/lexicons/{id}/export?format=csv")).await;
    assert_eq!(st, StatusCode::OK);
    assert!(cd.contains("attachment") && cd.contains(".csv"), "{cd}");
    assert_eq!(body.lines().count(), 3, "{body}");
    let again = ok(&raw(
        &admin,
        &format!("/api/v1/lexicons/{id}/import?format=csv&mode=replace&dry_run=true"),
        body.into_bytes(),
    )
    .await);
    assert_eq!(again["report"]["unchanged"], 2);
    assert!(again["report"]["added"].as_array().unwrap().is_empty());
    assert!(again["report"]["removed"].as_array().unwrap().is_empty());

    // Entries page with a filter.
    let page = ok(&admin
        .get(&format!(
            "/api/v1/lexicons/{id}/entries?q=%E5%8F%91%E7%A5%A8"
        ))
        .await);
    assert_eq!(page["entries"].as_array().unwrap().len(), 1);
    assert_eq!(page["entries"][0]["text"], "代开发票");

    // Bad input: clear codes, nothing stored changes.
    assert_err(
        &admin
            .post(
                "/api/v1/lexicons",
                json!({"name": "x", "category": "custom"}),
            )
            .await,
        400,
        "invalid_input",
    );
    assert_err(
        &admin
            .post(
                "/api/v1/lexicons",
                json!({"name": "x", "kind": "screen", "category": "Bad Cat"}),
            )
            .await,
        400,
        "invalid_input",
    );
    assert_err(
        &raw(
            &admin,
            &format!("/api/v1/lexicons/{id}/import?format=txt&mode=merge&revision=4"),
            vec![0xff, 0xfe, 0x00],
        )
        .await,
        400,
        "invalid_input",
    );
    assert_err(
        &raw(
            &admin,
            &format!("/api/v1/lexicons/{id}/import?format=xls&mode=merge&revision=4"),
            b"a".to_vec(),
        )
        .await,
        400,
        "invalid_query",
    );
    assert_err(
        &admin
            .post(
                &format!("/api/v1/lexicons/{id}/entries"),
                json!({"base_revision": 4, "set": [{"text": "a*b", "severity": "block"}]}),
            )
            .await,
        400,
        "invalid_input",
    );
    assert_err(
        &admin.get("/api/v1/lexicons/999").await,
        404,
        "lexicon_not_found",
    );
    assert_eq!(
        ok(&admin.get(&format!("/api/v1/lexicons/{id}")).await)["revision"],
        4
    );

    // Who may: reporters see no lists; chief editors read them but do not edit them.
    assert_err(&reporter.get("/api/v1/lexicons").await, 403, "forbidden");
    assert_eq!(
        ok(&chief.get("/api/v1/lexicons").await)
            .as_array()
            .unwrap()
            .len(),
        2
    );
    assert_err(
        &chief
            .post(
                "/api/v1/lexicons",
                json!({"name": "x", "kind": "screen", "category": "custom"}),
            )
            .await,
        403,
        "forbidden",
    );

    // The chief editor switches the list off for their outlet only.
    let draft = json!({"title": "博彩网站广告"});
    let found = |v: Value| v["findings"].as_array().unwrap().len();
    assert_eq!(
        found(ok(&reporter
            .post("/api/v1/outlets/tv/screen", draft.clone())
            .await)),
        1
    );
    ok(&chief
        .put(
            &format!("/api/v1/lexicons/{id}/outlets/tv"),
            json!({"enabled": false}),
        )
        .await);
    assert_eq!(
        found(ok(&reporter
            .post("/api/v1/outlets/tv/screen", draft.clone())
            .await)),
        0
    );
    assert_eq!(
        found(ok(&admin
            .post("/api/v1/outlets/radio/screen", draft.clone())
            .await)),
        1
    );
    assert_err(
        &chief
            .put(
                &format!("/api/v1/lexicons/{id}/outlets/{radio}"),
                json!({"enabled": false}),
            )
            .await,
        404,
        "outlet_not_found",
    );
    let _ = tv;
    let dir = s.stop().await;
    let (good, out) = run_check(dir.path());
    assert!(good, "{out}");
}

#[tokio::test]
async fn blocked_terms_need_an_override_and_review_terms_an_acknowledgement() {
    let (s, admin, tv) = newsroom("tv").await;
    let mut users = Vec::new();
    for (name, role) in [
        ("reporter", "reporter"),
        ("editor", "editor"),
        ("chief", "chief_editor"),
        ("chief2", "chief_editor"),
    ] {
        let (_, pw) = create_user(&admin, name, tv, role).await;
        users.push(s.login(name, &pw).await);
    }
    let [reporter, editor, chief, chief2] = <[Client; 4]>::try_from(users).ok().unwrap();
    let l = new_list(&admin, "违禁", "screen", "gambling_drugs").await;
    let id = l["id"].as_u64().unwrap();
    import(
        &admin,
        id,
        1,
        "format=txt&mode=merge",
        "博彩网站\tblock\n代开发票\treview\n",
    )
    .await;
    let allow = new_list(&admin, "例外", "allow", "exception").await;
    import(
        &admin,
        allow["id"].as_u64().unwrap(),
        1,
        "format=txt&mode=merge",
        "打击博彩网站专项行动\n",
    )
    .await;

    // Evasions are found where they are written, in every field; the allowlist holds.
    let a = ok(&reporter
        .post(
            "/api/v1/articles",
            json!({"outlet": "tv", "title": "代 开 发 票 调查",
                   "body": "<p>有人搭建博^^彩网站。</p><p>打击博彩网站专项行动启动。</p><figure><img src=\"https://example.org/x.jpg\" alt=\"博彩網站截图\"><figcaption>说明</figcaption></figure>",
                   "tags": ["代开发票"]}),
        )
        .await);
    let art = a["id"].as_u64().unwrap();
    let sc = ok(&reporter
        .get(&format!("/api/v1/articles/{art}/screening"))
        .await);
    assert_eq!(sc["stored"], true);
    let got: Vec<(String, String, u64, u64, String)> = sc["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["field"].as_str().unwrap().to_string(),
                f["matched"].as_str().unwrap().to_string(),
                f["start"].as_u64().unwrap(),
                f["end"].as_u64().unwrap(),
                f["severity"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(
        got,
        vec![
            ("title".into(), "代 开 发 票".into(), 0, 7, "review".into()),
            ("body".into(), "博^^彩网站".into(), 4, 10, "block".into()),
            ("alt".into(), "博彩網站".into(), 0, 4, "block".into()),
            ("tag".into(), "代开发票".into(), 0, 4, "review".into()),
        ]
    );
    assert_eq!(sc["blocked"], json!(["博彩网站"]));

    // Submit stops on the blocked term; a reporter may not override; a chief editor may.
    let submit = |c: &Client, body: Value| {
        let (c, path) = (c.clone(), format!("/api/v1/articles/{art}/submit"));
        async move { c.post(&path, body).await }
    };
    let r = submit(&reporter, json!({"revision": 1})).await;
    assert_err(&r, 422, "screening_blocked");
    assert_eq!(r.1["terms"], json!(["博彩网站"]));
    assert_err(
        &submit(
            &reporter,
            json!({"revision": 1, "override_reason": "引用原文"}),
        )
        .await,
        403,
        "forbidden",
    );
    assert_err(
        &submit(&chief, json!({"revision": 1, "override_reason": "  "})).await,
        400,
        "invalid_input",
    );
    let r = submit(
        &chief,
        json!({"revision": 1, "override_reason": "报道打击行动，引用涉案网站名称"}),
    )
    .await;
    assert_eq!(ok(&r)["status"], "submitted");
    let sc = ok(&reporter
        .get(&format!("/api/v1/articles/{art}/screening"))
        .await);
    assert_eq!(sc["blocked"], json!([]));
    assert_eq!(sc["overrides"][0]["term"], "博彩网站");

    // Approval needs the review terms acknowledged.
    let approve = |c: &Client, level: u64, ack: bool| {
        let (c, path) = (c.clone(), format!("/api/v1/articles/{art}/approve"));
        async move {
            c.post(
                &path,
                json!({"revision": 1, "level": level, "acknowledge_screening": ack}),
            )
            .await
        }
    };
    let r = approve(&editor, 0, false).await;
    assert_err(&r, 422, "screening_unacknowledged");
    assert_eq!(r.1["terms"], json!(["代开发票"]));
    ok(&approve(&editor, 0, true).await);
    ok(&approve(&chief, 1, true).await);
    assert_eq!(ok(&approve(&chief2, 2, true).await)["status"], "approved");
    // The override covers publishing too.
    let p = ok(&chief
        .post(
            &format!("/api/v1/articles/{art}/publish"),
            json!({"revision": 1}),
        )
        .await);
    assert_eq!(p["status"], "published");

    // The audit trail names the override and the acknowledgements.
    let audit = ok(&chief.get(&format!("/api/v1/articles/{art}/audit")).await);
    let kinds: Vec<&str> = audit["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["kind"].as_str().unwrap())
        .collect();
    assert!(kinds.contains(&"ScreeningOverridden"), "{kinds:?}");
    assert_eq!(
        kinds
            .iter()
            .filter(|k| **k == "ScreeningAcknowledged")
            .count(),
        3
    );

    // A new article with the blocked term: the earlier override was for that article only.
    let b = ok(&reporter
        .post(
            "/api/v1/articles",
            json!({"outlet": "tv", "title": "又一个博彩网站", "body": "正文"}),
        )
        .await)["id"]
        .as_u64()
        .unwrap();
    assert_err(
        &reporter
            .post(
                &format!("/api/v1/articles/{b}/submit"),
                json!({"revision": 1}),
            )
            .await,
        422,
        "screening_blocked",
    );
    // Fixing the text clears it.
    ok(&reporter
        .put(
            &format!("/api/v1/articles/{b}"),
            json!({"base_revision": 1, "title": "又一个网站", "body": "正文"}),
        )
        .await);
    ok(&reporter
        .post(
            &format!("/api/v1/articles/{b}/submit"),
            json!({"revision": 2}),
        )
        .await);
    let dir = s.stop().await;
    let (good, out) = run_check(dir.path());
    assert!(good, "{out}");
}

#[tokio::test]
async fn proofreading_suggests_while_writing() {
    let (s, admin, _tv) = newsroom("tv").await;
    let (_, pr) = create_user(&admin, "reporter", _tv, "reporter").await;
    let reporter = s.login("reporter", &pr).await;
    let r = ok(&reporter
        .post(
            "/api/v1/outlets/tv/screen",
            json!({"title": "工人正在按装设备", "body": "<p>这是我的的书,大家认真的落实。</p><p>他说：“出发。</p>"}),
        )
        .await);
    let got: Vec<(String, String, String, Value)> = r["suggestions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| {
            (
                x["field"].as_str().unwrap().to_string(),
                x["rule"].as_str().unwrap().to_string(),
                x["text"].as_str().unwrap().to_string(),
                x["replacement"].clone(),
            )
        })
        .collect();
    let want: Vec<(String, String, String, Value)> = [
        ("title", "wordlist", "按装", json!("安装")),
        ("body", "doubled", "的的", json!("的")),
        ("body", "punct_width", ",", json!("，")),
        ("body", "de", "的", json!("地")),
        ("body", "unpaired", "“", Value::Null),
    ]
    .into_iter()
    .map(|(a, b, c, d)| (a.into(), b.into(), c.into(), d))
    .collect();
    assert_eq!(got, want);
    // Too much text at once is refused with a code, not a timeout.
    let huge = "a".repeat(200_001);
    assert_err(
        &reporter
            .post("/api/v1/outlets/tv/screen", json!({"body": huge}))
            .await,
        400,
        "invalid_input",
    );
    assert_err(
        &reporter
            .post("/api/v1/outlets/nowhere/screen", json!({"body": "x"}))
            .await,
        404,
        "outlet_not_found",
    );
}

#[tokio::test]
async fn wrong_characters_are_suggested_and_ignored_suggestions_stay_ignored() {
    let (s, admin, tv) = newsroom("tv").await;
    let (_, pr) = create_user(&admin, "reporter", tv, "reporter").await;
    let (_, po) = create_user(&admin, "other", tv, "reporter").await;
    let reporter = s.login("reporter", &pr).await;
    let other = s.login("other", &po).await;
    let body = "<p>我们去的地放很远，你有他的点话吗？</p>";
    let spelling = |v: &Value| -> Vec<(String, String)> {
        v["suggestions"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|x| x["rule"] == "spelling")
            .map(|x| {
                (
                    x["text"].as_str().unwrap().to_string(),
                    x["replacement"].as_str().unwrap().to_string(),
                )
            })
            .collect()
    };
    let draft = ok(&reporter
        .post("/api/v1/outlets/tv/screen", json!({"body": body}))
        .await);
    let both = vec![
        ("放".to_string(), "方".to_string()),
        ("点".to_string(), "电".to_string()),
    ];
    assert_eq!(spelling(&draft), both);

    let a = ok(&reporter
        .post(
            "/api/v1/articles",
            json!({"outlet": "tv", "title": "采访", "body": body}),
        )
        .await);
    let art = a["id"].as_u64().unwrap();
    let path = format!("/api/v1/articles/{art}/screening/ignored");
    // Only someone who may edit the article ignores for it; the rule must be one we have.
    assert_err(
        &other
            .post(&path, json!({"rule": "spelling", "text": "放"}))
            .await,
        403,
        "forbidden",
    );
    assert_err(
        &reporter
            .post(&path, json!({"rule": "grammar", "text": "放"}))
            .await,
        400,
        "invalid_json",
    );
    assert_err(
        &reporter
            .post(&path, json!({"rule": "spelling", "text": ""}))
            .await,
        400,
        "invalid_input",
    );
    let ig = ok(&reporter
        .post(&path, json!({"rule": "spelling", "text": "放"}))
        .await);
    assert_eq!(ig.as_array().unwrap().len(), 1);
    // Twice is the same one row.
    let ig = ok(&reporter
        .post(&path, json!({"rule": "spelling", "text": "放"}))
        .await);
    assert_eq!(ig[0]["text"], "放");
    assert_eq!(ig.as_array().unwrap().len(), 1);

    let only_dian = vec![("点".to_string(), "电".to_string())];
    let rep = ok(&other
        .get(&format!("/api/v1/articles/{art}/screening"))
        .await);
    assert_eq!(spelling(&rep), only_dian);
    assert_eq!(rep["ignored"][0]["rule"], "spelling");
    // The editor's check of the next version hides it too; without the article it does not.
    let draft = ok(&reporter
        .post(
            "/api/v1/outlets/tv/screen",
            json!({"body": body, "article": art}),
        )
        .await);
    assert_eq!(spelling(&draft), only_dian);

    // It survives a restart (it is in the log and the store), and un-ignoring brings it back.
    let (dir, pw) = s.stop_keep().await;
    let s = TestServer::restart_in(dir, pw).await;
    let reporter = s.login("reporter", &pr).await;
    let rep = ok(&reporter
        .get(&format!("/api/v1/articles/{art}/screening"))
        .await);
    assert_eq!(spelling(&rep), only_dian);
    let left = ok(&reporter
        .delete(&format!("{path}?rule=spelling&text=%E6%94%BE"))
        .await);
    assert_eq!(left, json!([]));
    let rep = ok(&reporter
        .get(&format!("/api/v1/articles/{art}/screening"))
        .await);
    assert_eq!(spelling(&rep), both);
    let dir = s.stop().await;
    let (good, out) = run_check(dir.path());
    assert!(good, "{out}");
}
