//! rongmei (融媒): a county media convergence center in one binary.
//!
//! Layers, each depending only on the ones above it in this list:
//! `domain` → `store` → `log` → `media` → `workflow` → `search` → `http` → `app` / `cli`.
//! `clock`, `config` and `error` are shared leaves; `screen` (text screening) uses only `error`. `tests/it/layering.rs` keeps this true.

pub mod app;
pub mod cli;
pub mod clock;
pub mod config;
pub mod domain;
pub mod error;
pub mod fed;
pub mod http;
pub mod log;
pub mod media;
pub mod screen;
pub mod search;
pub mod store;
pub mod workflow;

pub use error::{Error, Result};
