//! Word lists (词库): what screening looks for and what proofreading corrects. A lexicon has a
//! kind (`screen` terms with a severity, `allow` exceptions, `proof` wrong→right pairs), a
//! category, and is enabled per instance with per-outlet opt-out. Its entries live beside it,
//! keyed by their text. Importing a file is planned here (what is added, changed, removed,
//! rejected) and applied by the workflow as one log entry.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::{LexiconId, OutletId, UserId};
use crate::clock::Millis;
use crate::error::{Error, Result};
use crate::screen::Severity;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum LexiconKind {
    /// Prohibited or sensitive terms, each with a severity.
    Screen,
    /// Exceptions: longer words that contain a listed term but are fine (a place name).
    Allow,
    /// Proofreading: a wrong form and its replacement (易错词, house rules).
    Proof,
}

/// Categories offered in the UI; `custom` and any `[a-z_]{1,32}` slug are accepted too.
pub const CATEGORIES: &[&str] = &[
    "political",
    "pornographic",
    "violent",
    "gambling_drugs",
    "advertising",
    "custom",
    "typo",
    "house_style",
    "exception",
];

pub const MAX_NAME: usize = 64;
pub const MAX_TERM: usize = 50;
pub const MAX_ENTRIES: usize = 200_000;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Lexicon {
    pub id: LexiconId,
    pub name: String,
    pub kind: LexiconKind,
    pub category: String,
    pub description: String,
    /// Where the list came from (attribution, licence).
    pub source: String,
    /// The severity of imported lines that name none.
    pub default_severity: Severity,
    pub enabled: bool,
    /// Outlets that switched this list off.
    pub disabled_outlets: Vec<OutletId>,
    pub entries: u32,
    /// Bumped by every change of the list or its entries.
    pub revision: u32,
    /// The instance's lexicon generation after this change: matchers compiled for an older
    /// generation are stale.
    pub generation: u64,
    pub created_by: Option<UserId>,
    pub created_at: Millis,
    pub updated_by: Option<UserId>,
    pub updated_at: Millis,
    /// At a hub: pushed to every county, where it takes effect (省级词库).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub provincial: bool,
    /// At a county: the hub's id of the provincial list this is a copy of. Maintained by the
    /// province: read-only here, and not switched off per outlet.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub province_id: Option<u64>,
}

impl Lexicon {
    /// Does this list take effect in `outlet`?
    pub fn applies_to(&self, outlet: OutletId) -> bool {
        self.enabled && !self.disabled_outlets.contains(&outlet)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Entry {
    pub text: String,
    pub severity: Severity,
    /// The correct form (proof lists only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replacement: Option<String>,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub note: String,
}

pub fn validate_name(name: &str) -> Result<String> {
    let n = name.trim();
    if n.is_empty() || n.chars().count() > MAX_NAME {
        return Err(Error::invalid(
            "name",
            format!("1 to {MAX_NAME} characters"),
        ));
    }
    Ok(n.to_string())
}

pub fn validate_category(c: &str) -> Result<String> {
    let c = c.trim();
    if c.is_empty() || c.len() > 32 || !c.bytes().all(|b| b.is_ascii_lowercase() || b == b'_') {
        return Err(Error::invalid(
            "category",
            format!("a slug of a-z and _ (e.g. {})", CATEGORIES.join(", ")),
        ));
    }
    Ok(c.to_string())
}

/// Severity names as lists write them (English or Chinese).
pub fn parse_severity(s: &str) -> Option<Severity> {
    match s.trim().to_ascii_lowercase().as_str() {
        "block" | "禁用" | "禁止" | "拦截" => Some(Severity::Block),
        "review" | "审核" | "复核" | "敏感" => Some(Severity::Review),
        "hint" | "提示" | "提醒" => Some(Severity::Hint),
        _ => None,
    }
}

/// Why an entry is refused, in words an admin can act on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Rejected {
    /// 1-based line of the imported file (0 for a single entry).
    pub line: usize,
    pub text: String,
    pub reason: String,
}

/// Check one entry against the rules of its list kind. `Ok((entry, note))`: `note` says how the
/// entry was adjusted (a one-character term is kept only as a hint).
pub fn check_entry(
    kind: LexiconKind,
    mut e: Entry,
) -> std::result::Result<(Entry, Option<String>), String> {
    e.text = e.text.trim().to_string();
    e.note = e.note.trim().to_string();
    e.replacement = e
        .replacement
        .map(|r| r.trim().to_string())
        .filter(|r| !r.is_empty());
    let len = e.text.chars().count();
    if len == 0 {
        return Err("empty".into());
    }
    if len > MAX_TERM {
        return Err(format!("longer than {MAX_TERM} characters"));
    }
    if e.text.chars().any(char::is_control) {
        return Err("contains control characters".into());
    }
    if e.text.contains('*') {
        return Err(
            "wildcards (*) are not supported: list each form (the matcher already ignores symbols and spaces inserted between characters)"
                .into(),
        );
    }
    let folded = crate::screen::fold(&e.text).text;
    if folded.is_empty() {
        return Err("only symbols or spaces: it can never match".into());
    }
    let mut note = None;
    match kind {
        LexiconKind::Screen => {
            e.replacement = None;
            if folded.chars().count() == 1 && e.severity > Severity::Hint {
                e.severity = Severity::Hint;
                note = Some(
                    "one-character terms match inside ordinary words: kept as a hint".to_string(),
                );
            }
        }
        LexiconKind::Allow => {
            e.replacement = None;
            e.severity = Severity::Hint;
        }
        LexiconKind::Proof => {
            match &e.replacement {
                None => return Err("a proofreading entry needs its correct form".into()),
                Some(r) if *r == e.text => {
                    return Err("the correct form is the same as the wrong one".into());
                }
                Some(r) if r.chars().count() > MAX_TERM => {
                    return Err(format!("correct form longer than {MAX_TERM} characters"));
                }
                Some(_) => {}
            }
            if e.severity == Severity::Block {
                e.severity = Severity::Review;
            }
        }
    }
    Ok((e, note))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Format {
    /// One entry per line: `term`, or `term<TAB>severity` (`wrong<TAB>right[<TAB>severity]` for
    /// proof lists); `#` starts a comment.
    Txt,
    /// `text,severity,replacement,note`, with or without that header row.
    Csv,
}

/// The lines of an import file, read into entries or rejected with their line number.
pub fn parse(
    text: &str,
    format: Format,
    kind: LexiconKind,
    default: Severity,
) -> (Vec<(usize, Entry)>, Vec<Rejected>) {
    let text = text.trim_start_matches('\u{feff}');
    let mut rows: Vec<(usize, Vec<String>)> = Vec::new();
    let mut rejected = Vec::new();
    match format {
        Format::Txt => {
            for (i, line) in text.lines().enumerate() {
                let l = line.trim();
                if l.is_empty() || l.starts_with('#') {
                    continue;
                }
                rows.push((i + 1, l.split('\t').map(str::to_string).collect()));
            }
        }
        Format::Csv => {
            let mut r = csv::ReaderBuilder::new()
                .has_headers(false)
                .flexible(true)
                .from_reader(text.as_bytes());
            for (i, rec) in r.records().enumerate() {
                match rec {
                    Ok(rec) => {
                        let cells: Vec<String> = rec.iter().map(str::to_string).collect();
                        let first = cells.first().map(|c| c.trim()).unwrap_or("");
                        if i == 0 && first.eq_ignore_ascii_case("text") {
                            continue;
                        }
                        if first.is_empty() || first.starts_with('#') {
                            continue;
                        }
                        rows.push((i + 1, cells));
                    }
                    Err(e) => rejected.push(Rejected {
                        line: i + 1,
                        text: String::new(),
                        reason: format!("not valid CSV: {e}"),
                    }),
                }
            }
        }
    }
    let mut out = Vec::new();
    for (line, cells) in rows {
        let cell = |i: usize| cells.get(i).map(|c| c.trim()).filter(|c| !c.is_empty());
        let text = cell(0).unwrap_or("").to_string();
        // Proof lines in txt put the replacement second; csv always names columns.
        let (sev_cell, repl_cell) = match (format, kind) {
            (Format::Txt, LexiconKind::Proof) => (cell(2), cell(1)),
            (Format::Txt, _) => (cell(1), None),
            (Format::Csv, _) => (cell(1), cell(2)),
        };
        let severity = match sev_cell {
            None => default,
            Some(s) => match parse_severity(s) {
                Some(v) => v,
                None => {
                    rejected.push(Rejected {
                        line,
                        text,
                        reason: format!("unknown severity {s:?} (block, review or hint)"),
                    });
                    continue;
                }
            },
        };
        let note = if format == Format::Csv {
            cell(3).unwrap_or("").to_string()
        } else {
            String::new()
        };
        out.push((
            line,
            Entry {
                text,
                severity,
                replacement: repl_cell.map(str::to_string),
                note,
            },
        ));
    }
    (out, rejected)
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Changed {
    pub text: String,
    pub before: Entry,
    pub after: Entry,
}

/// What an import did (or, on a dry run, would do).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct ImportReport {
    pub added: Vec<String>,
    pub changed: Vec<Changed>,
    pub unchanged: usize,
    /// Entries the file does not have (replace mode only).
    pub removed: Vec<String>,
    pub rejected: Vec<Rejected>,
    /// Accepted with an adjustment (line, text, what was adjusted).
    pub adjusted: Vec<Rejected>,
}

/// The entries to write and remove for an import, and its report. `replace` removes what the
/// file does not list; a text listed twice keeps its last line.
pub fn plan_import(
    kind: LexiconKind,
    existing: &BTreeMap<String, Entry>,
    lines: Vec<(usize, Entry)>,
    mut rejected: Vec<Rejected>,
    replace: bool,
) -> (ImportReport, Vec<Entry>, Vec<String>) {
    let mut report = ImportReport::default();
    let mut incoming: BTreeMap<String, Entry> = BTreeMap::new();
    for (line, e) in lines {
        let shown = e.text.trim().to_string();
        match check_entry(kind, e) {
            Ok((e, note)) => {
                if let Some(n) = note {
                    report.adjusted.push(Rejected {
                        line,
                        text: e.text.clone(),
                        reason: n,
                    });
                }
                incoming.insert(e.text.clone(), e);
            }
            Err(reason) => rejected.push(Rejected {
                line,
                text: shown,
                reason,
            }),
        }
    }
    let mut set = Vec::new();
    for (text, e) in &incoming {
        match existing.get(text) {
            None => {
                report.added.push(text.clone());
                set.push(e.clone());
            }
            Some(old) if old != e => {
                report.changed.push(Changed {
                    text: text.clone(),
                    before: old.clone(),
                    after: e.clone(),
                });
                set.push(e.clone());
            }
            Some(_) => report.unchanged += 1,
        }
    }
    let removed: Vec<String> = if replace {
        existing
            .keys()
            .filter(|k| !incoming.contains_key(*k))
            .cloned()
            .collect()
    } else {
        Vec::new()
    };
    report.removed = removed.clone();
    report.rejected = rejected;
    (report, set, removed)
}

fn severity_name(s: Severity) -> &'static str {
    match s {
        Severity::Block => "block",
        Severity::Review => "review",
        Severity::Hint => "hint",
    }
}

/// Write entries in an import format (export then import gives the same list).
pub fn export<'a>(
    entries: impl Iterator<Item = &'a Entry>,
    format: Format,
    kind: LexiconKind,
) -> String {
    let mut out = String::new();
    match format {
        Format::Txt => {
            for e in entries {
                out.push_str(&e.text);
                if kind == LexiconKind::Proof {
                    out.push('\t');
                    out.push_str(e.replacement.as_deref().unwrap_or(""));
                }
                if kind != LexiconKind::Allow {
                    out.push('\t');
                    out.push_str(severity_name(e.severity));
                }
                out.push('\n');
            }
        }
        Format::Csv => {
            let mut w = csv::Writer::from_writer(Vec::new());
            let _ = w.write_record(["text", "severity", "replacement", "note"]);
            for e in entries {
                let _ = w.write_record([
                    e.text.as_str(),
                    severity_name(e.severity),
                    e.replacement.as_deref().unwrap_or(""),
                    e.note.as_str(),
                ]);
            }
            out = String::from_utf8(w.into_inner().unwrap_or_default()).unwrap_or_default();
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn e(t: &str, s: Severity) -> Entry {
        Entry {
            text: t.into(),
            severity: s,
            replacement: None,
            note: String::new(),
        }
    }

    #[test]
    fn import_plan_reports_added_changed_removed_rejected() {
        let existing: BTreeMap<String, Entry> = [
            ("赌博网站".to_string(), e("赌博网站", Severity::Review)),
            ("老词".to_string(), e("老词", Severity::Block)),
        ]
        .into_iter()
        .collect();
        let file = "# 注释\n赌博网站\tblock\n新词\n枪\tblock\n法*轮\n^^\n坏\t很坏\n";
        let (lines, rej) = parse(file, Format::Txt, LexiconKind::Screen, Severity::Review);
        assert_eq!(rej.len(), 1, "{rej:?}");
        assert_eq!(rej[0].line, 7);
        let (r, set, removed) = plan_import(LexiconKind::Screen, &existing, lines, rej, true);
        assert_eq!(r.added, vec!["新词", "枪"]);
        assert_eq!(r.changed.len(), 1);
        assert_eq!(r.changed[0].after.severity, Severity::Block);
        assert_eq!(removed, vec!["老词"]);
        let reasons: Vec<(usize, &str)> = r
            .rejected
            .iter()
            .map(|x| (x.line, x.text.as_str()))
            .collect();
        assert_eq!(reasons, vec![(7, "坏"), (5, "法*轮"), (6, "^^")]);
        assert_eq!(r.adjusted.len(), 1);
        let gun = set.iter().find(|x| x.text == "枪").unwrap();
        assert_eq!(gun.severity, Severity::Hint);
    }

    #[test]
    fn export_then_import_is_the_same_list() {
        for format in [Format::Txt, Format::Csv] {
            let mut a = e("截止", Severity::Review);
            a.text = "截止日期".into();
            let mut p = e("按装", Severity::Hint);
            p.replacement = Some("安装".into());
            p.note = "常见错字, \"引号\"".into();
            let list = [p.clone()];
            let text = export(list.iter(), format, LexiconKind::Proof);
            let (lines, rej) = parse(&text, format, LexiconKind::Proof, Severity::Hint);
            assert!(rej.is_empty(), "{rej:?}");
            let got: Vec<Entry> = lines.into_iter().map(|(_, e)| e).collect();
            let mut want = p.clone();
            if format == Format::Txt {
                want.note.clear();
            }
            assert_eq!(got, vec![want], "{format:?}\n{text}");
        }
    }

    #[test]
    fn proof_entries_need_a_different_correct_form() {
        let mut p = e("按装", Severity::Block);
        assert!(check_entry(LexiconKind::Proof, p.clone()).is_err());
        p.replacement = Some("按装".into());
        assert!(check_entry(LexiconKind::Proof, p.clone()).is_err());
        p.replacement = Some("安装".into());
        let (ok, _) = check_entry(LexiconKind::Proof, p).unwrap();
        assert_eq!(ok.severity, Severity::Review);
    }
}
