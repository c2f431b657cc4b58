//! 重大报道指令: reporting instructions a provincial hub sends to its counties for a major event,
//! and what each county did with them (received, acknowledged, answered with its articles).
//!
//! The hub resolves an instruction's target (all counties, a region, a list) when it is issued;
//! each target county gets it as a numbered message (`Down`) in its outbox at the hub. The
//! county applies each message through its own log and ships its receipt, acknowledgement and
//! answers back up with its other shipped entries, so the hub's progress table follows the
//! county's log like everything else it holds.

use serde::{Deserialize, Serialize};

use crate::clock::Millis;
use crate::error::{Error, Result};

pub const MAX_TITLE: usize = 200;
pub const MAX_BRIEF: usize = 5_000;
/// Articles one county may link to one instruction.
pub const MAX_ANSWERS: usize = 50;
/// Files one instruction may carry.
pub const MAX_ATTACHMENTS: usize = 10;

/// A file sent with an instruction (a notice in PDF, a reference photo, a video clip). The
/// bytes live content-addressed in the media directory of each side: the hub keeps them when
/// they are uploaded, each target county fetches them from the hub after the instruction
/// arrives.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Attachment {
    /// Hex SHA-256 of the bytes.
    pub sha256: String,
    pub name: String,
    /// Sniffed from the bytes.
    pub mime: String,
    pub kind: super::asset::AssetKind,
    pub size: u64,
}

/// Which counties an instruction is for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Target {
    /// Every county enrolled (and not revoked) when it is issued.
    All,
    /// The counties whose region code starts with `code` (2 digits: a province, 4: a
    /// prefecture-level city, 6: one county).
    Region { code: String },
    /// These counties (their instance ids).
    Counties { ids: Vec<String> },
}

impl Target {
    pub fn validate(&self) -> Result<()> {
        match self {
            Target::All => Ok(()),
            Target::Region { code } => {
                if matches!(code.len(), 2 | 4 | 6) && code.bytes().all(|b| b.is_ascii_digit()) {
                    Ok(())
                } else {
                    Err(Error::invalid("target.code", "2, 4 or 6 digits"))
                }
            }
            Target::Counties { ids } if ids.is_empty() => {
                Err(Error::invalid("target.ids", "at least one county"))
            }
            Target::Counties { ids } if ids.len() > 1_000 => {
                Err(Error::invalid("target.ids", "at most 1000 counties"))
            }
            Target::Counties { .. } => Ok(()),
        }
    }

    /// Is a county with this id and region code a target?
    pub fn includes(&self, id: &str, region: &str) -> bool {
        match self {
            Target::All => true,
            Target::Region { code } => region.starts_with(code.as_str()),
            Target::Counties { ids } => ids.iter().any(|i| i == id),
        }
    }
}

/// An instruction as the hub issued it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Instruction {
    /// The hub's id for it.
    pub id: u64,
    pub title: String,
    /// Plain text (paragraphs separated by blank lines).
    pub brief: String,
    pub deadline: Millis,
    pub target: Target,
    /// The counties it was sent to (resolved from `target` when issued). Empty in the copy a
    /// county receives.
    pub counties: Vec<String>,
    pub issued_at: Millis,
    /// Display name of the hub user who issued it.
    pub issued_by: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub attachments: Vec<Attachment>,
    /// Set when the hub called it off: counties can no longer acknowledge or answer it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cancelled: Option<Cancellation>,
}

/// Why and when an instruction was called off.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cancellation {
    pub at: Millis,
    /// Display name of the hub user.
    pub by: String,
    pub reason: String,
}

/// Check an instruction's text fields; returns them trimmed.
pub fn validate(title: &str, brief: &str) -> Result<(String, String)> {
    let title = title.trim();
    if title.is_empty() {
        return Err(Error::invalid("title", "required"));
    }
    if title.chars().count() > MAX_TITLE {
        return Err(Error::invalid(
            "title",
            format!("at most {MAX_TITLE} characters"),
        ));
    }
    if title.chars().any(char::is_control) {
        return Err(Error::invalid("title", "no control characters"));
    }
    let brief = brief.trim();
    if brief.chars().count() > MAX_BRIEF {
        return Err(Error::invalid(
            "brief",
            format!("at most {MAX_BRIEF} characters"),
        ));
    }
    Ok((title.to_string(), brief.to_string()))
}

/// An article a county linked to an instruction as (part of) its answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Answer {
    /// The article's id at the county (the hub holds it as that county's article).
    pub article: u64,
    pub title: String,
    /// Display name of the county user who linked it.
    pub by: String,
    pub at: Millis,
}

/// What a county did with one instruction, as the hub knows it from the county's log.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Progress {
    /// When the county applied the instruction (its clock).
    pub delivered_at: Option<Millis>,
    pub acknowledged_at: Option<Millis>,
    pub acknowledged_by: String,
    pub answers: Vec<Answer>,
}

impl Progress {
    pub fn acknowledge(&mut self, by: &str, at: Millis) {
        if self.acknowledged_at.is_none() {
            self.acknowledged_at = Some(at);
            self.acknowledged_by = by.to_string();
        }
    }

    /// Link an article (once).
    pub fn answer(&mut self, a: &Answer) {
        if !self.answers.iter().any(|x| x.article == a.article) {
            self.answers.push(a.clone());
        }
    }
}

/// A message from the hub to one county, numbered by the hub (`seq`, increasing; each county
/// receives a subset of the numbers).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Down {
    Instruction {
        instruction: Instruction,
    },
    /// The province decided on an article this county sent up for review.
    ReviewDecision {
        decision: super::provincial::DecisionDown,
    },
    /// An article shared in the provincial pool.
    Shared {
        item: super::shared::SharedItem,
    },
    /// The hub moved an instruction's deadline, or called it off.
    InstructionChanged {
        id: u64,
        deadline: Millis,
        cancelled: Option<Cancellation>,
    },
    /// The hub took a pool item back.
    SharedWithdrawn {
        item: u64,
        withdrawal: super::shared::Withdrawal,
    },
    /// A provincial word list (the hub's id) changed: the county fetches it as it now is.
    Lexicon {
        id: u64,
    },
    /// What `Lexicon` becomes on the wire: the list as it is at the hub when fetched, with
    /// every entry (`lexicon: None`: removed, or no longer provincial).
    LexiconSnapshot {
        id: u64,
        lexicon: Option<super::lexicon::Lexicon>,
        entries: Vec<super::lexicon::Entry>,
    },
}

/// An instruction in a county's inbox: as received, and what the county did with it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InboxItem {
    pub instruction: Instruction,
    /// The hub's message number it came with.
    pub seq: u64,
    pub received_at: Millis,
    pub progress: Progress,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_resolve_by_id_and_region_prefix() {
        let t = Target::Region {
            code: "3301".into(),
        };
        assert!(t.validate().is_ok());
        assert!(t.includes("a", "330102"));
        assert!(!t.includes("a", "330201"));
        assert!(Target::All.includes("a", ""));
        let l = Target::Counties {
            ids: vec!["a".into()],
        };
        assert!(l.includes("a", "330102") && !l.includes("b", "330102"));
        for bad in ["", "3", "33011", "33a1", "3301020"] {
            assert!(
                Target::Region { code: bad.into() }.validate().is_err(),
                "{bad}"
            );
        }
        assert!(Target::Counties { ids: vec![] }.validate().is_err());
    }

    #[test]
    fn progress_keeps_the_first_acknowledgement_and_each_article_once() {
        let mut p = Progress::default();
        p.acknowledge("甲", 1);
        p.acknowledge("乙", 2);
        assert_eq!(
            (p.acknowledged_at, p.acknowledged_by.as_str()),
            (Some(1), "甲")
        );
        let a = Answer {
            article: 7,
            title: "t".into(),
            by: "甲".into(),
            at: 3,
        };
        p.answer(&a);
        p.answer(&a);
        assert_eq!(p.answers.len(), 1);
    }

    #[test]
    fn titles_are_required_and_bounded() {
        assert!(validate("  ", "").is_err());
        assert!(validate(&"字".repeat(MAX_TITLE + 1), "").is_err());
        assert!(validate("a\u{7}b", "").is_err());
        assert_eq!(
            validate(" 防汛 ", " 要求 ").unwrap(),
            ("防汛".into(), "要求".into())
        );
    }
}
