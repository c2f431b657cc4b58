//! Search through the real HTTP API: following writes, the query language, filters, facets,
//! highlights, suggestions, bad input, outlet isolation, and rebuilds (asked for, and after the
//! index was lost, corrupted or of another schema).

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::harness::{
    Client, TestServer, assert_err, create_outlet, create_user, hit_ids, search, urlencode,
    wait_indexed,
};

/// A server whose sessions outlive the test's clock jumps (days apart), an admin, outlet `tv`.
async fn newsroom(slug: &str) -> (TestServer, Client, u64) {
    let s = TestServer::start_with(|c| c.auth.session_ttl_hours = 24 * 365).await;
    let admin = s.admin().await;
    let outlet = create_outlet(&admin, slug).await;
    (s, admin, outlet)
}

const DAY: i64 = 86_400_000;

async fn article(c: &Client, v: Value) -> u64 {
    let (st, a) = c.post("/api/v1/articles", v).await;
    assert_eq!(st, StatusCode::CREATED, "{a}");
    a["id"].as_u64().unwrap()
}

fn q(s: &str) -> String {
    format!("q={}", urlencode(s))
}

async fn ids(c: &Client, query: &str) -> Vec<u64> {
    let mut v = hit_ids(&search(c, query).await);
    v.sort_unstable();
    v
}

/// Four articles a day apart: (rural, gala, english, traditional).
async fn sample(s: &TestServer, c: &Client) -> (u64, u64, u64, u64) {
    let a1 = article(
        c,
        json!({"outlet": "tv", "title": "县融媒体中心推进乡村振兴", "body": "乡村振兴战略在我县全面铺开。", "category": "时政", "tags": ["乡村"]}),
    )
    .await;
    s.clock.advance_ms(DAY);
    let a2 = article(
        c,
        json!({"outlet": "tv", "title": "春节联欢晚会筹备", "body": "县电视台正在筹备春节联欢晚会。", "category": "文化", "tags": ["春节", "晚会"]}),
    )
    .await;
    s.clock.advance_ms(40 * DAY);
    let a3 = article(
        c,
        json!({"outlet": "tv", "title": "Economic growth slows", "body": "The economies of the region grew slowly in 2025.", "category": "business"}),
    )
    .await;
    s.clock.advance_ms(DAY);
    let a4 = article(
        c,
        json!({"outlet": "tv", "title": "經濟工作會議召開", "body": "全县經濟工作會議今天召開。", "category": "时政"}),
    )
    .await;
    (a1, a2, a3, a4)
}

#[tokio::test]
async fn queries_filters_facets_and_highlights() {
    let (s, admin, _) = newsroom("tv").await;
    let (a1, a2, a3, a4) = sample(&s, &admin).await;
    wait_indexed(&admin).await;

    assert_eq!(ids(&admin, &q("乡村振兴")).await, vec![a1]);
    assert_eq!(ids(&admin, &q("春节 筹备")).await, vec![a2]);
    assert_eq!(ids(&admin, &q("乡村振兴 OR 联欢")).await, vec![a1, a2]);
    assert_eq!(ids(&admin, &q("县 -春节")).await, vec![a1, a4]);
    assert_eq!(ids(&admin, &q("县 NOT 春节")).await, vec![a1, a4]);
    // Traditional text is found by simplified queries and the other way round.
    assert_eq!(ids(&admin, &q("经济工作")).await, vec![a4]);
    assert_eq!(ids(&admin, &q("鄉村振興")).await, vec![a1]);
    // English: case, stemming, phrases.
    assert_eq!(ids(&admin, &q("ECONOMY")).await, vec![a3]);
    assert_eq!(ids(&admin, &q("\"growth slows\"")).await, vec![a3]);
    assert!(ids(&admin, &q("\"slows growth\"")).await.is_empty());
    // A Chinese phrase is a substring: 村振 is inside 乡村振兴, 振乡 is not anywhere.
    assert_eq!(ids(&admin, &q("\"村振\"")).await, vec![a1]);
    assert!(ids(&admin, &q("振乡")).await.is_empty());
    // Only punctuation finds nothing (rather than everything).
    assert_eq!(search(&admin, &q("，。")).await["total"], 0);

    // Filters.
    assert_eq!(
        ids(&admin, "category=%E6%97%B6%E6%94%BF").await,
        vec![a1, a4]
    );
    assert_eq!(
        ids(&admin, &format!("{}&tag={}", q("县"), urlencode("春节"))).await,
        vec![a2]
    );
    assert_eq!(ids(&admin, "status=draft&size=100").await.len(), 4);
    let admin_id = 1;
    assert_eq!(
        ids(&admin, &format!("author={admin_id}&size=100"))
            .await
            .len(),
        4
    );
    assert!(ids(&admin, "author=999").await.is_empty());
    // Dates are China Standard Time days, `to` inclusive.
    let day = |ms: i64| {
        let t = time::OffsetDateTime::from_unix_timestamp((ms + 8 * 3600 * 1000) / 1000).unwrap();
        format!("{:04}-{:02}-{:02}", t.year(), u8::from(t.month()), t.day())
    };
    let t0 = crate::harness::T0;
    assert_eq!(
        ids(&admin, &format!("from={}&to={}", day(t0), day(t0 + DAY))).await,
        vec![a1, a2]
    );
    assert_eq!(
        ids(&admin, &format!("from={}", day(t0 + 41 * DAY))).await,
        vec![a3, a4]
    );

    // Sorting by date, both ways, and relevance.
    let newest = hit_ids(&search(&admin, "sort=newest").await);
    assert_eq!(newest, vec![a4, a3, a2, a1]);
    let oldest = hit_ids(&search(&admin, "sort=oldest").await);
    assert_eq!(oldest, vec![a1, a2, a3, a4]);
    let rel = search(&admin, &q("晚会")).await;
    assert_eq!(hit_ids(&rel), vec![a2]);
    assert!(rel["hits"][0]["score"].as_f64().unwrap() > 0.0);

    // Facets count the matches by outlet, category, status and month.
    let f = search(&admin, &q("县")).await;
    assert_eq!(f["total"], 3);
    let bucket = |name: &str, value: &str| -> u64 {
        f["facets"][name]
            .as_array()
            .unwrap()
            .iter()
            .find(|b| b["value"] == value)
            .map_or(0, |b| b["count"].as_u64().unwrap())
    };
    assert_eq!(bucket("category", "时政"), 2);
    assert_eq!(bucket("category", "文化"), 1);
    assert_eq!(bucket("status", "draft"), 3);
    let outlets = f["facets"]["outlet"].as_array().unwrap();
    assert_eq!(outlets.len(), 1);
    assert_eq!(outlets[0]["count"], 3);
    assert_eq!(outlets[0]["label"], "tv 台");
    let months: u64 = f["facets"]["month"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["count"].as_u64().unwrap())
        .sum();
    assert_eq!(months, 3);
    assert!(search(&admin, &format!("{}&facets=false", q("县"))).await["facets"].is_null());

    // Highlights mark the original (traditional) characters; segments rebuild the title.
    let h = search(&admin, &q("经济")).await;
    let hit = &h["hits"][0];
    let title: String = hit["title_highlight"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["text"].as_str().unwrap())
        .collect();
    assert_eq!(title, "經濟工作會議召開");
    assert_eq!(
        hit["title_highlight"][0],
        json!({"text": "經濟", "hit": true})
    );
    assert!(
        hit["snippet"]
            .as_array()
            .unwrap()
            .iter()
            .any(|s| s["hit"] == true && s["text"] == "經濟")
    );
    // Scores can be explained.
    let e = search(&admin, &format!("{}&explain=true", q("乡村振兴"))).await;
    assert!(e["hits"][0]["explanation"]["value"].as_f64().unwrap() > 0.0);
    assert!(
        e["hits"][0]["explanation"]["recency_factor"]
            .as_f64()
            .unwrap()
            >= 1.0
    );

    // Suggestions as you type: Chinese substrings and half-typed English words.
    let (st, sug) = admin
        .get(&format!("/api/v1/search/suggest?{}", q("乡村")))
        .await;
    assert_eq!(st, 200, "{sug}");
    assert_eq!(sug[0]["id"], a1);
    let (_, sug) = admin.get("/api/v1/search/suggest?q=econ").await;
    assert_eq!(sug[0]["id"], a3);
    let (_, sug) = admin.get("/api/v1/search/suggest?q=").await;
    assert_eq!(sug, json!([]));
    s.stop().await;
}

#[tokio::test]
async fn edits_are_followed_without_duplicates() {
    let (s, admin, _) = newsroom("tv").await;
    let id = article(
        &admin,
        json!({"outlet": "tv", "title": "防汛抗旱", "body": "全县启动防汛四级应急响应。"}),
    )
    .await;
    wait_indexed(&admin).await;
    assert_eq!(ids(&admin, &q("防汛")).await, vec![id]);
    let (st, v) = admin
        .put(
            &format!("/api/v1/articles/{id}"),
            json!({"base_revision": 1, "title": "抗旱保收", "body": "各乡镇组织抗旱保苗。"}),
        )
        .await;
    assert_eq!(st, 200, "{v}");
    wait_indexed(&admin).await;
    assert!(
        ids(&admin, &q("防汛")).await.is_empty(),
        "old text still found"
    );
    assert_eq!(ids(&admin, &q("抗旱保苗")).await, vec![id]);
    let (st, v) = admin
        .post(
            &format!("/api/v1/articles/{id}/restore"),
            json!({"revision": 1, "base_revision": 2}),
        )
        .await;
    assert_eq!(st.as_u16() / 100, 2, "{v}");
    wait_indexed(&admin).await;
    assert_eq!(ids(&admin, &q("防汛")).await, vec![id]);
    assert!(ids(&admin, &q("抗旱保苗")).await.is_empty());
    let all = search(&admin, "size=100").await;
    assert_eq!(all["total"], 1, "one document per article: {all}");
    s.stop().await;
}

#[tokio::test]
async fn bad_search_input_gets_clear_errors() {
    let (s, admin, _) = newsroom("tv").await;
    // The first build of a fresh index may still be under way (503 search_unavailable
    // is the right answer then); these checks are about input, so wait for it.
    wait_indexed(&admin).await;
    assert_err(
        &admin.get("/api/v1/search?size=0").await,
        400,
        "invalid_input",
    );
    assert_err(
        &admin.get("/api/v1/search?size=101").await,
        400,
        "invalid_input",
    );
    assert_err(
        &admin.get("/api/v1/search?page=0").await,
        400,
        "invalid_input",
    );
    assert_err(
        &admin.get("/api/v1/search?page=200&size=100").await,
        400,
        "invalid_input",
    );
    assert_err(
        &admin.get("/api/v1/search?sort=best").await,
        400,
        "invalid_query",
    );
    assert_err(
        &admin.get("/api/v1/search?from=yesterday").await,
        400,
        "invalid_query",
    );
    assert_err(
        &admin.get("/api/v1/search?size=many").await,
        400,
        "invalid_query",
    );
    assert_err(
        &admin.get("/api/v1/search?bogus=1").await,
        400,
        "invalid_query",
    );
    assert_err(
        &admin
            .get(&format!("/api/v1/search?{}", q(&"经".repeat(201))))
            .await,
        400,
        "invalid_input",
    );
    assert_err(
        &admin.get("/api/v1/search?outlet=nope").await,
        404,
        "outlet_not_found",
    );
    assert_err(
        &s.anon().get("/api/v1/search?q=x").await,
        401,
        "unauthenticated",
    );
    assert_err(
        &s.anon().get("/api/v1/search/suggest?q=x").await,
        401,
        "unauthenticated",
    );
    // Odd but valid queries are not errors.
    for odd in ["\"", "-", "OR", "NOT", "((", "*", "a:b", "\u{200b}"] {
        let (st, v) = admin.get(&format!("/api/v1/search?{}", q(odd))).await;
        assert_eq!(st, 200, "{odd:?}: {v}");
    }
    s.stop().await;
}

#[tokio::test]
async fn users_only_ever_see_outlets_they_may_read() {
    let (s, admin, a) = newsroom("tv").await;
    let b = create_outlet(&admin, "radio").await;
    let (_, pa) = create_user(&admin, "zhang", a, "reporter").await;
    let (_, pb) = create_user(&admin, "li", b, "reporter").await;
    let za = s.login("zhang", &pa).await;
    let lb = s.login("li", &pb).await;
    let ida = article(
        &za,
        json!({"outlet": "tv", "title": "独家线索：水库加固", "body": "独家线索", "category": "甲类"}),
    )
    .await;
    let idb = article(
        &lb,
        json!({"outlet": "radio", "title": "独家线索：桥梁检测", "body": "独家线索", "category": "乙类"}),
    )
    .await;
    wait_indexed(&admin).await;

    assert_eq!(ids(&za, &q("独家线索")).await, vec![ida]);
    assert_eq!(ids(&lb, &q("独家线索")).await, vec![idb]);
    assert_eq!(ids(&admin, &q("独家线索")).await, vec![ida, idb]);
    // Asking for the other outlet narrows to nothing; facets and counts agree.
    let v = search(&za, &format!("{}&outlet=radio", q("独家线索"))).await;
    assert_eq!(v["total"], 0);
    let v = search(&za, &q("独家线索")).await;
    assert_eq!(v["total"], 1);
    let f = &v["facets"];
    assert_eq!(f["outlet"].as_array().unwrap().len(), 1);
    assert_eq!(f["outlet"][0]["value"], a.to_string());
    assert!(
        f["category"]
            .as_array()
            .unwrap()
            .iter()
            .all(|c| c["value"] != "乙类")
    );
    // An empty query lists only readable articles too.
    assert_eq!(ids(&za, "").await, vec![ida]);
    // Suggestions as well.
    let (_, sug) = za
        .get(&format!("/api/v1/search/suggest?{}", q("独家")))
        .await;
    assert_eq!(
        sug.as_array()
            .unwrap()
            .iter()
            .map(|x| x["id"].as_u64().unwrap())
            .collect::<Vec<_>>(),
        vec![ida]
    );
    // Index-wide figures and rebuilds are for administrators.
    let (_, st) = za.get("/api/v1/search/status").await;
    assert_eq!(st["docs"], 0);
    assert_err(
        &za.post("/api/v1/search/rebuild", json!({})).await,
        403,
        "forbidden",
    );
    let (_, st) = admin.get("/api/v1/search/status").await;
    assert_eq!(st["docs"], 2);
    s.stop().await;
}

/// Wait (server side, with a deadline) until `builds` index builds have completed.
async fn wait_rebuilt(c: &Client, builds: u64, reason: &str) -> Value {
    let (st, v) = c
        .get(&format!(
            "/api/v1/search/status?wait_for_build={builds}&timeout_ms=30000"
        ))
        .await;
    assert_eq!(st, 200, "{v}");
    assert!(
        v["builds"].as_u64().unwrap() >= builds,
        "no rebuild within the deadline: {v}"
    );
    assert_eq!(v["state"], "ready", "{v}");
    assert_eq!(v["rebuild_reason"], reason, "{v}");
    v
}

#[tokio::test]
async fn rebuild_on_request_keeps_serving() {
    let (s, admin, _) = newsroom("tv").await;
    let (a1, ..) = sample(&s, &admin).await;
    wait_indexed(&admin).await;
    let before = search(&admin, "size=100").await;
    let (_, st) = admin.get("/api/v1/search/status").await;
    let builds = st["builds"].as_u64().unwrap();
    let (st, v) = admin.post("/api/v1/search/rebuild", json!({})).await;
    assert_eq!(st, StatusCode::ACCEPTED, "{v}");
    // Searches go on meanwhile.
    assert_eq!(ids(&admin, &q("乡村振兴")).await, vec![a1]);
    let st = wait_rebuilt(&admin, builds + 1, "requested").await;
    assert_eq!(st["docs"], 4);
    let after = search(&admin, "size=100").await;
    assert_eq!(hit_ids(&before), hit_ids(&after));
    // Writes after the rebuild are followed.
    let id = article(
        &admin,
        json!({"outlet": "tv", "title": "重建之后", "body": "仍然跟随日志"}),
    )
    .await;
    let st = wait_indexed(&admin).await;
    assert_eq!(ids(&admin, &q("跟随日志")).await, vec![id], "{st}");
    s.stop().await;
}

/// Damage the stopped server's index in a given way; the next start must rebuild it.
async fn damaged_index_is_rebuilt(damage: fn(&std::path::Path), reason: &str) {
    let (s, admin, _) = newsroom("tv").await;
    let (a1, _, _, a4) = sample(&s, &admin).await;
    wait_indexed(&admin).await;
    let (dir, pw) = s.stop_keep().await;
    damage(&dir.path().join("search"));
    let s2 = TestServer::restart_in(dir, pw).await;
    let admin = s2.admin().await;
    // The first build of this run is the repair.
    let st = wait_rebuilt(&admin, 1, reason).await;
    assert_eq!(st["docs"], 4, "{st}");
    assert_eq!(ids(&admin, &q("乡村振兴")).await, vec![a1]);
    assert_eq!(ids(&admin, &q("经济")).await, vec![a4]);
    s2.stop().await;
}

fn current_dir(root: &std::path::Path) -> std::path::PathBuf {
    let name = std::fs::read_to_string(root.join("CURRENT")).unwrap();
    root.join(name.trim())
}

#[tokio::test]
async fn a_missing_index_is_rebuilt() {
    damaged_index_is_rebuilt(|root| std::fs::remove_dir_all(root).unwrap(), "missing").await;
}

#[tokio::test]
async fn a_corrupt_index_is_rebuilt() {
    damaged_index_is_rebuilt(
        |root| {
            // Flip bytes in the middle of every segment file.
            for e in std::fs::read_dir(current_dir(root)).unwrap() {
                let p = e.unwrap().path();
                let name = p.file_name().unwrap().to_string_lossy().to_string();
                if name.ends_with(".idx") || name.ends_with(".pos") || name.ends_with(".term") {
                    let mut b = std::fs::read(&p).unwrap();
                    let mid = b.len() / 2;
                    for x in b.iter_mut().skip(mid).take(16) {
                        *x ^= 0xA5;
                    }
                    std::fs::write(&p, b).unwrap();
                }
            }
        },
        "corrupt",
    )
    .await;
}

#[tokio::test]
async fn an_index_of_another_schema_is_rebuilt() {
    damaged_index_is_rebuilt(
        |root| {
            let meta = current_dir(root).join("meta.json");
            let text = std::fs::read_to_string(&meta).unwrap();
            // An index written by the previous version of the schema (an upgrade).
            let v = rongmei::search::schema::SCHEMA_VERSION;
            let changed = text.replace(
                &format!("\\\"schema\\\":{v}"),
                &format!("\\\"schema\\\":{}", v - 1),
            );
            assert_ne!(text, changed, "no schema in the payload: {text}");
            std::fs::write(&meta, changed).unwrap();
        },
        "schema",
    )
    .await;
}

#[tokio::test]
async fn an_index_ahead_of_the_store_is_rebuilt() {
    damaged_index_is_rebuilt(
        |root| {
            let meta = current_dir(root).join("meta.json");
            let text = std::fs::read_to_string(&meta).unwrap();
            let re_lsn = text.find("\\\"lsn\\\":").unwrap();
            let rest = &text[re_lsn + 9..];
            let end = rest.find(|c: char| !c.is_ascii_digit()).unwrap();
            let changed = format!("{}{}{}", &text[..re_lsn + 9], 999_999, &rest[end..]);
            std::fs::write(&meta, changed).unwrap();
        },
        "diverged",
    )
    .await;
}
