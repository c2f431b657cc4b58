//! `rongmei backup`, `rongmei restore` and `rongmei promote`.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use crate::config::Config;
use crate::fed::backup::{self, RestoreOptions};
use crate::fed::carry::Until;
use crate::fed::pki;
use crate::media::BlobStore;

/// Write a consistent backup to `out` (never overwriting): from the running server through its
/// control socket, or from the store itself when none runs.
pub fn backup(cfg: &Config, out: &Path) -> anyhow::Result<ExitCode> {
    if out.exists() {
        anyhow::bail!("{} exists (backups are never overwritten)", out.display());
    }
    let tmp = out.with_extension("partial");
    let mut file = std::io::BufWriter::new(
        std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&tmp)
            .map_err(|e| {
                anyhow::anyhow!(
                    "{}: {e} (another backup to this name running, or left by one that was interrupted: remove it)",
                    tmp.display()
                )
            })?,
    );
    let written = (|| -> anyhow::Result<bool> {
        let rt = super::runtime()?;
        let online = rt.block_on(async {
            match super::control::get(&cfg.data_dir, "/v1/backup").await? {
                Some(resp) => super::control::body_to(resp, &mut file).await.map(Some),
                None => Ok(None),
            }
        })?;
        if online.is_none() {
            let opened = super::open_offline(cfg)?;
            let ca = pki::read(&pki::dir(&cfg.data_dir).join(pki::CA_CRT)).ok();
            backup::write(
                &opened.db,
                &BlobStore::at(&cfg.data_dir),
                ca,
                crate::clock::system().now(),
                &mut file,
            )?;
        }
        use std::io::Write;
        file.flush()?;
        file.get_ref().sync_all()?;
        Ok(online.is_some())
    })();
    let online = match written {
        Ok(o) => o,
        Err(e) => {
            let _ = std::fs::remove_file(&tmp);
            return Err(e);
        }
    };
    // Check what arrived end to end before it gets its name.
    let (h, t, _, _) = match backup::verify(&tmp) {
        Ok(v) => v,
        Err(e) => {
            let _ = std::fs::remove_file(&tmp);
            anyhow::bail!("the backup did not complete: {e}");
        }
    };
    std::fs::rename(&tmp, out)?;
    let size = std::fs::metadata(out)?.len();
    println!(
        "backup of instance {} at epoch {} lsn {} ({}): {} ({size} bytes, {} tables, {} rows)",
        h.instance,
        h.epoch,
        h.lsn,
        if online {
            "taken from the running server"
        } else {
            "server stopped"
        },
        out.display(),
        t.tables,
        t.rows
    );
    println!("content digest: {}", t.digest);
    println!(
        "media files named: {} (kept under {}/media, copy them alongside the backup)",
        h.assets.len(),
        cfg.data_dir.display()
    );
    Ok(ExitCode::SUCCESS)
}

/// Parse `--to-time` (RFC 3339).
fn parse_time(s: &str) -> anyhow::Result<i64> {
    let t = time::OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339)
        .map_err(|e| {
            anyhow::anyhow!("--to-time {s}: {e} (use RFC 3339, e.g. 2026-11-22T14:00:00+08:00)")
        })?;
    Ok((t.unix_timestamp_nanos() / 1_000_000) as i64)
}

pub struct RestoreArgs {
    pub file: PathBuf,
    pub segments: Option<PathBuf>,
    pub to_lsn: Option<u64>,
    pub to_time: Option<String>,
    pub assets: Option<PathBuf>,
}

/// Restore a backup into the (empty) data dir, roll forward if asked, begin a new epoch.
pub fn restore(cfg: &Config, a: RestoreArgs) -> anyhow::Result<ExitCode> {
    let until = match (a.to_lsn, &a.to_time) {
        (Some(_), Some(_)) => anyhow::bail!("give --to-lsn or --to-time, not both"),
        (Some(n), None) => Some(Until::Lsn(n)),
        (None, Some(t)) => Some(Until::Time(parse_time(t)?)),
        (None, None) => None,
    };
    if until.is_some() && a.segments.is_none() {
        anyhow::bail!("--to-lsn/--to-time need --segments DIR to roll forward with");
    }
    let opts = RestoreOptions {
        segments: a.segments,
        until,
        assets: a.assets,
    };
    let bar = super::logfiles::bar(0, "restore");
    let r = backup::restore(
        &a.file,
        &cfg.data_dir,
        &opts,
        crate::clock::system().now(),
        &mut |what, d, t| {
            bar.set_message(what.to_string());
            bar.set_length(t);
            bar.set_position(d);
        },
    );
    bar.finish_and_clear();
    let r = r?;
    println!(
        "restored instance {} from its backup at lsn {} ({} tables, {} rows; content digest {})",
        r.header.instance, r.header.lsn, r.counts.tables, r.counts.rows, r.digest
    );
    if r.rolled_forward > 0 {
        println!(
            "rolled forward {} entries to lsn {}",
            r.rolled_forward, r.reached
        );
    }
    println!(
        "new epoch {} begins after lsn {} (entries of the old epoch past it are not part of this history)",
        r.epoch.0, r.reached
    );
    println!(
        "media: {} files taken in, {} missing{}",
        r.assets_copied,
        r.assets_missing,
        if r.assets_missing > 0 {
            " (pass --assets with the old data dir or a copy of its media/)"
        } else {
            ""
        }
    );
    println!(
        "the CA's private key is not in a backup: copy pki/ from the old data dir to keep its replicas paired, or they pair again with this one's new CA"
    );
    Ok(ExitCode::SUCCESS)
}

/// Turn this (stopped) replica into a primary with a new epoch.
pub fn promote(cfg: &Config) -> anyhow::Result<ExitCode> {
    let mut opened = super::open_offline(cfg)?;
    if opened.meta.role != "replica" {
        anyhow::bail!(
            "this instance is a {}, not a replica: only a replica is promoted",
            opened.meta.role
        );
    }
    let role = crate::workflow::bootstrap::origin_role(&opened.db)?;
    let (epoch, lsn) = crate::workflow::bootstrap::begin_epoch(
        &mut opened,
        &role,
        crate::domain::fact::EpochReason::Promote,
        crate::clock::system().now(),
    )?;
    let after = lsn.0 - 1;
    let d = pki::dir(&cfg.data_dir);
    let up = d.join(crate::fed::follow::UPSTREAM_FILE);
    if up.exists() {
        std::fs::rename(&up, d.join(format!("upstream.promoted-e{}.toml", epoch.0)))?;
    }
    println!(
        "promoted: this instance is now the primary, epoch {} from lsn {lsn}",
        epoch.0
    );
    println!("fork point: entries up to lsn {after} are shared with the old primary");
    println!(
        "the old primary must not take writes any more; whatever it wrote after lsn {after} is refused here (history_diverged). Keep it with `rongmei log quarantine export --after {after} --out DIR` on the old primary's data dir"
    );
    println!(
        "start this one with federation.listen set: it creates its own CA, and replicas pair with it afresh"
    );
    Ok(ExitCode::SUCCESS)
}
