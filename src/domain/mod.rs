//! Pure types and rules: ids, outlets, users and their permissions, articles and assets, and the
//! domain facts the log records. No I/O, no async, no clock reads (time arrives as `Millis`).
//! Must not use any other crate module except `clock` (for the `Millis` type), `error` and the
//! pure `screen` (the severity of a listed term).

pub mod article;
pub mod asset;
pub mod comment;
pub mod credentials;
pub mod fact;
pub mod html;
pub mod hub;
pub mod ids;
pub mod instruction;
pub mod lexicon;
pub mod lifecycle;
pub mod notice;
pub mod outlet;
pub mod peer;
pub mod provincial;
pub mod review;
pub mod screening;
pub mod shared;
pub mod topic;
pub mod user;

pub use ids::*;
