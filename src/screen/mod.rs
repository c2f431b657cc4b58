//! Content screening: prohibited-term matching that resists evasion (`normalize`, `matcher`)
//! and proofreading suggestions (`proof`).
//! Pure computation over text and term lists; lexicon storage, enforcement on submit/publish
//! and the editor's hints build on it.

pub mod lists;
pub mod matcher;
pub mod normalize;
pub mod proof;
pub mod spell;

pub use matcher::{Hit, Matcher, Severity, Term};
pub use normalize::{Folded, fold, fold_into};
