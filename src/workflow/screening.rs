//! Screening articles against the word lists: on every save (stored with the revision it
//! checked, as `ArticleScreened`), enforced on submit and publish (`block` needs an override by a
//! role allowed to override, with a reason) and on approval (`review` findings must be
//! acknowledged), and on demand for the editor (findings and proofreading suggestions for text
//! not saved yet).
//!
//! The lists applying to an outlet are compiled once per lexicon generation and shared
//! (`Screens`); a change of any list bumps the generation and the next use recompiles.

use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Mutex};

use crate::domain::article::Article;
use crate::domain::fact::Fact;
use crate::domain::html;
use crate::domain::lexicon::LexiconKind;
use crate::domain::screening::{Field, Finding, Ignored, Override, Screening, ignore_key};
use crate::domain::user::Permission;
use crate::domain::{ArticleId, LexiconId, OutletId};
use crate::error::{Error, Result};
use crate::screen::proof::{Proofreader, Rule, Suggestion};
use crate::screen::spell::Speller;
use crate::screen::{Folded, Matcher, Severity, Term};
use crate::store::access::{self, Access};

use super::{Actor, Writer, comment};

/// The lists of one set of lexicons, compiled.
pub struct Compiled {
    pub generation: u64,
    matcher: Matcher,
    /// The lexicon of each matcher term.
    term_lexicon: Vec<LexiconId>,
    proof: Proofreader,
    /// Does any screening term apply? (Nothing is stored when no list is in use.)
    pub screens: bool,
}

/// Compiled lists, by the set of lexicons that apply (outlets with the same lists share one).
#[derive(Default)]
pub struct Screens {
    cache: Mutex<HashMap<Vec<LexiconId>, Arc<Compiled>>>,
    /// Statistical spelling detection, once the dictionary it scores with is loaded.
    speller: Mutex<Option<Arc<Speller>>>,
}

fn compile(
    a: &impl Access,
    lists: &[LexiconId],
    generation: u64,
    speller: Option<Arc<Speller>>,
) -> Result<Compiled> {
    let mut terms = Vec::new();
    let mut term_lexicon = Vec::new();
    let mut allow = Vec::new();
    let mut pairs = Vec::new();
    for &id in lists {
        let Some(l) = access::lexicon(a, id)? else {
            continue;
        };
        for e in access::lexicon_entries(a, id)? {
            match l.kind {
                LexiconKind::Screen => {
                    terms.push(Term {
                        text: e.text,
                        category: l.category.clone(),
                        severity: e.severity,
                    });
                    term_lexicon.push(id);
                }
                LexiconKind::Allow => allow.push(e.text),
                LexiconKind::Proof => {
                    if let Some(r) = e.replacement {
                        pairs.push((e.text, r, l.category.clone()));
                    }
                }
            }
        }
    }
    Ok(Compiled {
        generation,
        screens: !terms.is_empty(),
        matcher: Matcher::new(terms, &allow)?,
        term_lexicon,
        proof: Proofreader::new(pairs)?.with_speller(speller),
    })
}

impl Screens {
    /// Use `speller` in proofreading from now on.
    pub fn set_speller(&self, speller: Arc<Speller>) -> Result<()> {
        *self
            .speller
            .lock()
            .map_err(|_| Error::Internal("screening cache poisoned".into()))? = Some(speller);
        self.cache
            .lock()
            .map_err(|_| Error::Internal("screening cache poisoned".into()))?
            .clear();
        Ok(())
    }

    /// The compiled lists for an outlet, as of the generation `a` sees.
    pub fn for_outlet(&self, a: &impl Access, outlet: OutletId) -> Result<Arc<Compiled>> {
        let generation = access::counter(a, "lexicon_gen")?;
        let lists: Vec<LexiconId> = access::lexicons(a)?
            .into_iter()
            .filter(|l| l.applies_to(outlet))
            .map(|l| l.id)
            .collect();
        let cached = self
            .cache
            .lock()
            .map_err(|_| Error::Internal("screening cache poisoned".into()))?
            .get(&lists)
            .filter(|c| c.generation == generation)
            .cloned();
        if let Some(c) = cached {
            return Ok(c);
        }
        // Compiling a large list takes ~100 ms: outside the lock, so other outlets' checks go
        // on; two callers may both compile once after a change, and the last one is kept.
        let speller = self
            .speller
            .lock()
            .map_err(|_| Error::Internal("screening cache poisoned".into()))?
            .clone();
        let c = Arc::new(compile(a, &lists, generation, speller)?);
        let mut cache = self
            .cache
            .lock()
            .map_err(|_| Error::Internal("screening cache poisoned".into()))?;
        cache.retain(|_, v| v.generation >= generation);
        cache.insert(lists, c.clone());
        Ok(c)
    }
}

/// Compile the lists of every outlet now (after a list changed), so that the next save does not
/// wait for it on the writer thread.
pub fn warm(r: &crate::store::Reader, screens: &Screens) -> Result<()> {
    for o in r.outlets()? {
        screens.for_outlet(&r.0, o.id)?;
    }
    Ok(())
}

/// The texts of an article that are screened: (field, index, text).
pub fn texts(
    title: &str,
    subtitle: &str,
    summary: &str,
    body: &str,
    tags: &[String],
) -> Vec<(Field, u32, String)> {
    let mut out = vec![
        (Field::Title, 0, title.to_string()),
        (Field::Subtitle, 0, subtitle.to_string()),
        (Field::Summary, 0, summary.to_string()),
        (Field::Body, 0, html::to_text(body)),
    ];
    for (i, alt) in html::alt_texts(body).into_iter().enumerate() {
        out.push((Field::Alt, i as u32, alt));
    }
    for (i, t) in tags.iter().enumerate() {
        out.push((Field::Tag, i as u32, t.clone()));
    }
    out.retain(|(_, _, t)| !t.is_empty());
    out
}

fn article_texts(a: &Article) -> Vec<(Field, u32, String)> {
    texts(&a.title, &a.subtitle, &a.summary, &a.body, &a.tags)
}

pub fn findings(c: &Compiled, texts: &[(Field, u32, String)]) -> Vec<Finding> {
    let mut buf = Folded::default();
    let mut out = Vec::new();
    for (field, index, text) in texts {
        for h in c.matcher.scan(text, &mut buf) {
            let t = &c.matcher.terms()[h.term];
            out.push(Finding {
                field: *field,
                index: *index,
                start: h.char_start as u32,
                end: h.char_end as u32,
                matched: h.matched,
                term: t.text.clone(),
                category: t.category.clone(),
                severity: t.severity,
                lexicon: c.term_lexicon[h.term],
            });
        }
    }
    out
}

/// Proofreading suggestions for each text, tagged with where they are.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct Placed {
    pub field: Field,
    pub index: u32,
    #[serde(flatten)]
    pub suggestion: Suggestion,
}

pub fn suggestions(c: &Compiled, texts: &[(Field, u32, String)]) -> Vec<Placed> {
    let mut out = Vec::new();
    for (field, index, text) in texts {
        // Tags are names, not prose: only the word list applies to them.
        let prose = !matches!(field, Field::Tag);
        for s in c.proof.check(text, prose) {
            out.push(Placed {
                field: *field,
                index: *index,
                suggestion: s,
            });
        }
    }
    out
}

fn screen(w: &Writer<'_>, art: &Article) -> Result<Option<Screening>> {
    let c = w.screens().for_outlet(w.tx(), art.outlet)?;
    if !c.screens {
        return Ok(None);
    }
    Ok(Some(Screening {
        article: art.id,
        revision: art.revision,
        generation: c.generation,
        at: w.now(),
        findings: findings(&c, &article_texts(art)),
    }))
}

/// Screen a revision just saved and store the result with it (nothing when no list applies).
pub fn record(w: &mut Writer<'_>, actor: &Actor, art: &Article) -> Result<Option<Screening>> {
    let s = screen(w, art)?;
    if let Some(s) = &s {
        w.emit(
            Some(actor.id()),
            Fact::ArticleScreened {
                screening: s.clone(),
            },
        )?;
    }
    Ok(s)
}

/// The screening of the article's current revision under the current lists: the stored one if
/// it is up to date, else a fresh check (stored).
fn current(w: &mut Writer<'_>, actor: &Actor, art: &Article) -> Result<Option<Screening>> {
    let generation = access::counter(w.tx(), "lexicon_gen")?;
    if let Some(s) = access::screening(w.tx(), art.id, art.revision)?
        && s.generation == generation
    {
        return Ok(Some(s));
    }
    record(w, actor, art)
}

/// What the person submitting, approving or publishing says about the findings.
#[derive(Debug, Clone, Default)]
pub struct Clearance {
    /// Override blocked terms with this reason (needs `ScreenOverride`).
    pub override_reason: Option<String>,
    /// The reviewer acknowledges the `review` findings.
    pub acknowledge: bool,
}

/// Blocked terms of an article that no override lets through.
pub fn unoverridden(a: &impl Access, id: ArticleId, s: &Screening) -> Result<Vec<String>> {
    let done: BTreeSet<String> = access::overrides(a, id)?
        .into_iter()
        .map(|o| o.term)
        .collect();
    Ok(s.terms(Severity::Block)
        .into_iter()
        .filter(|t| !done.contains(t))
        .collect())
}

/// Submit and publish: blocked terms stop the article unless overridden now (recorded).
pub fn clear_blocked(
    w: &mut Writer<'_>,
    actor: &Actor,
    art: &Article,
    c: &Clearance,
) -> Result<()> {
    let Some(s) = current(w, actor, art)? else {
        return Ok(());
    };
    let terms = unoverridden(w.tx(), art.id, &s)?;
    if terms.is_empty() {
        return Ok(());
    }
    let Some(reason) = &c.override_reason else {
        return Err(Error::ScreeningBlocked { terms });
    };
    if !actor.can(art.outlet, Permission::ScreenOverride) {
        return Err(Error::Forbidden);
    }
    let reason = comment(reason, true)?;
    w.emit(
        Some(actor.id()),
        Fact::ScreeningOverridden {
            article: art.id,
            revision: art.revision,
            terms,
            reason,
            by: actor.id(),
            at: w.now(),
        },
    )?;
    Ok(())
}

/// Approve: `review` findings must be acknowledged (recorded with the level).
pub fn clear_review(
    w: &mut Writer<'_>,
    actor: &Actor,
    art: &Article,
    level: u8,
    c: &Clearance,
) -> Result<()> {
    let Some(s) = current(w, actor, art)? else {
        return Ok(());
    };
    let terms = s.terms(Severity::Review);
    if terms.is_empty() {
        return Ok(());
    }
    if !c.acknowledge {
        return Err(Error::ScreeningUnacknowledged { terms });
    }
    w.emit(
        Some(actor.id()),
        Fact::ScreeningAcknowledged {
            article: art.id,
            revision: art.revision,
            level,
            terms,
        },
    )?;
    Ok(())
}

/// Everything the editor shows about an article's screening.
#[derive(Debug, Clone)]
pub struct Report {
    pub revision: u32,
    pub generation: u64,
    /// Was this revision's result stored (else it was computed for this request)?
    pub stored: bool,
    pub findings: Vec<Finding>,
    pub suggestions: Vec<Placed>,
    pub overrides: Vec<Override>,
    /// Blocked terms no override covers.
    pub blocked: Vec<String>,
    /// Suggestions ignored on this article (left out of `suggestions`).
    pub ignored: Vec<Ignored>,
}

/// Leave out the suggestions ignored on the article.
fn without_ignored(mut s: Vec<Placed>, ignored: &[Ignored]) -> Vec<Placed> {
    if !ignored.is_empty() {
        let keys: BTreeSet<String> = ignored.iter().map(Ignored::key).collect();
        s.retain(|p| !keys.contains(&ignore_key(p.suggestion.rule.as_str(), &p.suggestion.text)));
    }
    s
}

/// The screening report of an article the actor may read.
pub fn report(a: &impl Access, screens: &Screens, actor: &Actor, id: ArticleId) -> Result<Report> {
    let art = super::articles::get(a, actor, id)?;
    let c = screens.for_outlet(a, art.outlet)?;
    let texts = article_texts(&art);
    let stored = access::screening(a, id, art.revision)?.filter(|s| s.generation == c.generation);
    let findings = match &stored {
        Some(s) => s.findings.clone(),
        None => findings(&c, &texts),
    };
    let s = Screening {
        article: id,
        revision: art.revision,
        generation: c.generation,
        at: 0,
        findings,
    };
    let ignored = access::proof_ignores(a, id)?;
    Ok(Report {
        revision: art.revision,
        generation: c.generation,
        stored: stored.is_some(),
        blocked: unoverridden(a, id, &s)?,
        findings: s.findings,
        suggestions: without_ignored(suggestions(&c, &texts), &ignored),
        overrides: access::overrides(a, id)?,
        ignored,
    })
}

/// Check text being written (not saved yet) with the lists of an outlet the actor writes in;
/// `article`: the saved article it is a new version of (its ignored suggestions stay hidden).
pub fn check_draft(
    a: &impl Access,
    screens: &Screens,
    actor: &Actor,
    outlet: OutletId,
    article: Option<ArticleId>,
    texts: &[(Field, u32, String)],
) -> Result<DraftReport> {
    if access::outlet(a, outlet)?.is_none() || !actor.can(outlet, Permission::ArticleRead) {
        return Err(Error::NotFound(crate::error::Resource::Outlet));
    }
    let ignored = match article {
        Some(id) => {
            super::articles::get(a, actor, id)?;
            access::proof_ignores(a, id)?
        }
        None => Vec::new(),
    };
    let c = screens.for_outlet(a, outlet)?;
    Ok(DraftReport {
        findings: findings(&c, texts),
        suggestions: without_ignored(suggestions(&c, texts), &ignored),
        ignored,
    })
}

pub struct DraftReport {
    pub findings: Vec<Finding>,
    pub suggestions: Vec<Placed>,
    pub ignored: Vec<Ignored>,
}

/// Stop suggesting `rule` on `text` in an article (someone who may edit it). Ignoring twice is
/// one row.
pub fn ignore(
    w: &mut Writer<'_>,
    actor: &Actor,
    id: ArticleId,
    rule: Rule,
    text: &str,
) -> Result<Vec<Ignored>> {
    let art = editable_by(w, actor, id)?;
    let text = proof_text(text)?;
    let ig = Ignored {
        article: art.id,
        rule: rule.as_str().to_string(),
        text,
        by: actor.id(),
        at: w.now(),
    };
    let mut all = access::proof_ignores(w.tx(), id)?;
    if all.iter().all(|x| x.key() != ig.key()) {
        w.emit(
            Some(actor.id()),
            Fact::ProofIgnored {
                ignored: ig.clone(),
            },
        )?;
        all.push(ig);
        all.sort_by_key(Ignored::key);
    }
    Ok(all)
}

/// Suggest `rule` on `text` again.
pub fn unignore(
    w: &mut Writer<'_>,
    actor: &Actor,
    id: ArticleId,
    rule: Rule,
    text: &str,
) -> Result<Vec<Ignored>> {
    let art = editable_by(w, actor, id)?;
    let key = ignore_key(rule.as_str(), text);
    if access::proof_ignores(w.tx(), id)?
        .iter()
        .any(|x| x.key() == key)
    {
        w.emit(
            Some(actor.id()),
            Fact::ProofUnignored {
                article: art.id,
                rule: rule.as_str().to_string(),
                text: text.to_string(),
            },
        )?;
    }
    access::proof_ignores(w.tx(), id)
}

fn editable_by(w: &Writer<'_>, actor: &Actor, id: ArticleId) -> Result<Article> {
    let art = super::articles::get(w.tx(), actor, id)?;
    if !super::articles::may_edit(actor, &art) {
        return Err(Error::Forbidden);
    }
    Ok(art)
}

/// The text of an ignored suggestion: what a suggestion can span (1–200 characters).
fn proof_text(text: &str) -> Result<String> {
    let n = text.chars().count();
    if n == 0 || n > 200 || text.chars().any(char::is_control) {
        return Err(Error::invalid(
            "text",
            "1 to 200 characters, no control characters",
        ));
    }
    Ok(text.to_string())
}
