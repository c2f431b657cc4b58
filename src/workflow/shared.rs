//! The provincial shared content pool (共享稿库) as use cases, on both sides.
//!
//! At the hub, its administrators share a county's published article (or one a county offered,
//! shared as it arrives) with every other enrolled county; the hub counts each county's
//! adoption as a reprint. At a county, whoever may publish offers a published article up, and
//! whoever may write in an outlet adopts a pool item as a new draft there: the text comes
//! over (media stay at their origin), the byline names the origin, and the draft links back to
//! the pool item (`source_id` = `shared:<id>`).

use crate::domain::ArticleId;
use crate::domain::OutletId;
use crate::domain::article::{Article, ArticleFields, ArticleStatus};
use crate::domain::fact::Fact;
use crate::domain::html;
use crate::domain::peer::Peer;
use crate::domain::shared::{self, Adoption, PoolItem, SharedItem, Withdrawal};
use crate::domain::user::Permission;
use crate::error::{Error, Resource, Result};
use crate::store::access::Access;
use crate::store::federation;

use super::articles::Source;
use super::{Actor, Writer, comment, hub_admin, require_role};

fn publisher(actor: &Actor) -> Result<()> {
    if actor.writes() && actor.speaks_for_the_center() {
        Ok(())
    } else {
        Err(Error::Forbidden)
    }
}

fn active_counties_but(a: &impl Access, origin: &str) -> Result<Vec<Peer>> {
    Ok(federation::peers(a)?
        .into_iter()
        .filter(|p| p.role == "county" && p.revoked.is_none() && p.id != origin)
        .collect())
}

fn item_of(id: u64, origin: &Peer, a: &Article, note: String, at: i64, by: String) -> SharedItem {
    SharedItem {
        id,
        origin: origin.id.clone(),
        origin_name: origin.name.clone(),
        source_article: a.id.0,
        title: a.title.clone(),
        subtitle: a.subtitle.clone(),
        summary: a.summary.clone(),
        // A county's HTML is not trusted at the hub: the allowlist again.
        body: html::sanitize(&a.body),
        byline: a.byline.clone(),
        category: a.category.clone(),
        tags: a.tags.clone(),
        cover: a.cover.map(|c| c.0),
        note,
        shared_at: at,
        shared_by: by,
        withdrawn: None,
        media: Vec::new(),
    }
}

/// Who hears of a pool item (every enrolled, unrevoked county but its origin), and the number
/// of the message that tells them.
fn audience(w: &mut Writer<'_>, item: &SharedItem) -> Result<(Vec<String>, u64)> {
    let counties = active_counties_but(w.tx(), &item.origin)?
        .into_iter()
        .map(|p| p.id)
        .collect();
    Ok((counties, w.next_id("down")?))
}

fn emit_shared(w: &mut Writer<'_>, actor: Option<&Actor>, item: SharedItem) -> Result<SharedItem> {
    let (counties, seq) = audience(w, &item)?;
    w.emit(
        actor.map(Actor::id),
        Fact::ContentShared {
            item: item.clone(),
            counties,
            seq,
        },
    )?;
    Ok(item)
}

/// Share a county's published article (as the hub holds it) with the other counties.
pub fn share(
    w: &mut Writer<'_>,
    actor: &Actor,
    county: &str,
    article: u64,
    note: &str,
) -> Result<SharedItem> {
    hub_admin(w.tx(), actor)?;
    if !actor.writes() {
        return Err(Error::Forbidden);
    }
    let note = comment(note, false)?;
    let origin = federation::peer(w.tx(), county)?
        .filter(|p| p.role == "county")
        .ok_or(Error::NotFound(Resource::Peer))?;
    let held = federation::county_article(w.tx(), county, article)?
        .ok_or(Error::NotFound(Resource::Article))?;
    if held.article.status != ArticleStatus::Published {
        return Err(Error::invalid(
            "article",
            "only a published article can be shared",
        ));
    }
    let id = w.next_id("shared")?;
    let item = item_of(
        id,
        &origin,
        &held.article,
        note,
        w.now(),
        actor.user.display_name.clone(),
    );
    emit_shared(w, Some(actor), item)
}

/// At the hub, while applying a county's batch: share what it offered.
pub fn share_offered(
    w: &mut Writer<'_>,
    county: &Peer,
    article: &Article,
    note: &str,
    media: Vec<crate::domain::hub::CarriedMedia>,
) -> Result<SharedItem> {
    let id = w.next_id("shared")?;
    let mut item = item_of(
        id,
        county,
        article,
        note.to_string(),
        w.now(),
        county.name.clone(),
    );
    item.media = media;
    emit_shared(w, None, item)
}

fn emit_withdrawn(
    w: &mut Writer<'_>,
    actor: Option<&Actor>,
    item: &SharedItem,
    withdrawal: Withdrawal,
) -> Result<()> {
    let (counties, seq) = audience(w, item)?;
    w.emit(
        actor.map(Actor::id),
        Fact::SharedWithdrawn {
            item: item.id,
            withdrawal,
            counties,
            seq,
        },
    )?;
    Ok(())
}

/// Take a shared item back (hub administrators): counties can no longer adopt it; the authors
/// of drafts already adopted from it are told.
pub fn withdraw(w: &mut Writer<'_>, actor: &Actor, id: u64, reason: &str) -> Result<SharedItem> {
    hub_admin(w.tx(), actor)?;
    if !actor.writes() {
        return Err(Error::Forbidden);
    }
    let reason = comment(reason, true)?;
    let item = federation::shared_item(w.tx(), id)?.ok_or(Error::NotFound(Resource::Shared))?;
    if item.withdrawn.is_some() {
        return Err(Error::InvalidTransition("already withdrawn".into()));
    }
    let withdrawal = Withdrawal {
        at: w.now(),
        by: actor.user.display_name.clone(),
        reason,
    };
    emit_withdrawn(w, Some(actor), &item, withdrawal)?;
    federation::shared_item(w.tx(), id)?.ok_or(Error::NotFound(Resource::Shared))
}

/// At the hub, while applying a county's batch: the county retracted `article`, so whatever of
/// it is in the pool is withdrawn in the same transaction.
pub fn withdraw_retracted(w: &mut Writer<'_>, county: &Peer, article: &Article) -> Result<()> {
    let reason = match &article.retraction {
        Some(r) => format!("原稿已撤稿：{}", r.reason),
        None => "原稿已撤稿".to_string(),
    };
    for item in federation::shared_items(w.tx())?
        .into_iter()
        .filter(|i| i.origin == county.id && i.source_article == article.id.0)
        .filter(|i| i.withdrawn.is_none())
    {
        let withdrawal = Withdrawal {
            at: w.now(),
            by: county.name.clone(),
            reason: reason.clone(),
        };
        emit_withdrawn(w, None, &item, withdrawal)?;
    }
    Ok(())
}

/// A shared item at the hub with its adoptions: (county name, the draft it became there).
pub type Reprints = (SharedItem, Vec<(String, Adoption)>);

/// The pool as the hub sees it, newest first, with each item's adoptions.
pub fn shared_items(a: &impl Access, actor: &Actor) -> Result<Vec<Reprints>> {
    hub_admin(a, actor)?;
    let peers = federation::peers(a)?;
    let mut out = Vec::new();
    for item in federation::shared_items(a)?.into_iter().rev() {
        let mut rows = Vec::new();
        for p in &peers {
            if let Some(b) = a.bytes(
                crate::store::tables::SHARED_ADOPTIONS,
                (item.id, p.id.as_str()),
            )? {
                rows.push((p.name.clone(), crate::store::codec::decode(&b)?));
            }
        }
        out.push((item, rows));
    }
    Ok(out)
}

/// Offer one of this county's published articles to the hub's pool.
pub fn offer(w: &mut Writer<'_>, actor: &Actor, id: ArticleId, note: &str) -> Result<Article> {
    require_role(w.tx(), "county")?;
    let a = super::articles::get(w.tx(), actor, id)?;
    publisher(actor)?;
    if !actor.can(a.outlet, Permission::ArticlePublish) {
        return Err(Error::Forbidden);
    }
    if a.status != ArticleStatus::Published {
        return Err(Error::invalid(
            "article",
            "only a published article can be offered",
        ));
    }
    let note = comment(note, false)?;
    w.emit(
        Some(actor.id()),
        Fact::ArticleOffered {
            article: a.clone(),
            note,
            media: super::review::carried_media(w.tx(), &a)?,
        },
    )?;
    Ok(a)
}

/// This county's pool, newest first.
pub fn pool(a: &impl Access, _actor: &Actor) -> Result<Vec<PoolItem>> {
    require_role(a, "county")?;
    let mut v = federation::pool(a)?;
    v.sort_by_key(|p| std::cmp::Reverse(p.seq));
    Ok(v)
}

/// Adopt a pool item as a new draft in `outlet`.
pub fn adopt(
    w: &mut Writer<'_>,
    actor: &Actor,
    id: u64,
    outlet: OutletId,
    ready: &[super::pool_media::Ready],
) -> Result<Article> {
    require_role(w.tx(), "county")?;
    let p = federation::pool_item(w.tx(), id)?.ok_or(Error::NotFound(Resource::Shared))?;
    let it = &p.item;
    if let Some(x) = &it.withdrawn {
        return Err(Error::InvalidTransition(format!(
            "the province withdrew it: {}",
            x.reason
        )));
    }
    // Its own copies of the origin's media when they are all here; else the text alone.
    let (body, cover) = super::pool_media::copies(w, actor, outlet, it, ready)?;
    let fields = ArticleFields {
        title: it.title.clone(),
        subtitle: it.subtitle.clone(),
        summary: it.summary.clone(),
        body,
        byline: shared::attributed_byline(it),
        category: it.category.clone(),
        tags: it.tags.clone(),
        cover,
    }
    .normalized()?;
    let source = Source {
        id: format!("shared:{}", it.id),
        date: Some(it.shared_at),
    };
    let art = super::articles::create(w, actor, outlet, &fields, Some(&source))?;
    let adoption = Adoption {
        article: art.id.0,
        outlet: outlet.0,
        by: actor.user.display_name.clone(),
        at: w.now(),
    };
    w.emit(Some(actor.id()), Fact::SharedAdopted { item: id, adoption })?;
    Ok(art)
}
