//! `rongmei bench replicate`: a primary and a replica in this process on loopback (real mTLS,
//! real log stream), each on its own runtime. Prints the catch-up rate after an offline period, the replica's lag while
//! the primary takes a steady write rate, and bytes shipped against the entries' JSON size.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::bench::{BenchServer, admin_session, create, load_bodies, percentile, setup};
use crate::clock::Stopwatch;
use crate::config::Config;
use crate::domain::Lsn;

#[derive(clap::Args)]
pub struct ReplicateArgs {
    /// Articles written while the replica is offline (then it catches up).
    #[arg(long, default_value_t = 60_000)]
    backlog: usize,
    /// Steady write rate during the lag phase (articles per second).
    #[arg(long, default_value_t = 1_000)]
    rate: usize,
    /// Length of the lag phase, in seconds.
    #[arg(long, default_value_t = 10)]
    seconds: u64,
    /// JSON-lines corpus for article text.
    #[arg(long, default_value = "../shared/corpus/zh_peoples_daily_199801.jsonl")]
    corpus: PathBuf,
}

/// When each lsn became durable on a node (µs since the bench started).
type Seen = Arc<Mutex<Vec<(u64, u64)>>>;

/// Record when each lsn becomes durable, on a thread of its own (so a busy runtime does not
/// delay the observation).
fn watch(mut w: crate::log::LogWatch, clock: Arc<Stopwatch>, seen: Seen) {
    std::thread::spawn(move || {
        let Ok(rt) = tokio::runtime::Builder::new_current_thread().build() else {
            return;
        };
        rt.block_on(async move {
            let mut last = w.current();
            while let Some(h) = w.wait_past(last).await {
                let t = clock.elapsed_us();
                if let Ok(mut s) = seen.lock() {
                    s.extend((last.0 + 1..=h.0).map(|l| (l, t)));
                }
                last = h;
            }
        });
    });
}

/// The replica, on its own threads and runtime (as on its own machine, it does not wait in the
/// primary's run queue).
struct ReplicaNode {
    addr: std::net::SocketAddr,
    log: crate::log::LogWatch,
    search: crate::search::SearchIndex,
    writer: Arc<crate::workflow::commit::CommitStats>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl ReplicaNode {
    fn start(cfg: Config) -> anyhow::Result<Self> {
        let (tx, rx) = std::sync::mpsc::channel();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::spawn(move || {
            let rt = match tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
            {
                Ok(rt) => rt,
                Err(e) => {
                    let _ = tx.send(Err(anyhow::anyhow!("{e}")));
                    return;
                }
            };
            rt.block_on(async move {
                match crate::app::start(cfg, crate::clock::system()).await {
                    Ok(r) => {
                        let info = (
                            r.addr,
                            r.core.committer.log_watch(),
                            r.search.clone(),
                            r.core.committer.stats.clone(),
                        );
                        let _ = tx.send(Ok(info));
                        let _ = stopped.await;
                        let _ = r.shutdown().await;
                    }
                    Err(e) => {
                        let _ = tx.send(Err(anyhow::anyhow!("{e}")));
                    }
                }
            });
        });
        let (addr, log, search, writer) = rx.recv()??;
        Ok(Self {
            addr,
            log,
            search,
            writer,
            stop: Some(stop),
            thread: Some(thread),
        })
    }

    fn shutdown(mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

async fn write_many(
    client: &reqwest::Client,
    base: &str,
    token: &str,
    bodies: &[(String, String)],
    n: usize,
    rate: Option<usize>,
) -> anyhow::Result<()> {
    let sem = Arc::new(tokio::sync::Semaphore::new(64));
    let mut tasks = Vec::with_capacity(n);
    let mut tick = rate.map(|r| tokio::time::interval(Duration::from_micros(1_000_000 / r as u64)));
    for i in 0..n {
        if let Some(t) = tick.as_mut() {
            t.tick().await;
        }
        let permit = sem.clone().acquire_owned().await?;
        let (c, b, t) = (client.clone(), base.to_string(), token.to_string());
        let (title, body) = bodies[i % bodies.len()].clone();
        tasks.push(tokio::spawn(async move {
            let j = serde_json::json!({"outlet": "bench", "title": title, "body": body});
            let r = create(&c, &b, &t, &j).await;
            drop(permit);
            r
        }));
    }
    for t in tasks {
        t.await??;
    }
    Ok(())
}

/// What this machine does on one core and on its disk, so that figures from different machines
/// can be compared: zstd level 3 (the stream's) over the corpus text, and writing 64 MB to the
/// temp dir's disk with one `fdatasync`, as a commit does.
fn machine_reference(bodies: &[(String, String)]) -> anyhow::Result<(f64, f64)> {
    let mut text = Vec::new();
    for (t, b) in bodies.iter().cycle().take(bodies.len().max(1) * 4) {
        text.extend_from_slice(t.as_bytes());
        text.extend_from_slice(b.as_bytes());
        if text.len() >= 8 << 20 {
            break;
        }
    }
    let sw = Stopwatch::start();
    let z = zstd::bulk::compress(&text, 3)?;
    let zstd_mb_s = text.len() as f64 / sw.elapsed().as_secs_f64() / 1e6;
    drop(z);
    let path = std::env::temp_dir().join(format!(
        "rongmei-bench-disk-{}",
        uuid::Uuid::new_v4().simple()
    ));
    let block = vec![0x5au8; 1 << 20];
    let sw = Stopwatch::start();
    let written = (|| -> std::io::Result<()> {
        use std::io::Write;
        let mut f = std::fs::File::create(&path)?;
        for _ in 0..64 {
            f.write_all(&block)?;
        }
        f.sync_data()
    })();
    let disk_mb_s = 64.0 * 1.048_576 / sw.elapsed().as_secs_f64();
    let _ = std::fs::remove_file(&path);
    written?;
    Ok((zstd_mb_s, disk_mb_s))
}

pub async fn replicate(args: ReplicateArgs) -> anyhow::Result<ExitCode> {
    let bodies = load_bodies(&args.corpus);
    let (zstd_mb_s, disk_mb_s) = machine_reference(&bodies)?;
    println!(
        "machine: zstd level 3 {zstd_mb_s:.0} MB/s on one core; 64 MB written and synced at {disk_mb_s:.0} MB/s; {} articles of text",
        bodies.len()
    );
    let client = reqwest::Client::builder().build()?;
    let primary = BenchServer::start_with("primary", None, |c| {
        c.federation.listen = "127.0.0.1:0".into();
    })
    .await?;
    let base = primary.base.clone();
    let token = setup(&client, &base, &primary.password).await?;
    let (cookie, csrf) = admin_session(&client, &base, &primary.password).await?;
    let pairing: serde_json::Value = client
        .post(format!("{base}/api/v1/federation/pairings"))
        .header("cookie", &cookie)
        .header("x-csrf-token", &csrf)
        .json(&serde_json::json!({"role": "replica", "name": "bench"}))
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    let rdir = std::env::temp_dir().join(format!(
        "rongmei-bench-replica-{}",
        uuid::Uuid::new_v4().simple()
    ));
    let rcfg = Config {
        data_dir: rdir.clone(),
        ..Config::default()
    };
    super::fed::replica_join(&rcfg, &base, pairing["token"].as_str().unwrap_or_default()).await?;

    // 1. Offline period: the primary writes a backlog, then the replica starts and catches up.
    let sw = Stopwatch::start();
    write_many(&client, &base, &token, &bodies, args.backlog, None).await?;
    let head = primary.running.core.committer.log_watch().current();
    println!(
        "backlog: {} articles ({} log entries) written in {:.1} s while the replica was offline",
        args.backlog,
        head.0,
        sw.elapsed().as_secs_f64()
    );
    // The primary runs on its own machine in production: let its indexer finish the backlog so
    // that it does not take this machine's CPU from the replica being measured.
    while primary.running.search.status().indexed_lsn < head.0 {
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    // …and its index merges, and the kernel write its files back (on one disk, the primary's
    // writeback would otherwise queue ahead of the replica's commits).
    settle().await;
    let _ = tokio::task::spawn_blocking(|| std::process::Command::new("sync").status()).await;
    let st = fed_status(&client, &base, &token).await?;
    let cache = &st["catch_up_cache"];
    println!(
        "primary's catch-up cache: {} chunks, {:.1} MB, up to lsn {} of {} (compressed in the background while the replica was offline; the rest is compressed as it is sent)",
        cache["chunks"].as_u64().unwrap_or(0),
        cache["bytes"].as_u64().unwrap_or(0) as f64 / 1e6,
        cache["end_lsn"].as_u64().unwrap_or(0),
        head.0
    );
    let mut rc = rcfg.clone();
    rc.http.listen = "127.0.0.1:0".into();
    println!("starting the replica");
    let replica = ReplicaNode::start(rc)?;
    let sw = Stopwatch::start();
    let mut rw = replica.log.clone();
    while rw.current() < head {
        if rw.wait_past(rw.current()).await.is_none() {
            anyhow::bail!("replica stopped");
        }
    }
    let secs = sw.elapsed().as_secs_f64();
    println!(
        "catch-up: {} entries in {secs:.2} s = {:.0} entries/s",
        head.0,
        head.0 as f64 / secs
    );
    let ws = &replica.writer;
    let commits = ws.commits.load(Relaxed).max(1) as f64;
    println!(
        "  replica writer: {commits:.0} transactions ({:.0} entries each), {:.1} ms applying + {:.1} ms committing each ({:.0}% busy)",
        head.0 as f64 / commits,
        ws.apply_us.load(Relaxed) as f64 / commits / 1e3,
        ws.commit_us.load(Relaxed) as f64 / commits / 1e3,
        (ws.apply_us.load(Relaxed) + ws.commit_us.load(Relaxed)) as f64 / secs / 1e4
    );

    // The replica's search index follows its log on its own; the steady phase starts once it
    // has indexed the backlog (its disk writes would otherwise be measured as lag).
    let sw = Stopwatch::start();
    while replica.search.status().indexed_lsn < head.0 {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    println!(
        "replica search index caught up {:.2} s after the log",
        sw.elapsed().as_secs_f64()
    );

    // 2. Steady load: lag from durable on the primary to durable on the replica, per entry.
    let clock = Arc::new(Stopwatch::start());
    let (on_p, on_r): (Seen, Seen) = (Arc::default(), Arc::default());
    watch(
        primary.running.core.committer.log_watch(),
        clock.clone(),
        on_p.clone(),
    );
    watch(replica.log.clone(), clock.clone(), on_r.clone());
    let from = head;
    let n = args.rate * args.seconds as usize;
    let sw = Stopwatch::start();
    write_many(&client, &base, &token, &bodies, n, Some(args.rate)).await?;
    let achieved = n as f64 / sw.elapsed().as_secs_f64();
    let end = primary.running.core.committer.log_watch().current();
    while replica.log.current() < end {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    tokio::time::sleep(Duration::from_millis(20)).await;
    let (p, r) = (
        on_p.lock().map(|v| v.clone()).unwrap_or_default(),
        on_r.lock().map(|v| v.clone()).unwrap_or_default(),
    );
    let at_r: std::collections::HashMap<u64, u64> = r.into_iter().collect();
    let mut lags: Vec<u64> = p
        .iter()
        .filter(|(l, _)| *l > from.0)
        .filter_map(|(l, t)| at_r.get(l).map(|tr| tr.saturating_sub(*t)))
        .collect();
    lags.sort_unstable();
    println!(
        "steady load: {n} articles at {achieved:.0}/s (target {}/s); replica lag per entry p50 {:.2} ms, p90 {:.2} ms, p99 {:.2} ms, max {:.2} ms ({} entries)",
        args.rate,
        percentile(&lags, 0.5),
        percentile(&lags, 0.9),
        percentile(&lags, 0.99),
        lags.last().copied().unwrap_or(0) as f64 / 1000.0,
        lags.len()
    );

    // 3. Bytes: compressed stream received vs the entries' JSON and stored size.
    let st = fed_status(&client, &format!("http://{}", replica.addr), &token).await?;
    let shipped = st["follow"]["bytes"].as_u64().unwrap_or(0);
    let (mut json, mut stored, mut at) = (0u64, 0u64, Lsn(1));
    loop {
        let batch = crate::log::read_raw(&primary.running.core.db, at, 5_000, usize::MAX)?;
        let Some(last) = batch.last() else { break };
        at = Lsn(crate::log::entry::decode_stored(last)?.lsn.0 + 1);
        for s in &batch {
            stored += s.len() as u64;
            json += serde_json::to_vec(&crate::log::entry::decode_stored(s)?.fact)?.len() as u64;
        }
    }
    println!(
        "bytes: {shipped} shipped (zstd frames) for {} entries; their facts as JSON {json} bytes, stored {stored} bytes; shipped/JSON = {:.2}",
        end.0,
        shipped as f64 / json.max(1) as f64
    );
    drop(rw);
    tokio::task::spawn_blocking(move || replica.shutdown()).await?;
    primary.stop().await?;
    let _ = std::fs::remove_dir_all(rdir);
    Ok(ExitCode::SUCCESS)
}

/// `/api/v1/federation/status` of the node at `base`.
async fn fed_status(
    client: &reqwest::Client,
    base: &str,
    token: &str,
) -> anyhow::Result<serde_json::Value> {
    Ok(client
        .get(format!("{base}/api/v1/federation/status"))
        .bearer_auth(token)
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?)
}

/// Wait (up to two minutes) until this process uses less than a fifth of one core, so that
/// background work of the primary (index merges) does not run during a measurement.
async fn settle() {
    let sw = Stopwatch::start();
    while sw.elapsed() < std::time::Duration::from_secs(120) {
        let Some(before) = super::bench::cpu_ticks("self") else {
            return;
        };
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
        let Some(after) = super::bench::cpu_ticks("self") else {
            return;
        };
        // 100 ticks per second: under 10 ticks in 0.5 s is under 20% of a core.
        if after.saturating_sub(before) < 10 {
            return;
        }
    }
}
