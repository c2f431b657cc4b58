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
pub struct CountyLabels {
    /// The county's instance id.
    pub county: String,
}

type FloatGauge = Gauge<f64, std::sync::atomic::AtomicU64>;

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
    pub catch_up_cache_bytes: Gauge,
    /// Hub only, per county: entries it lacks, seconds since its last request (-1: not since
    /// start), 1 while quarantined, seconds until its certificate expires.
    pub county_lag_entries: Family<CountyLabels, Gauge>,
    pub county_silent_seconds: Family<CountyLabels, FloatGauge>,
    pub county_quarantined: Family<CountyLabels, Gauge>,
    pub county_cert_expiry_seconds: Family<CountyLabels, FloatGauge>,
    /// County only: entries its hub lacks, instruction files not fetched yet, 1 while the
    /// hub refuses it (quarantined or revoked).
    pub hub_lag_entries: Gauge,
    pub hub_files_pending: Gauge,
    pub hub_refused: Gauge,
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
        let catch_up_cache_bytes = Gauge::default();
        r.register(
            "catch_up_cache_bytes",
            "Disk taken by the primary's catch-up cache (compressed log chunks)",
            catch_up_cache_bytes.clone(),
        );
        let county_lag_entries = Family::<CountyLabels, Gauge>::default();
        let county_silent_seconds = Family::<CountyLabels, FloatGauge>::default();
        let county_quarantined = Family::<CountyLabels, Gauge>::default();
        let county_cert_expiry_seconds = Family::<CountyLabels, FloatGauge>::default();
        r.register(
            "hub_county_lag_entries",
            "Entries of a county's log this hub lacks (its reported head less the hub's cursor)",
            county_lag_entries.clone(),
        );
        r.register(
            "hub_county_silent_seconds",
            "Seconds since a county's last request (-1: none since this hub started)",
            county_silent_seconds.clone(),
        );
        r.register(
            "hub_county_quarantined",
            "1 while a county is quarantined (its entries stopped fitting its history)",
            county_quarantined.clone(),
        );
        r.register(
            "hub_county_cert_expiry_seconds",
            "Seconds until a county's certificate expires",
            county_cert_expiry_seconds.clone(),
        );
        let (hub_lag_entries, hub_files_pending, hub_refused) =
            (Gauge::default(), Gauge::default(), Gauge::default());
        r.register(
            "hub_lag_entries",
            "Entries of this county's log its hub does not have yet",
            hub_lag_entries.clone(),
        );
        r.register(
            "hub_files_pending",
            "Instruction files not fetched from the hub yet",
            hub_files_pending.clone(),
        );
        r.register(
            "hub_refused",
            "1 while the hub refuses this county (quarantined or revoked)",
            hub_refused.clone(),
        );
        Self {
            county_lag_entries,
            county_silent_seconds,
            county_quarantined,
            county_cert_expiry_seconds,
            hub_lag_entries,
            hub_files_pending,
            hub_refused,
            replica_lag_entries,
            replica_last_contact_seconds,
            replica_received_bytes,
            replica_connected,
            catch_up_cache_bytes,
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
