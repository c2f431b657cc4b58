//! Login sessions and authentication of requests (cookie sessions and API tokens). Password checks
//! (argon2) run on the blocking pool under a semaphore, never on the writer thread.

use crate::clock::Millis;
use crate::domain::credentials::{
    Session, parse_api_token, random_token, secrets_equal, sha256_hex, verify_password,
};
use crate::domain::user::User;
use crate::error::{Error, Result};
use crate::store::access;

use super::{Actor, Core};

/// A session just created: the cookie value and the CSRF token, each shown once.
pub struct NewSession {
    pub cookie: String,
    pub csrf: String,
    pub user: User,
    pub expires_at: Millis,
}

static DUMMY_HASH: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
    crate::domain::credentials::hash_password("rongmei-no-such-user").unwrap_or_default()
});

pub fn session_key(cookie: &str) -> Vec<u8> {
    use sha2::Digest;
    sha2::Sha256::digest(cookie.as_bytes()).to_vec()
}

async fn verify_off_thread(core: &Core, phc: Option<String>, password: String) -> Result<bool> {
    let _permit = core
        .hashing
        .acquire()
        .await
        .map_err(|_| Error::ShuttingDown)?;
    // Hash even for unknown users so timing does not reveal which usernames exist.
    let phc = phc.unwrap_or_else(|| DUMMY_HASH.clone());
    tokio::task::spawn_blocking(move || verify_password(&phc, &password))
        .await
        .map_err(|e| Error::Internal(e.to_string()))
}

/// Check the password (rate-limited per account and address) and open a session.
pub async fn login(
    core: &Core,
    username: &str,
    password: &str,
    address: &str,
) -> Result<NewSession> {
    let now = core.clock.now();
    core.throttle.check(username, address, now)?;
    let (user, phc) = {
        let r = core.reader()?;
        let u = access::user_by_name(&r.0, username)?;
        let p = match &u {
            Some(u) => access::password(&r.0, u.id)?,
            None => None,
        };
        (u, p)
    };
    let ok = verify_off_thread(core, phc, password.to_string()).await?;
    let user = match user {
        Some(u) if ok && !u.disabled => u,
        _ => {
            core.throttle.failed(username, address, core.clock.now());
            return Err(Error::InvalidCredentials);
        }
    };
    core.throttle.succeeded(username);
    open_session(core, user).await
}

pub async fn open_session(core: &Core, user: User) -> Result<NewSession> {
    let ttl = i64::from(core.config.auth.session_ttl_hours) * 3_600_000;
    let cookie = random_token();
    let csrf = random_token();
    let key = session_key(&cookie);
    let (uid, generation, c2) = (user.id, user.session_generation, csrf.clone());
    let expires_at = core
        .committer
        .write(move |w| {
            let s = Session {
                user: uid,
                csrf: c2.clone(),
                created_at: w.now(),
                expires_at: w.now() + ttl,
                generation,
            };
            w.put_session(&key, &s)?;
            Ok(s.expires_at)
        })
        .await?;
    Ok(NewSession {
        cookie,
        csrf,
        user,
        expires_at,
    })
}

pub async fn logout(core: &Core, cookie: &str) -> Result<()> {
    let key = session_key(cookie);
    core.committer.write(move |w| w.delete_session(&key)).await
}

/// Who a session cookie belongs to, with its CSRF token. Errors: expired, revoked or unknown.
pub fn authenticate_session(core: &Core, cookie: &str) -> Result<(Actor, Session)> {
    let r = core.reader()?;
    let s = access::session(&r.0, &session_key(cookie))?.ok_or(Error::Unauthenticated)?;
    if s.expires_at <= core.clock.now() {
        return Err(Error::SessionExpired);
    }
    let user = access::user(&r.0, s.user)?.ok_or(Error::Unauthenticated)?;
    if user.disabled || user.session_generation != s.generation {
        return Err(Error::SessionExpired);
    }
    Ok((Actor { user, scopes: None }, s))
}

pub fn csrf_ok(s: &Session, presented: Option<&str>) -> bool {
    presented.is_some_and(|p| secrets_equal(p, &s.csrf))
}

/// Who an API token (`rmt_<id>_<secret>`) belongs to.
pub fn authenticate_token(core: &Core, presented: &str) -> Result<Actor> {
    let (id, secret) = parse_api_token(presented).ok_or(Error::Unauthenticated)?;
    let r = core.reader()?;
    let t = access::token(&r.0, id)?.ok_or(Error::Unauthenticated)?;
    if !secrets_equal(&sha256_hex(secret), &t.secret_sha256) || !t.usable(core.clock.now()) {
        return Err(Error::Unauthenticated);
    }
    let user = access::user(&r.0, t.user)?.ok_or(Error::Unauthenticated)?;
    if user.disabled {
        return Err(Error::Unauthenticated);
    }
    Ok(Actor {
        user,
        scopes: Some(t.scopes),
    })
}

/// Change one's own password after checking the old one; other sessions end, this one continues.
pub async fn change_password(
    core: &Core,
    actor: &Actor,
    session_cookie: Option<&str>,
    old: &str,
    new: &str,
) -> Result<()> {
    crate::domain::user::validate_password(new)?;
    let phc = access::password(&core.reader()?.0, actor.id())?;
    if !verify_off_thread(core, phc, old.to_string()).await? {
        return Err(Error::InvalidCredentials);
    }
    let new_phc = hash_off_thread(core, new.to_string()).await?;
    let uid = actor.id();
    let key = session_cookie.map(session_key);
    core.committer
        .write(move |w| {
            let generation = super::users::set_password(w, Some(uid), uid, &new_phc)?;
            if let Some(k) = &key
                && let Some(mut s) = access::session(w.tx(), k)?
            {
                s.generation = generation;
                w.put_session(k, &s)?;
            }
            Ok(())
        })
        .await
}

pub async fn hash_off_thread(core: &Core, password: String) -> Result<String> {
    let _permit = core
        .hashing
        .acquire()
        .await
        .map_err(|_| Error::ShuttingDown)?;
    tokio::task::spawn_blocking(move || crate::domain::credentials::hash_password(&password))
        .await
        .map_err(|e| Error::Internal(e.to_string()))?
}
