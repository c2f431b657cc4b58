//! The audit trail: the log entries about one article, or caused by one user, rendered as rows
//! (who, when, what, from → to, comment). The log is the record; the audit tables only index
//! it by article and by actor, so nothing here can disagree with it.

use crate::clock::Millis;
use crate::domain::fact::Fact;
use crate::domain::notice;
use crate::domain::user::Permission;
use crate::domain::{ArticleId, OutletId, UserId};
use crate::error::{Error, Resource, Result};
use crate::log::Entry;
use crate::store::access::AuditIndex;
use crate::store::{Reader, access};

use super::Actor;
use super::articles::get;
use super::names::Names;

#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    /// Fact kinds (`ReviewApproved` ...); empty = all.
    pub kinds: Vec<String>,
    pub from: Option<Millis>,
    pub to: Option<Millis>,
}

#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct AuditRow {
    pub lsn: u64,
    pub at: Millis,
    pub actor: Option<u64>,
    pub actor_name: String,
    pub kind: &'static str,
    pub article: Option<u64>,
    pub topic: Option<u64>,
    /// The article's title, or what else the entry is about.
    pub subject: String,
    pub revision: Option<u32>,
    pub from: Option<&'static str>,
    pub to: Option<&'static str>,
    pub level: Option<String>,
    pub comment: String,
}

pub struct AuditPage {
    pub rows: Vec<AuditRow>,
    /// Pass as `before` for the next (older) page.
    pub next_before: Option<u64>,
}

const SCAN_BATCH: usize = 256;

fn subject(f: &Fact) -> String {
    if let Some(a) = f.article() {
        return a.title.clone();
    }
    match f {
        Fact::OutletCreated { outlet } | Fact::OutletUpdated { outlet } => outlet.name.clone(),
        Fact::UserCreated { user } | Fact::UserUpdated { user } => user.username.clone(),
        Fact::PasswordSet { user, .. } => format!("user {user}"),
        Fact::TokenCreated { token } => token.name.clone(),
        Fact::TokenRevoked { id, .. } => format!("token {id}"),
        Fact::AssetAdded { asset } => asset.name.clone(),
        Fact::AssetDeleted { id } => format!("asset {id}"),
        Fact::ChainSaved { chain } => format!("{} v{}", chain.name, chain.version),
        Fact::TopicProposed { topic }
        | Fact::TopicUpdated { topic }
        | Fact::TopicMoved { topic, .. } => topic.title.clone(),
        Fact::TopicMerged { source, target, .. } => format!("{} → {}", source.title, target.title),
        Fact::LexiconSaved { lexicon }
        | Fact::LexiconEntriesChanged { lexicon, .. }
        | Fact::LexiconDeleted { lexicon } => lexicon.name.clone(),
        Fact::ScreeningOverridden { terms, .. } | Fact::ScreeningAcknowledged { terms, .. } => {
            terms.join("、")
        }
        Fact::ProofIgnored { ignored } => format!("{}: {}", ignored.rule, ignored.text),
        Fact::ProofUnignored { rule, text, .. } => format!("{rule}: {text}"),
        _ => String::new(),
    }
}

fn row(e: Entry, names: &mut Names<'_>) -> Result<AuditRow> {
    let actor_name = match e.actor {
        Some(u) => names.name(u)?,
        None => String::new(),
    };
    let step = e.fact.step();
    let art = e.fact.article();
    let (from, to, comment) = match &e.fact {
        Fact::TopicProposed { topic } | Fact::TopicUpdated { topic } => {
            (None, Some(topic.state.as_str()), String::new())
        }
        Fact::TopicMoved {
            topic,
            from,
            comment,
        } => (
            Some(from.as_str()),
            Some(topic.state.as_str()),
            comment.clone(),
        ),
        Fact::TopicMerged {
            source, comment, ..
        } => (None, Some(source.state.as_str()), comment.clone()),
        Fact::CommentAdded { comment } | Fact::CommentUpdated { comment } => {
            (None, None, notice::excerpt(&comment.body))
        }
        Fact::EditLockTaken { reason, .. } => (None, None, reason.clone()),
        Fact::ScreeningOverridden { reason, .. } => (None, None, reason.clone()),
        _ => (
            step.map(|s| s.from.as_str()),
            art.map(|a| a.status.as_str()),
            step.map(|s| s.comment.clone()).unwrap_or_default(),
        ),
    };
    Ok(AuditRow {
        lsn: e.lsn.0,
        at: e.at,
        actor: e.actor.map(|u| u.0),
        actor_name,
        kind: e.fact.kind(),
        article: e.fact.article_id().map(|a| a.0),
        topic: e.fact.topic_ids().first().map(|t| t.0),
        subject: subject(&e.fact),
        revision: art.map(|a| a.revision),
        from,
        to,
        level: step.and_then(|s| s.level_name.clone()),
        comment,
    })
}

fn page(
    r: &Reader,
    by: AuditIndex,
    id: u64,
    f: &AuditFilter,
    before: Option<u64>,
    limit: usize,
    keep: &dyn Fn(&Entry) -> bool,
) -> Result<AuditPage> {
    let mut rows = Vec::new();
    let mut names = Names::new(r);
    let mut cursor = before;
    let mut exhausted = false;
    'scan: while rows.len() < limit {
        let lsns = r.audit_lsns(by, id, cursor, SCAN_BATCH)?;
        if lsns.len() < SCAN_BATCH {
            exhausted = true;
        }
        for e in crate::log::entries_at(&r.0, &lsns)? {
            cursor = Some(e.lsn.0);
            if f.from.is_some_and(|t| e.at < t) {
                exhausted = true;
                break 'scan; // older entries are older still
            }
            let kind_ok = f.kinds.is_empty() || f.kinds.iter().any(|k| k == e.fact.kind());
            if kind_ok && f.to.is_none_or(|t| e.at <= t) && keep(&e) {
                rows.push(row(e, &mut names)?);
                if rows.len() == limit {
                    break 'scan;
                }
            }
        }
        if exhausted {
            break;
        }
    }
    let more = rows.len() == limit && !exhausted;
    Ok(AuditPage {
        next_before: if more { cursor } else { None },
        rows,
    })
}

/// The history of one article: anyone who may read the article may read it.
pub fn for_article(
    r: &Reader,
    actor: &Actor,
    id: ArticleId,
    f: &AuditFilter,
    before: Option<u64>,
    limit: usize,
) -> Result<AuditPage> {
    get(&r.0, actor, id)?;
    page(r, AuditIndex::Article, id.0, f, before, limit, &|_| true)
}

/// The history of one topic: anyone who may read the topic may read it.
pub fn for_topic(
    r: &Reader,
    actor: &Actor,
    id: crate::domain::TopicId,
    f: &AuditFilter,
    before: Option<u64>,
    limit: usize,
) -> Result<AuditPage> {
    super::topics::get(&r.0, actor, id)?;
    page(r, AuditIndex::Topic, id.0, f, before, limit, &|_| true)
}

/// What one user did. Users see their own; instance admins see all; chief editors and outlet
/// admins see what the user did to articles of their outlets.
pub fn for_user(
    r: &Reader,
    actor: &Actor,
    user: UserId,
    f: &AuditFilter,
    before: Option<u64>,
    limit: usize,
) -> Result<AuditPage> {
    if access::user(&r.0, user)?.is_none() {
        return Err(Error::NotFound(Resource::User));
    }
    let everything = actor.is_instance_admin() || actor.id() == user;
    let outlets: Option<Vec<OutletId>> = actor.outlets_with(Permission::AuditRead);
    if !everything && outlets.as_ref().is_some_and(Vec::is_empty) {
        return Err(Error::Forbidden);
    }
    let keep = |e: &Entry| {
        let visible = |x: OutletId| outlets.as_ref().is_none_or(|o| o.contains(&x));
        everything
            || e.fact.article().is_some_and(|a| visible(a.outlet))
            || topic_outlet(&e.fact).is_some_and(visible)
    };
    page(r, AuditIndex::User, user.0, f, before, limit, &keep)
}

fn topic_outlet(f: &Fact) -> Option<OutletId> {
    match f {
        Fact::TopicProposed { topic }
        | Fact::TopicUpdated { topic }
        | Fact::TopicMoved { topic, .. }
        | Fact::TopicMerged { source: topic, .. } => Some(topic.home()),
        _ => None,
    }
}
