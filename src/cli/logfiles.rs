//! `rongmei log export` and `rongmei log import`: carrying the log on removable media to an
//! offline replica (both with the server on that data dir stopped).

use std::path::Path;
use std::process::ExitCode;

use crate::config::Config;
use crate::domain::Lsn;
use crate::fed::{pki, segment};

fn bar(len: u64, what: &str) -> indicatif::ProgressBar {
    let b = indicatif::ProgressBar::new(len);
    b.set_style(
        indicatif::ProgressStyle::with_template(&format!(
            "{what} [{{bar:40}}] {{pos}}/{{len}} entries ({{eta}})"
        ))
        .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    b
}

/// Write segments of the entries from `from` to the head into `out` (never overwriting).
pub fn export(cfg: &Config, from: u64, out: &Path) -> anyhow::Result<ExitCode> {
    let opened = super::open_offline(cfg)?;
    let instance = opened.meta.instance_id.0.clone();
    let ca = pki::load_ca(&cfg.data_dir).map_err(|e| {
        anyhow::anyhow!("{e}: segments are signed with this instance's CA (`rongmei pki init`)")
    })?;
    let (_, head) = crate::log::read::head(&opened.db)?;
    let from = from.max(1);
    if from > head.0 {
        anyhow::bail!("nothing to export: the log ends at {}", head.0);
    }
    std::fs::create_dir_all(out)?;
    let mut prev_hash = if from == 1 {
        hex::encode(crate::log::entry::genesis(&opened.meta.instance_id))
    } else {
        crate::log::raw_at(&opened.db, Lsn(from - 1))?
            .map(|s| crate::log::entry::decode_stored(&s).map(|e| e.hash))
            .transpose()?
            .ok_or_else(|| anyhow::anyhow!("entry {} is missing", from - 1))?
    };
    let progress = bar(head.0 - from + 1, "export");
    let (mut at, mut files) = (from, Vec::new());
    while at <= head.0 {
        // One segment: same epoch, up to MAX_RAW bytes.
        let (mut entries, mut raw, mut epoch, mut last_hash) =
            (Vec::new(), 0usize, None, String::new());
        'fill: while at <= head.0 {
            for s in crate::log::read_raw(&opened.db, Lsn(at), 1_000, usize::MAX)? {
                let e = crate::log::entry::decode_stored(&s)?;
                if epoch.is_some_and(|x| x != e.epoch.0)
                    || (raw + s.len() > segment::MAX_RAW && !entries.is_empty())
                {
                    break 'fill;
                }
                epoch = Some(e.epoch.0);
                last_hash = e.hash;
                raw += s.len();
                entries.push(s);
                at += 1;
            }
        }
        let first = at - entries.len() as u64;
        let header = segment::Header {
            instance: instance.clone(),
            epoch: epoch.unwrap_or(0),
            first,
            last: at - 1,
            prev_hash: prev_hash.clone(),
            count: 0,
            raw_bytes: 0,
            sha256: String::new(),
            signature: String::new(),
        };
        let (header, bytes) = segment::encode(header, &entries, |m| ca.sign(m))?;
        let path = out.join(header.file_name());
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&path)
            .map_err(|e| {
                anyhow::anyhow!("{}: {e} (segments are never overwritten)", path.display())
            })?;
        std::io::Write::write_all(&mut f, &bytes)?;
        f.sync_all()?;
        progress.inc(entries.len() as u64);
        files.push((header.file_name(), header.first, header.last, bytes.len()));
        prev_hash = last_hash;
    }
    progress.finish_and_clear();
    for (name, a, b, n) in &files {
        println!("{name}: entries {a}–{b}, {n} bytes");
    }
    println!(
        "exported entries {from}–{} of instance {instance} to {}; CA fingerprint {}",
        head.0,
        out.display(),
        ca.fingerprint
    );
    Ok(ExitCode::SUCCESS)
}

/// Apply the segments in `dir` that continue this replica's log, in order.
pub fn import(cfg: &Config, dir: &Path) -> anyhow::Result<ExitCode> {
    let mut opened = super::open_offline(cfg)?;
    let d = pki::dir(&cfg.data_dir);
    let trusted = [d.join(pki::UPSTREAM_CRT), d.join(pki::CA_CRT)]
        .into_iter()
        .find(|p| p.exists())
        .ok_or_else(|| {
            anyhow::anyhow!("no pinned CA in {}: join the primary first", d.display())
        })?;
    let ca_pem = pki::read(&trusted)?;
    let mut names: Vec<_> = std::fs::read_dir(dir)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "rmlog"))
        .collect();
    names.sort();
    if names.is_empty() {
        anyhow::bail!("no .rmlog segments in {}", dir.display());
    }
    let (mut applied, mut skipped) = (0u64, 0u64);
    for path in names {
        let bytes = std::fs::read(&path)?;
        let name = path.display().to_string();
        let (h, entries) = segment::decode(&bytes, |m, s| pki::verify(&ca_pem, m, s))
            .map_err(|e| anyhow::anyhow!("{name}: refused: {e}"))?;
        if h.instance != opened.meta.instance_id.0 {
            anyhow::bail!(
                "{name}: refused: it is from instance {}, this store follows {}",
                h.instance,
                opened.meta.instance_id.0
            );
        }
        let head = opened.appender.head().0;
        if h.last <= head {
            skipped += h.count;
            println!("{name}: entries {}–{} already here", h.first, h.last);
            continue;
        }
        if h.first > head + 1 {
            anyhow::bail!(
                "{name}: refused: it starts at {}, this store ends at {head}; missing entries {}–{} (export them with `rongmei log export --from {}`)",
                h.first,
                head + 1,
                h.first - 1,
                head + 1
            );
        }
        let todo: Vec<Vec<u8>> = entries
            .into_iter()
            .skip((head + 1 - h.first) as usize)
            .collect();
        let progress = bar(todo.len() as u64, "import");
        for chunk in todo.chunks(1_000) {
            crate::workflow::commit::run_once(
                &opened.db,
                &mut opened.appender,
                crate::clock::system().now(),
                |w| w.replicate(chunk),
            )
            .map_err(|e| anyhow::anyhow!("{name}: refused: {e} (not on this store's history)"))?;
            progress.inc(chunk.len() as u64);
            applied += chunk.len() as u64;
        }
        progress.finish_and_clear();
        println!("{name}: applied up to {}", h.last);
    }
    let (_, head) = crate::log::read::head(&opened.db)?;
    let head = head.0;
    println!("applied {applied} entries ({skipped} already here); the log now ends at {head}");
    Ok(ExitCode::SUCCESS)
}
