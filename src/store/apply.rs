//! The projection: how each domain fact changes the replicated tables. Used live (in the same
//! write transaction that appends the fact to the log), by `check` (rebuilding from the log into
//! memory) and later by followers (the DR replica). Applying a fact twice leaves the same state.

use redb::{ReadableTable, WriteTransaction};

use super::access;
use super::codec::encode;
use super::federation;
use super::tables::*;
use super::tx::Tx;
use crate::domain::article::Article;
use crate::domain::fact::Fact;
use crate::error::Result;

/// Create every table (first start, and the in-memory rebuild of `check`).
pub fn ensure_tables(txn: &WriteTransaction) -> Result<()> {
    struct Create<'t>(&'t WriteTransaction);
    impl Visit for Create<'_> {
        fn table<K: redb::Key + 'static, V: redb::Value + 'static>(
            &mut self,
            t: redb::TableDefinition<'static, K, V>,
        ) -> Result<()> {
            self.0.open_table(t)?;
            Ok(())
        }
    }
    crate::store::tables::all(&mut Create(txn))
}

fn bump(txn: &Tx<'_>, kind: &str, id: u64) -> Result<()> {
    txn.counters(|t| {
        let cur = t.get(kind)?.map(|g| g.value()).unwrap_or(0);
        if id > cur {
            t.insert(kind, id)?;
        }
        Ok(())
    })
}

pub fn apply(txn: &Tx<'_>, fact: &Fact) -> Result<()> {
    match fact {
        Fact::InstanceCreated { .. } | Fact::EpochBegan { .. } => {}
        Fact::OutletCreated { outlet } | Fact::OutletUpdated { outlet } => {
            if let Some(old) = access::outlet(txn, outlet.id)? {
                txn.open_table(OUTLET_SLUGS)?.remove(old.slug.as_str())?;
            }
            txn.open_table(OUTLETS)?
                .insert(outlet.id.0, encode(outlet).as_slice())?;
            txn.open_table(OUTLET_SLUGS)?
                .insert(outlet.slug.as_str(), outlet.id.0)?;
            bump(txn, "outlet", outlet.id.0)?;
        }
        Fact::UserCreated { user } | Fact::UserUpdated { user } => {
            if let Some(old) = access::user(txn, user.id)? {
                txn.open_table(USERNAMES)?.remove(old.username.as_str())?;
            }
            txn.open_table(USERS)?
                .insert(user.id.0, encode(user).as_slice())?;
            txn.open_table(USERNAMES)?
                .insert(user.username.as_str(), user.id.0)?;
            bump(txn, "user", user.id.0)?;
        }
        Fact::PasswordSet { user, phc } => {
            txn.open_table(PASSWORDS)?.insert(user.0, phc.as_bytes())?;
        }
        Fact::TokenCreated { token } => {
            txn.open_table(TOKENS)?
                .insert(token.id.0, encode(token).as_slice())?;
            bump(txn, "token", token.id.0)?;
        }
        Fact::TokenRevoked { id, at } => {
            if let Some(mut t) = access::token(txn, *id)? {
                t.revoked_at.get_or_insert(*at);
                txn.open_table(TOKENS)?
                    .insert(id.0, encode(&t).as_slice())?;
            }
        }
        Fact::ArticleCreated { article }
        | Fact::ArticleUpdated { article }
        | Fact::ArticleRestored { article } => {
            save_article(txn, article)?;
        }
        Fact::AssetAdded { asset } => {
            txn.open_table(ASSETS)?
                .insert(asset.id.0, encode(asset).as_slice())?;
            bump(txn, "asset", asset.id.0)?;
        }
        Fact::AssetDeleted { id } => {
            txn.open_table(ASSETS)?.remove(id.0)?;
        }
        Fact::ChainSaved { chain } => {
            let bytes = encode(chain);
            txn.open_table(CHAINS)?
                .insert(chain.id.0, bytes.as_slice())?;
            txn.open_table(CHAIN_VERSIONS)?
                .insert((chain.id.0, chain.version), bytes.as_slice())?;
            txn.open_table(CHAIN_SLUGS)?
                .insert((chain.outlet.0, chain.slug.as_str()), chain.id.0)?;
            bump(txn, "chain", chain.id.0)?;
        }
        Fact::ArticleSubmitted(s)
        | Fact::ReviewApproved(s)
        | Fact::ReviewReturned(s)
        | Fact::ReviewEscalated(s)
        | Fact::ArticleWithdrawn(s)
        | Fact::ArticlePublished(s)
        | Fact::CorrectionStarted(s)
        | Fact::ArticleRetracted(s) => {
            save_article(txn, &s.article)?;
            save_review(txn, &s.article, s.review.as_ref())?;
        }
        Fact::TopicProposed { topic }
        | Fact::TopicUpdated { topic }
        | Fact::TopicMoved { topic, .. } => {
            super::planning::save(txn, topic)?;
            bump(txn, "topic", topic.id.0)?;
        }
        Fact::TopicMerged { source, target, .. } => {
            super::planning::save(txn, source)?;
            super::planning::save(txn, target)?;
        }
        Fact::CommentAdded { comment } | Fact::CommentUpdated { comment } => {
            txn.open_table(COMMENTS)?
                .insert(comment.id.0, encode(comment).as_slice())?;
            let (k, id) = comment.on.key();
            txn.open_table(COMMENTS_BY_SUBJECT)?
                .insert((k, id, comment.id.0), ())?;
            bump(txn, "comment", comment.id.0)?;
        }
        Fact::EditLockTaken { .. } => {}
        Fact::NoticesRead { user, lsns, up_to } => {
            super::notify::mark_read(txn, *user, lsns, *up_to)?;
        }
        Fact::LexiconSaved { lexicon } => save_lexicon(txn, lexicon)?,
        Fact::LexiconEntriesChanged {
            lexicon,
            set,
            removed,
        } => {
            {
                let mut t = txn.open_table(LEXICON_ENTRIES)?;
                for text in removed {
                    t.remove((lexicon.id.0, text.as_str()))?;
                }
                for e in set {
                    t.insert((lexicon.id.0, e.text.as_str()), encode(e).as_slice())?;
                }
            }
            save_lexicon(txn, lexicon)?;
        }
        Fact::LexiconDeleted { lexicon } => {
            txn.open_table(LEXICONS)?.remove(lexicon.id.0)?;
            let id = lexicon.id.0;
            txn.open_table(LEXICON_ENTRIES)?
                .retain_in((id, "")..(id + 1, ""), |_, _| false)?;
            bump(txn, "lexicon_gen", lexicon.generation)?;
        }
        Fact::ArticleScreened { screening } => {
            txn.open_table(SCREENINGS)?.insert(
                (screening.article.0, screening.revision),
                encode(screening).as_slice(),
            )?;
        }
        Fact::ScreeningOverridden {
            article,
            revision,
            terms,
            reason,
            by,
            at,
        } => {
            let mut t = txn.open_table(SCREEN_OVERRIDES)?;
            for term in terms {
                let o = crate::domain::screening::Override {
                    article: *article,
                    term: term.clone(),
                    revision: *revision,
                    by: *by,
                    at: *at,
                    reason: reason.clone(),
                };
                t.insert((article.0, term.as_str()), encode(&o).as_slice())?;
            }
        }
        Fact::ScreeningAcknowledged { .. } => {}
        Fact::PeerEnrolled { peer } => {
            txn.open_table(PEERS)?
                .insert(peer.id.as_str(), encode(peer).as_slice())?;
        }
        Fact::PeerRevoked { id, revocation } => {
            if let Some(mut p) = federation::peer(txn, id)? {
                p.revoked = Some(revocation.clone());
                txn.open_table(PEERS)?
                    .insert(id.as_str(), encode(&p).as_slice())?;
            }
        }
        Fact::PeerRenewed {
            id,
            fingerprint,
            not_after,
        } => {
            if let Some(mut p) = federation::peer(txn, id)?
                && p.fingerprint != *fingerprint
            {
                p.previous = Some(crate::domain::peer::PreviousCert {
                    fingerprint: std::mem::replace(&mut p.fingerprint, fingerprint.clone()),
                    not_after: p.not_after,
                });
                p.not_after = *not_after;
                txn.open_table(PEERS)?
                    .insert(id.as_str(), encode(&p).as_slice())?;
            }
        }
        Fact::ProofIgnored { ignored } => {
            txn.open_table(PROOF_IGNORES)?.insert(
                (ignored.article.0, ignored.key().as_str()),
                encode(ignored).as_slice(),
            )?;
        }
        Fact::CountyEntry {
            county,
            epoch,
            lsn,
            hash,
            received_at,
            fact,
        } => {
            county_cursor(txn, county, |c| {
                c.epoch = *epoch;
                c.lsn = *lsn;
                c.hash = hash.clone();
                c.through = c.through.max(*lsn);
                c.received_at = *received_at;
            })?;
            if let Some(step) = fact.step() {
                let a = crate::domain::hub::CountyArticle {
                    county: county.clone(),
                    article: step.article.clone(),
                    epoch: *epoch,
                    lsn: *lsn,
                    received_at: *received_at,
                };
                txn.open_table(COUNTY_ARTICLES)?
                    .insert((county.as_str(), a.article.id.0), encode(&a).as_slice())?;
                if let (Fact::ArticlePublished(_), Some(at)) =
                    (fact.as_ref(), step.article.published_at)
                {
                    txn.open_table(COUNTY_PUBLISHED)?.insert(
                        (
                            county.as_str(),
                            crate::domain::hub::day_of(at),
                            step.article.id.0,
                        ),
                        (),
                    )?;
                }
            }
            county_progress(txn, county, fact)?;
            if let Fact::SharedAdopted { item, adoption } = fact.as_ref()
                && federation::shared_item(txn, *item)?.is_some()
            {
                txn.open_table(SHARED_ADOPTIONS)?
                    .insert((*item, county.as_str()), encode(adoption).as_slice())?;
            }
            if let Fact::ProvincialReviewRequested { request } = fact.as_ref() {
                let row = crate::domain::provincial::ProvincialReview {
                    county: county.clone(),
                    request: request.clone(),
                    received_at: *received_at,
                    decision: None,
                };
                txn.open_table(PROVINCIAL_REVIEWS)?.insert(
                    (county.as_str(), request.article.id.0),
                    encode(&row).as_slice(),
                )?;
            }
        }
        Fact::InstructionIssued { instruction, seq } => {
            use crate::domain::instruction::{Down, Instruction, Progress};
            txn.open_table(INSTRUCTIONS)?
                .insert(instruction.id, encode(instruction).as_slice())?;
            bump(txn, "instruction", instruction.id)?;
            bump(txn, "down", *seq)?;
            let down = encode(&Down::Instruction {
                instruction: Instruction {
                    counties: Vec::new(),
                    ..instruction.clone()
                },
            });
            let fresh = encode(&Progress::default());
            let mut progress = txn.open_table(INSTRUCTION_PROGRESS)?;
            let mut outbox = txn.open_table(COUNTY_OUTBOX)?;
            for c in &instruction.counties {
                if progress.get((c.as_str(), instruction.id))?.is_none() {
                    progress.insert((c.as_str(), instruction.id), fresh.as_slice())?;
                }
                outbox.insert((c.as_str(), *seq), down.as_slice())?;
            }
        }
        Fact::InstructionChanged {
            id,
            deadline,
            cancelled,
            counties,
            seq,
        } => {
            use crate::domain::instruction::Down;
            bump(txn, "down", *seq)?;
            if let Some(mut ins) = federation::instruction(txn, *id)? {
                ins.deadline = *deadline;
                ins.cancelled.clone_from(cancelled);
                txn.open_table(INSTRUCTIONS)?
                    .insert(*id, encode(&ins).as_slice())?;
            }
            let down = encode(&Down::InstructionChanged {
                id: *id,
                deadline: *deadline,
                cancelled: cancelled.clone(),
            });
            let mut outbox = txn.open_table(COUNTY_OUTBOX)?;
            for c in counties {
                outbox.insert((c.as_str(), *seq), down.as_slice())?;
            }
        }
        Fact::HubMessageReceived {
            seq,
            message,
            received_at,
        } => {
            use crate::domain::instruction::{Down, InboxItem, Progress};
            bump(txn, "hub_seq", *seq)?;
            match message {
                Down::Instruction { instruction } => {
                    if federation::inbox_item(txn, instruction.id)?.is_none() {
                        let item = InboxItem {
                            instruction: instruction.clone(),
                            seq: *seq,
                            received_at: *received_at,
                            progress: Progress {
                                delivered_at: Some(*received_at),
                                ..Progress::default()
                            },
                        };
                        txn.open_table(INBOX)?
                            .insert(instruction.id, encode(&item).as_slice())?;
                    }
                }
                // The review facts (lexicon facts) the county's workflow emits with it do
                // the work.
                Down::ReviewDecision { .. }
                | Down::Lexicon { .. }
                | Down::LexiconSnapshot { .. } => {}
                Down::InstructionChanged {
                    id,
                    deadline,
                    cancelled,
                } => {
                    if let Some(mut it) = federation::inbox_item(txn, *id)? {
                        it.instruction.deadline = *deadline;
                        it.instruction.cancelled.clone_from(cancelled);
                        txn.open_table(INBOX)?.insert(*id, encode(&it).as_slice())?;
                    }
                }
                Down::SharedWithdrawn { item, withdrawal } => {
                    if let Some(mut p) = federation::pool_item(txn, *item)? {
                        p.item.withdrawn = Some(withdrawal.clone());
                        txn.open_table(POOL)?.insert(*item, encode(&p).as_slice())?;
                    }
                }
                Down::Shared { item } => {
                    if federation::pool_item(txn, item.id)?.is_none() {
                        let p = crate::domain::shared::PoolItem {
                            item: item.clone(),
                            seq: *seq,
                            received_at: *received_at,
                            adoptions: Vec::new(),
                        };
                        txn.open_table(POOL)?
                            .insert(item.id, encode(&p).as_slice())?;
                    }
                }
            }
        }
        // The review facts emitted with it change the article; the hub keeps the request.
        Fact::ProvincialReviewRequested { .. } => {}
        Fact::LexiconPushed {
            lexicon,
            counties,
            seq,
        } => {
            bump(txn, "down", *seq)?;
            let down = encode(&crate::domain::instruction::Down::Lexicon { id: *lexicon });
            let mut outbox = txn.open_table(COUNTY_OUTBOX)?;
            for c in counties {
                outbox.insert((c.as_str(), *seq), down.as_slice())?;
            }
        }
        // At the county nothing changes; the hub shares it (`ContentShared`).
        Fact::ArticleOffered { .. } => {}
        Fact::ContentShared {
            item,
            counties,
            seq,
        } => {
            txn.open_table(SHARED)?
                .insert(item.id, encode(item).as_slice())?;
            bump(txn, "shared", item.id)?;
            bump(txn, "down", *seq)?;
            let down = encode(&crate::domain::instruction::Down::Shared { item: item.clone() });
            let mut outbox = txn.open_table(COUNTY_OUTBOX)?;
            for c in counties {
                outbox.insert((c.as_str(), *seq), down.as_slice())?;
            }
        }
        Fact::SharedWithdrawn {
            item,
            withdrawal,
            counties,
            seq,
        } => {
            bump(txn, "down", *seq)?;
            if let Some(mut it) = federation::shared_item(txn, *item)? {
                it.withdrawn = Some(withdrawal.clone());
                txn.open_table(SHARED)?
                    .insert(*item, encode(&it).as_slice())?;
            }
            let down = encode(&crate::domain::instruction::Down::SharedWithdrawn {
                item: *item,
                withdrawal: withdrawal.clone(),
            });
            let mut outbox = txn.open_table(COUNTY_OUTBOX)?;
            for c in counties {
                outbox.insert((c.as_str(), *seq), down.as_slice())?;
            }
        }
        Fact::SharedAdopted { item, adoption } => {
            if let Some(mut p) = federation::pool_item(txn, *item)? {
                if !p.adoptions.iter().any(|a| a.article == adoption.article) {
                    p.adoptions.push(adoption.clone());
                }
                txn.open_table(POOL)?.insert(*item, encode(&p).as_slice())?;
            }
        }
        Fact::ProvincialReviewDecided {
            county,
            decision,
            seq,
        } => {
            bump(txn, "down", *seq)?;
            let key = (county.as_str(), decision.article);
            if let Some(mut row) = federation::provincial_review(txn, county, decision.article)?
                && row.request.round == decision.round
                && row.request.level == decision.level
                && row.decision.is_none()
            {
                row.decision = Some(decision.decision.clone());
                txn.open_table(PROVINCIAL_REVIEWS)?
                    .insert(key, encode(&row).as_slice())?;
                let down = crate::domain::instruction::Down::ReviewDecision {
                    decision: decision.clone(),
                };
                txn.open_table(COUNTY_OUTBOX)?
                    .insert((county.as_str(), *seq), encode(&down).as_slice())?;
            }
        }
        Fact::InstructionAcknowledged {
            instruction,
            by_name,
            at,
            ..
        } => {
            inbox(txn, *instruction, |p| p.acknowledge(by_name, *at))?;
        }
        Fact::InstructionAnswered {
            instruction,
            answer,
            ..
        } => {
            inbox(txn, *instruction, |p| p.answer(answer))?;
        }
        Fact::CountyQuarantined { county, reason } => {
            county_cursor(txn, county, |c| c.quarantined = Some(reason.clone()))?;
        }
        Fact::CountyThrough { county, through } => {
            county_cursor(txn, county, |c| c.through = c.through.max(*through))?;
        }
        Fact::ProofUnignored {
            article,
            rule,
            text,
        } => {
            txn.open_table(PROOF_IGNORES)?.remove((
                article.0,
                crate::domain::screening::ignore_key(rule, text).as_str(),
            ))?;
        }
    }
    Ok(())
}

/// Everything one log entry does to the replicated tables, in order: derive its notifications
/// (from the state before), apply it, append it (`append` returns its lsn), index it in the
/// audit trails and store the notifications. The writer and `check` both go through here.
pub fn entry(
    txn: &Tx<'_>,
    at: crate::clock::Millis,
    actor: Option<crate::domain::UserId>,
    fact: &Fact,
    append: impl FnOnce() -> Result<u64>,
) -> Result<u64> {
    let notes = super::notify::derive(txn, at, actor, fact)?;
    apply(txn, fact)?;
    let lsn = append()?;
    index_entry(txn, lsn, actor, fact)?;
    super::notify::store(txn, lsn, notes)?;
    Ok(lsn)
}

/// Record where a log entry belongs in the audit trail (per article, per acting user). Called
/// with the entry's lsn right after the entry is appended (and by `check` when replaying).
fn index_entry(
    txn: &Tx<'_>,
    lsn: u64,
    actor: Option<crate::domain::UserId>,
    fact: &Fact,
) -> Result<()> {
    if let Some(id) = fact.article_id() {
        txn.by_article(|t| {
            t.insert((id.0, lsn), ())?;
            Ok(())
        })?;
    }
    if let Some(a) = fact.article() {
        point_at(txn, a, lsn)?;
    }
    for t in fact.topic_ids() {
        txn.open_table(AUDIT_BY_TOPIC)?.insert((t.0, lsn), ())?;
    }
    if let Some(u) = actor.filter(|_| fact.is_action()) {
        txn.by_user(|t| {
            t.insert((u.0, lsn), ())?;
            Ok(())
        })?;
    }
    Ok(())
}

/// Change what a county did with an instruction, in its inbox (nothing if it has no such
/// instruction).
fn inbox(
    txn: &Tx<'_>,
    id: u64,
    f: impl FnOnce(&mut crate::domain::instruction::Progress),
) -> Result<()> {
    if let Some(mut item) = federation::inbox_item(txn, id)? {
        f(&mut item.progress);
        txn.open_table(INBOX)?
            .insert(id, encode(&item).as_slice())?;
    }
    Ok(())
}

/// At a hub: what a county's entry says it did with an instruction sent to it. Only rows the
/// hub made when it issued the instruction to that county change: a county cannot report on
/// instructions it was not sent.
fn county_progress(txn: &Tx<'_>, county: &str, fact: &Fact) -> Result<()> {
    use crate::domain::instruction::Down;
    let id = match fact {
        Fact::HubMessageReceived {
            message: Down::Instruction { instruction },
            ..
        } => instruction.id,
        Fact::InstructionAcknowledged { instruction, .. }
        | Fact::InstructionAnswered { instruction, .. } => *instruction,
        _ => return Ok(()),
    };
    let Some(mut p) = federation::progress(txn, county, id)? else {
        return Ok(());
    };
    match fact {
        Fact::HubMessageReceived { received_at, .. } => {
            p.delivered_at.get_or_insert(*received_at);
        }
        Fact::InstructionAcknowledged { by_name, at, .. } => p.acknowledge(by_name, *at),
        Fact::InstructionAnswered { answer, .. } => p.answer(answer),
        _ => {}
    }
    txn.open_table(INSTRUCTION_PROGRESS)?
        .insert((county, id), encode(&p).as_slice())?;
    Ok(())
}

/// Change a county's cursor at a hub (a new one starts empty).
fn county_cursor(
    txn: &Tx<'_>,
    county: &str,
    f: impl FnOnce(&mut crate::domain::hub::CountyCursor),
) -> Result<()> {
    let mut c = federation::county_cursor(txn, county)?.unwrap_or_default();
    f(&mut c);
    txn.open_table(COUNTY_CURSORS)?
        .insert(county, encode(&c).as_slice())?;
    Ok(())
}

fn save_lexicon(txn: &Tx<'_>, l: &crate::domain::lexicon::Lexicon) -> Result<()> {
    txn.open_table(LEXICONS)?
        .insert(l.id.0, encode(l).as_slice())?;
    bump(txn, "lexicon", l.id.0)?;
    bump(txn, "lexicon_gen", l.generation)
}

fn save_review(
    txn: &Tx<'_>,
    article: &Article,
    review: Option<&crate::domain::review::Review>,
) -> Result<()> {
    let old = access::review(txn, article.id)?;
    super::queue::update(txn, old.as_ref(), review, article)?;
    let mut t = txn.open_table(REVIEWS)?;
    match review {
        Some(r) => {
            t.insert(article.id.0, encode(r).as_slice())?;
        }
        None => {
            t.remove(article.id.0)?;
        }
    }
    Ok(())
}

fn save_article(txn: &Tx<'_>, a: &Article) -> Result<()> {
    // The article itself stays in the log entry; `index_entry` points at it.
    let old = access::article(txn, a.id)?;
    txn.by_updated(|idx| {
        if let Some(o) = &old {
            idx.remove((o.updated_at, o.id.0))?;
        }
        idx.insert((a.updated_at, a.id.0), a.outlet.0)?;
        Ok(())
    })?;
    if let Some(src) = &a.source_id {
        txn.open_table(ARTICLE_SOURCES)?
            .insert((a.outlet.0, src.as_str()), a.id.0)?;
    }
    let before = old.as_ref().map(Article::asset_refs).unwrap_or_default();
    let after = a.asset_refs();
    if before != after {
        let mut refs = txn.open_table(ASSET_REFS)?;
        for gone in before.difference(&after) {
            refs.remove((gone.0, a.id.0))?;
        }
        for new in after.difference(&before) {
            refs.insert((new.0, a.id.0), ())?;
        }
    }
    bump(txn, "article", a.id.0)
}

/// The article `a`, as saved by the fact of entry `lsn`, is its newest state and that of its
/// revision.
pub fn point_at(txn: &Tx<'_>, a: &Article, lsn: u64) -> Result<()> {
    txn.heads(|t| {
        t.insert(a.id.0, lsn)?;
        Ok(())
    })?;
    txn.revisions(|t| {
        t.insert((a.id.0, a.revision), lsn)?;
        Ok(())
    })
}

/// Remove a session row (local table).
pub fn delete_session(txn: &Tx<'_>, key: &[u8]) -> Result<()> {
    txn.open_table(SESSIONS)?.remove(key)?;
    Ok(())
}

pub fn put_pairing(txn: &Tx<'_>, key: &[u8], p: &crate::domain::peer::Pairing) -> Result<()> {
    txn.open_table(PAIRINGS)?
        .insert(key, encode(p).as_slice())?;
    Ok(())
}

pub fn take_pairing(txn: &Tx<'_>, key: &[u8]) -> Result<()> {
    txn.open_table(PAIRINGS)?.remove(key)?;
    Ok(())
}

pub fn put_session(
    txn: &Tx<'_>,
    key: &[u8],
    s: &crate::domain::credentials::Session,
) -> Result<()> {
    txn.open_table(SESSIONS)?
        .insert(key, encode(s).as_slice())?;
    Ok(())
}

/// Drop sessions that expired before `now`; returns how many.
pub fn purge_sessions(txn: &Tx<'_>, now: i64) -> Result<usize> {
    let mut t = txn.open_table(SESSIONS)?;
    let mut n = 0;
    t.retain(|_, v| {
        let keep = super::codec::decode::<crate::domain::credentials::Session>(v)
            .is_ok_and(|s| s.expires_at > now);
        if !keep {
            n += 1;
        }
        keep
    })?;
    Ok(n)
}

/// Articles whose current version uses the asset (inside a write transaction).
pub fn asset_ref_count(txn: &Tx<'_>, id: crate::domain::AssetId) -> Result<u64> {
    let t = txn.open_table(ASSET_REFS)?;
    Ok(t.range((id.0, 0)..=(id.0, u64::MAX))?.count() as u64)
}
