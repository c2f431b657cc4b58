//! Composition root: open the store → start the writer and the search indexer → serve HTTP →
//! graceful shutdown (stop accepting, finish in-flight requests, drain the write queue, let the
//! indexer commit, close the database).

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use axum::serve::ListenerExt;
use tokio::sync::oneshot;

use crate::clock::SharedClock;
use crate::config::Config;
use crate::error::{Error, Result};
use crate::http::{AppState, metrics::Metrics, router};
use crate::media::BlobStore;
use crate::search::{Analyzers, SearchIndex, indexer};
use crate::workflow::throttle::LoginThrottle;
use crate::workflow::{Committer, Core, bootstrap};

/// A server that is accepting requests.
pub struct Running {
    pub addr: SocketAddr,
    pub instance_id: String,
    /// Set on the very first start: the `admin` password, to print once.
    pub initial_password: Option<String>,
    /// The shared core and search handle (benchmarks drive them in-process).
    pub core: Core,
    pub search: SearchIndex,
    stop: Option<oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<Result<()>>,
}

/// Open the data dir and build the shared core (used by `serve`, tests and benchmarks).
pub fn build_core(
    config: Config,
    clock: SharedClock,
) -> Result<(Core, std::thread::JoinHandle<()>, bootstrap::Opened)> {
    let role = config.federation.role.as_str();
    let opened = bootstrap::open_or_init(&config.data_dir, role, clock.now())?;
    // The role is fixed with the data dir: a county's store does not start as a hub or back.
    let stored = opened.meta.role.as_str();
    if stored != role && stored != "replica" {
        return Err(Error::Config(format!(
            "federation.role = \"{role}\" but {} holds a {stored} instance",
            config.data_dir.display()
        )));
    }
    let blobs = BlobStore::open(&config.data_dir)?;
    let (committer, writer) = Committer::start(
        opened.db.clone(),
        opened.appender.clone(),
        clock.clone(),
        opened.meta.role == "replica",
    )?;
    let a = &config.auth;
    let throttle = LoginThrottle::new(
        a.max_failures_per_account,
        a.max_failures_per_address,
        a.failure_window_minutes,
    );
    let core = Core {
        db: opened.db.clone(),
        committer,
        clock,
        blobs,
        throttle: Arc::new(throttle),
        config: Arc::new(config),
        hashing: Arc::new(tokio::sync::Semaphore::new(2)),
        locks: Arc::default(),
        contacts: Arc::default(),
    };
    Ok((core, writer, opened))
}

/// Index options from the configuration.
pub fn search_options(config: &Config) -> crate::search::Options {
    let d = crate::search::Options::default();
    crate::search::Options {
        writer_memory_bytes: (config.search.writer_memory_mb as usize) << 20,
        threads: match config.search.threads {
            0 => d.threads,
            n => n as usize,
        },
    }
}

/// How busy the writer has been (microseconds of work so far) and whether it is working now,
/// or about to (a replica catching up): the indexer yields to it.
fn writer_load(stats: &Arc<crate::workflow::commit::CommitStats>) -> indexer::WriterLoad {
    let stats = stats.clone();
    Arc::new(move || (stats.worked_us(), stats.working() || stats.behind()))
}

/// Load the analyzers (jieba's dictionary, once) and start the search indexer thread.
pub fn start_search(core: &Core) -> Result<(SearchIndex, std::thread::JoinHandle<()>)> {
    let dict = &core.config.search.user_dictionary;
    let dict = (!dict.is_empty()).then(|| std::path::PathBuf::from(dict));
    let analyzers = Analyzers::load(dict.as_deref())?;
    let search = SearchIndex::new(analyzers);
    let thread = indexer::spawn(
        core.db.clone(),
        core.committer.log_watch(),
        search.clone(),
        &core.config.data_dir,
        search_options(&core.config),
        core.clock.clone(),
        writer_load(&core.committer.stats),
    )?;
    Ok((search, thread))
}

pub async fn start(config: Config, clock: SharedClock) -> Result<Running> {
    crate::fed::tls::install_provider();
    let listen = config.listen_addr().map_err(Error::Config)?;
    let (core, writer, opened) = build_core(config, clock)?;
    let (search, indexer) = start_search(&core)?;
    core.committer
        .screens
        .set_speller(Arc::new(crate::screen::spell::Speller::new(
            search.analyzers().jieba(),
        )))?;
    let purged = core.committer.write(|w| w.purge_sessions()).await?;
    if purged > 0 {
        tracing::info!(purged, "expired sessions removed");
    }
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .map_err(|e| Error::Config(format!("cannot listen on {listen}: {e}")))?;
    let addr = listener.local_addr()?;
    let ready = Arc::new(AtomicBool::new(true));
    let (closing_tx, closing) = tokio::sync::watch::channel(false);
    let fed = start_federation(&core, &opened.meta, &closing).await?;
    // Without the control socket (e.g. a data dir path too long for a Unix socket) the server
    // still serves; online backup and export then say no server answers.
    if let Err(e) = crate::http::control::serve(core.clone(), closing.clone()).await {
        tracing::warn!("control socket unavailable: {e}");
    }
    let state = AppState {
        core: core.clone(),
        search: search.clone(),
        metrics: Arc::new(Metrics::new()),
        ready: ready.clone(),
        closing,
        fed: Arc::new(fed),
    };
    let app = router(state).into_make_service_with_connect_info::<SocketAddr>();
    let (stop, stopped) = oneshot::channel::<()>();
    let listener = listener.tap_io(|tcp| {
        let _ = tcp.set_nodelay(true);
    });
    let task = tokio::spawn(async move {
        let served = axum::serve(listener, app)
            .with_graceful_shutdown(async move {
                let _ = stopped.await;
                ready.store(false, Ordering::SeqCst);
                let _ = closing_tx.send(true);
            })
            .await;
        // The router (and every Committer clone in it) is gone: the writer drains and exits.
        let _ = tokio::task::spawn_blocking(move || writer.join()).await;
        // The writer closed the log watch: the indexer commits and ends.
        let _ = tokio::task::spawn_blocking(move || indexer.join()).await;
        served.map_err(|e| Error::Io(e.to_string()))
    });
    Ok(Running {
        addr,
        instance_id: opened.meta.instance_id.0.clone(),
        initial_password: opened.initial_password,
        core,
        search,
        stop: Some(stop),
        task,
    })
}

/// A primary with `federation.listen` set gets its CA (created on first use) and the mTLS
/// listener; a replica starts following the primary it joined.
async fn start_federation(
    core: &Core,
    meta: &crate::store::InstanceMeta,
    closing: &tokio::sync::watch::Receiver<bool>,
) -> Result<crate::http::FedInfo> {
    let mut info = crate::http::FedInfo {
        advertise: core.config.federation.advertise.clone(),
        ..Default::default()
    };
    if meta.role == "replica" {
        let up = crate::fed::follow::Upstream::load(&core.config.data_dir)?.ok_or_else(|| {
            Error::Config(
                "this replica has no upstream (pki/upstream.toml); run `rongmei replica join`"
                    .into(),
            )
        })?;
        let status = crate::fed::follow::SharedStatus::default();
        tokio::spawn(crate::fed::follow::run(
            core.clone(),
            up,
            status.clone(),
            closing.clone(),
        ));
        info.follow = Some(status);
        return Ok(info);
    }
    if meta.role == "county"
        && let Some(hub) = crate::fed::ship::load_hub(&core.config.data_dir)?
    {
        let status = crate::fed::ship::SharedShipStatus::default();
        tokio::spawn(crate::fed::inbox::run(
            core.clone(),
            hub.clone(),
            status.clone(),
            closing.clone(),
        ));
        tokio::spawn(crate::fed::ship::run(
            core.clone(),
            hub,
            status.clone(),
            closing.clone(),
        ));
        info.ship = Some(status);
    }
    if let Some((listener, addr)) = crate::fed::listener::bind(core).await? {
        crate::fed::pki::init_ca(&core.config.data_dir, &meta.instance_id.0, core.clock.now())?;
        tracing::info!(%addr, "federation listener (mTLS)");
        let per_chunk = core.config.federation.catch_up_chunk_entries as usize;
        let chunks = if per_chunk > 0 {
            let c = crate::fed::chunks::Chunks::open(
                &core.config.data_dir,
                &core.db,
                core.config.federation.catch_up_cache_mb,
            )?;
            crate::fed::chunks::spawn(core.clone(), c.clone(), per_chunk, closing.clone())?;
            Some(c)
        } else {
            None
        };
        info.chunks = chunks.clone();
        tokio::spawn(crate::fed::listener::serve(
            listener,
            core.clone(),
            chunks,
            closing.clone(),
        ));
        info.listen = Some(addr);
    }
    Ok(info)
}

impl Running {
    /// Stop accepting, finish in-flight requests and close the store.
    /// Callers must have dropped their own clones of `core` (the writer drains when the last
    /// committer is gone).
    pub async fn shutdown(self) -> Result<()> {
        let Running {
            stop, task, core, ..
        } = self;
        drop(core);
        if let Some(s) = stop {
            let _ = s.send(());
        }
        task.await.map_err(|e| Error::Internal(e.to_string()))?
    }

    /// Serve until SIGINT/SIGTERM, then shut down gracefully.
    pub async fn until_signal(self) -> Result<()> {
        wait_for_signal().await;
        tracing::info!("shutting down: finishing in-flight requests");
        self.shutdown().await
    }
}

async fn wait_for_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(t) => t,
                Err(_) => {
                    let _ = ctrl_c.await;
                    return;
                }
            };
        tokio::select! {
            _ = ctrl_c => {},
            _ = term.recv() => {},
        }
    }
    #[cfg(not(unix))]
    {
        let _ = ctrl_c.await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_replica_far_behind_counts_as_writer_work_for_the_indexer() {
        let stats = Arc::new(crate::workflow::commit::CommitStats::default());
        let load = writer_load(&stats);
        assert!(!load().1, "an idle writer is not working");
        stats.set_behind(true);
        assert!(load().1, "a replica catching up is work about to come");
        stats.set_behind(false);
        assert!(!load().1);
    }
}
