//! Media assets: upload (stream → sniff → blob → record), list, fetch, delete (refused while any
//! article uses it). Files of deleted assets are removed once no record points at them.

use bytes::Bytes;
use futures_util::Stream;

use crate::domain::asset::{Asset, check_declared, classify, validate_file_name};
use crate::domain::fact::Fact;
use crate::domain::user::Permission;
use crate::domain::{AssetId, OutletId};
use crate::error::{Error, Resource, Result};
use crate::store::{Access, Reader, access, apply};

use super::{Actor, Core, outlets};

pub fn get(a: &impl Access, actor: &Actor, id: AssetId) -> Result<Asset> {
    match access::asset(a, id)? {
        Some(x) if actor.can(x.outlet, Permission::AssetRead) => Ok(x),
        _ => Err(Error::NotFound(Resource::Asset)),
    }
}

pub struct Upload<'a> {
    pub outlet: &'a str,
    pub name: &'a str,
    pub declared_type: Option<&'a str>,
}

pub async fn upload<S, E>(core: &Core, actor: &Actor, u: Upload<'_>, body: S) -> Result<Asset>
where
    S: Stream<Item = std::result::Result<Bytes, E>> + Unpin,
    E: std::fmt::Display,
{
    let outlet = {
        let r = core.reader()?;
        let o = outlets::resolve(&r.0, u.outlet)?;
        if !actor.can(o.id, Permission::AssetRead) {
            return Err(Error::NotFound(Resource::Outlet));
        }
        if !actor.can(o.id, Permission::AssetUpload) {
            return Err(Error::Forbidden);
        }
        o.id
    };
    let name = validate_file_name(u.name)?;
    let staged = core
        .blobs
        .stage(body, core.config.assets.max_upload_bytes)
        .await?;
    let checked = classify(&staged.head).and_then(|(mime, kind)| {
        check_declared(u.declared_type, &name, &mime)?;
        Ok((mime, kind))
    });
    let (mime, kind) = match checked {
        Ok(v) => v,
        Err(e) => {
            staged.discard().await;
            return Err(e);
        }
    };
    let (sha, size) = (staged.sha256.clone(), staged.size);
    let path = core.blobs.keep(staged).await?;
    let (mut width, mut height, mut thumb) = (None, None, None);
    if kind == crate::domain::asset::AssetKind::Image {
        let made = tokio::task::spawn_blocking(move || crate::media::thumbnail(&path))
            .await
            .ok()
            .flatten();
        if let Some((jpeg, w, h)) = made {
            width = Some(w);
            height = Some(h);
            thumb = Some(core.blobs.put_bytes(jpeg).await?);
        }
    }
    let uid = actor.id();
    core.committer
        .write(move |w| {
            let asset = Asset {
                id: AssetId(w.next_id("asset")?),
                outlet,
                sha256: sha.clone(),
                name: name.clone(),
                mime: mime.clone(),
                kind,
                size,
                width,
                height,
                thumb_sha256: thumb.clone(),
                uploaded_by: uid,
                created_at: w.now(),
            };
            w.emit(
                Some(uid),
                Fact::AssetAdded {
                    asset: asset.clone(),
                },
            )?;
            Ok(asset)
        })
        .await
}

/// Delete an unused asset; then remove its files if no other record shares them.
pub async fn delete(core: &Core, actor: &Actor, id: AssetId) -> Result<()> {
    let a2 = actor.clone();
    let asset = core
        .committer
        .write(move |w| {
            let asset = get(w.tx(), &a2, id)?;
            if !a2.can(asset.outlet, Permission::AssetDelete) {
                return Err(Error::Forbidden);
            }
            let n = apply::asset_ref_count(w.tx(), id)?;
            if n > 0 {
                return Err(Error::AssetInUse { articles: n });
            }
            w.emit(Some(a2.id()), Fact::AssetDeleted { id })?;
            Ok(asset)
        })
        .await?;
    let r = core.reader()?;
    for sha in std::iter::once(&asset.sha256).chain(asset.thumb_sha256.as_ref()) {
        if !r.blob_in_use(sha)? && !super::attachments::in_use(&r.0, sha)? {
            core.blobs.remove(sha).await;
        }
    }
    Ok(())
}

pub fn list(
    r: &Reader,
    actor: &Actor,
    outlet: Option<OutletId>,
    kind: Option<crate::domain::asset::AssetKind>,
    q: Option<&str>,
    before: Option<u64>,
    limit: usize,
) -> Result<Vec<Asset>> {
    let outlets = actor.restrict(Permission::AssetRead, outlet.map(|o| vec![o]));
    r.list_assets(outlets.as_deref(), kind, q, before, limit)
}

pub fn usage(r: &Reader, actor: &Actor, id: AssetId) -> Result<u64> {
    get(&r.0, actor, id)?;
    r.asset_ref_count(id)
}
