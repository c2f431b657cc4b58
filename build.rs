//! Builds the web UI (`web/` → `web/dist/`) so that `cargo build` alone yields a binary whose UI
//! works: runs `npm ci` when `node_modules` is missing or older than the lock file, then
//! `npm run build` when `web/dist` is missing or older than any UI source. The built files are
//! embedded by `src/http/ui.rs` (rust-embed). `RONGMEI_SKIP_WEB_BUILD=1` skips all of it for
//! API-only work; the server then serves a plain status page at `/`.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::SystemTime;

const INPUTS: &[&str] = &[
    "src",
    "public",
    "scripts",
    "index.html",
    "package.json",
    "package-lock.json",
    "vite.config.ts",
    "tsconfig.json",
    "env.d.ts",
];

fn main() {
    let web = PathBuf::from(env("CARGO_MANIFEST_DIR")).join("web");
    println!("cargo:rerun-if-env-changed=RONGMEI_SKIP_WEB_BUILD");
    for i in INPUTS {
        println!("cargo:rerun-if-changed=web/{i}");
    }
    let dist = web.join("dist");
    if std::env::var_os("RONGMEI_SKIP_WEB_BUILD").is_some_and(|v| v != "0") {
        // rust-embed needs the folder; an empty one means "no UI".
        std::fs::create_dir_all(&dist).unwrap_or_else(|e| fail(&format!("create {dist:?}: {e}")));
        return;
    }
    let newest_input = INPUTS
        .iter()
        .filter_map(|i| newest(&web.join(i)))
        .max()
        .unwrap_or(SystemTime::UNIX_EPOCH);
    if mtime(&dist.join("index.html")).is_some_and(|built| built >= newest_input) {
        return;
    }
    let npm = if cfg!(windows) { "npm.cmd" } else { "npm" };
    if Command::new(npm).arg("--version").output().is_err() {
        fail(
            "the web UI needs Node.js (>= 20.19) and npm to build, and `npm` was not found on PATH.\n\
             Install them (Debian: apt-get install nodejs npm), or set RONGMEI_SKIP_WEB_BUILD=1 to \
             build the API-only server.",
        );
    }
    let lock = mtime(&web.join("package-lock.json"));
    let installed = mtime(&web.join("node_modules/.package-lock.json"));
    if installed.is_none() || lock > installed {
        run(
            Command::new(npm)
                .args(["ci", "--no-audit", "--no-fund"])
                .current_dir(&web),
            "npm ci",
        );
    }
    run(
        Command::new(npm).args(["run", "build"]).current_dir(&web),
        "npm run build",
    );
}

fn env(k: &str) -> String {
    std::env::var(k).unwrap_or_else(|_| fail(&format!("{k} is not set")))
}

fn run(cmd: &mut Command, what: &str) {
    match cmd.status() {
        Ok(s) if s.success() => {}
        Ok(s) => fail(&format!(
            "`{what}` in web/ failed ({s}); see its output above"
        )),
        Err(e) => fail(&format!("could not run `{what}`: {e}")),
    }
}

fn mtime(p: &Path) -> Option<SystemTime> {
    std::fs::metadata(p).and_then(|m| m.modified()).ok()
}

/// Newest modification time of a file, or of any file under a directory.
fn newest(p: &Path) -> Option<SystemTime> {
    let meta = std::fs::metadata(p).ok()?;
    if !meta.is_dir() {
        return meta.modified().ok();
    }
    std::fs::read_dir(p)
        .ok()?
        .filter_map(|e| e.ok())
        .filter_map(|e| newest(&e.path()))
        .max()
}

fn fail(msg: &str) -> ! {
    eprintln!("error: {msg}");
    std::process::exit(1);
}
