//! `rongmei bench hub`: a provincial hub (this binary, its own process, so its CPU and memory
//! are its own) and N simulated counties in this process on loopback. Each county is enrolled
//! like a real one (pairing token, key and certificate request, `POST /api/v1/federation/join`
//! with its instance id), keeps a real hash-chained log (every article goes through created,
//! submitted, approved and published, and only the publication leaves the county) and ships it
//! with the real protocol over mTLS at a steady rate. Lag is the time from a county's commit of
//! a publication to the hub's acknowledgement of it (applied with the county's cursor, durable).

use std::path::PathBuf;
use std::process::{ExitCode, Stdio};
use std::sync::Arc;
use std::time::Duration;

use base64::Engine;

use super::bench::{admin_session, load_bodies, percentile};
use crate::clock::{Millis, Stopwatch};
use crate::domain::article::{Article, ArticleStatus};
use crate::domain::fact::{Fact, Step};
use crate::domain::{ArticleId, Epoch, InstanceId, Lsn, OutletId, UserId};
use crate::fed::ship::{BatchDto, HUB_CA_CRT, HUB_CRT, HUB_KEY, ItemDto, ReceiptDto};
use crate::fed::tls;
use crate::log::entry;

#[derive(clap::Args)]
pub struct HubArgs {
    /// Simulated counties.
    #[arg(long, default_value_t = 150)]
    counties: usize,
    /// Length of the steady phase, in seconds.
    #[arg(long, default_value_t = 20)]
    seconds: u64,
    /// Publications per county per minute in the steady phase.
    #[arg(long, default_value_t = 30.0)]
    per_minute: f64,
    /// JSON-lines corpus for article text.
    #[arg(long, default_value = "../shared/corpus/zh_peoples_daily_199801.jsonl")]
    corpus: PathBuf,
}

/// One simulated county: its log and its connection to the hub.
struct County {
    instance: InstanceId,
    lsn: u64,
    hash: [u8; 32],
    /// The hub's cursor (`through`) as last acknowledged.
    hub_through: u64,
    http: reqwest::Client,
    base: String,
    next_article: u64,
}

fn now_ms() -> Millis {
    crate::clock::system().now()
}

impl County {
    /// Append a fact to the county's log; returns (prev hash, stored entry).
    fn append(&mut self, fact: &Fact) -> ([u8; 32], Vec<u8>) {
        self.lsn += 1;
        let bytes = entry::encode_entry(Epoch(1), Lsn(self.lsn), now_ms(), Some(UserId(1)), fact);
        let prev = self.hash;
        let (hash, stored) = entry::seal(&prev, &bytes);
        self.hash = hash;
        (prev, stored)
    }

    /// Write an article through its lifecycle; returns the publication to ship.
    fn publish(&mut self, title: &str, body: &str) -> ([u8; 32], Vec<u8>) {
        self.next_article += 1;
        let now = now_ms();
        let mut a = Article {
            id: ArticleId(self.next_article),
            outlet: OutletId(1),
            revision: 1,
            status: ArticleStatus::Draft,
            title: title.to_string(),
            subtitle: String::new(),
            summary: String::new(),
            body: body.to_string(),
            byline: "本台记者".into(),
            authors: vec![UserId(1)],
            category: "时政".into(),
            tags: vec![],
            cover: None,
            source_id: None,
            source_date: None,
            created_by: UserId(1),
            created_at: now,
            updated_by: UserId(1),
            updated_at: now,
            restored_from: None,
            published_revision: None,
            published_at: None,
            retraction: None,
        };
        self.append(&Fact::ArticleCreated { article: a.clone() });
        let step = |a: &Article, from| Step {
            article: a.clone(),
            review: None,
            from,
            level: None,
            level_name: None,
            comment: String::new(),
        };
        a.status = ArticleStatus::Submitted;
        self.append(&Fact::ArticleSubmitted(step(&a, ArticleStatus::Draft)));
        a.status = ArticleStatus::Approved;
        self.append(&Fact::ReviewApproved(step(&a, ArticleStatus::Submitted)));
        a.status = ArticleStatus::Published;
        a.published_revision = Some(1);
        a.published_at = Some(now);
        self.append(&Fact::ArticlePublished(step(&a, ArticleStatus::Approved)))
    }

    /// Ship `items` (prev, stored) covering the log up to its head; returns the receipt.
    async fn ship(&mut self, items: &[([u8; 32], Vec<u8>)]) -> anyhow::Result<ReceiptDto> {
        let b64 = base64::engine::general_purpose::STANDARD;
        let batch = BatchDto {
            after: self.hub_through,
            through: self.lsn,
            head: self.lsn,
            media: Vec::new(),
            items: items
                .iter()
                .map(|(prev, stored)| ItemDto {
                    instance: self.instance.0.clone(),
                    prev: hex::encode(prev),
                    stored: b64.encode(stored),
                })
                .collect(),
        };
        let r = self
            .http
            .post(format!("{}/fed/v1/county/batch", self.base))
            .body(crate::fed::ship::encode_batch(&batch)?)
            .send()
            .await?;
        if !r.status().is_success() {
            anyhow::bail!("hub refused a batch: {} {}", r.status(), r.text().await?);
        }
        let receipt: ReceiptDto = r.json().await?;
        self.hub_through = receipt.cursor.as_ref().map_or(0, |c| c.through);
        Ok(receipt)
    }
}

/// The hub process: its base URL and admin password from its first lines of output.
fn spawn_hub(dir: &std::path::Path) -> anyhow::Result<(std::process::Child, String, String)> {
    use std::io::BufRead;
    let mut child = std::process::Command::new(std::env::current_exe()?)
        .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(dir)
        .env("RONGMEI_LOG", "warn")
        .env("RONGMEI_FEDERATION_ROLE", "hub")
        .env("RONGMEI_FEDERATION_LISTEN", "127.0.0.1:0")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()?;
    let out = child
        .stdout
        .take()
        .ok_or_else(|| anyhow::anyhow!("no hub output"))?;
    let mut password = String::new();
    for line in std::io::BufReader::new(out).lines() {
        let line = line?;
        if line.starts_with("initial admin password")
            && let Some(p) = line.rsplit("password ").next()
        {
            password = p.trim().to_string();
        }
        if let Some(addr) = line.strip_prefix("listening on ") {
            return Ok((child, addr.trim().to_string(), password));
        }
    }
    anyhow::bail!("the hub did not start")
}

/// (CPU ticks, peak RSS in KiB) of a process.
fn usage(pid: u32) -> (u64, u64) {
    let pid = pid.to_string();
    (
        super::bench::cpu_ticks(&pid).unwrap_or(0),
        super::bench::peak_rss_kib(&pid).unwrap_or(0),
    )
}

/// Enroll one county: a pairing token, a key and request, the certificate; then its first
/// batch (the log's first entry).
async fn enroll(
    admin: &reqwest::Client,
    hub: &str,
    cookie: &str,
    csrf: &str,
    n: usize,
    dir: &std::path::Path,
) -> anyhow::Result<County> {
    let p: serde_json::Value = admin
        .post(format!("{hub}/api/v1/federation/pairings"))
        .header("cookie", cookie)
        .header("x-csrf-token", csrf)
        .json(&serde_json::json!({"role": "county", "name": format!("模拟县{n}"), "region": format!("{:06}", 330100 + n)}))
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    let instance = InstanceId(uuid::Uuid::new_v4().to_string());
    let token = p["token"].as_str().unwrap_or_default();
    let (key, j) = super::fed::request_certificate(hub, token, "hub", Some(&instance.0)).await?;
    let d = dir.join(format!("county-{n}"));
    super::fed::save_identity(&d, [HUB_KEY, HUB_CRT, HUB_CA_CRT], &key, &j)?;
    let cfg = tls::client_config_with(&d.join(HUB_CA_CRT), &d.join(HUB_CRT), &d.join(HUB_KEY))?;
    let up = super::fed::upstream_of(&j);
    let (http, base) = crate::fed::follow::mtls_client(cfg, &up).await?;
    let mut c = County {
        hash: entry::genesis(&instance),
        instance: instance.clone(),
        lsn: 0,
        hub_through: 0,
        http,
        base,
        next_article: 0,
    };
    let first = c.append(&Fact::InstanceCreated {
        instance_id: instance,
        role: "county".into(),
    });
    c.ship(&[first]).await?;
    Ok(c)
}

pub async fn hub(args: HubArgs) -> anyhow::Result<ExitCode> {
    let dir = std::env::temp_dir().join(format!(
        "rongmei-bench-hub-{}",
        uuid::Uuid::new_v4().simple()
    ));
    std::fs::create_dir_all(&dir)?;
    let (mut child, base, password) = spawn_hub(&dir.join("hub"))?;
    let result = run(&args, &dir, &base, &password, child.id()).await;
    let _ = child.kill();
    let _ = child.wait();
    let _ = std::fs::remove_dir_all(&dir);
    result
}

async fn run(
    args: &HubArgs,
    dir: &std::path::Path,
    base: &str,
    password: &str,
    pid: u32,
) -> anyhow::Result<ExitCode> {
    let admin = reqwest::Client::new();
    let (cookie, csrf) = admin_session(&admin, base, password).await?;
    let bodies = Arc::new(load_bodies(&args.corpus));
    let sw = Stopwatch::start();
    let mut counties = Vec::with_capacity(args.counties);
    for n in 0..args.counties {
        counties.push(enroll(&admin, base, &cookie, &csrf, n, dir).await?);
    }
    println!(
        "rongmei bench hub — {} cores; {} simulated counties enrolled (each its own certificate) in {:.1} s",
        std::thread::available_parallelism().map_or(1, |n| n.get()),
        args.counties,
        sw.elapsed().as_secs_f64()
    );

    // Steady phase: each county publishes `per_minute` articles a minute, at random phases.
    let (ticks0, _) = usage(pid);
    let period = Duration::from_secs_f64(60.0 / args.per_minute.max(0.01));
    let run_for = Duration::from_secs(args.seconds);
    let sw = Stopwatch::start();
    // Every county also holds its message long-poll, as a real one does; halfway through, the
    // hub issues an instruction to all of them and each poll times its arrival.
    let issued = Arc::new(std::sync::Mutex::new(None::<Stopwatch>));
    let mut polls = Vec::new();
    for c in &counties {
        let (http, base, issued) = (c.http.clone(), c.base.clone(), issued.clone());
        polls.push(tokio::spawn(async move {
            loop {
                let r = http
                    .get(format!("{base}/fed/v1/county/inbox?after=0"))
                    .timeout(Duration::from_secs(60))
                    .send()
                    .await?;
                let page: serde_json::Value = r.error_for_status()?.json().await?;
                if page["messages"].as_array().is_some_and(|m| !m.is_empty()) {
                    let took = issued
                        .lock()
                        .ok()
                        .and_then(|g| g.as_ref().map(Stopwatch::elapsed_us));
                    return anyhow::Ok(took.unwrap_or(0));
                }
            }
        }));
    }
    let issuer = {
        let (admin, base, cookie, csrf, issued) = (
            admin.clone(),
            base.to_string(),
            cookie.clone(),
            csrf.clone(),
            issued.clone(),
        );
        tokio::spawn(async move {
            tokio::time::sleep(run_for / 2).await;
            if let Ok(mut g) = issued.lock() {
                *g = Some(Stopwatch::start());
            }
            admin
                .post(format!("{base}/api/v1/instructions"))
                .header(reqwest::header::COOKIE, cookie)
                .header("x-csrf-token", csrf)
                .json(
                    &serde_json::json!({"title": "防汛防台专题报道", "brief": "各县做好报道",
                    "deadline": "2099-01-01", "target": {"kind": "all"}}),
                )
                .send()
                .await?
                .error_for_status()?;
            anyhow::Ok(())
        })
    };
    let mut tasks = Vec::new();
    for (i, mut c) in counties.into_iter().enumerate() {
        let bodies = bodies.clone();
        let phase = period.mul_f64((i as f64 * 0.618_033_988_7) % 1.0);
        tasks.push(tokio::spawn(async move {
            let mut lat = Vec::new();
            tokio::time::sleep(phase).await;
            let started = Stopwatch::start();
            let mut k = 0usize;
            while started.elapsed() < run_for {
                let (t, b) = &bodies[(i * 7 + k) % bodies.len()];
                k += 1;
                let committed = Stopwatch::start();
                let item = c.publish(t, b);
                c.ship(&[item]).await?;
                lat.push(committed.elapsed_us());
                let next = period.mul_f64(k as f64);
                if let Some(wait) = next.checked_sub(started.elapsed()) {
                    tokio::time::sleep(wait).await;
                }
            }
            anyhow::Ok((c, lat))
        }));
    }
    let mut lat = Vec::new();
    let mut counties = Vec::new();
    for t in tasks {
        let (c, l) = t.await??;
        counties.push(c);
        lat.extend(l);
    }
    let secs = sw.elapsed().as_secs_f64();
    let (ticks1, _) = usage(pid);
    lat.sort_unstable();
    println!(
        "steady: {} publications in {secs:.1} s ({:.0}/s, {:.1} per county per minute); lag to the hub's durable ack p50 {:.1} ms, p90 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
        lat.len(),
        lat.len() as f64 / secs,
        args.per_minute,
        percentile(&lat, 0.5),
        percentile(&lat, 0.9),
        percentile(&lat, 0.99),
        percentile(&lat, 1.0)
    );
    println!(
        "hub CPU during the steady phase: {:.0}% of one core (with {} message long-polls held)",
        (ticks1 - ticks0) as f64 / secs,
        polls.len()
    );
    issuer.await??;
    let mut arrived = Vec::new();
    for p in polls {
        arrived.push(p.await??);
    }
    arrived.sort_unstable();
    println!(
        "an instruction to all {} counties, issued mid-phase: delivered to each poll p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
        arrived.len(),
        percentile(&arrived, 0.5),
        percentile(&arrived, 0.99),
        percentile(&arrived, 1.0)
    );

    // Burst: every county ships batches of 20 publications back to back for 5 s.
    let sw = Stopwatch::start();
    let mut tasks = Vec::new();
    for (i, mut c) in counties.into_iter().enumerate() {
        let bodies = bodies.clone();
        tasks.push(tokio::spawn(async move {
            let mut n = 0u64;
            let started = Stopwatch::start();
            while started.elapsed() < Duration::from_secs(5) {
                let items: Vec<_> = (0..20)
                    .map(|k| {
                        let (t, b) = &bodies[(i * 13 + k) % bodies.len()];
                        c.publish(t, b)
                    })
                    .collect();
                n += c.ship(&items).await?.applied;
            }
            anyhow::Ok(n)
        }));
    }
    let mut applied = 0;
    for t in tasks {
        applied += t.await??;
    }
    let secs = sw.elapsed().as_secs_f64();
    let (ticks2, hwm) = usage(pid);
    println!(
        "burst: {applied} publications applied in {secs:.1} s = {:.0} entries/s (hub CPU {:.0}% of one core)",
        applied as f64 / secs,
        (ticks2 - ticks1) as f64 / secs
    );
    println!("hub peak memory (VmHWM): {:.0} MiB", hwm as f64 / 1024.0);
    Ok(ExitCode::SUCCESS)
}
