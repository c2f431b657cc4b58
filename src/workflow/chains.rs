//! Review chains: every outlet gets the default 三审 chain when it is created; chief editors and
//! admins add chain types and save new versions. A save never touches reviews under way: they
//! keep the version they started with.

use crate::domain::fact::Fact;
use crate::domain::review::{Chain, Level};
use crate::domain::user::Permission;
use crate::domain::{ChainId, OutletId};
use crate::error::{Error, Resource, Result};
use crate::store::Reader;
use crate::store::access::{self, Access};

use super::{Actor, Writer};

/// What a client sends to create a chain type or save a new version of one.
#[derive(Debug, Clone)]
pub struct ChainInput {
    pub name: String,
    pub levels: Vec<Level>,
    pub is_default: bool,
    pub enabled: bool,
}

/// Emit the default chain for a new outlet (no permission check: part of creating the outlet).
pub fn create_default(
    w: &mut Writer<'_>,
    actor: Option<&Actor>,
    outlet: OutletId,
) -> Result<Chain> {
    let id = ChainId(w.next_id("chain")?);
    let mut c = Chain::default_for(id, outlet, w.now());
    c.updated_by = actor.map(Actor::id);
    w.emit(actor.map(Actor::id), Fact::ChainSaved { chain: c.clone() })?;
    Ok(c)
}

/// Outlets that have no review chain (data written before chains existed).
pub fn outlets_without_chain(a: &impl Access) -> Result<Vec<OutletId>> {
    let mut out = Vec::new();
    for bytes in a.all_values(crate::store::tables::OUTLETS)? {
        let o: crate::domain::outlet::Outlet = crate::store::codec::decode(&bytes)?;
        if a.chain_ids(o.id)?.is_empty() {
            out.push(o.id);
        }
    }
    Ok(out)
}

/// Give every outlet without a chain the default one.
pub fn ensure_defaults(w: &mut Writer<'_>) -> Result<usize> {
    let missing = outlets_without_chain(w.tx())?;
    for &o in &missing {
        create_default(w, None, o)?;
    }
    Ok(missing.len())
}

fn manageable(a: &impl access::Access, actor: &Actor, outlet: OutletId) -> Result<()> {
    if access::outlet(a, outlet)?.is_none() || !actor.sees_outlet(outlet) {
        return Err(Error::NotFound(Resource::Outlet));
    }
    if !actor.can(outlet, Permission::ChainManage) {
        return Err(Error::Forbidden);
    }
    Ok(())
}

/// Levels may route to other outlets of this instance; they must exist.
fn check_sites(a: &impl access::Access, c: &Chain) -> Result<()> {
    for l in &c.levels {
        match l.site.outlet() {
            Some(o) if access::outlet(a, o)?.is_none() => {
                return Err(Error::invalid(
                    "levels",
                    format!("level {}: outlet {o} does not exist", l.name),
                ));
            }
            Some(_) => {}
            None => {
                if access::instance(a)?.is_none_or(|m| m.role != "county") {
                    return Err(Error::invalid(
                        "levels",
                        format!(
                            "level {}: only a county center (joined to a provincial hub) has a provincial level",
                            l.name
                        ),
                    ));
                }
            }
        }
        for u in &l.users {
            if access::user(a, *u)?.is_none() {
                return Err(Error::invalid(
                    "levels",
                    format!("level {}: user {u} does not exist", l.name),
                ));
            }
        }
    }
    Ok(())
}

/// Only one default chain per outlet: making one default clears the flag on the others.
fn clear_other_defaults(w: &mut Writer<'_>, actor: &Actor, keep: &Chain) -> Result<()> {
    let others: Vec<Chain> = access::chains_of(w.tx(), keep.outlet)?
        .into_iter()
        .filter(|c| c.id != keep.id && c.is_default)
        .collect();
    for mut c in others {
        c.is_default = false;
        c.version += 1;
        c.updated_by = Some(actor.id());
        c.updated_at = w.now();
        w.emit(Some(actor.id()), Fact::ChainSaved { chain: c })?;
    }
    Ok(())
}

pub fn create(
    w: &mut Writer<'_>,
    actor: &Actor,
    outlet: OutletId,
    slug: &str,
    input: &ChainInput,
) -> Result<Chain> {
    manageable(w.tx(), actor, outlet)?;
    if access::chain_by_slug(w.tx(), outlet, slug)?.is_some() {
        return Err(Error::AlreadyExists(Resource::Chain));
    }
    let mut c = Chain {
        id: ChainId(0),
        outlet,
        slug: slug.to_string(),
        name: input.name.trim().to_string(),
        version: 1,
        levels: input.levels.clone(),
        is_default: input.is_default,
        enabled: input.enabled || input.is_default,
        updated_by: Some(actor.id()),
        updated_at: w.now(),
    };
    c.validate()?;
    check_sites(w.tx(), &c)?;
    c.id = ChainId(w.next_id("chain")?);
    if c.is_default {
        clear_other_defaults(w, actor, &c)?;
    }
    w.emit(Some(actor.id()), Fact::ChainSaved { chain: c.clone() })?;
    Ok(c)
}

/// Save a new version of a chain; `base_version` must be the newest (optimistic concurrency).
pub fn update(
    w: &mut Writer<'_>,
    actor: &Actor,
    id: ChainId,
    base_version: u32,
    input: &ChainInput,
) -> Result<Chain> {
    let cur = access::chain(w.tx(), id)?.ok_or(Error::NotFound(Resource::Chain))?;
    manageable(w.tx(), actor, cur.outlet).map_err(|e| match e {
        Error::NotFound(_) => Error::NotFound(Resource::Chain),
        e => e,
    })?;
    super::same_revision(base_version, cur.version)?;
    if cur.is_default && !input.is_default {
        return Err(Error::invalid(
            "is_default",
            "make another chain the default instead",
        ));
    }
    let c = Chain {
        name: input.name.trim().to_string(),
        version: cur.version + 1,
        levels: input.levels.clone(),
        is_default: input.is_default,
        enabled: input.enabled || input.is_default,
        updated_by: Some(actor.id()),
        updated_at: w.now(),
        ..cur
    };
    c.validate()?;
    check_sites(w.tx(), &c)?;
    if c.is_default {
        clear_other_defaults(w, actor, &c)?;
    }
    w.emit(Some(actor.id()), Fact::ChainSaved { chain: c.clone() })?;
    Ok(c)
}

/// Chains of an outlet: visible to its members (reporters choose one when submitting).
pub fn list(r: &Reader, actor: &Actor, outlet: OutletId) -> Result<Vec<Chain>> {
    if access::outlet(&r.0, outlet)?.is_none() || !actor.sees_outlet(outlet) {
        return Err(Error::NotFound(Resource::Outlet));
    }
    access::chains_of(&r.0, outlet)
}

pub fn get(r: &Reader, actor: &Actor, id: ChainId) -> Result<Chain> {
    match access::chain(&r.0, id)? {
        Some(c) if actor.sees_outlet(c.outlet) => Ok(c),
        _ => Err(Error::NotFound(Resource::Chain)),
    }
}

pub fn history(r: &Reader, actor: &Actor, id: ChainId) -> Result<Vec<Chain>> {
    get(r, actor, id)?;
    r.chain_history(id)
}
