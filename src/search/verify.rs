//! `rongmei index check`: bring the index up to the log head (as the server would at start), then
//! compare every live document with the store: one document per article (a hub's county articles
//! included), at the article's current revision, and nothing else.

use std::collections::BTreeMap;

use serde::Serialize;

use super::analyze::Analyzers;
use super::index::{self, Options, commit, open_current, tantivy_err};
use super::indexer::apply;
use super::schema::{Origin, county_of, key};
use crate::domain::Lsn;
use crate::error::{Error, Result};
use crate::log::read_range;
use crate::store::{Reader, federation};

#[derive(Debug, Default, Serialize)]
pub struct Report {
    /// Log position of the index after catching up.
    pub lsn: u64,
    /// Entries applied to catch up.
    pub caught_up: u64,
    pub docs: u64,
    pub articles: u64,
    /// Articles with more than one document, by document key (`l/<id>`, or `c/<county>/<id>`
    /// for a hub's county articles).
    pub duplicates: Vec<String>,
    /// Articles without a document.
    pub missing: Vec<String>,
    /// (article, indexed revision, current revision).
    pub stale: Vec<(String, u64, u64)>,
    /// Documents of articles the store does not have.
    pub extra: Vec<String>,
}

impl Report {
    pub fn ok(&self) -> bool {
        self.duplicates.is_empty()
            && self.missing.is_empty()
            && self.stale.is_empty()
            && self.extra.is_empty()
    }
}

pub fn check(
    db: &redb::Database,
    a: &Analyzers,
    data_dir: &std::path::Path,
    o: &Options,
) -> Result<Report> {
    let root = index::root(data_dir);
    let (live, mut cursor) = open_current(&root, a, db).map_err(|reason| {
        Error::SearchUnavailable(format!(
            "the index is unusable ({reason}); it is rebuilt at the next start or by `rongmei index rebuild`"
        ))
    })?;
    let mut report = Report::default();
    let mut w = index::writer(&live.index, o)?;
    loop {
        let entries = read_range(db, Lsn(cursor.lsn + 1), 2_000)?;
        if entries.is_empty() {
            break;
        }
        for e in &entries {
            apply(&mut w, &live.fields, e)?;
            cursor.advance(e);
            report.caught_up += 1;
        }
    }
    if report.caught_up > 0 {
        commit(&mut w, &cursor)?;
    }
    w.wait_merging_threads().map_err(tantivy_err)?;
    live.reader.reload().map_err(tantivy_err)?;
    report.lsn = cursor.lsn;

    let searcher = live.reader.searcher();
    let mut indexed: BTreeMap<String, Vec<u64>> = BTreeMap::new();
    let mut county = String::new();
    for seg in searcher.segment_readers() {
        let ff = seg.fast_fields();
        let ids = ff.u64("id").map_err(tantivy_err)?;
        let revs = ff.u64("revision").map_err(tantivy_err)?;
        let counties = ff.str("county").map_err(tantivy_err)?;
        for doc in seg.doc_ids_alive() {
            let id = ids.first(doc).unwrap_or(0);
            let rev = revs.first(doc).unwrap_or(0);
            let origin = match county_of(counties.as_ref(), doc, &mut county)? {
                Some(c) => Origin::County(c),
                None => Origin::Local,
            };
            indexed.entry(key(origin, id)).or_default().push(rev);
            report.docs += 1;
        }
    }
    let mut compare = |k: String, current: u32| {
        report.articles += 1;
        match indexed.remove(&k) {
            None => report.missing.push(k),
            Some(revs) => {
                if revs.len() > 1 {
                    report.duplicates.push(k.clone());
                }
                let current = u64::from(current);
                if let Some(r) = revs.iter().find(|r| **r != current) {
                    report.stale.push((k, *r, current));
                }
            }
        }
    };
    let snap = Reader::begin(db)?;
    snap.for_each_article(|art| {
        compare(key(Origin::Local, art.id.0), art.revision);
        Ok(())
    })?;
    federation::for_each_county_article(&snap.0, |c| {
        compare(
            key(Origin::County(&c.county), c.article.id.0),
            c.article.revision,
        );
        Ok(())
    })?;
    report.extra = indexed.into_keys().collect();
    Ok(report)
}
