//! Domain facts: the entries of the replication log. Each is a complete statement of what became
//! true (full snapshots, not diffs), so any follower — the store's own projection, the search index,
//! the DR replica, the hub — can apply it idempotently without reading anything else.

use serde::{Deserialize, Serialize};

use super::article::Article;
use super::asset::Asset;
use super::credentials::ApiToken;
use super::outlet::Outlet;
use super::user::User;
use super::{AssetId, InstanceId, TokenId, UserId};
use crate::clock::Millis;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type")]
pub enum Fact {
    InstanceCreated {
        instance_id: InstanceId,
        role: String,
    },
    OutletCreated {
        outlet: Outlet,
    },
    OutletUpdated {
        outlet: Outlet,
    },
    UserCreated {
        user: User,
    },
    UserUpdated {
        user: User,
    },
    /// A new argon2id hash for a user's password.
    PasswordSet {
        user: UserId,
        phc: String,
    },
    TokenCreated {
        token: ApiToken,
    },
    TokenRevoked {
        id: TokenId,
        at: Millis,
    },
    ArticleCreated {
        article: Article,
    },
    ArticleUpdated {
        article: Article,
    },
    /// An older version saved again as the newest one (`article.restored_from` names it).
    ArticleRestored {
        article: Article,
    },
    AssetAdded {
        asset: Asset,
    },
    AssetDeleted {
        id: AssetId,
    },
}

impl Fact {
    pub fn kind(&self) -> &'static str {
        match self {
            Fact::InstanceCreated { .. } => "InstanceCreated",
            Fact::OutletCreated { .. } => "OutletCreated",
            Fact::OutletUpdated { .. } => "OutletUpdated",
            Fact::UserCreated { .. } => "UserCreated",
            Fact::UserUpdated { .. } => "UserUpdated",
            Fact::PasswordSet { .. } => "PasswordSet",
            Fact::TokenCreated { .. } => "TokenCreated",
            Fact::TokenRevoked { .. } => "TokenRevoked",
            Fact::ArticleCreated { .. } => "ArticleCreated",
            Fact::ArticleUpdated { .. } => "ArticleUpdated",
            Fact::ArticleRestored { .. } => "ArticleRestored",
            Fact::AssetAdded { .. } => "AssetAdded",
            Fact::AssetDeleted { .. } => "AssetDeleted",
        }
    }
}
