//! Certificate renewal over the connection a peer already has. Before its certificate expires
//! (`federation.renew_before_days`), a county makes a new key and asks its hub:
//!
//! - `POST /fed/v1/renew` (any enrolled peer): the body is a certificate request (PEM); the CA
//!   signs it for the same role and id and the peer record takes the new fingerprint, keeping
//!   the old one as accepted until it expires (`PeerRenewed`). Connections made with the old
//!   certificate carry on; new ones use the new certificate.
//!
//! The county writes the new pair beside the old (`*.next`), then renames the certificate and
//! then the key into place; a crash in between is finished at the next start (`settle`).

use std::path::Path;

use axum::body::Bytes;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};

use super::pki;
use crate::clock::Millis;
use crate::domain::peer::Peer;
use crate::error::{Error, Result};
use crate::workflow::{Core, federation};

/// A certificate request is a few hundred bytes.
pub const MAX_CSR_BYTES: usize = 16 << 10;
const DAY_MS: i64 = 86_400_000;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RenewedDto {
    pub certificate: String,
    pub fingerprint: String,
    pub not_after: Millis,
}

/// `POST /fed/v1/renew` (the CA's side).
pub async fn handler(core: Core, who: Peer, body: Bytes) -> Response {
    match renew(&core, who, &body).await {
        Ok(r) => axum::Json(r).into_response(),
        Err(e) => e.into_response(),
    }
}

async fn renew(core: &Core, who: Peer, body: &[u8]) -> Result<RenewedDto> {
    let csr = std::str::from_utf8(body).map_err(|_| Error::invalid("csr", "PEM text"))?;
    let ca = pki::load_ca(&core.config.data_dir)?;
    let issued = ca.sign_peer(csr, &who.role, &who.id, core.clock.now())?;
    let (fp, not_after) = (issued.fingerprint.clone(), issued.not_after);
    core.committer
        .write(move |w| federation::renew(w, &who, &who.fingerprint, &fp, not_after))
        .await?;
    tracing::info!(fingerprint = %issued.fingerprint, "peer certificate renewed");
    Ok(RenewedDto {
        certificate: issued.pem,
        fingerprint: issued.fingerprint,
        not_after: issued.not_after,
    })
}

fn next(path: &Path) -> std::path::PathBuf {
    let mut s = path.as_os_str().to_owned();
    s.push(".next");
    s.into()
}

/// Finish (or undo) a renewal a crash interrupted: a `key.next` without its `crt.next` means
/// the certificate was already moved into place, so the key follows; both present means
/// nothing was moved, and the old pair stays.
pub fn settle(key: &Path, crt: &Path) -> Result<()> {
    let (k, c) = (next(key), next(crt));
    match (k.exists(), c.exists()) {
        (true, false) => std::fs::rename(&k, key)?,
        (true, true) => {
            std::fs::remove_file(&k)?;
            std::fs::remove_file(&c)?;
        }
        (false, true) => std::fs::remove_file(&c)?,
        (false, false) => {}
    }
    Ok(())
}

/// When the certificate at `crt` expires (`None`: unreadable).
pub fn expiry(crt: &Path) -> Option<Millis> {
    let der = pki::pem_to_der(&pki::read(crt).ok()?).ok()?;
    pki::identity(&der).map(|(_, _, not_after)| not_after)
}

/// Is it time to renew the certificate at `crt`?
pub fn due(crt: &Path, now: Millis, before_days: u32) -> bool {
    expiry(crt).is_some_and(|t| t - now < i64::from(before_days) * DAY_MS)
}

/// Ask over `http` (a client with the current certificate) for a new one, and put the new pair
/// in place of `key` and `crt`. Returns the new certificate's expiry.
pub async fn renew_at(
    http: &reqwest::Client,
    base: &str,
    key: &Path,
    crt: &Path,
) -> Result<Millis> {
    let (key_pem, csr) = pki::new_csr("rongmei county")?;
    let r = http
        .post(format!("{base}/fed/v1/renew"))
        .header("content-type", "application/x-pem-file")
        .body(csr)
        .send()
        .await
        .map_err(|e| Error::Io(format!("renewal: {e}")))?;
    if !r.status().is_success() {
        return Err(Error::Io(format!("renewal refused: {}", r.status())));
    }
    let got: RenewedDto = r
        .json()
        .await
        .map_err(|e| Error::Io(format!("renewal: {e}")))?;
    let (k, c) = (next(key), next(crt));
    settle(key, crt)?;
    pki::write_private(&k, &key_pem)?;
    pki::write_public(&c, &got.certificate)?;
    std::fs::File::open(&c).and_then(|f| f.sync_all())?;
    std::fs::rename(&c, crt)?;
    std::fs::rename(&k, key)?;
    if let Some(d) = crt.parent() {
        std::fs::File::open(d).and_then(|f| f.sync_all())?;
    }
    Ok(got.not_after)
}
