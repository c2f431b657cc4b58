//! Backups: a consistent snapshot of the store (one redb read transaction, so it can be taken
//! while the server writes) in one file, and restoring it into an empty data dir as a new epoch,
//! optionally rolled forward with log segments to a chosen lsn or time (point-in-time recovery).
//!
//! # File format (`.rmbak`)
//!
//! | size | field                                                                        |
//! |------|------------------------------------------------------------------------------|
//! | 8    | magic `RMBAK01\n`                                                            |
//! | 4    | header length, u32 BE                                                        |
//! | ..   | header, JSON (`Header`): instance, role, position (epoch, lsn, hash), time,  |
//! |      | the CA certificate that signs the instance's segments, the assets manifest   |
//! | ..   | zstd of the content stream (`store::snapshot`)                               |
//! | ..   | trailer, JSON (`Trailer`): content digest, counts, SHA-256 of all bytes      |
//! |      | before the trailer                                                           |
//! | 4    | trailer length, u32 BE                                                       |
//! | 8    | `RMBAKEND`                                                                   |
//!
//! A file is checked end to end (trailer checksum) before anything is loaded, and the loaded
//! content must hash to the digest the trailer names.

use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use redb::ReadableDatabase;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::carry::{self, AssetRef, Until};
use crate::clock::Millis;
use crate::domain::fact::EpochReason;
use crate::domain::{Epoch, InstanceId, Lsn};
use crate::error::{Error, Result};
use crate::log::Appender;
use crate::media::BlobStore;
use crate::store::snapshot::{self, Counts};
use crate::store::tables::META;
use crate::store::{self, InstanceMeta, LogHead, access, apply, codec};
use crate::workflow::bootstrap::{self, Opened};

pub const MAGIC: &[u8; 8] = b"RMBAK01\n";
pub const END: &[u8; 8] = b"RMBAKEND";
const FORMAT: u32 = 1;
const MAX_HEADER: u64 = 256 << 20;
const MAX_TRAILER: u64 = 64 << 10;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Header {
    pub format: u32,
    pub instance: String,
    pub role: String,
    pub epoch: u64,
    pub lsn: u64,
    /// Hex hash of entry `lsn` (the genesis hash for an empty log).
    pub hash: String,
    pub taken_at: Millis,
    /// PEM of the CA that signs this instance's log segments (for rolling forward), if any.
    pub ca_pem: Option<String>,
    /// Every media file the store's asset records name (files are kept by content hash under
    /// `media/` and are not inside the backup).
    pub assets: Vec<AssetRef>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Trailer {
    /// SHA-256 of the content stream: the store's content digest.
    pub digest: String,
    pub tables: u64,
    pub rows: u64,
    /// SHA-256 of every byte before the trailer.
    pub sha256: String,
}

/// A writer that hashes what passes through.
struct Hashing<W> {
    inner: W,
    h: Sha256,
    n: u64,
}

impl<W: Write> Write for Hashing<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.h.update(&buf[..n]);
        self.n += n as u64;
        Ok(n)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

/// A reader that hashes what passes through.
struct HashingReader<R> {
    inner: R,
    h: Sha256,
}

impl<R: Read> Read for HashingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.h.update(&buf[..n]);
        Ok(n)
    }
}

fn json<T: Serialize>(v: &T) -> Result<Vec<u8>> {
    serde_json::to_vec(v).map_err(|e| Error::Internal(e.to_string()))
}

/// Write a backup of `db` as it is at one instant to `out`.
pub fn write(
    db: &redb::Database,
    blobs: &BlobStore,
    ca_pem: Option<String>,
    now: Millis,
    out: impl Write,
) -> Result<(Header, Trailer)> {
    let txn = db.begin_read()?;
    let meta = access::instance(&txn)?
        .ok_or_else(|| Error::Config("the store was never initialized".into()))?;
    let (epoch, lsn, hash) = match access::log_head(&txn)? {
        Some(h) => (h.epoch.0, h.lsn.0, h.hash),
        None => (
            meta.epoch.0,
            0,
            hex::encode(crate::log::entry::genesis(&meta.instance_id)),
        ),
    };
    let mut assets = Vec::new();
    for a in access::all_assets(&txn)? {
        for sha in std::iter::once(a.sha256).chain(a.thumb_sha256) {
            let size = std::fs::metadata(blobs.path(&sha)).map_or(0, |m| m.len());
            assets.push(AssetRef { sha256: sha, size });
        }
    }
    let header = Header {
        format: FORMAT,
        instance: meta.instance_id.0.clone(),
        role: meta.role.clone(),
        epoch,
        lsn,
        hash,
        taken_at: now,
        ca_pem,
        assets,
    };
    let h = json(&header)?;
    let mut file = Hashing {
        inner: out,
        h: Sha256::new(),
        n: 0,
    };
    file.write_all(MAGIC)?;
    file.write_all(&(h.len() as u32).to_be_bytes())?;
    file.write_all(&h)?;
    let enc = zstd::Encoder::new(file, 3)?;
    let mut content = Hashing {
        inner: enc,
        h: Sha256::new(),
        n: 0,
    };
    let counts = snapshot::write(&txn, &mut content)?;
    let digest = hex::encode(content.h.finalize());
    let file = content.inner.finish()?;
    let trailer = Trailer {
        digest,
        tables: counts.tables,
        rows: counts.rows,
        sha256: hex::encode(file.h.finalize()),
    };
    let mut out = file.inner;
    let t = json(&trailer)?;
    out.write_all(&t)?;
    out.write_all(&(t.len() as u32).to_be_bytes())?;
    out.write_all(END)?;
    out.flush()?;
    Ok((header, trailer))
}

fn bad(why: impl std::fmt::Display) -> Error {
    Error::BackupInvalid(why.to_string())
}

/// Check a backup file end to end; returns its header, trailer, and where the compressed
/// content lies (offset, length).
pub fn verify(path: &Path) -> Result<(Header, Trailer, u64, u64)> {
    let mut f =
        std::fs::File::open(path).map_err(|e| Error::Io(format!("{}: {e}", path.display())))?;
    let len = f.metadata()?.len();
    if len < (MAGIC.len() + 4 + 12) as u64 {
        return Err(bad("not a rongmei backup (too short)"));
    }
    let mut magic = [0u8; 8];
    f.read_exact(&mut magic)?;
    if &magic != MAGIC {
        return Err(bad("not a rongmei backup (bad magic)"));
    }
    f.seek(SeekFrom::End(-12))?;
    let mut tail = [0u8; 12];
    f.read_exact(&mut tail)?;
    if &tail[4..] != END {
        return Err(bad("the file is truncated (no end marker)"));
    }
    let tlen = u32::from_be_bytes([tail[0], tail[1], tail[2], tail[3]]) as u64;
    if tlen > MAX_TRAILER || tlen + 12 + 12 > len {
        return Err(bad("the file is truncated or corrupt (trailer length)"));
    }
    let body_end = len - 12 - tlen;
    f.seek(SeekFrom::Start(body_end))?;
    let mut t = vec![0u8; tlen as usize];
    f.read_exact(&mut t)?;
    let trailer: Trailer =
        serde_json::from_slice(&t).map_err(|e| bad(format!("unreadable trailer: {e}")))?;
    f.seek(SeekFrom::Start(0))?;
    let mut h = Sha256::new();
    let mut r = (&mut f).take(body_end);
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = r.read(&mut buf)?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
    }
    if hex::encode(h.finalize()) != trailer.sha256 {
        return Err(bad("checksum mismatch: the file is corrupt or was altered"));
    }
    f.seek(SeekFrom::Start(MAGIC.len() as u64))?;
    let mut n = [0u8; 4];
    f.read_exact(&mut n)?;
    let hlen = u32::from_be_bytes(n) as u64;
    if hlen > MAX_HEADER || 12 + hlen > body_end {
        return Err(bad("corrupt header length"));
    }
    let mut hb = vec![0u8; hlen as usize];
    f.read_exact(&mut hb)?;
    let header: Header =
        serde_json::from_slice(&hb).map_err(|e| bad(format!("unreadable header: {e}")))?;
    if header.format != FORMAT {
        return Err(bad(format!("unknown backup format {}", header.format)));
    }
    let start = 12 + hlen;
    Ok((header, trailer, start, body_end - start))
}

/// How to restore.
#[derive(Debug, Clone, Default)]
pub struct RestoreOptions {
    /// Segments to roll forward with after loading the snapshot.
    pub segments: Option<PathBuf>,
    pub until: Option<Until>,
    /// Where to take media files from (a data dir's `media/` tree, or a directory of files
    /// named by their SHA-256, like an export's `assets/`).
    pub assets: Option<PathBuf>,
}

/// What a restore did.
#[derive(Debug, Clone)]
pub struct Restored {
    pub header: Header,
    pub counts: Counts,
    pub digest: String,
    /// Position reached before the new epoch began.
    pub reached: u64,
    pub rolled_forward: u64,
    pub epoch: Epoch,
    pub assets_copied: u64,
    pub assets_missing: u64,
}

/// Restore `file` into `data_dir` (which must hold no database): load and check the snapshot,
/// roll forward with segments if asked, and begin a new epoch. Everything happens in a
/// temporary database file that gets its real name only at the end.
pub fn restore(
    file: &Path,
    data_dir: &Path,
    opts: &RestoreOptions,
    now: Millis,
    progress: &mut dyn FnMut(&str, u64, u64),
) -> Result<Restored> {
    let target = data_dir.join(store::DB_FILE);
    if target.exists() {
        return Err(Error::Config(format!(
            "{} already has a database; restore into an empty data dir",
            data_dir.display()
        )));
    }
    progress("checking", 0, 1);
    let (header, trailer, start, len) = verify(file)?;
    if let Some(Until::Lsn(n)) = opts.until
        && n < header.lsn
    {
        return Err(bad(format!(
            "the backup is at lsn {}, past the target {n}: use an older backup",
            header.lsn
        )));
    }
    if let Some(Until::Time(t)) = opts.until
        && t < header.taken_at
    {
        return Err(bad(
            "the backup was taken after the target time: use an older backup",
        ));
    }
    std::fs::create_dir_all(data_dir)?;
    let tmp = data_dir.join(format!("{}.restoring", store::DB_FILE));
    let _ = std::fs::remove_file(&tmp);
    let result = (|| {
        let db = store::open(&tmp)?;
        {
            let w = db.begin_write()?;
            apply::ensure_tables(&w)?;
            w.commit()?;
        }
        progress("loading", 0, 1);
        let mut f = std::fs::File::open(file)?;
        f.seek(SeekFrom::Start(start))?;
        let dec = zstd::Decoder::new(f.take(len))?;
        let mut content = HashingReader {
            inner: dec,
            h: Sha256::new(),
        };
        let counts = snapshot::load(&db, &mut content)?;
        let digest = hex::encode(content.h.finalize());
        if digest != trailer.digest {
            return Err(bad(
                "the content does not hash to the digest the backup names",
            ));
        }
        let instance = InstanceId(header.instance.clone());
        let role = if header.role == "replica" {
            crate::workflow::bootstrap::origin_role(&db)?
        } else {
            header.role.clone()
        };
        let meta = InstanceMeta {
            instance_id: instance.clone(),
            epoch: Epoch(header.epoch),
            role,
            created_at: now,
        };
        {
            let w = db.begin_write()?;
            let mut m = w.open_table(META)?;
            m.insert("instance", codec::encode(&meta).as_slice())?;
            if header.lsn > 0 {
                let head = LogHead {
                    epoch: Epoch(header.epoch),
                    lsn: Lsn(header.lsn),
                    hash: header.hash.clone(),
                };
                m.insert("log_head", codec::encode(&head).as_slice())?;
            }
            drop(m);
            w.commit()?;
        }
        let appender = Appender::load(&db.begin_read()?, &instance, meta.epoch)?;
        let (_, at, last) = appender.position();
        if at.0 != header.lsn || hex::encode(last) != header.hash {
            return Err(bad("the restored log does not end where the backup says"));
        }
        let mut opened = Opened {
            db: std::sync::Arc::new(db),
            appender,
            meta,
            initial_password: None,
        };
        let blobs = BlobStore::open(data_dir)?;
        let mut rolled = 0;
        if let Some(dir) = &opts.segments {
            let ca = header.ca_pem.as_deref().ok_or_else(|| {
                bad("the backup names no CA to check segments with (the instance had none)")
            })?;
            let r = carry::import(
                &mut opened,
                Some(&blobs),
                dir,
                ca,
                opts.until.unwrap_or(Until::End),
                now,
                &mut |d, t| progress("rolling forward", d, t),
            )?;
            rolled = r.applied;
        }
        let reached = opened.appender.head().0;
        let role = opened.meta.role.clone();
        let (epoch, _) = bootstrap::begin_epoch(&mut opened, &role, EpochReason::Restore, now)?;
        let (copied, missing) = match &opts.assets {
            Some(src) => carry::take_assets(&opened, &blobs, &|sha| locate(src, sha))?,
            None => carry::take_assets(&opened, &blobs, &|_| None)?,
        };
        Ok(Restored {
            header: header.clone(),
            counts,
            digest,
            reached,
            rolled_forward: rolled,
            epoch,
            assets_copied: copied,
            assets_missing: missing,
        })
    })();
    match result {
        Ok(r) => {
            std::fs::rename(&tmp, &target)?;
            Ok(r)
        }
        Err(e) => {
            let _ = std::fs::remove_file(&tmp);
            Err(e)
        }
    }
}

/// A media file in `root`: a data dir (`media/sha256/ab/cd/<sha>`), its `media/` directory, or
/// a flat directory of files named by their hash (an export's `assets/`).
fn locate(root: &Path, sha: &str) -> Option<PathBuf> {
    let (a, b) = (sha.get(0..2)?, sha.get(2..4)?);
    [
        root.join("media").join("sha256").join(a).join(b).join(sha),
        root.join("sha256").join(a).join(b).join(sha),
        root.join(sha),
    ]
    .into_iter()
    .find(|p| p.is_file())
}
