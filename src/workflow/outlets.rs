//! Outlets: create (with the default review chain), rename, list. Instance administrators
//! manage outlets.

use crate::domain::OutletId;
use crate::domain::fact::Fact;
use crate::domain::outlet::{Outlet, OutletKind, validate_name, validate_slug};
use crate::error::{Error, Resource, Result};
use crate::store::{Reader, access};

use super::{Actor, Writer};

pub fn create(
    w: &mut Writer<'_>,
    actor: &Actor,
    slug: &str,
    name: &str,
    kind: OutletKind,
) -> Result<Outlet> {
    actor.require_instance_admin()?;
    validate_slug(slug)?;
    let name = validate_name(name)?;
    if access::outlet_by_slug(w.tx(), slug)?.is_some() {
        return Err(Error::AlreadyExists(Resource::Outlet));
    }
    let now = w.now();
    let outlet = Outlet {
        id: OutletId(w.next_id("outlet")?),
        slug: slug.into(),
        name,
        kind,
        created_at: now,
        updated_at: now,
    };
    w.emit(
        Some(actor.id()),
        Fact::OutletCreated {
            outlet: outlet.clone(),
        },
    )?;
    super::chains::create_default(w, Some(actor), outlet.id)?;
    Ok(outlet)
}

pub fn update(
    w: &mut Writer<'_>,
    actor: &Actor,
    id: OutletId,
    name: Option<&str>,
    kind: Option<OutletKind>,
) -> Result<Outlet> {
    let mut o = get_visible(w.tx(), actor, id)?;
    actor.require_instance_admin()?;
    if let Some(n) = name {
        o.name = validate_name(n)?;
    }
    if let Some(k) = kind {
        o.kind = k;
    }
    o.updated_at = w.now();
    w.emit(Some(actor.id()), Fact::OutletUpdated { outlet: o.clone() })?;
    Ok(o)
}

/// An outlet the actor belongs to (or any, for instance admins); others are "not found".
pub fn get_visible(a: &impl access::Access, actor: &Actor, id: OutletId) -> Result<Outlet> {
    match access::outlet(a, id)? {
        Some(o) if actor.sees_outlet(id) => Ok(o),
        _ => Err(Error::NotFound(Resource::Outlet)),
    }
}

/// Outlets the actor belongs to (all for instance admins).
pub fn list(r: &Reader, actor: &Actor) -> Result<Vec<Outlet>> {
    Ok(r.outlets()?
        .into_iter()
        .filter(|o| actor.sees_outlet(o.id))
        .collect())
}

/// Resolve an outlet given as id or slug.
pub fn resolve(a: &impl access::Access, key: &str) -> Result<Outlet> {
    let found = match key.parse::<u64>() {
        Ok(id) => access::outlet(a, OutletId(id))?,
        Err(_) => access::outlet_by_slug(a, key)?,
    };
    found.ok_or(Error::NotFound(Resource::Outlet))
}
