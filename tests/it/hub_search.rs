//! The hub's search over its counties' content (real binaries on loopback, real news from
//! `../shared/corpus`): what two counties published is found at the hub with a county facet and
//! filter, their drafts never are, equal article ids of two counties stay two documents, a
//! takedown shows as such, and a rebuilt index (and `rongmei index check`) agrees with the store.

use serde_json::{Value, json};

use crate::crash::stop;
use crate::harness::{corpus, run_index_check};
use crate::hub_support::{Province, hub_has, province, publish_with, until};
use crate::replica::api;

/// (title, body as HTML paragraphs, body as plain text) of corpus articles with a title.
fn corpus_articles() -> Vec<(String, String, String)> {
    let text = std::fs::read_to_string(corpus("zh_peoples_daily_199801.jsonl")).unwrap();
    text.lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter_map(|v| {
            let title = v["title"].as_str()?.trim().to_string();
            let body = v["body"].as_str()?.to_string();
            (title.chars().count() >= 4 && body.chars().count() >= 200).then(|| {
                let html = body
                    .split('\n')
                    .filter(|p| !p.trim().is_empty())
                    .map(|p| format!("<p>{p}</p>"))
                    .collect::<String>();
                (title, html, body)
            })
        })
        .collect()
}

fn bucket(facets: &Value, name: &str, value: &str) -> u64 {
    facets[name]
        .as_array()
        .unwrap()
        .iter()
        .find(|b| b["value"] == value)
        .map_or(0, |b| b["count"].as_u64().unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_hub_searches_every_countys_published_articles_with_a_county_facet() {
    let Province {
        hdir,
        // Kept to the end: the counties' data dirs.
        adir: _adir,
        bdir: _bdir,
        mut hub,
        htoken: _,
        h,
        a: (mut aproc, atoken, a_id),
        b: (mut bproc, btoken, b_id),
    } = province(
        ("西湖区融媒体中心", "330106", &[]),
        ("安吉县融媒体中心", "330523", &[]),
    )
    .await;
    let (a, b) = (api(&aproc.base, &atoken), api(&bproc.base, &btoken));

    // Three articles each, from the same corpus; the counties number them alike (1, 2, 3).
    let word = "中国";
    let with: Vec<_> = corpus_articles()
        .into_iter()
        .filter(|(t, _, body)| body.contains(word) && !t.contains(word))
        .take(7)
        .collect();
    assert_eq!(with.len(), 7, "the corpus has too few articles with {word}");
    let mut a_ids = Vec::new();
    for (t, html, _) in &with[..3] {
        a_ids.push(publish_with(&a, t, html).await);
    }
    let mut b_ids = Vec::new();
    for (t, html, _) in &with[3..6] {
        b_ids.push(publish_with(&b, t, html).await);
    }
    assert_eq!(a_ids, b_ids, "both counties number their articles alike");
    // A draft never leaves its county.
    let (s, v) = b
        .post(
            "/api/v1/articles",
            json!({"outlet": "tv", "title": with[6].0, "body": with[6].1}),
        )
        .await;
    assert_eq!(s, 201, "{v}");
    hub_has(&h, &a_id, 3).await;
    hub_has(&h, &b_id, 3).await;

    let q = format!("/api/v1/search?scope=counties&q={word}&size=50");
    let all = until(&h, &q, "the county articles searchable", |v| {
        v["total"] == 6
    })
    .await;
    let facets = &all["facets"];
    assert_eq!(bucket(facets, "county", &a_id), 3, "{facets}");
    assert_eq!(bucket(facets, "county", &b_id), 3, "{facets}");
    let names: Vec<&str> = facets["county"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["label"].as_str().unwrap())
        .collect();
    assert!(names.contains(&"西湖区融媒体中心"), "{facets}");
    assert_eq!(
        facets["outlet"],
        json!([]),
        "county outlet ids mean nothing here"
    );
    let mut seen: Vec<(String, u64)> = all["hits"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| {
            assert_eq!(x["status"], "published");
            (
                x["county"]["id"].as_str().unwrap().to_string(),
                x["id"].as_u64().unwrap(),
            )
        })
        .collect();
    seen.sort();
    let mut want: Vec<(String, u64)> = a_ids
        .iter()
        .map(|i| (a_id.clone(), *i))
        .chain(b_ids.iter().map(|i| (b_id.clone(), *i)))
        .collect();
    want.sort();
    assert_eq!(seen, want);

    // The county filter, a title search, and the hub's own (local) scope.
    let only_a = h
        .get(&format!(
            "/api/v1/search?scope=counties&county={a_id}&q={word}"
        ))
        .await;
    assert_eq!(only_a["total"], 3, "{only_a}");
    let title = &with[4].0;
    let by_title = h
        .get(&format!(
            "/api/v1/search?scope=counties&q=%22{}%22",
            urlencode(title)
        ))
        .await;
    let first = &by_title["hits"][0];
    assert_eq!(first["title"], title.as_str(), "{by_title}");
    assert_eq!(first["county"]["name"], "安吉县融媒体中心");
    let local = h.get(&format!("/api/v1/search?q={word}")).await;
    assert_eq!(local["total"], 0, "county content is not local: {local}");

    // A hit opens as the hub holds it, sanitized again.
    let id = first["id"].as_u64().unwrap();
    let full = h
        .get(&format!("/api/v1/federation/counties/{b_id}/articles/{id}"))
        .await;
    assert_eq!(full["title"], title.as_str());
    assert!(full["body"].as_str().unwrap().contains(word), "{full}");
    let (s, v) = h
        .send(
            reqwest::Method::GET,
            &format!("/api/v1/federation/counties/{b_id}/articles/99"),
            None,
        )
        .await;
    assert_eq!((s, v["code"].as_str()), (404, Some("article_not_found")));

    // Bad input and the wrong side.
    let (s, v) = h
        .send(reqwest::Method::GET, "/api/v1/search?scope=world", None)
        .await;
    assert_eq!((s, v["code"].as_str()), (400, Some("invalid_query")), "{v}");
    let (s, v) = a
        .send(reqwest::Method::GET, "/api/v1/search?scope=counties", None)
        .await;
    assert_eq!((s, v["code"].as_str()), (409, Some("wrong_role")), "{v}");

    // A takedown at the county is a takedown at the hub.
    let (s, v) = a
        .post(
            &format!("/api/v1/articles/{}/retract", a_ids[0]),
            json!({"comment": "信息来源有误"}),
        )
        .await;
    assert_eq!(s, 200, "{v}");
    let q_retracted = format!("/api/v1/search?scope=counties&q={word}&status=retracted");
    let gone = until(&h, &q_retracted, "the takedown at the hub", |v| {
        v["total"] == 1
    })
    .await;
    assert_eq!(gone["hits"][0]["county"]["id"], a_id.as_str());
    assert_eq!(gone["hits"][0]["id"], a_ids[0]);
    let after = h.get(&q).await;
    assert_eq!(after["total"], 6, "one document per article: {after}");
    assert_eq!(bucket(&after["facets"], "status", "retracted"), 1);

    // A rebuilt index holds the same; the offline check agrees with the store.
    let builds = h.get("/api/v1/search/status").await["builds"]
        .as_u64()
        .unwrap();
    let (s, v) = h.post("/api/v1/search/rebuild", json!({})).await;
    assert_eq!(s, 202, "{v}");
    until(
        &h,
        &format!(
            "/api/v1/search/status?wait_for_build={}&timeout_ms=30000",
            builds + 1
        ),
        "the rebuild",
        |v| v["builds"].as_u64() > Some(builds) && v["state"] == "ready",
    )
    .await;
    let rebuilt = h.get(&q).await;
    assert_eq!(rebuilt["total"], 6, "{rebuilt}");
    assert_eq!(rebuilt["facets"]["county"], after["facets"]["county"]);

    stop(&mut aproc);
    stop(&mut bproc);
    stop(&mut hub);
    let (ok, out) = run_index_check(hdir.path());
    assert!(ok, "{out}");
    assert!(out.contains("6 articles"), "{out}");
}

fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}
