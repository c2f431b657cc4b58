//! API tokens for machine clients: created with scopes and an optional expiry, shown once, stored
//! as SHA-256, revocable.

use crate::clock::Millis;
use crate::domain::TokenId;
use crate::domain::credentials::{ApiToken, Scope, format_api_token, random_token, sha256_hex};
use crate::domain::fact::Fact;
use crate::error::{Error, Resource, Result};
use crate::store::{Reader, access};

use super::{Actor, Writer};

/// Create a token for the actor's own account; returns it with the full secret (shown once).
pub fn create(
    w: &mut Writer<'_>,
    actor: &Actor,
    name: &str,
    scopes: &[Scope],
    expires_at: Option<Millis>,
) -> Result<(ApiToken, String)> {
    if actor.scopes.is_some() {
        return Err(Error::Forbidden); // tokens cannot mint tokens
    }
    let name = crate::domain::outlet::validate_name(name)?;
    if scopes.is_empty() {
        return Err(Error::invalid(
            "scopes",
            "name at least one of read, write, admin",
        ));
    }
    if scopes.contains(&Scope::Admin) && !actor.is_instance_admin() {
        return Err(Error::Forbidden);
    }
    if expires_at.is_some_and(|e| e <= w.now()) {
        return Err(Error::invalid("expires_at", "must be in the future"));
    }
    let secret = random_token();
    let token = ApiToken {
        id: TokenId(w.next_id("token")?),
        user: actor.id(),
        name,
        scopes: scopes.to_vec(),
        secret_sha256: sha256_hex(&secret),
        created_at: w.now(),
        expires_at,
        revoked_at: None,
    };
    let full = format_api_token(token.id, &secret);
    w.emit(
        Some(actor.id()),
        Fact::TokenCreated {
            token: token.clone(),
        },
    )?;
    Ok((token, full))
}

fn visible(actor: &Actor, t: &ApiToken) -> bool {
    t.user == actor.id() || actor.is_instance_admin()
}

pub fn revoke(w: &mut Writer<'_>, actor: &Actor, id: TokenId) -> Result<()> {
    match access::token(w.tx(), id)? {
        Some(t) if visible(actor, &t) => {
            if t.revoked_at.is_none() {
                let at = w.now();
                w.emit(Some(actor.id()), Fact::TokenRevoked { id, at })?;
            }
            Ok(())
        }
        _ => Err(Error::NotFound(Resource::Token)),
    }
}

pub fn list(r: &Reader, actor: &Actor) -> Result<Vec<ApiToken>> {
    Ok(r.tokens()?
        .into_iter()
        .filter(|t| visible(actor, t))
        .collect())
}
