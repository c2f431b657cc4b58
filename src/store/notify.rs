//! Notifications as a projection of the log (tables `NOTICES`, `UNREAD`). `derive` runs before
//! the fact is applied (it compares with the state before: who is newly assigned), `store` after
//! the entry has its lsn. Both are pure functions of the log, so `check` and a replica rebuild
//! the same inboxes.

use std::collections::BTreeMap;

use redb::ReadableTable;

use super::Tx;
use super::access;
use super::codec::{decode, encode};
use super::tables::{NOTICES, UNREAD};
use crate::clock::Millis;
use crate::domain::UserId;
use crate::domain::comment::Subject;
use crate::domain::fact::Fact;
use crate::domain::instruction::Down;
use crate::domain::notice::{Notice, NoticeKind, NoticeOn, excerpt};
use crate::domain::topic::{Topic, TopicState};
use crate::error::Result;

/// Collects one notice per user, keeping the most specific kind.
struct Out {
    actor: Option<UserId>,
    at: Millis,
    by_user: BTreeMap<UserId, Notice>,
}

impl Out {
    fn add(&mut self, u: UserId, n: &Notice) {
        if Some(u) == self.actor {
            return;
        }
        match self.by_user.get(&u) {
            Some(old) if old.kind.rank() <= n.kind.rank() => {}
            _ => {
                let mut n = n.clone();
                n.at = self.at;
                self.by_user.insert(u, n);
            }
        }
    }
}

fn notice(
    kind: NoticeKind,
    actor: Option<UserId>,
    on: impl Into<NoticeOn>,
    title: &str,
    text: &str,
) -> Notice {
    Notice {
        kind,
        actor,
        at: 0,
        on: on.into(),
        title: excerpt(title),
        excerpt: excerpt(text),
        state: None,
        read: false,
    }
}

fn topic_people(t: &Topic) -> impl Iterator<Item = UserId> + '_ {
    std::iter::once(t.proposed_by).chain(t.assignees())
}

/// Who this fact notifies, and of what. Call before `apply`.
pub fn derive(
    txn: &Tx<'_>,
    at: Millis,
    actor: Option<UserId>,
    fact: &Fact,
) -> Result<Vec<(UserId, Notice)>> {
    let mut out = Out {
        actor,
        at,
        by_user: BTreeMap::new(),
    };
    match fact {
        Fact::ReviewReturned(s)
        | Fact::ReviewApproved(s)
        | Fact::ArticlePublished(s)
        | Fact::ArticleRetracted(s) => {
            let kind = match fact {
                Fact::ReviewReturned(_) => Some(NoticeKind::Returned),
                Fact::ReviewApproved(_)
                    if s.article.status == crate::domain::article::ArticleStatus::Approved =>
                {
                    Some(NoticeKind::Approved)
                }
                Fact::ArticlePublished(_) => Some(NoticeKind::Published),
                Fact::ArticleRetracted(_) => Some(NoticeKind::Retracted),
                _ => None,
            };
            if let Some(kind) = kind {
                let n = notice(
                    kind,
                    actor,
                    Subject::Article(s.article.id),
                    &s.article.title,
                    &s.comment,
                );
                for u in &s.article.authors {
                    out.add(*u, &n);
                }
            }
        }
        Fact::TopicProposed { topic } | Fact::TopicUpdated { topic } => {
            let before = access::topic(txn, topic.id)?;
            let n = notice(
                NoticeKind::Assigned,
                actor,
                Subject::Topic(topic.id),
                &topic.title,
                "",
            );
            for a in &topic.assignments {
                if !before.as_ref().is_some_and(|b| b.is_assigned(a.user)) {
                    out.add(a.user, &n);
                }
            }
        }
        Fact::TopicMoved { topic, comment, .. } => {
            let mut n = notice(
                NoticeKind::TopicMoved,
                actor,
                Subject::Topic(topic.id),
                &topic.title,
                comment,
            );
            n.state = Some(topic.state);
            for u in topic_people(topic) {
                out.add(u, &n);
            }
        }
        Fact::TopicMerged {
            source,
            target,
            comment,
        } => {
            let mut n = notice(
                NoticeKind::TopicMoved,
                actor,
                Subject::Topic(target.id),
                &source.title,
                comment,
            );
            n.state = Some(TopicState::Merged);
            for u in topic_people(source) {
                out.add(u, &n);
            }
        }
        Fact::CommentAdded { comment: c } => {
            let (title, owners) = match c.on {
                Subject::Article(a) => match access::article(txn, a)? {
                    Some(a) => (a.title, a.authors),
                    None => (String::new(), vec![]),
                },
                Subject::Topic(t) => match access::topic(txn, t)? {
                    Some(t) => (t.title.clone(), topic_people(&t).collect()),
                    None => (String::new(), vec![]),
                },
            };
            for u in &c.mentions {
                out.add(
                    *u,
                    &notice(NoticeKind::Mention, actor, c.on, &title, &c.body),
                );
            }
            if let Some(parent) = c
                .reply_to
                .map(|p| access::comment(txn, p))
                .transpose()?
                .flatten()
            {
                out.add(
                    parent.author,
                    &notice(NoticeKind::Reply, actor, c.on, &title, &c.body),
                );
            }
            let n = notice(NoticeKind::Comment, actor, c.on, &title, &c.body);
            for u in owners {
                out.add(u, &n);
            }
        }
        Fact::EditLockTaken {
            article,
            from,
            reason,
        } => {
            let title = access::article(txn, *article)?
                .map(|a| a.title)
                .unwrap_or_default();
            out.add(
                *from,
                &notice(
                    NoticeKind::LockTaken,
                    actor,
                    Subject::Article(*article),
                    &title,
                    reason,
                ),
            );
        }
        // Federation: what the province sends a county, and what reaches the province's staff.
        Fact::HubMessageReceived {
            message: Down::Instruction { instruction },
            ..
        } => {
            let n = notice(
                NoticeKind::Instruction,
                actor,
                NoticeOn::Instruction(instruction.id),
                &instruction.title,
                &instruction.brief,
            );
            for u in center_voices(txn)? {
                out.add(u, &n);
            }
        }
        Fact::HubMessageReceived {
            message: Down::InstructionChanged { id, cancelled, .. },
            ..
        } => {
            if let Some(it) = super::federation::inbox_item(txn, *id)? {
                let n = notice(
                    NoticeKind::InstructionChanged,
                    actor,
                    NoticeOn::Instruction(*id),
                    &it.instruction.title,
                    cancelled.as_ref().map_or("", |c| c.reason.as_str()),
                );
                for u in center_voices(txn)? {
                    out.add(u, &n);
                }
            }
        }
        Fact::HubMessageReceived {
            message: Down::SharedWithdrawn { item, withdrawal },
            ..
        } => {
            for adoption in super::federation::pool_item(txn, *item)?
                .map(|p| p.adoptions)
                .unwrap_or_default()
            {
                if let Some(a) = access::article(txn, crate::domain::ArticleId(adoption.article))? {
                    let n = notice(
                        NoticeKind::SharedWithdrawn,
                        actor,
                        Subject::Article(a.id),
                        &a.title,
                        &withdrawal.reason,
                    );
                    for u in a.authors.iter().chain(std::iter::once(&a.created_by)) {
                        out.add(*u, &n);
                    }
                }
            }
        }
        Fact::CountyEntry { county, fact, .. } => {
            if let Fact::ProvincialReviewRequested { request } = fact.as_ref() {
                let n = notice(
                    NoticeKind::ProvincialReview,
                    actor,
                    NoticeOn::ProvincialReview {
                        county: county.clone(),
                        article: request.article.id.0,
                    },
                    &request.article.title,
                    &super::federation::peer_name(txn, county)?,
                );
                for u in center_voices(txn)? {
                    out.add(u, &n);
                }
            }
        }
        Fact::CountyQuarantined { county, reason } => {
            let n = notice(
                NoticeKind::CountyQuarantined,
                actor,
                NoticeOn::County(county.clone()),
                &super::federation::peer_name(txn, county)?,
                reason,
            );
            for u in access::users(txn)?
                .iter()
                .filter(|u| u.instance_admin && !u.disabled)
            {
                out.add(u.id, &n);
            }
        }
        _ => {}
    }
    Ok(out.by_user.into_iter().collect())
}

/// Who speaks for the center toward the province (`User::speaks_for_the_center`).
fn center_voices(txn: &Tx<'_>) -> Result<Vec<UserId>> {
    Ok(access::users(txn)?
        .into_iter()
        .filter(crate::domain::user::User::speaks_for_the_center)
        .map(|u| u.id)
        .collect())
}

/// Store what `derive` found under the entry's lsn.
pub fn store(txn: &Tx<'_>, lsn: u64, notes: Vec<(UserId, Notice)>) -> Result<()> {
    if notes.is_empty() {
        return Ok(());
    }
    let mut t = txn.open_table(NOTICES)?;
    let mut unread = txn.open_table(UNREAD)?;
    for (u, n) in notes {
        t.insert((u.0, lsn), encode(&n).as_slice())?;
        let c = unread.get(u.0)?.map(|g| g.value()).unwrap_or(0);
        unread.insert(u.0, c + 1)?;
    }
    Ok(())
}

/// Which of the user's notices among `lsns`, and up to `up_to`, are unread (sorted, unique).
pub fn unread_lsns(
    txn: &Tx<'_>,
    user: UserId,
    lsns: &[u64],
    up_to: Option<u64>,
) -> Result<Vec<u64>> {
    let t = txn.open_table(NOTICES)?;
    let unread = |v: &[u8]| -> Result<bool> { Ok(!decode::<Notice>(v)?.read) };
    let mut out = Vec::new();
    if let Some(hi) = up_to {
        for row in t.range((user.0, 0)..=(user.0, hi))? {
            let (k, v) = row?;
            if unread(v.value())? {
                out.push(k.value().1);
            }
        }
    }
    for l in lsns.iter().filter(|l| up_to.is_none_or(|hi| **l > hi)) {
        if let Some(v) = t.get((user.0, *l))?
            && unread(v.value())?
        {
            out.push(*l);
        }
    }
    out.sort_unstable();
    out.dedup();
    Ok(out)
}

/// Mark notices read: the listed lsns, and every one up to `up_to`.
pub fn mark_read(txn: &Tx<'_>, user: UserId, lsns: &[u64], up_to: Option<u64>) -> Result<()> {
    let keys = unread_lsns(txn, user, lsns, up_to)?;
    if keys.is_empty() {
        return Ok(());
    }
    let mut t = txn.open_table(NOTICES)?;
    for lsn in &keys {
        let bytes = t.get((user.0, *lsn))?.map(|g| g.value().to_vec());
        if let Some(bytes) = bytes {
            let mut n: Notice = decode(&bytes)?;
            n.read = true;
            t.insert((user.0, *lsn), encode(&n).as_slice())?;
        }
    }
    let mut unread = txn.open_table(UNREAD)?;
    let c = unread.get(user.0)?.map(|g| g.value()).unwrap_or(0);
    let left = c.saturating_sub(keys.len() as u64);
    if left == 0 {
        unread.remove(user.0)?;
    } else {
        unread.insert(user.0, left)?;
    }
    Ok(())
}
