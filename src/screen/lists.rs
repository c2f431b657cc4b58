//! Reading word lists as they are published: plain text (one term per line, `#` comments), a
//! JSON array of strings, or a JSON object with a `words` array.

/// The terms of a list file, trimmed, without empty lines, comments or duplicates.
pub fn parse_terms(text: &str) -> Vec<String> {
    let text = text.trim_start_matches('\u{feff}');
    let json: Option<Vec<String>> = match text.trim_start().chars().next() {
        Some('[') => serde_json::from_str(text).ok(),
        Some('{') => serde_json::from_str::<serde_json::Value>(text)
            .ok()
            .and_then(|v| serde_json::from_value(v.get("words")?.clone()).ok()),
        _ => None,
    };
    let raw: Vec<String> = match json {
        Some(v) => v,
        None => text
            .lines()
            .filter(|l| !l.trim_start().starts_with('#'))
            .map(str::to_string)
            .collect(),
    };
    let mut seen = std::collections::HashSet::new();
    raw.into_iter()
        .map(|t| t.trim().to_string())
        .filter(|t| !t.is_empty() && seen.insert(t.clone()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_text_and_json_lists() {
        assert_eq!(
            parse_terms("\u{feff}甲\n# note\n\n乙 \n甲\n"),
            vec!["甲", "乙"]
        );
        assert_eq!(parse_terms(r#"["甲", " 乙"]"#), vec!["甲", "乙"]);
        assert_eq!(parse_terms(r#"{"words": ["甲"]}"#), vec!["甲"]);
    }
}
