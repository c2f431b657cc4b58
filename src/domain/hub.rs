//! What a provincial hub keeps of each county: how far it has received that county's log (its
//! cursor) and the county's shareable content, stored read-only with its origin.

use serde::{Deserialize, Serialize};

use super::article::Article;
use crate::clock::Millis;

/// The last county log entry the hub applied, and whether that county is quarantined.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CountyCursor {
    pub epoch: u64,
    pub lsn: u64,
    /// Hex of the chained hash of entry `lsn` of the county's log.
    pub hash: String,
    /// The hub has every shipped entry of the county's log up to here (entries between `lsn`
    /// and `through` were not for the hub). A county's next batch starts here.
    #[serde(default)]
    pub through: u64,
    /// When the hub applied it.
    pub received_at: Millis,
    /// Set when the county's entries stopped fitting its history here: nothing more is applied
    /// until an operator acts.
    pub quarantined: Option<String>,
}

/// A county's published article as the hub holds it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CountyArticle {
    /// The county's instance id (its certificate names it).
    pub county: String,
    /// The article as published there (ids are the county's own).
    pub article: Article,
    /// Position of the county log entry it came with.
    pub epoch: u64,
    pub lsn: u64,
    pub received_at: Millis,
}

/// A media file of an article a county sends up (its cover, its images and video), named by the
/// county's asset id and the hash of its bytes. The county uploads the bytes before the entry
/// that names them, so the hub can show the article whole.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CarriedMedia {
    /// The asset's id at the county (what the article's HTML refers to).
    pub asset: u64,
    pub sha256: String,
    pub mime: String,
    pub name: String,
    pub size: u64,
}

impl CarriedMedia {
    pub fn of(a: &super::asset::Asset) -> Self {
        Self {
            asset: a.id.0,
            sha256: a.sha256.clone(),
            mime: a.mime.clone(),
            name: a.name.clone(),
            size: a.size,
        }
    }
}

/// The article's HTML with its county asset URLs (`/api/v1/assets/{id}/content` or
/// `/thumbnail`) replaced by `url(id)` where that gives one, in one pass (a new URL is never
/// rewritten again).
pub fn rewrite_media(html: &str, url: impl Fn(u64) -> Option<String>) -> String {
    let prefix = super::html::ASSET_URL_PREFIX;
    let mut out = String::with_capacity(html.len());
    let mut rest = html;
    while let Some(i) = rest.find(prefix) {
        out.push_str(&rest[..i]);
        let after = &rest[i + prefix.len()..];
        let digits = after.bytes().take_while(u8::is_ascii_digit).count();
        let tail = ["/content", "/thumbnail"]
            .into_iter()
            .find(|t| after[digits..].starts_with(t));
        let to = match (after[..digits].parse::<u64>(), tail) {
            (Ok(id), Some(t)) => url(id).map(|u| (u, digits + t.len())),
            _ => None,
        };
        match to {
            Some((u, used)) => {
                out.push_str(&u);
                rest = &after[used..];
            }
            None => {
                out.push_str(prefix);
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

/// What a media URL of another instance becomes when this one does not hold the file: nothing
/// to load (the same asset id here is another file).
pub const NO_MEDIA: &str = "data:,";

/// Another instance's HTML for display here: its asset URLs point at `url(id)` where the file is
/// here, and at nothing otherwise.
pub fn foreign_html(html: &str, url: impl Fn(u64) -> Option<String>) -> String {
    rewrite_media(html, |id| {
        Some(url(id).unwrap_or_else(|| NO_MEDIA.to_string()))
    })
}

/// County facts a hub receives: the log's first entry (which binds it to the county's id),
/// publication, correction and takedown, the start of a new history line, and what the county
/// did with the hub's messages (receipt, acknowledgement, answers), and articles sent up for
/// provincial review, articles offered to the shared pool and adoptions from it. Drafts and
/// everything else stay in the county.
pub const SHIPPED: &[&str] = &[
    "InstanceCreated",
    "ArticlePublished",
    "ArticleRetracted",
    "EpochBegan",
    "HubMessageReceived",
    "InstructionAcknowledged",
    "InstructionAnswered",
    "ProvincialReviewRequested",
    "ArticleOffered",
    "SharedAdopted",
];

/// The day (days since 1970-01-01, China Standard Time, UTC+8) a time falls on: counties
/// publish on Beijing time whatever the server's clock zone.
pub fn day_of(ms: Millis) -> u64 {
    u64::try_from((ms + 8 * 3_600_000).div_euclid(86_400_000)).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn media_urls_are_rewritten_once_and_others_left_alone() {
        let html = r#"<img src="/api/v1/assets/12/content"><img src="/api/v1/assets/1/thumbnail"><a href="/api/v1/assets/7/content">x</a><p>/api/v1/assets/12</p>"#;
        let out = rewrite_media(html, |id| match id {
            12 => Some("/api/v1/assets/1/content".into()),
            1 => Some("/m/one".into()),
            _ => None,
        });
        assert_eq!(
            out,
            r#"<img src="/api/v1/assets/1/content"><img src="/m/one"><a href="/api/v1/assets/7/content">x</a><p>/api/v1/assets/12</p>"#
        );
    }

    #[test]
    fn foreign_media_point_at_nothing_unless_held_here() {
        let out = foreign_html(
            r#"<img src="/api/v1/assets/3/content"><img src="/api/v1/assets/4/thumbnail">"#,
            |id| (id == 4).then(|| "/here/4".to_string()),
        );
        assert_eq!(out, r#"<img src="data:,"><img src="/here/4">"#);
    }
}
