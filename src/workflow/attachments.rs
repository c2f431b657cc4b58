//! Files sent with reporting instructions.
//!
//! At the hub an administrator uploads each file before issuing: it is streamed into the media
//! directory (content-addressed, type sniffed from the bytes, as an asset upload is) and
//! described back. The instruction then names the files by hash; the hub describes them again
//! from the bytes it holds, so a client cannot claim another type or size. A file nobody
//! attaches stays in the media directory, unreferenced (`rongmei check` does not count it).
//!
//! A target county fetches each file of an instruction in its inbox from its hub over the
//! federation connection (`fed::inbox`), and only those: the hub hands a county the files of
//! instructions sent to it, nothing else. Until a file has arrived the county's users get
//! `attachment_pending`. A county's DR replica follows the files like asset files.

use bytes::Bytes;
use futures_util::Stream;

use crate::domain::asset::{classify, sha256_name, validate_file_name};
use crate::domain::instruction::{Attachment, MAX_ATTACHMENTS};
use crate::error::{Error, Resource, Result};
use crate::media::BlobStore;
use crate::store::access::Access;
use crate::store::federation;

use super::{Actor, Core, hub_admin, require_role};

/// Receive one file for an instruction about to be issued (hub administrators).
pub async fn upload<S, E>(
    core: &Core,
    actor: &Actor,
    name: &str,
    declared_type: Option<&str>,
    body: S,
) -> Result<Attachment>
where
    S: Stream<Item = std::result::Result<Bytes, E>> + Unpin,
    E: std::fmt::Display,
{
    hub_admin(&core.reader()?.0, actor)?;
    if !actor.writes() {
        return Err(Error::Forbidden);
    }
    let f = super::assets::receive(core, name, declared_type, body).await?;
    Ok(Attachment {
        sha256: f.sha256,
        name: f.name,
        mime: f.mime,
        kind: f.kind,
        size: f.size,
    })
}

/// The files an instruction names, `(sha256, file name)`, described from the bytes the hub
/// holds. Each must have been uploaded here.
pub fn describe(blobs: &BlobStore, named: &[(String, String)]) -> Result<Vec<Attachment>> {
    if named.len() > MAX_ATTACHMENTS {
        return Err(Error::invalid(
            "attachments",
            format!("at most {MAX_ATTACHMENTS} files"),
        ));
    }
    let mut out: Vec<Attachment> = Vec::with_capacity(named.len());
    for (sha, name) in named {
        let sha = sha256_name("attachments.sha256", sha)?;
        if out.iter().any(|a| a.sha256 == sha) {
            continue;
        }
        let name = validate_file_name(name)?;
        let (head, size) = blobs.head(&sha)?.ok_or_else(|| {
            Error::invalid("attachments.sha256", format!("{sha} was not uploaded here"))
        })?;
        let (mime, kind) = classify(&head)?;
        out.push(Attachment {
            sha256: sha,
            name,
            mime,
            kind,
            size,
        });
    }
    Ok(out)
}

/// Hub: may this county fetch this file (attached to an instruction sent to it, or a medium of
/// a shared article from another county)?
pub fn county_may_fetch(a: &impl Access, county: &str, sha256: &str) -> Result<bool> {
    let attached = federation::instructions(a)?.iter().any(|i| {
        i.counties.iter().any(|c| c == county) && i.attachments.iter().any(|x| x.sha256 == sha256)
    });
    Ok(attached
        || federation::shared_items(a)?.iter().any(|i| {
            i.origin != county
                && i.withdrawn.is_none()
                && i.media.iter().any(|m| m.sha256 == sha256)
        }))
}

/// Is a media file an instruction attachment here (issued at a hub, or in a county's inbox)?
/// Such a file stays when an asset with the same bytes is deleted.
pub fn in_use(a: &impl Access, sha256: &str) -> Result<bool> {
    let attached = |v: &[Attachment]| v.iter().any(|x| x.sha256 == sha256);
    let carried = |v: &[crate::domain::hub::CarriedMedia]| v.iter().any(|x| x.sha256 == sha256);
    Ok(federation::instructions(a)?
        .iter()
        .any(|i| attached(&i.attachments))
        || federation::inbox(a)?
            .iter()
            .any(|i| attached(&i.instruction.attachments))
        || federation::shared_items(a)?
            .iter()
            .any(|i| carried(&i.media))
        || federation::pool(a)?.iter().any(|p| carried(&p.item.media)))
}

/// County: the files of its inbox and the media of its pool that have not arrived yet
/// (hashes, oldest first).
pub fn missing(a: &impl Access, blobs: &BlobStore) -> Result<Vec<String>> {
    let mut items = federation::inbox(a)?;
    items.sort_by_key(|i| i.seq);
    let mut out: Vec<String> = Vec::new();
    let mut pool = federation::pool(a)?;
    pool.sort_by_key(|p| p.seq);
    let shas = items
        .iter()
        .flat_map(|i| i.instruction.attachments.iter().map(|x| &x.sha256))
        .chain(
            pool.iter()
                .filter(|p| p.item.withdrawn.is_none())
                .flat_map(|p| p.item.media.iter().map(|m| &m.sha256)),
        );
    for sha in shas {
        if !out.contains(sha) && !blobs.path(sha).exists() {
            out.push(sha.clone());
        }
    }
    Ok(out)
}

fn nth(v: &[Attachment], n: usize) -> Result<Attachment> {
    v.get(n).cloned().ok_or(Error::NotFound(Resource::Asset))
}

/// County: file `n` of an inbox instruction, for anyone signed in (they all read the inbox);
/// `attachment_pending` until it has arrived.
pub fn of_inbox(a: &impl Access, blobs: &BlobStore, id: u64, n: usize) -> Result<Attachment> {
    require_role(a, "county")?;
    let it = federation::inbox_item(a, id)?.ok_or(Error::NotFound(Resource::Instruction))?;
    let x = nth(&it.instruction.attachments, n)?;
    if blobs.path(&x.sha256).exists() {
        Ok(x)
    } else {
        Err(Error::AttachmentPending)
    }
}

/// Hub: file `n` of an issued instruction, for its administrators.
pub fn of_issued(a: &impl Access, actor: &Actor, id: u64, n: usize) -> Result<Attachment> {
    hub_admin(a, actor)?;
    let i = federation::instruction(a, id)?.ok_or(Error::NotFound(Resource::Instruction))?;
    nth(&i.attachments, n)
}
