//! `rongmei bench write`: durable article creates over real HTTP against an in-process server on
//! loopback with a fresh data dir. Phase 1: one client, sequential. Phase 2: N concurrent clients.
//! Article bodies come from the People's Daily corpus when it is present.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use crate::clock::Stopwatch;
use crate::config::Config;

#[derive(clap::Args)]
pub struct WriteArgs {
    /// Requests in the single-client phase.
    #[arg(long, default_value_t = 2_000)]
    single: usize,
    /// Concurrent clients in the second phase.
    #[arg(long, default_value_t = 64)]
    clients: usize,
    /// Requests in the concurrent phase (spread over the clients).
    #[arg(long, default_value_t = 30_000)]
    requests: usize,
    /// JSON-lines corpus for article text.
    #[arg(long, default_value = "../shared/corpus/zh_peoples_daily_199801.jsonl")]
    corpus: PathBuf,
    /// Data dir to use (default: a fresh temporary one, removed afterwards).
    #[arg(long)]
    data_dir: Option<PathBuf>,
}

/// Every article of a corpus that has a title and a body, in order. All of them: a benchmark
/// that cycles through a few hundred would flatter compression (repeats within a frame).
pub(super) fn load_bodies(path: &PathBuf) -> Vec<(String, String)> {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let mut v: Vec<(String, String)> = text
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter_map(|j| {
            let t = j.get("title")?.as_str()?.to_string();
            let b = j.get("body")?.as_str()?.to_string();
            (!t.is_empty() && !b.is_empty()).then_some((t, b))
        })
        .collect();
    if v.is_empty() {
        v.push((
            "县融媒体中心召开工作会议".into(),
            "本报讯 县融媒体中心今天召开工作会议。\n会议部署了下一阶段的重点工作。".into(),
        ));
    }
    v
}

/// CPU time a process (`self` or a pid) has used so far, in clock ticks (utime + stime of
/// `/proc/<pid>/stat`, 100 a second).
pub(super) fn cpu_ticks(pid: &str) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the command name (which may contain spaces) end with ')'.
    let rest = &stat[stat.rfind(')')? + 2..];
    let f: Vec<&str> = rest.split(' ').collect();
    // utime and stime are fields 14 and 15 of the whole line: 12 and 13 after the name.
    Some(f.get(11)?.parse::<u64>().ok()? + f.get(12)?.parse::<u64>().ok()?)
}

/// Peak resident memory of a process (`VmHWM`), in KiB.
pub(super) fn peak_rss_kib(pid: &str) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

pub(super) fn percentile(sorted: &[u64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)] as f64 / 1000.0
}

fn summary(name: &str, mut lat_us: Vec<u64>, secs: f64) -> f64 {
    lat_us.sort_unstable();
    let rate = lat_us.len() as f64 / secs;
    println!(
        "{name:<28} {:>7} creates in {:>6.2} s = {:>8.0} creates/s   p50 {:>6.2} ms   p99 {:>6.2} ms   max {:>6.2} ms",
        lat_us.len(),
        secs,
        rate,
        percentile(&lat_us, 0.50),
        percentile(&lat_us, 0.99),
        percentile(&lat_us, 1.0)
    );
    rate
}

pub(super) async fn create(
    client: &reqwest::Client,
    base: &str,
    token: &str,
    body: &serde_json::Value,
) -> anyhow::Result<u64> {
    let sw = Stopwatch::start();
    let r = client
        .post(format!("{base}/api/v1/articles"))
        .bearer_auth(token)
        .json(body)
        .send()
        .await?;
    if r.status().as_u16() != 201 {
        anyhow::bail!(
            "create failed: {} {}",
            r.status(),
            r.text().await.unwrap_or_default()
        );
    }
    let _ = r.bytes().await?;
    Ok(sw.elapsed_us())
}

/// An in-process server on loopback for a benchmark, on `data_dir` or a fresh temporary dir.
pub(super) struct BenchServer {
    pub running: crate::app::Running,
    pub base: String,
    pub password: String,
    pub data_dir: PathBuf,
    /// Removed when the benchmark ends (`None` when the caller named the data dir).
    pub tmp: Option<PathBuf>,
}

impl BenchServer {
    pub async fn start(name: &str, data_dir: Option<PathBuf>) -> anyhow::Result<Self> {
        Self::start_with(name, data_dir, |_| {}).await
    }

    pub async fn start_with(
        name: &str,
        data_dir: Option<PathBuf>,
        tweak: impl FnOnce(&mut Config),
    ) -> anyhow::Result<Self> {
        let tmp = std::env::temp_dir().join(format!(
            "rongmei-bench-{name}-{}",
            uuid::Uuid::new_v4().simple()
        ));
        let (data_dir, tmp) = match data_dir {
            Some(d) => (d, None),
            None => (tmp.clone(), Some(tmp)),
        };
        let mut cfg = Config {
            data_dir: data_dir.clone(),
            ..Config::default()
        };
        cfg.http.listen = "127.0.0.1:0".into();
        tweak(&mut cfg);
        let running = crate::app::start(cfg, crate::clock::system()).await?;
        let password = running
            .initial_password
            .clone()
            .ok_or_else(|| anyhow::anyhow!("bench needs a fresh data dir"))?;
        Ok(Self {
            base: format!("http://{}", running.addr),
            running,
            password,
            data_dir,
            tmp,
        })
    }

    pub async fn stop(self) -> anyhow::Result<()> {
        self.running.shutdown().await?;
        if let Some(t) = self.tmp {
            let _ = std::fs::remove_dir_all(t);
        }
        Ok(())
    }
}

pub async fn write(args: WriteArgs) -> anyhow::Result<ExitCode> {
    let server = BenchServer::start("write", args.data_dir.clone()).await?;
    let (base, password) = (server.base.clone(), server.password.clone());
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(args.clients + 4)
        .build()?;
    let token = setup(&client, &base, &password).await?;
    let bodies = Arc::new(load_bodies(&args.corpus));
    let avg = bodies.iter().map(|(t, b)| t.len() + b.len()).sum::<usize>() / bodies.len();
    println!(
        "rongmei bench write — {} cores, article text from {} ({} texts, avg {avg} bytes)",
        std::thread::available_parallelism().map_or(1, |n| n.get()),
        args.corpus.display(),
        bodies.len()
    );
    let payload = |i: usize| {
        let (t, b) = &bodies[i % bodies.len()];
        serde_json::json!({"outlet": "bench", "title": t, "body": b, "tags": ["bench"]})
    };
    // Warm-up (connections, caches).
    for i in 0..50 {
        create(&client, &base, &token, &payload(i)).await?;
    }
    let before = WriterStats::scrape(&client, &base).await;
    let sw = Stopwatch::start();
    let mut lat = Vec::with_capacity(args.single);
    for i in 0..args.single {
        lat.push(create(&client, &base, &token, &payload(i)).await?);
    }
    let secs = sw.elapsed().as_secs_f64();
    let single_rate = summary("1 client (sequential)", lat, secs);
    let after = WriterStats::scrape(&client, &base).await;
    after.print_since(&before, args.single as f64, secs);
    let before = after;
    let per_client = args.requests.div_ceil(args.clients.max(1));
    let sw = Stopwatch::start();
    let mut tasks = Vec::new();
    for c in 0..args.clients.max(1) {
        let (client, base, token, bodies) =
            (client.clone(), base.clone(), token.clone(), bodies.clone());
        tasks.push(tokio::spawn(async move {
            let mut lat = Vec::with_capacity(per_client);
            for i in 0..per_client {
                let (t, b) = &bodies[(c * per_client + i) % bodies.len()];
                let body = serde_json::json!({"outlet": "bench", "title": t, "body": b, "tags": ["bench"]});
                lat.push(create(&client, &base, &token, &body).await?);
            }
            anyhow::Ok(lat)
        }));
    }
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await??);
    }
    let n = all.len() as f64;
    let secs = sw.elapsed().as_secs_f64();
    let rate = summary(&format!("{} clients (concurrent)", args.clients), all, secs);
    WriterStats::scrape(&client, &base)
        .await
        .print_since(&before, n, secs);
    index_catch_up(&client, &base, &token).await?;
    println!(
        "speed-up over one client: {:.1}x",
        rate / single_rate.max(1e-9)
    );
    server.stop().await?;
    Ok(ExitCode::SUCCESS)
}

/// The search index runs on idle CPU only, so a burst leaves it behind: report by how much and
/// how long it takes to catch up once the writes stop.
async fn index_catch_up(client: &reqwest::Client, base: &str, token: &str) -> anyhow::Result<()> {
    let url = format!("{base}/api/v1/search/status");
    let st: serde_json::Value = client
        .get(&url)
        .bearer_auth(token)
        .send()
        .await?
        .json()
        .await?;
    let head = st["log_lsn"].as_u64().unwrap_or(0);
    let behind = head.saturating_sub(st["indexed_lsn"].as_u64().unwrap_or(0));
    let sw = Stopwatch::start();
    loop {
        let st: serde_json::Value = client
            .get(format!("{url}?wait_for_lsn={head}&timeout_ms=30000"))
            .bearer_auth(token)
            .send()
            .await?
            .json()
            .await?;
        if st["indexed_lsn"].as_u64().unwrap_or(0) >= head {
            break;
        }
        if sw.elapsed().as_secs() > 600 {
            anyhow::bail!("the search index did not catch up within 10 minutes: {st}");
        }
    }
    println!(
        "search index: {behind} log entries behind when the writes stopped, caught up {:.1} s later",
        sw.elapsed().as_secs_f64()
    );
    Ok(())
}

/// The writer thread's counters from `/metrics`.
struct WriterStats {
    commits: f64,
    apply: f64,
    commit: f64,
}

impl WriterStats {
    async fn scrape(client: &reqwest::Client, base: &str) -> Self {
        Self {
            commits: scrape(client, base, "rongmei_store_commits").await,
            apply: scrape(client, base, "rongmei_store_apply_seconds").await,
            commit: scrape(client, base, "rongmei_store_commit_seconds").await,
        }
    }

    /// Print the group commit and writer figures of the phase that began at `earlier`.
    fn print_since(&self, earlier: &Self, creates: f64, secs: f64) {
        let commits = (self.commits - earlier.commits).max(1.0);
        let (apply, commit) = (self.apply - earlier.apply, self.commit - earlier.commit);
        println!(
            "  group commit: {commits:.0} durable transactions ({:.1} creates each); writer thread {:.0} us applying + {:.0} us committing per transaction ({:.0}% busy)",
            creates / commits,
            apply * 1e6 / commits,
            commit * 1e6 / commits,
            (apply + commit) * 100.0 / secs
        );
    }
}

/// Log in as `admin`: (session cookie, CSRF token).
pub(super) async fn admin_session(
    client: &reqwest::Client,
    base: &str,
    password: &str,
) -> anyhow::Result<(String, String)> {
    let r = client
        .post(format!("{base}/api/v1/session"))
        .json(&serde_json::json!({"username": "admin", "password": password}))
        .send()
        .await?
        .error_for_status()?;
    let cookie = r
        .headers()
        .get(reqwest::header::SET_COOKIE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .unwrap_or_default()
        .to_string();
    let login: serde_json::Value = r.json().await?;
    let csrf = login["csrf_token"].as_str().unwrap_or_default().to_string();
    Ok((cookie, csrf))
}

pub(super) async fn setup(
    client: &reqwest::Client,
    base: &str,
    password: &str,
) -> anyhow::Result<String> {
    let (cookie, csrf) = admin_session(client, base, password).await?;
    let post = |path: &str, body: serde_json::Value| {
        client
            .post(format!("{base}{path}"))
            .header("cookie", &cookie)
            .header("x-csrf-token", &csrf)
            .json(&body)
            .send()
    };
    post(
        "/api/v1/outlets",
        serde_json::json!({"slug": "bench", "name": "压测", "kind": "app"}),
    )
    .await?
    .error_for_status()?;
    let t: serde_json::Value = post(
        "/api/v1/tokens",
        serde_json::json!({"name": "bench", "scopes": ["read", "write"]}),
    )
    .await?
    .error_for_status()?
    .json()
    .await?;
    t["secret"]
        .as_str()
        .map(str::to_string)
        .ok_or_else(|| anyhow::anyhow!("no token secret in {t}"))
}

async fn scrape(client: &reqwest::Client, base: &str, metric: &str) -> f64 {
    let text = match client.get(format!("{base}/metrics")).send().await {
        Ok(r) => r.text().await.unwrap_or_default(),
        Err(_) => String::new(),
    };
    text.lines()
        .find(|l| l.starts_with(metric) && !l.starts_with('#'))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0.0)
}
