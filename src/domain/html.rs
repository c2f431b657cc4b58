//! Article HTML: the server-side sanitizing allowlist (ammonia), plain-text → paragraphs, the
//! text rendering used for diffs, and the asset references a body holds.
//!
//! Whatever a client sends, only the allowlist below is stored: scripts, event handlers, styles,
//! `javascript:` and `data:` URLs are dropped.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::sync::LazyLock;

use super::AssetId;

/// Path prefix of asset URLs inside article bodies: `/api/v1/assets/{id}/content`.
pub const ASSET_URL_PREFIX: &str = "/api/v1/assets/";

static SANITIZER: LazyLock<ammonia::Builder<'static>> = LazyLock::new(|| {
    let tags: HashSet<&str> = [
        "p",
        "br",
        "hr",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "strong",
        "b",
        "em",
        "i",
        "u",
        "s",
        "sub",
        "sup",
        "blockquote",
        "ul",
        "ol",
        "li",
        "a",
        "table",
        "thead",
        "tbody",
        "tfoot",
        "tr",
        "th",
        "td",
        "caption",
        "figure",
        "figcaption",
        "img",
        "video",
        "audio",
        "source",
        "span",
        "code",
        "pre",
        "mark",
    ]
    .into_iter()
    .collect();
    let mut attrs: HashMap<&str, HashSet<&str>> = HashMap::new();
    attrs.insert("a", ["href", "title"].into_iter().collect());
    attrs.insert(
        "img",
        ["src", "alt", "title", "width", "height", "data-asset-id"]
            .into_iter()
            .collect(),
    );
    attrs.insert(
        "video",
        [
            "src",
            "controls",
            "poster",
            "width",
            "height",
            "data-asset-id",
        ]
        .into_iter()
        .collect(),
    );
    attrs.insert(
        "audio",
        ["src", "controls", "data-asset-id"].into_iter().collect(),
    );
    attrs.insert("source", ["src", "type"].into_iter().collect());
    attrs.insert("td", ["colspan", "rowspan"].into_iter().collect());
    attrs.insert("th", ["colspan", "rowspan", "scope"].into_iter().collect());
    attrs.insert("ol", ["start"].into_iter().collect());
    let mut b = ammonia::Builder::default();
    b.tags(tags)
        .tag_attributes(attrs)
        .generic_attributes(HashSet::new())
        .url_schemes(["http", "https", "mailto"].into_iter().collect())
        .url_relative(ammonia::UrlRelative::PassThrough)
        .link_rel(Some("noopener noreferrer"))
        .strip_comments(true);
    b
});

/// Clean untrusted HTML down to the allowlist.
pub fn sanitize(html: &str) -> String {
    SANITIZER.clean(html).to_string()
}

/// Does the text look like HTML rather than plain paragraphs?
pub fn looks_like_html(s: &str) -> bool {
    let t = s.trim_start();
    t.starts_with('<') && t.contains('>')
}

/// Plain text with `\n`-separated paragraphs → `<p>` elements (escaped).
pub fn paragraphs_to_html(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 64);
    for line in text.lines().map(str::trim).filter(|l| !l.is_empty()) {
        out.push_str("<p>");
        out.push_str(&escape(line));
        out.push_str("</p>");
    }
    out
}

pub fn escape(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            '\'' => o.push_str("&#39;"),
            _ => o.push(c),
        }
    }
    o
}

/// Readable text of sanitized HTML: one line per block element, entities decoded. Used for diffs
/// and word counts, never for display.
pub fn to_text(html: &str) -> String {
    let mut out = String::with_capacity(html.len());
    let mut rest = html;
    while let Some(lt) = rest.find('<') {
        out.push_str(&rest[..lt]);
        let Some(gt) = rest[lt..].find('>') else {
            break;
        };
        let tag = &rest[lt + 1..lt + gt];
        let name: String = tag
            .trim_start_matches('/')
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric())
            .collect();
        if matches!(
            name.as_str(),
            "p" | "br"
                | "li"
                | "tr"
                | "h1"
                | "h2"
                | "h3"
                | "h4"
                | "h5"
                | "h6"
                | "blockquote"
                | "figcaption"
                | "hr"
                | "pre"
        ) && !out.ends_with('\n')
            && !out.is_empty()
        {
            out.push('\n');
        }
        rest = &rest[lt + gt + 1..];
    }
    out.push_str(rest);
    if !out.contains('&') {
        return out
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .collect::<Vec<_>>()
            .join("\n");
    }
    let decoded = out
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&nbsp;", " ")
        .replace("&amp;", "&");
    decoded
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join("\n")
}

/// The alt texts of the images of a sanitized body, in order (entities decoded).
pub fn alt_texts(html: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = html;
    while let Some(i) = rest.find("<img") {
        rest = &rest[i + 4..];
        let end = rest.find('>').unwrap_or(rest.len());
        let tag = &rest[..end];
        if let Some(a) = tag.find(" alt=\"") {
            let v = &tag[a + 6..];
            let v = &v[..v.find('"').unwrap_or(v.len())];
            let t = to_text(v);
            if !t.is_empty() {
                out.push(t);
            }
        }
        rest = &rest[end..];
    }
    out
}

/// Asset ids referenced by `/api/v1/assets/{id}/...` URLs in a sanitized body.
pub fn asset_refs(html: &str) -> BTreeSet<AssetId> {
    let mut ids = BTreeSet::new();
    let mut rest = html;
    // memchr's SIMD search: a replica runs this over every article it applies.
    let finder = memchr::memmem::Finder::new(ASSET_URL_PREFIX);
    while let Some(i) = finder.find(rest.as_bytes()) {
        rest = &rest[i + ASSET_URL_PREFIX.len()..];
        let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
        if let Ok(n) = digits.parse::<u64>() {
            ids.insert(AssetId(n));
        }
    }
    ids
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scripts_handlers_and_js_urls_are_stripped() {
        let dirty = r#"<p onclick="x()">新闻<script>alert(1)</script></p><a href="javascript:alert(1)">链接</a><img src="x" onerror="y()"><iframe src="https://evil"></iframe><p style="color:red">正文</p>"#;
        let clean = sanitize(dirty);
        for bad in [
            "script",
            "onclick",
            "onerror",
            "javascript",
            "iframe",
            "style",
        ] {
            assert!(!clean.contains(bad), "{bad} survived: {clean}");
        }
        assert!(clean.contains("新闻") && clean.contains("正文"));
    }

    #[test]
    fn allowed_structure_survives() {
        let html = r#"<h2>标题</h2><blockquote><p>引用</p></blockquote><table><tbody><tr><td colspan="2">格</td></tr></tbody></table><figure><img src="/api/v1/assets/7/content" alt="图"><figcaption>说明</figcaption></figure>"#;
        let clean = sanitize(html);
        assert!(
            clean.contains("<h2>")
                && clean.contains("colspan=\"2\"")
                && clean.contains("figcaption")
        );
        assert_eq!(asset_refs(&clean), [AssetId(7)].into_iter().collect());
        assert_eq!(alt_texts(&clean), vec!["图"]);
        assert_eq!(
            alt_texts(&sanitize(
                r#"<img src="a" alt="甲 &amp; 乙"><img src="b"><img alt='丙' src="c">"#
            )),
            vec!["甲 & 乙", "丙"]
        );
    }

    #[test]
    fn paragraphs_are_escaped_and_text_round_trips() {
        let html = paragraphs_to_html("第一段 <b>\n\n 第二段 & 末尾 ");
        assert_eq!(html, "<p>第一段 &lt;b&gt;</p><p>第二段 &amp; 末尾</p>");
        assert_eq!(to_text(&html), "第一段 <b>\n第二段 & 末尾");
    }
}
