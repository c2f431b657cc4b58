//! Newtype ids. Numeric ids are allocated densely per instance by the workflow layer.

use serde::{Deserialize, Serialize};

macro_rules! id {
    ($(#[$m:meta])* $name:ident) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, utoipa::ToSchema)]
        #[serde(transparent)]
        pub struct $name(pub u64);

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                self.0.fmt(f)
            }
        }
    };
}

id!(/// An outlet (TV, radio, app, WeChat account, website ...).
    OutletId);
id!(/// A user account.
    UserId);
id!(/// An article.
    ArticleId);
id!(/// A media asset record.
    AssetId);
id!(/// An API token.
    TokenId);
id!(/// A review chain (all versions share the id).
    ChainId);
id!(/// A planned topic (选题).
    TopicId);
id!(/// A comment on an article or a topic.
    CommentId);
id!(/// A word list (lexicon) for screening or proofreading.
    LexiconId);
id!(/// Position in the replication log; dense, starting at 1.
    Lsn);

/// A history line of the log: changes on restore, promotion and re-clone.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Epoch(pub u64);

/// Identity of an installation (a UUID string), fixed at first start.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct InstanceId(pub String);
