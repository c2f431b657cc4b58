//! Normalization for matching that resists evasion. Every character of the original text is
//! folded to zero or more "match characters", and each match character remembers the byte range
//! of the original character it came from, so a hit found in the folded text is reported at its
//! exact place in the original (for highlighting).
//!
//! Folding, per character:
//! - Traditional → Simplified (`fast2s`, which maps character for character);
//! - CJK ideographs are kept as they are (the fast path: most of a Chinese article);
//! - ASCII letters and digits are lowercased;
//! - every other character is first NFKC-normalized (`unicode-normalization`: full-width "Ｔ",
//!   "①", "𝐟" become ASCII), and what is still not ASCII goes through its UTS #39 confusable
//!   skeleton (`unicode-security`: Cyrillic "а" → "a", Kangxi radicals → ideographs; default
//!   ignorable characters such as zero-width spaces vanish), then lowercase;
//! - whatever is left that is not a letter or a digit (spaces, punctuation, symbols, marks)
//!   is dropped, so "发^^轮", "法 轮" and "法\u{200b}轮" all read as the term.

use std::sync::LazyLock;

/// The folded text and, for each of its bytes that starts a character, where that character
/// came from in the original (byte range).
#[derive(Debug, Default, Clone)]
pub struct Folded {
    pub text: String,
    /// Indexed by byte offset in `text`; meaningful where a character starts.
    pub origin: Vec<(u32, u32)>,
    /// Scratch: the text after Traditional → Simplified.
    simplified: String,
}

impl Folded {
    /// The original byte range covered by the folded bytes `start..end`.
    pub fn original(&self, start: usize, end: usize) -> (usize, usize) {
        let s = self.origin[start].0 as usize;
        // The last character of the match starts somewhere before `end`.
        let mut last = end - 1;
        while !self.text.is_char_boundary(last) {
            last -= 1;
        }
        (s, self.origin[last].1 as usize)
    }
}

pub(crate) fn is_cjk(c: char) -> bool {
    matches!(c, '\u{4E00}'..='\u{9FFF}' | '\u{3400}'..='\u{4DBF}' | '\u{F900}'..='\u{FAFF}' | '\u{20000}'..='\u{2FA1F}')
}

/// Folded forms of every Basic Multilingual Plane character that is neither ASCII nor a CJK
/// ideograph, computed once from the UTS #39 tables (empty = dropped).
static BMP: LazyLock<Vec<Box<str>>> = LazyLock::new(|| {
    (0u32..0x1_0000)
        .map(|cp| match char::from_u32(cp) {
            Some(c) if !c.is_ascii() && !is_cjk(c) => fold_slow(c).into_boxed_str(),
            _ => Box::from(""),
        })
        .collect()
});

fn fold_slow(c: char) -> String {
    use unicode_normalization::UnicodeNormalization;
    // Symbols, punctuation, spaces and marks separate nothing: drop them, even where their
    // skeleton would be a letter ("━" looks like the katakana "ー").
    if !c.is_alphanumeric() {
        return String::new();
    }
    // Compatibility forms first (full-width, circled, superscript, math letters → ASCII) ...
    let compat: String = std::iter::once(c).nfkc().collect();
    let keep = |x: &char| x.is_alphanumeric();
    if compat.is_ascii() {
        return compat.to_ascii_lowercase().chars().filter(keep).collect();
    }
    // ... then look-alikes of other scripts (Cyrillic, Greek ...) by their UTS #39 skeleton.
    unicode_security::confusable_detection::skeleton(&compat)
        .flat_map(char::to_lowercase)
        .filter(keep)
        .collect()
}

/// Push the folded form of `c` (whose original bytes are `span`) onto `out`.
#[inline]
fn push(out: &mut Folded, c: char, span: (u32, u32)) {
    let mut put = |x: char| {
        out.text.push(x);
        out.origin.push(span);
        for _ in 1..x.len_utf8() {
            out.origin.push((0, 0));
        }
    };
    if c.is_ascii() {
        if c.is_ascii_alphanumeric() {
            put(c.to_ascii_lowercase());
        }
    } else if is_cjk(c) {
        put(c);
    } else if (c as u32) < 0x1_0000 {
        for x in BMP[c as usize].chars() {
            put(x);
        }
    } else {
        for x in fold_slow(c).chars() {
            put(x);
        }
    }
}

/// Fold `text` into `out` (cleared first; reuse it to avoid allocations).
pub fn fold_into(text: &str, out: &mut Folded) {
    out.text.clear();
    out.origin.clear();
    out.text.reserve(text.len());
    out.origin.reserve(text.len());
    // fast2s maps character for character (in place, same lengths), so the two walk in step.
    out.simplified.clear();
    out.simplified.push_str(text);
    fast2s::replace(&mut out.simplified);
    let simplified = std::mem::take(&mut out.simplified);
    for ((at, orig), c) in text.char_indices().zip(simplified.chars()) {
        let span = (at as u32, (at + orig.len_utf8()) as u32);
        push(out, c, span);
    }
    out.simplified = simplified;
}

pub fn fold(text: &str) -> Folded {
    let mut f = Folded::default();
    fold_into(text, &mut f);
    f
}

/// Force the one-time table build (so the first request does not pay for it).
pub fn warm_up() {
    LazyLock::force(&BMP);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn evasions_fold_to_the_plain_term() {
        for v in [
            "法轮",
            "法 轮",
            "法^^轮",
            "法\u{200b}轮",
            "法\u{feff}轮",
            "法．轮",
            "法-_-轮",
        ] {
            assert_eq!(fold(v).text, "法轮", "{v:?}");
        }
        assert_eq!(fold("發輪").text, "发轮");
        assert_eq!(fold("ＴＭＤ").text, "tmd");
        assert_eq!(fold("T.M.D").text, "tmd");
        assert_eq!(fold("ТМD").text, "tmd", "Cyrillic Т and М");
        assert_eq!(fold("𝐟𝐮").text, "fu");
        assert_eq!(fold("①").text, "1");
        assert_eq!(fold("━━中国━━").text, "中国");
    }

    #[test]
    fn hits_map_back_to_the_original_bytes() {
        let s = "今天，法 轮 功？";
        let f = fold(s);
        let at = f.text.find("法轮").unwrap();
        let (a, b) = f.original(at, at + "法轮".len());
        assert_eq!(&s[a..b], "法 轮");
    }
}
