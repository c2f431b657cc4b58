//! Reporting instructions (重大报道指令) as use cases, on both sides of the federation.
//!
//! At the hub, its administrators issue an instruction to all counties, a region or a list; it
//! is resolved to the enrolled, unrevoked counties then and put in each one's outbox. The hub
//! follows what each county did from the county's own shipped entries.
//!
//! At a county, an instruction arrives as a message from the hub (`messages::receive`).
//! Everyone signed in reads the inbox; instance administrators and whoever may publish (签发) in some outlet acknowledge an
//! instruction and answer it by linking published articles of outlets they can read.

use crate::clock::Millis;
use crate::domain::ArticleId;
use crate::domain::article::ArticleStatus;
use crate::domain::fact::Fact;
use crate::domain::instruction::{self, Answer, InboxItem, Instruction, Progress, Target};
use crate::domain::user::Permission;
use crate::error::{Error, Resource, Result};
use crate::store::access::{self, Access};
use crate::store::federation;

use super::{Actor, Writer, hub_admin, require_role};

/// What a hub administrator asks for.
#[derive(Debug, Clone)]
pub struct IssueInput {
    pub title: String,
    pub brief: String,
    pub deadline: Millis,
    pub target: Target,
    /// Described from the uploaded bytes (`attachments::describe`).
    pub attachments: Vec<instruction::Attachment>,
}

/// Issue an instruction: the counties it targets now each get it in their outbox.
pub fn issue(w: &mut Writer<'_>, actor: &Actor, i: &IssueInput) -> Result<Instruction> {
    hub_admin(w.tx(), actor)?;
    if !actor.writes() {
        return Err(Error::Forbidden);
    }
    let (title, brief) = instruction::validate(&i.title, &i.brief)?;
    i.target.validate()?;
    let now = w.now();
    if i.deadline <= now {
        return Err(Error::invalid("deadline", "in the future"));
    }
    let peers = federation::peers(w.tx())?;
    let counties: Vec<String> = peers
        .iter()
        .filter(|p| p.role == "county" && p.revoked.is_none())
        .filter(|p| i.target.includes(&p.id, &p.region))
        .map(|p| p.id.clone())
        .collect();
    if let Target::Counties { ids } = &i.target
        && let Some(unknown) = ids.iter().find(|id| !counties.contains(id))
    {
        return Err(Error::invalid(
            "target.ids",
            format!("{unknown} is not an enrolled county"),
        ));
    }
    if counties.is_empty() {
        return Err(Error::invalid("target", "no enrolled county matches"));
    }
    let ins = Instruction {
        id: w.next_id("instruction")?,
        title,
        brief,
        deadline: i.deadline,
        target: i.target.clone(),
        counties,
        issued_at: now,
        issued_by: actor.user.display_name.clone(),
        attachments: i.attachments.clone(),
        cancelled: None,
    };
    let seq = w.next_id("down")?;
    w.emit(
        Some(actor.id()),
        Fact::InstructionIssued {
            instruction: ins.clone(),
            seq,
        },
    )?;
    Ok(ins)
}

/// What a hub administrator changes in an issued instruction.
#[derive(Debug, Clone)]
pub enum Change {
    Deadline(Millis),
    Cancel { reason: String },
}

/// Move an instruction's deadline or call it off; its counties get the change as a message.
pub fn change(w: &mut Writer<'_>, actor: &Actor, id: u64, c: &Change) -> Result<Instruction> {
    hub_admin(w.tx(), actor)?;
    if !actor.writes() {
        return Err(Error::Forbidden);
    }
    let ins = federation::instruction(w.tx(), id)?.ok_or(Error::NotFound(Resource::Instruction))?;
    if ins.cancelled.is_some() {
        return Err(Error::InvalidTransition(
            "the instruction was called off".into(),
        ));
    }
    let now = w.now();
    let (deadline, cancelled) = match c {
        Change::Deadline(d) if *d <= now => {
            return Err(Error::invalid("deadline", "in the future"));
        }
        Change::Deadline(d) => (*d, None),
        Change::Cancel { reason } => (
            ins.deadline,
            Some(instruction::Cancellation {
                at: now,
                by: actor.user.display_name.clone(),
                reason: super::comment(reason, true)?,
            }),
        ),
    };
    let seq = w.next_id("down")?;
    w.emit(
        Some(actor.id()),
        Fact::InstructionChanged {
            id,
            deadline,
            cancelled,
            counties: ins.counties.clone(),
            seq,
        },
    )?;
    federation::instruction(w.tx(), id)?.ok_or(Error::NotFound(Resource::Instruction))
}

/// How far the target counties have got with an instruction.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Summary {
    pub targets: u64,
    pub delivered: u64,
    pub acknowledged: u64,
    /// Counties that linked at least one article.
    pub answered: u64,
}

fn summary(a: &impl Access, ins: &Instruction) -> Result<Summary> {
    let mut s = Summary {
        targets: ins.counties.len() as u64,
        ..Summary::default()
    };
    for c in &ins.counties {
        let p = federation::progress(a, c, ins.id)?.unwrap_or_default();
        s.delivered += u64::from(p.delivered_at.is_some());
        s.acknowledged += u64::from(p.acknowledged_at.is_some());
        s.answered += u64::from(!p.answers.is_empty());
    }
    Ok(s)
}

/// The hub's instructions, newest first, each with its progress.
pub fn issued(a: &impl Access, actor: &Actor) -> Result<Vec<(Instruction, Summary)>> {
    hub_admin(a, actor)?;
    let mut out = federation::instructions(a)?
        .into_iter()
        .map(|i| {
            let s = summary(a, &i)?;
            Ok((i, s))
        })
        .collect::<Result<Vec<_>>>()?;
    out.reverse();
    Ok(out)
}

/// One county's progress on an instruction, with the county's name.
#[derive(Debug, Clone)]
pub struct CountyProgress {
    pub county: String,
    pub name: String,
    pub region: String,
    pub progress: Progress,
}

/// An instruction the hub issued, with every target county's progress.
pub fn detail(
    a: &impl Access,
    actor: &Actor,
    id: u64,
) -> Result<(Instruction, Vec<CountyProgress>)> {
    hub_admin(a, actor)?;
    let ins = federation::instruction(a, id)?.ok_or(Error::NotFound(Resource::Instruction))?;
    let mut rows = Vec::new();
    for c in &ins.counties {
        let peer = federation::peer(a, c)?;
        rows.push(CountyProgress {
            county: c.clone(),
            name: peer.as_ref().map(|p| p.name.clone()).unwrap_or_default(),
            region: peer.map(|p| p.region).unwrap_or_default(),
            progress: federation::progress(a, c, id)?.unwrap_or_default(),
        });
    }
    Ok((ins, rows))
}

/// The county's inbox, newest first.
pub fn inbox(a: &impl Access, _actor: &Actor) -> Result<Vec<InboxItem>> {
    require_role(a, "county")?;
    let mut v = federation::inbox(a)?;
    v.sort_by_key(|x| std::cmp::Reverse(x.seq));
    Ok(v)
}

/// May the actor act on instructions (acknowledge, answer)?
fn responder(actor: &Actor) -> Result<()> {
    if actor.writes() && actor.speaks_for_the_center() {
        Ok(())
    } else {
        Err(Error::Forbidden)
    }
}

fn item(a: &impl Access, id: u64) -> Result<InboxItem> {
    require_role(a, "county")?;
    federation::inbox_item(a, id)?.ok_or(Error::NotFound(Resource::Instruction))
}

/// An inbox item that can still be acted on.
fn open_item(a: &impl Access, id: u64) -> Result<InboxItem> {
    let it = item(a, id)?;
    match &it.instruction.cancelled {
        Some(c) => Err(Error::InvalidTransition(format!(
            "the province called it off: {}",
            c.reason
        ))),
        None => Ok(it),
    }
}

/// Acknowledge an instruction (签收). Acknowledging again changes nothing.
pub fn acknowledge(w: &mut Writer<'_>, actor: &Actor, id: u64) -> Result<InboxItem> {
    let it = open_item(w.tx(), id)?;
    responder(actor)?;
    if it.progress.acknowledged_at.is_none() {
        let at = w.now();
        w.emit(
            Some(actor.id()),
            Fact::InstructionAcknowledged {
                instruction: id,
                by: actor.id(),
                by_name: actor.user.display_name.clone(),
                at,
            },
        )?;
    }
    item(w.tx(), id)
}

/// Answer an instruction with a published article (acknowledging it too if nobody had).
pub fn answer(w: &mut Writer<'_>, actor: &Actor, id: u64, article: ArticleId) -> Result<InboxItem> {
    let it = open_item(w.tx(), id)?;
    responder(actor)?;
    let a = access::article(w.tx(), article)?
        .filter(|a| actor.can(a.outlet, Permission::ArticleRead))
        .ok_or(Error::NotFound(Resource::Article))?;
    if a.status != ArticleStatus::Published {
        return Err(Error::invalid(
            "article",
            "only a published article can answer an instruction",
        ));
    }
    if it.progress.answers.iter().any(|x| x.article == article.0) {
        return Ok(it);
    }
    if it.progress.answers.len() >= instruction::MAX_ANSWERS {
        return Err(Error::invalid(
            "article",
            format!(
                "at most {} articles per instruction",
                instruction::MAX_ANSWERS
            ),
        ));
    }
    acknowledge(w, actor, id)?;
    let at = w.now();
    w.emit(
        Some(actor.id()),
        Fact::InstructionAnswered {
            instruction: id,
            by: actor.id(),
            answer: Answer {
                article: article.0,
                title: a.title.clone(),
                by: actor.user.display_name.clone(),
                at,
            },
        },
    )?;
    item(w.tx(), id)
}
