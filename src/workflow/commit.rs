//! Group commit. redb has one writer and a durable commit costs an fsync, so requests are queued
//! to one thread that runs as many as are waiting (up to `MAX_BATCH`) in ONE write transaction and
//! commits once. Each request still gets its own result and its own log entries, and no result is
//! delivered before the durable commit.
//!
//! A job that fails *after* writing (rare: validation comes first) poisons the transaction: the
//! batch is aborted and re-run without it, so one bad request never leaks partial writes or fails
//! its neighbours. Jobs are therefore `FnMut` and must be safe to run again.

use std::collections::HashMap;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;

use tokio::sync::{mpsc, oneshot, watch};

use super::screening::Screens;
use super::writer::Writer;
use crate::clock::SharedClock;
use crate::domain::Lsn;
use crate::error::{Error, Result};
use crate::log::{Appender, LogWatch};

const MAX_BATCH: usize = 512;
const QUEUE: usize = 8_192;

trait Job: Send {
    /// Run against the writer; `true` if it failed after writing (poison).
    fn run(&mut self, w: &mut Writer<'_>) -> bool;
    /// Deliver the result (`commit` is the outcome of the transaction).
    fn finish(self: Box<Self>, commit: Result<(), String>);
}

struct TypedJob<T, F> {
    f: F,
    result: Option<Result<T>>,
    reply: oneshot::Sender<Result<T>>,
}

impl<T: Send, F: FnMut(&mut Writer<'_>) -> Result<T> + Send> Job for TypedJob<T, F> {
    fn run(&mut self, w: &mut Writer<'_>) -> bool {
        w.reset_dirty();
        let r = catch_unwind(AssertUnwindSafe(|| (self.f)(w)))
            .unwrap_or_else(|_| Err(Error::Internal("a write job panicked".into())));
        let poisoned = r.is_err() && w.dirty();
        self.result = Some(r);
        poisoned
    }

    fn finish(self: Box<Self>, commit: Result<(), String>) {
        let r = match (commit, self.result) {
            (_, Some(Err(e))) => Err(e),
            (Ok(()), Some(Ok(v))) => Ok(v),
            (Err(e), _) => Err(Error::Store(e)),
            (Ok(()), None) => Err(Error::Internal("job never ran".into())),
        };
        let _ = self.reply.send(r);
    }
}

/// Statistics for metrics and benchmarks.
#[derive(Debug)]
pub struct CommitStats {
    pub commits: std::sync::atomic::AtomicU64,
    pub jobs: std::sync::atomic::AtomicU64,
    /// Microseconds spent running jobs (applying facts, appending to the log).
    pub apply_us: std::sync::atomic::AtomicU64,
    /// Microseconds spent in durable commits (fsync).
    pub commit_us: std::sync::atomic::AtomicU64,
    /// Time the writer thread has spent on batches (opening the transaction, applying,
    /// committing, answering): finished batches, and the start of the one in progress.
    work: std::sync::Mutex<Work>,
    origin: crate::clock::Stopwatch,
    /// A follower catching up has more entries for the writer than it has handed over: the
    /// writer is about to be busy, whatever it is doing at this instant.
    behind: std::sync::atomic::AtomicBool,
}

/// The writer's working time (µs after `CommitStats::origin`).
#[derive(Debug, Default)]
struct Work {
    done_us: u64,
    since_us: Option<u64>,
}

impl Default for CommitStats {
    fn default() -> Self {
        Self {
            commits: Default::default(),
            jobs: Default::default(),
            apply_us: Default::default(),
            commit_us: Default::default(),
            work: Default::default(),
            origin: crate::clock::Stopwatch::start(),
            behind: Default::default(),
        }
    }
}

/// Background work (search indexing, the catch-up cache) yields to the store's writer while it
/// is busy: it worked more than half of the last `elapsed` (`worked_us` of it), or a batch is in
/// progress (`working`).
pub fn writer_busy(worked_us: u64, elapsed: std::time::Duration, working: bool) -> bool {
    worked_us.saturating_mul(2) > elapsed.as_micros() as u64 || working
}

impl CommitStats {
    /// Microseconds the writer has worked so far, the batch in progress included (a replica
    /// catching up applies batches that take a few hundred milliseconds each: counted only
    /// when done, its work would come in lumps and look like idle time in between). Never
    /// decreases.
    pub fn worked_us(&self) -> u64 {
        let now = self.origin.elapsed_us();
        self.work.lock().map_or(0, |w| {
            w.done_us + w.since_us.map_or(0, |s| now.saturating_sub(s))
        })
    }

    /// Set by a follower: it is (or no longer is) far behind its primary.
    pub fn set_behind(&self, behind: bool) {
        self.behind
            .store(behind, std::sync::atomic::Ordering::Relaxed);
    }

    /// Is a follower far behind its primary (more batches are coming)?
    pub fn behind(&self) -> bool {
        self.behind.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Is the writer working on a batch right now?
    pub fn working(&self) -> bool {
        self.work.lock().is_ok_and(|w| w.since_us.is_some())
    }

    fn start_working(&self) {
        let now = self.origin.elapsed_us();
        if let Ok(mut w) = self.work.lock() {
            w.since_us = Some(now);
        }
    }

    fn stop_working(&self) {
        let now = self.origin.elapsed_us();
        if let Ok(mut w) = self.work.lock()
            && let Some(s) = w.since_us.take()
        {
            w.done_us += now.saturating_sub(s);
        }
    }
}

/// Handle for submitting write jobs. Cheap to clone.
#[derive(Clone)]
pub struct Committer {
    tx: mpsc::Sender<Box<dyn Job>>,
    watch: watch::Receiver<Lsn>,
    pub stats: Arc<CommitStats>,
    /// The word lists compiled per outlet, shared by the writer and the request handlers.
    pub screens: Arc<Screens>,
    /// A replica's writer takes only the primary's entries and local state.
    pub read_only: Arc<std::sync::atomic::AtomicBool>,
}

impl Committer {
    /// Start the writer thread. `appender` must describe the committed head of `db`.
    pub fn start(
        db: Arc<redb::Database>,
        appender: Appender,
        clock: SharedClock,
        read_only: bool,
    ) -> Result<(Self, std::thread::JoinHandle<()>)> {
        let (tx, rx) = mpsc::channel(QUEUE);
        let (wtx, wrx) = watch::channel(appender.committed_head());
        let stats = Arc::new(CommitStats::default());
        let screens = Arc::new(Screens::default());
        let read_only = Arc::new(std::sync::atomic::AtomicBool::new(read_only));
        let (s2, sc2, ro) = (stats.clone(), screens.clone(), read_only.clone());
        let handle = std::thread::Builder::new()
            .name("rongmei-writer".into())
            .spawn(move || {
                let env = Env {
                    clock: &clock,
                    stats: &s2,
                    watch: &wtx,
                    screens: &sc2,
                    read_only: &ro,
                };
                writer_loop(&db, appender, rx, &env)
            })
            .map_err(|e| Error::Internal(format!("cannot start the writer thread: {e}")))?;
        Ok((
            Self {
                tx,
                watch: wrx,
                stats,
                screens,
                read_only,
            },
            handle,
        ))
    }

    /// Run `f` in the next group-commit batch; resolves after the durable commit.
    pub async fn write<T, F>(&self, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnMut(&mut Writer<'_>) -> Result<T> + Send + 'static,
    {
        let (reply, rx) = oneshot::channel();
        let job: Box<dyn Job> = Box::new(TypedJob {
            f,
            result: None,
            reply,
        });
        self.tx.send(job).await.map_err(|_| Error::ShuttingDown)?;
        rx.await.map_err(|_| Error::ShuttingDown)?
    }

    /// Follow the durable head of the log.
    pub fn log_watch(&self) -> LogWatch {
        LogWatch(self.watch.clone())
    }
}

/// What the writer thread works with besides the database and the log.
struct Env<'a> {
    clock: &'a SharedClock,
    stats: &'a CommitStats,
    watch: &'a watch::Sender<Lsn>,
    screens: &'a Screens,
    read_only: &'a std::sync::atomic::AtomicBool,
}

fn writer_loop(
    db: &redb::Database,
    mut log: Appender,
    mut rx: mpsc::Receiver<Box<dyn Job>>,
    env: &Env<'_>,
) {
    let stats = env.stats;
    while let Some(first) = rx.blocking_recv() {
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(j) => batch.push(j),
                Err(_) => break,
            }
        }
        stats
            .jobs
            .fetch_add(batch.len() as u64, std::sync::atomic::Ordering::Relaxed);
        stats
            .commits
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        stats.start_working();
        run_batch(db, &mut log, batch, env);
        stats.stop_working();
    }
}

fn run_batch(db: &redb::Database, log: &mut Appender, mut batch: Vec<Box<dyn Job>>, env: &Env<'_>) {
    use std::sync::atomic::Ordering::Relaxed;
    let (clock, stats, watch, screens) = (env.clock, env.stats, env.watch, env.screens);
    let read_only = env.read_only.load(std::sync::atomic::Ordering::SeqCst);
    let mut reserved = HashMap::new();
    while !batch.is_empty() {
        let txn = match db.begin_write() {
            Ok(mut t) => {
                t.set_quick_repair(true);
                t
            }
            Err(e) => return fail_all(batch, &e.to_string()),
        };
        let now = clock.now();
        let sw = crate::clock::Stopwatch::start();
        let mut poisoned = None;
        let finished = {
            // One writer for the batch: the tables it keeps open serve every job.
            let mut w = Writer::new(&txn, log, &mut reserved, now, screens, read_only);
            for (i, job) in batch.iter_mut().enumerate() {
                if job.run(&mut w) {
                    poisoned = Some(i);
                    break;
                }
            }
            if poisoned.is_none() {
                w.finish()
            } else {
                Ok(())
            }
        };
        if let Err(e) = finished {
            tracing::error!("writing the log failed: {e}");
            let _ = txn.abort();
            log.rollback();
            return fail_all(batch, &e.to_string());
        }
        if let Some(i) = poisoned {
            let _ = txn.abort();
            log.rollback();
            reserved.clear();
            batch.remove(i).finish(Ok(()));
            continue;
        }
        stats.apply_us.fetch_add(sw.elapsed_us(), Relaxed);
        let sw = crate::clock::Stopwatch::start();
        let committed = log
            .write_head(&txn)
            .map_err(|e| e.to_string())
            .and_then(|()| txn.commit().map_err(|e| e.to_string()));
        stats.commit_us.fetch_add(sw.elapsed_us(), Relaxed);
        match committed {
            Ok(()) => {
                log.commit_head();
                // Followers learn of the entries before any writer is answered, so a client
                // that got its reply can wait for them (read your own writes).
                watch.send_replace(log.committed_head());
                batch.into_iter().for_each(|j| j.finish(Ok(())));
            }
            Err(e) => {
                tracing::error!("commit failed: {e}");
                log.rollback();
                fail_all(batch, &e);
            }
        }
        return;
    }
}

fn fail_all(batch: Vec<Box<dyn Job>>, e: &str) {
    for j in batch {
        j.finish(Err(e.to_string()));
    }
}

/// Run one job in its own durable transaction, without the writer thread (start-up, offline CLI
/// commands). Must not be used while a `Committer` owns the database.
pub fn run_once<T>(
    db: &redb::Database,
    log: &mut Appender,
    now: crate::clock::Millis,
    f: impl FnOnce(&mut Writer<'_>) -> Result<T>,
) -> Result<T> {
    let mut txn = db.begin_write()?;
    txn.set_quick_repair(true);
    let mut reserved = HashMap::new();
    let screens = Screens::default();
    let r = {
        let mut w = Writer::new(&txn, log, &mut reserved, now, &screens, false);
        f(&mut w).and_then(|v| w.finish().map(|()| v))
    };
    match r {
        Ok(v) => {
            log.write_head(&txn)?;
            match txn.commit() {
                Ok(()) => {
                    log.commit_head();
                    Ok(v)
                }
                Err(e) => {
                    log.rollback();
                    Err(e.into())
                }
            }
        }
        Err(e) => {
            let _ = txn.abort();
            log.rollback();
            Err(e)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::ManualClock;
    use crate::domain::AssetId;
    use crate::domain::fact::Fact;

    fn job(id: u64, fail_after_write: bool) -> (Box<dyn Job>, oneshot::Receiver<Result<u64>>) {
        let (reply, rx) = oneshot::channel();
        let f = move |w: &mut Writer<'_>| {
            w.emit(None, Fact::AssetDeleted { id: AssetId(id) })?;
            if fail_after_write {
                Err(Error::Forbidden)
            } else {
                Ok(id)
            }
        };
        (
            Box::new(TypedJob {
                f,
                result: None,
                reply,
            }),
            rx,
        )
    }

    fn kinds(db: &redb::Database) -> Vec<String> {
        crate::log::read_range(db, Lsn(1), 1000)
            .unwrap()
            .into_iter()
            .map(|e| serde_json::to_string(&e.fact).unwrap())
            .collect()
    }

    #[test]
    fn a_poisoned_job_is_dropped_and_its_neighbours_commit() {
        let dir = tempfile::tempdir().unwrap();
        let mut opened = super::super::bootstrap::open_or_init(dir.path(), "county", 0).unwrap();
        let before = kinds(&opened.db).len();
        let clock: SharedClock = ManualClock::new(5);
        let stats = CommitStats::default();
        let (mut batch, mut rxs) = (Vec::new(), Vec::new());
        for i in 0..5 {
            let (j, rx) = job(100 + i, i == 2);
            batch.push(j);
            rxs.push(rx);
        }
        let (watch, seen) = watch::channel(Lsn(0));
        let (screens, ro) = (
            Screens::default(),
            std::sync::atomic::AtomicBool::new(false),
        );
        let env = Env {
            clock: &clock,
            stats: &stats,
            watch: &watch,
            screens: &screens,
            read_only: &ro,
        };
        run_batch(&opened.db, &mut opened.appender, batch, &env);
        assert_eq!(*seen.borrow(), opened.appender.committed_head());
        let results: Vec<_> = rxs.iter_mut().map(|rx| rx.try_recv().unwrap()).collect();
        assert_eq!(results[2].as_ref().unwrap_err().code(), "forbidden");
        for i in [0, 1, 3, 4] {
            assert_eq!(*results[i].as_ref().unwrap(), 100 + i as u64);
        }
        let log = kinds(&opened.db);
        assert_eq!(
            log.len(),
            before + 4,
            "the poisoned job's write must not be committed"
        );
        // (Matched exactly: the instance id in the first entry is random and may contain "102".)
        let poisoned = serde_json::to_string(&Fact::AssetDeleted { id: AssetId(102) }).unwrap();
        assert!(!log.contains(&poisoned));
        assert_eq!(opened.appender.committed_head().0 as usize, log.len());
        let report = crate::log::check::check(&opened.db, &|_, _| {}).unwrap();
        assert!(report.ok(), "{:?}", report.problems);
    }

    #[tokio::test]
    async fn the_watch_moves_only_after_commit() {
        let dir = tempfile::tempdir().unwrap();
        let opened = super::super::bootstrap::open_or_init(dir.path(), "county", 0).unwrap();
        let clock: SharedClock = ManualClock::new(5);
        let (c, handle) =
            Committer::start(opened.db.clone(), opened.appender.clone(), clock, false).unwrap();
        let mut watch = c.log_watch();
        let start = watch.current();
        let got = c
            .write(|w| w.emit(None, Fact::AssetDeleted { id: AssetId(1) }))
            .await
            .unwrap();
        assert_eq!(got, Lsn(start.0 + 1));
        assert_eq!(watch.wait_past(start).await, Some(got));
        assert_eq!(crate::log::read_range(&opened.db, got, 1).unwrap().len(), 1);
        drop(c);
        handle.join().unwrap();
        assert_eq!(
            watch.wait_past(got).await,
            None,
            "a closed writer ends the watch"
        );
    }

    #[tokio::test]
    async fn a_long_batch_counts_as_work_while_it_runs() {
        let dir = tempfile::tempdir().unwrap();
        let opened = super::super::bootstrap::open_or_init(dir.path(), "county", 0).unwrap();
        let clock: SharedClock = ManualClock::new(5);
        let (c, handle) =
            Committer::start(opened.db.clone(), opened.appender.clone(), clock, false).unwrap();
        let stats = c.stats.clone();
        let idle = stats.worked_us();
        // A job that takes 50 ms: while it runs, the time it has taken so far is work.
        let (started_tx, started_rx) = std::sync::mpsc::channel();
        let (go_tx, go_rx) = std::sync::mpsc::channel::<()>();
        let job = c.write(move |_w| {
            let _ = started_tx.send(());
            let _ = go_rx.recv_timeout(std::time::Duration::from_secs(5));
            Ok(())
        });
        let watcher = tokio::task::spawn_blocking(move || {
            started_rx.recv().unwrap();
            let sw = crate::clock::Stopwatch::start();
            let mut readings = vec![stats.worked_us()];
            while sw.elapsed() < std::time::Duration::from_millis(50) {
                readings.push(stats.worked_us());
            }
            go_tx.send(()).unwrap();
            (readings, stats)
        });
        job.await.unwrap();
        let (readings, stats) = watcher.await.unwrap();
        let during = *readings.last().unwrap() - idle;
        assert!(
            during >= 40_000,
            "only {during} us of a running batch counted"
        );
        assert!(readings.windows(2).all(|w| w[0] <= w[1]), "work went down");
        let after = stats.worked_us();
        assert!(
            after >= *readings.last().unwrap(),
            "a finished batch counts less"
        );
        drop(c);
        handle.join().unwrap();
    }
}
