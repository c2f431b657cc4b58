//! `rongmei bench screen`: build the matcher from a word list, then scan every article of a
//! news corpus (title and body) on one core: throughput, per-article latency, a 10,000-character
//! article, and how many hits the list finds in real news (which, for a prohibited-content list
//! over the People's Daily, are false positives).

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use super::bench::percentile;
use crate::clock::Stopwatch;
use crate::screen::{Folded, Matcher, Severity, Term, lists};

#[derive(clap::Args)]
pub struct ScreenArgs {
    /// Word list: one term per line, or a JSON array / {"words": [...]}.
    #[arg(
        long,
        default_value = "../shared/corpus/wordlists/zh_sensitive_text-censor_1.0.2.txt"
    )]
    terms: PathBuf,
    #[arg(long, default_value = "../shared/corpus/zh_peoples_daily_199801.jsonl")]
    corpus: PathBuf,
    /// Scans of the 10,000-character article.
    #[arg(long, default_value_t = 1_000)]
    repeat: usize,
    /// SIGHAN-2015 spelling pairs (`wrong<TAB>right` sentences) for proofreading precision and
    /// recall.
    #[arg(long, default_value = "../shared/corpus/wordlists/sighan2015_test.tsv")]
    sighan: PathBuf,
    /// Look-alike confusion sets (形近字) to evaluate as an instance's addition.
    #[arg(long, default_value = "../shared/corpus/wordlists/same_stroke.txt")]
    same_stroke: PathBuf,
}

fn read(p: &PathBuf) -> anyhow::Result<String> {
    std::fs::read_to_string(p).map_err(|e| anyhow::anyhow!("cannot read {}: {e}", p.display()))
}

pub fn screen(args: ScreenArgs) -> anyhow::Result<ExitCode> {
    let words = lists::parse_terms(&read(&args.terms)?);
    let texts: Vec<String> = read(&args.corpus)?
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .map(|v| {
            format!(
                "{}\n{}",
                v["title"].as_str().unwrap_or_default(),
                v["body"].as_str().unwrap_or_default()
            )
        })
        .collect();
    anyhow::ensure!(
        !texts.is_empty(),
        "no articles in {}",
        args.corpus.display()
    );
    println!(
        "rongmei bench screen — 1 core, {} terms from {}, {} articles",
        words.len(),
        args.terms.display(),
        texts.len()
    );
    let sw = Stopwatch::start();
    crate::screen::normalize::warm_up();
    let tables_ms = sw.elapsed().as_secs_f64() * 1e3;
    let sw = Stopwatch::start();
    let terms: Vec<Term> = words
        .iter()
        .map(|w| Term {
            text: w.clone(),
            category: "imported".into(),
            severity: Severity::Block,
        })
        .collect();
    let m = Matcher::new(terms, &[])?;
    println!(
        "build: character tables {tables_ms:.0} ms (once per process), automaton {:.0} ms; {} terms fold to nothing and are skipped",
        sw.elapsed().as_secs_f64() * 1e3,
        m.unmatchable.len()
    );
    let folded_len: Vec<usize> = m
        .terms()
        .iter()
        .map(|t| crate::screen::fold(&t.text).text.chars().count())
        .collect();
    let mut buf = Folded::default();
    let (mut lat, mut bytes, mut total_us) = (Vec::with_capacity(texts.len()), 0usize, 0u64);
    let (mut hits, mut with_hits) = (0usize, 0usize);
    // Hits of terms that are one character once folded (the list has 179 such, e.g. "草",
    // "色", and wildcard entries like "法*") counted apart.
    let (mut long_hits, mut with_long) = (0usize, 0usize);
    let mut by_term: BTreeMap<usize, usize> = BTreeMap::new();
    for t in &texts {
        let sw = Stopwatch::start();
        let h = m.scan(t, &mut buf);
        let us = sw.elapsed_us();
        lat.push(us);
        total_us += us;
        bytes += t.len();
        hits += h.len();
        with_hits += usize::from(!h.is_empty());
        let long = h.iter().filter(|x| folded_len[x.term] > 1).count();
        long_hits += long;
        with_long += usize::from(long > 0);
        for x in &h {
            *by_term.entry(x.term).or_default() += 1;
        }
    }
    lat.sort_unstable();
    let mb_s = bytes as f64 / 1e6 / (total_us as f64 / 1e6);
    println!(
        "corpus: {:.1} MB in {:.2} s = {mb_s:.1} MB/s; per article p50 {:.3} ms, p99 {:.3} ms, max {:.3} ms",
        bytes as f64 / 1e6,
        total_us as f64 / 1e6,
        percentile(&lat, 0.5),
        percentile(&lat, 0.99),
        percentile(&lat, 1.0)
    );
    // A 10,000-character article made of consecutive corpus texts.
    let long: String = texts.iter().flat_map(|t| t.chars()).take(10_000).collect();
    let mut lat = Vec::with_capacity(args.repeat);
    for _ in 0..args.repeat {
        let sw = Stopwatch::start();
        std::hint::black_box(m.scan(&long, &mut buf));
        lat.push(sw.elapsed_us());
    }
    lat.sort_unstable();
    println!(
        "10,000-character article ({} bytes): p50 {:.3} ms, p99 {:.3} ms",
        long.len(),
        percentile(&lat, 0.5),
        percentile(&lat, 0.99)
    );
    let mut top: Vec<(usize, usize)> = by_term.into_iter().collect();
    top.sort_by_key(|x| std::cmp::Reverse(x.1));
    let top: Vec<String> = top
        .iter()
        .take(12)
        .map(|(t, n)| format!("{}×{n}", m.terms()[*t].text))
        .collect();
    println!(
        "hits in the corpus (false positives for a prohibited-content list): {hits} in {with_hits} of {} articles; most frequent: {}",
        texts.len(),
        top.join(", ")
    );
    println!(
        "  of which from terms of two or more characters: {long_hits} in {with_long} articles"
    );
    let sighan = read(&args.sighan)?;
    let jieba = crate::search::analyze::Analyzers::load(None)?.jieba();
    let sw = Stopwatch::start();
    let speller = crate::screen::spell::Speller::new(jieba.clone());
    println!(
        "spelling model (jieba dictionary + same-sound sets): built in {} ms",
        sw.elapsed_us() / 1000
    );
    proofreading("list and rules", &texts, &sighan, None)?;
    proofreading(
        "+ spelling (same sound)",
        &texts,
        &sighan,
        Some(Arc::new(speller)),
    )?;
    let mut with_shapes = crate::screen::spell::Speller::new(jieba);
    let n = with_shapes.add_confusions(&read(&args.same_stroke)?);
    proofreading(
        &format!("+ spelling (same sound + {n} look-alike sets)"),
        &texts,
        &sighan,
        Some(Arc::new(with_shapes)),
    )?;
    Ok(ExitCode::SUCCESS)
}

/// The built-in proofreading list and rules: throughput over the corpus, and precision and
/// recall on the SIGHAN-2015 pairs (character level: a flagged character is right when the
/// pair differs there; a correction is right when the replacement gives the right text).
fn proofreading(
    label: &str,
    texts: &[String],
    sighan: &str,
    speller: Option<Arc<crate::screen::spell::Speller>>,
) -> anyhow::Result<()> {
    let pairs: Vec<(String, String, String)> = crate::workflow::lexicons::builtin_entries()?
        .into_iter()
        .filter_map(|e| Some((e.text, e.replacement?, "typo".to_string())))
        .collect();
    let n_pairs = pairs.len();
    let p = crate::screen::proof::Proofreader::new(pairs)?.with_speller(speller);
    let (mut bytes, mut us, mut found) = (0usize, 0u64, 0usize);
    let mut by_rule: BTreeMap<String, usize> = BTreeMap::new();
    let mut samples: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for t in texts {
        let sw = Stopwatch::start();
        let s = p.check(t, true);
        us += sw.elapsed_us();
        bytes += t.len();
        found += s.len();
        for x in s {
            let k = format!("{:?}", x.rule);
            *by_rule.entry(k.clone()).or_default() += 1;
            let v = samples.entry(k).or_default();
            if v.len() < 4 {
                let ctx: String = t
                    .chars()
                    .skip((x.start as usize).saturating_sub(6))
                    .take(x.end as usize - x.start as usize + 12)
                    .collect();
                v.push(ctx.replace('\n', "⏎"));
            }
        }
    }
    println!(
        "proofreading, {label} ({n_pairs} built-in pairs): {:.1} MB/s; {found} suggestions in {} published articles ({:.2} per article)",
        bytes as f64 / 1e6 / (us.max(1) as f64 / 1e6),
        texts.len(),
        found as f64 / texts.len() as f64
    );
    for (rule, n) in &by_rule {
        println!(
            "  {rule}: {n}, e.g. {}",
            samples.get(rule).map(|v| v.join(" | ")).unwrap_or_default()
        );
    }
    let (mut errors, mut flagged, mut right, mut corrected) = (0usize, 0usize, 0usize, 0usize);
    let (mut clean, mut clean_flagged, mut sentences) = (0usize, 0usize, 0usize);
    for line in sighan.lines() {
        let Some((wrong, good)) = line.split_once('\t') else {
            continue;
        };
        let (w, g): (Vec<char>, Vec<char>) = (wrong.chars().collect(), good.chars().collect());
        if w.len() != g.len() {
            continue;
        }
        sentences += 1;
        let bad: Vec<usize> = (0..w.len()).filter(|&i| w[i] != g[i]).collect();
        errors += bad.len();
        let s = p.check(wrong, true);
        if bad.is_empty() {
            clean += 1;
            clean_flagged += usize::from(!s.is_empty());
        }
        for x in &s {
            let (a, b) = (x.start as usize, x.end as usize);
            flagged += b - a;
            right += (a..b).filter(|i| bad.contains(i)).count();
            if let Some(r) = &x.replacement
                && r.chars().count() == b - a
                && r.chars().zip(&g[a..b]).all(|(x, y)| x == *y)
                && (a..b).any(|i| bad.contains(&i))
            {
                corrected += (a..b).filter(|i| bad.contains(i)).count();
            }
        }
    }
    let pct = |a: usize, b: usize| {
        if b == 0 {
            0.0
        } else {
            100.0 * a as f64 / b as f64
        }
    };
    println!(
        "SIGHAN-2015 ({sentences} sentences, {errors} wrong characters): detection precision {:.1}% ({right}/{flagged} flagged characters), recall {:.1}%; correction recall {:.1}% ({corrected}); {clean_flagged} of {clean} correct sentences got a suggestion",
        pct(right, flagged),
        pct(right, errors),
        pct(corrected, errors),
    );
    Ok(())
}
