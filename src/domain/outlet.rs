//! Outlets: the channels a county center runs (TV, radio, app, WeChat, website ...).

use serde::{Deserialize, Serialize};

use super::OutletId;
use crate::clock::Millis;
use crate::error::{Error, Result};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum OutletKind {
    Tv,
    Radio,
    App,
    Wechat,
    Website,
    Newspaper,
    Weibo,
    Other,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Outlet {
    pub id: OutletId,
    /// Short stable name used in URLs and the CLI (`--outlet tv`): `[a-z0-9-]{1,32}`.
    pub slug: String,
    pub name: String,
    pub kind: OutletKind,
    pub created_at: Millis,
    pub updated_at: Millis,
}

pub fn validate_slug(slug: &str) -> Result<()> {
    let ok = !slug.is_empty()
        && slug.len() <= 32
        && slug
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !slug.starts_with('-');
    if ok {
        Ok(())
    } else {
        Err(Error::invalid("slug", "use 1–32 of a-z, 0-9 and -"))
    }
}

pub fn validate_name(name: &str) -> Result<String> {
    let n = name.trim();
    if n.is_empty() || n.chars().count() > 64 {
        return Err(Error::invalid("name", "must be 1–64 characters"));
    }
    if n.chars().any(char::is_control) {
        return Err(Error::invalid(
            "name",
            "must not contain control characters",
        ));
    }
    Ok(n.to_string())
}
