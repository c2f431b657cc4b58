//! Tenant isolation matrix: a user of outlet A can neither read nor change anything of outlet B,
//! through every route. The test fails if a route exists that the matrix does not cover.

use std::collections::BTreeSet;

use reqwest::Method;
use serde_json::{Value, json};

use crate::api_assets::{png, upload};
use crate::harness::*;

/// Routes that carry no outlet data (the caller's own session and instance identity).
const NOT_OUTLET_SCOPED: &[(&str, &str)] = &[
    ("POST", "/api/v1/session"),
    ("GET", "/api/v1/session"),
    ("DELETE", "/api/v1/session"),
    ("POST", "/api/v1/session/revoke-all"),
    ("PUT", "/api/v1/me/password"),
    ("GET", "/api/v1/instance"),
    // The caller's own inbox.
    ("POST", "/api/v1/notifications/read"),
    ("GET", "/api/v1/notifications/stream"),
    // Word lists belong to the instance (outlets only switch them off); reading them is for
    // anyone who manages screening somewhere, which outlet A's admin does.
    ("GET", "/api/v1/lexicons"),
    ("GET", "/api/v1/lexicons/{id}"),
    ("GET", "/api/v1/lexicons/{id}/entries"),
    ("GET", "/api/v1/lexicons/{id}/export"),
    // A replica's join (token-authenticated) and the replication state of the instance.
    ("POST", "/api/v1/federation/join"),
    ("GET", "/api/v1/federation/status"),
];

/// (method, route template, concrete path, body, expected status, expected code)
pub(crate) type Case<'a> = (&'a str, &'a str, String, Option<Value>, u16, &'a str);
/// (route template, concrete path, what the list must satisfy)
type ListCase<'a> = (&'a str, &'a str, Box<dyn Fn(&Value) -> bool>);

#[tokio::test]
async fn outlet_a_cannot_touch_outlet_b() {
    let s = TestServer::start().await;
    let admin = s.admin().await;
    let a_id = create_outlet(&admin, "county-tv").await;
    let b_id = create_outlet(&admin, "county-app").await;
    let (_, pa) = create_user(&admin, "a-admin", a_id, "admin").await;
    let (b_user, pb) = create_user(&admin, "b-admin", b_id, "admin").await;
    let a = s.login("a-admin", &pa).await;
    let b = s.login("b-admin", &pb).await;

    let (_, asset) = upload(&b, "county-app", "b.png", "image/png", png(16, 16)).await;
    let asset = asset["id"].as_u64().unwrap();
    let (_, art) = b
        .post(
            "/api/v1/articles",
            json!({"outlet": "county-app", "title": "B台稿件", "cover": asset}),
        )
        .await;
    let art = art["id"].as_u64().unwrap();
    let (_, tok) = b
        .post("/api/v1/tokens", json!({"name": "b", "scopes": ["read"]}))
        .await;
    let tok = tok["token"]["id"].as_u64().unwrap();

    let edit = json!({"base_revision": 1, "title": "被A改了"});
    // (method, route template, concrete path, body, expected status, expected code)
    let mut cases: Vec<Case> = vec![
        (
            "POST",
            "/api/v1/search/rebuild",
            "/api/v1/search/rebuild".into(),
            Some(json!({})),
            403,
            "forbidden",
        ),
        (
            "GET",
            "/api/v1/articles/{id}",
            format!("/api/v1/articles/{art}"),
            None,
            404,
            "article_not_found",
        ),
        (
            "PUT",
            "/api/v1/articles/{id}",
            format!("/api/v1/articles/{art}"),
            Some(edit),
            404,
            "article_not_found",
        ),
        (
            "GET",
            "/api/v1/articles/{id}/versions",
            format!("/api/v1/articles/{art}/versions"),
            None,
            404,
            "article_not_found",
        ),
        (
            "GET",
            "/api/v1/articles/{id}/versions/{revision}",
            format!("/api/v1/articles/{art}/versions/1"),
            None,
            404,
            "article_not_found",
        ),
        (
            "GET",
            "/api/v1/articles/{id}/diff",
            format!("/api/v1/articles/{art}/diff?from=1&to=1"),
            None,
            404,
            "article_not_found",
        ),
        (
            "POST",
            "/api/v1/articles/{id}/restore",
            format!("/api/v1/articles/{art}/restore"),
            Some(json!({"revision": 1, "base_revision": 1})),
            404,
            "article_not_found",
        ),
        (
            "POST",
            "/api/v1/articles",
            "/api/v1/articles".into(),
            Some(json!({"outlet": "county-app", "title": "x"})),
            404,
            "outlet_not_found",
        ),
        (
            "GET",
            "/api/v1/assets/{id}",
            format!("/api/v1/assets/{asset}"),
            None,
            404,
            "asset_not_found",
        ),
        (
            "DELETE",
            "/api/v1/assets/{id}",
            format!("/api/v1/assets/{asset}"),
            None,
            404,
            "asset_not_found",
        ),
        (
            "GET",
            "/api/v1/assets/{id}/content",
            format!("/api/v1/assets/{asset}/content"),
            None,
            404,
            "asset_not_found",
        ),
        (
            "GET",
            "/api/v1/assets/{id}/thumbnail",
            format!("/api/v1/assets/{asset}/thumbnail"),
            None,
            404,
            "asset_not_found",
        ),
        (
            "GET",
            "/api/v1/outlets/{id}",
            format!("/api/v1/outlets/{b_id}"),
            None,
            404,
            "outlet_not_found",
        ),
        (
            "PATCH",
            "/api/v1/outlets/{id}",
            format!("/api/v1/outlets/{b_id}"),
            Some(json!({"name": "A的"})),
            404,
            "outlet_not_found",
        ),
        (
            "POST",
            "/api/v1/outlets",
            "/api/v1/outlets".into(),
            Some(json!({"slug": "x", "name": "x", "kind": "tv"})),
            403,
            "forbidden",
        ),
        (
            "GET",
            "/api/v1/users/{id}",
            format!("/api/v1/users/{b_user}"),
            None,
            404,
            "user_not_found",
        ),
        (
            "PATCH",
            "/api/v1/users/{id}",
            format!("/api/v1/users/{b_user}"),
            Some(json!({"roles": {}})),
            404,
            "user_not_found",
        ),
        (
            "POST",
            "/api/v1/users/{id}/password-reset",
            format!("/api/v1/users/{b_user}/password-reset"),
            None,
            403,
            "forbidden",
        ),
        (
            "POST",
            "/api/v1/users/{id}/revoke-sessions",
            format!("/api/v1/users/{b_user}/revoke-sessions"),
            None,
            403,
            "forbidden",
        ),
        (
            "POST",
            "/api/v1/users",
            "/api/v1/users".into(),
            Some(
                json!({"username": "spy", "display_name": "spy", "password": "long-enough-pw", "roles": {b_id.to_string(): "reporter"}}),
            ),
            403,
            "forbidden",
        ),
        (
            "DELETE",
            "/api/v1/tokens/{id}",
            format!("/api/v1/tokens/{tok}"),
            None,
            404,
            "token_not_found",
        ),
        (
            "GET",
            "/api/v1/log",
            "/api/v1/log".into(),
            None,
            403,
            "forbidden",
        ),
    ];
    cases.extend(crate::isolation_federation::cases(art));
    let (_, b_chains) = b.get("/api/v1/outlets/county-app/chains").await;
    let chain = b_chains[0]["id"].as_u64().unwrap();
    for action in [
        "submit",
        "approve",
        "return",
        "escalate",
        "withdraw",
        "publish",
        "correction",
        "retract",
    ] {
        cases.push((
            "POST",
            Box::leak(format!("/api/v1/articles/{{id}}/{action}").into_boxed_str()),
            format!("/api/v1/articles/{art}/{action}"),
            Some(json!({"revision": 1, "level": 0, "chain": "normal", "comment": "x"})),
            404,
            "article_not_found",
        ));
    }
    // B plans a topic with a deadline, discusses it and comments on its article.
    let (_, topic) = b
        .post(
            "/api/v1/topics",
            json!({"outlets": ["county-app"], "title": "B台选题", "deadline": "2026-12-01"}),
        )
        .await;
    let topic = topic["id"].as_u64().unwrap();
    let (_, c) = b
        .post(
            &format!("/api/v1/articles/{art}/comments"),
            json!({"body": "B台内部意见"}),
        )
        .await;
    let comment = c["id"].as_u64().unwrap();
    b.post(
        &format!("/api/v1/topics/{topic}/comments"),
        json!({"body": "讨论"}),
    )
    .await;
    for (m, tail, body) in [
        ("GET", "comments", None),
        ("POST", "comments", Some(json!({"body": "A的意见"}))),
        ("GET", "lock", None),
        ("POST", "lock", Some(json!({}))),
        ("DELETE", "lock", None),
        ("POST", "lock/take", Some(json!({"reason": "x"}))),
        ("GET", "mentionable", None),
    ] {
        cases.push((
            m,
            Box::leak(format!("/api/v1/articles/{{id}}/{tail}").into_boxed_str()),
            format!("/api/v1/articles/{art}/{tail}"),
            body,
            404,
            "article_not_found",
        ));
    }
    let topic_body = json!({"revision": 1, "outlets": ["county-tv"], "title": "A改了"});
    for (m, tpl, path, body) in [
        (
            "GET",
            "/api/v1/topics/{id}",
            format!("/api/v1/topics/{topic}"),
            None,
        ),
        (
            "PUT",
            "/api/v1/topics/{id}",
            format!("/api/v1/topics/{topic}"),
            Some(topic_body),
        ),
        (
            "POST",
            "/api/v1/topics/{id}/move",
            format!("/api/v1/topics/{topic}/move"),
            Some(json!({"revision": 1, "move": "approve"})),
        ),
        (
            "POST",
            "/api/v1/topics/{id}/merge",
            format!("/api/v1/topics/{topic}/merge"),
            Some(json!({"revision": 1, "into": topic})),
        ),
        (
            "POST",
            "/api/v1/topics/{id}/articles",
            format!("/api/v1/topics/{topic}/articles"),
            Some(json!({"article": art})),
        ),
        (
            "DELETE",
            "/api/v1/topics/{id}/articles/{article}",
            format!("/api/v1/topics/{topic}/articles/{art}"),
            None,
        ),
        (
            "POST",
            "/api/v1/topics/{id}/write",
            format!("/api/v1/topics/{topic}/write"),
            Some(json!({})),
        ),
        (
            "GET",
            "/api/v1/topics/{id}/audit",
            format!("/api/v1/topics/{topic}/audit"),
            None,
        ),
        (
            "GET",
            "/api/v1/topics/{id}/comments",
            format!("/api/v1/topics/{topic}/comments"),
            None,
        ),
        (
            "POST",
            "/api/v1/topics/{id}/comments",
            format!("/api/v1/topics/{topic}/comments"),
            Some(json!({"body": "A"})),
        ),
        (
            "GET",
            "/api/v1/topics/{id}/mentionable",
            format!("/api/v1/topics/{topic}/mentionable"),
            None,
        ),
    ] {
        cases.push((m, tpl, path, body, 404, "topic_not_found"));
    }
    cases.extend([
        (
            "PATCH",
            "/api/v1/comments/{id}",
            format!("/api/v1/comments/{comment}"),
            Some(json!({"resolved": true})),
            404,
            "comment_not_found",
        ),
        (
            "DELETE",
            "/api/v1/comments/{id}",
            format!("/api/v1/comments/{comment}"),
            None,
            404,
            "comment_not_found",
        ),
        (
            "POST",
            "/api/v1/topics",
            "/api/v1/topics".into(),
            Some(json!({"outlets": ["county-app"], "title": "A往B塞选题"})),
            404,
            "outlet_not_found",
        ),
    ]);
    let chain_body = json!({"base_version": 1, "name": "x", "levels": []});
    cases.extend([
        (
            "GET",
            "/api/v1/articles/{id}/review",
            format!("/api/v1/articles/{art}/review"),
            None,
            404,
            "article_not_found",
        ),
        (
            "GET",
            "/api/v1/articles/{id}/audit",
            format!("/api/v1/articles/{art}/audit"),
            None,
            404,
            "article_not_found",
        ),
        (
            "GET",
            "/api/v1/outlets/{id}/chains",
            format!("/api/v1/outlets/{b_id}/chains"),
            None,
            404,
            "outlet_not_found",
        ),
        (
            "POST",
            "/api/v1/outlets/{id}/chains",
            "/api/v1/outlets/county-app/chains".into(),
            Some(json!({"slug": "x", "name": "x", "levels": []})),
            404,
            "outlet_not_found",
        ),
        (
            "GET",
            "/api/v1/chains/{id}",
            format!("/api/v1/chains/{chain}"),
            None,
            404,
            "chain_not_found",
        ),
        (
            "PUT",
            "/api/v1/chains/{id}",
            format!("/api/v1/chains/{chain}"),
            Some(chain_body),
            404,
            "chain_not_found",
        ),
        (
            "GET",
            "/api/v1/chains/{id}/versions",
            format!("/api/v1/chains/{chain}/versions"),
            None,
            404,
            "chain_not_found",
        ),
    ]);
    // Screening: B's article and outlet do not exist for A; only instance admins edit lists.
    let lex = json!({"base_revision": 1, "name": "x", "kind": "screen", "category": "custom"});
    cases.extend([
        (
            "GET",
            "/api/v1/articles/{id}/screening",
            format!("/api/v1/articles/{art}/screening"),
            None,
            404,
            "article_not_found",
        ),
        (
            "POST",
            "/api/v1/articles/{id}/screening/ignored",
            format!("/api/v1/articles/{art}/screening/ignored"),
            Some(json!({"rule": "spelling", "text": "x"})),
            404,
            "article_not_found",
        ),
        (
            "DELETE",
            "/api/v1/articles/{id}/screening/ignored",
            format!("/api/v1/articles/{art}/screening/ignored?rule=spelling&text=x"),
            None,
            404,
            "article_not_found",
        ),
        (
            "POST",
            "/api/v1/outlets/{id}/screen",
            "/api/v1/outlets/county-tv/screen".into(),
            Some(json!({"title": "x", "article": art})),
            404,
            "article_not_found",
        ),
        (
            "POST",
            "/api/v1/outlets/{id}/screen",
            "/api/v1/outlets/county-app/screen".into(),
            Some(json!({"title": "x"})),
            404,
            "outlet_not_found",
        ),
        (
            "PUT",
            "/api/v1/lexicons/{id}/outlets/{outlet}",
            "/api/v1/lexicons/1/outlets/county-app".into(),
            Some(json!({"enabled": false})),
            404,
            "outlet_not_found",
        ),
        (
            "POST",
            "/api/v1/lexicons",
            "/api/v1/lexicons".into(),
            Some(lex.clone()),
            403,
            "forbidden",
        ),
        (
            "PUT",
            "/api/v1/lexicons/{id}",
            "/api/v1/lexicons/1".into(),
            Some(lex),
            403,
            "forbidden",
        ),
        (
            "DELETE",
            "/api/v1/lexicons/{id}",
            "/api/v1/lexicons/1?revision=1".into(),
            None,
            403,
            "forbidden",
        ),
        (
            "POST",
            "/api/v1/lexicons/{id}/entries",
            "/api/v1/lexicons/1/entries".into(),
            Some(json!({"base_revision": 1, "remove": ["按装"]})),
            403,
            "forbidden",
        ),
        (
            "POST",
            "/api/v1/lexicons/{id}/import",
            "/api/v1/lexicons/1/import?format=txt&mode=replace&revision=1".into(),
            Some(json!("x")),
            403,
            "forbidden",
        ),
    ]);
    let mut covered: BTreeSet<(String, String)> = BTreeSet::new();
    for (m, tpl, path, body, status, code) in &cases {
        let got = a
            .send(
                Method::from_bytes(m.as_bytes()).unwrap(),
                path,
                body.clone(),
            )
            .await;
        assert_eq!(got.0.as_u16(), *status, "{m} {path}: {}", got.1);
        assert_eq!(got.1["code"], *code, "{m} {path}: {}", got.1);
        covered.insert((m.to_string(), tpl.to_string()));
    }
    // A cannot grant itself a role in B either.
    let (me, _) = a.get("/api/v1/session").await;
    assert_eq!(me.as_u16(), 200);
    let got = a
        .patch(
            &format!("/api/v1/users/{}", a_user_id(&a).await),
            json!({"roles": {a_id.to_string(): "admin", b_id.to_string(): "admin"}}),
        )
        .await;
    assert_err(&got, 403, "forbidden");
    // Lists: B's data is filtered in the query.
    let lists: Vec<ListCase> = vec![
        (
            "/api/v1/articles",
            "/api/v1/articles",
            Box::new(move |v: &Value| {
                v["items"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .all(|x| x["outlet"] != b_id)
            }),
        ),
        (
            "/api/v1/articles",
            "/api/v1/articles?outlet=county-app",
            Box::new(|v: &Value| v["items"].as_array().unwrap().is_empty()),
        ),
        (
            "/api/v1/assets",
            "/api/v1/assets",
            Box::new(|v: &Value| v.as_array().unwrap().is_empty()),
        ),
        (
            "/api/v1/assets",
            "/api/v1/assets?outlet=county-app",
            Box::new(|v: &Value| v.as_array().unwrap().is_empty()),
        ),
        (
            "/api/v1/outlets",
            "/api/v1/outlets",
            Box::new(move |v: &Value| v.as_array().unwrap().iter().all(|o| o["id"] != b_id)),
        ),
        (
            "/api/v1/users",
            "/api/v1/users",
            Box::new(move |v: &Value| v.as_array().unwrap().iter().all(|u| u["id"] != b_user)),
        ),
        (
            "/api/v1/tokens",
            "/api/v1/tokens",
            Box::new(move |v: &Value| v.as_array().unwrap().iter().all(|t| t["id"] != tok)),
        ),
        (
            "/api/v1/reviews/mine",
            "/api/v1/reviews/mine",
            Box::new(move |v: &Value| v["total"] == 0),
        ),
        (
            "/api/v1/topics/board",
            "/api/v1/topics/board",
            Box::new(|v: &Value| {
                v["columns"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .all(|c| c["count"] == 0)
            }),
        ),
        (
            "/api/v1/topics/board",
            "/api/v1/topics/board?outlet=county-app",
            Box::new(|v: &Value| {
                v["columns"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .all(|c| c["count"] == 0)
            }),
        ),
        (
            "/api/v1/topics",
            "/api/v1/topics?state=proposed",
            Box::new(|v: &Value| v["topics"].as_array().unwrap().is_empty()),
        ),
        (
            "/api/v1/topics/calendar",
            "/api/v1/topics/calendar?from=2026-11-15&to=2026-12-15",
            Box::new(|v: &Value| v["items"].as_array().unwrap().is_empty()),
        ),
        (
            "/api/v1/notifications",
            "/api/v1/notifications",
            Box::new(|v: &Value| v["unread"] == 0),
        ),
        (
            "/api/v1/users/{id}/audit",
            Box::leak(format!("/api/v1/users/{b_user}/audit").into_boxed_str()),
            Box::new(move |v: &Value| v["rows"].as_array().unwrap().is_empty()),
        ),
    ];
    // Search sees B's article only once it is indexed: wait for that, then look.
    wait_indexed(&admin).await;
    assert_eq!(
        search(&admin, &format!("q={}", urlencode("B台稿件"))).await["total"],
        1
    );
    let lists: Vec<ListCase> = lists
        .into_iter()
        .chain([
            (
                "/api/v1/search",
                "/api/v1/search?q=B%E5%8F%B0%E7%A8%BF%E4%BB%B6",
                Box::new(|v: &Value| v["total"] == 0 && v["facets"]["outlet"] == json!([]))
                    as Box<dyn Fn(&Value) -> bool>,
            ),
            (
                "/api/v1/search",
                "/api/v1/search?outlet=county-app",
                Box::new(|v: &Value| v["total"] == 0),
            ),
            (
                "/api/v1/search/suggest",
                "/api/v1/search/suggest?q=B%E5%8F%B0",
                Box::new(|v: &Value| v.as_array().unwrap().is_empty()),
            ),
            (
                "/api/v1/pool",
                "/api/v1/pool",
                Box::new(|v: &Value| v.as_array().unwrap().is_empty()),
            ),
            (
                "/api/v1/inbox",
                "/api/v1/inbox",
                Box::new(|v: &Value| v.as_array().unwrap().is_empty()),
            ),
            (
                "/api/v1/search/status",
                "/api/v1/search/status",
                Box::new(|v: &Value| v["docs"] == 0),
            ),
        ])
        .collect();
    for (tpl, path, ok) in &lists {
        let (st, v) = a.get(path).await;
        assert_eq!(st.as_u16(), 200, "{path}");
        assert!(ok(&v), "{path} leaked outlet B: {v}");
        covered.insert(("GET".into(), tpl.to_string()));
    }
    let up = upload(&a, "county-app", "a.png", "image/png", png(4, 4)).await;
    assert_eq!(
        (up.0.as_u16(), up.1["code"].as_str()),
        (404, Some("outlet_not_found"))
    );
    covered.insert(("POST".into(), "/api/v1/assets".into()));
    covered.insert(("POST".into(), "/api/v1/tokens".into())); // tokens are always the caller's own
    for (m, p) in NOT_OUTLET_SCOPED {
        covered.insert((m.to_string(), p.to_string()));
    }

    // Nothing of B changed.
    let (_, still) = b.get(&format!("/api/v1/articles/{art}")).await;
    assert_eq!(
        (still["revision"].as_u64(), still["title"].as_str()),
        (Some(1), Some("B台稿件"))
    );
    assert_eq!(
        b.get(&format!("/api/v1/assets/{asset}/content"))
            .await
            .0
            .as_u16(),
        200
    );
    let (_, o) = b.get(&format!("/api/v1/outlets/{b_id}")).await;
    assert_eq!(o["name"], "county-app 台");

    // Every operation in the API is in the matrix.
    let (_, doc) = s.anon().get("/api/v1/openapi.json").await;
    let mut missing = Vec::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for m in item.as_object().unwrap().keys() {
            let key = (m.to_uppercase(), path.clone());
            if !covered.contains(&key) {
                missing.push(format!("{} {}", key.0, key.1));
            }
        }
    }
    assert!(
        missing.is_empty(),
        "routes without an isolation case: {missing:?}"
    );
    s.stop().await;
}

async fn a_user_id(c: &Client) -> u64 {
    c.get("/api/v1/session").await.1["user"]["id"]
        .as_u64()
        .unwrap()
}
