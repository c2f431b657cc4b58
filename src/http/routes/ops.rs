//! Operations endpoints outside the versioned API: health, readiness, metrics, the OpenAPI
//! document, and the root page.

use std::sync::Arc;

use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::get;

use crate::http::AppState;

/// The non-API routes (tests assert these are the only ones outside the OpenAPI document).
pub const PATHS: &[&str] = &[
    "/",
    "/healthz",
    "/readyz",
    "/metrics",
    "/api/v1/openapi.json",
];

pub fn routes(doc: Arc<String>) -> Router<AppState> {
    Router::new()
        .route("/", get(crate::http::ui::root))
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .route("/api/v1/openapi.json", get(move || openapi(doc.clone())))
}

async fn openapi(doc: Arc<String>) -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "application/json")], (*doc).clone())
}

async fn readyz(State(s): State<AppState>) -> impl IntoResponse {
    let store_ok = s.core.reader().is_ok();
    if s.is_ready() && store_ok {
        (StatusCode::OK, "ready")
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, "not ready")
    }
}

async fn metrics(State(s): State<AppState>) -> impl IntoResponse {
    let head = s.core.committer.log_watch().current();
    s.metrics
        .log_head
        .set(i64::try_from(head.0).unwrap_or(i64::MAX));
    let st = &s.core.committer.stats;
    s.metrics
        .commits
        .set(i64::try_from(st.commits.load(std::sync::atomic::Ordering::Relaxed)).unwrap_or(0));
    s.metrics
        .committed_jobs
        .set(i64::try_from(st.jobs.load(std::sync::atomic::Ordering::Relaxed)).unwrap_or(0));
    let us = |a: &std::sync::atomic::AtomicU64| {
        a.load(std::sync::atomic::Ordering::Relaxed) as f64 / 1e6
    };
    s.metrics.apply_seconds.set(us(&st.apply_us));
    s.metrics.commit_seconds.set(us(&st.commit_us));
    if let Some(c) = &s.fed.chunks {
        s.metrics
            .catch_up_cache_bytes
            .set(i64::try_from(c.usage().1).unwrap_or(i64::MAX));
    }
    if let Some(f) = s
        .fed
        .follow
        .as_ref()
        .and_then(|f| f.lock().ok().map(|x| x.clone()))
    {
        let m = &s.metrics;
        m.replica_lag_entries
            .set(i64::try_from(f.lag_entries).unwrap_or(i64::MAX));
        m.replica_received_bytes
            .set(i64::try_from(f.bytes).unwrap_or(i64::MAX));
        m.replica_connected.set(i64::from(f.state == "following"));
        if let Some(t) = f.last_contact {
            m.replica_last_contact_seconds
                .set((s.core.clock.now() - t).max(0) as f64 / 1000.0);
        }
    }
    if let Some(st) = s
        .fed
        .ship
        .as_ref()
        .and_then(|x| x.lock().ok().map(|x| x.clone()))
    {
        let m = &s.metrics;
        m.hub_lag_entries
            .set(i64::try_from(st.local_lsn.saturating_sub(st.hub_lsn)).unwrap_or(i64::MAX));
        m.hub_files_pending
            .set(i64::try_from(st.files_pending).unwrap_or(i64::MAX));
        m.hub_refused.set(i64::from(
            st.state == "quarantined" || st.state == "revoked",
        ));
    }
    if let Err(e) = county_gauges(&s) {
        tracing::warn!("hub metrics: {e}");
    }
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        s.metrics.render(),
    )
}

/// At a hub: each enrolled county's lag, silence, quarantine and certificate expiry.
fn county_gauges(s: &AppState) -> crate::error::Result<()> {
    use crate::http::metrics::CountyLabels;
    use crate::store::federation;
    let r = s.core.reader()?;
    if crate::store::access::instance(&r.0)?.is_none_or(|m| m.role != "hub") {
        return Ok(());
    }
    let now = s.core.clock.now();
    let m = &s.metrics;
    for peer in federation::peers(&r.0)?
        .into_iter()
        .filter(|p| p.role == "county" && p.revoked.is_none())
    {
        let l = CountyLabels {
            county: peer.id.clone(),
        };
        let cursor = federation::county_cursor(&r.0, &peer.id)?.unwrap_or_default();
        let contact = s.core.contacts.last(&peer.id);
        let lag = contact
            .and_then(|c| c.head)
            .map_or(0, |h| h.saturating_sub(cursor.through));
        m.county_lag_entries
            .get_or_create(&l)
            .set(i64::try_from(lag).unwrap_or(i64::MAX));
        m.county_silent_seconds
            .get_or_create(&l)
            .set(contact.map_or(-1.0, |c| (now - c.at).max(0) as f64 / 1000.0));
        m.county_quarantined
            .get_or_create(&l)
            .set(i64::from(cursor.quarantined.is_some()));
        m.county_cert_expiry_seconds
            .get_or_create(&l)
            .set((peer.not_after - now) as f64 / 1000.0);
    }
    Ok(())
}
