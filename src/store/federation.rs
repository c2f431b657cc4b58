//! Typed reads of the federation tables: peers and pairings, and what a hub keeps of its
//! counties (cursors, articles, instructions and their progress, outboxes, provincial reviews,
//! the shared pool) and a county of its hub (inbox, pool).

use redb::{ReadableTable, ReadableTableMetadata};

use super::access::{Access, all_typed, typed, under_typed};
use super::codec;
use super::tables::*;
use crate::domain::hub::CountyArticle;
use crate::error::Result;

pub fn peer(a: &impl Access, id: &str) -> Result<Option<crate::domain::peer::Peer>> {
    typed(a.bytes(PEERS, id)?)
}
/// A peer's display name, or its id when this instance does not know it.
pub fn peer_name(a: &impl Access, id: &str) -> Result<String> {
    Ok(peer(a, id)?.map_or_else(|| id.to_string(), |p| p.name))
}
pub fn peers(a: &impl Access) -> Result<Vec<crate::domain::peer::Peer>> {
    a.values_by_name(PEERS)?
        .iter()
        .map(|b| codec::decode(b))
        .collect()
}
pub fn county_cursor(
    a: &impl Access,
    county: &str,
) -> Result<Option<crate::domain::hub::CountyCursor>> {
    typed(a.bytes(COUNTY_CURSORS, county)?)
}
pub fn county_articles(a: &impl Access, county: &str) -> Result<Vec<CountyArticle>> {
    under_typed(a, COUNTY_ARTICLES, county)
}
/// How many county articles the hub holds, all counties together.
pub fn county_article_count(a: &redb::ReadTransaction) -> Result<u64> {
    Ok(a.open_table(COUNTY_ARTICLES)?.len()?)
}
/// Every county article the hub holds, by county then id, one at a time (rebuilding an index).
pub fn for_each_county_article(
    a: &redb::ReadTransaction,
    mut f: impl FnMut(CountyArticle) -> Result<()>,
) -> Result<()> {
    for row in a.open_table(COUNTY_ARTICLES)?.iter()? {
        f(codec::decode(row?.1.value())?)?;
    }
    Ok(())
}
/// One of a county's articles as the hub holds it.
pub fn county_article(a: &impl Access, county: &str, id: u64) -> Result<Option<CountyArticle>> {
    typed(a.bytes(COUNTY_ARTICLES, (county, id))?)
}
pub fn instruction(
    a: &impl Access,
    id: u64,
) -> Result<Option<crate::domain::instruction::Instruction>> {
    typed(a.bytes(INSTRUCTIONS, id)?)
}
pub fn instructions(a: &impl Access) -> Result<Vec<crate::domain::instruction::Instruction>> {
    all_typed(a, INSTRUCTIONS)
}
pub fn progress(
    a: &impl Access,
    county: &str,
    instruction: u64,
) -> Result<Option<crate::domain::instruction::Progress>> {
    typed(a.bytes(INSTRUCTION_PROGRESS, (county, instruction))?)
}
/// Messages for a county after number `after` (at most `limit`), as (number, message).
pub fn outbox(
    a: &impl Access,
    county: &str,
    after: u64,
    limit: usize,
) -> Result<Vec<(u64, crate::domain::instruction::Down)>> {
    a.rows_under(COUNTY_OUTBOX, county, after, limit)?
        .into_iter()
        .map(|(k, b)| Ok((k, codec::decode(&b)?)))
        .collect()
}
pub fn inbox_item(
    a: &impl Access,
    id: u64,
) -> Result<Option<crate::domain::instruction::InboxItem>> {
    typed(a.bytes(INBOX, id)?)
}
pub fn inbox(a: &impl Access) -> Result<Vec<crate::domain::instruction::InboxItem>> {
    all_typed(a, INBOX)
}
pub fn provincial_review(
    a: &impl Access,
    county: &str,
    article: u64,
) -> Result<Option<crate::domain::provincial::ProvincialReview>> {
    typed(a.bytes(PROVINCIAL_REVIEWS, (county, article))?)
}
/// Every provincial review a hub holds, county by county.
pub fn provincial_reviews(
    a: &impl Access,
    counties: &[String],
) -> Result<Vec<crate::domain::provincial::ProvincialReview>> {
    let mut out = Vec::new();
    for c in counties {
        for b in a.values_under(PROVINCIAL_REVIEWS, c)? {
            out.push(codec::decode(&b)?);
        }
    }
    Ok(out)
}
pub fn shared_item(a: &impl Access, id: u64) -> Result<Option<crate::domain::shared::SharedItem>> {
    typed(a.bytes(SHARED, id)?)
}
pub fn shared_items(a: &impl Access) -> Result<Vec<crate::domain::shared::SharedItem>> {
    all_typed(a, SHARED)
}
pub fn pool_item(a: &impl Access, id: u64) -> Result<Option<crate::domain::shared::PoolItem>> {
    typed(a.bytes(POOL, id)?)
}
pub fn pool(a: &impl Access) -> Result<Vec<crate::domain::shared::PoolItem>> {
    all_typed(a, POOL)
}
pub fn pairing(a: &impl Access, key: &[u8]) -> Result<Option<crate::domain::peer::Pairing>> {
    typed(a.bytes(PAIRINGS, key)?)
}
