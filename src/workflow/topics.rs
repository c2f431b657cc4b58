//! Topic planning (选题) use cases: propose, edit, assign, move on the board, merge duplicates,
//! link articles, start writing. A topic is visible to readers of any of its outlets; its
//! deciders are those with `TopicDecide` in its home outlet (the first one).

use crate::clock::Millis;
use crate::domain::article::{Article, ArticleFields};
use crate::domain::fact::Fact;
use crate::domain::topic::{self, Assignment, Move, Topic, TopicState, Who};
use crate::domain::user::Permission;
use crate::domain::{ArticleId, AssetId, OutletId, TopicId};
use crate::error::{Error, Resource, Result};
use crate::store::access::{self, Access};

use super::{Actor, Writer, comment, same_revision};

/// The editable fields of a topic.
#[derive(Debug, Clone, Default)]
pub struct TopicInput {
    pub outlets: Vec<OutletId>,
    pub title: String,
    pub angle: String,
    pub channels: Vec<String>,
    pub deadline: Option<Millis>,
    pub publish_at: Option<Millis>,
    pub attachments: Vec<AssetId>,
    pub assignments: Vec<Assignment>,
}

pub fn readable(actor: &Actor, t: &Topic) -> bool {
    t.outlets
        .iter()
        .any(|o| actor.can(*o, Permission::ArticleRead))
}

pub fn is_decider(actor: &Actor, t: &Topic) -> bool {
    actor.writes() && actor.can(t.home(), Permission::TopicDecide)
}

/// A topic the actor may read (others do not exist for them).
pub fn get(a: &impl Access, actor: &Actor, id: TopicId) -> Result<Topic> {
    match access::topic(a, id)? {
        Some(t) if readable(actor, &t) => Ok(t),
        _ => Err(Error::NotFound(Resource::Topic)),
    }
}

/// May the actor make this move on the topic now?
pub fn may_move(actor: &Actor, t: &Topic, m: Move) -> bool {
    let Ok((_, who, _)) = topic::row(m, t.state) else {
        return false;
    };
    if !actor.writes() {
        return false;
    }
    is_decider(actor, t)
        || match who {
            Who::Deciders => false,
            Who::DecidersOrAssignees => t.is_assigned(actor.id()),
            Who::DecidersOrProposer => t.proposed_by == actor.id(),
        }
}

/// The moves the actor may make now (for the board's drag targets and buttons).
pub fn moves_for(actor: &Actor, t: &Topic) -> Vec<Move> {
    [
        Move::Approve,
        Move::Reject,
        Move::Start,
        Move::Complete,
        Move::Cancel,
        Move::Reopen,
    ]
    .into_iter()
    .filter(|m| may_move(actor, t, *m))
    .collect()
}

/// May the actor edit the topic's fields (not its assignments)?
pub fn may_edit(actor: &Actor, t: &Topic) -> bool {
    actor.writes()
        && t.state.is_open()
        && (is_decider(actor, t)
            || (t.proposed_by == actor.id() && t.state == TopicState::Proposed))
}

fn check_refs(w: &Writer<'_>, actor: &Actor, t: &Topic) -> Result<()> {
    for o in &t.outlets {
        if access::outlet(w.tx(), *o)?.is_none() || !actor.can(*o, Permission::ArticleRead) {
            return Err(Error::invalid(
                "outlets",
                format!("outlet {o} does not exist or is not yours"),
            ));
        }
    }
    for id in &t.attachments {
        match access::asset(w.tx(), *id)? {
            Some(x) if t.outlets.contains(&x.outlet) => {}
            _ => {
                return Err(Error::invalid(
                    "attachments",
                    format!("asset {id} does not exist in the topic's outlets"),
                ));
            }
        }
    }
    for a in &t.assignments {
        match access::user(w.tx(), a.user)? {
            Some(u) if !u.disabled && t.outlets.iter().any(|o| u.roles.contains_key(o)) => {}
            _ => {
                return Err(Error::invalid(
                    "assignments",
                    format!(
                        "user {} is not an active member of the topic's outlets",
                        a.user
                    ),
                ));
            }
        }
    }
    Ok(())
}

fn apply_input(t: &mut Topic, i: TopicInput) {
    t.outlets = i.outlets;
    t.title = i.title.trim().to_string();
    t.angle = i.angle.trim().to_string();
    t.channels = i
        .channels
        .into_iter()
        .map(|c| c.trim().to_string())
        .collect();
    t.deadline = i.deadline;
    t.publish_at = i.publish_at;
    t.attachments = i.attachments;
    t.assignments = i.assignments;
}

fn touch(t: &mut Topic, actor: &Actor, now: Millis) {
    t.updated_by = actor.id();
    t.updated_at = now;
    t.revision += 1;
}

/// Propose a topic. Only deciders may assign people while proposing.
pub fn propose(w: &mut Writer<'_>, actor: &Actor, i: TopicInput) -> Result<Topic> {
    let home = *i
        .outlets
        .first()
        .ok_or_else(|| Error::invalid("outlets", "name at least one outlet"))?;
    if access::outlet(w.tx(), home)?.is_none() || !actor.can(home, Permission::ArticleRead) {
        return Err(Error::NotFound(Resource::Outlet));
    }
    if !actor.writes() || !actor.can(home, Permission::TopicPropose) {
        return Err(Error::Forbidden);
    }
    let now = w.now();
    let mut t = Topic {
        id: TopicId(0),
        outlets: vec![],
        title: String::new(),
        angle: String::new(),
        channels: vec![],
        deadline: None,
        publish_at: None,
        attachments: vec![],
        state: TopicState::Proposed,
        assignments: vec![],
        articles: vec![],
        merged_into: None,
        merged_from: vec![],
        reason: String::new(),
        proposed_by: actor.id(),
        proposed_at: now,
        updated_by: actor.id(),
        updated_at: now,
        revision: 1,
    };
    apply_input(&mut t, i);
    topic::validate(&t)?;
    if !t.assignments.is_empty() && !is_decider(actor, &t) {
        return Err(Error::Forbidden);
    }
    check_refs(w, actor, &t)?;
    t.id = TopicId(w.next_id("topic")?);
    w.emit(Some(actor.id()), Fact::TopicProposed { topic: t.clone() })?;
    Ok(t)
}

/// Edit a topic's fields and assignments (assignments: deciders only).
pub fn update(
    w: &mut Writer<'_>,
    actor: &Actor,
    id: TopicId,
    revision: u32,
    i: TopicInput,
) -> Result<Topic> {
    let cur = get(w.tx(), actor, id)?;
    if !cur.state.is_open() {
        return Err(Error::InvalidTransition(format!(
            "a topic that is {} cannot be edited",
            cur.state.as_str()
        )));
    }
    if !may_edit(actor, &cur) {
        return Err(Error::Forbidden);
    }
    same_revision(revision, cur.revision)?;
    let mut t = cur.clone();
    apply_input(&mut t, i);
    topic::validate(&t)?;
    if t.assignments != cur.assignments && !is_decider(actor, &cur) {
        return Err(Error::Forbidden);
    }
    if t.outlets[0] != cur.outlets[0] && !actor.can(t.outlets[0], Permission::TopicDecide) {
        return Err(Error::invalid(
            "outlets",
            "you may only move a topic's home to an outlet where you decide topics",
        ));
    }
    check_refs(w, actor, &t)?;
    touch(&mut t, actor, w.now());
    w.emit(Some(actor.id()), Fact::TopicUpdated { topic: t.clone() })?;
    Ok(t)
}

/// Move a topic on the board (approve, reject, start, complete, cancel, reopen).
pub fn move_to(
    w: &mut Writer<'_>,
    actor: &Actor,
    id: TopicId,
    revision: u32,
    m: Move,
    text: &str,
) -> Result<Topic> {
    let cur = get(w.tx(), actor, id)?;
    let (to, _, reason_required) = topic::row(m, cur.state)?;
    if !may_move(actor, &cur, m) {
        return Err(Error::Forbidden);
    }
    same_revision(revision, cur.revision)?;
    let text = comment(text, reason_required)?;
    let mut t = cur.clone();
    t.state = to;
    if matches!(to, TopicState::Rejected | TopicState::Cancelled) {
        t.reason = text.clone();
    }
    touch(&mut t, actor, w.now());
    w.emit(
        Some(actor.id()),
        Fact::TopicMoved {
            topic: t.clone(),
            from: cur.state,
            comment: text,
        },
    )?;
    Ok(t)
}

/// Merge a duplicate into another topic: its people, articles, outlets and attachments move
/// over; it becomes `merged`. Deciders of both topics only.
pub fn merge(
    w: &mut Writer<'_>,
    actor: &Actor,
    id: TopicId,
    revision: u32,
    into: TopicId,
    text: &str,
) -> Result<Topic> {
    let src = get(w.tx(), actor, id)?;
    if id == into {
        return Err(Error::invalid(
            "into",
            "a topic cannot be merged into itself",
        ));
    }
    let dst = get(w.tx(), actor, into).map_err(|_| Error::invalid("into", "no such topic"))?;
    if !src.state.is_open() {
        return Err(Error::InvalidTransition(format!(
            "a topic that is {} cannot be merged",
            src.state.as_str()
        )));
    }
    if !dst.state.is_open() {
        return Err(Error::InvalidTransition(format!(
            "cannot merge into a topic that is {}",
            dst.state.as_str()
        )));
    }
    if !is_decider(actor, &src) || !is_decider(actor, &dst) {
        return Err(Error::Forbidden);
    }
    same_revision(revision, src.revision)?;
    let text = comment(text, false)?;
    let now = w.now();
    let mut target = dst.clone();
    for o in &src.outlets {
        if !target.outlets.contains(o) && target.outlets.len() < topic::MAX_OUTLETS {
            target.outlets.push(*o);
        }
    }
    for a in &src.assignments {
        let dup = target
            .assignments
            .iter()
            .any(|b| b.user == a.user && b.duty == a.duty);
        if !dup && target.assignments.len() < topic::MAX_ASSIGNMENTS {
            target.assignments.push(a.clone());
        }
    }
    for x in &src.attachments {
        if !target.attachments.contains(x) {
            target.attachments.push(*x);
        }
    }
    target.articles.extend(src.articles.iter().copied());
    target.merged_from.push(src.id);
    touch(&mut target, actor, now);
    let mut source = src;
    source.state = TopicState::Merged;
    source.merged_into = Some(target.id);
    source.articles.clear();
    touch(&mut source, actor, now);
    w.emit(
        Some(actor.id()),
        Fact::TopicMerged {
            source,
            target: target.clone(),
            comment: text,
        },
    )?;
    Ok(target)
}

/// Link an article to a topic (or unlink it). The article must be in one of the topic's
/// outlets and editable by the actor, unless the actor decides the topic.
pub fn link(
    w: &mut Writer<'_>,
    actor: &Actor,
    id: TopicId,
    article: ArticleId,
    linked: bool,
) -> Result<Topic> {
    let cur = get(w.tx(), actor, id)?;
    if !cur.state.is_open() && cur.state != TopicState::Done {
        return Err(Error::InvalidTransition(format!(
            "a topic that is {} takes no articles",
            cur.state.as_str()
        )));
    }
    let art = super::articles::get(w.tx(), actor, article)?;
    let allowed = is_decider(actor, &cur)
        || (actor.writes()
            && (cur.is_assigned(actor.id()) || cur.proposed_by == actor.id())
            && super::articles::may_edit(actor, &art));
    if !allowed {
        return Err(Error::Forbidden);
    }
    let mut t = cur.clone();
    if linked {
        if !t.outlets.contains(&art.outlet) {
            return Err(Error::invalid(
                "article",
                "the article is not in one of the topic's outlets",
            ));
        }
        match access::topic_of(w.tx(), article)? {
            Some(other) if other == id => return Ok(cur),
            Some(other) => {
                return Err(Error::InvalidTransition(format!(
                    "the article already belongs to topic {other}"
                )));
            }
            None => t.articles.push(article),
        }
    } else {
        if !t.articles.contains(&article) {
            return Ok(cur);
        }
        t.articles.retain(|a| *a != article);
    }
    touch(&mut t, actor, w.now());
    w.emit(Some(actor.id()), Fact::TopicUpdated { topic: t.clone() })?;
    Ok(t)
}

/// Start writing: a new draft in the topic's home outlet (or `outlet`), titled after the topic
/// and linked to it. For people assigned to the topic and its deciders.
pub fn write(
    w: &mut Writer<'_>,
    actor: &Actor,
    id: TopicId,
    outlet: Option<OutletId>,
) -> Result<Article> {
    let cur = get(w.tx(), actor, id)?;
    if !matches!(cur.state, TopicState::Approved | TopicState::InProgress) {
        return Err(Error::InvalidTransition(
            "write articles for approved topics".into(),
        ));
    }
    if !(is_decider(actor, &cur) || (actor.writes() && cur.is_assigned(actor.id()))) {
        return Err(Error::Forbidden);
    }
    let outlet = outlet.unwrap_or(cur.home());
    if !cur.outlets.contains(&outlet) {
        return Err(Error::invalid("outlet", "not one of the topic's outlets"));
    }
    let fields = ArticleFields {
        title: cur.title.clone(),
        summary: cur.angle.chars().take(300).collect(),
        ..ArticleFields::default()
    }
    .normalized()?;
    let art = super::articles::create(w, actor, outlet, &fields, None)?;
    link(w, actor, id, art.id, true)?;
    Ok(art)
}
