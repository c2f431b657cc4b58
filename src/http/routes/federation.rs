//! Federation administration: pairing tokens, the join request a new replica sends, the peer
//! list and revocation, and the replication state (primary or replica side).

use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::ts;
use crate::domain::peer::Peer;
use crate::error::{Error, Result};
use crate::fed::follow::FollowStatus;
use crate::fed::pki;
use crate::fed::ship::ShipStatus;
use crate::http::AppState;
use crate::http::auth::Auth;
use crate::http::error::{Json, Query};
use crate::workflow::federation;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create_pairing))
        .routes(routes!(join))
        .routes(routes!(peers))
        .routes(routes!(revoke))
        .routes(routes!(status))
        .routes(routes!(counties))
        .routes(routes!(county_articles))
        .routes(routes!(county_article))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PairingInput {
    /// `replica` (a disaster-recovery copy of this instance) or, on a hub, `county`.
    pub role: String,
    /// What to call the peer (shown in the peer list).
    pub name: String,
    /// A county's 6-digit administrative region code.
    #[serde(default)]
    pub region: Option<String>,
    /// How long the token is valid (default 60 minutes, at most 7 days).
    #[serde(default)]
    pub ttl_minutes: Option<u32>,
}

#[derive(Serialize, ToSchema)]
pub struct PairingDto {
    /// Shown once: give it to the replica's operator (`rongmei replica join URL --token T`).
    pub token: String,
    pub expires_at: String,
    /// This instance's CA: the joining node prints it; compare the two out of band.
    pub ca_fingerprint: String,
}

fn ca(s: &AppState) -> Result<pki::Ca> {
    let c = &s.core;
    let r = c.reader()?;
    let m = crate::store::access::instance(&r.0)?
        .ok_or_else(|| Error::Internal("instance not initialized".into()))?;
    if m.role == "replica" {
        return Err(Error::ReadOnlyReplica);
    }
    Ok(pki::init_ca(&c.config.data_dir, &m.instance_id.0, c.clock.now())?.0)
}

#[utoipa::path(post, path = "/api/v1/federation/pairings", tag = "federation", request_body = PairingInput, responses((status = 201, body = PairingDto)))]
async fn create_pairing(
    State(s): State<AppState>,
    auth: Auth,
    Json(i): Json<PairingInput>,
) -> Result<(StatusCode, Json<PairingDto>)> {
    auth.actor.require_instance_admin()?;
    let ca = ca(&s)?;
    let ttl = i.ttl_minutes.unwrap_or(60);
    let (token, expires) = s
        .core
        .committer
        .write(move |w| {
            let region = i.region.as_deref().unwrap_or_default();
            federation::create_pairing(w, &auth.actor, &i.role, &i.name, region, ttl)
        })
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(PairingDto {
            token,
            expires_at: ts(expires),
            ca_fingerprint: ca.fingerprint,
        }),
    ))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct JoinInput {
    pub token: String,
    /// PEM certificate request for the key the node generated (only its public key is used).
    pub csr: String,
    /// A county's instance id: its certificate names it, and the hub accepts only that
    /// instance's log entries over it.
    #[serde(default)]
    pub instance_id: Option<String>,
}

#[derive(Serialize, Deserialize, ToSchema)]
pub struct JoinDto {
    pub peer_id: String,
    pub role: String,
    /// The node's certificate (PEM) and its fingerprint.
    pub certificate: String,
    pub fingerprint: String,
    /// This instance's CA certificate (PEM) to pin, and its fingerprint.
    pub ca: String,
    pub ca_fingerprint: String,
    pub instance_id: String,
    /// Where the federation listener is (host:port); empty when it is off.
    pub federation_addr: String,
}

/// Exchange a pairing token and a certificate request for a certificate. No session: the
/// one-time token is the credential (and the login limiter counts failures per address).
#[utoipa::path(post, path = "/api/v1/federation/join", tag = "federation", request_body = JoinInput, responses((status = 200, body = JoinDto)))]
async fn join(State(s): State<AppState>, Json(i): Json<JoinInput>) -> Result<Json<JoinDto>> {
    if i.csr.len() > 16 * 1024 {
        return Err(Error::invalid("csr", "at most 16 KiB"));
    }
    let ca = ca(&s)?;
    let now = s.core.clock.now();
    let pairing = {
        let r = s.core.reader()?;
        federation::pairing(&r.0, &i.token, now)?
    };
    let peer_id = match (pairing.role.as_str(), &i.instance_id) {
        ("county", Some(id)) => uuid::Uuid::parse_str(id)
            .map_err(|_| Error::invalid("instance_id", "the county's instance id (a UUID)"))?
            .to_string(),
        ("county", None) => return Err(Error::invalid("instance_id", "required for a county")),
        _ => uuid::Uuid::new_v4().to_string(),
    };
    let issued = ca.sign_peer(&i.csr, &pairing.role, &peer_id, now)?;
    let (token, id, fp, not_after) = (
        i.token.clone(),
        peer_id.clone(),
        issued.fingerprint.clone(),
        issued.not_after,
    );
    let peer = s
        .core
        .committer
        .write(move |w| federation::enroll(w, &token, &id, &fp, not_after))
        .await?;
    let r = s.core.reader()?;
    let m = crate::store::access::instance(&r.0)?
        .ok_or_else(|| Error::Internal("instance not initialized".into()))?;
    tracing::info!(peer = %peer.id, role = %peer.role, fingerprint = %peer.fingerprint, "peer enrolled");
    Ok(Json(JoinDto {
        peer_id: peer.id,
        role: peer.role,
        certificate: issued.pem,
        fingerprint: issued.fingerprint,
        ca: ca.cert_pem,
        ca_fingerprint: ca.fingerprint,
        instance_id: m.instance_id.0,
        federation_addr: s.fed.advertised(),
    }))
}

#[derive(Serialize, ToSchema)]
pub struct PeerDto {
    pub id: String,
    pub role: String,
    pub name: String,
    pub region: String,
    pub fingerprint: String,
    pub not_after: String,
    pub enrolled_at: String,
    pub revoked_at: Option<String>,
    pub revoke_reason: Option<String>,
}

impl From<Peer> for PeerDto {
    fn from(p: Peer) -> Self {
        Self {
            id: p.id,
            role: p.role,
            name: p.name,
            region: p.region,
            fingerprint: p.fingerprint,
            not_after: ts(p.not_after),
            enrolled_at: ts(p.enrolled_at),
            revoked_at: p.revoked.as_ref().map(|r| ts(r.at)),
            revoke_reason: p.revoked.map(|r| r.reason),
        }
    }
}

#[utoipa::path(get, path = "/api/v1/federation/peers", tag = "federation", responses((status = 200, body = Vec<PeerDto>)))]
async fn peers(State(s): State<AppState>, auth: Auth) -> Result<Json<Vec<PeerDto>>> {
    let r = s.core.reader()?;
    Ok(Json(
        federation::peers(&r.0, &auth.actor)?
            .into_iter()
            .map(PeerDto::from)
            .collect(),
    ))
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct RevokeQuery {
    pub reason: String,
}

/// Revoke a peer: its certificate is refused from the next handshake on.
#[utoipa::path(delete, path = "/api/v1/federation/peers/{id}", tag = "federation", params(("id" = String, Path), RevokeQuery), responses((status = 200, body = PeerDto)))]
async fn revoke(
    State(s): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
    Query(q): Query<RevokeQuery>,
) -> Result<Json<PeerDto>> {
    let p = s
        .core
        .committer
        .write(move |w| federation::revoke(w, &auth.actor, &id, &q.reason))
        .await?;
    Ok(Json(p.into()))
}

#[derive(Serialize, ToSchema)]
pub struct FederationStatusDto {
    pub role: String,
    /// The federation listener (primary), if on.
    pub listen: Option<String>,
    pub ca_fingerprint: Option<String>,
    /// The follower (replica).
    pub follow: Option<FollowStatus>,
    pub last_contact: Option<String>,
    /// What the instance is: `county`, `hub` or `replica`.
    pub instance_role: String,
    /// A county's connection to its hub, once it has joined one.
    pub hub: Option<ShipStatus>,
    /// A primary's catch-up cache (the log compressed once for replicas coming back).
    pub catch_up_cache: Option<CatchUpCacheDto>,
}

#[derive(Serialize, ToSchema)]
pub struct CatchUpCacheDto {
    pub chunks: u64,
    pub bytes: u64,
    /// The last lsn the chunks cover (0: none yet).
    pub end_lsn: u64,
}

/// Replication state: on a replica, whom it follows, lag and last contact (the banner);
/// on a primary, its listener and CA.
#[utoipa::path(get, path = "/api/v1/federation/status", tag = "federation", responses((status = 200, body = FederationStatusDto)))]
async fn status(State(s): State<AppState>, _auth: Auth) -> Result<Json<FederationStatusDto>> {
    let follow = s
        .fed
        .follow
        .as_ref()
        .and_then(|f| f.lock().ok().map(|x| x.clone()));
    let ca_fingerprint = pki::ca_fingerprint(&s.core.config.data_dir);
    let hub = s
        .fed
        .ship
        .as_ref()
        .and_then(|f| f.lock().ok().map(|x| x.clone()));
    let instance_role = {
        let r = s.core.reader()?;
        crate::store::access::instance(&r.0)?
            .map(|m| m.role)
            .unwrap_or_default()
    };
    Ok(Json(FederationStatusDto {
        instance_role,
        hub,
        role: if follow.is_some() {
            "replica"
        } else {
            "primary"
        }
        .into(),
        listen: s.fed.listen.map(|a| a.to_string()),
        ca_fingerprint,
        last_contact: follow.as_ref().and_then(|f| f.last_contact).map(ts),
        follow,
        catch_up_cache: s.fed.chunks.as_ref().map(|c| {
            let (chunks, bytes) = c.usage();
            CatchUpCacheDto {
                chunks: chunks as u64,
                bytes,
                end_lsn: c.end(),
            }
        }),
    }))
}

#[derive(Serialize, ToSchema)]
pub struct CountyDto {
    /// The peer record (`not_after`: when its certificate expires).
    #[serde(flatten)]
    pub peer: PeerDto,
    /// The last entry of the county's log the hub has (0: nothing yet).
    pub lsn: u64,
    pub epoch: u64,
    /// When the hub last applied an entry from it.
    pub last_received: Option<String>,
    /// Why the hub stopped applying its entries, if it did.
    pub quarantined: Option<String>,
    /// Published articles the hub holds from it.
    pub articles: u64,
    /// Articles it published on each of the last 7 days (China time), oldest first.
    pub published_7d: Vec<u64>,
    /// Its articles waiting for a provincial review decision.
    pub pending_reviews: u64,
    /// Instructions sent to it and not acknowledged.
    pub unacknowledged: u64,
    /// When it last made a request here (since this hub started; null: not since).
    pub last_contact: Option<String>,
    /// Milliseconds since then.
    pub silent_ms: Option<i64>,
    /// The county's log head as it last said (since this hub started).
    pub county_head: Option<u64>,
    /// Entries of its log the hub has not got yet: its head less how far the hub has read it.
    pub lag_entries: Option<u64>,
}

/// The counties enrolled at this hub: certificate, how far the hub has their logs, quarantine.
#[utoipa::path(get, path = "/api/v1/federation/counties", tag = "federation", responses((status = 200, body = Vec<CountyDto>)))]
async fn counties(State(s): State<AppState>, auth: Auth) -> Result<Json<Vec<CountyDto>>> {
    let r = s.core.reader()?;
    let now = s.core.clock.now();
    let list = crate::workflow::hub::counties(&r.0, &auth.actor, now)?;
    Ok(Json(
        list.into_iter()
            .map(|c| {
                let cur = c.cursor;
                let contact = s.core.contacts.last(&c.peer.id);
                CountyDto {
                    peer: c.peer.into(),
                    lsn: cur.as_ref().map_or(0, |c| c.lsn),
                    epoch: cur.as_ref().map_or(0, |c| c.epoch),
                    last_received: cur
                        .as_ref()
                        .filter(|c| c.received_at > 0)
                        .map(|c| ts(c.received_at)),
                    last_contact: contact.map(|c| ts(c.at)),
                    silent_ms: contact.map(|c| (now - c.at).max(0)),
                    county_head: contact.and_then(|c| c.head),
                    lag_entries: contact
                        .and_then(|c| c.head)
                        .map(|head| head.saturating_sub(cur.as_ref().map_or(0, |c| c.through))),
                    quarantined: cur.and_then(|c| c.quarantined),
                    articles: c.articles,
                    published_7d: c.published_7d,
                    pending_reviews: c.pending_reviews,
                    unacknowledged: c.unacknowledged,
                }
            })
            .collect(),
    ))
}

#[derive(Serialize, ToSchema)]
pub struct CountyArticleDto {
    pub county: String,
    /// The article's id at the county.
    pub id: u64,
    pub title: String,
    pub status: String,
    pub revision: u32,
    pub published_at: Option<String>,
    pub received_at: String,
    /// Position of the county log entry it came with.
    pub lsn: u64,
}

/// A county's published articles as this hub holds them (read-only, with their origin).
#[utoipa::path(get, path = "/api/v1/federation/counties/{id}/articles", tag = "federation", params(("id" = String, Path)), responses((status = 200, body = Vec<CountyArticleDto>)))]
async fn county_articles(
    State(s): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
) -> Result<Json<Vec<CountyArticleDto>>> {
    let r = s.core.reader()?;
    let list = crate::workflow::hub::articles(&r.0, &auth.actor, &id)?;
    Ok(Json(
        list.into_iter()
            .map(|a| CountyArticleDto {
                county: a.county,
                id: a.article.id.0,
                title: a.article.title.clone(),
                status: a.article.status.as_str().to_string(),
                revision: a.article.revision,
                published_at: a.article.published_at.map(ts),
                received_at: ts(a.received_at),
                lsn: a.lsn,
            })
            .collect(),
    ))
}

#[derive(Serialize, ToSchema)]
pub struct CountyArticleFullDto {
    #[serde(flatten)]
    pub head: CountyArticleDto,
    pub county_name: String,
    pub subtitle: String,
    pub summary: String,
    pub byline: String,
    pub category: String,
    pub tags: Vec<String>,
    /// The text as the county published it (HTML sanitized again here).
    pub body: String,
    /// Set when the county took it down: why.
    pub retraction_reason: Option<String>,
}

/// One county article as this hub holds it, for the province's staff (a search hit opened).
#[utoipa::path(get, path = "/api/v1/federation/counties/{id}/articles/{article}", tag = "federation", params(("id" = String, Path), ("article" = u64, Path)), responses((status = 200, body = CountyArticleFullDto)))]
async fn county_article(
    State(s): State<AppState>,
    auth: Auth,
    Path((county, raw)): Path<(String, String)>,
) -> Result<Json<CountyArticleFullDto>> {
    let id = crate::http::error::parse_id(&raw, crate::error::Resource::Article)?;
    let r = s.core.reader()?;
    let c = crate::workflow::hub::county_article(&r.0, &auth.actor, &county, id)?;
    let county_name = crate::store::federation::peer_name(&r.0, &county)?;
    let a = &c.article;
    Ok(Json(CountyArticleFullDto {
        county_name,
        subtitle: a.subtitle.clone(),
        summary: a.summary.clone(),
        byline: a.byline.clone(),
        category: a.category.clone(),
        tags: a.tags.clone(),
        // A county's HTML is not trusted here: the same allowlist again.
        // Its media stay at the county: its asset URLs must not show this hub's files.
        body: crate::domain::hub::foreign_html(&crate::domain::html::sanitize(&a.body), |_| None),
        retraction_reason: a.retraction.as_ref().map(|x| x.reason.clone()),
        head: CountyArticleDto {
            county: c.county.clone(),
            id: a.id.0,
            title: a.title.clone(),
            status: a.status.as_str().to_string(),
            revision: a.revision,
            published_at: a.published_at.map(ts),
            received_at: ts(c.received_at),
            lsn: c.lsn,
        },
    }))
}
