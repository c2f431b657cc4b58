//! The planning board and calendar indexes (`TOPIC_BOARD`, `TOPIC_DATES`, `ARTICLE_TOPIC`),
//! kept in step with `TOPICS` by the projection.

use super::Tx;
use super::access;
use super::codec::encode;
use super::queue::NO_DUE;
use super::tables::{ARTICLE_TOPIC, TOPIC_BOARD, TOPIC_DATES, TOPICS};
use crate::domain::topic::{Topic, TopicState};
use crate::error::Result;

pub type BoardKey = (u64, u8, i64, u64);

/// Where a topic sorts inside its board column.
pub fn sort_of(t: &Topic) -> i64 {
    if t.state.is_open() {
        t.deadline.unwrap_or(NO_DUE.saturating_add(t.proposed_at))
    } else {
        -t.updated_at
    }
}

fn board_keys(t: &Topic) -> Vec<BoardKey> {
    if t.state == TopicState::Merged {
        return Vec::new();
    }
    let s = sort_of(t);
    t.outlets
        .iter()
        .map(|o| (o.0, t.state.code(), s, t.id.0))
        .collect()
}

fn date_keys(t: &Topic) -> Vec<(u64, i64, u64, u8)> {
    let dates = t.dates();
    t.outlets
        .iter()
        .flat_map(|o| {
            dates
                .iter()
                .map(move |(at, k)| (o.0, *at, t.id.0, k.code()))
        })
        .collect()
}

/// Store a topic and move its index entries from where the old version had them.
pub fn save(txn: &Tx<'_>, t: &Topic) -> Result<()> {
    let old = access::topic(txn, t.id)?;
    {
        let mut board = txn.open_table(TOPIC_BOARD)?;
        let mut dates = txn.open_table(TOPIC_DATES)?;
        let mut links = txn.open_table(ARTICLE_TOPIC)?;
        if let Some(o) = &old {
            for k in board_keys(o) {
                board.remove(k)?;
            }
            for k in date_keys(o) {
                dates.remove(k)?;
            }
            for a in o.articles.iter().filter(|a| !t.articles.contains(a)) {
                links.remove(a.0)?;
            }
        }
        for k in board_keys(t) {
            board.insert(k, ())?;
        }
        for k in date_keys(t) {
            dates.insert(k, ())?;
        }
        for a in &t.articles {
            links.insert(a.0, t.id.0)?;
        }
    }
    txn.open_table(TOPICS)?
        .insert(t.id.0, encode(t).as_slice())?;
    Ok(())
}
