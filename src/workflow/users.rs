//! Accounts: create, update, roles per outlet, passwords, "log out everywhere".

use std::collections::BTreeMap;

use crate::domain::fact::Fact;
use crate::domain::user::{Permission, Role, User, validate_username};
use crate::domain::{OutletId, UserId};
use crate::error::{Error, Resource, Result};
use crate::store::{Reader, access};

use super::{Actor, Writer};

pub const INITIAL_ADMIN: &str = "admin";

pub fn create_initial_admin(w: &mut Writer<'_>, phc: &str) -> Result<User> {
    let now = w.now();
    let user = User {
        id: UserId(w.next_id("user")?),
        username: INITIAL_ADMIN.into(),
        display_name: "管理员".into(),
        instance_admin: true,
        roles: BTreeMap::new(),
        disabled: false,
        session_generation: 0,
        created_at: now,
        updated_at: now,
    };
    w.emit(None, Fact::UserCreated { user: user.clone() })?;
    w.emit(
        None,
        Fact::PasswordSet {
            user: user.id,
            phc: phc.into(),
        },
    )?;
    Ok(user)
}

pub struct NewUser {
    pub username: String,
    pub display_name: String,
    pub instance_admin: bool,
    pub roles: BTreeMap<OutletId, Role>,
    /// argon2id hash of the initial password (hashed off the writer thread).
    pub phc: String,
}

fn check_roles(
    w: &Writer<'_>,
    actor: &Actor,
    old: &BTreeMap<OutletId, Role>,
    new: &BTreeMap<OutletId, Role>,
) -> Result<()> {
    for outlet in old.keys().chain(new.keys()) {
        if old.get(outlet) == new.get(outlet) {
            continue;
        }
        if !actor.can(*outlet, Permission::MembersManage) {
            return Err(Error::Forbidden);
        }
        if access::outlet(w.tx(), *outlet)?.is_none() {
            return Err(Error::NotFound(Resource::Outlet));
        }
    }
    Ok(())
}

pub fn create(w: &mut Writer<'_>, actor: &Actor, n: &NewUser) -> Result<User> {
    validate_username(&n.username)?;
    let display = crate::domain::outlet::validate_name(&n.display_name)?;
    if n.instance_admin || n.roles.is_empty() {
        actor.require_instance_admin()?;
    }
    check_roles(w, actor, &BTreeMap::new(), &n.roles)?;
    if access::user_by_name(w.tx(), &n.username)?.is_some() {
        return Err(Error::AlreadyExists(Resource::User));
    }
    let now = w.now();
    let user = User {
        id: UserId(w.next_id("user")?),
        username: n.username.clone(),
        display_name: display,
        instance_admin: n.instance_admin,
        roles: n.roles.clone(),
        disabled: false,
        session_generation: 0,
        created_at: now,
        updated_at: now,
    };
    w.emit(Some(actor.id()), Fact::UserCreated { user: user.clone() })?;
    w.emit(
        Some(actor.id()),
        Fact::PasswordSet {
            user: user.id,
            phc: n.phc.clone(),
        },
    )?;
    Ok(user)
}

#[derive(Debug, Default, Clone)]
pub struct UserPatch {
    pub display_name: Option<String>,
    pub disabled: Option<bool>,
    pub instance_admin: Option<bool>,
    pub roles: Option<BTreeMap<OutletId, Role>>,
}

pub fn update(w: &mut Writer<'_>, actor: &Actor, id: UserId, p: &UserPatch) -> Result<User> {
    let mut u = get_visible(w.tx(), actor, id)?;
    let admin_only = p.disabled.is_some()
        || p.instance_admin.is_some()
        || (p.display_name.is_some() && id != actor.id());
    if admin_only {
        actor.require_instance_admin()?;
    }
    if p.instance_admin == Some(false) && id == actor.id() {
        return Err(Error::invalid(
            "instance_admin",
            "you cannot remove your own administrator rights",
        ));
    }
    if let Some(n) = &p.display_name {
        u.display_name = crate::domain::outlet::validate_name(n)?;
    }
    if let Some(d) = p.disabled {
        u.disabled = d;
        if d {
            u.session_generation += 1;
        }
    }
    if let Some(a) = p.instance_admin {
        u.instance_admin = a;
    }
    if let Some(r) = &p.roles {
        check_roles(w, actor, &u.roles, r)?;
        u.roles = r.clone();
    }
    u.updated_at = w.now();
    w.emit(Some(actor.id()), Fact::UserUpdated { user: u.clone() })?;
    Ok(u)
}

/// Set a new password hash and end every other session of the user. Returns the new generation.
pub fn set_password(
    w: &mut Writer<'_>,
    actor: Option<UserId>,
    id: UserId,
    phc: &str,
) -> Result<u32> {
    let mut u = access::user(w.tx(), id)?.ok_or(Error::NotFound(Resource::User))?;
    u.session_generation += 1;
    u.updated_at = w.now();
    let generation = u.session_generation;
    w.emit(
        actor,
        Fact::PasswordSet {
            user: id,
            phc: phc.into(),
        },
    )?;
    w.emit(actor, Fact::UserUpdated { user: u })?;
    Ok(generation)
}

/// "Log out everywhere": sessions of older generations stop working.
pub fn revoke_sessions(w: &mut Writer<'_>, actor: &Actor, id: UserId) -> Result<()> {
    if id != actor.id() {
        actor.require_instance_admin()?;
    }
    let mut u = get_visible(w.tx(), actor, id)?;
    u.session_generation += 1;
    u.updated_at = w.now();
    w.emit(Some(actor.id()), Fact::UserUpdated { user: u })?;
    Ok(())
}

fn shares_outlet(a: &User, b: &User) -> bool {
    a.roles.keys().any(|o| b.roles.contains_key(o))
}

/// A user the actor may see: themselves, anyone for instance admins, colleagues of a shared outlet.
pub fn get_visible(a: &impl access::Access, actor: &Actor, id: UserId) -> Result<User> {
    match access::user(a, id)? {
        Some(u)
            if u.id == actor.id()
                || actor.is_instance_admin()
                || shares_outlet(&actor.user, &u) =>
        {
            Ok(u)
        }
        _ => Err(Error::NotFound(Resource::User)),
    }
}

pub fn list(r: &Reader, actor: &Actor) -> Result<Vec<User>> {
    let all = r.users()?;
    Ok(all
        .into_iter()
        .filter(|u| {
            u.id == actor.id() || actor.is_instance_admin() || shares_outlet(&actor.user, u)
        })
        .collect())
}
