//! The on-disk index and its shared handle.
//!
//! Layout under `<data_dir>/search/`: one directory per built index (`idx-<ms>`) and a `CURRENT`
//! file naming the live one, replaced atomically (write, fsync, rename) when a rebuild finishes.
//! Directories other than the current one are leftovers of an interrupted rebuild and are removed.
//!
//! The cursor — the last log entry applied — is the tantivy commit payload
//! (`{"schema","instance","epoch","lsn","hash"}`), so the index and its cursor are always committed
//! together: after a crash the index resumes from exactly what it durably holds.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, RwLock};

use serde::{Deserialize, Serialize};
use tantivy::{Index, IndexReader, IndexWriter, ReloadPolicy, TantivyDocument};
use tokio::sync::watch;

use super::analyze::Analyzers;
use super::schema::{self, Fields, Origin, SCHEMA_VERSION};
use crate::domain::Lsn;
use crate::error::{Error, Result};
use crate::log::read_range;
use crate::store::{Reader, access, federation};

pub const DIR: &str = "search";
const CURRENT: &str = "CURRENT";

/// Where the index stands in the log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cursor {
    pub schema: u32,
    pub instance: String,
    pub epoch: u64,
    pub lsn: u64,
    /// Hex of the chained hash of entry `lsn` (empty at lsn 0).
    pub hash: String,
}

impl Cursor {
    /// Move past an applied entry.
    pub fn advance(&mut self, e: &crate::log::Entry) {
        self.epoch = e.epoch.0;
        self.lsn = e.lsn.0;
        self.hash.clone_from(&e.hash);
    }
}

/// A usable index: what searches run against.
pub struct Live {
    pub index: Index,
    pub reader: IndexReader,
    pub fields: Fields,
    pub name: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum State {
    /// Opening and checking the index.
    Starting,
    /// Building a new index from the store (searches use the previous one, if any).
    Rebuilding,
    /// Following the log.
    Ready,
    /// The last attempt failed; it is retried.
    Failed,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Status {
    pub state: State,
    pub schema_version: u32,
    /// Last log entry the searchable index contains.
    pub indexed_lsn: u64,
    /// Newest durable log entry.
    pub log_lsn: u64,
    pub docs: u64,
    /// Why the current or last rebuild ran (`missing`, `corrupt`, `schema`, `diverged`,
    /// `requested`).
    pub rebuild_reason: Option<String>,
    pub rebuild_done: u64,
    pub rebuild_total: u64,
    /// Index builds completed since the server started.
    pub builds: u64,
    pub last_error: Option<String>,
}

/// Tuning knobs.
#[derive(Debug, Clone)]
pub struct Options {
    pub writer_memory_bytes: usize,
    pub threads: usize,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            writer_memory_bytes: 128 << 20,
            threads: std::thread::available_parallelism()
                .map(|n| n.get().min(2))
                .unwrap_or(1),
        }
    }
}

pub(super) struct Inner {
    pub analyzers: Analyzers,
    pub live: RwLock<Option<Arc<Live>>>,
    pub status: Mutex<Status>,
    pub indexed: watch::Sender<Lsn>,
    /// Index builds completed since start.
    pub builds: watch::Sender<u64>,
    pub rebuilds: watch::Sender<u64>,
}

/// The shared handle: searches read `live`; the indexer thread replaces it and reports progress.
#[derive(Clone)]
pub struct SearchIndex(pub(super) Arc<Inner>);

impl SearchIndex {
    pub fn new(analyzers: Analyzers) -> Self {
        Self(Arc::new(Inner {
            analyzers,
            live: RwLock::new(None),
            status: Mutex::new(Status {
                state: State::Starting,
                schema_version: SCHEMA_VERSION,
                indexed_lsn: 0,
                log_lsn: 0,
                docs: 0,
                rebuild_reason: None,
                rebuild_done: 0,
                rebuild_total: 0,
                builds: 0,
                last_error: None,
            }),
            indexed: watch::channel(Lsn(0)).0,
            builds: watch::channel(0).0,
            rebuilds: watch::channel(0).0,
        }))
    }

    pub fn analyzers(&self) -> &Analyzers {
        &self.0.analyzers
    }

    pub fn live(&self) -> Result<Arc<Live>> {
        let live = self
            .0
            .live
            .read()
            .map_err(|_| Error::Internal("search index lock poisoned".into()))?
            .clone();
        live.ok_or_else(|| {
            let s = self.status();
            Error::SearchUnavailable(if s.state == State::Rebuilding {
                format!(
                    "the index is being built ({} of {} articles)",
                    s.rebuild_done, s.rebuild_total
                )
            } else {
                "the index is being opened".into()
            })
        })
    }

    pub(super) fn set_live(&self, live: Live) {
        if let Ok(mut g) = self.0.live.write() {
            *g = Some(Arc::new(live));
        }
    }

    pub fn status(&self) -> Status {
        self.0
            .status
            .lock()
            .map(|s| s.clone())
            .unwrap_or_else(|p| p.into_inner().clone())
    }

    pub(super) fn update(&self, f: impl FnOnce(&mut Status)) {
        match self.0.status.lock() {
            Ok(mut s) => f(&mut s),
            Err(p) => f(&mut p.into_inner()),
        }
    }

    /// Receives the last lsn that is searchable, after every index commit.
    pub fn indexed_watch(&self) -> watch::Receiver<Lsn> {
        self.0.indexed.subscribe()
    }

    /// Receives the number of completed index builds.
    pub fn builds_watch(&self) -> watch::Receiver<u64> {
        self.0.builds.subscribe()
    }

    /// Ask the indexer to rebuild from the store while searches go on against the current index.
    pub fn request_rebuild(&self) -> Result<()> {
        if self.status().state == State::Rebuilding {
            return Err(Error::RebuildInProgress);
        }
        self.0.rebuilds.send_modify(|g| *g += 1);
        Ok(())
    }
}

pub(super) fn tantivy_err(e: tantivy::TantivyError) -> Error {
    Error::SearchIndex(e.to_string())
}

fn io_err(what: &str, p: &Path, e: std::io::Error) -> Error {
    Error::Io(format!("{what} {}: {e}", p.display()))
}

pub(super) fn open_reader(index: &Index) -> Result<IndexReader> {
    index
        .reader_builder()
        .reload_policy(ReloadPolicy::Manual)
        .try_into()
        .map_err(tantivy_err)
}

pub(super) fn writer(index: &Index, o: &Options) -> Result<IndexWriter> {
    let threads = o.threads.max(1);
    let mem = o.writer_memory_bytes.max(threads * 16_000_000);
    index
        .writer_with_num_threads::<TantivyDocument>(threads, mem)
        .map_err(tantivy_err)
}

/// The cursor the store says an index at `lsn` must carry.
pub(super) fn cursor_at(db: &redb::Database, lsn: u64) -> Result<Cursor> {
    let r = Reader::begin(db)?;
    let meta = access::instance(&r.0)?
        .ok_or_else(|| Error::Store("the store has no instance record".into()))?;
    let (epoch, hash) = if lsn == 0 {
        (meta.epoch.0, String::new())
    } else {
        let e = read_range(db, Lsn(lsn), 1)?
            .into_iter()
            .next()
            .filter(|e| e.lsn.0 == lsn)
            .ok_or_else(|| Error::Store(format!("log entry {lsn} is missing")))?;
        (e.epoch.0, e.hash)
    };
    Ok(Cursor {
        schema: SCHEMA_VERSION,
        instance: meta.instance_id.0,
        epoch,
        lsn,
        hash,
    })
}

pub(super) fn read_payload(index: &Index) -> Option<Cursor> {
    let metas = index.load_metas().ok()?;
    serde_json::from_str(metas.payload.as_deref()?).ok()
}

/// Open the current index if it is sound and on the store's history; otherwise say why it must
/// be rebuilt.
pub(super) fn open_current(
    root: &Path,
    a: &Analyzers,
    db: &redb::Database,
) -> std::result::Result<(Live, Cursor), String> {
    let name = std::fs::read_to_string(root.join(CURRENT))
        .map_err(|_| "missing".to_string())?
        .trim()
        .to_string();
    let dir = root.join(&name);
    let index = Index::open_in_dir(&dir).map_err(|_| "corrupt".to_string())?;
    a.register(index.tokenizers());
    let cursor = read_payload(&index).ok_or_else(|| "corrupt".to_string())?;
    if cursor.schema != SCHEMA_VERSION {
        return Err("schema".into());
    }
    let expected = cursor_at(db, cursor.lsn).map_err(|_| "diverged".to_string())?;
    if expected != cursor {
        return Err("diverged".into());
    }
    match index.validate_checksum() {
        Ok(bad) if bad.is_empty() => {}
        _ => return Err("corrupt".into()),
    }
    let reader = open_reader(&index).map_err(|_| "corrupt".to_string())?;
    let (schema, fields) = schema::build();
    if index.schema() != schema {
        return Err("schema".into());
    }
    Ok((
        Live {
            index,
            reader,
            fields,
            name,
        },
        cursor,
    ))
}

/// Documents between two calls of a rebuild's `progress`.
const PROGRESS_EVERY: u64 = 100;

/// Build a new index of every article (and, at a hub, every county article) in one store snapshot, make it current, and return it with
/// an open writer. `progress(done, total)` is called every `PROGRESS_EVERY` documents.
pub(super) fn rebuild(
    root: &Path,
    a: &Analyzers,
    db: &redb::Database,
    o: &Options,
    now_ms: i64,
    progress: &dyn Fn(u64, u64) -> Result<()>,
) -> Result<(Live, IndexWriter, Cursor)> {
    std::fs::create_dir_all(root).map_err(|e| io_err("cannot create", root, e))?;
    // A fresh name: never reuse the directory of the index being replaced.
    let mut n = now_ms.max(0);
    while root.join(format!("idx-{n}")).exists() {
        n += 1;
    }
    let name = format!("idx-{n}");
    let dir = root.join(&name);
    std::fs::create_dir_all(&dir).map_err(|e| io_err("cannot create", &dir, e))?;
    let (schema, fields) = schema::build();
    let index = Index::create_in_dir(&dir, schema).map_err(tantivy_err)?;
    a.register(index.tokenizers());
    let mut w = writer(&index, o)?;
    // One snapshot: the articles and the log head agree.
    let snap = Reader::begin(db)?;
    let head = access::log_head(&snap.0)?.map_or(0, |h| h.lsn.0);
    let total = snap.article_count()? + federation::county_article_count(&snap.0)?;
    let mut done = 0u64;
    progress(0, total)?;
    let mut add = |origin: Origin<'_>, art: &crate::domain::article::Article| -> Result<()> {
        w.add_document(schema::document(&fields, origin, art))
            .map_err(tantivy_err)?;
        done += 1;
        // Often enough for the progress bar and for yielding to the writer (`progress` may
        // hold back while the store's writer is busy).
        if done.is_multiple_of(PROGRESS_EVERY) {
            progress(done, total)?;
        }
        Ok(())
    };
    snap.for_each_article(|art| add(Origin::Local, &art))?;
    federation::for_each_county_article(&snap.0, |c| add(Origin::County(&c.county), &c.article))?;
    drop(snap);
    let cursor = cursor_at(db, head)?;
    commit(&mut w, &cursor)?;
    progress(done, total)?;
    let reader = open_reader(&index)?;
    set_current(root, &name)?;
    remove_others(root, &name);
    Ok((
        Live {
            index,
            reader,
            fields,
            name,
        },
        w,
        cursor,
    ))
}

pub(super) fn commit(w: &mut IndexWriter, c: &Cursor) -> Result<()> {
    let payload = serde_json::to_string(c).map_err(|e| Error::Internal(e.to_string()))?;
    let mut p = w.prepare_commit().map_err(tantivy_err)?;
    p.set_payload(&payload);
    p.commit().map_err(tantivy_err)?;
    Ok(())
}

fn set_current(root: &Path, name: &str) -> Result<()> {
    let tmp = root.join("CURRENT.tmp");
    {
        use std::io::Write;
        let mut f = std::fs::File::create(&tmp).map_err(|e| io_err("cannot write", &tmp, e))?;
        f.write_all(name.as_bytes())
            .and_then(|_| f.sync_all())
            .map_err(|e| io_err("cannot write", &tmp, e))?;
    }
    let cur = root.join(CURRENT);
    std::fs::rename(&tmp, &cur).map_err(|e| io_err("cannot replace", &cur, e))?;
    if let Ok(d) = std::fs::File::open(root) {
        let _ = d.sync_all();
    }
    Ok(())
}

/// Remove index directories other than `keep` (old or interrupted builds).
pub(super) fn remove_others(root: &Path, keep: &str) {
    let Ok(rd) = std::fs::read_dir(root) else {
        return;
    };
    for e in rd.flatten() {
        let n = e.file_name().to_string_lossy().to_string();
        if n.starts_with("idx-") && n != keep {
            let _ = std::fs::remove_dir_all(e.path());
        }
    }
}

pub fn root(data_dir: &Path) -> PathBuf {
    data_dir.join(DIR)
}
