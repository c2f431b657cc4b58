//! Provincial review and the shared pool with real binaries on loopback: a county's chain sends
//! an article up, the province decides and the decision moves the county's chain; shared
//! articles reach the other counties, adoptions count as reprints, and a shared item is
//! withdrawn by hand or when its origin retracts it.

use serde_json::json;

use crate::crash::{spawn_env, stop};
use crate::harness::checked_digest;
use crate::hub_support::*;
use crate::replica::{Api, api, kill};

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
    let (mut cproc, ctoken, county_id) = enrolled_county(
        &h,
        &hub.base,
        cdir.path(),
        "安吉县融媒体中心",
        "330523",
        &[],
    )
    .await;
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

    // An article with a photo (in the text, and as the cover) goes up whole: the county sends
    // the bytes ahead of the request, and the hub's reviewer sees them.
    let (photo, sha) = c.upload_png(48).await;
    let (s, v) = c
        .post(
            "/api/v1/articles",
            json!({"outlet": "tv", "title": "带图片的送审稿", "cover": photo,
                "body": format!("<p>现场图片如下。</p><figure><img src=\"/api/v1/assets/{photo}/content\"></figure>")}),
        )
        .await;
    assert_eq!(s, 201, "{v}");
    let third = v["id"].as_u64().unwrap();
    for (step, body) in [
        ("submit", json!({"revision": 1, "chain": "prov"})),
        ("approve", json!({"revision": 1, "level": 0})),
    ] {
        let (s, v) = c
            .post(&format!("/api/v1/articles/{third}/{step}"), body)
            .await;
        assert_eq!(s, 200, "{step}: {v}");
    }
    let path = format!("/api/v1/provincial/reviews/{county_id}/{third}");
    until(
        &h,
        "/api/v1/provincial/reviews",
        "the request with media",
        |v| v.as_array().is_some_and(|l| l.len() == 3),
    )
    .await;
    let one = h.get(&path).await;
    let url = format!("{path}/media/{sha}");
    assert!(
        one["body"]
            .as_str()
            .unwrap()
            .contains(&format!("src=\"{url}\"")),
        "{one}"
    );
    assert_eq!(one["cover"], url.as_str());
    let at_county = c.content(photo).await;
    let (s, got) = h.send_raw(&url).await;
    assert_eq!((s, got), (200, at_county));
    let (s, _) = h
        .send_raw(&format!("{path}/media/{}", "0".repeat(64)))
        .await;
    assert_eq!(s, 404);
    // Bytes that do not hash to their name are refused by the hub.
    let (http, base) = county_client(cdir.path());
    let r = http
        .put(format!("{base}/fed/v1/county/media/{}", "ab".repeat(32)))
        .body(b"not those bytes".to_vec())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 400);
    for p in [&mut cproc, &mut hub] {
        stop(p);
    }
    for d in [hdir.path(), cdir.path()] {
        checked_digest(d);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shared_articles_reach_the_other_counties_and_adoptions_count_as_reprints() {
    let Province {
        hdir,
        adir,
        bdir,
        mut hub,
        htoken: _,
        h,
        a: (mut aproc, atoken, a_id),
        b: (mut bproc, btoken, b_id),
    } = province(
        ("西湖区融媒体中心", "330523", &[]),
        ("安吉县融媒体中心", "330523", &[]),
    )
    .await;
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

    // An offered article with a photo: the photo travels with it (B → hub → A), and A's
    // adoption gets its own copy, which the draft's text points at.
    let (photo, _) = b.upload_png(40).await;
    let z = publish_with(
        &b,
        "安吉竹海航拍",
        &format!("<p>竹海。</p><figure><img src=\"/api/v1/assets/{photo}/content\"></figure>"),
    )
    .await;
    let (s, v) = b
        .post(&format!("/api/v1/articles/{z}/offer"), json!({}))
        .await;
    assert_eq!(s, 200, "{v}");
    let pool_a = until(
        &a,
        "/api/v1/pool",
        "the photo article and its photo at A",
        |v| v[0]["title"] == "安吉竹海航拍" && v[0]["media"] == 1 && v[0]["media_here"] == 1,
    )
    .await;
    let zid = pool_a[0]["id"].as_u64().unwrap();
    let (s, v) = a
        .post(
            &format!("/api/v1/pool/{zid}/adopt"),
            json!({"outlet": "tv"}),
        )
        .await;
    assert_eq!(s, 201, "{v}");
    let draft = a
        .get(&format!(
            "/api/v1/articles/{}",
            v["article"].as_u64().unwrap()
        ))
        .await;
    let body = draft["body"].as_str().unwrap();
    let refs: Vec<u64> = body
        .split("/api/v1/assets/")
        .skip(1)
        .map(|t| t.split('/').next().unwrap().parse().unwrap())
        .collect();
    assert_eq!(refs.len(), 1, "{body}");
    assert_eq!(a.content(refs[0]).await, b.content(photo).await);
    let copy = a.get(&format!("/api/v1/assets/{}", refs[0])).await;
    assert_eq!(copy["kind"], "image", "{copy}");
    assert!(copy["thumbnail_url"].is_string(), "{copy}");

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
