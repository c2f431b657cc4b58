//! Articles and their versions. An article row is the newest version; every save writes a version
//! with the same shape. Validation and normalization of client input live here.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use super::{ArticleId, AssetId, OutletId, UserId, html};
use crate::clock::Millis;
use crate::error::{Error, Result};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ArticleStatus {
    /// Being written (also a correction of a published article before it is submitted).
    Draft,
    /// Submitted, waiting for the first level's decision.
    Submitted,
    /// In review past the first decision (level in the review row).
    InReview,
    /// Sent back to the author with a comment.
    Returned,
    /// Taken back from review by its author.
    Withdrawn,
    /// Every level of its chain approved; ready to publish.
    Approved,
    /// Live (`published_revision` is this revision).
    Published,
    /// Killed after publication, with a reason; terminal.
    Retracted,
}

impl ArticleStatus {
    pub const ALL: [ArticleStatus; 8] = [
        Self::Draft,
        Self::Submitted,
        Self::InReview,
        Self::Returned,
        Self::Withdrawn,
        Self::Approved,
        Self::Published,
        Self::Retracted,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Draft => "draft",
            Self::Submitted => "submitted",
            Self::InReview => "in_review",
            Self::Returned => "returned",
            Self::Withdrawn => "withdrawn",
            Self::Approved => "approved",
            Self::Published => "published",
            Self::Retracted => "retracted",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|x| x.as_str() == s)
    }

    /// Waiting for a reviewer.
    pub fn in_review(self) -> bool {
        matches!(self, Self::Submitted | Self::InReview)
    }
}

/// Why and by whom a published article was killed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Retraction {
    pub by: UserId,
    pub at: Millis,
    pub reason: String,
}

/// One version of an article (the current row is the newest version).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Article {
    pub id: ArticleId,
    pub outlet: OutletId,
    pub revision: u32,
    pub status: ArticleStatus,
    pub title: String,
    pub subtitle: String,
    pub summary: String,
    /// Sanitized HTML.
    pub body: String,
    pub byline: String,
    pub authors: Vec<UserId>,
    pub category: String,
    pub tags: Vec<String>,
    pub cover: Option<AssetId>,
    /// Id in the system it was imported from (`import articles`), unique per outlet.
    pub source_id: Option<String>,
    /// Date the source gives for the piece (imports), midnight UTC.
    #[serde(default)]
    pub source_date: Option<Millis>,
    pub created_by: UserId,
    pub created_at: Millis,
    /// Who saved this version, and when.
    pub updated_by: UserId,
    pub updated_at: Millis,
    /// Set when this version restores an older one.
    pub restored_from: Option<u32>,
    /// The revision readers see, once published. While a correction is written and reviewed,
    /// it stays on the older revision.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub published_revision: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub published_at: Option<Millis>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retraction: Option<Retraction>,
}

impl Article {
    /// Assets this version uses (cover and body).
    pub fn asset_refs(&self) -> BTreeSet<AssetId> {
        let mut refs = html::asset_refs(&self.body);
        refs.extend(self.cover);
        refs
    }

    /// Text rendering for diffs: one field or paragraph per line.
    pub fn diff_text(&self) -> String {
        let mut s = format!("标题 Title: {}\n", self.title);
        if !self.subtitle.is_empty() {
            s += &format!("副标题 Subtitle: {}\n", self.subtitle);
        }
        if !self.summary.is_empty() {
            s += &format!("摘要 Summary: {}\n", self.summary);
        }
        s += &format!("署名 Byline: {}\n", self.byline);
        s += &format!("分类 Category: {}\n", self.category);
        s += &format!("标签 Tags: {}\n", self.tags.join(", "));
        if let Some(c) = self.cover {
            s += &format!("封面 Cover: asset {c}\n");
        }
        s += "\n";
        s += &html::to_text(&self.body);
        s.push('\n');
        s
    }
}

/// The editable fields as a client sends them.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ArticleFields {
    pub title: String,
    pub subtitle: String,
    pub summary: String,
    pub body: String,
    pub byline: String,
    pub category: String,
    pub tags: Vec<String>,
    pub cover: Option<AssetId>,
}

const MAX_TITLE: usize = 200;
const MAX_SHORT: usize = 500;
const MAX_SUMMARY: usize = 2_000;
const MAX_BODY_BYTES: usize = 2 * 1024 * 1024;
const MAX_TAGS: usize = 32;

fn one_line(field: &'static str, s: &str, max: usize, required: bool) -> Result<String> {
    let t = s.trim();
    if required && t.is_empty() {
        return Err(Error::invalid(field, "must not be empty"));
    }
    if t.chars().count() > max {
        return Err(Error::invalid(
            field,
            format!("must be at most {max} characters"),
        ));
    }
    if t.chars().any(|c| c.is_control() && c != '\t') {
        return Err(Error::invalid(
            field,
            "must be a single line without control characters",
        ));
    }
    Ok(t.to_string())
}

/// Fields that passed `ArticleFields::normalized` (validated, trimmed, body sanitized). Use cases
/// take only this, so the expensive part (HTML sanitizing) runs on request threads, not on the
/// single writer thread.
#[derive(Debug, Clone, PartialEq)]
pub struct Normalized(ArticleFields);

impl Normalized {
    pub fn fields(&self) -> &ArticleFields {
        &self.0
    }
}

impl ArticleFields {
    /// Validate and normalize: trim, limit lengths, sanitize the body, dedupe tags.
    pub fn normalized(self) -> Result<Normalized> {
        if self.body.len() > MAX_BODY_BYTES {
            return Err(Error::invalid(
                "body",
                format!("must be at most {MAX_BODY_BYTES} bytes"),
            ));
        }
        let summary = self.summary.trim();
        if summary.chars().count() > MAX_SUMMARY {
            return Err(Error::invalid(
                "summary",
                format!("must be at most {MAX_SUMMARY} characters"),
            ));
        }
        let mut tags: Vec<String> = Vec::new();
        for t in &self.tags {
            let t = one_line("tags", t, 32, true)?;
            if !tags.contains(&t) {
                tags.push(t);
            }
        }
        if tags.len() > MAX_TAGS {
            return Err(Error::invalid("tags", format!("at most {MAX_TAGS} tags")));
        }
        let body = if html::looks_like_html(&self.body) {
            html::sanitize(&self.body)
        } else {
            html::paragraphs_to_html(&self.body)
        };
        Ok(Normalized(Self {
            title: one_line("title", &self.title, MAX_TITLE, true)?,
            subtitle: one_line("subtitle", &self.subtitle, MAX_SHORT, false)?,
            summary: summary.to_string(),
            body,
            byline: one_line("byline", &self.byline, MAX_SHORT, false)?,
            category: one_line("category", &self.category, 64, false)?,
            tags,
            cover: self.cover,
        }))
    }
}

/// One line of a version diff.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct DiffLine {
    /// `equal`, `insert` or `delete`.
    pub op: &'static str,
    pub text: String,
}

/// Line diff between two versions' text renderings.
pub fn diff(a: &Article, b: &Article) -> Vec<DiffLine> {
    let (ta, tb) = (a.diff_text(), b.diff_text());
    let d = similar::TextDiff::from_lines(&ta, &tb);
    d.iter_all_changes()
        .map(|c| DiffLine {
            op: match c.tag() {
                similar::ChangeTag::Equal => "equal",
                similar::ChangeTag::Insert => "insert",
                similar::ChangeTag::Delete => "delete",
            },
            text: c.value().trim_end_matches('\n').to_string(),
        })
        .collect()
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub fn sample() -> Article {
        Article {
            id: ArticleId(1),
            outlet: OutletId(1),
            revision: 1,
            status: ArticleStatus::Draft,
            title: "标题".into(),
            subtitle: String::new(),
            summary: String::new(),
            body: "<p>第一段</p><p>第二段</p>".into(),
            byline: "记者 张三".into(),
            authors: vec![UserId(1)],
            category: "时政".into(),
            tags: vec!["两会".into()],
            cover: None,
            source_id: None,
            source_date: None,
            created_by: UserId(1),
            created_at: 0,
            updated_by: UserId(1),
            updated_at: 0,
            restored_from: None,
            published_revision: None,
            published_at: None,
            retraction: None,
        }
    }

    #[test]
    fn normalizes_and_rejects() {
        let f = ArticleFields {
            title: "  标题 ".into(),
            body: "段一\n段二".into(),
            tags: vec!["a".into(), "a".into()],
            ..Default::default()
        };
        let n = f.normalized().unwrap().fields().clone();
        assert_eq!(n.title, "标题");
        assert_eq!(n.body, "<p>段一</p><p>段二</p>");
        assert_eq!(n.tags, vec!["a".to_string()]);
        let e = ArticleFields {
            title: " ".into(),
            ..Default::default()
        }
        .normalized()
        .unwrap_err();
        assert_eq!(e.code(), "invalid_input");
        let e = ArticleFields {
            title: "a\u{0}b".into(),
            ..Default::default()
        }
        .normalized()
        .unwrap_err();
        assert_eq!(e.code(), "invalid_input");
    }

    #[test]
    fn diff_shows_changed_paragraph() {
        let a = sample();
        let mut b = sample();
        b.body = "<p>第一段</p><p>第二段改</p>".into();
        let d = diff(&a, &b);
        assert!(d.iter().any(|l| l.op == "delete" && l.text == "第二段"));
        assert!(d.iter().any(|l| l.op == "insert" && l.text == "第二段改"));
        assert!(d.iter().any(|l| l.op == "equal" && l.text == "第一段"));
    }
}
