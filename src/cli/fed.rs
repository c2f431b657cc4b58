//! `rongmei pki init`, `rongmei replica join` and `rongmei join` (a county joining its hub).

use std::process::ExitCode;

use crate::config::Config;
use crate::fed::follow::Upstream;
use crate::fed::pki;
use crate::http::routes::federation::JoinDto;

/// Create this instance's CA (and the federation listener's certificate) if missing.
pub fn pki_init(cfg: &Config) -> anyhow::Result<ExitCode> {
    let opened = super::open_offline(cfg)?;
    if opened.meta.role == "replica" {
        anyhow::bail!("a replica uses its primary's CA; it has none of its own");
    }
    let (ca, created) = pki::init_ca(
        &cfg.data_dir,
        &opened.meta.instance_id.0,
        crate::clock::system().now(),
    )?;
    println!(
        "{} CA in {}",
        if created { "created" } else { "existing" },
        pki::dir(&cfg.data_dir).display()
    );
    println!("CA fingerprint (SHA-256): {}", ca.fingerprint);
    Ok(ExitCode::SUCCESS)
}

/// Exchange a pairing or enrollment token and a new key's certificate request for a
/// certificate at `url` (`peer`: what it is, for messages; `instance`: a county's own id).
/// Returns the key (PEM) and the answer, its CA checked against the stated fingerprint and its
/// federation listener on.
pub(super) async fn request_certificate(
    url: &str,
    token: &str,
    peer: &str,
    instance: Option<&str>,
) -> anyhow::Result<(String, JoinDto)> {
    crate::fed::tls::install_provider();
    let (key, csr) = pki::new_csr(&format!("rongmei node of a {peer}"))?;
    let endpoint = format!("{}/api/v1/federation/join", url.trim_end_matches('/'));
    let mut body = serde_json::json!({ "token": token, "csr": csr });
    if let Some(i) = instance {
        body["instance_id"] = i.into();
    }
    let resp = reqwest::Client::new()
        .post(&endpoint)
        .json(&body)
        .send()
        .await
        .map_err(|e| anyhow::anyhow!("{endpoint}: {e}"))?;
    if !resp.status().is_success() {
        let status = resp.status();
        let body: serde_json::Value = resp.json().await.unwrap_or_default();
        anyhow::bail!(
            "the {peer} refused ({status}): {} {}",
            body["code"].as_str().unwrap_or_default(),
            body["message"].as_str().unwrap_or_default()
        );
    }
    let j: JoinDto = resp.json().await?;
    let ca_der = pki::pem_to_der(&j.ca)?;
    if pki::fingerprint(&ca_der) != j.ca_fingerprint {
        anyhow::bail!("the CA certificate received does not match its stated fingerprint");
    }
    if j.federation_addr.is_empty() {
        anyhow::bail!(
            "the {peer}'s federation listener is off: set federation.listen there and restart it"
        );
    }
    Ok((key, j))
}

/// Where the joined node connects, and whom it expects there.
pub(super) fn upstream_of(j: &JoinDto) -> Upstream {
    Upstream {
        addr: j.federation_addr.clone(),
        instance: j.instance_id.clone(),
        peer_id: j.peer_id.clone(),
        ca_fingerprint: j.ca_fingerprint.clone(),
    }
}

/// Keep what joining gave: the key (0600), the certificate and the CA to pin, as
/// `[key, certificate, ca]` in `dir`.
pub(super) fn save_identity(
    dir: &std::path::Path,
    [key_file, crt_file, ca_file]: [&str; 3],
    key: &str,
    j: &JoinDto,
) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir)?;
    pki::write_private(&dir.join(key_file), key)?;
    pki::write_public(&dir.join(crt_file), &j.certificate)?;
    pki::write_public(&dir.join(ca_file), &j.ca)?;
    Ok(())
}

/// Join a primary as its disaster-recovery replica: a new key and certificate request, the
/// token exchanged for a certificate, the primary's CA pinned, and an empty replica store.
pub async fn replica_join(cfg: &Config, url: &str, token: &str) -> anyhow::Result<ExitCode> {
    let data_dir = &cfg.data_dir;
    if data_dir.join(crate::store::DB_FILE).exists() {
        anyhow::bail!(
            "{} already has a database; a replica starts from an empty data dir",
            data_dir.display()
        );
    }
    let dir = pki::dir(data_dir);
    if dir.join(pki::NODE_KEY).exists() {
        anyhow::bail!("{} already holds a node key", dir.display());
    }
    let (key, j) = request_certificate(url, token, "primary", None).await?;
    save_identity(
        &dir,
        [pki::NODE_KEY, pki::NODE_CRT, pki::UPSTREAM_CRT],
        &key,
        &j,
    )?;
    upstream_of(&j).save(data_dir)?;
    crate::workflow::bootstrap::init_replica(
        data_dir,
        &j.instance_id,
        crate::clock::system().now(),
    )?;
    println!("joined instance {} as replica {}", j.instance_id, j.peer_id);
    println!(
        "primary CA fingerprint (compare with the primary's admin): {}",
        j.ca_fingerprint
    );
    println!("this replica's certificate fingerprint: {}", j.fingerprint);
    println!("federation address: {}", j.federation_addr);
    println!(
        "start it with: rongmei serve --data-dir {}",
        data_dir.display()
    );
    Ok(ExitCode::SUCCESS)
}

/// The instance id of the data dir: from the running server (control socket) or the store.
async fn instance_id(cfg: &Config) -> anyhow::Result<(String, String)> {
    if let Some(resp) = super::control::get(&cfg.data_dir, "/v1/status").await? {
        let v: serde_json::Value =
            serde_json::from_slice(&super::control::body_bytes(resp).await?)?;
        if let (Some(i), Some(r)) = (v["instance"].as_str(), v["role"].as_str()) {
            return Ok((i.to_string(), r.to_string()));
        }
    }
    let opened = super::open_offline(cfg)?;
    Ok((opened.meta.instance_id.0, opened.meta.role))
}

/// Join a provincial hub as a county: a new key and certificate request naming this instance,
/// the enrollment token exchanged for a certificate, the hub's CA pinned (`pki/hub*`). The
/// server ships to the hub from its next start.
pub async fn county_join(cfg: &Config, url: &str, token: &str) -> anyhow::Result<ExitCode> {
    use crate::fed::ship::{HUB_CA_CRT, HUB_CRT, HUB_FILE, HUB_KEY};
    let (instance, role) = instance_id(cfg).await?;
    if role != "county" {
        anyhow::bail!("only a county instance joins a hub (this one is a {role})");
    }
    let dir = pki::dir(&cfg.data_dir);
    if dir.join(HUB_FILE).exists() {
        anyhow::bail!(
            "this county has joined a hub already ({}); move it aside to join another",
            dir.join(HUB_FILE).display()
        );
    }
    let (key, j) = request_certificate(url, token, "hub", Some(&instance)).await?;
    if j.role != "county" || j.peer_id != instance {
        anyhow::bail!(
            "the token is not a county enrollment token (it is for a {})",
            j.role
        );
    }
    save_identity(&dir, [HUB_KEY, HUB_CRT, HUB_CA_CRT], &key, &j)?;
    upstream_of(&j).save_named(&cfg.data_dir, HUB_FILE)?;
    println!("joined hub {} as county {}", j.instance_id, j.peer_id);
    println!(
        "hub CA fingerprint (compare with the hub's admin): {}",
        j.ca_fingerprint
    );
    println!("this county's certificate fingerprint: {}", j.fingerprint);
    println!("hub federation address: {}", j.federation_addr);
    println!("the server ships to the hub from its next start");
    Ok(ExitCode::SUCCESS)
}
