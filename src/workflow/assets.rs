//! Media assets: upload (stream → sniff → blob → record), list, fetch, delete (refused while any
//! article uses it). Files of deleted assets are removed once no record points at them.

use bytes::Bytes;
use futures_util::Stream;

use crate::domain::asset::{Asset, AssetKind, check_declared, classify, validate_file_name};
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
    let f = receive(core, u.name, u.declared_type, body).await?;
    let (width, height, thumb) = thumbnail(core, &f).await?;
    let Received {
        name,
        sha256: sha,
        size,
        mime,
        kind,
    } = f;
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

/// A file received into the media store: its checked name, hash, size and sniffed type.
#[derive(Debug, Clone)]
pub struct Received {
    pub name: String,
    pub sha256: String,
    pub size: u64,
    pub mime: String,
    pub kind: AssetKind,
}

/// Stream an upload into the media store (at most `assets.max_upload_bytes`), its type sniffed
/// from the bytes and checked against what the client declared; nothing is kept if it fails.
/// Asset uploads and instruction files both come in this way.
pub async fn receive<S, E>(
    core: &Core,
    name: &str,
    declared_type: Option<&str>,
    body: S,
) -> Result<Received>
where
    S: Stream<Item = std::result::Result<Bytes, E>> + Unpin,
    E: std::fmt::Display,
{
    let name = validate_file_name(name)?;
    let staged = core
        .blobs
        .stage(body, core.config.assets.max_upload_bytes)
        .await?;
    let checked = classify(&staged.head).and_then(|(mime, kind)| {
        check_declared(declared_type, &name, &mime)?;
        Ok((mime, kind))
    });
    let (mime, kind) = match checked {
        Ok(v) => v,
        Err(e) => {
            staged.discard().await;
            return Err(e);
        }
    };
    let (sha256, size) = (staged.sha256.clone(), staged.size);
    core.blobs.keep(staged).await?;
    Ok(Received {
        name,
        sha256,
        size,
        mime,
        kind,
    })
}

/// Width, height and the thumbnail blob of an image in the media store (nothing for other
/// kinds, or an image that does not decode).
pub async fn thumbnail(
    core: &Core,
    f: &Received,
) -> Result<(Option<u32>, Option<u32>, Option<String>)> {
    if f.kind != AssetKind::Image {
        return Ok((None, None, None));
    }
    let path = core.blobs.path(&f.sha256);
    let made = tokio::task::spawn_blocking(move || crate::media::thumbnail(&path))
        .await
        .ok()
        .flatten();
    match made {
        Some((jpeg, w, h)) => Ok((Some(w), Some(h), Some(core.blobs.put_bytes(jpeg).await?))),
        None => Ok((None, None, None)),
    }
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
