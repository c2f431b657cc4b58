//! Prometheus text metrics: request counts and latency by route and status, plus store gauges
//! read at scrape time.

use std::sync::Mutex;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RouteLabels {
    pub method: String,
    pub route: String,
    pub status: u16,
}

pub struct Metrics {
    registry: Mutex<Registry>,
    pub requests: Family<RouteLabels, Counter>,
    pub latency: Family<RouteLabels, Histogram>,
    pub log_head: Gauge,
    pub commits: Gauge,
    pub committed_jobs: Gauge,
    pub apply_seconds: Gauge<f64, std::sync::atomic::AtomicU64>,
    pub commit_seconds: Gauge<f64, std::sync::atomic::AtomicU64>,
    /// Replica only: entries behind the primary, seconds since the last frame, bytes received.
    pub replica_lag_entries: Gauge,
    pub replica_last_contact_seconds: Gauge<f64, std::sync::atomic::AtomicU64>,
    pub replica_received_bytes: Gauge,
    pub replica_connected: Gauge,
}

impl Metrics {
    pub fn new() -> Self {
        let requests = Family::<RouteLabels, Counter>::default();
        let latency = Family::<RouteLabels, Histogram>::new_with_constructor(|| {
            Histogram::new([
                0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0, 5.0,
            ])
        });
        let (log_head, commits, committed_jobs) =
            (Gauge::default(), Gauge::default(), Gauge::default());
        let mut r = Registry::with_prefix("rongmei");
        r.register("http_requests", "HTTP requests served", requests.clone());
        r.register(
            "http_request_duration_seconds",
            "HTTP request latency",
            latency.clone(),
        );
        r.register(
            "log_head_lsn",
            "Newest durable log position",
            log_head.clone(),
        );
        r.register(
            "store_commits",
            "Durable write transactions (group commits)",
            commits.clone(),
        );
        r.register(
            "store_committed_jobs",
            "Write requests committed",
            committed_jobs.clone(),
        );
        let (apply_seconds, commit_seconds) = (Gauge::default(), Gauge::default());
        r.register(
            "store_apply_seconds",
            "Writer time spent applying jobs",
            apply_seconds.clone(),
        );
        r.register(
            "store_commit_seconds",
            "Writer time spent in durable commits",
            commit_seconds.clone(),
        );
        let (replica_lag_entries, replica_received_bytes, replica_connected) =
            (Gauge::default(), Gauge::default(), Gauge::default());
        let replica_last_contact_seconds = Gauge::default();
        r.register(
            "replica_lag_entries",
            "Log entries this replica is behind its primary (as of the last frame)",
            replica_lag_entries.clone(),
        );
        r.register(
            "replica_last_contact_age_seconds",
            "Seconds since the last frame from the primary",
            replica_last_contact_seconds.clone(),
        );
        r.register(
            "replica_received_bytes",
            "Compressed log-stream bytes received from the primary",
            replica_received_bytes.clone(),
        );
        r.register(
            "replica_following",
            "1 while the replica is connected and following",
            replica_connected.clone(),
        );
        Self {
            replica_lag_entries,
            replica_last_contact_seconds,
            replica_received_bytes,
            replica_connected,
            apply_seconds,
            commit_seconds,
            registry: Mutex::new(r),
            requests,
            latency,
            log_head,
            commits,
            committed_jobs,
        }
    }

    pub fn render(&self) -> String {
        let mut out = String::new();
        let r = self.registry.lock().unwrap_or_else(|p| p.into_inner());
        let _ = prometheus_client::encoding::text::encode(&mut out, &r);
        out
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}
