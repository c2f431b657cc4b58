//! rustls configurations for federation (ring provider, TLS 1.3 only).

use std::path::Path;
use std::sync::Arc;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::WebPkiClientVerifier;
use rustls::{ClientConfig, RootCertStore, ServerConfig};

use super::pki;
use crate::error::{Error, Result};

/// Install the process-wide crypto provider (ring) once; later calls are no-ops.
pub fn install_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

fn tls_err(what: &str, e: impl std::fmt::Display) -> Error {
    Error::Config(format!("{what}: {e}"))
}

fn certs(path: &Path) -> Result<Vec<CertificateDer<'static>>> {
    CertificateDer::pem_file_iter(path)
        .and_then(|i| i.collect::<std::result::Result<Vec<_>, _>>())
        .map_err(|e| tls_err(&path.display().to_string(), e))
}

fn key(path: &Path) -> Result<PrivateKeyDer<'static>> {
    PrivateKeyDer::from_pem_file(path).map_err(|e| tls_err(&path.display().to_string(), e))
}

fn roots(path: &Path) -> Result<RootCertStore> {
    let mut r = RootCertStore::empty();
    for c in certs(path)? {
        r.add(c).map_err(|e| tls_err("trusted CA", e))?;
    }
    Ok(r)
}

/// The federation listener: TLS 1.3, a client certificate signed by our CA required.
pub fn server_config(data_dir: &Path) -> Result<Arc<ServerConfig>> {
    install_provider();
    let d = pki::dir(data_dir);
    let verifier = WebPkiClientVerifier::builder(Arc::new(roots(&d.join(pki::CA_CRT))?))
        .build()
        .map_err(|e| tls_err("client verifier", e))?;
    let mut c = ServerConfig::builder_with_protocol_versions(&[&rustls::version::TLS13])
        .with_client_cert_verifier(verifier)
        .with_single_cert(
            certs(&d.join(pki::SERVER_CRT))?,
            key(&d.join(pki::SERVER_KEY))?,
        )
        .map_err(|e| tls_err("server certificate", e))?;
    c.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(c))
}

/// A follower's client: trusts only the CA it pinned, presents its own certificate.
pub fn client_config(data_dir: &Path) -> Result<ClientConfig> {
    let d = pki::dir(data_dir);
    client_config_with(
        &d.join(pki::UPSTREAM_CRT),
        &d.join(pki::NODE_CRT),
        &d.join(pki::NODE_KEY),
    )
}

/// A client trusting only the CA in `ca` and presenting the certificate `crt` with `key`.
pub fn client_config_with(ca: &Path, crt: &Path, key_file: &Path) -> Result<ClientConfig> {
    install_provider();
    ClientConfig::builder_with_protocol_versions(&[&rustls::version::TLS13])
        .with_root_certificates(roots(ca)?)
        .with_client_auth_cert(certs(crt)?, key(key_file)?)
        .map_err(|e| tls_err("client certificate", e))
}
