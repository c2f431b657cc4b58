//! Recall and ranking on real text: the first 1,000 People's Daily articles of January 1998. For
//! every query of 1–6 Chinese characters the hit count must equal the number of articles whose
//! title + body contain it as a substring, exactly; articles with the query in the title come
//! first.

use std::sync::Arc;

use serde_json::{Value, json};

use crate::harness::{TestServer, corpus, hit_ids, search, urlencode, wait_indexed};

const QUERIES: &[&str] = &[
    "经济",
    "改革开放",
    "下岗",
    "扶贫",
    "香港",
    "春节",
    "的",
    "党",
    "国",
    "人民",
    "中国",
    "江泽民",
    "新华社",
    "北京",
    "发展",
    "农民",
    "企业",
    "社会主义",
    "市场经济",
    "改革",
    "一九九八年",
    "澳门",
    "科技",
    "教育",
    "文化",
    "体育",
    "金融危机",
    "亚洲",
    "美国",
    "日本",
    "世界",
    "记者",
    "精神文明建设",
    "邓小平理论",
    "十五大",
    "国有企业",
    "再就业",
    "亿元",
    "新年",
    "贺岁",
];

struct Doc {
    title: String,
    text: String,
}

fn load(n: usize) -> Vec<(Value, Doc)> {
    let raw = std::fs::read_to_string(corpus("zh_peoples_daily_199801.jsonl")).unwrap();
    let mut out = Vec::new();
    for line in raw.lines().take(n) {
        let j: Value = serde_json::from_str(line).unwrap();
        let body = j["body"].as_str().unwrap_or("").to_string();
        let subtitle = j["subtitle"].as_str().unwrap_or("").to_string();
        let mut title = j["title"].as_str().unwrap_or("").trim().to_string();
        if title.is_empty() {
            title = body.replace('\n', " ").chars().take(30).collect();
        }
        if subtitle.chars().count() > 500 {
            continue;
        }
        let input = json!({"outlet": "rmrb", "title": title, "subtitle": subtitle, "body": body});
        let text = format!("{title}\n{subtitle}\n{body}");
        out.push((input, Doc { title, text }));
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_article_containing_the_query_is_found_and_title_matches_rank_first() {
    let s = TestServer::start().await;
    let admin = s.admin().await;
    let (st, o) = admin
        .post(
            "/api/v1/outlets",
            json!({"slug": "rmrb", "name": "人民日报", "kind": "newspaper"}),
        )
        .await;
    assert_eq!(st, 201, "{o}");
    let docs = load(1000);
    assert!(docs.len() >= 995, "corpus too short: {}", docs.len());

    // Known counts from the corpus README hold for what we load.
    let count = |q: &str| docs.iter().filter(|(_, d)| d.text.contains(q)).count() as u64;
    for (q, n) in [
        ("改革开放", 53),
        ("经济", 309),
        ("下岗", 28),
        ("扶贫", 38),
        ("香港", 55),
        ("春节", 24),
    ] {
        assert_eq!(count(q), n, "substring count of {q}");
    }

    // Create through the API, eight at a time.
    let admin = Arc::new(admin);
    let inputs: Vec<Value> = docs.iter().map(|(i, _)| i.clone()).collect();
    let mut tasks = Vec::new();
    for chunk in inputs.chunks(inputs.len().div_ceil(8)) {
        let (c, chunk) = (admin.clone(), chunk.to_vec());
        tasks.push(tokio::spawn(async move {
            for body in chunk {
                let (st, v) = c.post("/api/v1/articles", body).await;
                assert_eq!(st, 201, "{v}");
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    wait_indexed(&admin).await;

    for q in QUERIES {
        let expected = count(q);
        let v = search(&admin, &format!("q={}&size=10&facets=false", urlencode(q))).await;
        assert_eq!(
            v["total"].as_u64().unwrap(),
            expected,
            "hits for {q} (substring count {expected})"
        );
        // Articles with the query in the title come first.
        let in_title = docs.iter().filter(|(_, d)| d.title.contains(q)).count();
        let top = in_title.min(3);
        for h in v["hits"].as_array().unwrap().iter().take(top) {
            assert!(
                h["title"].as_str().unwrap().contains(q),
                "{q}: a hit without it in the title ranks in the top {top}: {}",
                h["title"]
            );
        }
        // Every hit marks a real occurrence.
        if let Some(h) = v["hits"].as_array().unwrap().first() {
            let marked: Vec<&str> = h["title_highlight"]
                .as_array()
                .unwrap()
                .iter()
                .chain(h["snippet"].as_array().unwrap())
                .filter(|s| s["hit"] == true)
                .map(|s| s["text"].as_str().unwrap())
                .collect();
            assert!(
                marked.iter().any(|m| m.contains(q)),
                "{q}: nothing marked in {h}"
            );
        }
    }
    assert!(QUERIES.len() >= 30);

    // Traditional and full-width forms find the same articles.
    let simp = search(&admin, &format!("q={}&size=50", urlencode("经济"))).await;
    let trad = search(&admin, &format!("q={}&size=50", urlencode("經濟"))).await;
    assert_eq!(simp["total"], trad["total"]);
    assert_eq!(hit_ids(&simp), hit_ids(&trad));
    let half = search(&admin, "q=1998&size=1").await;
    let full = search(&admin, &format!("q={}&size=1", urlencode("１９９８"))).await;
    assert!(half["total"].as_u64().unwrap() > 0);
    assert_eq!(half["total"], full["total"]);

    // The order is stable: the same query twice, and pages that add up to the whole.
    let all = search(&admin, &format!("q={}&size=40", urlencode("香港"))).await;
    let again = search(&admin, &format!("q={}&size=40", urlencode("香港"))).await;
    assert_eq!(hit_ids(&all), hit_ids(&again));
    let mut paged = Vec::new();
    for page in 1..=4 {
        let p = search(
            &admin,
            &format!("q={}&size=10&page={page}", urlencode("香港")),
        )
        .await;
        paged.extend(hit_ids(&p));
    }
    assert_eq!(paged, hit_ids(&all));
    s.stop().await;
}
