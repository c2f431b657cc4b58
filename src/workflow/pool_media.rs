//! The media of a shared article at an adopting county. The origin sent them up with its offer;
//! this county fetched them from its hub (`fed::inbox`). Adopting the article gives the draft its
//! own asset records for them (type sniffed here again, thumbnails made here), and the draft's
//! HTML points at those. When any medium the text uses is missing, the draft is text only:
//! a county asset URL must never reach a draft, where the same id is another file.

use std::collections::BTreeMap;

use crate::domain::asset::{Asset, AssetKind, classify};
use crate::domain::fact::Fact;
use crate::domain::hub::{CarriedMedia, rewrite_media};
use crate::domain::shared::SharedItem;
use crate::domain::{AssetId, OutletId, html};
use crate::error::{Error, Resource, Result};
use crate::store::federation;

use super::{Actor, Core, Writer};

/// A medium of the item that is here, checked and ready to become an asset.
#[derive(Debug, Clone)]
pub struct Ready {
    pub media: CarriedMedia,
    pub mime: String,
    pub kind: AssetKind,
    pub size: u64,
    pub width: Option<u32>,
    pub height: Option<u32>,
    pub thumb: Option<String>,
}

/// Check the item's media that have arrived and make thumbnails of its images (before the
/// write that adopts it).
pub async fn prepare(core: &Core, id: u64) -> Result<Vec<Ready>> {
    let item = {
        let r = core.reader()?;
        federation::pool_item(&r.0, id)?
            .ok_or(Error::NotFound(Resource::Shared))?
            .item
    };
    let mut out = Vec::new();
    for m in item.media {
        let Some((head, size)) = core.blobs.head(&m.sha256)? else {
            continue;
        };
        let Ok((mime, kind)) = classify(&head) else {
            continue;
        };
        let received = super::assets::Received {
            name: m.name.clone(),
            sha256: m.sha256.clone(),
            size,
            mime: mime.clone(),
            kind,
        };
        let (width, height, thumb) = super::assets::thumbnail(core, &received).await?;
        out.push(Ready {
            media: m,
            mime,
            kind,
            size,
            width,
            height,
            thumb,
        });
    }
    Ok(out)
}

/// The draft's body and cover: with its own copies of the media when every one the text and
/// cover use is ready, else the text alone and no cover.
pub fn copies(
    w: &mut Writer<'_>,
    actor: &Actor,
    outlet: OutletId,
    item: &SharedItem,
    ready: &[Ready],
) -> Result<(String, Option<AssetId>)> {
    let by_asset: BTreeMap<u64, &Ready> = ready
        .iter()
        .filter(|r| item.media.iter().any(|m| m == &r.media))
        .map(|r| (r.media.asset, r))
        .collect();
    let used: Vec<u64> = html::asset_refs(&item.body)
        .into_iter()
        .map(|a| a.0)
        .chain(item.cover)
        .collect();
    let text_only = || html::paragraphs_to_html(&html::to_text(&item.body));
    if used.is_empty() || !used.iter().all(|a| by_asset.contains_key(a)) {
        return Ok((text_only(), None));
    }
    let mut new_ids: BTreeMap<u64, AssetId> = BTreeMap::new();
    for a in &used {
        if new_ids.contains_key(a) {
            continue;
        }
        let r = by_asset[a];
        let asset = Asset {
            id: AssetId(w.next_id("asset")?),
            outlet,
            sha256: r.media.sha256.clone(),
            name: r.media.name.clone(),
            mime: r.mime.clone(),
            kind: r.kind,
            size: r.size,
            width: r.width,
            height: r.height,
            thumb_sha256: r.thumb.clone(),
            uploaded_by: actor.id(),
            created_at: w.now(),
        };
        new_ids.insert(*a, asset.id);
        w.emit(Some(actor.id()), Fact::AssetAdded { asset })?;
    }
    let body = rewrite_media(&html::sanitize(&item.body), |id| {
        new_ids
            .get(&id)
            .map(|n| format!("{}{}/content", html::ASSET_URL_PREFIX, n.0))
    });
    Ok((body, item.cover.and_then(|c| new_ids.get(&c).copied())))
}
