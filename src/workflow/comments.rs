//! Comments on articles and topics: add (with @mentions and an optional text anchor), reply,
//! edit, resolve, delete, and read a thread. Whoever may read the article or topic may comment.

use crate::domain::comment::{self, Anchor, Comment, Subject};
use crate::domain::fact::Fact;
use crate::domain::user::User;
use crate::domain::{CommentId, UserId};
use crate::error::{Error, Resource, Result};
use crate::store::Reader;
use crate::store::access::{self, Access};

use super::{Actor, Writer};

/// Check the subject exists for the actor (`*_not_found` otherwise); returns whether the actor
/// moderates it (may resolve and delete others' comments).
pub fn moderates(a: &impl Access, actor: &Actor, on: Subject) -> Result<bool> {
    match on {
        Subject::Article(id) => {
            let art = super::articles::get(a, actor, id)?;
            Ok(super::articles::may_edit(actor, &art) || super::review::acts_now(a, actor, &art)?)
        }
        Subject::Topic(id) => {
            let t = super::topics::get(a, actor, id)?;
            Ok(super::topics::is_decider(actor, &t) || t.proposed_by == actor.id())
        }
    }
}

/// Could this user read the subject (so a mention reaches them)?
fn user_reads(a: &impl Access, u: &User, on: Subject) -> Result<bool> {
    if u.disabled {
        return Ok(false);
    }
    let actor = Actor {
        user: u.clone(),
        scopes: None,
    };
    Ok(match on {
        Subject::Article(id) => super::articles::get(a, &actor, id).is_ok(),
        Subject::Topic(id) => super::topics::get(a, &actor, id).is_ok(),
    })
}

fn mentions(a: &impl Access, body: &str, on: Subject) -> Result<Vec<UserId>> {
    let mut out = Vec::new();
    for name in comment::mentioned_usernames(body) {
        if let Some(u) = access::user_by_name(a, &name)?
            && user_reads(a, &u, on)?
            && !out.contains(&u.id)
        {
            out.push(u.id);
        }
    }
    Ok(out)
}

pub fn add(
    w: &mut Writer<'_>,
    actor: &Actor,
    on: Subject,
    body: &str,
    anchor: Option<Anchor>,
    reply_to: Option<CommentId>,
) -> Result<Comment> {
    moderates(w.tx(), actor, on)?;
    if !actor.writes() {
        return Err(Error::Forbidden);
    }
    let body = comment::validate_body(body)?;
    if let Some(a) = &anchor {
        if !matches!(on, Subject::Article(_)) {
            return Err(Error::invalid(
                "anchor",
                "only article comments are anchored",
            ));
        }
        comment::validate_anchor(a)?;
    }
    if let Some(p) = reply_to {
        match access::comment(w.tx(), p)? {
            Some(parent) if parent.on == on => {}
            _ => return Err(Error::invalid("reply_to", "no such comment in this thread")),
        }
    }
    let c = Comment {
        id: CommentId(w.next_id("comment")?),
        on,
        author: actor.id(),
        mentions: mentions(w.tx(), &body, on)?,
        body,
        anchor,
        reply_to,
        created_at: w.now(),
        edited_at: None,
        resolved_by: None,
        resolved_at: None,
        deleted: false,
    };
    w.emit(Some(actor.id()), Fact::CommentAdded { comment: c.clone() })?;
    Ok(c)
}

/// What to do to an existing comment.
#[derive(Debug, Clone)]
pub enum Change {
    Edit(String),
    Resolve(bool),
    Delete,
}

pub fn change(w: &mut Writer<'_>, actor: &Actor, id: CommentId, ch: Change) -> Result<Comment> {
    let cur = access::comment(w.tx(), id)?.ok_or(Error::NotFound(Resource::Comment))?;
    let moderator =
        moderates(w.tx(), actor, cur.on).map_err(|_| Error::NotFound(Resource::Comment))?;
    if !actor.writes() {
        return Err(Error::Forbidden);
    }
    if cur.deleted {
        return Err(Error::InvalidTransition("the comment was deleted".into()));
    }
    let own = cur.author == actor.id();
    let mut c = cur.clone();
    match ch {
        Change::Edit(body) => {
            if !own {
                return Err(Error::Forbidden);
            }
            c.body = comment::validate_body(&body)?;
            // Mentions are notified once, when the comment is written.
            c.edited_at = Some(w.now());
        }
        Change::Resolve(done) => {
            if !own && !moderator {
                return Err(Error::Forbidden);
            }
            if done == c.resolved_by.is_some() {
                return Ok(cur);
            }
            c.resolved_by = done.then(|| actor.id());
            c.resolved_at = done.then(|| w.now());
        }
        Change::Delete => {
            if !own && !moderator {
                return Err(Error::Forbidden);
            }
            c.body.clear();
            c.mentions.clear();
            c.deleted = true;
        }
    }
    w.emit(
        Some(actor.id()),
        Fact::CommentUpdated { comment: c.clone() },
    )?;
    Ok(c)
}

/// The thread of an article or topic, oldest first.
pub fn thread(r: &Reader, actor: &Actor, on: Subject) -> Result<(Vec<Comment>, bool)> {
    let moderator = moderates(&r.0, actor, on)?;
    Ok((r.thread(on)?, moderator && actor.writes()))
}

/// Users who could be @mentioned on a subject (for the editor's autocomplete).
pub fn mentionable(r: &Reader, actor: &Actor, on: Subject) -> Result<Vec<User>> {
    moderates(&r.0, actor, on)?;
    let mut out = Vec::new();
    for u in r.users()? {
        if user_reads(&r.0, &u, on)? {
            out.push(u);
        }
    }
    Ok(out)
}
