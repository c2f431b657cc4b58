//! Who is acting: a user, through a session (all of the user's rights) or an API token (the user's
//! rights narrowed to the token's scopes).

use crate::domain::OutletId;
use crate::domain::UserId;
use crate::domain::credentials::Scope;
use crate::domain::user::{Permission, User};
use crate::error::{Error, Result};

#[derive(Debug, Clone)]
pub struct Actor {
    pub user: User,
    /// `None` for a login session; the token's scopes otherwise.
    pub scopes: Option<Vec<Scope>>,
}

fn scope_for(p: Permission) -> Scope {
    match p {
        Permission::ArticleRead | Permission::AssetRead | Permission::AuditRead => Scope::Read,
        Permission::MembersManage | Permission::ChainManage | Permission::ScreenSettings => {
            Scope::Admin
        }
        _ => Scope::Write,
    }
}

impl Actor {
    pub fn id(&self) -> UserId {
        self.user.id
    }

    fn scoped(&self, s: Scope) -> bool {
        self.scopes.as_ref().is_none_or(|v| v.contains(&s))
    }

    /// May this actor change anything (tokens need the `write` scope)?
    pub fn writes(&self) -> bool {
        !self.user.disabled && self.scoped(Scope::Write)
    }

    pub fn can(&self, outlet: OutletId, p: Permission) -> bool {
        self.scoped(scope_for(p)) && self.user.can(outlet, p)
    }

    /// Outlets where the actor holds `p` (`None` = every outlet).
    pub fn outlets_with(&self, p: Permission) -> Option<Vec<OutletId>> {
        if !self.scoped(scope_for(p)) {
            return Some(Vec::new());
        }
        self.user.outlets_with(p)
    }

    /// The outlets a query may cover: those asked for (`None` = all), narrowed to where the
    /// actor holds `p`. `None` in the result means "every outlet" (instance admins).
    pub fn restrict(&self, p: Permission, asked: Option<Vec<OutletId>>) -> Option<Vec<OutletId>> {
        match (asked, self.outlets_with(p)) {
            (Some(asked), Some(mine)) => {
                Some(asked.into_iter().filter(|o| mine.contains(o)).collect())
            }
            (asked, None) => asked,
            (None, mine) => mine,
        }
    }

    /// Is the outlet itself (name, kind) visible: members and instance admins.
    pub fn sees_outlet(&self, outlet: OutletId) -> bool {
        self.is_instance_admin() || self.user.roles.contains_key(&outlet)
    }

    pub fn is_instance_admin(&self) -> bool {
        !self.user.disabled && self.user.instance_admin && self.scoped(Scope::Admin)
    }

    /// An instance administrator, or someone who may publish (签发) in some outlet: who acts for
    /// the center toward the province (acknowledges instructions, offers articles, reviews at
    /// a hub).
    pub fn speaks_for_the_center(&self) -> bool {
        self.is_instance_admin()
            || (self.scoped(scope_for(Permission::ArticlePublish))
                && self.user.speaks_for_the_center())
    }

    pub fn require_instance_admin(&self) -> Result<()> {
        if self.is_instance_admin() {
            Ok(())
        } else {
            Err(Error::Forbidden)
        }
    }
}
