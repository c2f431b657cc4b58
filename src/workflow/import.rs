//! Bulk import of articles in the corpus JSON-lines shape (`id, title, subtitle, body, date,
//! category`), idempotent by source id per outlet, through the same `articles::create` use case and
//! log as the API, many articles per durable commit.

use serde::Deserialize;

use crate::domain::OutletId;
use crate::domain::article::ArticleFields;
use crate::error::Result;
use crate::store::access;

use super::{Actor, Writer, articles};

/// One input line. Unknown fields are ignored (corpora carry extra metadata).
#[derive(Debug, Clone, Deserialize)]
pub struct ImportItem {
    pub id: serde_json::Value,
    #[serde(default)]
    pub title: Option<String>,
    #[serde(default)]
    pub subtitle: Option<String>,
    #[serde(default)]
    pub body: Option<String>,
    #[serde(default)]
    pub date: Option<String>,
    #[serde(default)]
    pub category: Option<String>,
}

impl ImportItem {
    pub fn source_id(&self) -> String {
        match &self.id {
            serde_json::Value::String(s) => s.clone(),
            other => other.to_string(),
        }
    }

    fn fields(&self) -> ArticleFields {
        let body = self.body.clone().unwrap_or_default();
        let title = self
            .title
            .clone()
            .filter(|t| !t.trim().is_empty())
            .unwrap_or_else(|| {
                let first: String = crate::domain::html::to_text(&body)
                    .chars()
                    .take(30)
                    .collect();
                if first.trim().is_empty() {
                    format!("(无标题 {})", self.source_id())
                } else {
                    first
                }
            });
        ArticleFields {
            title: title.chars().take(200).collect(),
            subtitle: self.subtitle.clone().unwrap_or_default(),
            body,
            category: self.category.clone().unwrap_or_default(),
            ..Default::default()
        }
    }
}

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct ImportCounts {
    pub created: u64,
    pub skipped: u64,
    pub rejected: u64,
}

/// Import a batch in one transaction. An item already imported (same outlet + source id) is
/// skipped; an invalid one is counted as rejected and reported through `on_reject`.
pub fn import_batch(
    w: &mut Writer<'_>,
    actor: &Actor,
    outlet: OutletId,
    items: &[ImportItem],
    on_reject: &mut dyn FnMut(&str, &crate::error::Error),
) -> Result<ImportCounts> {
    let mut c = ImportCounts::default();
    for item in items {
        let src = item.source_id();
        if access::article_by_source(w.tx(), outlet, &src)?.is_some() {
            c.skipped += 1;
            continue;
        }
        let source = articles::Source {
            id: src.clone(),
            date: item.date.as_deref().and_then(crate::clock::parse_time),
        };
        let created = item
            .fields()
            .normalized()
            .and_then(|f| articles::create(w, actor, outlet, &f, Some(&source)));
        match created {
            Ok(_) => c.created += 1,
            Err(e) if e.row().status < 500 => {
                on_reject(&src, &e);
                c.rejected += 1;
            }
            Err(e) => return Err(e),
        }
    }
    Ok(c)
}
