//! Edit locks: who is editing an article right now. Advisory and short-lived (a heartbeat
//! keeps one alive; it expires `LOCK_TTL_MS` after the last one), so they live in memory and
//! are not logged; the revision check still guards every save. Taking over someone else's lock
//! needs `LockSteal` and IS logged (`EditLockTaken`), which also notifies the previous holder.

use std::collections::HashMap;
use std::sync::Mutex;

use crate::clock::{Millis, rfc3339};
use crate::domain::ArticleId;
use crate::domain::UserId;
use crate::domain::fact::Fact;
use crate::domain::user::Permission;
use crate::error::{Error, Result};
use crate::store::access::Access;

use super::{Actor, Writer};

/// A lock lives this long after its last heartbeat.
pub const LOCK_TTL_MS: Millis = 90_000;

#[derive(Debug, Clone, PartialEq)]
pub struct Lock {
    pub user: UserId,
    pub name: String,
    pub since: Millis,
    pub expires: Millis,
}

#[derive(Debug, Default)]
pub struct Locks {
    held: Mutex<HashMap<ArticleId, Lock>>,
}

fn locked(l: &Lock) -> Error {
    Error::ArticleLocked {
        holder: l.name.clone(),
        until: rfc3339(l.expires),
    }
}

/// May the actor edit the article's text now (author, editor, or current reviewer)?
fn may_write(
    a: &impl Access,
    actor: &Actor,
    id: ArticleId,
) -> Result<crate::domain::article::Article> {
    let art = super::articles::get(a, actor, id)?;
    if actor.writes()
        && (super::articles::may_edit(actor, &art) || super::review::acts_now(a, actor, &art)?)
    {
        Ok(art)
    } else {
        Err(Error::Forbidden)
    }
}

/// May the actor take over someone else's lock on this article?
pub fn may_take(actor: &Actor, art: &crate::domain::article::Article) -> bool {
    actor.writes() && actor.can(art.outlet, Permission::LockSteal)
}

impl Locks {
    fn map(&self) -> std::sync::MutexGuard<'_, HashMap<ArticleId, Lock>> {
        self.held.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The live lock on an article, if any.
    pub fn current(&self, id: ArticleId, now: Millis) -> Option<Lock> {
        let mut m = self.map();
        match m.get(&id) {
            Some(l) if l.expires > now => Some(l.clone()),
            Some(_) => {
                m.remove(&id);
                None
            }
            None => None,
        }
    }

    /// Take or renew the lock (a heartbeat); `article_locked` if someone else holds it.
    pub fn acquire(
        &self,
        a: &impl Access,
        actor: &Actor,
        id: ArticleId,
        now: Millis,
    ) -> Result<Lock> {
        may_write(a, actor, id)?;
        let mut m = self.map();
        if m.len() > 10_000 {
            m.retain(|_, l| l.expires > now);
        }
        let since = match m.get(&id) {
            Some(l) if l.expires > now && l.user != actor.id() => return Err(locked(l)),
            Some(l) if l.expires > now => l.since,
            _ => now,
        };
        let l = Lock {
            user: actor.id(),
            name: actor.user.display_name.clone(),
            since,
            expires: now + LOCK_TTL_MS,
        };
        m.insert(id, l.clone());
        Ok(l)
    }

    /// Give the lock up (only its holder can).
    pub fn release(&self, actor: &Actor, id: ArticleId) {
        let mut m = self.map();
        if m.get(&id).is_some_and(|l| l.user == actor.id()) {
            m.remove(&id);
        }
    }

    /// Refuse a save while someone else holds the lock.
    pub fn check_save(&self, actor: &Actor, id: ArticleId, now: Millis) -> Result<()> {
        match self.current(id, now) {
            Some(l) if l.user != actor.id() => Err(locked(&l)),
            _ => Ok(()),
        }
    }

    /// Take over another user's lock (a use case: logged, and the holder is notified). Returns
    /// whether the caller may now hold the lock; `install` it once the write has committed, so
    /// a write that fails leaves the lock where it was.
    pub fn take(
        &self,
        w: &mut Writer<'_>,
        actor: &Actor,
        id: ArticleId,
        reason: &str,
    ) -> Result<()> {
        let art = may_write(w.tx(), actor, id)?;
        let now = w.now();
        let Some(prev) = self.current(id, now).filter(|l| l.user != actor.id()) else {
            return Ok(()); // free, or already ours: nothing to take over
        };
        if !may_take(actor, &art) {
            return Err(locked(&prev));
        }
        let reason = super::comment(reason, true)?;
        w.emit(
            Some(actor.id()),
            Fact::EditLockTaken {
                article: id,
                from: prev.user,
                reason,
            },
        )?;
        Ok(())
    }

    /// Give the lock to the actor (after a committed `take`).
    pub fn install(&self, actor: &Actor, id: ArticleId, now: Millis) -> Lock {
        let l = Lock {
            user: actor.id(),
            name: actor.user.display_name.clone(),
            since: now,
            expires: now + LOCK_TTL_MS,
        };
        self.map().insert(id, l.clone());
        l
    }
}
