//! Word lists as use cases. Instance administrators create, edit, import and delete lists;
//! whoever holds `ScreenSettings` in an outlet (chief editors, outlet admins) switches lists off
//! or on for that outlet and may read the lists. Every change is one log entry and bumps the
//! lexicon generation, so matchers compiled from older lists are rebuilt.

use std::collections::BTreeMap;

use crate::domain::LexiconId;
use crate::domain::OutletId;
use crate::domain::fact::Fact;
use crate::domain::lexicon::{
    self, Entry, Format, ImportReport, Lexicon, LexiconKind, MAX_ENTRIES, Rejected,
};
use crate::domain::user::Permission;
use crate::error::{Error, Resource, Result};
use crate::screen::Severity;
use crate::store::access::{self, Access};
use crate::store::federation;

use super::{Actor, Writer, same_revision};

#[derive(Debug, Clone)]
pub struct LexiconInput {
    pub name: String,
    pub category: String,
    pub description: String,
    pub source: String,
    pub default_severity: Severity,
    pub enabled: bool,
    /// On a hub: pushed to every county (省级词库). `None` on update: unchanged.
    pub provincial: Option<bool>,
}

fn manager(actor: &Actor) -> Result<()> {
    if actor.user.instance_admin && actor.writes() {
        Ok(())
    } else {
        Err(Error::Forbidden)
    }
}

/// May the actor see the lists (admins, and whoever manages screening in some outlet)?
pub fn may_read(actor: &Actor) -> bool {
    actor.user.instance_admin
        || actor
            .outlets_with(Permission::ScreenSettings)
            .is_none_or(|o| !o.is_empty())
}

fn next_generation(w: &Writer<'_>) -> Result<u64> {
    Ok(access::counter(w.tx(), "lexicon_gen")? + 1)
}

fn text(field: &'static str, s: &str, max: usize) -> Result<String> {
    let t = s.trim();
    if t.chars().count() > max {
        return Err(Error::invalid(field, format!("at most {max} characters")));
    }
    Ok(t.to_string())
}

pub fn create(
    w: &mut Writer<'_>,
    actor: &Actor,
    kind: LexiconKind,
    i: &LexiconInput,
) -> Result<Lexicon> {
    manager(actor)?;
    check_provincial(w, i.provincial == Some(true))?;
    let now = w.now();
    let l = Lexicon {
        id: LexiconId(w.next_id("lexicon")?),
        name: lexicon::validate_name(&i.name)?,
        kind,
        category: lexicon::validate_category(&i.category)?,
        description: text("description", &i.description, 500)?,
        source: text("source", &i.source, 500)?,
        default_severity: i.default_severity,
        enabled: i.enabled,
        disabled_outlets: Vec::new(),
        entries: 0,
        revision: 1,
        generation: next_generation(w)?,
        provincial: i.provincial == Some(true),
        province_id: None,
        created_by: Some(actor.id()),
        created_at: now,
        updated_by: Some(actor.id()),
        updated_at: now,
    };
    w.emit(Some(actor.id()), Fact::LexiconSaved { lexicon: l.clone() })?;
    push(w, Some(actor), &l, false)?;
    Ok(l)
}

fn get_for_write(w: &Writer<'_>, id: LexiconId, base_revision: u32) -> Result<Lexicon> {
    let l = access::lexicon(w.tx(), id)?.ok_or(Error::NotFound(Resource::Lexicon))?;
    not_a_province_copy(&l)?;
    same_revision(base_revision, l.revision)?;
    Ok(l)
}

fn not_a_province_copy(l: &Lexicon) -> Result<()> {
    if l.province_id.is_some() {
        return Err(Error::InvalidTransition(
            "a provincial list is maintained by the province".into(),
        ));
    }
    Ok(())
}

/// Only a hub has provincial lists.
fn check_provincial(w: &Writer<'_>, provincial: bool) -> Result<()> {
    if provincial && access::instance(w.tx())?.is_none_or(|m| m.role != "hub") {
        return Err(Error::invalid(
            "provincial",
            "only a provincial hub pushes lists to counties",
        ));
    }
    Ok(())
}

/// At a hub: after a provincial list (or one that just stopped being provincial) changed, tell
/// the counties: each fetches the list as it then is.
fn push(w: &mut Writer<'_>, actor: Option<&Actor>, l: &Lexicon, was: bool) -> Result<()> {
    if !(l.provincial || was) {
        return Ok(());
    }
    let counties: Vec<String> = federation::peers(w.tx())?
        .into_iter()
        .filter(|p| p.role == "county" && p.revoked.is_none())
        .map(|p| p.id)
        .collect();
    push_to(w, actor, l.id, counties)
}

fn push_to(
    w: &mut Writer<'_>,
    actor: Option<&Actor>,
    id: LexiconId,
    counties: Vec<String>,
) -> Result<()> {
    if counties.is_empty() {
        return Ok(());
    }
    let seq = w.next_id("down")?;
    w.emit(
        actor.map(Actor::id),
        Fact::LexiconPushed {
            lexicon: id.0,
            counties,
            seq,
        },
    )?;
    Ok(())
}

/// At a hub: a county that just enrolled gets every provincial list.
pub fn push_all_to(w: &mut Writer<'_>, county: &str) -> Result<()> {
    for l in access::lexicons(w.tx())?
        .into_iter()
        .filter(|l| l.provincial)
    {
        push_to(w, None, l.id, vec![county.to_string()])?;
    }
    Ok(())
}

/// At a county: make its copy of a provincial list what the province sent (`None`: the
/// province removed it, or stopped pushing it). Applied by the inbox fetcher, no user.
pub fn apply_provincial(
    w: &mut Writer<'_>,
    province_id: u64,
    sent: Option<&Lexicon>,
    entries: &[Entry],
) -> Result<()> {
    let mine = access::lexicons(w.tx())?
        .into_iter()
        .find(|l| l.province_id == Some(province_id));
    let now = w.now();
    let Some(sent) = sent.filter(|l| l.provincial) else {
        if let Some(mut l) = mine {
            l.revision += 1;
            l.generation = next_generation(w)?;
            l.updated_at = now;
            w.emit(None, Fact::LexiconDeleted { lexicon: l })?;
        }
        return Ok(());
    };
    let mut l = match mine {
        Some(l) => l,
        None => Lexicon {
            id: LexiconId(w.next_id("lexicon")?),
            disabled_outlets: Vec::new(),
            entries: 0,
            revision: 0,
            created_by: None,
            created_at: now,
            ..sent.clone()
        },
    };
    l.name = sent.name.clone();
    l.kind = sent.kind;
    l.category = sent.category.clone();
    l.description = sent.description.clone();
    l.source = sent.source.clone();
    l.default_severity = sent.default_severity;
    l.enabled = sent.enabled;
    l.provincial = false;
    l.province_id = Some(province_id);
    l.revision += 1;
    l.generation = next_generation(w)?;
    l.updated_by = None;
    l.updated_at = now;
    let old = existing(w.tx(), l.id)?;
    let set: Vec<Entry> = entries
        .iter()
        .filter(|e| old.get(&e.text) != Some(*e))
        .cloned()
        .collect();
    let keep: std::collections::HashSet<&str> = entries.iter().map(|e| e.text.as_str()).collect();
    let removed: Vec<String> = old
        .keys()
        .filter(|t| !keep.contains(t.as_str()))
        .cloned()
        .collect();
    l.entries = entries.len() as u32;
    w.emit(None, Fact::LexiconSaved { lexicon: l.clone() })?;
    if !set.is_empty() || !removed.is_empty() {
        w.emit(
            None,
            Fact::LexiconEntriesChanged {
                lexicon: l,
                set,
                removed,
            },
        )?;
    }
    Ok(())
}

fn touched(w: &Writer<'_>, actor: &Actor, mut l: Lexicon) -> Result<Lexicon> {
    l.revision += 1;
    l.generation = next_generation(w)?;
    l.updated_by = Some(actor.id());
    l.updated_at = w.now();
    Ok(l)
}

pub fn update(
    w: &mut Writer<'_>,
    actor: &Actor,
    id: LexiconId,
    base_revision: u32,
    i: &LexiconInput,
) -> Result<Lexicon> {
    manager(actor)?;
    check_provincial(w, i.provincial == Some(true))?;
    let mut l = get_for_write(w, id, base_revision)?;
    let was = l.provincial;
    if let Some(p) = i.provincial {
        l.provincial = p;
    }
    l.name = lexicon::validate_name(&i.name)?;
    l.category = lexicon::validate_category(&i.category)?;
    l.description = text("description", &i.description, 500)?;
    l.source = text("source", &i.source, 500)?;
    l.default_severity = i.default_severity;
    l.enabled = i.enabled;
    let l = touched(w, actor, l)?;
    w.emit(Some(actor.id()), Fact::LexiconSaved { lexicon: l.clone() })?;
    push(w, Some(actor), &l, was)?;
    Ok(l)
}

/// Switch a list on or off for one outlet.
pub fn set_outlet(
    w: &mut Writer<'_>,
    actor: &Actor,
    id: LexiconId,
    outlet: OutletId,
    enabled: bool,
) -> Result<Lexicon> {
    if access::outlet(w.tx(), outlet)?.is_none() || !actor.sees_outlet(outlet) {
        return Err(Error::NotFound(Resource::Outlet));
    }
    if !actor.can(outlet, Permission::ScreenSettings) {
        return Err(Error::Forbidden);
    }
    let mut l = access::lexicon(w.tx(), id)?.ok_or(Error::NotFound(Resource::Lexicon))?;
    not_a_province_copy(&l)?;
    let was = !l.disabled_outlets.contains(&outlet);
    if was == enabled {
        return Ok(l);
    }
    if enabled {
        l.disabled_outlets.retain(|o| *o != outlet);
    } else {
        l.disabled_outlets.push(outlet);
        l.disabled_outlets.sort();
    }
    let l = touched(w, actor, l)?;
    w.emit(Some(actor.id()), Fact::LexiconSaved { lexicon: l.clone() })?;
    Ok(l)
}

pub fn delete(w: &mut Writer<'_>, actor: &Actor, id: LexiconId, base_revision: u32) -> Result<()> {
    manager(actor)?;
    let l = get_for_write(w, id, base_revision)?;
    let l = touched(w, actor, l)?;
    w.emit(
        Some(actor.id()),
        Fact::LexiconDeleted { lexicon: l.clone() },
    )?;
    push(w, Some(actor), &l, false)?;
    Ok(())
}

fn existing(a: &impl Access, id: LexiconId) -> Result<BTreeMap<String, Entry>> {
    Ok(access::lexicon_entries(a, id)?
        .into_iter()
        .map(|e| (e.text.clone(), e))
        .collect())
}

/// Write the planned changes as one fact (nothing when the plan is empty).
fn write_entries(
    w: &mut Writer<'_>,
    actor: &Actor,
    l: Lexicon,
    count_before: usize,
    set: Vec<Entry>,
    removed: Vec<String>,
    added: usize,
) -> Result<Lexicon> {
    if set.is_empty() && removed.is_empty() {
        return Ok(l);
    }
    let count = count_before + added - removed.len();
    if count > MAX_ENTRIES {
        return Err(Error::invalid(
            "entries",
            format!("a list holds at most {MAX_ENTRIES} entries ({count} after this change)"),
        ));
    }
    let mut l = touched(w, actor, l)?;
    l.entries = count as u32;
    w.emit(
        Some(actor.id()),
        Fact::LexiconEntriesChanged {
            lexicon: l.clone(),
            set,
            removed,
        },
    )?;
    push(w, Some(actor), &l, false)?;
    Ok(l)
}

/// Add or change single entries and remove others; an invalid entry is an error naming it.
pub fn edit_entries(
    w: &mut Writer<'_>,
    actor: &Actor,
    id: LexiconId,
    base_revision: u32,
    set: Vec<Entry>,
    remove: Vec<String>,
) -> Result<Lexicon> {
    manager(actor)?;
    let l = get_for_write(w, id, base_revision)?;
    let old = existing(w.tx(), id)?;
    let mut checked = Vec::new();
    let mut added = 0;
    for e in set {
        let shown = e.text.clone();
        let (e, _) = lexicon::check_entry(l.kind, e)
            .map_err(|r| Error::invalid("entries", format!("{shown}: {r}")))?;
        if old.get(&e.text) == Some(&e) {
            continue;
        }
        if !old.contains_key(&e.text) && !checked.iter().any(|c: &Entry| c.text == e.text) {
            added += 1;
        }
        checked.retain(|c: &Entry| c.text != e.text);
        checked.push(e);
    }
    let mut removed: Vec<String> = remove
        .into_iter()
        .map(|t| t.trim().to_string())
        .filter(|t| old.contains_key(t) && !checked.iter().any(|c| c.text == *t))
        .collect();
    removed.sort();
    removed.dedup();
    write_entries(w, actor, l, old.len(), checked, removed, added)
}

/// An import worked out against the stored list.
pub struct Plan {
    pub lexicon: Lexicon,
    /// Entries before the import.
    pub before: usize,
    pub report: ImportReport,
    pub set: Vec<Entry>,
    pub removed: Vec<String>,
}

/// Plan an import against the stored list (used for the dry run and by `import`).
pub fn plan(
    a: &impl Access,
    actor: &Actor,
    id: LexiconId,
    file: &str,
    format: Format,
    replace: bool,
) -> Result<Plan> {
    manager(actor)?;
    let l = access::lexicon(a, id)?.ok_or(Error::NotFound(Resource::Lexicon))?;
    let (lines, rejected) = lexicon::parse(file, format, l.kind, l.default_severity);
    if lines.len() > MAX_ENTRIES {
        return Err(Error::invalid(
            "file",
            format!(
                "{} entries; a list holds at most {MAX_ENTRIES}",
                lines.len()
            ),
        ));
    }
    let old = existing(a, id)?;
    let (report, set, removed) = lexicon::plan_import(l.kind, &old, lines, rejected, replace);
    Ok(Plan {
        lexicon: l,
        before: old.len(),
        report,
        set,
        removed,
    })
}

/// Import a txt or csv file into a list: one log entry, and a report of what happened.
pub fn import(
    w: &mut Writer<'_>,
    actor: &Actor,
    id: LexiconId,
    base_revision: u32,
    file: &str,
    format: Format,
    replace: bool,
) -> Result<(Lexicon, ImportReport)> {
    let p = plan(w.tx(), actor, id, file, format, replace)?;
    same_revision(base_revision, p.lexicon.revision)?;
    let added = p.report.added.len();
    let l = write_entries(w, actor, p.lexicon, p.before, p.set, p.removed, added)?;
    Ok((l, p.report))
}

pub fn list(a: &impl Access, actor: &Actor) -> Result<Vec<Lexicon>> {
    if !may_read(actor) {
        return Err(Error::Forbidden);
    }
    access::lexicons(a)
}

pub fn get(a: &impl Access, actor: &Actor, id: LexiconId) -> Result<Lexicon> {
    if !may_read(actor) {
        return Err(Error::Forbidden);
    }
    access::lexicon(a, id)?.ok_or(Error::NotFound(Resource::Lexicon))
}

/// A page of a list's entries in text order, optionally only those containing `q`.
pub fn entries(
    a: &impl Access,
    actor: &Actor,
    id: LexiconId,
    q: Option<&str>,
    after: Option<&str>,
    limit: usize,
) -> Result<(Vec<Entry>, Option<String>)> {
    get(a, actor, id)?;
    let all = access::lexicon_entries(a, id)?;
    let mut page: Vec<Entry> = all
        .into_iter()
        .filter(|e| after.is_none_or(|x| e.text.as_str() > x))
        .filter(|e| {
            q.is_none_or(|q| {
                e.text.contains(q) || e.replacement.as_deref().is_some_and(|r| r.contains(q))
            })
        })
        .take(limit + 1)
        .collect();
    let next = if page.len() > limit {
        page.truncate(limit);
        page.last().map(|e| e.text.clone())
    } else {
        None
    };
    Ok((page, next))
}

pub fn export(
    a: &impl Access,
    actor: &Actor,
    id: LexiconId,
    format: Format,
) -> Result<(Lexicon, String)> {
    let l = get(a, actor, id)?;
    let entries = access::lexicon_entries(a, id)?;
    Ok((l.clone(), lexicon::export(entries.iter(), format, l.kind)))
}

/// Built-in proofreading pairs (common misused words in Chinese news copy), offered as an
/// ordinary list on a new instance so editors can change them.
pub const BUILTIN_TYPOS: &str = include_str!("../screen/typos_zh.txt");

/// The built-in pairs as entries (checked like any import).
pub fn builtin_entries() -> Result<Vec<Entry>> {
    let (lines, rejected) = lexicon::parse(
        BUILTIN_TYPOS,
        Format::Txt,
        LexiconKind::Proof,
        Severity::Hint,
    );
    let (report, set, _) =
        lexicon::plan_import(LexiconKind::Proof, &BTreeMap::new(), lines, rejected, false);
    if let Some(Rejected { line, reason, .. }) = report.rejected.first() {
        return Err(Error::Internal(format!(
            "built-in list line {line}: {reason}"
        )));
    }
    Ok(set)
}

/// Create the built-in proofreading list on an instance that never had a list.
pub fn ensure_builtin(w: &mut Writer<'_>) -> Result<bool> {
    if access::counter(w.tx(), "lexicon")? > 0 {
        return Ok(false);
    }
    let now = w.now();
    let set = builtin_entries()?;
    let l = Lexicon {
        id: LexiconId(w.next_id("lexicon")?),
        name: "常见易错词".into(),
        kind: LexiconKind::Proof,
        category: "typo".into(),
        description: "rongmei 内置：新闻稿件中常见的错别字和成语误用".into(),
        source: "rongmei".into(),
        default_severity: Severity::Hint,
        enabled: true,
        disabled_outlets: Vec::new(),
        entries: set.len() as u32,
        revision: 1,
        generation: next_generation(w)?,
        provincial: false,
        province_id: None,
        created_by: None,
        created_at: now,
        updated_by: None,
        updated_at: now,
    };
    w.emit(
        None,
        Fact::LexiconEntriesChanged {
            lexicon: l,
            set,
            removed: Vec::new(),
        },
    )?;
    Ok(true)
}
