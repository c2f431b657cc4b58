//! axum only: one route file per resource under `routes/`, extractors, DTOs and error rendering.
//! Handlers extract, call one use case, and map the result; they never open write transactions.
//! The OpenAPI document is generated from the same registrations (`utoipa-axum`).

pub mod auth;
pub mod control;
pub mod error;
pub mod metrics;
pub mod routes;
pub mod ui;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use axum::Router;
use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderName, HeaderValue, header};
use axum::middleware::Next;
use axum::response::Response;
use tower_http::set_header::SetResponseHeaderLayer;
use tracing::Instrument;
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;

use crate::clock::Stopwatch;
use crate::workflow::Core;

#[derive(Clone)]
pub struct AppState {
    pub core: Core,
    pub search: crate::search::SearchIndex,
    pub metrics: Arc<metrics::Metrics>,
    /// False while starting and once shutdown began (`/readyz` answers 503).
    pub ready: Arc<AtomicBool>,
    /// Turns true when shutdown begins: long-lived responses (event streams) end then.
    pub closing: tokio::sync::watch::Receiver<bool>,
    /// Federation: the listener's address (primary) or the follower's state (replica).
    pub fed: Arc<FedInfo>,
}

#[derive(Default)]
pub struct FedInfo {
    pub listen: Option<std::net::SocketAddr>,
    pub advertise: String,
    pub follow: Option<crate::fed::follow::SharedStatus>,
    /// A county's connection to its hub.
    pub ship: Option<crate::fed::ship::SharedShipStatus>,
    /// A primary's catch-up cache, if it keeps one.
    pub chunks: Option<std::sync::Arc<crate::fed::chunks::Chunks>>,
}

impl FedInfo {
    /// The federation address peers should dial ("" when the listener is off).
    pub fn advertised(&self) -> String {
        if !self.advertise.is_empty() {
            return self.advertise.clone();
        }
        self.listen.map(|a| a.to_string()).unwrap_or_default()
    }
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "rongmei API",
        description = "融媒 county media convergence center: JSON API v1"
    ),
    components(schemas(error::ErrorBody))
)]
struct ApiDoc;

/// The API routes with their OpenAPI description.
pub fn api() -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .merge(routes::session::routes())
        .merge(routes::outlets::routes())
        .merge(routes::users::routes())
        .merge(routes::tokens::routes())
        .merge(routes::articles::routes())
        .merge(routes::assets::routes())
        .merge(routes::instance::routes())
        .merge(routes::search::routes())
        .merge(routes::review::routes())
        .merge(routes::chains::routes())
        .merge(routes::audit::routes())
        .merge(routes::topics::routes())
        .merge(routes::notices::routes())
        .merge(routes::comments::routes())
        .merge(routes::locks::routes())
        .merge(routes::lexicons::routes())
        .merge(routes::screening::routes())
        .merge(routes::federation::routes())
        .merge(routes::instructions::routes())
        .merge(routes::attachments::routes())
        .merge(routes::provincial::routes())
        .merge(routes::shared::routes())
}

/// The whole HTTP surface.
pub fn router(state: AppState) -> Router {
    let (api, doc) = api().split_for_parts();
    let doc = Arc::new(doc.to_json().unwrap_or_default());
    let json_limit = state.core.config.http.max_json_bytes;
    let ops = routes::ops::routes(doc);
    Router::new()
        .merge(api.layer(axum::extract::DefaultBodyLimit::max(json_limit)))
        .merge(ops)
        .fallback(ui::fallback)
        .method_not_allowed_fallback(error::method_not_allowed)
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            request_context,
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::X_FRAME_OPTIONS,
            HeaderValue::from_static("DENY"),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::REFERRER_POLICY,
            HeaderValue::from_static("no-referrer"),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(CSP),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::CACHE_CONTROL,
            HeaderValue::from_static("no-store"),
        ))
        .with_state(state)
}

/// Only our own origin, no inline script or style: the embedded UI needs nothing else.
pub const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' blob: data:; media-src 'self' blob:; font-src 'self' data:; connect-src 'self'; object-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'";

static REQUEST_ID_HEADER: HeaderName = HeaderName::from_static("x-request-id");

fn request_id(req: &Request) -> String {
    req.headers()
        .get(&REQUEST_ID_HEADER)
        .and_then(|v| v.to_str().ok())
        .filter(|v| {
            !v.is_empty()
                && v.len() <= 64
                && v.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
        })
        .map(str::to_string)
        .unwrap_or_else(|| uuid::Uuid::new_v4().simple().to_string())
}

/// Request id, tracing span, access log and metrics for every request.
async fn request_context(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let id = request_id(&req);
    let method = req.method().to_string();
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_string(), |m| m.as_str().to_string());
    let span = tracing::info_span!("http", %method, path = %req.uri().path(), request_id = %id);
    let sw = Stopwatch::start();
    let mut resp = error::REQUEST_ID
        .scope(id.clone(), next.run(req).instrument(span))
        .await;
    let status = resp.status().as_u16();
    if let Ok(v) = HeaderValue::from_str(&id) {
        resp.headers_mut().insert(REQUEST_ID_HEADER.clone(), v);
    }
    let labels = metrics::RouteLabels {
        method,
        route,
        status,
    };
    state.metrics.requests.get_or_create(&labels).inc();
    state
        .metrics
        .latency
        .get_or_create(&labels)
        .observe(sw.elapsed().as_secs_f64());
    tracing::debug!(status, us = sw.elapsed_us(), route = %labels.route, "served");
    resp
}

impl AppState {
    pub fn is_ready(&self) -> bool {
        self.ready.load(Ordering::SeqCst)
    }
}
