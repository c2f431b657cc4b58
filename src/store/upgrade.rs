//! Changes of the store's table layout, made when a store written by an older binary is opened.
//! Replicated tables are a function of the log, so an upgrade derives the new tables from the
//! log alone, in one durable transaction: a crash before its commit leaves the old layout, and
//! the next open upgrades again. Nothing is appended to the log (the facts did not change).

use redb::{ReadableDatabase, TableHandle, WriteTransaction};

use super::apply;
use super::tables::*;
use crate::domain::fact::Fact;
use crate::error::{Error, Result};

/// Bring `db` to the current layout.
pub fn run(db: &redb::Database) -> Result<()> {
    let legacy = db
        .begin_read()?
        .list_tables()?
        .any(|t| t.name() == LEGACY_ARTICLES.name());
    if !legacy {
        return Ok(());
    }
    tracing::info!("upgrading the store: article versions now point into the log");
    let mut w = db.begin_write()?;
    w.set_quick_repair(true);
    let n = point_articles_into_log(&w)?;
    w.delete_table(LEGACY_ARTICLES)?;
    w.delete_table(LEGACY_ARTICLE_VERSIONS)?;
    w.commit()?;
    tracing::info!(saves = n, "store upgraded");
    Ok(())
}

/// Fill ARTICLE_HEADS and ARTICLE_REVISIONS from the log (what `apply` does entry by entry);
/// returns how many entries save an article.
pub fn point_articles_into_log(w: &WriteTransaction) -> Result<u64> {
    let tx = super::Tx::new(w);
    let log = tx.open_table(LOG)?;
    let blocks = tx.open_table(LOG_BLOCKS)?;
    let mut n = 0;
    super::logtable::visit(&log, Some(&blocks), 1, |lsn, stored| {
        let fact: Fact = serde_json::from_slice(super::access::log_fact_json(stored, lsn)?)
            .map_err(|e| Error::Store(format!("log entry {lsn}: {e}")))?;
        if let Some(a) = fact.article() {
            apply::point_at(&tx, a, lsn)?;
            n += 1;
        }
        Ok(true)
    })?;
    Ok(n)
}
