//! The notifications inbox: a user's notices (derived from the log by `store::notify`),
//! unread counts, and marking read (itself a logged fact, so a replica's inbox agrees).

use crate::domain::fact::Fact;
use crate::domain::notice::Notice;
use crate::error::{Error, Result};
use crate::store::Reader;

use super::{Actor, Writer};

pub const MAX_MARK: usize = 500;

pub struct Inbox {
    /// (lsn, notice), newest first.
    pub items: Vec<(u64, Notice)>,
    pub unread: u64,
    pub next_before: Option<u64>,
}

pub fn inbox(r: &Reader, actor: &Actor, before: Option<u64>, limit: usize) -> Result<Inbox> {
    let items = r.notices(actor.id(), before, None, limit)?;
    let next_before = (items.len() == limit)
        .then(|| items.last().map(|x| x.0))
        .flatten();
    Ok(Inbox {
        unread: r.unread(actor.id())?,
        items,
        next_before,
    })
}

/// Mark the listed notices, and every one up to `up_to`, read. Logs nothing if nothing was
/// unread among them.
pub fn mark_read(
    w: &mut Writer<'_>,
    actor: &Actor,
    lsns: Vec<u64>,
    up_to: Option<u64>,
) -> Result<u64> {
    if lsns.len() > MAX_MARK {
        return Err(Error::invalid(
            "lsns",
            format!("at most {MAX_MARK} at once"),
        ));
    }
    let mut lsns = lsns;
    lsns.sort_unstable();
    lsns.dedup();
    let unread = crate::store::notify::unread_lsns(w.tx(), actor.id(), &lsns, up_to)?.len() as u64;
    if unread > 0 {
        w.emit(
            Some(actor.id()),
            Fact::NoticesRead {
                user: actor.id(),
                lsns,
                up_to,
            },
        )?;
    }
    Ok(unread)
}
