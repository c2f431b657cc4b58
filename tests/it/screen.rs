//! Screening resists evasion: variants of every term of the 14,581-term list (full width,
//! Traditional characters, symbols and spaces inserted, zero-width characters, case, and all of
//! these at once) are found at their place in the text.

use std::collections::HashMap;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use rongmei::screen::{Folded, Matcher, Severity, Term, fold, lists};

use crate::harness::corpus;

const SEPARATORS: &[&str] = &[
    " ", "  ", "^", "^^", "*", ".", "-", "　", "|", "#", "~", "_", "/", "、", "·",
];
const INVISIBLE: &[char] = &[
    '\u{200b}', '\u{200c}', '\u{200d}', '\u{2060}', '\u{feff}', '\u{00ad}',
];

fn full_width(c: char) -> char {
    match c {
        '!'..='~' => char::from_u32(c as u32 + 0xFEE0).unwrap(),
        _ => c,
    }
}

/// Simplified → one Traditional form, from the folding itself (a Traditional character folds
/// to its Simplified one).
fn traditional_forms() -> HashMap<char, char> {
    let mut m = HashMap::new();
    for cp in 0x4E00u32..=0x9FFF {
        let c = char::from_u32(cp).unwrap();
        let f = fold(&c.to_string()).text;
        let mut it = f.chars();
        if let (Some(s), None) = (it.next(), it.next())
            && s != c
        {
            m.entry(s).or_insert(c);
        }
    }
    m
}

fn between(term: &str, rng: &mut StdRng, pick: &mut dyn FnMut(&mut StdRng) -> String) -> String {
    let chars: Vec<char> = term.chars().collect();
    let mut out = String::new();
    for (i, c) in chars.iter().enumerate() {
        out.push(*c);
        if i + 1 < chars.len() {
            out.push_str(&pick(rng));
        }
    }
    out
}

#[test]
fn variants_of_listed_terms_are_detected() {
    let text =
        std::fs::read_to_string(corpus("wordlists/zh_sensitive_text-censor_1.0.2.txt")).unwrap();
    let words = lists::parse_terms(&text);
    assert!(words.len() > 14_000, "{}", words.len());
    let terms: Vec<Term> = words
        .iter()
        .map(|w| Term {
            text: w.clone(),
            category: "list".into(),
            severity: Severity::Block,
        })
        .collect();
    let m = Matcher::new(terms, &[]).unwrap();
    let trad = traditional_forms();
    assert!(
        trad.len() > 2_000,
        "too few Traditional forms: {}",
        trad.len()
    );
    let mut rng = StdRng::seed_from_u64(2015);
    let mut buf = Folded::default();
    // kind → (tried, found)
    let mut score: HashMap<&str, (usize, usize)> = HashMap::new();
    let mut misses: Vec<String> = Vec::new();
    for (i, w) in words.iter().enumerate() {
        if m.unmatchable.contains(&i) {
            continue;
        }
        let mut variants: Vec<(&str, String)> = Vec::new();
        if w.chars().any(|c| c.is_ascii_graphic()) {
            variants.push(("full width", w.chars().map(full_width).collect()));
        }
        if w.chars().any(|c| c.is_ascii_alphabetic()) {
            let flipped: String = w
                .chars()
                .map(|c| {
                    if c.is_ascii_lowercase() {
                        c.to_ascii_uppercase()
                    } else {
                        c.to_ascii_lowercase()
                    }
                })
                .collect();
            variants.push(("case", flipped));
        }
        let t: String = w.chars().map(|c| *trad.get(&c).unwrap_or(&c)).collect();
        if t != *w {
            variants.push(("traditional", t.clone()));
        }
        if w.chars().count() > 1 {
            variants.push((
                "symbols and spaces",
                between(w, &mut rng, &mut |r| {
                    SEPARATORS[r.random_range(0..SEPARATORS.len())].to_string()
                }),
            ));
            variants.push((
                "zero-width",
                between(w, &mut rng, &mut |r| {
                    INVISIBLE[r.random_range(0..INVISIBLE.len())].to_string()
                }),
            ));
            let wide: String = t.chars().map(full_width).collect();
            variants.push((
                "all at once",
                between(&wide, &mut rng, &mut |r| {
                    format!(
                        "{}{}",
                        SEPARATORS[r.random_range(0..SEPARATORS.len())],
                        INVISIBLE[r.random_range(0..INVISIBLE.len())]
                    )
                }),
            ));
        }
        for (kind, v) in variants {
            let before = "据网友爆料，";
            let doc = format!("{before}{v}。次日");
            // The span a hit must cover: from the first to the last character of the variant
            // that means something once folded (a term's own leading "…" or trailing ")" is
            // punctuation and rightly not part of the hit).
            let meaningful: Vec<(usize, char)> = v
                .char_indices()
                .filter(|(_, c)| !fold(&c.to_string()).text.is_empty())
                .collect();
            let (Some(first), Some(last)) = (meaningful.first(), meaningful.last()) else {
                continue;
            };
            let (a, b) = (
                before.len() + first.0,
                before.len() + last.0 + last.1.len_utf8(),
            );
            // Found = one hit spans the whole variant (not merely some shorter term inside it).
            let found = m
                .scan(&doc, &mut buf)
                .iter()
                .any(|h| h.start <= a && b <= h.end);
            let e = score.entry(kind).or_default();
            e.0 += 1;
            e.1 += usize::from(found);
            if !found && misses.len() < 20 {
                misses.push(format!("{kind}: {w:?} as {v:?}"));
            }
        }
    }
    let (tried, found) = score.values().fold((0, 0), |a, b| (a.0 + b.0, a.1 + b.1));
    let mut report: Vec<String> = score
        .iter()
        .map(|(k, (t, f))| format!("{k}: {f}/{t} ({:.2}%)", 100.0 * *f as f64 / *t as f64))
        .collect();
    report.sort();
    println!(
        "evasion variants detected: {found}/{tried} ({:.2}%); {}",
        100.0 * found as f64 / tried as f64,
        report.join("; ")
    );
    println!("first misses: {misses:#?}");
    assert!(tried > 55_000, "{tried}");
    assert!(
        found as f64 >= 0.99 * tried as f64,
        "detected {found} of {tried}"
    );
    for (k, (t, f)) in &score {
        assert!(*f as f64 >= 0.98 * *t as f64, "{k}: {f} of {t}");
    }
}
