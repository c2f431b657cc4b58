//! The query language and its translation into a tantivy query.
//!
//! Syntax: words and `"phrases"` (also “中文引号”) are ANDed; `OR` (or `|`) between two of them
//! makes a choice; `-word`, `-"phrase"` or `NOT word` excludes. Chinese needs no spaces: `改革开放`
//! is found as a substring wherever it occurs.
//!
//! Each positive clause must match (recall) as a phrase of `rm_gram` tokens in the title or the
//! body, and adds a ranking bonus for every jieba word it shares with the title or body. Title
//! matches weigh `TITLE_BOOST` times more. Filters and the reader's outlet restriction are part of
//! the query (constant score), so counts, facets and suggestions only ever see permitted
//! documents.

use std::ops::Bound;

use tantivy::Term;
use tantivy::query::{
    AllQuery, BooleanQuery, BoostQuery, ConstScoreQuery, EmptyQuery, Occur, PhrasePrefixQuery,
    PhraseQuery, Query, RangeQuery, TermQuery, TermSetQuery,
};
use tantivy::schema::{Field, IndexRecordOption};

use super::analyze::{Analyzers, ClausePhrase, GRAM, WORD, is_han, single_han};
use super::schema::{COUNTY, Fields, LOCAL};
use crate::clock::Millis;
use crate::error::{Error, Result};

pub const TITLE_BOOST: f32 = 2.5;
pub const MAX_QUERY_CHARS: usize = 200;
pub const MAX_CLAUSES: usize = 16;
/// Enough for every bigram that starts with one character, so a trailing prefix stays exact.
const PREFIX_EXPANSIONS: u32 = 20_000;

/// A parsed query: every group must match (a group matches when any of its clauses does), and no
/// excluded clause may match.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Parsed {
    pub groups: Vec<Vec<String>>,
    pub excluded: Vec<String>,
}

impl Parsed {
    pub fn positives(&self) -> impl Iterator<Item = &String> {
        self.groups.iter().flatten()
    }
    pub fn is_empty(&self) -> bool {
        self.groups.is_empty() && self.excluded.is_empty()
    }
}

#[derive(Debug, PartialEq)]
enum Lexeme {
    Text { text: String, negated: bool },
    Or,
    Not,
}

fn lex(q: &str) -> Vec<Lexeme> {
    let mut out = Vec::new();
    let chars: Vec<char> = q.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c.is_whitespace() {
            i += 1;
            continue;
        }
        let negated = (c == '-' || c == '－')
            && chars
                .get(i + 1)
                .is_some_and(|n| !n.is_whitespace() && *n != '-');
        if negated || c == '+' {
            i += 1;
        }
        let Some(&c) = chars.get(i) else { break };
        let close = match c {
            '"' => Some('"'),
            '“' => Some('”'),
            '「' => Some('」'),
            _ => None,
        };
        let text: String = if let Some(close) = close {
            let start = i + 1;
            let mut j = start;
            while j < chars.len() && chars[j] != close && !(close == '”' && chars[j] == '"') {
                j += 1;
            }
            i = j + 1;
            chars[start..j.min(chars.len())].iter().collect()
        } else {
            let start = i;
            while i < chars.len() && !chars[i].is_whitespace() {
                i += 1;
            }
            let word: String = chars[start..i].iter().collect();
            if !negated {
                match word.as_str() {
                    "OR" | "|" | "||" => {
                        out.push(Lexeme::Or);
                        continue;
                    }
                    "AND" | "&&" => continue,
                    "NOT" => {
                        out.push(Lexeme::Not);
                        continue;
                    }
                    _ => {}
                }
            }
            word
        };
        out.push(Lexeme::Text { text, negated });
    }
    out
}

/// Parse the user's query text.
pub fn parse(q: &str) -> Result<Parsed> {
    if q.chars().count() > MAX_QUERY_CHARS {
        return Err(Error::invalid(
            "q",
            format!("must be at most {MAX_QUERY_CHARS} characters"),
        ));
    }
    let mut p = Parsed::default();
    let mut pending_or = false;
    let mut pending_not = false;
    for l in lex(q) {
        match l {
            Lexeme::Or => pending_or = !p.groups.is_empty(),
            Lexeme::Not => pending_not = true,
            Lexeme::Text { text, negated } => {
                let text = text.trim().to_string();
                if text.is_empty() {
                    continue;
                }
                if negated || pending_not {
                    p.excluded.push(text);
                } else if pending_or {
                    if let Some(g) = p.groups.last_mut() {
                        g.push(text);
                    }
                } else {
                    p.groups.push(vec![text]);
                }
                pending_or = false;
                pending_not = false;
            }
        }
    }
    if p.positives().count() + p.excluded.len() > MAX_CLAUSES {
        return Err(Error::invalid(
            "q",
            format!("use at most {MAX_CLAUSES} words or phrases"),
        ));
    }
    Ok(p)
}

/// Which articles a search covers: the instance's own, or (at a hub) its counties'.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Scope {
    #[default]
    Local,
    Counties,
}

/// Filters from the request, already narrowed to what the reader may see.
#[derive(Debug, Clone, Default)]
pub struct Filters {
    pub scope: Scope,
    /// Local scope. `None` = every outlet (instance admins); `Some(empty)` matches nothing.
    pub outlets: Option<Vec<u64>>,
    /// County scope: the counties (instance ids) to search; `None` = all of them.
    pub counties: Option<Vec<String>>,
    pub status: Option<String>,
    pub category: Option<String>,
    pub tag: Option<String>,
    pub author: Option<u64>,
    /// Inclusive lower and exclusive upper bound on the article's date, in ms.
    pub date_from: Option<Millis>,
    pub date_to: Option<Millis>,
}

pub struct Builder<'a> {
    pub analyzers: &'a Analyzers,
    pub f: &'a Fields,
}

fn term_q(field: Field, text: &str) -> Box<dyn Query> {
    Box::new(TermQuery::new(
        Term::from_field_text(field, text),
        IndexRecordOption::WithFreqs,
    ))
}

impl Builder<'_> {
    /// Must-match part of a clause in one field pair (`gram`, `uni`); `None` when the text has
    /// nothing searchable (only punctuation).
    fn recall_in(&self, text: &str, gram: Field, uni: Field) -> Option<Box<dyn Query>> {
        let ClausePhrase {
            tokens: toks,
            prefix_last: prefix,
        } = self.analyzers.clause_phrase(text);
        match toks.len() {
            0 => None,
            1 => {
                let t = &toks[0];
                Some(if single_han(&t.text).is_some() {
                    // Unigram fields record documents only (no frequencies, no positions).
                    Box::new(TermQuery::new(
                        Term::from_field_text(uni, &t.text),
                        IndexRecordOption::Basic,
                    ))
                } else {
                    term_q(gram, &t.text)
                })
            }
            _ => {
                let base = toks[0].position;
                let terms: Vec<(usize, Term)> = toks
                    .iter()
                    .map(|t| (t.position - base, Term::from_field_text(gram, &t.text)))
                    .collect();
                if prefix {
                    let mut q = PhrasePrefixQuery::new_with_offset(terms);
                    q.set_max_expansions(PREFIX_EXPANSIONS);
                    Some(Box::new(q))
                } else {
                    Some(Box::new(PhraseQuery::new_with_offset(terms)))
                }
            }
        }
    }

    /// A clause matches in the title or the body.
    pub fn recall(&self, text: &str) -> Option<Box<dyn Query>> {
        let f = self.f;
        let title = self.recall_in(text, f.title_g, f.title_u)?;
        let body = self.recall_in(text, f.body_g, f.body_u)?;
        Some(Box::new(BooleanQuery::new(vec![
            (
                Occur::Should,
                Box::new(BoostQuery::new(title, TITLE_BOOST)) as Box<dyn Query>,
            ),
            (Occur::Should, body),
        ])))
    }

    /// Title-only recall for suggestions as you type: Han input is matched as typed (complete
    /// characters), a trailing Latin word or number as a prefix (it may be half typed).
    pub fn title_prefix(&self, text: &str) -> Option<Box<dyn Query>> {
        let toks = self.analyzers.tokens(GRAM, text);
        let last = toks.last()?;
        if last.text.chars().any(is_han) {
            return self.recall_in(text, self.f.title_g, self.f.title_u);
        }
        let base = toks[0].position;
        let terms: Vec<(usize, Term)> = toks
            .iter()
            .map(|t| {
                (
                    t.position - base,
                    Term::from_field_text(self.f.title_g, &t.text),
                )
            })
            .collect();
        let mut q = PhrasePrefixQuery::new_with_offset(terms);
        q.set_max_expansions(200);
        Some(Box::new(q))
    }

    /// Ranking bonus: the clause's jieba words in title and body.
    fn rank(&self, text: &str) -> Vec<(Occur, Box<dyn Query>)> {
        let mut words: Vec<String> = self
            .analyzers
            .tokens(WORD, text)
            .into_iter()
            .map(|t| t.text)
            .collect();
        words.sort();
        words.dedup();
        let mut out: Vec<(Occur, Box<dyn Query>)> = Vec::new();
        for w in words {
            out.push((
                Occur::Should,
                Box::new(BoostQuery::new(term_q(self.f.title_w, &w), TITLE_BOOST)),
            ));
            out.push((Occur::Should, term_q(self.f.body_w, &w)));
        }
        out
    }

    fn clause(&self, text: &str) -> Option<Box<dyn Query>> {
        let recall = self.recall(text)?;
        let mut parts = vec![(Occur::Must, recall)];
        parts.extend(self.rank(text));
        Some(Box::new(BooleanQuery::new(parts)))
    }

    /// The whole query: text clauses, filters, and the outlet restriction.
    pub fn build(&self, p: &Parsed, filters: &Filters) -> Box<dyn Query> {
        let mut parts: Vec<(Occur, Box<dyn Query>)> = Vec::new();
        let mut any_text = false;
        for group in &p.groups {
            let alts: Vec<Box<dyn Query>> = group.iter().filter_map(|c| self.clause(c)).collect();
            match alts.len() {
                // Only punctuation: nothing can match it.
                0 => return Box::new(EmptyQuery),
                1 => parts.extend(alts.into_iter().map(|q| (Occur::Must, q))),
                _ => parts.push((
                    Occur::Must,
                    Box::new(BooleanQuery::new(
                        alts.into_iter().map(|q| (Occur::Should, q)).collect(),
                    )),
                )),
            }
            any_text = true;
        }
        for ex in &p.excluded {
            if let Some(q) = self.recall(ex) {
                parts.push((Occur::MustNot, q));
            }
        }
        if !any_text {
            parts.push((
                Occur::Must,
                Box::new(ConstScoreQuery::new(Box::new(AllQuery), 0.0)),
            ));
        }
        match self.filter(filters) {
            Some(fq) => parts.extend(fq.into_iter().map(|q| (Occur::Must, q))),
            None => return Box::new(EmptyQuery),
        }
        Box::new(BooleanQuery::new(parts))
    }

    /// Filter clauses (constant zero score); `None` when the filters exclude everything.
    fn filter(&self, x: &Filters) -> Option<Vec<Box<dyn Query>>> {
        let f = self.f;
        let zero = |q: Box<dyn Query>| -> Box<dyn Query> { Box::new(ConstScoreQuery::new(q, 0.0)) };
        let mut out = Vec::new();
        let scope = match x.scope {
            Scope::Local => LOCAL,
            Scope::Counties => COUNTY,
        };
        out.push(zero(Box::new(TermQuery::new(
            Term::from_field_text(f.scope, scope),
            IndexRecordOption::Basic,
        ))));
        match x.scope {
            Scope::Local => {
                if let Some(outlets) = &x.outlets {
                    if outlets.is_empty() {
                        return None;
                    }
                    let terms = outlets.iter().map(|o| Term::from_field_u64(f.outlet, *o));
                    out.push(zero(Box::new(TermSetQuery::new(terms))));
                }
            }
            Scope::Counties => {
                if let Some(counties) = &x.counties {
                    if counties.is_empty() {
                        return None;
                    }
                    let terms = counties.iter().map(|c| Term::from_field_text(f.county, c));
                    out.push(zero(Box::new(TermSetQuery::new(terms))));
                }
            }
        }
        for (field, v) in [
            (f.status, &x.status),
            (f.category, &x.category),
            (f.tag, &x.tag),
        ] {
            if let Some(v) = v {
                out.push(zero(Box::new(TermQuery::new(
                    Term::from_field_text(field, v),
                    IndexRecordOption::Basic,
                ))));
            }
        }
        if let Some(a) = x.author {
            out.push(zero(Box::new(TermQuery::new(
                Term::from_field_u64(f.author, a),
                IndexRecordOption::Basic,
            ))));
        }
        if x.date_from.is_some() || x.date_to.is_some() {
            let lo = x.date_from.map_or(Bound::Unbounded, |v| {
                Bound::Included(Term::from_field_i64(f.date, v))
            });
            let hi = x.date_to.map_or(Bound::Unbounded, |v| {
                Bound::Excluded(Term::from_field_i64(f.date, v))
            });
            out.push(zero(Box::new(RangeQuery::new(lo, hi))));
        }
        Some(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn g(v: &[&[&str]]) -> Vec<Vec<String>> {
        v.iter()
            .map(|g| g.iter().map(|s| s.to_string()).collect())
            .collect()
    }

    #[test]
    fn parses_and_or_not_and_phrases() {
        let p = parse(r#"经济 "改革 开放" 香港 OR 澳门 -台风 NOT 地震 “春节 联欢”"#).unwrap();
        assert_eq!(
            p.groups,
            g(&[&["经济"], &["改革 开放"], &["香港", "澳门"], &["春节 联欢"]])
        );
        assert_eq!(p.excluded, vec!["台风".to_string(), "地震".to_string()]);
    }

    #[test]
    fn odd_input_is_not_an_error() {
        assert!(parse("").unwrap().is_empty());
        assert!(parse("   ").unwrap().is_empty());
        assert_eq!(
            parse("\"unclosed phrase").unwrap().groups,
            g(&[&["unclosed phrase"]])
        );
        assert_eq!(parse("OR 经济").unwrap().groups, g(&[&["经济"]]));
        assert_eq!(parse("- 经济").unwrap().groups, g(&[&["-"], &["经济"]]));
    }

    #[test]
    fn limits_give_clear_errors() {
        let long = "经".repeat(MAX_QUERY_CHARS + 1);
        assert_eq!(parse(&long).unwrap_err().row().code, "invalid_input");
        let many = vec!["a"; MAX_CLAUSES + 1].join(" ");
        assert_eq!(parse(&many).unwrap_err().row().code, "invalid_input");
    }
}
