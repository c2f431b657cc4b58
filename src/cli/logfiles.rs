//! `rongmei log export`, `log import` and `log quarantine export`: carrying the log on
//! removable media to an offline replica, and keeping a fenced primary's entries.

use std::path::Path;
use std::process::ExitCode;

use crate::config::Config;
use crate::fed::carry::{self, Until};
use crate::fed::pki;
use crate::media::BlobStore;

pub fn bar(len: u64, what: &str) -> indicatif::ProgressBar {
    let b = indicatif::ProgressBar::new(len);
    b.set_style(
        indicatif::ProgressStyle::with_template(&format!(
            "{what} [{{bar:40}}] {{pos}}/{{len}} entries ({{eta}})"
        ))
        .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    b
}

/// Write segments of the entries from `from` to the head into `out`, with the media they name
/// and a manifest (never overwriting). Asks the running server through its control socket, or
/// reads the store itself when none runs.
pub fn export(cfg: &Config, from: u64, out: &Path) -> anyhow::Result<ExitCode> {
    let ca_pem = pki::read(&pki::dir(&cfg.data_dir).join(pki::CA_CRT)).map_err(|e| {
        anyhow::anyhow!("{e}: segments are signed with this instance's CA (`rongmei pki init`)")
    })?;
    let rt = super::runtime()?;
    let online = rt
        .block_on(super::control::get(&cfg.data_dir, "/v1/status"))?
        .is_some();
    let progress = bar(0, "export");
    let mut report = |done: u64, total: u64| {
        progress.set_length(total);
        progress.set_position(done);
    };
    let blobs = BlobStore::at(&cfg.data_dir);
    let now = crate::clock::system().now();
    let m = if online {
        let mut next = |at: u64| -> crate::error::Result<Option<(Vec<u8>, u64)>> {
            let fetched = rt.block_on(async {
                let Some(resp) =
                    super::control::get(&cfg.data_dir, &format!("/v1/segment?from={at}")).await?
                else {
                    anyhow::bail!("the server stopped during the export");
                };
                if resp.status() == hyper::StatusCode::NO_CONTENT {
                    return Ok(None);
                }
                let head = resp
                    .headers()
                    .get("x-rongmei-head")
                    .and_then(|v| v.to_str().ok()?.parse::<u64>().ok())
                    .unwrap_or(0);
                Ok(Some((super::control::body_bytes(resp).await?, head)))
            });
            fetched.map_err(|e| crate::error::Error::Io(format!("{e:#}")))
        };
        carry::export(&mut next, &ca_pem, &blobs, from, out, now, &mut report)?
    } else {
        let opened = super::open_offline(cfg)?;
        let ca = pki::load_ca(&cfg.data_dir)?;
        let instance = opened.meta.instance_id.clone();
        let mut next = |at: u64| {
            carry::build_segment(&opened.db, &instance, at, &|m| ca.sign(m))
                .map(|b| b.map(|b| (b.bytes, b.head)))
        };
        carry::export(&mut next, &ca_pem, &blobs, from, out, now, &mut report)?
    };
    progress.finish_and_clear();
    for s in &m.segments {
        println!(
            "{}: entries {}–{}, {} bytes",
            s.file, s.first, s.last, s.bytes
        );
    }
    println!(
        "{}: {} media files carried{}",
        m.file_name(),
        m.assets.len(),
        if m.assets_missing.is_empty() {
            String::new()
        } else {
            format!(
                ", {} named but missing here (not carried)",
                m.assets_missing.len()
            )
        }
    );
    println!(
        "exported entries {}–{} of instance {} to {} ({}); CA fingerprint {}",
        m.from,
        m.to,
        m.instance,
        out.display(),
        if online {
            "from the running server"
        } else {
            "server stopped"
        },
        m.ca_fingerprint
    );
    Ok(ExitCode::SUCCESS)
}

/// The CA this store trusts for segments: its primary's (replica) or its own.
fn trusted_ca(cfg: &Config) -> anyhow::Result<String> {
    let d = pki::dir(&cfg.data_dir);
    let path = [d.join(pki::UPSTREAM_CRT), d.join(pki::CA_CRT)]
        .into_iter()
        .find(|p| p.exists())
        .ok_or_else(|| {
            anyhow::anyhow!("no pinned CA in {}: join the primary first", d.display())
        })?;
    Ok(pki::read(&path)?)
}

/// Apply the segments in `dir` that continue this store's log (server stopped), and take in
/// the media files carried with them.
pub fn import(cfg: &Config, dir: &Path, until: Until) -> anyhow::Result<ExitCode> {
    let ca_pem = trusted_ca(cfg)?;
    let mut opened = super::open_offline(cfg)?;
    let blobs = BlobStore::open(&cfg.data_dir)?;
    let progress = bar(0, "import");
    let r = carry::import(
        &mut opened,
        Some(&blobs),
        dir,
        &ca_pem,
        until,
        crate::clock::system().now(),
        &mut |d, t| {
            progress.set_length(t);
            progress.set_position(d);
        },
    );
    progress.finish_and_clear();
    let r = r?;
    for l in &r.lines {
        println!("{l}");
    }
    println!(
        "applied {} entries ({} already here); the log now ends at {}",
        r.applied, r.already, r.head
    );
    println!(
        "media: {} files taken in, {} still missing",
        r.assets_copied, r.assets_missing
    );
    Ok(ExitCode::SUCCESS)
}

/// Keep the entries after `after` (a fenced primary's entries past the fork) in `out`: signed
/// segments plus a readable JSON-lines copy. The store itself is not changed.
pub fn quarantine_export(cfg: &Config, after: u64, out: &Path) -> anyhow::Result<ExitCode> {
    let opened = super::open_offline(cfg)?;
    let (_, head) = crate::log::read::head(&opened.db)?;
    if after >= head.0 {
        println!(
            "nothing to quarantine: the log ends at {}, not after {after}",
            head.0
        );
        return Ok(ExitCode::SUCCESS);
    }
    std::fs::create_dir_all(out)?;
    let ca = pki::load_ca(&cfg.data_dir).ok();
    let instance = opened.meta.instance_id.clone();
    let mut files = Vec::new();
    if let Some(ca) = &ca {
        let mut at = after + 1;
        while let Some(b) = carry::build_segment(&opened.db, &instance, at, &|m| ca.sign(m))? {
            let path = out.join(b.header.file_name());
            carry::write_new(&path, &b.bytes)?;
            files.push(b.header.file_name());
            at = b.header.last + 1;
        }
    }
    let jsonl = out.join(format!("quarantine-{:012}-{:012}.jsonl", after + 1, head.0));
    let mut text = Vec::new();
    let mut at = after + 1;
    while at <= head.0 {
        let batch = crate::log::read_range(&opened.db, crate::domain::Lsn(at), 1_000)?;
        if batch.is_empty() {
            break;
        }
        for e in batch {
            at = e.lsn.0 + 1;
            serde_json::to_writer(&mut text, &e)?;
            text.push(b'\n');
        }
    }
    carry::write_new(&jsonl, &text)?;
    files.push(
        jsonl
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default(),
    );
    for f in &files {
        println!("{f}");
    }
    println!(
        "kept entries {}–{} of this store in {} (nothing in the store was changed or deleted)",
        after + 1,
        head.0,
        out.display()
    );
    if ca.is_none() {
        println!("(no CA here, so no signed segments: only the JSON lines)");
    }
    Ok(ExitCode::SUCCESS)
}
