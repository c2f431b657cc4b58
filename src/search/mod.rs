//! Chinese-first full-text search, a consumer of the replication log (GUIDE §5).
//!
//! - `analyze`: folding and the three tokenizers (bigrams for recall, jieba words for ranking).
//! - `schema`: fields, and how an article becomes a document.
//! - `query`: the query language and its translation, permissions and filters included.
//! - `highlight`: exact match marking for titles and snippets.
//! - `index`: the on-disk index, its cursor (commit payload) and the shared handle.
//! - `indexer`: the background thread that follows the log, and rebuilds.
//! - `exec`: searches and suggestions for an actor.
//! - `verify`: offline comparison of the index with the store (`rongmei index check`).
//!
//! Depends on `workflow` (actors and read permissions), `log`, `store`, `domain`.

pub mod analyze;
pub mod exec;
pub mod highlight;
pub mod index;
pub mod indexer;
pub mod query;
pub mod schema;
pub mod verify;

pub use analyze::Analyzers;
pub use exec::{SearchRequest, SearchResult, Sort, search, suggest};
pub use index::{Options, SearchIndex, State, Status};
