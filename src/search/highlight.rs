//! Highlighted titles and snippets. Matches are found exactly as the query matches (the same
//! `rm_gram` phrases), so a highlight is always a real occurrence of a query clause, in the
//! original text (folding keeps one character per character). Output is plain segments, never
//! HTML: the UI renders them as text.

use serde::Serialize;

use super::analyze::{Analyzers, ClausePhrase, GRAM, Unit, fold, units};

/// A piece of text, highlighted or not.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Segment {
    pub text: String,
    pub hit: bool,
}

/// What to look for: one entry per positive clause.
pub struct Needles {
    clauses: Vec<Clause>,
}

struct Clause {
    tokens: Vec<String>,
    /// The last token is one Han character that may start a longer token in the text.
    prefix_last: bool,
    /// The folded characters when the clause is one run of Han characters: then a match is
    /// exactly an occurrence of them in the folded text (the fast path: no tokenizing).
    han: Option<Vec<char>>,
}

impl Needles {
    pub fn new<'a>(a: &Analyzers, clauses: impl IntoIterator<Item = &'a String>) -> Self {
        let mut out = Vec::new();
        for c in clauses {
            let ClausePhrase {
                tokens: toks,
                prefix_last,
            } = a.clause_phrase(c);
            if !toks.is_empty() {
                let folded = fold(c);
                let runs = units(&folded.chars);
                let han = match runs.as_slice() {
                    [Unit::Han { start, end }] => Some(folded.chars[*start..*end].to_vec()),
                    _ => None,
                };
                out.push(Clause {
                    tokens: toks.into_iter().map(|t| t.text).collect(),
                    prefix_last,
                    han,
                });
            }
        }
        Self { clauses: out }
    }

    pub fn is_empty(&self) -> bool {
        self.clauses.is_empty()
    }

    /// Byte ranges of every match in `text`, sorted and merged.
    pub fn ranges(&self, a: &Analyzers, text: &str) -> Vec<(usize, usize)> {
        if self.clauses.is_empty() {
            return Vec::new();
        }
        let mut out = Vec::new();
        if self.clauses.iter().any(|c| c.han.is_some()) {
            let f = fold(text);
            for c in self.clauses.iter().filter_map(|c| c.han.as_deref()) {
                let Some(first) = c.first() else { continue };
                let n = c.len();
                let mut i = 0;
                while i + n <= f.chars.len() {
                    if f.chars[i] == *first && f.chars[i..i + n] == *c {
                        out.push((f.offsets[i], f.offsets[i + n]));
                    }
                    i += 1;
                }
            }
        }
        let doc = if self.clauses.iter().any(|c| c.han.is_none()) {
            a.tokens(GRAM, text)
        } else {
            Vec::new()
        };
        for c in self.clauses.iter().filter(|c| c.han.is_none()) {
            let k = c.tokens.len();
            if doc.len() < k {
                continue;
            }
            for i in 0..=doc.len() - k {
                let ok = c.tokens.iter().enumerate().all(|(j, t)| {
                    let d = &doc[i + j].text;
                    if j + 1 == k && c.prefix_last {
                        d.starts_with(t.as_str())
                    } else {
                        d == t
                    }
                });
                if !ok {
                    continue;
                }
                let last = &doc[i + k - 1];
                let end = if c.prefix_last && last.text.chars().count() > 1 {
                    // Only the first character of a bigram was asked for.
                    doc.get(i + k).map_or(last.offset_to, |n| n.offset_from)
                } else {
                    last.offset_to
                };
                out.push((doc[i].offset_from, end));
            }
        }
        out.sort_unstable();
        let mut merged: Vec<(usize, usize)> = Vec::with_capacity(out.len());
        for (s, e) in out {
            match merged.last_mut() {
                Some(m) if s <= m.1 => m.1 = m.1.max(e),
                _ => merged.push((s, e)),
            }
        }
        merged
    }
}

fn segments(text: &str, ranges: &[(usize, usize)], from: usize, to: usize) -> Vec<Segment> {
    let mut out = Vec::new();
    let mut at = from;
    let clean = |s: &str| s.replace('\n', " ");
    for &(s, e) in ranges {
        let (s, e) = (s.max(from), e.min(to));
        if s >= e {
            continue;
        }
        if s > at {
            out.push(Segment {
                text: clean(&text[at..s]),
                hit: false,
            });
        }
        out.push(Segment {
            text: clean(&text[s..e]),
            hit: true,
        });
        at = e;
    }
    if at < to {
        out.push(Segment {
            text: clean(&text[at..to]),
            hit: false,
        });
    }
    out
}

/// The whole text with its matches marked (titles).
pub fn whole(a: &Analyzers, n: &Needles, text: &str) -> Vec<Segment> {
    segments(text, &n.ranges(a, text), 0, text.len())
}

/// A window of about `width` characters around the densest run of matches (snippets). Marks an
/// omitted start or end with `…`.
pub fn snippet(a: &Analyzers, n: &Needles, text: &str, width: usize) -> Vec<Segment> {
    let ranges = n.ranges(a, text);
    let starts: Vec<usize> = text.char_indices().map(|(i, _)| i).collect();
    let char_at = |byte: usize| starts.partition_point(|&b| b < byte);
    let byte_of = |ch: usize| starts.get(ch).copied().unwrap_or(text.len());
    let total = starts.len();
    let lead = width / 5;
    let (mut from_c, mut to_c) = (0, total.min(width));
    if let Some(best) = (0..ranges.len()).max_by_key(|&i| {
        let s = char_at(ranges[i].0);
        let covered = ranges[i..]
            .iter()
            .take_while(|r| char_at(r.1) <= s + width)
            .count();
        (covered, std::cmp::Reverse(i))
    }) {
        let s = char_at(ranges[best].0);
        from_c = s.saturating_sub(lead);
        // Start after a line break inside the lead-in, when there is one.
        if let Some(nl) = (from_c..s)
            .rev()
            .find(|&c| text[byte_of(c)..].starts_with('\n'))
        {
            from_c = nl + 1;
        }
        to_c = (from_c + width).min(total);
    }
    let mut out = segments(text, &ranges, byte_of(from_c), byte_of(to_c));
    if from_c > 0 {
        out.insert(
            0,
            Segment {
                text: "…".into(),
                hit: false,
            },
        );
    }
    if to_c < total {
        out.push(Segment {
            text: "…".into(),
            hit: false,
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hits(s: &[Segment]) -> Vec<&str> {
        s.iter()
            .filter(|x| x.hit)
            .map(|x| x.text.as_str())
            .collect()
    }

    #[test]
    fn marks_exact_occurrences_only() {
        let a = Analyzers::load(None).unwrap();
        let q = vec!["改革开放".to_string()];
        let n = Needles::new(&a, &q);
        let s = whole(&a, &n, "坚持改革开放，扩大开放");
        assert_eq!(hits(&s), ["改革开放"]);
        let joined: String = s.iter().map(|x| x.text.as_str()).collect();
        assert_eq!(joined, "坚持改革开放，扩大开放");
    }

    #[test]
    fn traditional_text_is_marked_in_the_original() {
        let a = Analyzers::load(None).unwrap();
        let q = vec!["经济".to_string(), "Ｇ２０".to_string(), "港".to_string()];
        let n = Needles::new(&a, &q);
        let s = whole(&a, &n, "香港經濟與G20");
        assert_eq!(hits(&s), ["港經濟", "G20"]);
    }

    #[test]
    fn snippet_centres_on_matches() {
        let a = Analyzers::load(None).unwrap();
        let q = vec!["扶贫".to_string()];
        let n = Needles::new(&a, &q);
        let text = format!(
            "{}\n今年扶贫工作取得进展。{}",
            "前言".repeat(100),
            "后记".repeat(100)
        );
        let s = snippet(&a, &n, &text, 40);
        assert_eq!(s.first().unwrap().text, "…");
        assert_eq!(s.last().unwrap().text, "…");
        assert_eq!(hits(&s), ["扶贫"]);
        let chars: usize = s.iter().map(|x| x.text.chars().count()).sum();
        assert!(chars <= 42, "{chars}");
    }
}
