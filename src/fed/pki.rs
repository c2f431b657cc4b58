//! The instance's certificate authority and the certificates of its peers (rcgen), kept as PEM
//! files under `DATA_DIR/pki/` (private keys mode 0600):
//!
//! | file          | what                                                                     |
//! |---------------|--------------------------------------------------------------------------|
//! | `ca.key/.crt` | this instance's CA (a primary's or hub's): signs its peers and its server |
//! | `server.key/.crt` | the federation listener's certificate (DNS name `<instance>.rongmei`) |
//! | `node.key/.crt`   | this node's client certificate, issued by the upstream's CA          |
//! | `upstream.crt`    | the upstream CA this node pinned when it joined                      |
//!
//! A peer certificate names its role and id in one SAN URI, `rongmei://<role>/<id>`; the
//! upstream decides both when it signs (what the CSR asks for is ignored). Fingerprints are
//! SHA-256 of the DER, shown as colon-separated hex for comparing out of band.

use std::path::{Path, PathBuf};

use rcgen::{
    BasicConstraints, CertificateParams, CertificateSigningRequestParams, DistinguishedName,
    DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair, KeyUsagePurpose, SanType,
};
use sha2::{Digest, Sha256};

use crate::clock::Millis;
use crate::error::{Error, Result};

pub const CA_KEY: &str = "ca.key";
pub const CA_CRT: &str = "ca.crt";
pub const SERVER_KEY: &str = "server.key";
pub const SERVER_CRT: &str = "server.crt";
pub const NODE_KEY: &str = "node.key";
pub const NODE_CRT: &str = "node.crt";
pub const UPSTREAM_CRT: &str = "upstream.crt";

/// Lifetime of a CA (years) and of a peer or server certificate (days).
const CA_YEARS: i64 = 20;
pub const CERT_DAYS: i64 = 397;

pub fn dir(data_dir: &Path) -> PathBuf {
    data_dir.join("pki")
}

fn pki_err(what: &str, e: impl std::fmt::Display) -> Error {
    Error::Config(format!("{what}: {e}"))
}

/// Colon-separated SHA-256 of a certificate's DER.
pub fn fingerprint(der: &[u8]) -> String {
    let h = Sha256::digest(der);
    h.iter()
        .map(|b| format!("{b:02X}"))
        .collect::<Vec<_>>()
        .join(":")
}

/// DER of the first certificate in a PEM text.
pub fn pem_to_der(pem: &str) -> Result<Vec<u8>> {
    let (_, p) = x509_parser::pem::parse_x509_pem(pem.as_bytes())
        .map_err(|e| pki_err("not a PEM certificate", e))?;
    Ok(p.contents)
}

/// Write a file readable by the owner only (private keys), never replacing one.
pub fn write_private(path: &Path, text: &str) -> Result<()> {
    use std::io::Write;
    let mut o = std::fs::OpenOptions::new();
    o.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        o.mode(0o600);
    }
    let mut f = o
        .open(path)
        .map_err(|e| Error::Io(format!("{}: {e}", path.display())))?;
    f.write_all(text.as_bytes())
        .and_then(|_| f.sync_all())
        .map_err(|e| Error::Io(format!("{}: {e}", path.display())))
}

pub fn write_public(path: &Path, text: &str) -> Result<()> {
    std::fs::write(path, text).map_err(|e| Error::Io(format!("{}: {e}", path.display())))
}

pub fn read(path: &Path) -> Result<String> {
    std::fs::read_to_string(path).map_err(|e| Error::Io(format!("{}: {e}", path.display())))
}

fn days(now: Millis, d: i64) -> Result<(time::OffsetDateTime, time::OffsetDateTime)> {
    let start = time::OffsetDateTime::from_unix_timestamp(now / 1000 - 3600)
        .map_err(|e| pki_err("clock", e))?;
    Ok((start, start + time::Duration::days(d)))
}

/// The DNS name of an instance's federation listener.
pub fn server_name(instance: &str) -> String {
    format!("{instance}.rongmei")
}

/// A loaded CA: signs peer and server certificates.
pub struct Ca {
    issuer: Issuer<'static, KeyPair>,
    pub cert_pem: String,
    pub fingerprint: String,
}

/// Create the CA (and the listener's certificate) under `data_dir/pki` if there is none.
/// Returns the CA and whether it was created now.
pub fn init_ca(data_dir: &Path, instance: &str, now: Millis) -> Result<(Ca, bool)> {
    let d = dir(data_dir);
    if d.join(CA_CRT).exists() {
        return Ok((load_ca(data_dir)?, false));
    }
    std::fs::create_dir_all(&d).map_err(|e| Error::Io(format!("{}: {e}", d.display())))?;
    let key = KeyPair::generate().map_err(|e| pki_err("CA key", e))?;
    let mut p = CertificateParams::default();
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, format!("rongmei CA {instance}"));
    dn.push(DnType::OrganizationName, "rongmei");
    p.distinguished_name = dn;
    p.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    p.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    (p.not_before, p.not_after) = days(now, CA_YEARS * 366)?;
    let cert = p
        .self_signed(&key)
        .map_err(|e| pki_err("CA certificate", e))?;
    write_private(&d.join(CA_KEY), &key.serialize_pem())?;
    write_public(&d.join(CA_CRT), &cert.pem())?;
    let ca = load_ca(data_dir)?;
    let (crt, skey) = ca.server_cert(instance, now)?;
    write_private(&d.join(SERVER_KEY), &skey)?;
    write_public(&d.join(SERVER_CRT), &crt)?;
    Ok((ca, true))
}

/// The CA's fingerprint, if this instance has one (reads the certificate only).
pub fn ca_fingerprint(data_dir: &Path) -> Option<String> {
    let pem = std::fs::read_to_string(dir(data_dir).join(CA_CRT)).ok()?;
    pem_to_der(&pem).ok().map(|d| fingerprint(&d))
}

pub fn load_ca(data_dir: &Path) -> Result<Ca> {
    let d = dir(data_dir);
    let key = KeyPair::from_pem(&read(&d.join(CA_KEY))?).map_err(|e| pki_err("CA key", e))?;
    let cert_pem = read(&d.join(CA_CRT))?;
    let issuer = Issuer::from_ca_cert_pem(&cert_pem, key).map_err(|e| pki_err("CA", e))?;
    let fingerprint = fingerprint(&pem_to_der(&cert_pem)?);
    Ok(Ca {
        issuer,
        cert_pem,
        fingerprint,
    })
}

/// A signed peer certificate.
pub struct Issued {
    pub pem: String,
    pub fingerprint: String,
    pub not_after: Millis,
}

impl Ca {
    /// Sign a peer's CSR as `rongmei://<role>/<id>`: the CSR contributes its public key only.
    pub fn sign_peer(&self, csr_pem: &str, role: &str, id: &str, now: Millis) -> Result<Issued> {
        let csr = CertificateSigningRequestParams::from_pem(csr_pem)
            .map_err(|e| Error::invalid("csr", format!("not a valid certificate request: {e}")))?;
        let mut p = CertificateParams::default();
        let mut dn = DistinguishedName::new();
        dn.push(DnType::CommonName, format!("{role} {id}"));
        p.distinguished_name = dn;
        p.subject_alt_names = vec![SanType::URI(
            format!("rongmei://{role}/{id}")
                .try_into()
                .map_err(|e| pki_err("peer name", e))?,
        )];
        p.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
        p.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        p.use_authority_key_identifier_extension = true;
        (p.not_before, p.not_after) = days(now, CERT_DAYS)?;
        let not_after = p.not_after.unix_timestamp() * 1000;
        let cert = p
            .signed_by(&csr.public_key, &self.issuer)
            .map_err(|e| pki_err("signing", e))?;
        Ok(Issued {
            pem: cert.pem(),
            fingerprint: fingerprint(cert.der()),
            not_after,
        })
    }

    /// Sign `msg` with the CA key (ECDSA P-256, SHA-256, ASN.1 DER signature).
    pub fn sign(&self, msg: &[u8]) -> Result<Vec<u8>> {
        use rcgen::SigningKey;
        self.issuer
            .key()
            .sign(msg)
            .map_err(|e| pki_err("signing", e))
    }

    /// The federation listener's certificate and key (PEM).
    fn server_cert(&self, instance: &str, now: Millis) -> Result<(String, String)> {
        let key = KeyPair::generate().map_err(|e| pki_err("server key", e))?;
        let mut p = CertificateParams::new(vec![server_name(instance)])
            .map_err(|e| pki_err("server name", e))?;
        p.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        p.use_authority_key_identifier_extension = true;
        (p.not_before, p.not_after) = days(now, CERT_DAYS)?;
        let cert = p
            .signed_by(&key, &self.issuer)
            .map_err(|e| pki_err("server certificate", e))?;
        Ok((cert.pem(), key.serialize_pem()))
    }
}

/// A new key and a certificate request for it (PEM: key, csr).
pub fn new_csr(what: &str) -> Result<(String, String)> {
    let key = KeyPair::generate().map_err(|e| pki_err("key", e))?;
    let mut p = CertificateParams::default();
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, what);
    p.distinguished_name = dn;
    let csr = p
        .serialize_request(&key)
        .map_err(|e| pki_err("certificate request", e))?;
    Ok((
        key.serialize_pem(),
        csr.pem().map_err(|e| pki_err("certificate request", e))?,
    ))
}

/// Does `sig` sign `msg` under the key of the certificate `cert_pem` (a CA we trust)?
pub fn verify(cert_pem: &str, msg: &[u8], sig: &[u8]) -> bool {
    let Ok(der) = pem_to_der(cert_pem) else {
        return false;
    };
    let Ok((_, c)) = x509_parser::parse_x509_certificate(&der) else {
        return false;
    };
    let key = c.public_key().subject_public_key.data.to_vec();
    ring::signature::UnparsedPublicKey::new(&ring::signature::ECDSA_P256_SHA256_ASN1, key)
        .verify(msg, sig)
        .is_ok()
}

/// The `(role, id)` a peer certificate names, and its expiry.
pub fn identity(der: &[u8]) -> Option<(String, String, Millis)> {
    let (_, c) = x509_parser::parse_x509_certificate(der).ok()?;
    let not_after = c.validity().not_after.timestamp() * 1000;
    let san = c.subject_alternative_name().ok()??;
    san.value.general_names.iter().find_map(|n| match n {
        x509_parser::extensions::GeneralName::URI(u) => {
            let rest = u.strip_prefix("rongmei://")?;
            let (role, id) = rest.split_once('/')?;
            Some((role.to_string(), id.to_string(), not_after))
        }
        _ => None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: Millis = 1_790_000_000_000;

    #[test]
    fn a_peer_certificate_names_what_the_ca_decided() {
        let dir = tempfile::tempdir().unwrap();
        let (ca, created) = init_ca(dir.path(), "inst-1", NOW).unwrap();
        assert!(created);
        let (again, created) = init_ca(dir.path(), "inst-1", NOW).unwrap();
        assert!(!created);
        assert_eq!(again.fingerprint, ca.fingerprint);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let m = std::fs::metadata(dir.path().join("pki").join(CA_KEY)).unwrap();
            assert_eq!(m.permissions().mode() & 0o777, 0o600);
        }
        let (_key, csr) = new_csr("whatever the peer asks").unwrap();
        let issued = ca.sign_peer(&csr, "replica", "node-7", NOW).unwrap();
        let der = pem_to_der(&issued.pem).unwrap();
        let (role, id, not_after) = identity(&der).unwrap();
        assert_eq!((role.as_str(), id.as_str()), ("replica", "node-7"));
        assert_eq!(not_after, issued.not_after);
        assert_eq!(issued.fingerprint, fingerprint(&der));
        assert_eq!(issued.fingerprint.len(), 32 * 3 - 1);
    }

    #[test]
    fn garbage_requests_are_refused_with_a_code() {
        let dir = tempfile::tempdir().unwrap();
        let (ca, _) = init_ca(dir.path(), "inst-1", NOW).unwrap();
        let e = ca
            .sign_peer("not a csr", "replica", "x", NOW)
            .err()
            .unwrap();
        assert_eq!(e.code(), "invalid_input");
    }
}
