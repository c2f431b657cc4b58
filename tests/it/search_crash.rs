//! Crash consistency of the search index: the real binary is SIGKILLed while it indexes a bulk
//! load of People's Daily articles (with edits). After each restart the index catches up from its
//! committed cursor; at the end it holds exactly one document per article, at the article's
//! current revision (`rongmei index check`), and a search finds every stored article containing
//! the query.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{Value, json};

use crate::crash::{Proc, setup_token, spawn};
use crate::harness::{corpus, run_index_check, urlencode};

fn articles(n: usize) -> Vec<Value> {
    let raw = std::fs::read_to_string(corpus("zh_peoples_daily_199801.jsonl")).unwrap();
    raw.lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|j| j["subtitle"].as_str().unwrap_or("").chars().count() <= 500)
        .take(n)
        .map(|j| {
            let body = j["body"].as_str().unwrap_or("").to_string();
            let mut title = j["title"].as_str().unwrap_or("").trim().to_string();
            if title.is_empty() {
                title = body.replace('\n', " ").chars().take(30).collect();
            }
            json!({"outlet": "tv", "title": title, "body": body})
        })
        .collect()
}

async fn get(client: &reqwest::Client, base: &str, token: &str, path: &str) -> Value {
    client
        .get(format!("{base}{path}"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

/// Wait (server side, with a deadline) for the index to reach the log head.
async fn caught_up(client: &reqwest::Client, p: &Proc, token: &str) -> Value {
    let st = get(client, &p.base, token, "/api/v1/search/status").await;
    let head = st["log_lsn"].as_u64().unwrap();
    // Each wait stays within the client's timeout; a slow (debug, loaded) machine gets several.
    let mut st = st;
    for _ in 0..6 {
        st = get(
            client,
            &p.base,
            token,
            &format!("/api/v1/search/status?wait_for_lsn={head}&timeout_ms=10000"),
        )
        .await;
        if st["indexed_lsn"].as_u64().unwrap() >= head {
            break;
        }
    }
    assert!(
        st["indexed_lsn"].as_u64().unwrap() >= head,
        "the index did not catch up: {st}"
    );
    st
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_while_indexing_leaves_an_index_equal_to_the_store() {
    let dir = tempfile::tempdir().unwrap();
    let first = spawn(dir.path());
    let token = setup_token(&first.base, first.password.as_deref().unwrap()).await;
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(20))
        .build()
        .unwrap();
    let all = Arc::new(articles(2400));
    let next = Arc::new(Mutex::new(0usize));
    let created: Arc<Mutex<Vec<(u64, usize)>>> = Arc::default();
    let edited: Arc<Mutex<Vec<u64>>> = Arc::default();
    let mut proc = first;
    let mut behind_at_kill = 0u64;
    for cycle in 0..3 {
        if cycle > 0 {
            proc = spawn(dir.path());
        }
        let mut tasks = Vec::new();
        for _ in 0..12 {
            let (client, base, token, all, next, created, edited) = (
                client.clone(),
                proc.base.clone(),
                token.clone(),
                all.clone(),
                next.clone(),
                created.clone(),
                edited.clone(),
            );
            tasks.push(tokio::spawn(async move {
                loop {
                    let i = {
                        let mut n = next.lock().unwrap();
                        if *n >= all.len() {
                            return;
                        }
                        *n += 1;
                        *n - 1
                    };
                    let Ok(r) = client
                        .post(format!("{base}/api/v1/articles"))
                        .bearer_auth(&token)
                        .json(&all[i])
                        .send()
                        .await
                    else {
                        return;
                    };
                    if r.status().as_u16() != 201 {
                        return;
                    }
                    let Ok(v) = r.json::<Value>().await else {
                        return;
                    };
                    let id = v["id"].as_u64().unwrap();
                    created.lock().unwrap().push((id, i));
                    // Every fifth article is edited once: the index must end at revision 2.
                    if i % 5 == 0 {
                        let mut edit = all[i].clone();
                        edit.as_object_mut().unwrap().remove("outlet");
                        edit["base_revision"] = json!(1);
                        edit["title"] =
                            json!(format!("{}（修订）", all[i]["title"].as_str().unwrap()));
                        let Ok(r) = client
                            .put(format!("{base}/api/v1/articles/{id}"))
                            .bearer_auth(&token)
                            .json(&edit)
                            .send()
                            .await
                        else {
                            return;
                        };
                        if r.status().as_u16() == 200 {
                            edited.lock().unwrap().push(id);
                        } else {
                            return;
                        }
                    }
                }
            }));
        }
        // Kill once the load has run for a while and the index is behind the log.
        let target = (cycle + 1) * all.len() / 4;
        loop {
            let done = created.lock().unwrap().len();
            if done >= target || tasks.iter().all(|t| t.is_finished()) {
                break;
            }
            tokio::task::yield_now().await;
            let _ = get(&client, &proc.base, &token, "/api/v1/search/status").await;
        }
        let st = get(&client, &proc.base, &token, "/api/v1/search/status").await;
        behind_at_kill +=
            st["log_lsn"].as_u64().unwrap_or(0) - st["indexed_lsn"].as_u64().unwrap_or(0);
        proc.child.kill().unwrap(); // SIGKILL
        proc.child.wait().unwrap();
        for t in tasks {
            let _ = t.await;
        }
    }
    // Finish the load on a last run, then let the index catch up.
    let last = spawn(dir.path());
    let st = caught_up(&client, &last, &token).await;
    let created = created.lock().unwrap().clone();
    let edited = edited.lock().unwrap().len();
    assert!(created.len() > 500, "too few writes: {}", created.len());
    assert!(edited > 50, "too few edits: {edited}");

    // A search finds every stored article that contains the query, no more.
    let list_total = |v: &Value| v["total"].as_u64().unwrap();
    let everything = get(
        &client,
        &last.base,
        &token,
        "/api/v1/search?size=1&facets=false",
    )
    .await;
    assert!(
        list_total(&everything) >= created.len() as u64,
        "{everything} {st}"
    );
    for q in ["经济", "香港", "春节"] {
        let v = get(
            &client,
            &last.base,
            &token,
            &format!("/api/v1/search?q={}&size=1&facets=false", urlencode(q)),
        )
        .await;
        // Acknowledged creates are a lower bound (a create may commit without its reply).
        let acked = created
            .iter()
            .filter(|(_, i)| {
                let a = &all[*i];
                a["title"].as_str().unwrap().contains(q) || a["body"].as_str().unwrap().contains(q)
            })
            .count() as u64;
        assert!(list_total(&v) >= acked, "{q}: {} < {acked}", list_total(&v));
    }

    // Graceful stop, then compare the index with the store document by document.
    let mut last = last;
    crate::crash::stop(&mut last);
    let (ok, out) = run_index_check(dir.path());
    assert!(ok, "index differs from the store:\n{out}");
    assert!(out.contains("(0 entries applied to catch up)"), "{out}");
    eprintln!(
        "search crash test: 3 SIGKILLs ({behind_at_kill} log entries not yet indexed at the kills), {} acknowledged creates, {edited} edits; {}",
        created.len(),
        out.lines().next().unwrap_or("")
    );
}
