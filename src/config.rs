//! Configuration: a TOML file (`version = 1`, unknown keys rejected naming the key and file) with
//! `RONGMEI_<SECTION>_<KEY>` environment overrides, validated into `Config`. No global statics: the
//! value is passed down from `cli`.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// Environment variables that are not configuration keys.
const NON_CONFIG_ENV: &[&str] = &[
    "RONGMEI_CONFIG",
    "RONGMEI_LOG",
    "RONGMEI_SKIP_WEB_BUILD",
    "RONGMEI_CRASH_CYCLES",
    "RONGMEI_BLESS",
];

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// File format version; only 1 exists.
    pub version: u32,
    /// Where the database, media files and keys live.
    pub data_dir: PathBuf,
    pub http: HttpConfig,
    pub assets: AssetsConfig,
    pub auth: AuthConfig,
    pub search: SearchConfig,
    pub federation: FederationConfig,
    pub logging: LoggingConfig,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct FederationConfig {
    /// `county` (the default) or `hub`; fixed when the data dir is created.
    pub role: String,
    /// The mTLS listener replicas (and later the hub's counties) connect to, e.g.
    /// `0.0.0.0:8443`. Empty = off (the default).
    pub listen: String,
    /// The address peers should dial, when it differs from `listen` (NAT, DNS name).
    pub advertise: String,
    /// A county renews its certificate at its hub this many days before it expires.
    pub renew_before_days: u32,
    /// A primary with the listener on keeps the log, compressed once in chunks of this many
    /// entries, for replicas that catch up after being offline (0 = off).
    pub catch_up_chunk_entries: u32,
    /// The most disk the chunks take, in MiB (the oldest go first).
    pub catch_up_cache_mb: u32,
}

impl Default for FederationConfig {
    fn default() -> Self {
        Self {
            role: "county".into(),
            listen: String::new(),
            advertise: String::new(),
            renew_before_days: 30,
            catch_up_chunk_entries: 2_000,
            catch_up_cache_mb: 1_024,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SearchConfig {
    /// Memory the index writer may buffer before writing a segment, in MiB.
    pub writer_memory_mb: u32,
    /// Index writer threads; 0 = up to 2, as the machine has cores.
    pub threads: u32,
    /// Extra words for Chinese segmentation (`word [frequency]` per line); empty = none.
    pub user_dictionary: String,
}

impl Default for SearchConfig {
    fn default() -> Self {
        Self {
            writer_memory_mb: 128,
            threads: 0,
            user_dictionary: String::new(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct HttpConfig {
    /// Address of the web UI and JSON API listener. Loopback by default.
    pub listen: String,
    /// Largest JSON request body accepted.
    pub max_json_bytes: usize,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AssetsConfig {
    /// Largest upload accepted, in bytes.
    pub max_upload_bytes: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AuthConfig {
    /// Lifetime of a login session.
    pub session_ttl_hours: u32,
    /// Failed logins allowed per account inside the window before it is locked.
    pub max_failures_per_account: u32,
    /// Failed logins allowed per client address inside the window.
    pub max_failures_per_address: u32,
    /// Length of the failed-login window.
    pub failure_window_minutes: u32,
    /// Mark the session cookie `Secure` (set when served behind TLS).
    pub cookie_secure: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LoggingConfig {
    /// tracing filter, e.g. `info` or `rongmei=debug,tower_http=info`.
    pub level: String,
    /// `text` or `json`.
    pub format: String,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            version: 1,
            data_dir: PathBuf::from("./rongmei-data"),
            http: HttpConfig::default(),
            assets: AssetsConfig::default(),
            auth: AuthConfig::default(),
            search: SearchConfig::default(),
            federation: FederationConfig::default(),
            logging: LoggingConfig::default(),
        }
    }
}

impl Default for HttpConfig {
    fn default() -> Self {
        Self {
            listen: "127.0.0.1:8080".into(),
            max_json_bytes: 4 * 1024 * 1024,
        }
    }
}

impl Default for AssetsConfig {
    fn default() -> Self {
        Self {
            max_upload_bytes: 2 * 1024 * 1024 * 1024,
        }
    }
}

impl Default for AuthConfig {
    fn default() -> Self {
        Self {
            session_ttl_hours: 12,
            max_failures_per_account: 5,
            max_failures_per_address: 30,
            failure_window_minutes: 15,
            cookie_secure: false,
        }
    }
}

impl Default for LoggingConfig {
    fn default() -> Self {
        Self {
            level: "info".into(),
            format: "text".into(),
        }
    }
}

/// Where each value came from, for error messages.
fn source_name(file: Option<&Path>) -> String {
    match file {
        Some(p) => p.display().to_string(),
        None => "built-in defaults".into(),
    }
}

impl Config {
    /// Load from an optional file plus the given environment (pass `std::env::vars()`).
    /// Returns the config and warnings (e.g. ignored environment variables).
    pub fn load(
        file: Option<&Path>,
        env: impl IntoIterator<Item = (String, String)>,
    ) -> Result<(Config, Vec<String>)> {
        let mut table = match file {
            Some(p) => {
                let text = std::fs::read_to_string(p)
                    .map_err(|e| Error::Config(format!("cannot read {}: {e}", p.display())))?;
                text.parse::<toml::Table>()
                    .map_err(|e| Error::Config(format!("{}: {e}", p.display())))?
            }
            None => toml::Table::new(),
        };
        let known =
            toml::Table::try_from(Config::default()).map_err(|e| Error::Internal(e.to_string()))?;
        let mut warnings = Vec::new();
        for (k, v) in env {
            if !k.starts_with("RONGMEI_") || NON_CONFIG_ENV.contains(&k.as_str()) {
                continue;
            }
            match env_path(&k, &known) {
                Some((section, key)) => set_path(&mut table, section.as_deref(), &key, &v),
                None => warnings.push(format!("ignoring {k}: not a configuration key")),
            }
        }
        let cfg: Config = table.try_into().map_err(|e: toml::de::Error| {
            Error::Config(format!("{}: {}", source_name(file), e.message()))
        })?;
        cfg.validate()
            .map_err(|m| Error::Config(format!("{}: {m}", source_name(file))))?;
        Ok((cfg, warnings))
    }

    fn validate(&self) -> std::result::Result<(), String> {
        if !["county", "hub"].contains(&self.federation.role.as_str()) {
            return Err(format!(
                "federation.role = {:?}: must be \"county\" or \"hub\"",
                self.federation.role
            ));
        }
        if self.version != 1 {
            return Err(format!(
                "version = {} is not supported (only 1)",
                self.version
            ));
        }
        self.listen_addr()?;
        if self.http.max_json_bytes < 1024 {
            return Err("http.max_json_bytes must be at least 1024".into());
        }
        if self.assets.max_upload_bytes == 0 {
            return Err("assets.max_upload_bytes must be positive".into());
        }
        if self.auth.session_ttl_hours == 0 || self.auth.failure_window_minutes == 0 {
            return Err("auth durations must be positive".into());
        }
        if self.auth.max_failures_per_account == 0 || self.auth.max_failures_per_address == 0 {
            return Err("auth failure limits must be positive".into());
        }
        if !(32..=4096).contains(&self.search.writer_memory_mb) {
            return Err("search.writer_memory_mb must be 32 to 4096".into());
        }
        if !(1..=400).contains(&self.federation.renew_before_days) {
            return Err("federation.renew_before_days must be 1 to 400".into());
        }
        if self.federation.catch_up_chunk_entries > 100_000 {
            return Err("federation.catch_up_chunk_entries must be 0 to 100000".into());
        }
        if self.search.threads > 16 {
            return Err("search.threads must be 0 to 16".into());
        }
        if !matches!(self.logging.format.as_str(), "text" | "json") {
            return Err(format!(
                "logging.format = {:?}: use \"text\" or \"json\"",
                self.logging.format
            ));
        }
        Ok(())
    }

    pub fn listen_addr(&self) -> std::result::Result<SocketAddr, String> {
        self.http.listen.parse().map_err(|_| {
            format!(
                "http.listen = {:?} is not an address like 127.0.0.1:8080",
                self.http.listen
            )
        })
    }

    /// The effective configuration as TOML (no secrets exist yet; future `*_file` keys print as paths).
    pub fn to_toml(&self) -> String {
        toml::to_string_pretty(self).unwrap_or_default()
    }
}

/// `RONGMEI_HTTP_LISTEN` → (Some("http"), "listen"); `RONGMEI_DATA_DIR` → (None, "data_dir").
fn env_path(var: &str, known: &toml::Table) -> Option<(Option<String>, String)> {
    let rest = var.strip_prefix("RONGMEI_")?.to_ascii_lowercase();
    if known.get(&rest).is_some_and(|v| !v.is_table()) {
        return Some((None, rest));
    }
    for (section, v) in known {
        let Some(inner) = v.as_table() else { continue };
        if let Some(key) = rest.strip_prefix(&format!("{section}_"))
            && inner.contains_key(key)
        {
            return Some((Some(section.clone()), key.to_string()));
        }
    }
    None
}

fn set_path(table: &mut toml::Table, section: Option<&str>, key: &str, raw: &str) {
    let value = parse_env_value(raw);
    let target = match section {
        None => table,
        Some(s) => {
            let entry = table
                .entry(s.to_string())
                .or_insert_with(|| toml::Value::Table(toml::Table::new()));
            match entry.as_table_mut() {
                Some(t) => t,
                None => return,
            }
        }
    };
    target.insert(key.to_string(), value);
}

/// Numbers and booleans are typed; anything else is a string.
fn parse_env_value(raw: &str) -> toml::Value {
    if let Ok(i) = raw.parse::<i64>() {
        return toml::Value::Integer(i);
    }
    match raw {
        "true" => toml::Value::Boolean(true),
        "false" => toml::Value::Boolean(false),
        _ => toml::Value::String(raw.to_string()),
    }
}

/// The commented file `rongmei init` writes (also shipped as `packaging/rongmei.toml`).
pub const COMMENTED_DEFAULT: &str = include_str!("../packaging/rongmei.toml");

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &tempfile::TempDir, text: &str) -> PathBuf {
        let p = dir.path().join("c.toml");
        std::fs::write(&p, text).unwrap();
        p
    }

    #[test]
    fn no_file_gives_loopback_defaults() {
        let (c, w) = Config::load(None, Vec::new()).unwrap();
        assert_eq!(c.http.listen, "127.0.0.1:8080");
        assert_eq!(c.data_dir, PathBuf::from("./rongmei-data"));
        assert!(w.is_empty());
    }

    #[test]
    fn unknown_key_names_key_and_file() {
        let d = tempfile::tempdir().unwrap();
        let p = write(
            &d,
            "version = 1\n[http]\nlisten = \"127.0.0.1:1\"\nlisen = 3\n",
        );
        let e = Config::load(Some(&p), Vec::new()).unwrap_err().to_string();
        assert!(e.contains("lisen"), "{e}");
        assert!(e.contains("c.toml"), "{e}");
    }

    #[test]
    fn bad_values_are_rejected() {
        let d = tempfile::tempdir().unwrap();
        let p = write(&d, "[http]\nlisten = \"everywhere\"\n");
        let e = Config::load(Some(&p), Vec::new()).unwrap_err().to_string();
        assert!(e.contains("http.listen"), "{e}");
        let p = write(&d, "version = 2\n");
        assert!(Config::load(Some(&p), Vec::new()).is_err());
        let p = write(&d, "[auth]\nsession_ttl_hours = \"soon\"\n");
        assert!(Config::load(Some(&p), Vec::new()).is_err());
    }

    #[test]
    fn env_overrides_file() {
        let d = tempfile::tempdir().unwrap();
        let p = write(&d, "[http]\nlisten = \"127.0.0.1:1\"\n");
        let env = vec![
            (
                "RONGMEI_HTTP_LISTEN".to_string(),
                "127.0.0.1:9999".to_string(),
            ),
            ("RONGMEI_DATA_DIR".to_string(), "/tmp/x".to_string()),
            ("RONGMEI_AUTH_COOKIE_SECURE".to_string(), "true".to_string()),
            ("RONGMEI_NOPE".to_string(), "1".to_string()),
        ];
        let (c, w) = Config::load(Some(&p), env).unwrap();
        assert_eq!(c.http.listen, "127.0.0.1:9999");
        assert_eq!(c.data_dir, PathBuf::from("/tmp/x"));
        assert!(c.auth.cookie_secure);
        assert_eq!(w.len(), 1);
    }

    #[test]
    fn shipped_config_files_load() {
        let d = tempfile::tempdir().unwrap();
        let p = write(&d, COMMENTED_DEFAULT);
        let (c, _) = Config::load(Some(&p), Vec::new()).unwrap();
        assert_eq!(c, Config::default());
        for f in ["fixtures/config/minimal.toml", "fixtures/config/full.toml"] {
            let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(f);
            Config::load(Some(&path), Vec::new()).unwrap();
        }
    }
}
