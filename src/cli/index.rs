//! `index rebuild` and `index check` (offline: the server must be stopped).

use std::process::ExitCode;

use crate::config::Config;
use crate::search::{Analyzers, indexer, verify};

fn analyzers(cfg: &Config) -> anyhow::Result<Analyzers> {
    let dict = &cfg.search.user_dictionary;
    let dict = (!dict.is_empty()).then(|| std::path::PathBuf::from(dict));
    Ok(Analyzers::load(dict.as_deref())?)
}

pub fn rebuild(cfg: &Config) -> anyhow::Result<ExitCode> {
    let opened = super::open_offline(cfg)?;
    let a = analyzers(cfg)?;
    let bar = indicatif::ProgressBar::new(0);
    bar.set_style(
        indicatif::ProgressStyle::with_template(
            "indexing {bar:40} {pos}/{len} articles ({per_sec}, {eta} left)",
        )
        .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    let sw = crate::clock::Stopwatch::start();
    let (docs, cursor) = indexer::rebuild_offline(
        &opened.db,
        &a,
        &cfg.data_dir,
        &crate::app::search_options(cfg),
        crate::clock::system().now(),
        &|done, total| {
            bar.set_length(total);
            bar.set_position(done);
            Ok(())
        },
    )?;
    bar.finish_and_clear();
    let secs = sw.elapsed().as_secs_f64();
    println!(
        "search index rebuilt: {docs} articles at log position {} in {secs:.1} s ({:.0} articles/s)",
        cursor.lsn,
        docs as f64 / secs.max(1e-9)
    );
    Ok(ExitCode::SUCCESS)
}

pub fn check(cfg: &Config) -> anyhow::Result<ExitCode> {
    let opened = super::open_offline(cfg)?;
    let a = analyzers(cfg)?;
    let r = verify::check(
        &opened.db,
        &a,
        &cfg.data_dir,
        &crate::app::search_options(cfg),
    )?;
    println!(
        "search index at log position {} ({} entries applied to catch up): {} documents, {} articles",
        r.lsn, r.caught_up, r.docs, r.articles
    );
    let show = |what: &str, v: &[String]| {
        if !v.is_empty() {
            let head: Vec<&str> = v.iter().take(20).map(String::as_str).collect();
            println!("problem: {} {what}: {}", v.len(), head.join(", "));
        }
    };
    show("articles indexed more than once", &r.duplicates);
    show("articles missing from the index", &r.missing);
    show("documents of unknown articles", &r.extra);
    for (id, got, want) in r.stale.iter().take(20) {
        println!("problem: article {id} indexed at revision {got}, current {want}");
    }
    if r.ok() {
        println!("ok");
        Ok(ExitCode::SUCCESS)
    } else {
        Ok(ExitCode::FAILURE)
    }
}
