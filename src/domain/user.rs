//! Users, roles per outlet and THE permission table. Authorization asks `can(user, outlet, perm)`;
//! nothing else in the code compares roles.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::{OutletId, UserId};
use crate::clock::Millis;
use crate::error::{Error, Result};

#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// 记者: writes and edits own work.
    Reporter,
    /// 编辑 / 审核: edits anyone's work in the outlet.
    Editor,
    /// 总编辑 / 主编: editor plus (later) final review and overrides.
    ChiefEditor,
    /// Outlet administrator: manages the outlet's members.
    Admin,
}

impl Role {
    pub const ALL: [Role; 4] = [Role::Reporter, Role::Editor, Role::ChiefEditor, Role::Admin];

    /// Stable number used in index keys.
    pub fn code(self) -> u8 {
        match self {
            Role::Reporter => 0,
            Role::Editor => 1,
            Role::ChiefEditor => 2,
            Role::Admin => 3,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Permission {
    ArticleRead,
    ArticleCreate,
    ArticleEditOwn,
    ArticleEditAny,
    AssetRead,
    AssetUpload,
    AssetDelete,
    MembersManage,
    /// 签发: publish an approved article.
    ArticlePublish,
    /// Kill a published article.
    ArticleRetract,
    /// Edit the outlet's review chains.
    ChainManage,
    /// Read the outlet's audit trail (anyone reads an article's own history).
    AuditRead,
    /// Propose a topic (选题) for the outlet.
    TopicPropose,
    /// Approve, reject, merge, assign and move the outlet's topics.
    TopicDecide,
    /// Take over another user's edit lock on an article (recorded).
    LockSteal,
    /// Let an article with blocked terms through, with a recorded reason.
    ScreenOverride,
    /// Switch the instance's word lists on or off for the outlet.
    ScreenSettings,
}

use Permission::*;

/// THE permission table: what each role may do inside an outlet where it holds the role.
pub const PERMISSIONS: &[(Role, &[Permission])] = &[
    (
        Role::Reporter,
        &[
            ArticleRead,
            ArticleCreate,
            ArticleEditOwn,
            AssetRead,
            AssetUpload,
            TopicPropose,
        ],
    ),
    (
        Role::Editor,
        &[
            ArticleRead,
            ArticleCreate,
            ArticleEditOwn,
            ArticleEditAny,
            AssetRead,
            AssetUpload,
            AssetDelete,
            ArticlePublish,
            TopicPropose,
            TopicDecide,
            LockSteal,
        ],
    ),
    (
        Role::ChiefEditor,
        &[
            ArticleRead,
            ArticleCreate,
            ArticleEditOwn,
            ArticleEditAny,
            AssetRead,
            AssetUpload,
            AssetDelete,
            ArticlePublish,
            ArticleRetract,
            ChainManage,
            AuditRead,
            TopicPropose,
            TopicDecide,
            LockSteal,
            ScreenOverride,
            ScreenSettings,
        ],
    ),
    (
        Role::Admin,
        &[
            ArticleRead,
            ArticleCreate,
            ArticleEditOwn,
            ArticleEditAny,
            AssetRead,
            AssetUpload,
            AssetDelete,
            MembersManage,
            ArticlePublish,
            ArticleRetract,
            ChainManage,
            AuditRead,
            TopicPropose,
            TopicDecide,
            LockSteal,
            ScreenOverride,
            ScreenSettings,
        ],
    ),
];

pub fn role_grants(role: Role, perm: Permission) -> bool {
    PERMISSIONS
        .iter()
        .any(|(r, ps)| *r == role && ps.contains(&perm))
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct User {
    pub id: UserId,
    /// Login name: `[a-z0-9._-]{2,32}`, unique.
    pub username: String,
    pub display_name: String,
    /// Instance administrator: manages outlets, users and tokens everywhere.
    pub instance_admin: bool,
    /// Stored as a list of `[outlet, role]` pairs: map keys that are numbers do not survive
    /// serde's internally tagged enums (the log's `Fact`), which `check` caught.
    #[serde(with = "role_pairs")]
    pub roles: BTreeMap<OutletId, Role>,
    pub disabled: bool,
    /// Bumped by "log out everywhere" and password changes; sessions of older generations die.
    pub session_generation: u32,
    pub created_at: Millis,
    pub updated_at: Millis,
}

impl User {
    /// May this user do `perm` in `outlet`? Instance admins may do everything.
    pub fn can(&self, outlet: OutletId, perm: Permission) -> bool {
        if self.disabled {
            return false;
        }
        if self.instance_admin {
            return true;
        }
        self.roles
            .get(&outlet)
            .is_some_and(|r| role_grants(*r, perm))
    }

    /// Outlets where the user holds `perm` (`None` = all outlets, for instance admins).
    /// An instance administrator, or someone who may publish (签发) in some outlet: who acts for
    /// the center toward the province, and is told what the province sends.
    pub fn speaks_for_the_center(&self) -> bool {
        !self.disabled
            && self
                .outlets_with(Permission::ArticlePublish)
                .is_none_or(|o| !o.is_empty())
    }

    pub fn outlets_with(&self, perm: Permission) -> Option<Vec<OutletId>> {
        if self.instance_admin {
            return None;
        }
        Some(
            self.roles
                .iter()
                .filter(|(_, r)| role_grants(**r, perm))
                .map(|(o, _)| *o)
                .collect(),
        )
    }
}

mod role_pairs {
    use std::collections::BTreeMap;

    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    use super::{OutletId, Role};

    pub fn serialize<S: Serializer>(m: &BTreeMap<OutletId, Role>, s: S) -> Result<S::Ok, S::Error> {
        m.iter().collect::<Vec<_>>().serialize(s)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(
        d: D,
    ) -> Result<BTreeMap<OutletId, Role>, D::Error> {
        Ok(Vec::<(OutletId, Role)>::deserialize(d)?
            .into_iter()
            .collect())
    }
}

pub fn validate_username(name: &str) -> Result<()> {
    let ok = (2..=32).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"._-".contains(&b));
    if ok {
        Ok(())
    } else {
        Err(Error::invalid(
            "username",
            "use 2–32 of a-z, 0-9, '.', '_' and '-'",
        ))
    }
}

pub fn validate_password(pw: &str) -> Result<()> {
    let n = pw.chars().count();
    if !(10..=256).contains(&n) {
        return Err(Error::invalid("password", "must be 10–256 characters"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(roles: &[(u64, Role)]) -> User {
        User {
            id: UserId(1),
            username: "u".into(),
            display_name: "U".into(),
            instance_admin: false,
            roles: roles.iter().map(|(o, r)| (OutletId(*o), *r)).collect(),
            disabled: false,
            session_generation: 0,
            created_at: 0,
            updated_at: 0,
        }
    }

    #[test]
    fn roles_are_per_outlet() {
        let u = user(&[(1, Role::Reporter), (2, Role::Editor)]);
        assert!(u.can(OutletId(1), ArticleEditOwn));
        assert!(!u.can(OutletId(1), ArticleEditAny));
        assert!(u.can(OutletId(2), ArticleEditAny));
        assert!(!u.can(OutletId(3), ArticleRead));
        assert_eq!(u.outlets_with(AssetDelete), Some(vec![OutletId(2)]));
    }

    #[test]
    fn disabled_users_can_do_nothing() {
        let mut u = user(&[(1, Role::Admin)]);
        u.disabled = true;
        assert!(!u.can(OutletId(1), ArticleRead));
    }

    #[test]
    fn every_role_is_in_the_table() {
        for r in [Role::Reporter, Role::Editor, Role::ChiefEditor, Role::Admin] {
            assert!(PERMISSIONS.iter().any(|(x, _)| *x == r));
        }
    }
}
