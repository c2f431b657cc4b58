//! Comments on articles and topics (a topic's discussion), optionally anchored to a text range
//! of an article, with @mentions. Plain text only: the UI renders them as text, never as HTML.

use serde::{Deserialize, Serialize};

use super::{ArticleId, CommentId, TopicId, UserId};
use crate::clock::Millis;
use crate::error::{Error, Result};

/// What a comment (or a notification) is about.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    utoipa::ToSchema,
)]
#[serde(tag = "kind", content = "id", rename_all = "snake_case")]
pub enum Subject {
    Article(ArticleId),
    Topic(TopicId),
}

impl Subject {
    /// (kind code, id) for index keys.
    pub fn key(self) -> (u8, u64) {
        match self {
            Subject::Article(a) => (0, a.0),
            Subject::Topic(t) => (1, t.0),
        }
    }
}

/// A range of the article's plain text (character offsets at `revision`) and the text quoted,
/// which the editor uses to find the range again after later edits.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Anchor {
    pub revision: u32,
    pub start: u32,
    pub end: u32,
    pub quote: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Comment {
    pub id: CommentId,
    pub on: Subject,
    pub author: UserId,
    pub body: String,
    /// Users @mentioned in the body (resolved when written).
    pub mentions: Vec<UserId>,
    pub anchor: Option<Anchor>,
    pub reply_to: Option<CommentId>,
    pub created_at: Millis,
    pub edited_at: Option<Millis>,
    pub resolved_by: Option<UserId>,
    pub resolved_at: Option<Millis>,
    /// Deleted by its author or a moderator: the body is gone, the entry stays in the thread.
    pub deleted: bool,
}

pub const MAX_BODY: usize = 5_000;
pub const MAX_QUOTE: usize = 500;

pub fn validate_body(body: &str) -> Result<String> {
    let t = body.trim();
    if t.is_empty() {
        return Err(Error::invalid("body", "write something"));
    }
    if t.chars().count() > MAX_BODY {
        return Err(Error::invalid(
            "body",
            format!("must be at most {MAX_BODY} characters"),
        ));
    }
    Ok(t.to_string())
}

pub fn validate_anchor(a: &Anchor) -> Result<()> {
    let n = a.quote.chars().count();
    if a.start >= a.end || n == 0 || n > MAX_QUOTE {
        return Err(Error::invalid(
            "anchor",
            format!("a non-empty range of at most {MAX_QUOTE} characters, start < end"),
        ));
    }
    Ok(())
}

/// The usernames @mentioned in a text: `@` at the start or after a non-username character,
/// followed by a username (`[a-z0-9._-]{2,32}`; a trailing '.' is punctuation, not the name).
pub fn mentioned_usernames(body: &str) -> Vec<String> {
    let is_name = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit() || "._-".contains(c);
    let mut out: Vec<String> = Vec::new();
    let chars: Vec<char> = body.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let starts = chars[i] == '@' && (i == 0 || !is_name(chars[i - 1]));
        if starts {
            let mut j = i + 1;
            while j < chars.len() && is_name(chars[j]) {
                j += 1;
            }
            let name: String = chars[i + 1..j].iter().collect();
            let name = name.trim_end_matches('.').to_string();
            if (2..=32).contains(&name.len()) && !out.contains(&name) {
                out.push(name);
            }
            i = j;
        } else {
            i += 1;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mentions_are_found_in_chinese_text() {
        assert_eq!(
            mentioned_usernames(
                "请@zhang.san 看一下，@li_si。邮箱a@b.cn 不算，@x 太短，@zhang.san 重复"
            ),
            vec!["zhang.san", "li_si"]
        );
        assert_eq!(mentioned_usernames("@wang."), vec!["wang"]);
        assert!(mentioned_usernames("no mentions").is_empty());
    }

    #[test]
    fn anchors_and_bodies_are_checked() {
        assert!(validate_body("  ").is_err());
        assert_eq!(validate_body(" 好 ").unwrap(), "好");
        let a = Anchor {
            revision: 1,
            start: 3,
            end: 3,
            quote: "x".into(),
        };
        assert!(validate_anchor(&a).is_err());
    }
}
