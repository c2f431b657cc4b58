//! The matcher: every term of the enabled lexicons, folded (`normalize`) and compiled into one
//! Aho–Corasick automaton; text is folded the same way and scanned once. Hits come back with
//! the term, its category and severity, and the exact span in the original text.

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, MatchKind};
use serde::{Deserialize, Serialize};

use super::normalize::{Folded, fold, fold_into};
use crate::error::{Error, Result};

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
#[serde(rename_all = "snake_case")]
pub enum Severity {
    /// A hint in the editor only.
    Hint,
    /// Reviewers must acknowledge it.
    Review,
    /// Cannot be submitted or published without a recorded override.
    Block,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Term {
    pub text: String,
    pub category: String,
    pub severity: Severity,
}

/// One hit: which term, and where in the original text (byte and character offsets).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Hit {
    /// Index into the matcher's terms.
    pub term: usize,
    pub start: usize,
    pub end: usize,
    pub char_start: usize,
    pub char_end: usize,
    /// The original text of the span (as written, with any inserted symbols).
    pub matched: String,
}

struct Pattern {
    term: usize,
    /// All ASCII letters and digits: must not touch other ASCII letters or digits in the
    /// original ("ass" is not a hit inside "class"). CJK has no word boundaries to respect.
    latin: bool,
}

pub struct Matcher {
    terms: Vec<Term>,
    patterns: Vec<Pattern>,
    ac: Option<AhoCorasick>,
    allow: Option<AhoCorasick>,
    /// Terms that fold to nothing (only symbols) and can never match.
    pub unmatchable: Vec<usize>,
}

fn automaton(patterns: &[String]) -> Result<Option<AhoCorasick>> {
    if patterns.is_empty() {
        return Ok(None);
    }
    AhoCorasickBuilder::new()
        .match_kind(MatchKind::LeftmostLongest)
        .build(patterns)
        .map(Some)
        .map_err(|e| Error::Internal(format!("building the term automaton: {e}")))
}

impl Matcher {
    /// Compile terms and allowlist entries (longer words that contain a term but are fine,
    /// e.g. a place name). Terms that fold to the same text keep the most severe.
    pub fn new(terms: Vec<Term>, allow: &[String]) -> Result<Self> {
        let mut folded: Vec<String> = Vec::new();
        let mut patterns: Vec<Pattern> = Vec::new();
        let mut index = std::collections::HashMap::<String, usize>::new();
        let mut unmatchable = Vec::new();
        for (i, t) in terms.iter().enumerate() {
            let f = fold(&t.text).text;
            if f.is_empty() {
                unmatchable.push(i);
                continue;
            }
            match index.get(&f) {
                Some(&p) => {
                    if t.severity > terms[patterns[p].term].severity {
                        patterns[p].term = i;
                    }
                }
                None => {
                    index.insert(f.clone(), patterns.len());
                    patterns.push(Pattern {
                        term: i,
                        latin: f.bytes().all(|b| b.is_ascii_alphanumeric()),
                    });
                    folded.push(f);
                }
            }
        }
        let allow: Vec<String> = allow
            .iter()
            .map(|a| fold(a).text)
            .filter(|a| !a.is_empty())
            .collect();
        Ok(Self {
            ac: automaton(&folded)?,
            allow: automaton(&allow)?,
            terms,
            patterns,
            unmatchable,
        })
    }

    pub fn terms(&self) -> &[Term] {
        &self.terms
    }

    /// Scan `text`; `buf` is scratch space reused between calls.
    pub fn scan(&self, text: &str, buf: &mut Folded) -> Vec<Hit> {
        let Some(ac) = &self.ac else {
            return Vec::new();
        };
        fold_into(text, buf);
        let allowed: Vec<(usize, usize)> = match &self.allow {
            Some(a) => a
                .find_iter(buf.text.as_str())
                .map(|m| (m.start(), m.end()))
                .collect(),
            None => Vec::new(),
        };
        let mut hits = Vec::new();
        let (mut chars, mut counted) = (0usize, 0usize);
        for m in ac.find_iter(buf.text.as_str()) {
            let p = &self.patterns[m.pattern().as_usize()];
            let (start, end) = buf.original(m.start(), m.end());
            if p.latin {
                // Judged in the original: folding removed the spaces between words.
                let touches = |c: Option<char>| c.is_some_and(|c| c.is_ascii_alphanumeric());
                if touches(text[..start].chars().next_back()) || touches(text[end..].chars().next())
                {
                    continue;
                }
            }
            if allowed.iter().any(|&(a, b)| a <= m.start() && m.end() <= b) {
                continue;
            }
            // Hits come in order: count characters incrementally.
            chars += text[counted..start].chars().count();
            counted = start;
            let len = text[start..end].chars().count();
            hits.push(Hit {
                term: p.term,
                start,
                end,
                char_start: chars,
                char_end: chars + len,
                matched: text[start..end].to_string(),
            });
        }
        hits
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn term(t: &str, s: Severity) -> Term {
        Term {
            text: t.into(),
            category: "test".into(),
            severity: s,
        }
    }

    #[test]
    fn finds_evasions_respects_allowlist_and_latin_boundaries() {
        let m = Matcher::new(
            vec![
                term("法轮", Severity::Block),
                term("ass", Severity::Hint),
                term("博彩", Severity::Review),
                term("博 彩", Severity::Block),
                term("^^", Severity::Block),
            ],
            &["博彩业研究所".to_string()],
        )
        .unwrap();
        assert_eq!(m.unmatchable, vec![4]);
        let mut buf = Folded::default();
        let text = "他说：法^^轮！A class, an ASS. 博彩业研究所 和 博 彩";
        let hits = m.scan(text, &mut buf);
        let got: Vec<(&str, usize, Severity)> = hits
            .iter()
            .map(|h| (h.matched.as_str(), h.char_start, m.terms()[h.term].severity))
            .collect();
        assert_eq!(
            got,
            vec![
                ("法^^轮", 3, Severity::Block),
                ("ASS", 20, Severity::Hint),
                ("博 彩", 34, Severity::Block),
            ]
        );
        let h = &hits[0];
        assert_eq!(
            text.chars()
                .skip(h.char_start)
                .take(h.char_end - h.char_start)
                .collect::<String>(),
            "法^^轮"
        );
    }
}
