//! State-machine property: over random sequences of API calls by random users (with concurrent
//! approvals of the same level), no article reaches `approved` or `published` unless every level
//! of its chain version was closed by distinct users allowed there, in the level's quorum, and
//! nobody approved their own article.

use std::collections::{BTreeSet, HashMap};

use proptest::prelude::*;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::harness::*;

/// (username, outlet slug, role)
const USERS: [(&str, &str, &str); 8] = [
    ("r1", "tv", "reporter"),
    ("r2", "tv", "reporter"),
    ("e1", "tv", "editor"),
    ("e2", "tv", "editor"),
    ("e3", "tv", "editor"),
    ("c1", "tv", "chief_editor"),
    ("c2", "tv", "chief_editor"),
    ("z1", "center", "chief_editor"),
];

#[derive(Debug, Clone)]
enum Op {
    Submit(usize, usize),
    Approve(usize, usize, Option<u64>),
    Return(usize, usize),
    Withdraw(usize, usize),
    Edit(usize, usize),
    Publish(usize, usize),
    Correct(usize, usize),
    /// Several users approve the same level at once.
    Race(usize, Vec<usize>),
}

fn op() -> impl Strategy<Value = Op> {
    let (a, u) = (0..3usize, 0..USERS.len());
    prop_oneof![
        3 => (a.clone(), u.clone()).prop_map(|(a, u)| Op::Submit(a, u)),
        6 => (a.clone(), u.clone(), proptest::option::weighted(0.2, 0..3u64)).prop_map(|(a, u, l)| Op::Approve(a, u, l)),
        1 => (a.clone(), u.clone()).prop_map(|(a, u)| Op::Return(a, u)),
        1 => (a.clone(), u.clone()).prop_map(|(a, u)| Op::Withdraw(a, u)),
        1 => (a.clone(), u.clone()).prop_map(|(a, u)| Op::Edit(a, u)),
        2 => (a.clone(), u.clone()).prop_map(|(a, u)| Op::Publish(a, u)),
        1 => (a.clone(), u.clone()).prop_map(|(a, u)| Op::Correct(a, u)),
        3 => (a, proptest::collection::btree_set(2..USERS.len(), 2..4)).prop_map(|(a, us)| Op::Race(a, us.into_iter().collect())),
    ]
}

struct World {
    s: TestServer,
    admin: Client,
    clients: Vec<Client>,
    ids: Vec<u64>,
    articles: Vec<u64>,
}

fn level(
    name: &str,
    outlet: u64,
    roles: &[&str],
    users: &[u64],
    quorum: Value,
    back: Value,
) -> Value {
    json!({"name": name, "kind": "review", "site": {"type": "outlet", "outlet": outlet}, "roles": roles,
           "users": users, "quorum": quorum, "deadline_hours": 4, "send_back": back})
}

async fn world() -> World {
    let s = TestServer::start().await;
    let admin = s.admin().await;
    let mut outlets = HashMap::new();
    for o in ["tv", "center"] {
        outlets.insert(o.to_string(), create_outlet(&admin, o).await);
    }
    let (mut clients, mut ids) = (Vec::new(), Vec::new());
    for (name, outlet, role) in USERS {
        let (id, pw) = create_user(&admin, name, outlets[outlet], role).await;
        ids.push(id);
        clients.push(s.login(name, &pw).await);
    }
    // 初审 any editor; 复审 two of the editors and chief editors (back to 初审); 终审 at the
    // center: all of its chief editors plus c1 by name.
    let chain = json!({"slug": "prop", "name": "性质", "is_default": true, "levels": [
        level("初审", outlets["tv"], &["editor"], &[], json!({"type": "any"}), json!({"type": "author"})),
        level("复审", outlets["tv"], &["editor", "chief_editor"], &[], json!({"type": "at_least", "k": 2}), json!({"type": "level", "index": 0})),
        level("终审", outlets["center"], &["chief_editor"], &[ids[5]], json!({"type": "all"}), json!({"type": "author"})),
    ]});
    let (st, c) = admin.post("/api/v1/outlets/tv/chains", chain).await;
    assert_eq!(st, StatusCode::CREATED, "{c}");
    let mut articles = Vec::new();
    for (i, author) in [0usize, 1, 2].into_iter().enumerate() {
        let a = create_article(&clients[author], "tv", &format!("性质测试稿件{i}")).await;
        articles.push(a["id"].as_u64().unwrap());
    }
    World {
        s,
        admin,
        clients,
        ids,
        articles,
    }
}

async fn current(w: &World, a: usize) -> (u64, u64) {
    let id = w.articles[a];
    let (_, art) = w.admin.get(&format!("/api/v1/articles/{id}")).await;
    let (_, r) = w.admin.get(&format!("/api/v1/articles/{id}/review")).await;
    (
        art["revision"].as_u64().unwrap_or(1),
        r["level"].as_u64().unwrap_or(0),
    )
}

async fn call(c: &Client, id: u64, action: &str, body: Value) {
    let (st, v) = c
        .post(&format!("/api/v1/articles/{id}/{action}"), body)
        .await;
    assert!(
        st.is_success() || st.is_client_error(),
        "{action}: {st} {v}"
    );
    if st.is_client_error() {
        assert!(v["code"].is_string(), "{v}");
    }
}

async fn apply(w: &World, op: &Op) {
    match op {
        Op::Submit(a, u) => {
            let (rev, _) = current(w, *a).await;
            call(
                &w.clients[*u],
                w.articles[*a],
                "submit",
                json!({"revision": rev}),
            )
            .await;
        }
        Op::Approve(a, u, guess) => {
            let (rev, level) = current(w, *a).await;
            let level = guess.unwrap_or(level);
            call(
                &w.clients[*u],
                w.articles[*a],
                "approve",
                json!({"revision": rev, "level": level}),
            )
            .await;
        }
        Op::Return(a, u) => {
            let (rev, level) = current(w, *a).await;
            call(
                &w.clients[*u],
                w.articles[*a],
                "return",
                json!({"revision": rev, "level": level, "comment": "改"}),
            )
            .await;
        }
        Op::Withdraw(a, u) => call(&w.clients[*u], w.articles[*a], "withdraw", json!({})).await,
        Op::Edit(a, u) => {
            let (rev, _) = current(w, *a).await;
            let (st, v) = w.clients[*u]
                .put(
                    &format!("/api/v1/articles/{}", w.articles[*a]),
                    json!({"base_revision": rev, "title": format!("改于{rev}")}),
                )
                .await;
            assert!(st.is_success() || st.is_client_error(), "{v}");
        }
        Op::Publish(a, u) => {
            let (rev, _) = current(w, *a).await;
            call(
                &w.clients[*u],
                w.articles[*a],
                "publish",
                json!({"revision": rev}),
            )
            .await;
        }
        Op::Correct(a, u) => {
            call(
                &w.clients[*u],
                w.articles[*a],
                "correction",
                json!({"comment": "更正"}),
            )
            .await
        }
        Op::Race(a, us) => {
            let (rev, level) = current(w, *a).await;
            let body = json!({"revision": rev, "level": level});
            let calls = us
                .iter()
                .map(|u| call(&w.clients[*u], w.articles[*a], "approve", body.clone()));
            futures_util::future::join_all(calls).await;
        }
    }
}

/// May user `u` act at level `l` of the "prop" chain (the test's own model of the rules)?
fn allowed(l: usize, u: usize, authors: &BTreeSet<u64>, ids: &[u64]) -> bool {
    let (_, outlet, role) = USERS[u];
    if authors.contains(&ids[u]) {
        return false;
    }
    match l {
        0 => outlet == "tv" && role == "editor",
        1 => outlet == "tv" && (role == "editor" || role == "chief_editor"),
        _ => (outlet == "center" && role == "chief_editor") || u == 5,
    }
}

async fn verify(w: &World) -> usize {
    let mut approved = 0;
    for &id in &w.articles {
        let (_, art) = w.admin.get(&format!("/api/v1/articles/{id}")).await;
        let status = art["status"].as_str().unwrap().to_string();
        let settled = status == "approved" || status == "published";
        if !settled {
            continue;
        }
        approved += 1;
        let authors: BTreeSet<u64> = art["authors"]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x.as_u64().unwrap())
            .chain(art["created_by"].as_u64())
            .collect();
        let (_, r) = w.admin.get(&format!("/api/v1/articles/{id}/review")).await;
        assert_eq!(
            r["state"], "approved",
            "{status} without an approved review: {r}"
        );
        let levels = r["levels"].as_array().unwrap();
        if r["chain"]["slug"] != "prop" {
            continue; // the default chain: covered by the API tests
        }
        assert_eq!(levels.len(), 3);
        for (l, lv) in levels.iter().enumerate() {
            assert_eq!(lv["state"], "passed", "level {l} of {id}: {r}");
            let approvers: Vec<u64> = lv["approvals"]
                .as_array()
                .unwrap()
                .iter()
                .map(|a| a["user"].as_u64().unwrap())
                .collect();
            let distinct: BTreeSet<u64> = approvers.iter().copied().collect();
            assert_eq!(
                distinct.len(),
                approvers.len(),
                "a user counted twice at level {l}: {r}"
            );
            for a in &approvers {
                let u = w.ids.iter().position(|x| x == a).unwrap();
                assert!(
                    allowed(l, u, &authors, &w.ids),
                    "{} may not act at level {l} of {id}: {r}",
                    USERS[u].0
                );
            }
            let eligible = (0..USERS.len())
                .filter(|u| allowed(l, *u, &authors, &w.ids))
                .count();
            let need = match l {
                0 => 1,
                1 => 2,
                _ => eligible,
            };
            assert!(
                approvers.len() >= need,
                "quorum of level {l} of {id} not met: {r}"
            );
        }
        // The trail agrees: each recorded approval is a ReviewApproved entry by that user.
        let (_, au) = w
            .admin
            .get(&format!(
                "/api/v1/articles/{id}/audit?kind=ReviewApproved&limit=500"
            ))
            .await;
        let by: BTreeSet<(u64, String)> = au["rows"]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| {
                (
                    x["actor"].as_u64().unwrap(),
                    x["level"].as_str().unwrap().to_string(),
                )
            })
            .collect();
        for lv in levels {
            for a in lv["approvals"].as_array().unwrap() {
                assert!(by.contains(&(
                    a["user"].as_u64().unwrap(),
                    lv["name"].as_str().unwrap().to_string()
                )));
            }
        }
    }
    approved
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 12, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn no_article_is_approved_without_every_level_satisfied(ops in proptest::collection::vec(op(), 10..60)) {
        let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
        rt.block_on(async {
            let w = world().await;
            for o in &ops {
                apply(&w, o).await;
            }
            verify(&w).await;
            let dir = w.s.stop().await;
            let (good, out) = run_check(dir.path());
            assert!(good, "{out}");
        });
    }
}

/// A fixed script through the same checker, so the property is known to see approvals at all.
#[tokio::test]
async fn the_checker_accepts_a_proper_approval_and_counts_it() {
    let w = world().await;
    let script = [
        Op::Submit(0, 0),
        Op::Race(0, vec![2, 3]),
        Op::Race(0, vec![3, 4, 5]),
        Op::Approve(0, 7, None),
        Op::Approve(0, 5, None),
        Op::Publish(0, 2),
    ];
    for o in &script {
        apply(&w, o).await;
    }
    assert_eq!(verify(&w).await, 1);
    w.s.stop().await;
}
