//! Articles: create, edit with optimistic concurrency, versions, diff, restore, listing. Articles of
//! outlets the actor cannot read do not exist for them (`article_not_found`).

use crate::domain::article::{Article, ArticleStatus, DiffLine, Normalized, diff};
use crate::domain::fact::Fact;
use crate::domain::lifecycle::{self, Action};
use crate::domain::user::Permission;
use crate::domain::{ArticleId, AssetId, OutletId};
use crate::error::{Error, Resource, Result};
use crate::store::Reader;
use crate::store::access::{self, Access, ArticleFilter, ArticleSort};

use super::{Actor, Writer};

/// Fetch an article the actor may read: members of its outlet, and reviewers of another outlet
/// that its review chain routes to (cross-outlet levels).
pub fn get(a: &impl Access, actor: &Actor, id: ArticleId) -> Result<Article> {
    match access::article(a, id)? {
        Some(x) if actor.can(x.outlet, Permission::ArticleRead) => Ok(x),
        Some(x) if super::review::routed_to(a, actor, &x)? => Ok(x),
        _ => Err(Error::NotFound(Resource::Article)),
    }
}

pub(crate) fn may_edit(actor: &Actor, a: &Article) -> bool {
    actor.can(a.outlet, Permission::ArticleEditAny)
        || (actor.can(a.outlet, Permission::ArticleEditOwn)
            && (a.created_by == actor.id() || a.authors.contains(&actor.id())))
}

/// Referenced assets must exist in the same outlet.
fn check_assets(
    a: &impl Access,
    outlet: OutletId,
    refs: impl IntoIterator<Item = AssetId>,
) -> Result<()> {
    for id in refs {
        match access::asset(a, id)? {
            Some(x) if x.outlet == outlet => {}
            _ => {
                return Err(Error::invalid(
                    "body",
                    format!("asset {id} does not exist in this outlet"),
                ));
            }
        }
    }
    Ok(())
}

/// Where an imported article came from.
#[derive(Debug, Clone, Default)]
pub struct Source {
    pub id: String,
    pub date: Option<crate::clock::Millis>,
}

pub fn create(
    w: &mut Writer<'_>,
    actor: &Actor,
    outlet: OutletId,
    fields: &Normalized,
    source: Option<&Source>,
) -> Result<Article> {
    if access::outlet(w.tx(), outlet)?.is_none() || !actor.can(outlet, Permission::ArticleRead) {
        return Err(Error::NotFound(Resource::Outlet));
    }
    if !actor.can(outlet, Permission::ArticleCreate) {
        return Err(Error::Forbidden);
    }
    let f = fields.fields().clone();
    let now = w.now();
    let mut a = Article {
        id: ArticleId(0),
        outlet,
        revision: 1,
        status: ArticleStatus::Draft,
        title: f.title,
        subtitle: f.subtitle,
        summary: f.summary,
        body: f.body,
        byline: f.byline,
        authors: vec![actor.id()],
        category: f.category,
        tags: f.tags,
        cover: f.cover,
        source_id: source.map(|s| s.id.clone()),
        source_date: source.and_then(|s| s.date),
        created_by: actor.id(),
        created_at: now,
        updated_by: actor.id(),
        updated_at: now,
        restored_from: None,
        published_revision: None,
        published_at: None,
        retraction: None,
    };
    check_assets(w.tx(), outlet, a.asset_refs())?;
    a.id = ArticleId(w.next_id("article")?);
    w.emit(
        Some(actor.id()),
        Fact::ArticleCreated { article: a.clone() },
    )?;
    super::screening::record(w, actor, &a)?;
    Ok(a)
}

fn editable(w: &Writer<'_>, actor: &Actor, id: ArticleId, base_revision: u32) -> Result<Article> {
    let cur = get(w.tx(), actor, id)?;
    lifecycle::check(&cur, Action::Edit)?;
    if cur.status.in_review() {
        // Only the reviewers of the current level edit an article in review.
        if !super::review::acts_now(w.tx(), actor, &cur)?
            || !actor.can(cur.outlet, Permission::ArticleEditAny)
        {
            return Err(Error::InvalidTransition(
                "the article is in review: only its current reviewers may edit it (withdraw it to edit)"
                    .into(),
            ));
        }
    } else if !may_edit(actor, &cur) {
        return Err(Error::Forbidden);
    }
    super::same_revision(base_revision, cur.revision)?;
    Ok(cur)
}

/// Save an edit made on `base_revision`; a newer revision in the store is a conflict.
pub fn update(
    w: &mut Writer<'_>,
    actor: &Actor,
    id: ArticleId,
    base_revision: u32,
    fields: &Normalized,
) -> Result<Article> {
    let cur = editable(w, actor, id, base_revision)?;
    let cur_in_review = cur.status.in_review();
    let f = fields.fields().clone();
    let mut a = Article {
        revision: cur.revision + 1,
        title: f.title,
        subtitle: f.subtitle,
        summary: f.summary,
        body: f.body,
        byline: f.byline,
        category: f.category,
        tags: f.tags,
        cover: f.cover,
        updated_by: actor.id(),
        updated_at: w.now(),
        restored_from: None,
        ..cur
    };
    // Reviewers editing in review do not become authors (they could not approve it then).
    if !cur_in_review && !a.authors.contains(&actor.id()) {
        a.authors.push(actor.id());
    }
    check_assets(w.tx(), a.outlet, a.asset_refs())?;
    w.emit(
        Some(actor.id()),
        Fact::ArticleUpdated { article: a.clone() },
    )?;
    super::screening::record(w, actor, &a)?;
    Ok(a)
}

/// Save an old version's content as the newest revision.
pub fn restore(
    w: &mut Writer<'_>,
    actor: &Actor,
    id: ArticleId,
    revision: u32,
    base_revision: u32,
) -> Result<Article> {
    let cur = editable(w, actor, id, base_revision)?;
    let old = access::version(w.tx(), id, revision)?.ok_or(Error::NotFound(Resource::Version))?;
    let a = Article {
        revision: cur.revision + 1,
        updated_by: actor.id(),
        updated_at: w.now(),
        restored_from: Some(revision),
        authors: cur.authors.clone(),
        status: cur.status,
        source_id: cur.source_id.clone(),
        published_revision: cur.published_revision,
        published_at: cur.published_at,
        retraction: cur.retraction.clone(),
        ..old
    };
    check_assets(w.tx(), a.outlet, a.asset_refs())?;
    w.emit(
        Some(actor.id()),
        Fact::ArticleRestored { article: a.clone() },
    )?;
    super::screening::record(w, actor, &a)?;
    Ok(a)
}

pub fn versions(r: &Reader, actor: &Actor, id: ArticleId) -> Result<Vec<Article>> {
    get(&r.0, actor, id)?;
    r.versions(id)
}

pub fn version(r: &Reader, actor: &Actor, id: ArticleId, rev: u32) -> Result<Article> {
    get(&r.0, actor, id)?;
    access::version(&r.0, id, rev)?.ok_or(Error::NotFound(Resource::Version))
}

pub fn diff_versions(
    r: &Reader,
    actor: &Actor,
    id: ArticleId,
    from: u32,
    to: u32,
) -> Result<Vec<DiffLine>> {
    let a = version(r, actor, id, from)?;
    let b = version(r, actor, id, to)?;
    Ok(diff(&a, &b))
}

/// A page of readable articles. The outlet restriction is part of the filter, not applied after.
pub fn list(
    r: &Reader,
    actor: &Actor,
    mut f: ArticleFilter,
    sort: ArticleSort,
    after: Option<(i64, u64)>,
    limit: usize,
) -> Result<Vec<Article>> {
    f.outlets = actor.restrict(Permission::ArticleRead, f.outlets.take());
    r.list_articles(&f, sort, after, limit)
}
