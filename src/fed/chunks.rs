//! The catch-up cache: a primary compresses its log once, in chunks, for replicas that come back
//! after being offline (compress once, serve many, as Kafka keeps its batches compressed). A
//! replica far behind is then sent chunk files as they are (`wire::cached`), so catching up
//! costs the primary a file read per chunk instead of compressing every entry again while the
//! replica waits; the tail is sent compressed as it commits, as before.
//!
//! A chunk is one file `chunks/<first>-<last>-<hash>.zst` (lsns as 20 digits, `hash` the hex
//! of entry `last`'s chained hash): an independent zstd frame, with its checksum, of the
//! `wire` payload of entries `first..=last`. Files are written whole under a temporary name,
//! synced and renamed, and never rewritten; the cache's cursor is its newest file. A chunk is
//! served only while the log's entry `last` has the hash in its name (the chain then makes
//! every entry of the chunk the log's own), so chunks of another history (a restored or fenced
//! data dir) are never sent; `open` deletes them. The oldest files go when the cache passes
//! `federation.catch_up_cache_mb`. Chunks are written only while a replica is enrolled, on a
//! thread of low priority that also waits while the store's writer is busy.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::retry::closed;
use super::wire;
use crate::domain::Lsn;
use crate::error::{Error, Result};
use crate::log::entry;
use crate::workflow::Core;
use crate::workflow::commit::writer_busy;

/// Chunks compress harder than the live stream: it happens once, in the background.
const LEVEL: i32 = 5;
/// A chunk is also cut at this many raw bytes.
const CHUNK_BYTES: usize = 8 << 20;
/// How long a partial chunk waits for more entries before its size is looked at again.
const RECHECK: Duration = Duration::from_secs(5);
/// Chunks wait while the store's writer is busy over this window (`commit::writer_busy`: a burst
/// of saves): compressing can wait, a save cannot. At most `MAX_DEFER` in a row.
const WINDOW: Duration = Duration::from_millis(200);
const MAX_DEFER: Duration = Duration::from_secs(30);

#[derive(Debug, Clone, PartialEq)]
pub struct Chunk {
    pub first: u64,
    pub last: u64,
    /// Hex of entry `last`'s chained hash.
    pub hash: String,
    pub bytes: u64,
}

impl Chunk {
    fn name(&self) -> String {
        format!("{:020}-{:020}-{}.zst", self.first, self.last, self.hash)
    }

    fn parse(name: &str) -> Option<Self> {
        let stem = name.strip_suffix(".zst")?;
        let mut parts = stem.splitn(3, '-');
        let first = parts.next()?.parse().ok()?;
        let last = parts.next()?.parse().ok()?;
        let hash = parts.next()?;
        (first >= 1 && last >= first && hash.len() == 64 && hex::decode(hash).is_ok()).then(|| {
            Self {
                first,
                last,
                hash: hash.to_string(),
                bytes: 0,
            }
        })
    }
}

/// The chunks on disk, by first lsn.
pub struct Chunks {
    dir: PathBuf,
    max_bytes: u64,
    index: Mutex<BTreeMap<u64, Chunk>>,
}

fn io_err(what: &str, p: &Path, e: std::io::Error) -> Error {
    Error::Io(format!("{what} {}: {e}", p.display()))
}

/// Does the log's entry `lsn` have hash `hex`?
fn on_log(db: &redb::Database, lsn: u64, hex_hash: &str) -> Result<bool> {
    Ok(crate::log::raw_at(db, Lsn(lsn))?
        .is_some_and(|s| s.len() >= 32 && hex::encode(&s[..32]) == hex_hash))
}

impl Chunks {
    /// Open the cache of `data_dir`: leftover temporary files and chunks not on this log go.
    pub fn open(data_dir: &Path, db: &redb::Database, max_mb: u32) -> Result<Arc<Self>> {
        let dir = data_dir.join("chunks");
        std::fs::create_dir_all(&dir).map_err(|e| io_err("cannot create", &dir, e))?;
        let mut index = BTreeMap::new();
        let rd = std::fs::read_dir(&dir).map_err(|e| io_err("cannot list", &dir, e))?;
        for ent in rd {
            let ent = ent.map_err(|e| io_err("cannot list", &dir, e))?;
            let path = ent.path();
            let name = ent.file_name().to_string_lossy().into_owned();
            let keep = match Chunk::parse(&name) {
                Some(mut c) if on_log(db, c.last, &c.hash)? => {
                    c.bytes = ent.metadata().map(|m| m.len()).unwrap_or(0);
                    Some(c)
                }
                _ => None,
            };
            match keep {
                Some(c) => {
                    index.insert(c.first, c);
                }
                None => {
                    tracing::info!(file = %name, "catch-up cache: removing a file not of this log");
                    std::fs::remove_file(&path).map_err(|e| io_err("cannot remove", &path, e))?;
                }
            }
        }
        Ok(Arc::new(Self {
            dir,
            max_bytes: u64::from(max_mb) << 20,
            index: Mutex::new(index),
        }))
    }

    fn index(&self) -> std::sync::MutexGuard<'_, BTreeMap<u64, Chunk>> {
        self.index.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The last lsn the chunks cover (0: none).
    pub fn end(&self) -> u64 {
        self.index().values().next_back().map_or(0, |c| c.last)
    }

    /// (count, bytes) of the chunks on disk.
    pub fn usage(&self) -> (usize, u64) {
        let i = self.index();
        (i.len(), i.values().map(|c| c.bytes).sum())
    }

    /// The first lsn of the first chunk after `lsn`, if any: a follower at `lsn` is sent the log
    /// up to just before it, then the chunks.
    pub fn next_start_after(&self, lsn: u64) -> Option<u64> {
        self.index()
            .range(lsn + 1..)
            .next()
            .map(|(first, _)| *first)
    }

    /// The chunk that starts at `first`, read, if it is on `db`'s log: (last lsn, zstd bytes).
    pub fn read(&self, db: &redb::Database, first: u64) -> Result<Option<(u64, Vec<u8>)>> {
        let Some(c) = self.index().get(&first).cloned() else {
            return Ok(None);
        };
        if !on_log(db, c.last, &c.hash)? {
            return Ok(None);
        }
        let path = self.dir.join(c.name());
        match std::fs::read(&path) {
            Ok(z) => Ok(Some((c.last, z))),
            // Deleted by the retention since the index was looked at.
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(io_err("cannot read", &path, e)),
        }
    }

    /// Compress `entries` (stored log values, `first..`) into a new chunk, then drop the oldest
    /// chunks beyond the size limit.
    pub fn write(&self, entries: Vec<Vec<u8>>, at: crate::clock::Millis) -> Result<Chunk> {
        let (Some(a), Some(b)) = (entries.first(), entries.last()) else {
            return Err(Error::Internal("an empty chunk".into()));
        };
        let (_, first) = entry::position_of(a)?;
        let (_, last) = entry::position_of(b)?;
        let hash = hex::encode(entry::split_stored(b)?.0);
        let frame = wire::Frame {
            head: last.0,
            at,
            entries,
        };
        let z = wire::compress_for_cache(&frame, LEVEL)?;
        let chunk = Chunk {
            first: first.0,
            last: last.0,
            hash,
            bytes: z.len() as u64,
        };
        let path = self.dir.join(chunk.name());
        let tmp = self.dir.join(format!("{}.tmp", chunk.name()));
        let written = (|| {
            use std::io::Write;
            let mut f = std::fs::File::create(&tmp)?;
            f.write_all(&z)?;
            f.sync_all()?;
            std::fs::rename(&tmp, &path)
        })();
        if let Err(e) = written {
            let _ = std::fs::remove_file(&tmp);
            return Err(io_err("cannot write", &path, e));
        }
        let mut index = self.index();
        index.insert(chunk.first, chunk.clone());
        let mut total: u64 = index.values().map(|c| c.bytes).sum();
        while total > self.max_bytes && index.len() > 1 {
            let Some((_, old)) = index.pop_first() else {
                break;
            };
            total -= old.bytes;
            let p = self.dir.join(old.name());
            if let Err(e) = std::fs::remove_file(&p) {
                tracing::warn!("catch-up cache: {}", io_err("cannot remove", &p, e));
            }
        }
        Ok(chunk)
    }
}

/// Is a replica enrolled (and not revoked)?
fn has_replica(core: &Core) -> Result<bool> {
    Ok(crate::store::federation::peers(&core.reader()?.0)?
        .iter()
        .any(|p| p.role == "replica" && p.revoked.is_none()))
}

/// Nice value of the chunk writer's thread: requests and the store's writer come first.
const NICE: i32 = 10;

/// Start the chunk writer on a thread of its own (compressing is CPU work, at a low priority).
pub fn spawn(
    core: Core,
    chunks: Arc<Chunks>,
    per_chunk: usize,
    closing: tokio::sync::watch::Receiver<bool>,
) -> Result<()> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .map_err(|e| Error::Internal(format!("cannot start the chunk writer: {e}")))?;
    std::thread::Builder::new()
        .name("log-chunks".into())
        .spawn(move || {
            if let Err(e) = rustix::process::setpriority_process(None, NICE) {
                tracing::debug!("chunk writer priority unchanged: {e}");
            }
            rt.block_on(run(core, chunks, per_chunk, closing));
        })
        .map_err(|e| Error::Internal(format!("cannot start the chunk writer: {e}")))?;
    Ok(())
}

/// Write chunks as the log grows, until shutdown. Without chunks it starts at the log's head
/// (history older than that is sent compressed as it goes).
async fn run(
    core: Core,
    chunks: Arc<Chunks>,
    per_chunk: usize,
    mut closing: tokio::sync::watch::Receiver<bool>,
) {
    let mut watch = core.committer.log_watch();
    let mut cursor = match chunks.end() {
        0 => watch.current().0,
        end => end,
    };
    loop {
        let wanted = Lsn(cursor + per_chunk as u64 - 1);
        tokio::select! {
            () = closed(&mut closing) => return,
            r = tokio::time::timeout(RECHECK, watch.wait_past(wanted)) => {
                if let Ok(None) = r {
                    return;
                }
            }
        }
        if !yield_to_writer(&core, &mut closing).await {
            return;
        }
        match step(&core, &chunks, cursor, per_chunk) {
            Ok(c) => cursor = c,
            Err(e) => {
                tracing::warn!("catch-up cache: {e}");
                tokio::select! {
                    () = closed(&mut closing) => return,
                    () = tokio::time::sleep(RECHECK) => {}
                }
            }
        }
    }
}

/// Wait until the writer is not busy (see `WINDOW`); false when shutting down.
async fn yield_to_writer(core: &Core, closing: &mut tokio::sync::watch::Receiver<bool>) -> bool {
    let stats = &core.committer.stats;
    let since = crate::clock::Stopwatch::start();
    while since.elapsed() < MAX_DEFER {
        let (before, window) = (stats.worked_us(), crate::clock::Stopwatch::start());
        tokio::select! {
            () = closed(closing) => return false,
            () = tokio::time::sleep(WINDOW) => {}
        }
        let worked = stats.worked_us().saturating_sub(before);
        if !writer_busy(worked, window.elapsed(), stats.working()) {
            break;
        }
    }
    true
}

/// Write the chunks that are complete after `cursor` (blocking: on the chunk writer's own
/// thread); the new cursor.
fn step(core: &Core, chunks: &Chunks, mut cursor: u64, per_chunk: usize) -> Result<u64> {
    if !has_replica(core)? {
        // Nothing to keep: no one would be sent it.
        return Ok(core.committer.log_watch().current().0.max(cursor));
    }
    loop {
        let entries = crate::log::read_raw(&core.db, Lsn(cursor + 1), per_chunk, CHUNK_BYTES)?;
        let bytes: usize = entries.iter().map(Vec::len).sum();
        if entries.len() < per_chunk && bytes < CHUNK_BYTES {
            return Ok(cursor);
        }
        cursor = chunks.write(entries, core.clock.now())?.last;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(dir: &Path) -> Vec<String> {
        let mut v: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    }

    #[test]
    fn chunks_are_served_only_on_their_own_history() {
        let d = tempfile::tempdir().unwrap();
        let opened = crate::workflow::bootstrap::open_or_init(d.path(), "county", 0).unwrap();
        let db = &opened.db;
        let entries = crate::log::read_raw(db, Lsn(1), 100, usize::MAX).unwrap();
        let n = entries.len() as u64;
        assert!(n >= 2, "a new store's log has {n} entries");
        let chunks = Chunks::open(d.path(), db, 1024).unwrap();
        assert_eq!((chunks.end(), chunks.next_start_after(0)), (0, None));
        let a = chunks.write(entries[..1].to_vec(), 7).unwrap();
        let b = chunks.write(entries[1..].to_vec(), 7).unwrap();
        assert_eq!((a.first, a.last, b.first, b.last), (1, 1, 2, n));
        assert_eq!(chunks.end(), n);
        assert_eq!(chunks.next_start_after(0), Some(1));
        assert_eq!(chunks.next_start_after(1), Some(2));
        assert_eq!(chunks.next_start_after(2), None);
        // What is served is the log's own entries, whole.
        let (last, z) = chunks.read(db, 2).unwrap().unwrap();
        assert_eq!(last, n);
        let mut dec = wire::Decoder::default();
        dec.feed(&wire::cached(n, 9, &z).unwrap());
        assert_eq!(
            dec.next_frame().unwrap().unwrap().entries,
            entries[1..].to_vec()
        );
        assert_eq!(chunks.read(db, 3).unwrap(), None, "no chunk starts there");

        // At the next start: a torn temporary file and a chunk of another history go; the
        // chunks of this log stay.
        let dir = d.path().join("chunks");
        std::fs::write(dir.join(format!("{}.tmp", a.name())), b"torn").unwrap();
        let foreign = Chunk {
            hash: "00".repeat(32),
            ..a.clone()
        };
        std::fs::copy(dir.join(a.name()), dir.join(foreign.name())).unwrap();
        std::fs::write(dir.join("notes.txt"), b"?").unwrap();
        let reopened = Chunks::open(d.path(), db, 1024).unwrap();
        assert_eq!(names(&dir), vec![a.name(), b.name()]);
        assert_eq!(reopened.usage().0, 2);
        // A chunk whose end is not on the log is never served, even if its file is there.
        reopened.index().insert(
            1,
            Chunk {
                hash: "11".repeat(32),
                ..a.clone()
            },
        );
        assert_eq!(reopened.read(db, 1).unwrap(), None);

        // Past the size limit the oldest chunks go (the newest always stays).
        let d2 = tempfile::tempdir().unwrap();
        let small = Chunks::open(d2.path(), db, 0).unwrap();
        small.write(entries[..1].to_vec(), 8).unwrap();
        small.write(entries[1..].to_vec(), 8).unwrap();
        assert_eq!(small.usage().0, 1);
        assert_eq!(names(&d2.path().join("chunks")), vec![b.name()]);
        assert_eq!(small.next_start_after(0), Some(2));
    }

    #[test]
    fn names_round_trip_and_strangers_are_not_chunks() {
        let c = Chunk {
            first: 2001,
            last: 4000,
            hash: "ab".repeat(32),
            bytes: 0,
        };
        assert_eq!(Chunk::parse(&c.name()), Some(c.clone()));
        for bad in [
            "x.zst",
            "00000000000000002001-00000000000000004000-ab.zst",
            &c.name().replace(".zst", ".tmp"),
            &format!("{}.tmp", c.name()),
            "00000000000000004000-00000000000000002001-"
                .to_string()
                .as_str(),
        ] {
            assert_eq!(Chunk::parse(bad), None, "{bad}");
        }
    }
}
