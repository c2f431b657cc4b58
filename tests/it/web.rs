//! The web UI's own tests, run from `cargo test` so the README's one test command covers them:
//! the vitest component tests, then the browser end-to-end tests (`web/e2e/run.mjs`: Debian's
//! Chromium driven by playwright-core) against this build's release binary on a loopback port.
//! Both need the UI to have been built by `build.rs`; with `RONGMEI_SKIP_WEB_BUILD` set they say
//! so and do nothing (`.ci/run` refuses to run with that variable set).

use std::path::PathBuf;
use std::process::Command;

fn web_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("web")
}

fn skipped() -> bool {
    if !super::harness::web_ui_built() {
        eprintln!("web tests not run: RONGMEI_SKIP_WEB_BUILD is set, so no UI was built");
        return true;
    }
    assert!(
        web_dir().join("node_modules").is_dir(),
        "web/node_modules is missing: build.rs installs it (npm ci) when it builds the UI"
    );
    false
}

fn run(cmd: &mut Command, what: &str) {
    let out = cmd
        .current_dir(web_dir())
        .output()
        .unwrap_or_else(|e| panic!("could not start {what}: {e} (is Node.js installed?)"));
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    println!("{text}");
    assert!(out.status.success(), "{what} failed:\n{text}");
}

#[test]
fn component_tests() {
    if skipped() {
        return;
    }
    run(
        Command::new("npx").args(["--no-install", "vitest", "run"]),
        "vitest",
    );
}

#[test]
fn browser_end_to_end() {
    if skipped() {
        return;
    }
    let chromium = std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
    assert!(
        std::path::Path::new(&chromium).exists(),
        "browser tests need Chromium at {chromium} (apt-get install chromium; .ci/run does)"
    );
    run(
        Command::new("node")
            .arg("e2e/run.mjs")
            .env("RONGMEI_BIN", super::harness::binary())
            .env("CHROMIUM", &chromium),
        "browser tests",
    );
}
