//! `check` and `log show`.

use std::process::ExitCode;

use redb::ReadableDatabase;

use crate::config::Config;
use crate::domain::Lsn;

pub fn check(cfg: &Config) -> anyhow::Result<ExitCode> {
    let opened = super::open_offline(cfg)?;
    let total = opened.appender.head().0;
    let bar = indicatif::ProgressBar::new(total);
    bar.set_style(
        indicatif::ProgressStyle::with_template("checking log {bar:40} {pos}/{len} entries")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    let report = crate::log::check::check(&opened.db, &|done, _| bar.set_position(done))?;
    bar.finish_and_clear();
    println!(
        "instance {} epoch {}: {} log entries verified, {} tables / {} rows compared with the log",
        opened.meta.instance_id.0,
        opened.meta.epoch.0,
        report.entries,
        report.tables_compared,
        report.rows_compared
    );
    if report.ok() {
        let digest = crate::store::snapshot::digest(&opened.db.begin_read()?)?;
        println!("content digest: {digest}");
        println!("ok");
        Ok(ExitCode::SUCCESS)
    } else {
        for p in &report.problems {
            println!("problem: {p}");
        }
        Ok(ExitCode::FAILURE)
    }
}

pub fn log_show(cfg: &Config, from: u64, limit: usize, json: bool) -> anyhow::Result<ExitCode> {
    let opened = super::open_offline(cfg)?;
    let _ = opened.db.begin_read()?;
    for e in crate::log::read_range(&opened.db, Lsn(from), limit)? {
        if json {
            println!("{}", serde_json::to_string(&e)?);
        } else {
            let actor = e
                .actor
                .map_or_else(|| "system".to_string(), |u| format!("user {u}"));
            println!(
                "{:>8}  epoch {}  {}  {:<16} {}  {}",
                e.lsn.0,
                e.epoch.0,
                crate::clock::rfc3339(e.at),
                e.fact.kind(),
                actor,
                &e.hash[..16]
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}
