//! One file per resource. Each exposes `routes()` (an `OpenApiRouter`) and its DTOs.

pub mod articles;
pub mod assets;
pub mod attachments;
pub mod audit;
pub mod chains;
pub mod comments;
pub mod federation;
pub mod instance;
pub mod instructions;
pub mod lexicons;
pub mod locks;
pub mod notices;
pub mod ops;
pub mod outlets;
pub mod provincial;
pub mod review;
pub mod screening;
pub mod search;
pub mod session;
pub mod shared;
pub mod tokens;
pub mod topics;
pub mod users;

use crate::clock::{Millis, rfc3339};

pub(crate) fn ts(ms: Millis) -> String {
    rfc3339(ms)
}
