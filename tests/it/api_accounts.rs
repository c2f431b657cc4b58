//! Sessions, CSRF, rate limiting, tokens, outlets and users through the real HTTP API.

use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::harness::*;

#[tokio::test]
async fn login_whoami_logout() {
    let s = TestServer::start().await;
    let admin = s.admin().await;
    let (st, me) = admin.get("/api/v1/session").await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(me["user"]["username"], "admin");
    assert_eq!(me["csrf_token"].as_str(), admin.csrf.as_deref());
    let (st, _) = admin.delete("/api/v1/session").await;
    assert_eq!(st, StatusCode::NO_CONTENT);
    assert_err(&admin.get("/api/v1/session").await, 401, "unauthenticated");
    assert_err(
        &s.anon().get("/api/v1/articles").await,
        401,
        "unauthenticated",
    );
    s.stop().await;
}

#[tokio::test]
async fn session_cookie_is_hardened() {
    let s = TestServer::start().await;
    let r = s
        .anon()
        .request(Method::POST, "/api/v1/session")
        .json(&json!({"username": "admin", "password": s.admin_password}))
        .send()
        .await
        .unwrap();
    let cookie = r
        .headers()
        .get("set-cookie")
        .unwrap()
        .to_str()
        .unwrap()
        .to_string();
    for attr in ["HttpOnly", "SameSite=Strict", "Path=/", "Max-Age=43200"] {
        assert!(cookie.contains(attr), "{attr} missing in {cookie}");
    }
    assert!(
        !cookie.contains("Secure"),
        "plain-HTTP default must not set Secure"
    );
    assert!(r.headers().get("content-security-policy").is_some());
    s.stop().await;
}

#[tokio::test]
async fn wrong_password_is_rate_limited_per_account() {
    let s = TestServer::start().await;
    let c = s.anon();
    for _ in 0..5 {
        assert_err(
            &c.post(
                "/api/v1/session",
                json!({"username": "admin", "password": "wrong-password"}),
            )
            .await,
            401,
            "invalid_credentials",
        );
    }
    // Locked now, even with the right password.
    let r = c
        .request(Method::POST, "/api/v1/session")
        .json(&json!({"username": "admin", "password": s.admin_password}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(r.headers().get("retry-after").is_some());
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!(body["code"], "login_rate_limited");
    // Unknown users get the same answer as wrong passwords.
    assert_err(
        &c.post(
            "/api/v1/session",
            json!({"username": "nobody", "password": "whatever-it-is"}),
        )
        .await,
        401,
        "invalid_credentials",
    );
    s.clock.advance_ms(16 * 60_000);
    s.admin().await;
    s.stop().await;
}

#[tokio::test]
async fn cookie_writes_need_the_csrf_token() {
    let s = TestServer::start().await;
    let mut admin = s.admin().await;
    let good = admin.csrf.clone();
    let outlet = json!({"slug": "tv", "name": "电视", "kind": "tv"});
    for presented in [None, Some("forged".to_string()), Some(String::new())] {
        admin.csrf = presented;
        assert_err(
            &admin.post("/api/v1/outlets", outlet.clone()).await,
            403,
            "csrf_token_invalid",
        );
    }
    admin.csrf = good;
    let (st, _) = admin.post("/api/v1/outlets", outlet).await;
    assert_eq!(st, StatusCode::CREATED);
    s.stop().await;
}

#[tokio::test]
async fn sessions_expire_and_forged_cookies_fail() {
    let s = TestServer::start().await;
    let admin = s.admin().await;
    s.clock.advance_ms(11 * 3_600_000);
    assert_eq!(admin.get("/api/v1/session").await.0, StatusCode::OK);
    s.clock.advance_ms(2 * 3_600_000);
    assert_err(&admin.get("/api/v1/session").await, 401, "session_expired");
    let forged = s
        .anon()
        .request(Method::GET, "/api/v1/session")
        .header(
            "cookie",
            "rongmei_session=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        )
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), StatusCode::UNAUTHORIZED);
    s.stop().await;
}

#[tokio::test]
async fn revoke_all_and_password_change() {
    let s = TestServer::start().await;
    let a1 = s.admin().await;
    let a2 = s.admin().await;
    assert_eq!(
        a1.post("/api/v1/session/revoke-all", json!(null)).await.0,
        StatusCode::NO_CONTENT
    );
    assert_err(&a1.get("/api/v1/session").await, 401, "session_expired");
    assert_err(&a2.get("/api/v1/session").await, 401, "session_expired");

    let a1 = s.admin().await;
    let a2 = s.admin().await;
    assert_err(
        &a1.put(
            "/api/v1/me/password",
            json!({"old_password": "nope-nope-nope", "new_password": "a-new-long-password"}),
        )
        .await,
        401,
        "invalid_credentials",
    );
    assert_err(
        &a1.put(
            "/api/v1/me/password",
            json!({"old_password": s.admin_password, "new_password": "short"}),
        )
        .await,
        400,
        "invalid_input",
    );
    let (st, _) = a1
        .put(
            "/api/v1/me/password",
            json!({"old_password": s.admin_password, "new_password": "a-new-long-password"}),
        )
        .await;
    assert_eq!(st, StatusCode::NO_CONTENT);
    assert_eq!(
        a1.get("/api/v1/session").await.0,
        StatusCode::OK,
        "the changing session continues"
    );
    assert_err(&a2.get("/api/v1/session").await, 401, "session_expired");
    assert_err(
        &s.anon()
            .post(
                "/api/v1/session",
                json!({"username": "admin", "password": s.admin_password}),
            )
            .await,
        401,
        "invalid_credentials",
    );
    s.login("admin", "a-new-long-password").await;
    s.stop().await;
}

#[tokio::test]
async fn api_tokens_are_scoped_shown_once_and_revocable() {
    let (s, admin, _) = newsroom("app").await;
    let (st, t) = admin
        .post(
            "/api/v1/tokens",
            json!({"name": "读取", "scopes": ["read"]}),
        )
        .await;
    assert_eq!(st, StatusCode::CREATED, "{t}");
    let secret = t["secret"].as_str().unwrap().to_string();
    let (_, list) = admin.get("/api/v1/tokens").await;
    assert!(
        !list.to_string().contains(&secret),
        "secret must not be listed"
    );
    let reader = Client::new(&s.base, None, Some(secret.clone()));
    assert_eq!(reader.get("/api/v1/articles").await.0, StatusCode::OK);
    assert_err(
        &reader
            .post("/api/v1/articles", json!({"outlet": "app", "title": "x"}))
            .await,
        403,
        "forbidden",
    );
    assert_err(
        &reader
            .post("/api/v1/tokens", json!({"name": "x", "scopes": ["read"]}))
            .await,
        403,
        "forbidden",
    );
    let id = t["token"]["id"].as_u64().unwrap();
    assert_eq!(
        admin.delete(&format!("/api/v1/tokens/{id}")).await.0,
        StatusCode::NO_CONTENT
    );
    assert_err(
        &reader.get("/api/v1/articles").await,
        401,
        "unauthenticated",
    );
    let (st, t) = admin
        .post(
            "/api/v1/tokens",
            json!({"name": "expiring", "scopes": ["read"], "expires_at": "2030-01-01"}),
        )
        .await;
    assert_eq!(st, StatusCode::CREATED);
    let exp = Client::new(&s.base, None, Some(t["secret"].as_str().unwrap().into()));
    assert_eq!(exp.get("/api/v1/articles").await.0, StatusCode::OK);
    s.clock.set(1_900_000_000_000);
    assert_err(&exp.get("/api/v1/articles").await, 401, "unauthenticated");
    assert_err(
        &Client::new(&s.base, None, Some("rmt_1_forged".into()))
            .get("/api/v1/articles")
            .await,
        401,
        "unauthenticated",
    );
    s.stop().await;
}

#[tokio::test]
async fn outlets_and_users_validate_and_conflict() {
    let (s, admin, tv) = newsroom("tv").await;
    let bad_outlets = [
        (
            json!({"slug": "tv", "name": "again", "kind": "tv"}),
            409,
            "outlet_exists",
        ),
        (
            json!({"slug": "Bad Slug", "name": "x", "kind": "tv"}),
            400,
            "invalid_input",
        ),
        (
            json!({"slug": "ok", "name": " ", "kind": "tv"}),
            400,
            "invalid_input",
        ),
        (
            json!({"slug": "ok", "name": "x", "kind": "cinema"}),
            400,
            "invalid_json",
        ),
    ];
    for (body, status, code) in bad_outlets {
        assert_err(&admin.post("/api/v1/outlets", body).await, status, code);
    }
    let (uid, pw) = create_user(&admin, "zhangsan", tv, "reporter").await;
    assert_err(
        &admin.post("/api/v1/users", json!({"username": "zhangsan", "display_name": "x", "password": "long-enough-pw", "roles": {tv.to_string(): "reporter"}})).await,
        409,
        "user_exists",
    );
    let (st, created) = admin.post("/api/v1/users", json!({"username": "lisi", "display_name": "李四", "roles": {tv.to_string(): "editor"}})).await;
    assert_eq!(st, StatusCode::CREATED);
    let generated = created["initial_password"].as_str().unwrap().to_string();
    s.login("lisi", &generated).await;
    let reporter = s.login("zhangsan", &pw).await;
    assert_err(
        &reporter
            .post(
                "/api/v1/outlets",
                json!({"slug": "radio", "name": "电台", "kind": "radio"}),
            )
            .await,
        403,
        "forbidden",
    );
    assert_err(
        &reporter
            .patch(
                &format!("/api/v1/users/{uid}"),
                json!({"roles": {tv.to_string(): "admin"}}),
            )
            .await,
        403,
        "forbidden",
    );
    let (st, u) = admin
        .patch(&format!("/api/v1/users/{uid}"), json!({"disabled": true}))
        .await;
    assert_eq!(st, StatusCode::OK, "{u}");
    assert_err(
        &reporter.get("/api/v1/session").await,
        401,
        "session_expired",
    );
    s.stop().await;
}

#[tokio::test]
async fn bad_requests_get_codes_not_crashes() {
    let (s, admin, _) = newsroom("web").await;
    let raw = |body: Vec<u8>, ct: &str| {
        admin
            .request(Method::POST, "/api/v1/articles")
            .header("content-type", ct)
            .body(body)
            .send()
    };
    let r = raw(
        b"{\"outlet\": \"web\", \"title\": ".to_vec(),
        "application/json",
    )
    .await
    .unwrap();
    assert_eq!(r.status(), 400);
    assert_eq!(
        r.json::<serde_json::Value>().await.unwrap()["code"],
        "invalid_json"
    );
    let r = raw(
        b"{\"outlet\":\"web\",\"title\":\"\xff\xfe\"}".to_vec(),
        "application/json",
    )
    .await
    .unwrap();
    assert_eq!(r.status(), 400, "invalid UTF-8");
    let r = raw(b"{}".to_vec(), "text/plain").await.unwrap();
    assert_eq!(r.status(), 415);
    let big = format!(
        "{{\"outlet\":\"web\",\"title\":\"x\",\"body\":\"{}\"}}",
        "长".repeat(200_000)
    );
    let r = raw(big.into_bytes(), "application/json").await.unwrap();
    assert_eq!(r.status(), 413);
    assert_eq!(
        r.json::<serde_json::Value>().await.unwrap()["code"],
        "payload_too_large"
    );
    let got = admin
        .post(
            "/api/v1/articles",
            json!({"outlet": "web", "title": "x", "colour": "red"}),
        )
        .await;
    assert_err(&got, 400, "invalid_json");
    assert!(got.1["message"].as_str().unwrap().contains("colour"));
    assert_err(
        &admin.get("/api/v1/nothing-here").await,
        404,
        "route_not_found",
    );
    assert_err(
        &admin
            .send(Method::PATCH, "/api/v1/session", Some(json!({})))
            .await,
        405,
        "method_not_allowed",
    );
    assert_err(
        &admin.get("/api/v1/articles?limit=9999").await,
        400,
        "invalid_query",
    );
    assert_err(
        &admin.get("/api/v1/articles?cursor=%%%").await,
        400,
        "invalid_query",
    );
    assert_err(
        &admin.get("/api/v1/articles?bogus=1").await,
        400,
        "invalid_query",
    );
    let (_, list) = admin.get("/api/v1/articles").await;
    assert_eq!(
        list["items"].as_array().unwrap().len(),
        0,
        "nothing was stored by bad requests"
    );
    s.stop().await;
}
