//! `rongmei bench review`: N articles (People's Daily text) in four outlets, a share of them in
//! review at different levels of the default 三审 chain, and planned topics in every state;
//! then HTTP latency of the "my reviews" queue, an article's review panel, the planning board
//! and the planning calendar for the outlets' editors and chief editors.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use super::bench::{BenchServer, percentile};
use crate::clock::Stopwatch;
use crate::domain::user::Role;
use crate::domain::{ArticleId, OutletId};
use crate::store::access;
use crate::workflow::import::{ImportItem, import_batch};
use crate::workflow::users::NewUser;
use crate::workflow::{Actor, Core, outlets, review, users};

#[derive(clap::Args)]
pub struct ReviewArgs {
    /// Articles in the store.
    #[arg(long, default_value_t = 100_000)]
    articles: usize,
    /// Share of them submitted for review.
    #[arg(long, default_value_t = 0.1)]
    in_review: f64,
    /// Planned topics (选题), spread over the outlets and every board column.
    #[arg(long, default_value_t = 10_000)]
    topics: usize,
    /// Requests per measured endpoint.
    #[arg(long, default_value_t = 2_000)]
    requests: usize,
    #[arg(long, default_value = "../shared/corpus/zh_peoples_daily_199801.jsonl")]
    corpus: PathBuf,
    /// Data dir to use (default: a fresh temporary one, removed afterwards).
    #[arg(long)]
    data_dir: Option<PathBuf>,
}

const OUTLETS: [&str; 4] = ["tv", "radio", "app", "web"];
const EDITORS: usize = 5;
const CHIEFS: usize = 2;
const PASSWORD: &str = "bench-review-password";

fn actor(core: &Core, name: &str) -> anyhow::Result<Actor> {
    let user = access::user_by_name(&core.reader()?.0, name)?
        .ok_or_else(|| anyhow::anyhow!("no user {name}"))?;
    Ok(Actor { user, scopes: None })
}

/// Outlets, and per outlet a reporter, editors and chief editors sharing one password.
async fn staff(core: &Core) -> anyhow::Result<Vec<OutletId>> {
    let admin = actor(core, users::INITIAL_ADMIN)?;
    let phc = crate::domain::credentials::hash_password(PASSWORD)?;
    let mut ids = Vec::new();
    for slug in OUTLETS {
        let a = admin.clone();
        let o = core
            .committer
            .write(move |w| {
                outlets::create(w, &a, slug, slug, crate::domain::outlet::OutletKind::Tv)
            })
            .await?;
        ids.push(o.id);
        let mut people = vec![(format!("{slug}-reporter"), Role::Reporter)];
        people.extend((0..EDITORS).map(|i| (format!("{slug}-editor{i}"), Role::Editor)));
        people.extend((0..CHIEFS).map(|i| (format!("{slug}-chief{i}"), Role::ChiefEditor)));
        for (name, role) in people {
            let (a, phc) = (admin.clone(), phc.clone());
            let n = NewUser {
                username: name.clone(),
                display_name: name,
                instance_admin: false,
                roles: BTreeMap::from([(o.id, role)]),
                phc,
            };
            core.committer
                .write(move |w| users::create(w, &a, &n))
                .await?;
        }
    }
    Ok(ids)
}

/// Import `n` articles round-robin into the outlets, as each outlet's reporter.
async fn import(
    core: &Core,
    outlets: &[OutletId],
    corpus: &PathBuf,
    n: usize,
) -> anyhow::Result<f64> {
    let text = std::fs::read_to_string(corpus)
        .map_err(|e| anyhow::anyhow!("cannot read corpus {}: {e}", corpus.display()))?;
    let items: Vec<ImportItem> = text
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect();
    anyhow::ensure!(!items.is_empty(), "no articles in {}", corpus.display());
    let sw = Stopwatch::start();
    let per = n.div_ceil(outlets.len());
    for (k, &o) in outlets.iter().enumerate() {
        let reporter = actor(core, &format!("{}-reporter", OUTLETS[k]))?;
        for start in (0..per).step_by(500) {
            let batch: Vec<ImportItem> = (start..(start + 500).min(per))
                .map(|i| {
                    let mut it = items[(i + k * 7) % items.len()].clone();
                    it.id = serde_json::Value::String(format!("{}#{k}-{i}", it.source_id()));
                    it
                })
                .collect();
            let (a, batch) = (reporter.clone(), Arc::new(batch));
            core.committer
                .write(move |w| import_batch(w, &a, o, &batch, &mut |_, _| {}))
                .await?;
        }
    }
    Ok((per * outlets.len()) as f64 / sw.elapsed().as_secs_f64())
}

/// Submit a share of each outlet's articles and move some to 复审 and 终审.
async fn put_in_review(core: &Core, share: f64) -> anyhow::Result<Vec<(ArticleId, usize)>> {
    let r = core.reader()?;
    let mut by_outlet: BTreeMap<OutletId, Vec<ArticleId>> = BTreeMap::new();
    r.for_each_article(|a| {
        by_outlet.entry(a.outlet).or_default().push(a.id);
        Ok(())
    })?;
    drop(r);
    let mut rng = StdRng::seed_from_u64(5);
    let mut in_review = Vec::new();
    for (k, ids) in by_outlet.values().enumerate() {
        let slug = OUTLETS[k % OUTLETS.len()];
        let reporter = actor(core, &format!("{slug}-reporter"))?;
        let take: Vec<ArticleId> = ids
            .iter()
            .copied()
            .filter(|_| rng.random_bool(share))
            .collect();
        for chunk in take.chunks(500) {
            let (a, chunk) = (reporter.clone(), chunk.to_vec());
            core.committer
                .write(move |w| {
                    for id in &chunk {
                        review::submit(w, &a, *id, 1, None, "", &Default::default())?;
                    }
                    Ok(())
                })
                .await?;
        }
        // A third stays at 初审, a third moves to 复审, a third to 终审.
        let editor = actor(core, &format!("{slug}-editor0"))?;
        let chief = actor(core, &format!("{slug}-chief0"))?;
        let later: Vec<ArticleId> = take.iter().copied().skip(take.len() / 3).collect();
        let last: Vec<ArticleId> = later.iter().copied().skip(later.len() / 2).collect();
        for (who, level, ids) in [(editor, 0u8, later), (chief, 1u8, last)] {
            for chunk in ids.chunks(500) {
                let (a, chunk) = (who.clone(), chunk.to_vec());
                core.committer
                    .write(move |w| {
                        for id in &chunk {
                            review::approve(w, &a, *id, level, 1, "", &Default::default())?;
                        }
                        Ok(())
                    })
                    .await?;
            }
        }
        in_review.extend(take.into_iter().map(|id| (id, k)));
    }
    Ok(in_review)
}

/// Plan `n` topics: proposed by reporters, most decided by editors, some assigned, some
/// moved on to in progress, done, rejected or cancelled; deadlines within ±60 days of now.
async fn plan(core: &Core, outlets: &[OutletId], n: usize) -> anyhow::Result<()> {
    use crate::domain::topic::{Assignment, Duty, Move};
    use crate::workflow::topics::{self, TopicInput};
    let mut rng = StdRng::seed_from_u64(11);
    let now = core.clock.now();
    const DAY: i64 = 86_400_000;
    for (k, &o) in outlets.iter().enumerate() {
        let slug = OUTLETS[k];
        let reporter = actor(core, &format!("{slug}-reporter"))?;
        let editor = actor(core, &format!("{slug}-editor0"))?;
        let per = n.div_ceil(outlets.len());
        let plans: Vec<(i64, u8)> = (0..per)
            .map(|_| (rng.random_range(-60..60), rng.random_range(0..10u8)))
            .collect();
        for chunk in plans.chunks(250) {
            let (r, e, chunk) = (reporter.clone(), editor.clone(), chunk.to_vec());
            core.committer
                .write(move |w| {
                    for (i, (days, fate)) in chunk.iter().enumerate() {
                        let deadline = now + days * DAY + i as i64;
                        let input = TopicInput {
                            outlets: vec![o],
                            title: format!("选题 {days} 天 #{i}"),
                            angle: "报道角度".into(),
                            channels: vec!["图文".into()],
                            deadline: Some(deadline),
                            publish_at: Some(deadline + DAY),
                            ..TopicInput::default()
                        };
                        let mut t = topics::propose(w, &r, input.clone())?;
                        let moves: &[Move] = match fate {
                            0 | 1 => &[],
                            2 => &[Move::Reject],
                            3 => &[Move::Cancel],
                            4 | 5 => &[Move::Approve],
                            6 | 7 => &[Move::Approve, Move::Start],
                            _ => &[Move::Approve, Move::Start, Move::Complete],
                        };
                        for m in moves {
                            if *m == Move::Start {
                                let mut assign = input.clone();
                                assign.assignments = vec![Assignment {
                                    user: r.id(),
                                    duty: Duty::Reporter,
                                    deadline: Some(deadline - DAY),
                                    note: String::new(),
                                }];
                                t = topics::update(w, &e, t.id, t.revision, assign)?;
                            }
                            t = topics::move_to(w, &e, t.id, t.revision, *m, "bench")?;
                        }
                    }
                    Ok(())
                })
                .await?;
        }
    }
    Ok(())
}

async fn login(client: &reqwest::Client, base: &str, user: &str) -> anyhow::Result<String> {
    let r = client
        .post(format!("{base}/api/v1/session"))
        .json(&serde_json::json!({"username": user, "password": PASSWORD}))
        .send()
        .await?
        .error_for_status()?;
    Ok(r.headers()
        .get(reqwest::header::SET_COOKIE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .unwrap_or_default()
        .to_string())
}

async fn measure(
    client: &reqwest::Client,
    base: &str,
    label: &str,
    n: usize,
    mut next: impl FnMut(usize) -> (String, String),
) -> anyhow::Result<()> {
    let mut lat = Vec::with_capacity(n);
    let mut items = 0usize;
    for i in 0..n {
        let (cookie, path) = next(i);
        let sw = Stopwatch::start();
        let r = client
            .get(format!("{base}{path}"))
            .header("cookie", cookie)
            .send()
            .await?;
        anyhow::ensure!(r.status().is_success(), "{path}: {}", r.status());
        let v: serde_json::Value = r.json().await?;
        lat.push(sw.elapsed_us());
        items += v["items"].as_array().map_or(0, Vec::len);
        items += v["columns"].as_array().map_or(0, |cols| {
            cols.iter()
                .map(|c| c["topics"].as_array().map_or(0, Vec::len))
                .sum()
        });
    }
    lat.sort_unstable();
    println!(
        "{label}: {n} requests, p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms{}",
        percentile(&lat, 0.5),
        percentile(&lat, 0.99),
        percentile(&lat, 1.0),
        if items > 0 {
            format!(" ({:.0} items per page)", items as f64 / n as f64)
        } else {
            String::new()
        }
    );
    Ok(())
}

pub async fn review_bench(args: ReviewArgs) -> anyhow::Result<ExitCode> {
    let server = BenchServer::start("review", args.data_dir.clone()).await?;
    let core = server.running.core.clone();
    let base = server.base.clone();
    println!(
        "rongmei bench review — {} cores, {} articles in {} outlets, {:.0}% in review",
        std::thread::available_parallelism().map_or(1, |n| n.get()),
        args.articles,
        OUTLETS.len(),
        args.in_review * 100.0
    );
    let outlets = staff(&core).await?;
    let rate = import(&core, &outlets, &args.corpus, args.articles).await?;
    println!("import: {rate:.0} articles/s");
    let sw = Stopwatch::start();
    let ids = put_in_review(&core, args.in_review).await?;
    println!(
        "review: {} submitted, two thirds approved onward, in {:.1} s",
        ids.len(),
        sw.elapsed().as_secs_f64()
    );
    let sw = Stopwatch::start();
    plan(&core, &outlets, args.topics).await?;
    println!(
        "planning: {} topics in all board columns, in {:.1} s",
        args.topics,
        sw.elapsed().as_secs_f64()
    );
    let client = reqwest::Client::new();
    let mut cookies = Vec::new();
    for slug in OUTLETS {
        for i in 0..EDITORS {
            cookies.push(login(&client, &base, &format!("{slug}-editor{i}")).await?);
        }
        for i in 0..CHIEFS {
            cookies.push(login(&client, &base, &format!("{slug}-chief{i}")).await?);
        }
    }
    let first: serde_json::Value = client
        .get(format!("{base}/api/v1/reviews/mine"))
        .header("cookie", &cookies[1])
        .send()
        .await?
        .json()
        .await?;
    println!(
        "an editor's queue: {} pending (first page {} items)",
        first["total"],
        first["items"].as_array().map_or(0, Vec::len)
    );
    let mut rng = StdRng::seed_from_u64(7);
    let picks: Vec<usize> = (0..args.requests)
        .map(|_| rng.random_range(0..cookies.len()))
        .collect();
    measure(
        &client,
        &base,
        "GET /reviews/mine (50 per page)",
        args.requests,
        |i| {
            (
                cookies[picks[i]].clone(),
                "/api/v1/reviews/mine?limit=50".into(),
            )
        },
    )
    .await?;
    let staff = EDITORS + CHIEFS;
    let arts: Vec<(u64, usize)> = (0..args.requests)
        .map(|_| {
            let (id, k) = ids[rng.random_range(0..ids.len())];
            (id.0, k * staff + rng.random_range(0..staff))
        })
        .collect();
    // Each request by a member of the article's outlet.
    measure(
        &client,
        &base,
        "GET /articles/{id}/review (panel)",
        args.requests,
        |i| {
            (
                cookies[arts[i].1].clone(),
                format!("/api/v1/articles/{}/review", arts[i].0),
            )
        },
    )
    .await?;
    measure(
        &client,
        &base,
        "GET /topics/board (6 columns, 50 per column)",
        args.requests,
        |i| (cookies[picks[i]].clone(), "/api/v1/topics/board".into()),
    )
    .await?;
    let from = crate::clock::rfc3339(core.clock.now() - 7 * 86_400_000);
    let to = crate::clock::rfc3339(core.clock.now() + 24 * 86_400_000);
    measure(
        &client,
        &base,
        "GET /topics/calendar (one month)",
        args.requests,
        |i| {
            (
                cookies[picks[i]].clone(),
                format!(
                    "/api/v1/topics/calendar?from={}&to={}",
                    percent_encoding::utf8_percent_encode(
                        &from,
                        percent_encoding::NON_ALPHANUMERIC
                    ),
                    percent_encoding::utf8_percent_encode(&to, percent_encoding::NON_ALPHANUMERIC)
                ),
            )
        },
    )
    .await?;
    println!("process RSS {:.0} MiB", super::bench_search::rss_mib());
    drop(core); // the writer thread ends when the last handle is gone
    server.stop().await?;
    Ok(ExitCode::SUCCESS)
}
