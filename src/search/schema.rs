//! The index schema and how an article becomes a document. No text is stored in the index: hits
//! are read back from the store (the source of truth), which keeps the index lean.
//!
//! One index holds two scopes: the instance's own articles (`scope` = `local`) and, at a
//! provincial hub, the published articles its counties shipped up (`scope` = `county`, with the
//! county's id in `county`). Article ids are only unique within an instance, so a document is
//! replaced and deleted by its `key`: `l/<id>` or `c/<county>/<id>`.

use tantivy::TantivyDocument;
use tantivy::schema::{
    FAST, Field, INDEXED, IndexRecordOption, STORED, STRING, Schema, TextFieldIndexing, TextOptions,
};

use super::analyze::{GRAM, UNI, WORD, WORD2};
use crate::clock::Millis;
use crate::domain::article::{Article, ArticleStatus};
use crate::domain::html;

/// Bump when fields or analysis change: an index of another version is rebuilt from the store.
pub const SCHEMA_VERSION: u32 = 2;

pub const LOCAL: &str = "local";
pub const COUNTY: &str = "county";

/// Months and dates are bucketed in China Standard Time (UTC+8, no daylight saving).
pub const CST_OFFSET_MS: i64 = 8 * 3600 * 1000;

#[derive(Clone, Copy, Debug)]
pub struct Fields {
    pub key: Field,
    pub scope: Field,
    pub county: Field,
    pub id: Field,
    pub revision: Field,
    pub outlet: Field,
    pub status: Field,
    pub category: Field,
    pub tag: Field,
    pub author: Field,
    pub date: Field,
    pub month: Field,
    pub title_g: Field,
    pub title_u: Field,
    pub title_w: Field,
    pub body_g: Field,
    pub body_u: Field,
    pub body_w: Field,
}

fn text(tokenizer: &str, rec: IndexRecordOption) -> TextOptions {
    TextOptions::default().set_indexing_options(
        TextFieldIndexing::default()
            .set_tokenizer(tokenizer)
            .set_index_option(rec),
    )
}

pub fn build() -> (Schema, Fields) {
    let mut b = Schema::builder();
    let pos = IndexRecordOption::WithFreqsAndPositions;
    let freq = IndexRecordOption::WithFreqs;
    let f = Fields {
        key: b.add_text_field("key", STRING),
        scope: b.add_text_field("scope", STRING),
        county: b.add_text_field("county", STRING | FAST),
        id: b.add_u64_field("id", INDEXED | STORED | FAST),
        revision: b.add_u64_field("revision", FAST),
        outlet: b.add_u64_field("outlet", INDEXED | FAST),
        status: b.add_text_field("status", STRING | FAST),
        category: b.add_text_field("category", STRING | FAST),
        tag: b.add_text_field("tag", STRING | FAST),
        author: b.add_u64_field("author", INDEXED | FAST),
        date: b.add_i64_field("date", INDEXED | FAST),
        month: b.add_u64_field("month", INDEXED | FAST),
        title_g: b.add_text_field("title_g", text(GRAM, pos)),
        title_u: b.add_text_field("title_u", text(UNI, IndexRecordOption::Basic)),
        title_w: b.add_text_field("title_w", text(WORD, freq)),
        body_g: b.add_text_field("body_g", text(GRAM, pos)),
        body_u: b.add_text_field("body_u", text(UNI, IndexRecordOption::Basic)),
        body_w: b.add_text_field("body_w", text(WORD2, freq)),
    };
    (b.build(), f)
}

pub fn status_name(s: ArticleStatus) -> &'static str {
    s.as_str()
}

/// The date an article is filed under: the source's date for imports, else its creation.
pub fn article_date(a: &Article) -> Millis {
    a.source_date.unwrap_or(a.created_at)
}

/// `yyyymm` of a time, in China Standard Time.
pub fn month_of(ms: Millis) -> u64 {
    let t = time::OffsetDateTime::from_unix_timestamp((ms + CST_OFFSET_MS).div_euclid(1000))
        .unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    (t.year().max(0) as u64) * 100 + u64::from(u8::from(t.month()))
}

/// The searchable text of an article: title, and the rest (subtitle, summary, body) as plain text.
pub fn searchable_text(a: &Article) -> (String, String) {
    let mut body = String::with_capacity(a.body.len());
    for part in [a.subtitle.as_str(), a.summary.as_str()] {
        if !part.is_empty() {
            body.push_str(part);
            body.push('\n');
        }
    }
    body.push_str(&html::to_text(&a.body));
    (a.title.clone(), body)
}

/// Where an indexed article comes from: this instance, or one of a hub's counties.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin<'a> {
    Local,
    County(&'a str),
}

/// The document key of an article of `origin`.
pub fn key(origin: Origin<'_>, id: u64) -> String {
    match origin {
        Origin::Local => format!("l/{id}"),
        Origin::County(c) => format!("c/{c}/{id}"),
    }
}

/// The county of document `doc` in a segment's `county` column (`None`: a local article). The
/// name is read into `buf`.
pub fn county_of<'b>(
    col: Option<&tantivy::columnar::StrColumn>,
    doc: tantivy::DocId,
    buf: &'b mut String,
) -> crate::error::Result<Option<&'b str>> {
    let Some(ord) = col.and_then(|c| c.term_ords(doc).next()) else {
        return Ok(None);
    };
    match col.map(|c| c.ord_to_str(ord, buf)) {
        Some(Ok(true)) => Ok(Some(buf.as_str())),
        _ => Err(crate::error::Error::SearchIndex(
            "unreadable county of a document".into(),
        )),
    }
}

pub fn document(f: &Fields, origin: Origin<'_>, a: &Article) -> TantivyDocument {
    let mut d = TantivyDocument::default();
    d.add_text(f.key, key(origin, a.id.0));
    match origin {
        Origin::Local => d.add_text(f.scope, LOCAL),
        Origin::County(c) => {
            d.add_text(f.scope, COUNTY);
            d.add_text(f.county, c);
        }
    }
    d.add_u64(f.id, a.id.0);
    d.add_u64(f.revision, u64::from(a.revision));
    d.add_u64(f.outlet, a.outlet.0);
    d.add_text(f.status, status_name(a.status));
    if !a.category.is_empty() {
        d.add_text(f.category, &a.category);
    }
    for t in &a.tags {
        d.add_text(f.tag, t);
    }
    let mut authors: Vec<u64> = a.authors.iter().map(|u| u.0).collect();
    authors.push(a.created_by.0);
    authors.sort_unstable();
    authors.dedup();
    for u in authors {
        d.add_u64(f.author, u);
    }
    let date = article_date(a);
    d.add_i64(f.date, date);
    d.add_u64(f.month, month_of(date));
    let (title, body) = searchable_text(a);
    for (g, u, w, t) in [
        (f.title_g, f.title_u, f.title_w, &title),
        (f.body_g, f.body_u, f.body_w, &body),
    ] {
        d.add_text(g, t);
        d.add_text(u, t);
        d.add_text(w, t);
    }
    d
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn months_are_china_time() {
        // 1997-12-31T16:00:00Z is 1998-01-01 00:00 in Beijing.
        assert_eq!(month_of(883_584_000_000), 199801);
        assert_eq!(month_of(883_583_999_000), 199712);
    }
}
