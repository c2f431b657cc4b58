//! `import articles FILE.jsonl`: batched, idempotent, with a progress bar.

use std::io::BufRead;
use std::path::Path;
use std::process::ExitCode;

use redb::ReadableDatabase;

use crate::config::Config;
use crate::domain::outlet::OutletKind;
use crate::store::access;
use crate::workflow::commit::run_once;
use crate::workflow::import::{ImportCounts, ImportItem, import_batch};
use crate::workflow::{Actor, outlets, users};

pub fn articles(
    cfg: &Config,
    file: &Path,
    outlet_key: &str,
    batch: usize,
) -> anyhow::Result<ExitCode> {
    let batch = batch.clamp(1, 10_000);
    let mut opened = super::open_offline(cfg)?;
    let admin = access::user_by_name(&opened.db.begin_read()?, users::INITIAL_ADMIN)?
        .ok_or_else(|| anyhow::anyhow!("the admin account is missing"))?;
    let actor = Actor {
        user: admin,
        scopes: None,
    };
    let now = || crate::clock::system().now();
    let existing = outlets::resolve(&opened.db.begin_read()?, outlet_key).ok();
    let outlet = match existing {
        Some(o) => o,
        None => {
            let o = run_once(&opened.db, &mut opened.appender, now(), |w| {
                outlets::create(w, &actor, outlet_key, outlet_key, OutletKind::Other)
            })?;
            println!("created outlet {:?} (id {})", o.slug, o.id);
            o
        }
    };
    let size = std::fs::metadata(file)?.len();
    let bar = indicatif::ProgressBar::new(size);
    bar.set_style(
        indicatif::ProgressStyle::with_template("importing {bar:40} {bytes}/{total_bytes} {msg}")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    let reader = std::io::BufReader::new(std::fs::File::open(file)?);
    let (mut total, mut items, mut bad_lines) =
        (ImportCounts::default(), Vec::with_capacity(batch), 0u64);
    let mut flush = |items: &mut Vec<ImportItem>, total: &mut ImportCounts| -> anyhow::Result<()> {
        if items.is_empty() {
            return Ok(());
        }
        let c = run_once(&opened.db, &mut opened.appender, now(), |w| {
            import_batch(w, &actor, outlet.id, items, &mut |src, e| {
                eprintln!("rejected {src}: {e}")
            })
        })?;
        total.created += c.created;
        total.skipped += c.skipped;
        total.rejected += c.rejected;
        items.clear();
        Ok(())
    };
    for (n, line) in reader.lines().enumerate() {
        let line = line?;
        bar.inc(line.len() as u64 + 1);
        if line.trim().is_empty() {
            continue;
        }
        match serde_json::from_str::<ImportItem>(&line) {
            Ok(i) => items.push(i),
            Err(e) => {
                bad_lines += 1;
                eprintln!("line {}: not an article: {e}", n + 1);
            }
        }
        if items.len() >= batch {
            flush(&mut items, &mut total)?;
            bar.set_message(format!("{} new", total.created));
        }
    }
    flush(&mut items, &mut total)?;
    bar.finish_and_clear();
    println!(
        "outlet {}: {} created, {} already present, {} rejected, {} unreadable lines",
        outlet.slug, total.created, total.skipped, total.rejected, bad_lines
    );
    Ok(if total.rejected + bad_lines == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(2)
    })
}
