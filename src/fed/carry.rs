//! Carrying the log on removable media (U盘/移动硬盘) to an offline replica, and rolling a
//! restored backup forward: building segments from the log, writing them with the media files
//! they name and a manifest (never overwriting), and applying a directory of segments to a store
//! after checking each one's signature, checksum, instance and place in this store's history.

use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use redb::ReadableDatabase;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::segment::{self, Header};
use crate::clock::Millis;
use crate::domain::Lsn;
use crate::error::{Error, Result};
use crate::log::entry::{decode_stored, genesis};
use crate::media::BlobStore;
use crate::workflow::bootstrap::Opened;

/// Entries read from the log per step while filling a segment.
const READ_STEP: usize = 1_000;
/// Entries applied per durable commit on import.
const APPLY_STEP: usize = 1_000;
/// Subdirectory of an export that holds media files, named by SHA-256.
pub const ASSETS_DIR: &str = "assets";

/// One built segment and the log head when it was built.
pub struct Built {
    pub header: Header,
    pub bytes: Vec<u8>,
    pub head: u64,
}

/// Build the segment starting at `from` (same epoch, ≤ `segment::MAX_RAW` bytes), signed with
/// `sign`; `None` when the log ends before `from`.
pub fn build_segment(
    db: &redb::Database,
    instance: &crate::domain::InstanceId,
    from: u64,
    sign: &dyn Fn(&[u8]) -> Result<Vec<u8>>,
) -> Result<Option<Built>> {
    let from = from.max(1);
    let (_, head) = crate::log::read::head(db)?;
    if from > head.0 {
        return Ok(None);
    }
    let prev_hash = if from == 1 {
        hex::encode(genesis(instance))
    } else {
        let s = crate::log::raw_at(db, Lsn(from - 1))?
            .ok_or_else(|| Error::LogIntegrity(format!("entry {} is missing", from - 1)))?;
        decode_stored(&s)?.hash
    };
    let (mut entries, mut raw, mut epoch, mut at) = (Vec::new(), 0usize, None, from);
    'fill: while at <= head.0 {
        let step = crate::log::read_raw(db, Lsn(at), READ_STEP, usize::MAX)?;
        if step.is_empty() {
            break;
        }
        for s in step {
            let e = decode_stored(&s)?;
            if e.lsn.0 > head.0
                || epoch.is_some_and(|x| x != e.epoch.0)
                || (raw + s.len() > segment::MAX_RAW && !entries.is_empty())
            {
                break 'fill;
            }
            epoch = Some(e.epoch.0);
            raw += s.len();
            entries.push(s);
            at += 1;
        }
    }
    let header = Header {
        instance: instance.0.clone(),
        epoch: epoch.unwrap_or(0),
        first: from,
        last: at - 1,
        prev_hash,
        count: 0,
        raw_bytes: 0,
        sha256: String::new(),
        signature: String::new(),
    };
    let (header, bytes) = segment::encode(header, &entries, |m| sign(m))?;
    Ok(Some(Built {
        header,
        bytes,
        head: head.0,
    }))
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SegmentRef {
    pub file: String,
    pub epoch: u64,
    pub first: u64,
    pub last: u64,
    pub bytes: u64,
    pub sha256: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AssetRef {
    pub sha256: String,
    pub size: u64,
}

/// What one export wrote (also written as its manifest file).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    pub instance: String,
    pub ca_fingerprint: String,
    pub exported_at: Millis,
    pub from: u64,
    pub to: u64,
    pub segments: Vec<SegmentRef>,
    /// Media files in `assets/` that the exported entries name.
    pub assets: Vec<AssetRef>,
    /// Media the entries name that this instance does not have (not carried).
    pub assets_missing: Vec<String>,
}

impl Manifest {
    pub fn file_name(&self) -> String {
        format!("MANIFEST-{:012}-{:012}.json", self.from, self.to)
    }
}

/// Write a new file; an existing one is never overwritten.
pub fn write_new(path: &Path, bytes: &[u8]) -> Result<()> {
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)
        .map_err(|e| {
            Error::Io(format!(
                "{}: {e} (export files are never overwritten)",
                path.display()
            ))
        })?;
    f.write_all(bytes)?;
    f.sync_all()?;
    Ok(())
}

/// Media hashes that stored entries add: asset files and thumbnails, and the files of
/// instructions a county received from its hub.
pub fn media_of(stored: &[Vec<u8>]) -> Vec<String> {
    let facts: Vec<_> = stored
        .iter()
        .filter(|s| {
            crate::log::entry::fact_is(s, "AssetAdded")
                || crate::log::entry::fact_is(s, "HubMessageReceived")
        })
        .filter_map(|s| crate::log::entry::decode_stored(s).ok())
        .map(|e| e.fact)
        .collect();
    media_of_facts(facts.iter())
}

/// The media files (content hashes) the given facts name.
pub fn media_of_facts<'a>(
    facts: impl Iterator<Item = &'a crate::domain::fact::Fact>,
) -> Vec<String> {
    use crate::domain::fact::Fact;
    use crate::domain::instruction::Down;
    facts
        .flat_map(|f| match f {
            Fact::AssetAdded { asset } => std::iter::once(asset.sha256.clone())
                .chain(asset.thumb_sha256.clone())
                .collect::<Vec<_>>(),
            Fact::HubMessageReceived {
                message: Down::Instruction { instruction },
                ..
            } => instruction
                .attachments
                .iter()
                .map(|a| a.sha256.clone())
                .collect(),
            Fact::HubMessageReceived {
                message: Down::Shared { item },
                ..
            } => item.media.iter().map(|m| m.sha256.clone()).collect(),
            _ => Vec::new(),
        })
        .collect()
}

/// Copy a media file to `dest`, resuming a `.part` left by an interrupted copy from its length;
/// the finished copy is hash-checked before it gets its name.
pub fn copy_resumable(src: &Path, dest: &Path, sha256: &str) -> Result<u64> {
    let size = std::fs::metadata(src)?.len();
    if let Ok(m) = std::fs::metadata(dest) {
        if m.len() == size {
            return Ok(0);
        }
        return Err(Error::Io(format!(
            "{} exists with another size (export files are never overwritten)",
            dest.display()
        )));
    }
    let part = dest.with_extension("part");
    let mut out = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&part)?;
    let done = out.metadata()?.len().min(size);
    let mut from = std::fs::File::open(src)?;
    from.seek(SeekFrom::Start(done))?;
    let copied = std::io::copy(&mut from, &mut out)?;
    out.sync_all()?;
    let mut h = crate::store::snapshot::HashWriter(Sha256::new());
    std::io::copy(&mut std::fs::File::open(&part)?, &mut h)?;
    if hex::encode(h.0.finalize()) != sha256 {
        let _ = std::fs::remove_file(&part);
        return Err(Error::Io(format!(
            "{}: the copy does not match {sha256}; run the export again",
            dest.display()
        )));
    }
    std::fs::rename(&part, dest)?;
    Ok(copied)
}

/// Export everything from `from` to the head: segments from `next` (offline: built from the
/// store; online: fetched from the running server), each verified with `ca_pem`, written next
/// to the media files they name and a manifest. `progress(done, total)` after each segment.
pub fn export(
    next: &mut dyn FnMut(u64) -> Result<Option<(Vec<u8>, u64)>>,
    ca_pem: &str,
    blobs: &BlobStore,
    from: u64,
    out: &Path,
    now: Millis,
    progress: &mut dyn FnMut(u64, u64),
) -> Result<Manifest> {
    std::fs::create_dir_all(out.join(ASSETS_DIR))?;
    let from = from.max(1);
    let mut m = Manifest {
        instance: String::new(),
        ca_fingerprint: super::pki::fingerprint(&super::pki::pem_to_der(ca_pem)?),
        exported_at: now,
        from,
        to: from - 1,
        segments: Vec::new(),
        assets: Vec::new(),
        assets_missing: Vec::new(),
    };
    while let Some((bytes, head)) = next(m.to + 1)? {
        let (h, entries) =
            segment::decode(&bytes, |msg, sig| super::pki::verify(ca_pem, msg, sig))?;
        let path = out.join(h.file_name());
        write_new(&path, &bytes)?;
        for sha in media_of(&entries) {
            let src = blobs.path(&sha);
            if !src.exists() {
                m.assets_missing.push(sha);
                continue;
            }
            copy_resumable(&src, &out.join(ASSETS_DIR).join(&sha), &sha)?;
            let size = std::fs::metadata(&src)?.len();
            m.assets.push(AssetRef { sha256: sha, size });
        }
        m.instance = h.instance.clone();
        m.to = h.last;
        m.segments.push(SegmentRef {
            file: h.file_name(),
            epoch: h.epoch,
            first: h.first,
            last: h.last,
            bytes: bytes.len() as u64,
            sha256: hex::encode(Sha256::digest(&bytes)),
        });
        progress(h.last + 1 - from, head + 1 - from);
    }
    if m.segments.is_empty() {
        return Err(Error::invalid(
            "from",
            format!("nothing to export: the log ends before {from}"),
        ));
    }
    let json = serde_json::to_vec_pretty(&m).map_err(|e| Error::Internal(e.to_string()))?;
    write_new(&out.join(m.file_name()), &json)?;
    Ok(m)
}

/// Where a roll-forward stops.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Until {
    /// Everything the segments hold.
    End,
    /// Up to and including this lsn.
    Lsn(u64),
    /// Up to the last entry written at or before this time (ms).
    Time(Millis),
}

/// What an import did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Imported {
    pub applied: u64,
    pub already: u64,
    pub head: u64,
    pub assets_copied: u64,
    /// Media the store's records name that are still not here.
    pub assets_missing: u64,
    /// One line per segment file.
    pub lines: Vec<String>,
}

fn refuse(name: &str, why: impl std::fmt::Display) -> Error {
    Error::invalid("segment", format!("{name}: refused: {why}"))
}

/// The stored hash of entry `lsn` (`lsn` 0: the genesis).
fn hash_at(opened: &Opened, lsn: u64) -> Result<Option<String>> {
    if lsn == 0 {
        return Ok(Some(hex::encode(genesis(&opened.meta.instance_id))));
    }
    crate::log::raw_at(&opened.db, Lsn(lsn))?
        .map(|s| decode_stored(&s).map(|e| e.hash))
        .transpose()
}

fn segment_files(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut names: Vec<_> = std::fs::read_dir(dir)
        .map_err(|e| Error::Io(format!("{}: {e}", dir.display())))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "rmlog"))
        .collect();
    names.sort();
    if names.is_empty() {
        return Err(Error::invalid(
            "segment",
            format!("no .rmlog segments in {}", dir.display()),
        ));
    }
    Ok(names)
}

/// Apply the segments in `dir` that continue this store's log, in position order, up to
/// `until`; each is checked (signature by `ca_pem`, checksum, instance, and that it continues
/// this store's own history) and refused with the reason. Segments already applied are
/// skipped after checking they are the same history; a gap names the exact missing range.
/// Then the media files in `dir/assets` that the store lacks are taken in, hash-checked.
pub fn import(
    opened: &mut Opened,
    blobs: Option<&BlobStore>,
    dir: &Path,
    ca_pem: &str,
    until: Until,
    now: Millis,
    progress: &mut dyn FnMut(u64, u64),
) -> Result<Imported> {
    let mut r = Imported::default();
    'files: for path in segment_files(dir)? {
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let mut bytes = Vec::new();
        std::fs::File::open(&path)?.read_to_end(&mut bytes)?;
        let (h, entries) = segment::decode(&bytes, |m, s| super::pki::verify(ca_pem, m, s))
            .map_err(|e| refuse(&name, e))?;
        if h.instance != opened.meta.instance_id.0 {
            return Err(refuse(
                &name,
                format!(
                    "it is from instance {}, this store is instance {}",
                    h.instance, opened.meta.instance_id.0
                ),
            ));
        }
        if entries.len() as u64 != h.last + 1 - h.first {
            return Err(refuse(&name, "its entry count does not match its range"));
        }
        let head = opened.appender.head().0;
        if h.first > head + 1 {
            return Err(refuse(
                &name,
                format!(
                    "it starts at {}, this store ends at {head}; missing entries {}–{} (export them with `rongmei log export --from {}`)",
                    h.first,
                    head + 1,
                    h.first - 1,
                    head + 1
                ),
            ));
        }
        // Same history: our entry before the segment is the one it continues from, and the
        // entries we already have are the segment's.
        let ours = hash_at(opened, h.first - 1)?.unwrap_or_default();
        if ours != h.prev_hash {
            return Err(diverged(&h, h.first - 1, &h.prev_hash, &ours));
        }
        for lsn in h.first..=head.min(h.last) {
            let theirs = decode_stored(&entries[(lsn - h.first) as usize])?.hash;
            let ours = hash_at(opened, lsn)?.unwrap_or_default();
            if theirs != ours {
                return Err(diverged(&h, lsn, &theirs, &ours));
            }
        }
        if h.last <= head {
            r.already += h.count;
            r.lines.push(format!(
                "{name}: entries {}–{} already here",
                h.first, h.last
            ));
            continue;
        }
        let mut todo = Vec::new();
        let mut stop = false;
        for s in entries.into_iter().skip((head + 1 - h.first) as usize) {
            let r = crate::log::entry::Received::decode(s)?;
            let e = r.entry();
            let past = match until {
                Until::End => false,
                Until::Lsn(n) => e.lsn.0 > n,
                Until::Time(t) => e.at > t,
            };
            if past {
                stop = true;
                break;
            }
            todo.push(r);
        }
        let total = todo.len() as u64;
        let mut done = 0;
        for chunk in todo.chunks(APPLY_STEP) {
            crate::workflow::commit::run_once(&opened.db, &mut opened.appender, now, |w| {
                w.replicate(chunk)
            })
            .map_err(|e| refuse(&name, e))?;
            done += chunk.len() as u64;
            r.applied += chunk.len() as u64;
            progress(done, total);
        }
        r.lines.push(format!(
            "{name}: applied up to {}",
            opened.appender.head().0
        ));
        if stop {
            break 'files;
        }
    }
    r.head = opened.appender.head().0;
    if let Some(blobs) = blobs {
        let assets = dir.join(ASSETS_DIR);
        let (copied, missing) = take_assets(opened, blobs, &|sha| {
            Some(assets.join(sha)).filter(|p| p.is_file())
        })?;
        r.assets_copied = copied;
        r.assets_missing = missing;
    }
    Ok(r)
}

fn diverged(h: &Header, at: u64, theirs: &str, ours: &str) -> Error {
    Error::HistoryDiverged {
        follower: format!(
            "lsn {at} hash {} (segment {}, epoch {})",
            short(theirs),
            h.file_name(),
            h.epoch
        ),
        here: format!("lsn {at} hash {}", short(ours)),
    }
}

fn short(h: &str) -> &str {
    h.get(..16).unwrap_or(h)
}

/// Take in the media files that the store's asset records name and the blob store lacks, from
/// where `locate` finds them (hash-checked). Returns (copied, still missing).
pub fn take_assets(
    opened: &Opened,
    blobs: &BlobStore,
    locate: &dyn Fn(&str) -> Option<PathBuf>,
) -> Result<(u64, u64)> {
    let r = opened.db.begin_read()?;
    let (mut copied, mut missing) = (0, 0);
    for a in crate::store::access::all_assets(&r)? {
        for sha in std::iter::once(a.sha256).chain(a.thumb_sha256) {
            if blobs.path(&sha).exists() {
                continue;
            }
            match locate(&sha) {
                Some(src) if blobs.adopt_file(&src, &sha)? => copied += 1,
                _ => missing += u64::from(!blobs.path(&sha).exists()),
            }
        }
    }
    Ok((copied, missing))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_interrupted_media_copy_resumes_and_a_wrong_one_is_refused() {
        let d = tempfile::tempdir().unwrap();
        let src = d.path().join("src");
        let data: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();
        std::fs::write(&src, &data).unwrap();
        let sha = hex::encode(Sha256::digest(&data));
        let dest = d.path().join(&sha);
        // Half of it arrived before the medium was pulled out.
        std::fs::write(dest.with_extension("part"), &data[..80_000]).unwrap();
        assert_eq!(copy_resumable(&src, &dest, &sha).unwrap(), 120_000);
        assert_eq!(std::fs::read(&dest).unwrap(), data);
        assert!(!dest.with_extension("part").exists());
        // Done already: nothing copied, nothing overwritten.
        assert_eq!(copy_resumable(&src, &dest, &sha).unwrap(), 0);
        // A damaged partial copy is not trusted: refused, and removed for the next attempt.
        let dest2 = d.path().join("other");
        let mut bad = data[..80_000].to_vec();
        bad[10] ^= 1;
        std::fs::write(dest2.with_extension("part"), &bad).unwrap();
        assert!(copy_resumable(&src, &dest2, &sha).is_err());
        assert!(!dest2.exists() && !dest2.with_extension("part").exists());
        assert_eq!(copy_resumable(&src, &dest2, &sha).unwrap(), 200_000);
    }
}
