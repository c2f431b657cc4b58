//! Command line (clap). `anyhow` lives here and in `main` only.

mod admin;
mod backup;
mod bench;
mod bench_hub;
mod bench_replicate;
mod bench_review;
mod bench_screen;
mod bench_search;
mod control;
mod fed;
mod import;
mod index;
mod inspect;
mod logfiles;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::config::Config;

#[derive(Parser)]
#[command(
    name = "rongmei",
    version,
    about = "融媒 county media convergence center in one binary"
)]
pub struct Cli {
    /// Configuration file (TOML). Without one, built-in defaults apply.
    #[arg(long, global = true, env = "RONGMEI_CONFIG")]
    config: Option<PathBuf>,
    /// Data directory (overrides the config file and RONGMEI_DATA_DIR).
    #[arg(long, global = true)]
    data_dir: Option<PathBuf>,
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Run the server (web UI + JSON API) until SIGINT/SIGTERM.
    Serve {
        /// Listen address (overrides http.listen).
        #[arg(long)]
        listen: Option<String>,
    },
    /// Write a commented configuration file.
    Init {
        #[arg(default_value = "rongmei.toml")]
        path: PathBuf,
        /// Overwrite an existing file.
        #[arg(long)]
        force: bool,
        /// `county` (a county media center) or `hub` (the provincial hub).
        #[arg(long, default_value = "county", value_parser = ["county", "hub"])]
        role: String,
    },
    /// Configuration commands.
    Config {
        #[command(subcommand)]
        cmd: ConfigCmd,
    },
    /// Verify the store: log dense, hash chain valid, every table row consistent with the log.
    Check,
    /// Replication log commands.
    Log {
        #[command(subcommand)]
        cmd: LogCmd,
    },
    /// Bulk import.
    Import {
        #[command(subcommand)]
        cmd: ImportCmd,
    },
    /// Administration.
    Admin {
        #[command(subcommand)]
        cmd: AdminCmd,
    },
    /// Search index commands (server stopped).
    Index {
        #[command(subcommand)]
        cmd: IndexCmd,
    },
    /// This instance's certificate authority (federation).
    Pki {
        #[command(subcommand)]
        cmd: PkiCmd,
    },
    /// Write a consistent backup of the store (while the server runs, or with it stopped),
    /// tagged with its log position and content digest. Never overwrites a file.
    Backup {
        #[arg(long)]
        out: PathBuf,
    },
    /// Restore a backup into an empty data dir as a new epoch; with --segments, roll forward
    /// first (to --to-lsn or --to-time, or as far as the segments go).
    Restore {
        file: PathBuf,
        /// Log segments (from `rongmei log export`) to roll forward with.
        #[arg(long)]
        segments: Option<PathBuf>,
        /// Stop after this lsn.
        #[arg(long)]
        to_lsn: Option<u64>,
        /// Stop after the last entry written at or before this time (RFC 3339).
        #[arg(long)]
        to_time: Option<String>,
        /// Where to take media files from: the old data dir, its media/ directory, or an
        /// export's assets/ directory.
        #[arg(long)]
        assets: Option<PathBuf>,
    },
    /// Turn this disaster-recovery replica (server stopped) into the primary, with a new epoch.
    Promote,
    /// Join a provincial hub as a county: exchange an enrollment token for a certificate and
    /// pin the hub's CA (the server ships to the hub from its next start).
    Join {
        /// The hub's web address, e.g. https://hub.example.gov.cn
        url: String,
        #[arg(long)]
        token: String,
    },
    /// Disaster-recovery replica commands.
    Replica {
        #[command(subcommand)]
        cmd: ReplicaCmd,
    },
    /// Benchmarks that print their figures.
    Bench {
        #[command(subcommand)]
        cmd: BenchCmd,
    },
}

#[derive(Subcommand)]
enum ConfigCmd {
    /// Print the effective configuration (file + environment + defaults).
    Print,
}

#[derive(Subcommand)]
enum LogCmd {
    /// Print entries.
    Show {
        #[arg(long, default_value_t = 1)]
        from: u64,
        #[arg(long, default_value_t = 100)]
        limit: usize,
        /// One JSON object per line.
        #[arg(long)]
        json: bool,
    },
    /// Write signed, checksummed segment files (≤ 1 GiB each, never overwriting) of the
    /// entries from `--from` on, with the media files they name and a manifest, for carrying
    /// to an offline replica (from the running server, or with it stopped).
    Export {
        #[arg(long, default_value_t = 1)]
        from: u64,
        #[arg(long)]
        out: PathBuf,
    },
    /// Apply the segments in DIR that continue this replica's log (server stopped): each is
    /// checked (signature, checksum, instance, position) and refused with the reason.
    Import { dir: PathBuf },
    /// Entries that are not part of the current history (a fenced old primary's).
    Quarantine {
        #[command(subcommand)]
        cmd: QuarantineCmd,
    },
}

#[derive(Subcommand)]
enum QuarantineCmd {
    /// Keep this store's entries after --after (the fork point `rongmei promote` printed) as
    /// signed segments and JSON lines in --out. Nothing in the store is changed or deleted.
    Export {
        #[arg(long)]
        after: u64,
        #[arg(long)]
        out: PathBuf,
    },
}

#[derive(Subcommand)]
enum ImportCmd {
    /// Import articles from JSON lines (`id, title, subtitle, body, date, category`).
    Articles {
        file: PathBuf,
        /// Outlet slug or id (created as a general outlet if the slug does not exist).
        #[arg(long, default_value = "news")]
        outlet: String,
        /// Articles per durable commit.
        #[arg(long, default_value_t = 500)]
        batch: usize,
    },
}

#[derive(Subcommand)]
enum IndexCmd {
    /// Build a new search index from the store (a running server does this itself when its
    /// index is missing, corrupt or of an older schema; or ask it: POST /api/v1/search/rebuild).
    Rebuild,
    /// Catch the index up with the log, then verify it against the store: one document per
    /// article at its current revision.
    Check,
}

#[derive(Subcommand)]
enum PkiCmd {
    /// Create the CA (private key mode 0600) and the federation listener's certificate, if
    /// missing, and print the CA fingerprint.
    Init,
}

#[derive(Subcommand)]
enum ReplicaCmd {
    /// Join a primary: exchange a pairing token for a certificate, pin the primary's CA and
    /// create an empty replica store in the data dir (which must have none).
    Join {
        /// The primary's web address, e.g. http://10.0.0.5:8080
        url: String,
        #[arg(long)]
        token: String,
    },
}

#[derive(Subcommand)]
enum AdminCmd {
    /// Set a new random password for a user and print it (server must be stopped).
    ResetPassword {
        #[arg(long, default_value = "admin")]
        user: String,
    },
}

#[derive(Subcommand)]
enum BenchCmd {
    /// Durable article creates over HTTP: one client, then many concurrent clients.
    Write(bench::WriteArgs),
    /// Search: indexing throughput, write → searchable latency, HTTP query latency.
    Search(bench_search::SearchArgs),
    /// Review: "my reviews" queue and review panel latency with N articles in the store.
    Review(bench_review::ReviewArgs),
    /// Content screening: scanning throughput and per-article latency with a word list.
    Screen(bench_screen::ScreenArgs),
    /// Replication: replica catch-up rate, lag under a steady write rate, bytes shipped.
    Replicate(bench_replicate::ReplicateArgs),
    /// Provincial hub: N simulated counties shipping to a hub process; lag, CPU, memory.
    Hub(bench_hub::HubArgs),
}

pub fn main() -> ExitCode {
    // One TLS crypto provider for the process (federation, and the HTTP client of the benches).
    crate::fed::tls::install_provider();
    let cli = Cli::parse();
    match run(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn load_config(cli: &Cli) -> anyhow::Result<Config> {
    let (mut cfg, warnings) = Config::load(cli.config.as_deref(), std::env::vars())?;
    if let Some(d) = &cli.data_dir {
        cfg.data_dir = d.clone();
    }
    for w in warnings {
        eprintln!("warning: {w}");
    }
    Ok(cfg)
}

fn init_tracing(cfg: &Config) {
    let filter = std::env::var("RONGMEI_LOG").unwrap_or_else(|_| cfg.logging.level.clone());
    let filter = tracing_subscriber::EnvFilter::try_new(filter)
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let b = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let _ = if cfg.logging.format == "json" {
        b.json().try_init()
    } else {
        b.try_init()
    };
}

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?)
}

fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    if let Cmd::Init { path, force, role } = &cli.cmd {
        if path.exists() && !force {
            anyhow::bail!("{} exists; pass --force to overwrite", path.display());
        }
        let text = crate::config::COMMENTED_DEFAULT.replacen(
            "role = \"county\"",
            &format!("role = \"{role}\""),
            1,
        );
        std::fs::write(path, text)?;
        println!("wrote {}", path.display());
        return Ok(ExitCode::SUCCESS);
    }
    let mut cfg = load_config(&cli)?;
    init_tracing(&cfg);
    match cli.cmd {
        Cmd::Init { .. } => Ok(ExitCode::SUCCESS),
        Cmd::Serve { listen } => {
            if let Some(l) = listen {
                cfg.http.listen = l;
            }
            runtime()?.block_on(serve(cfg))?;
            Ok(ExitCode::SUCCESS)
        }
        Cmd::Config {
            cmd: ConfigCmd::Print,
        } => {
            print!("{}", cfg.to_toml());
            Ok(ExitCode::SUCCESS)
        }
        Cmd::Check => inspect::check(&cfg),
        Cmd::Log {
            cmd: LogCmd::Show { from, limit, json },
        } => inspect::log_show(&cfg, from, limit, json),
        Cmd::Log {
            cmd: LogCmd::Export { from, out },
        } => logfiles::export(&cfg, from, &out),
        Cmd::Log {
            cmd: LogCmd::Import { dir },
        } => logfiles::import(&cfg, &dir, crate::fed::carry::Until::End),
        Cmd::Log {
            cmd:
                LogCmd::Quarantine {
                    cmd: QuarantineCmd::Export { after, out },
                },
        } => logfiles::quarantine_export(&cfg, after, &out),
        Cmd::Backup { out } => backup::backup(&cfg, &out),
        Cmd::Restore {
            file,
            segments,
            to_lsn,
            to_time,
            assets,
        } => backup::restore(
            &cfg,
            backup::RestoreArgs {
                file,
                segments,
                to_lsn,
                to_time,
                assets,
            },
        ),
        Cmd::Promote => backup::promote(&cfg),
        Cmd::Import {
            cmd:
                ImportCmd::Articles {
                    file,
                    outlet,
                    batch,
                },
        } => import::articles(&cfg, &file, &outlet, batch),
        Cmd::Index {
            cmd: IndexCmd::Rebuild,
        } => index::rebuild(&cfg),
        Cmd::Index {
            cmd: IndexCmd::Check,
        } => index::check(&cfg),
        Cmd::Admin {
            cmd: AdminCmd::ResetPassword { user },
        } => admin::reset_password(&cfg, &user),
        Cmd::Pki { cmd: PkiCmd::Init } => fed::pki_init(&cfg),
        Cmd::Join { url, token } => runtime()?.block_on(fed::county_join(&cfg, &url, &token)),
        Cmd::Replica {
            cmd: ReplicaCmd::Join { url, token },
        } => runtime()?.block_on(fed::replica_join(&cfg, &url, &token)),
        Cmd::Bench {
            cmd: BenchCmd::Write(args),
        } => runtime()?.block_on(bench::write(args)),
        Cmd::Bench {
            cmd: BenchCmd::Search(args),
        } => runtime()?.block_on(bench_search::search(args)),
        Cmd::Bench {
            cmd: BenchCmd::Review(args),
        } => runtime()?.block_on(bench_review::review_bench(args)),
        Cmd::Bench {
            cmd: BenchCmd::Screen(args),
        } => bench_screen::screen(args),
        Cmd::Bench {
            cmd: BenchCmd::Replicate(args),
        } => runtime()?.block_on(bench_replicate::replicate(args)),
        Cmd::Bench {
            cmd: BenchCmd::Hub(args),
        } => runtime()?.block_on(bench_hub::hub(args)),
    }
}

async fn serve(cfg: Config) -> anyhow::Result<()> {
    let data_dir = cfg.data_dir.clone();
    let running = crate::app::start(cfg, crate::clock::system()).await?;
    if let Some(pw) = &running.initial_password {
        println!("first start: created instance {}", running.instance_id);
        println!("initial admin password (shown once): username admin, password {pw}");
    }
    println!("data dir: {}", data_dir.display());
    println!("listening on http://{}", running.addr);
    use std::io::Write;
    let _ = std::io::stdout().flush();
    running.until_signal().await?;
    Ok(())
}

/// Open the store of a stopped server for an offline command.
fn open_offline(cfg: &Config) -> anyhow::Result<crate::workflow::bootstrap::Opened> {
    let path = cfg.data_dir.join(crate::store::DB_FILE);
    if !path.exists() {
        anyhow::bail!(
            "no database at {} (start the server once, or pass --data-dir)",
            path.display()
        );
    }
    crate::workflow::bootstrap::open_or_init(&cfg.data_dir, "county", crate::clock::system().now())
        .map_err(|e| anyhow::anyhow!("{e} (is a server running on this data dir? stop it first)"))
}
