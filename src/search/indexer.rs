//! The index as a consumer of the log: one background thread that opens (or rebuilds) the index,
//! then applies every entry after its cursor and commits the documents together with the new
//! cursor. It waits on the log's watch channel when caught up (no polling), commits when it has
//! caught up and the log has been quiet for `QUIET_BEFORE_COMMIT` (a write is searchable within
//! ~0.1 s), and every `COMMIT_INTERVAL` under a continuous stream. Apply is idempotent (delete by key, then add), so
//! entries replayed after a crash leave one document per article.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use tantivy::{IndexWriter, Term};
use tokio::sync::watch;

use super::analyze::Analyzers;
use super::index::{
    self, Cursor, Live, Options, SearchIndex, State, commit, open_current, open_reader,
};
use super::schema::{self, Fields, Origin};
use crate::clock::{SharedClock, Stopwatch};
use crate::domain::Lsn;
use crate::domain::fact::Fact;
use crate::error::{Error, Result};
use crate::log::{Entry, LogWatch, read_range};
use crate::workflow::commit::writer_busy;

const BATCH: usize = 2_000;
const COMMIT_INTERVAL: Duration = Duration::from_millis(5_000);
/// How long the log must be quiet before the indexer commits what it has.
const QUIET_BEFORE_COMMIT: Duration = Duration::from_millis(100);

pub struct Indexer {
    db: Arc<redb::Database>,
    log: LogWatch,
    idx: SearchIndex,
    root: PathBuf,
    opts: Options,
    clock: SharedClock,
    rebuilds: watch::Receiver<u64>,
    yielding: Yield,
    /// Drives the waits on the watch channels from this plain thread.
    rt: tokio::runtime::Runtime,
}

enum Wake {
    Log,
    Timeout,
    Rebuild,
    Closed,
}

/// Start the indexer thread. It ends when the log's writer shuts down, after a final commit.
/// Nice value of the indexer thread and of the tantivy threads it starts.
/// 19, the lowest: while the writer works (a replica catching up, a burst of saves) indexing
/// gets what CPU is left (10 still took a fifth of a catch-up's CPU on two cores).
const INDEXER_NICE: i32 = 19;

/// The store's writer thread: cumulative microseconds of work, and whether it is working on a
/// batch right now.
pub type WriterLoad = Arc<dyn Fn() -> (u64, bool) + Send + Sync>;

/// The window over which the writer's load is sampled (`commit::writer_busy`).
const BUSY_WINDOW: Duration = Duration::from_millis(100);
/// The longest the indexer holds back for the writer before it indexes regardless.
const MAX_DEFER: Duration = Duration::from_secs(10);
/// How long one hold-back lasts before the writer's load is looked at again.
const DEFER_STEP: Duration = Duration::from_millis(20);

/// Indexing yields to writes: while the writer is busy (a burst of saves, a replica catching
/// up) the indexer holds back, so the CPU and the disk go to durable commits and
/// acknowledgements. It holds back for at most `MAX_DEFER` per backlog: after that it indexes
/// until it has caught up, whatever the load, so search is never more than about that much
/// behind for long (`/api/v1/search/status` shows how far).
struct Yield {
    load: WriterLoad,
    /// `BUSY_WINDOW` and `MAX_DEFER` (shorter in tests).
    window: Duration,
    max_defer: Duration,
    sample: (Stopwatch, u64),
    busy: bool,
    /// Since when this backlog has been held back.
    held: Option<Stopwatch>,
    /// The backlog was held back long enough: index it to the end.
    overdue: bool,
}

impl Yield {
    fn new(load: WriterLoad) -> Self {
        Self::with_limits(load, BUSY_WINDOW, MAX_DEFER)
    }

    fn with_limits(load: WriterLoad, window: Duration, max_defer: Duration) -> Self {
        let (now, _) = load();
        Self {
            load,
            window,
            max_defer,
            sample: (Stopwatch::start(), now),
            busy: false,
            held: None,
            overdue: false,
        }
    }

    fn writer_busy(&mut self) -> bool {
        let elapsed = self.sample.0.elapsed();
        let (now, working) = (self.load)();
        if elapsed >= self.window {
            let worked = now.saturating_sub(self.sample.1);
            // A sample spanning an idle stretch (the indexer waited for the log) says little
            // about now: a batch in progress does (a replica starting to catch up).
            let stale = elapsed >= 2 * self.window;
            self.busy = writer_busy(worked, elapsed, stale && working);
            self.sample = (Stopwatch::start(), now);
        }
        // Between samples a batch in progress counts too: a backlog read now (up to `BATCH`
        // documents, for tantivy's threads to tokenize) would take the CPU from it. Measured:
        // a replica catching up lost 15–20% of its rate to such batches let through early.
        self.busy || working
    }

    /// There is a backlog: hold back now?
    fn hold_back(&mut self) -> bool {
        if self.overdue || !self.writer_busy() {
            return false;
        }
        let held = self.held.get_or_insert_with(Stopwatch::start);
        if held.elapsed() >= self.max_defer {
            tracing::debug!("the search index indexes despite the write load (held back too long)");
            self.overdue = true;
            return false;
        }
        true
    }

    fn caught_up(&mut self) {
        self.held = None;
        self.overdue = false;
    }
}

pub fn spawn(
    db: Arc<redb::Database>,
    log: LogWatch,
    idx: SearchIndex,
    data_dir: &std::path::Path,
    opts: Options,
    clock: SharedClock,
    writer_load: WriterLoad,
) -> Result<std::thread::JoinHandle<()>> {
    let rebuilds = idx.0.rebuilds.subscribe();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .map_err(|e| Error::Internal(format!("cannot start the search indexer: {e}")))?;
    let mut me = Indexer {
        rt,
        db,
        log,
        idx,
        root: index::root(data_dir),
        opts,
        clock,
        rebuilds,
        yielding: Yield::new(writer_load),
    };
    std::thread::Builder::new()
        .name("search-indexer".into())
        .spawn(move || me.run())
        .map_err(|e| Error::Internal(format!("cannot start the search indexer: {e}")))
}

impl Indexer {
    fn run(&mut self) {
        // The writer comes first. On Linux the nice value is per thread and tantivy's threads,
        // started from this one, inherit it.
        if let Err(e) = rustix::process::setpriority_process(None, INDEXER_NICE) {
            tracing::debug!("search indexer priority unchanged: {e}");
        }
        let mut backoff = Duration::from_millis(500);
        loop {
            match self.session() {
                Ok(()) => return,
                Err(Error::ShuttingDown) => return,
                Err(e) => {
                    tracing::error!(error = %e, "search indexer failed; retrying");
                    self.idx.update(|s| {
                        s.state = State::Failed;
                        s.last_error = Some(e.to_string());
                    });
                    if self.closed() {
                        return;
                    }
                    // Retry after the backoff, or at once when a rebuild is asked for.
                    let rebuilds = &mut self.rebuilds;
                    let _ = self.rt.block_on(async {
                        tokio::time::timeout(backoff, rebuilds.changed()).await
                    });
                    backoff = (backoff * 2).min(Duration::from_secs(30));
                }
            }
        }
    }

    fn closed(&self) -> bool {
        self.log.0.has_changed().is_err()
    }

    fn analyzers(&self) -> &Analyzers {
        self.idx.analyzers()
    }

    /// Open or rebuild, then follow the log until shutdown.
    fn session(&mut self) -> Result<()> {
        let opened = open_current(&self.root, self.analyzers(), &self.db);
        let (mut fields, mut reader, mut w, mut cursor) = match opened {
            Ok((live, cursor)) => {
                let w = index::writer(&live.index, &self.opts)?;
                tracing::info!(lsn = cursor.lsn, index = %live.name, "search index opened");
                let parts = (live.fields, live.reader.clone());
                self.install(live, &cursor);
                (parts.0, parts.1, w, cursor)
            }
            Err(reason) => self.rebuild(&reason)?,
        };
        self.rebuilds.mark_unchanged();
        let mut dirty = false;
        let mut rebuild_asked = false;
        let mut since_commit = Stopwatch::start();
        loop {
            if rebuild_asked || self.rebuilds.has_changed().unwrap_or(false) {
                self.rebuilds.mark_unchanged();
                rebuild_asked = false;
                if dirty {
                    self.commit(&mut w, &reader, &cursor)?;
                    dirty = false;
                }
                drop(w);
                (fields, reader, w, cursor) = self.rebuild("requested")?;
                continue;
            }
            let log_lsn = self.log.current().0;
            self.idx.update(|s| s.log_lsn = log_lsn);
            if log_lsn > cursor.lsn && self.yielding.hold_back() {
                match self.pause(DEFER_STEP) {
                    Wake::Rebuild => rebuild_asked = true,
                    // Shutting down: index what is left, then stop as usual.
                    Wake::Closed => self.yielding.overdue = true,
                    Wake::Log | Wake::Timeout => {}
                }
                continue;
            }
            let entries = read_range(&self.db, Lsn(cursor.lsn + 1), BATCH)?;
            if entries.is_empty() {
                self.yielding.caught_up();
                // Caught up. Commit once the log has been quiet for QUIET_BEFORE_COMMIT, and
                // while writes keep coming every COMMIT_INTERVAL (below): a steady stream of
                // single writes must not turn into an index commit (several fsyncs, a new
                // segment) every few writes, competing with the store's durable commits.
                let wake = if dirty {
                    self.wait(cursor.lsn, Some(QUIET_BEFORE_COMMIT))
                } else {
                    Wake::Timeout
                };
                if let Wake::Log = wake {
                    continue;
                }
                if dirty {
                    self.commit(&mut w, &reader, &cursor)?;
                    dirty = false;
                    since_commit = Stopwatch::start();
                }
                let wake = match wake {
                    Wake::Timeout => self.wait(cursor.lsn, None),
                    other => other,
                };
                match wake {
                    Wake::Log | Wake::Timeout => continue,
                    // `changed()` consumed the notification: remember it.
                    Wake::Rebuild => rebuild_asked = true,
                    Wake::Closed => {
                        // Let background merges finish before the data dir may go away.
                        return w.wait_merging_threads().map_err(index::tantivy_err);
                    }
                }
                continue;
            }
            for e in &entries {
                apply(&mut w, &fields, e)?;
                cursor.advance(e);
            }
            dirty = true;
            if since_commit.elapsed() >= COMMIT_INTERVAL {
                self.commit(&mut w, &reader, &cursor)?;
                dirty = false;
                since_commit = Stopwatch::start();
            }
        }
    }

    /// Wait for a new log entry, a rebuild request, shutdown, or (if given) a timeout.
    fn wait(&mut self, cursor: u64, timeout: Option<Duration>) -> Wake {
        let log = &mut self.log;
        let rebuilds = &mut self.rebuilds;
        self.rt.block_on(async {
            let limit = async {
                match timeout {
                    Some(t) => tokio::time::sleep(t).await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                h = log.wait_past(Lsn(cursor)) => if h.is_some() { Wake::Log } else { Wake::Closed },
                r = rebuilds.changed() => if r.is_ok() { Wake::Rebuild } else { Wake::Closed },
                () = limit => Wake::Timeout,
            }
        })
    }

    /// Sleep for `d`, waking early for a rebuild request or shutdown.
    fn pause(&mut self, d: Duration) -> Wake {
        let log = &mut self.log;
        let rebuilds = &mut self.rebuilds;
        self.rt.block_on(async {
            tokio::select! {
                _ = log.0.wait_for(|_| false) => Wake::Closed,
                r = rebuilds.changed() => if r.is_ok() { Wake::Rebuild } else { Wake::Closed },
                () = tokio::time::sleep(d) => Wake::Timeout,
            }
        })
    }

    fn commit(&self, w: &mut IndexWriter, reader: &tantivy::IndexReader, c: &Cursor) -> Result<()> {
        commit(w, c)?;
        reader.reload().map_err(index::tantivy_err)?;
        let docs = reader.searcher().num_docs();
        self.idx.update(|s| {
            s.indexed_lsn = c.lsn;
            s.docs = docs;
            s.last_error = None;
            s.state = State::Ready;
        });
        self.idx.0.indexed.send_replace(Lsn(c.lsn));
        Ok(())
    }

    fn install(&self, live: Live, c: &Cursor) {
        let docs = live.reader.searcher().num_docs();
        self.idx.set_live(live);
        self.idx.update(|s| {
            s.state = State::Ready;
            s.indexed_lsn = c.lsn;
            s.docs = docs;
            s.last_error = None;
        });
        self.idx.0.indexed.send_replace(Lsn(c.lsn));
    }

    #[allow(clippy::type_complexity)]
    fn rebuild(
        &mut self,
        reason: &str,
    ) -> Result<(Fields, tantivy::IndexReader, IndexWriter, Cursor)> {
        tracing::info!(reason, "rebuilding the search index from the store");
        self.idx.update(|s| {
            s.state = State::Rebuilding;
            s.rebuild_reason = Some(reason.to_string());
            s.rebuild_done = 0;
            s.rebuild_total = 0;
        });
        let sw = Stopwatch::start();
        let idx = self.idx.clone();
        // A rebuild yields to writes as following does: a replica that starts without an index
        // would otherwise tokenize the articles of its first transactions while it catches up
        // (measured: about half a core for the whole catch-up, when the rebuild began after
        // the replica's first commit).
        let rt = &self.rt;
        let held = std::cell::RefCell::new((&mut self.yielding, self.log.0.clone()));
        let progress = move |done: u64, total: u64| -> Result<()> {
            idx.update(|s| {
                s.rebuild_done = done;
                s.rebuild_total = total;
            });
            let mut held = held.borrow_mut();
            let (yielding, log) = &mut *held;
            loop {
                if log.has_changed().is_err() {
                    return Err(Error::ShuttingDown);
                }
                if !yielding.hold_back() {
                    return Ok(());
                }
                // Hold back for a step, or until shutdown.
                rt.block_on(async {
                    tokio::select! {
                        _ = log.wait_for(|_| false) => {}
                        () = tokio::time::sleep(DEFER_STEP) => {}
                    }
                });
            }
        };
        let (live, w, cursor) = index::rebuild(
            &self.root,
            self.idx.analyzers(),
            &self.db,
            &self.opts,
            self.clock.now(),
            &progress,
        )?;
        tracing::info!(
            docs = live.reader.searcher().num_docs(),
            lsn = cursor.lsn,
            ms = sw.elapsed().as_millis() as u64,
            "search index rebuilt"
        );
        let parts = (live.fields, live.reader.clone());
        self.install(live, &cursor);
        // The status first, then the watch: a waiter woken by the watch reads a current status.
        let n = *self.idx.0.builds.borrow() + 1;
        self.idx.update(|s| s.builds = n);
        self.idx.0.builds.send_replace(n);
        Ok((parts.0, parts.1, w, cursor))
    }
}

/// Apply one log entry to the index (idempotent).
pub(super) fn apply(w: &mut IndexWriter, f: &Fields, e: &Entry) -> Result<()> {
    // Every fact that leaves an article behind (saves and lifecycle steps: the status changes),
    // and at a hub every county step it applied (publication, correction, takedown).
    let (origin, article) = match &e.fact {
        Fact::CountyEntry { county, fact, .. } => match fact.step() {
            Some(s) => (Origin::County(county), &s.article),
            None => return Ok(()),
        },
        other => match other.article() {
            Some(a) => (Origin::Local, a),
            None => return Ok(()),
        },
    };
    put(w, f, origin, article)
}

/// Replace the document of an article (idempotent).
pub(super) fn put(
    w: &mut IndexWriter,
    f: &Fields,
    origin: Origin<'_>,
    article: &crate::domain::article::Article,
) -> Result<()> {
    w.delete_term(Term::from_field_text(
        f.key,
        &schema::key(origin, article.id.0),
    ));
    w.add_document(schema::document(f, origin, article))
        .map_err(index::tantivy_err)?;
    Ok(())
}

/// Build a fresh index from the store, offline (`rongmei index rebuild`).
pub fn rebuild_offline(
    db: &redb::Database,
    analyzers: &Analyzers,
    data_dir: &std::path::Path,
    opts: &Options,
    now_ms: i64,
    progress: &dyn Fn(u64, u64) -> Result<()>,
) -> Result<(u64, Cursor)> {
    let (live, w, cursor) = index::rebuild(
        &index::root(data_dir),
        analyzers,
        db,
        opts,
        now_ms,
        progress,
    )?;
    w.wait_merging_threads().map_err(index::tantivy_err)?;
    let docs = open_reader(&live.index)?.searcher().num_docs();
    Ok((docs, cursor))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU64, Ordering};

    fn spin(d: Duration) {
        let sw = Stopwatch::start();
        while sw.elapsed() < d {
            std::hint::spin_loop();
        }
    }

    #[test]
    fn holds_back_while_the_writer_is_busy_but_never_longer_than_the_limit() {
        // A writer that is always working: its busy time grows with wall time.
        let started = Stopwatch::start();
        let busy: WriterLoad = Arc::new(move || (started.elapsed_us(), true));
        let mut y = Yield::with_limits(busy, Duration::from_millis(2), Duration::from_millis(300));
        spin(Duration::from_millis(3));
        assert!(y.hold_back(), "a busy writer is not yielded to");
        spin(Duration::from_millis(10));
        assert!(y.hold_back(), "held back for less than the limit");
        spin(Duration::from_millis(300));
        assert!(!y.hold_back(), "held back beyond the limit");
        spin(Duration::from_millis(3));
        assert!(!y.hold_back(), "an overdue backlog is indexed to its end");
        y.caught_up();
        spin(Duration::from_millis(3));
        assert!(y.hold_back(), "a new backlog is held back again");
    }

    #[test]
    fn an_idle_writer_is_not_waited_for() {
        let work = Arc::new(AtomicU64::new(0));
        let w = work.clone();
        let load: WriterLoad = Arc::new(move || (w.load(Ordering::Relaxed), false));
        let mut y = Yield::with_limits(load, Duration::from_millis(2), Duration::from_secs(60));
        for _ in 0..3 {
            spin(Duration::from_millis(3));
            // 10% busy.
            work.fetch_add(300, Ordering::Relaxed);
            assert!(!y.hold_back());
        }
    }

    /// A writer that never finishes work, with a batch in progress while the flag is set.
    fn batch_flag() -> (Arc<std::sync::atomic::AtomicBool>, WriterLoad) {
        let working = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let w = working.clone();
        (working, Arc::new(move || (0, w.load(Ordering::Relaxed))))
    }

    #[test]
    fn a_batch_in_progress_is_yielded_to_between_samples() {
        let (working, load) = batch_flag();
        let mut y = Yield::with_limits(load, Duration::from_secs(60), Duration::from_secs(60));
        assert!(!y.hold_back(), "an idle writer is waited for");
        working.store(true, Ordering::Relaxed);
        assert!(y.hold_back(), "a batch in progress is not yielded to");
        working.store(false, Ordering::Relaxed);
        assert!(!y.hold_back(), "the batch ended");
    }

    #[test]
    fn a_batch_in_progress_after_an_idle_stretch_is_yielded_to() {
        // Idle for a long time, then one long batch starts (its work counts only when done):
        // the share of the stale sample is tiny, the batch in progress decides.
        let (working, load) = batch_flag();
        let mut y = Yield::with_limits(load, Duration::from_millis(2), Duration::from_secs(60));
        spin(Duration::from_millis(10));
        working.store(true, Ordering::Relaxed);
        assert!(y.hold_back(), "a batch in progress is not yielded to");
        // Not working: a stale sample with no work is idle.
        working.store(false, Ordering::Relaxed);
        spin(Duration::from_millis(10));
        assert!(!y.hold_back(), "an idle writer is waited for");
    }
}
