//! `rongmei bench search`: load the People's Daily corpus (repeated with varied ids up to N
//! articles) and the BBC corpus through the real import path into an in-process server on
//! loopback, then print indexing throughput (following the log, and a rebuild from the store),
//! write → searchable latency, and HTTP query latency for a mixed query set.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use super::bench::{BenchServer, percentile, setup};
use crate::clock::Stopwatch;
use crate::search::State;
use crate::search::analyze::is_han;
use crate::store::access;
use crate::workflow::import::{ImportItem, import_batch};
use crate::workflow::{Actor, outlets, users};

#[derive(clap::Args)]
pub struct SearchArgs {
    /// Chinese articles to load (the corpus repeated with varied ids and dates).
    #[arg(long, default_value_t = 100_000)]
    articles: usize,
    /// Queries in the latency phase.
    #[arg(long, default_value_t = 2_000)]
    queries: usize,
    /// Creates in the write → searchable phase.
    #[arg(long, default_value_t = 300)]
    visibility: usize,
    #[arg(long, default_value = "../shared/corpus/zh_peoples_daily_199801.jsonl")]
    corpus: PathBuf,
    #[arg(long, default_value = "../shared/corpus/en_bbc_2225.jsonl")]
    english: PathBuf,
    /// Data dir to use (default: a fresh temporary one, removed afterwards).
    #[arg(long)]
    data_dir: Option<PathBuf>,
}

fn load(path: &Path) -> anyhow::Result<Vec<ImportItem>> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| anyhow::anyhow!("cannot read corpus {}: {e}", path.display()))?;
    Ok(text
        .lines()
        .filter_map(|l| serde_json::from_str::<ImportItem>(l).ok())
        .collect())
}

fn ms(us: &mut [u64]) -> (f64, f64, f64) {
    us.sort_unstable();
    (
        percentile(us, 0.5),
        percentile(us, 0.99),
        percentile(us, 1.0),
    )
}

fn dir_size(p: &Path) -> u64 {
    let mut total = 0;
    let mut stack = vec![p.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            match e.metadata() {
                Ok(m) if m.is_dir() => stack.push(e.path()),
                Ok(m) => total += m.len(),
                Err(_) => {}
            }
        }
    }
    total
}

pub(super) fn rss_mib() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<f64>().ok())
        })
        .map_or(0.0, |kb| kb / 1024.0)
}

/// A run of Han characters of `len` from a random place in `text`, if there is one.
fn han_substring(rng: &mut StdRng, text: &str, len: usize) -> Option<String> {
    let chars: Vec<char> = text.chars().collect();
    for _ in 0..20 {
        if chars.len() <= len {
            return None;
        }
        let at = rng.random_range(0..chars.len() - len);
        let s = &chars[at..at + len];
        if s.iter().all(|c| is_han(*c)) {
            return Some(s.iter().collect());
        }
    }
    None
}

fn english_word(rng: &mut StdRng, text: &str) -> Option<String> {
    let words: Vec<&str> = text
        .split(|c: char| !c.is_ascii_alphabetic())
        .filter(|w| w.len() >= 5)
        .collect();
    (!words.is_empty()).then(|| words[rng.random_range(0..words.len())].to_lowercase())
}

/// The mixed query set: (label, query string).
fn queries(n: usize, zh: &[ImportItem], en: &[ImportItem]) -> Vec<(&'static str, String)> {
    let mut rng = StdRng::seed_from_u64(1998);
    let mut out = Vec::with_capacity(n);
    let enc = |s: &str| {
        percent_encoding::utf8_percent_encode(s, percent_encoding::NON_ALPHANUMERIC).to_string()
    };
    while out.len() < n {
        let d = &zh[rng.random_range(0..zh.len())];
        let text = format!(
            "{} {}",
            d.title.clone().unwrap_or_default(),
            d.body.clone().unwrap_or_default()
        );
        let e = &en[rng.random_range(0..en.len().max(1))];
        let etext = format!(
            "{} {}",
            e.title.clone().unwrap_or_default(),
            e.body.clone().unwrap_or_default()
        );
        let kind = rng.random_range(0..100);
        let q = if kind < 40 {
            let len = rng.random_range(1..=6);
            han_substring(&mut rng, &text, len).map(|s| ("zh 1-6 chars", format!("q={}", enc(&s))))
        } else if kind < 52 {
            let len = rng.random_range(3..=8);
            han_substring(&mut rng, &text, len)
                .map(|s| ("zh phrase", format!("q={}", enc(&format!("\"{s}\"")))))
        } else if kind < 67 {
            let len = rng.random_range(2..=4);
            han_substring(&mut rng, &text, len).map(|s| {
                let month = rng.random_range(1..=12);
                (
                    "zh filtered",
                    format!(
                        "q={}&outlet=news&from=1998-{month:02}-01&to=1998-{month:02}-28&sort=newest",
                        enc(&s)
                    ),
                )
            })
        } else if kind < 77 {
            let a = han_substring(&mut rng, &text, 2);
            let b = han_substring(&mut rng, &text, 2);
            a.zip(b).map(|(a, b)| {
                let op = if rng.random_bool(0.5) { " OR " } else { " -" };
                ("zh boolean", format!("q={}", enc(&format!("{a}{op}{b}"))))
            })
        } else {
            let w1 = english_word(&mut rng, &etext);
            let w2 = english_word(&mut rng, &etext);
            w1.zip(w2).map(|(a, b)| {
                if rng.random_bool(0.5) {
                    (
                        "en words",
                        format!("q={}&outlet=bbc", enc(&format!("{a} {b}"))),
                    )
                } else {
                    let cat = e.category.clone().unwrap_or_default();
                    (
                        "en filtered",
                        format!("q={}&outlet=bbc&category={}", enc(&a), enc(&cat)),
                    )
                }
            })
        };
        if let Some(q) = q {
            out.push(q);
        }
    }
    out
}

pub async fn search(args: SearchArgs) -> anyhow::Result<ExitCode> {
    let zh = load(&args.corpus)?;
    let en = load(&args.english)?;
    let server = BenchServer::start("search", args.data_dir.clone()).await?;
    let (base, data_dir) = (server.base.clone(), server.data_dir.clone());
    let client = reqwest::Client::builder().build()?;
    let token = setup(&client, &base, &server.password).await?;
    let core = server.running.core.clone();
    let idx = server.running.search.clone();
    println!(
        "rongmei bench search — {} cores; {} Chinese articles from {} ({} distinct), {} English from {}",
        std::thread::available_parallelism().map_or(1, |n| n.get()),
        args.articles,
        args.corpus.display(),
        zh.len(),
        en.len(),
        args.english.display()
    );

    // Outlets and the importing actor.
    let r = core.reader()?;
    let admin = access::user_by_name(&r.0, users::INITIAL_ADMIN)?
        .ok_or_else(|| anyhow::anyhow!("no admin"))?;
    drop(r);
    let actor = Actor {
        user: admin,
        scopes: None,
    };
    for (slug, name) in [("news", "人民日报"), ("bbc", "BBC")] {
        let a = actor.clone();
        core.committer
            .write(move |w| {
                outlets::create(w, &a, slug, name, crate::domain::outlet::OutletKind::Other)
            })
            .await?;
    }
    let outlet_of = |slug: &str| -> anyhow::Result<crate::domain::OutletId> {
        Ok(outlets::resolve(&core.reader()?.0, slug)?.id)
    };
    let (news, bbc) = (outlet_of("news")?, outlet_of("bbc")?);

    // Phase 1: import through the real path while the indexer follows the log.
    let mut batches: Vec<(crate::domain::OutletId, Vec<ImportItem>)> = Vec::new();
    let mut text_bytes = 0u64;
    let mut batch = Vec::with_capacity(500);
    for i in 0..args.articles {
        let rep = i / zh.len().max(1);
        let mut item = zh[i % zh.len()].clone();
        item.id = serde_json::Value::String(format!("{}#{rep}", item.source_id()));
        if rep > 0 {
            // Spread repetitions over the months of 1998 and later years.
            item.date = item.date.as_deref().map(|d| {
                let month = (rep % 12) + 1;
                let year = 1998 + rep / 12;
                format!("{year}-{month:02}{}", &d[7.min(d.len())..])
            });
        }
        text_bytes += (item.title.as_deref().map_or(0, str::len)
            + item.body.as_deref().map_or(0, str::len)) as u64;
        batch.push(item);
        if batch.len() == 500 {
            batches.push((news, std::mem::take(&mut batch)));
        }
    }
    if !batch.is_empty() {
        batches.push((news, batch));
    }
    for chunk in en.chunks(500) {
        text_bytes += chunk
            .iter()
            .map(|i| {
                (i.title.as_deref().map_or(0, str::len) + i.body.as_deref().map_or(0, str::len))
                    as u64
            })
            .sum::<u64>();
        batches.push((bbc, chunk.to_vec()));
    }
    let total_docs: u64 = batches.iter().map(|b| b.1.len() as u64).sum();
    let start_lsn = core.committer.log_watch().current();
    let sw = Stopwatch::start();
    let mut rejected = 0;
    for (outlet, items) in batches {
        let a = actor.clone();
        let items = Arc::new(items);
        let c = core
            .committer
            .write(move |w| import_batch(w, &a, outlet, &items, &mut |_, _| {}))
            .await?;
        rejected += c.rejected;
    }
    let import_secs = sw.elapsed().as_secs_f64();
    let head = core.committer.log_watch().current();
    let mut indexed = idx.indexed_watch();
    indexed.wait_for(|l| *l >= head).await?;
    let index_secs = sw.elapsed().as_secs_f64();
    let docs = total_docs - rejected;
    let mb = text_bytes as f64 / 1e6;
    println!(
        "import:   {docs} articles ({rejected} rejected) in {import_secs:.1} s = {:.0} articles/s ({} log entries)",
        docs as f64 / import_secs,
        head.0 - start_lsn.0
    );
    println!(
        "indexing (following the log during the import): {docs} docs, {mb:.0} MB of text, all searchable after {index_secs:.1} s = {:.0} docs/s, {:.1} MB/s",
        docs as f64 / index_secs,
        mb / index_secs
    );
    let status = idx.status();
    println!(
        "index:    {} docs, {:.0} MiB on disk; process RSS {:.0} MiB",
        status.docs,
        dir_size(&crate::search::index::root(&data_dir)) as f64 / 1048576.0,
        rss_mib()
    );

    // Phase 2: rebuild from the store while serving.
    idx.request_rebuild()?;
    let sw = Stopwatch::start();
    loop {
        tokio::time::sleep(Duration::from_millis(50)).await;
        let s = idx.status();
        if s.state == State::Ready && s.rebuild_reason.as_deref() == Some("requested") {
            break;
        }
        if s.state == State::Failed {
            anyhow::bail!("rebuild failed: {:?}", s.last_error);
        }
    }
    let secs = sw.elapsed().as_secs_f64();
    println!(
        "rebuild:  {} docs from the store in {secs:.1} s = {:.0} docs/s, {:.1} MB/s (searches kept using the old index meanwhile)",
        idx.status().docs,
        docs as f64 / secs,
        mb / secs
    );

    // Phase 3: write → searchable.
    let mut vis = Vec::with_capacity(args.visibility);
    for i in 0..args.visibility {
        let body = serde_json::json!({
            "outlet": "news",
            "title": format!("可见性测试稿件 {i}"),
            "body": format!("本报讯 编号 vis{i}x 的稿件写入后应当立即可以检索。"),
        });
        let sw = Stopwatch::start();
        let r = client
            .post(format!("{base}/api/v1/articles"))
            .bearer_auth(&token)
            .json(&body)
            .send()
            .await?;
        anyhow::ensure!(r.status().as_u16() == 201, "create failed: {}", r.status());
        let lsn = core.committer.log_watch().current();
        indexed.wait_for(|l| *l >= lsn).await?;
        vis.push(sw.elapsed_us());
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // The last one is found through the API.
    let last = format!("vis{}x", args.visibility.saturating_sub(1));
    let found: serde_json::Value = client
        .get(format!("{base}/api/v1/search?q={last}"))
        .bearer_auth(&token)
        .send()
        .await?
        .json()
        .await?;
    anyhow::ensure!(
        found["total"].as_u64() == Some(1),
        "the last write is not searchable: {found}"
    );
    let (p50, p99, max) = ms(&mut vis);
    println!(
        "write → searchable: {} creates, p50 {p50:.1} ms, p99 {p99:.1} ms, max {max:.1} ms (HTTP create + index commit + reader reload)",
        vis.len()
    );

    // Phase 4: HTTP query latency.
    let qs = queries(args.queries, &zh, &en);
    for (_, q) in qs.iter().take(50) {
        client
            .get(format!("{base}/api/v1/search?{q}"))
            .bearer_auth(&token)
            .send()
            .await?
            .error_for_status()?;
    }
    let mut by_kind: std::collections::BTreeMap<&str, Vec<u64>> = Default::default();
    let mut all = Vec::with_capacity(qs.len());
    let (mut zero, mut hits) = (0u64, 0u64);
    for (kind, q) in &qs {
        let sw = Stopwatch::start();
        let r = client
            .get(format!("{base}/api/v1/search?{q}"))
            .bearer_auth(&token)
            .send()
            .await?;
        anyhow::ensure!(r.status().is_success(), "query {q} failed: {}", r.status());
        let v: serde_json::Value = r.json().await?;
        let us = sw.elapsed_us();
        all.push(us);
        by_kind.entry(kind).or_default().push(us);
        let t = v["total"].as_u64().unwrap_or(0);
        hits += t;
        if t == 0 {
            zero += 1;
        }
    }
    let (p50, p99, max) = ms(&mut all);
    println!(
        "queries over HTTP (1 client, 20 hits + facet counts + highlights each): {} queries, p50 {p50:.2} ms, p99 {p99:.2} ms, max {max:.2} ms; mean {:.0} hits, {zero} with none",
        qs.len(),
        hits as f64 / qs.len().max(1) as f64
    );
    for (kind, mut v) in by_kind {
        let (p50, p99, _) = ms(&mut v);
        println!(
            "  {kind:<14} {:>5} queries  p50 {p50:>6.2} ms  p99 {p99:>6.2} ms",
            v.len()
        );
    }
    drop(core);
    drop(idx);
    server.stop().await?;
    Ok(ExitCode::SUCCESS)
}
