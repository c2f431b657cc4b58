//! The planning board and calendar (read side of topic planning). Both read index tables only
//! (`TOPIC_BOARD`, `TOPIC_DATES`) and then the topics they show, so they stay fast however many
//! articles and closed topics the store holds.

use std::collections::{BTreeMap, BTreeSet};

use crate::clock::Millis;
use crate::domain::topic::{DateKind, Topic, TopicState};
use crate::domain::user::Permission;
use crate::domain::{OutletId, TopicId};
use crate::error::{Error, Result};
use crate::store::{Reader, access};

use super::Actor;

/// Board columns, in order. Merged topics live inside the topic they were merged into.
pub const COLUMNS: [TopicState; 6] = [
    TopicState::Proposed,
    TopicState::Approved,
    TopicState::InProgress,
    TopicState::Done,
    TopicState::Rejected,
    TopicState::Cancelled,
];

/// Counts above this are reported as "at least".
pub const COUNT_CAP: usize = 1_000;
pub const MAX_LIMIT: usize = 200;
/// The calendar covers at most this many days per request.
pub const MAX_DAYS: i64 = 62;
const DAY: Millis = 86_400_000;

pub struct Column {
    pub state: TopicState,
    pub topics: Vec<Topic>,
    /// Distinct topics in the column (capped at `COUNT_CAP`).
    pub count: usize,
    pub capped: bool,
    /// Cursor for the next page: `sort.topic`.
    pub next: Option<String>,
}

fn outlets(r: &Reader, actor: &Actor, outlet: Option<OutletId>) -> Result<Vec<OutletId>> {
    Ok(
        match actor.restrict(Permission::ArticleRead, outlet.map(|o| vec![o])) {
            Some(v) => v,
            None => r.outlets()?.into_iter().map(|o| o.id).collect(),
        },
    )
}

pub fn parse_cursor(s: &str) -> Result<(i64, u64)> {
    let bad = || Error::InvalidQuery(format!("invalid cursor {s:?}"));
    let (a, b) = s.rsplit_once('.').ok_or_else(bad)?;
    Ok((a.parse().map_err(|_| bad())?, b.parse().map_err(|_| bad())?))
}

/// One column page: topics of `state` in the outlets, in sort order, after `after`.
pub fn column(
    r: &Reader,
    actor: &Actor,
    outlet: Option<OutletId>,
    state: TopicState,
    after: Option<(i64, u64)>,
    limit: usize,
    count: bool,
) -> Result<Column> {
    let outs = outlets(r, actor, outlet)?;
    // Merge the per-outlet ranges: each contributes at most `limit` (sort, id) pairs.
    let mut picked: BTreeSet<(i64, u64)> = BTreeSet::new();
    for o in &outs {
        let mut n = 0;
        r.walk_board(*o, state.code(), after, |s, id| {
            picked.insert((s, id.0));
            n += 1;
            n < limit
        })?;
    }
    let mut seen = BTreeSet::new();
    let mut topics = Vec::new();
    let mut last = None;
    for (s, id) in picked {
        if topics.len() == limit {
            break;
        }
        if !seen.insert(id) {
            continue;
        }
        if let Some(t) = access::topic(&r.0, TopicId(id))? {
            topics.push(t);
            last = Some((s, id));
        }
    }
    let (mut n, mut capped) = (0, false);
    if count {
        let mut ids = BTreeSet::new();
        for o in &outs {
            r.walk_board(*o, state.code(), None, |_, id| {
                ids.insert(id);
                ids.len() < COUNT_CAP
            })?;
            if ids.len() >= COUNT_CAP {
                capped = true;
                break;
            }
        }
        n = ids.len();
    }
    let more = topics.len() == limit;
    Ok(Column {
        state,
        count: n,
        capped,
        next: last.filter(|_| more).map(|(s, id)| format!("{s}.{id}")),
        topics,
    })
}

/// The whole board: the first page of every column.
pub fn board(
    r: &Reader,
    actor: &Actor,
    outlet: Option<OutletId>,
    limit: usize,
) -> Result<Vec<Column>> {
    COLUMNS
        .iter()
        .map(|s| column(r, actor, outlet, *s, None, limit, true))
        .collect()
}

pub struct CalendarItem {
    pub at: Millis,
    pub kind: DateKind,
    pub topic: TopicId,
}

/// Deadlines, assignment deadlines and planned publications in `[from, to)`.
pub fn calendar(
    r: &Reader,
    actor: &Actor,
    outlet: Option<OutletId>,
    from: Millis,
    to: Millis,
) -> Result<(Vec<CalendarItem>, BTreeMap<TopicId, Topic>)> {
    if to <= from || to - from > MAX_DAYS * DAY {
        return Err(Error::InvalidQuery(format!(
            "the range must be 1 ms to {MAX_DAYS} days long"
        )));
    }
    let mut seen = BTreeSet::new();
    for o in outlets(r, actor, outlet)? {
        for (at, id, k) in r.topic_dates(o, from, to, 5_000)? {
            seen.insert((at, id, k));
        }
    }
    let mut topics = BTreeMap::new();
    let mut items = Vec::new();
    for (at, id, k) in seen {
        if let std::collections::btree_map::Entry::Vacant(e) = topics.entry(id) {
            match access::topic(&r.0, id)? {
                Some(t) => {
                    e.insert(t);
                }
                None => continue,
            }
        }
        if let Some(kind) = DateKind::from_code(k) {
            items.push(CalendarItem {
                at,
                kind,
                topic: id,
            });
        }
    }
    Ok((items, topics))
}
