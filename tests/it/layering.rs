//! One-way module dependencies (GUIDE §3): a module may `use crate::x` only for x in its row.

fn allowed(module: &str) -> &'static [&'static str] {
    match module {
        "clock" | "error" => &[],
        "config" => &["error"],
        "domain" => &["screen", "clock", "error"],
        "store" => &["domain", "clock", "error"],
        "log" => &["store", "domain", "clock", "error"],
        "media" => &["domain", "clock", "error"],
        "screen" => &["error"],
        "workflow" => &[
            "log", "store", "media", "screen", "domain", "clock", "config", "error",
        ],
        "fed" => &[
            "workflow", "log", "store", "media", "domain", "clock", "config", "error",
        ],
        "search" => &[
            "workflow", "log", "store", "domain", "clock", "config", "error",
        ],
        "http" => &[
            "fed", "search", "workflow", "log", "store", "media", "screen", "domain", "clock",
            "config", "error",
        ],
        "app" => &[
            "fed", "http", "search", "workflow", "log", "store", "media", "screen", "domain",
            "clock", "config", "error",
        ],
        "cli" => &[
            "fed", "app", "http", "search", "workflow", "log", "store", "media", "screen",
            "domain", "clock", "config", "error",
        ],
        _ => &[],
    }
}

#[test]
fn modules_depend_one_way() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut stack = vec![root.clone()];
    let mut violations = Vec::new();
    let mut files = 0;
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
                continue;
            }
            let rel = p.strip_prefix(&root).unwrap().to_string_lossy().to_string();
            if rel == "lib.rs" || rel == "main.rs" {
                continue;
            }
            files += 1;
            let module = rel
                .split('/')
                .next()
                .unwrap()
                .trim_end_matches(".rs")
                .to_string();
            let text = std::fs::read_to_string(&p).unwrap();
            for (i, part) in text.split("crate::").enumerate().skip(1) {
                let dep: String = part
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                    .collect();
                if dep != module && !allowed(&module).contains(&dep.as_str()) && !dep.is_empty() {
                    violations.push(format!("{rel}: crate::{dep} (occurrence {i})"));
                }
            }
        }
    }
    assert!(files > 30);
    assert!(
        violations.is_empty(),
        "layering violations:\n{}",
        violations.join("\n")
    );
}
