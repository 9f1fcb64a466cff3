//! The import rules of docs/architecture.md, checked on the source: no
//! cycle between modules at any depth of the tree, and each top-level
//! module imports only the layers below it (and the neighbours the table
//! allows). A `use crate::x` or a path `crate::x::…` anywhere in a module's
//! code (comments and strings left out) counts as an import.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Who may import whom (top-level modules of `src/`), as in
/// docs/architecture.md. `cli` may import everything.
const ALLOWED: &[(&str, &[&str])] = &[
    ("model", &[]),
    ("text", &[]),
    ("mutf7", &[]),
    ("message", &["model"]),
    ("source", &["model", "text", "mutf7", "message"]),
    ("mapping", &["model", "text", "mutf7"]),
    ("journal", &["model"]),
    ("select", &["model"]),
    ("pace", &["model"]),
    ("progress", &["model", "text"]),
    (
        "dest",
        &["model", "text", "mutf7", "message", "mapping", "progress"],
    ),
    (
        "report",
        &[
            "model", "text", "mutf7", "message", "source", "mapping", "journal", "select",
        ],
    ),
    (
        "engine",
        &[
            "model", "text", "mutf7", "message", "source", "mapping", "journal", "select", "pace",
            "progress", "dest", "report",
        ],
    ),
    (
        "plan",
        &[
            "model", "text", "mutf7", "message", "source", "mapping", "journal", "select", "pace",
            "progress", "dest", "report", "engine",
        ],
    ),
    (
        "verify",
        &[
            "model", "text", "mutf7", "message", "source", "mapping", "journal", "select", "pace",
            "progress", "dest", "report", "engine",
        ],
    ),
    (
        "scan",
        &[
            "model", "text", "mutf7", "message", "source", "mapping", "journal", "select", "pace",
            "progress", "report",
        ],
    ),
    (
        "export",
        &[
            "model", "text", "mutf7", "message", "source", "mapping", "journal", "select", "pace",
            "progress", "report",
        ],
    ),
    // Entry points of fuzz/: one parser each, from any layer below cli.
    ("fuzzing", &["mutf7", "message", "source", "export", "dest"]),
];

/// Module path of a source file: `src/dest/imap/core/append.rs` →
/// `["dest", "imap", "core", "append"]`.
fn module_of(src: &Path, file: &Path) -> Vec<String> {
    let rel = file.strip_prefix(src).expect("below src");
    let mut parts: Vec<String> = rel
        .iter()
        .map(|p| p.to_string_lossy().into_owned())
        .collect();
    let last = parts.pop().expect("file name");
    let stem = last.trim_end_matches(".rs").to_string();
    if !matches!(stem.as_str(), "mod" | "lib" | "main") {
        parts.push(stem);
    }
    parts
}

/// The code of a file without comments, string and char literals.
fn code_only(text: &str) -> String {
    let b = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'/' if b.get(i + 1) == Some(&b'/') => {
                while i < b.len() && b[i] != b'\n' {
                    i += 1;
                }
            }
            b'/' if b.get(i + 1) == Some(&b'*') => {
                i += 2;
                while i + 1 < b.len() && !(b[i] == b'*' && b[i + 1] == b'/') {
                    i += 1;
                }
                i += 2;
            }
            b'r' if matches!(b.get(i + 1), Some(b'"') | Some(b'#'))
                && !b
                    .get(i.wrapping_sub(1))
                    .is_some_and(|c| c.is_ascii_alphanumeric() || *c == b'_') =>
            {
                // Raw string r"…" / r#"…"#.
                let mut j = i + 1;
                let mut hashes = 0;
                while b.get(j) == Some(&b'#') {
                    hashes += 1;
                    j += 1;
                }
                if b.get(j) != Some(&b'"') {
                    out.push('r');
                    i += 1;
                    continue;
                }
                j += 1;
                let close: Vec<u8> = std::iter::once(b'"')
                    .chain(std::iter::repeat_n(b'#', hashes))
                    .collect();
                while j < b.len() && !b[j..].starts_with(&close) {
                    j += 1;
                }
                i = j + close.len();
                out.push_str("\"\"");
            }
            b'"' => {
                i += 1;
                while i < b.len() && b[i] != b'"' {
                    if b[i] == b'\\' {
                        i += 1;
                    }
                    i += 1;
                }
                i += 1;
                out.push_str("\"\"");
            }
            b'\'' if b.get(i + 2) == Some(&b'\'') || b.get(i + 1) == Some(&b'\\') => {
                // A char literal ('x', '\n', '\u{…}'); lifetimes have no closing quote.
                let mut j = i + 1;
                if b.get(j) == Some(&b'\\') {
                    j += 1;
                    while j < b.len() && b[j] != b'\'' {
                        j += 1;
                    }
                } else {
                    j += 1;
                }
                i = j + 1;
                out.push_str("' '");
            }
            c => {
                out.push(c as char);
                i += 1;
            }
        }
    }
    out
}

/// `a::b::Type` → `["a", "b"]`: lower-case path segments up to the first
/// that is not followed by `::`; a group `a::{b, c::d}` gives one path per
/// member (`["a", "b"]`, `["a", "c", "d"]`).
fn paths(s: &str) -> Vec<Vec<String>> {
    let mut prefix = Vec::new();
    let mut rest = s;
    loop {
        if let Some(group) = rest.strip_prefix('{') {
            let mut out = Vec::new();
            let (mut depth, mut start) = (0usize, 0usize);
            for (i, c) in group.char_indices() {
                match c {
                    '{' => depth += 1,
                    '}' if depth == 0 => {
                        out.extend(paths(group[start..i].trim()));
                        break;
                    }
                    '}' => depth -= 1,
                    ',' if depth == 0 => {
                        out.extend(paths(group[start..i].trim()));
                        start = i + 1;
                    }
                    _ => {}
                }
            }
            let mut all: Vec<Vec<String>> = Vec::new();
            for p in out {
                let full: Vec<String> = prefix.iter().cloned().chain(p).collect();
                if !all.contains(&full) {
                    all.push(full);
                }
            }
            return all;
        }
        let name: String = rest
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect();
        if name.is_empty() || !name.starts_with(|c: char| c.is_ascii_lowercase()) || name == "self"
        {
            break;
        }
        prefix.push(name.clone());
        match rest[name.len()..].strip_prefix("::") {
            Some(r) => rest = r,
            None => break,
        }
    }
    vec![prefix]
}

/// Module paths a file refers to: `crate::a::b…` and `super::…` resolved.
fn references(module: &[String], code: &str) -> Vec<Vec<String>> {
    let mut refs = Vec::new();
    for (at, _) in code.match_indices("crate::") {
        let before = code[..at].chars().next_back();
        if before.is_some_and(|c| c.is_ascii_alphanumeric() || c == '_' || c == '$') {
            continue; // `$crate::` in macros
        }
        refs.extend(paths(&code[at + "crate::".len()..]));
    }
    // `super::x` from a file `a/b/c.rs` (module a::b::c) means a::b::x; from
    // `a/b/mod.rs` (module a::b) it means a::x.
    for (at, _) in code.match_indices("super::") {
        let before = code[..at].chars().next_back();
        if before.is_some_and(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':') {
            continue;
        }
        let base = &module[..module.len().saturating_sub(1)];
        for p in paths(&code[at + "super::".len()..]) {
            refs.push(base.iter().cloned().chain(p).collect());
        }
    }
    refs
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).expect("read src") {
        let p = e.expect("entry").path();
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

/// Edges between sibling modules at every level: (parent, from, to).
fn edges() -> Edges {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let mut edges = BTreeSet::new();
    for f in files {
        let text = std::fs::read_to_string(&f).expect("read");
        let module = module_of(&src, &f);
        // Test modules may reach anywhere; only the shipped code counts.
        let code = code_only(&text);
        let code = match code.find("#[cfg(test)]\nmod tests") {
            Some(i) => &code[..i],
            None => &code[..],
        };
        for r in references(&module, code) {
            // The deepest common parent, and the children below it.
            let common = module.iter().zip(&r).take_while(|(a, b)| a == b).count();
            if common >= module.len() || common >= r.len() {
                continue; // a reference to itself, a parent or a child
            }
            let parent = module[..common].to_vec();
            edges.insert((parent, module[common].clone(), r[common].clone()));
        }
    }
    edges
}

type Edges = BTreeSet<(Vec<String>, String, String)>;

/// Every cycle among siblings, as `crate::parent: a -> b -> a`.
fn cycles(edges: &Edges) -> Vec<String> {
    let mut by_parent: BTreeMap<&Vec<String>, BTreeMap<&str, BTreeSet<&str>>> = BTreeMap::new();
    for (p, a, b) in edges {
        by_parent
            .entry(p)
            .or_default()
            .entry(a.as_str())
            .or_default()
            .insert(b.as_str());
    }
    fn visit<'g>(
        n: &'g str,
        g: &BTreeMap<&'g str, BTreeSet<&'g str>>,
        stack: &mut Vec<&'g str>,
        done: &mut BTreeSet<&'g str>,
        found: &mut Vec<String>,
    ) {
        if let Some(i) = stack.iter().position(|s| *s == n) {
            let mut c = stack[i..].to_vec();
            c.push(n);
            found.push(c.join(" -> "));
            return;
        }
        if !done.insert(n) {
            return;
        }
        stack.push(n);
        for m in g.get(n).into_iter().flatten() {
            visit(m, g, stack, done, found);
        }
        stack.pop();
    }
    let mut out = Vec::new();
    for (parent, graph) in &by_parent {
        let mut done = BTreeSet::new();
        let mut found = Vec::new();
        for n in graph.keys() {
            visit(n, graph, &mut Vec::new(), &mut done, &mut found);
        }
        out.extend(
            found
                .into_iter()
                .map(|c| format!("crate::{}: {c}", parent.join("::"))),
        );
    }
    out
}

#[test]
fn no_import_cycles_at_any_depth() {
    let found = cycles(&edges());
    assert!(found.is_empty(), "import cycles:\n{}", found.join("\n"));
}

#[test]
fn top_level_modules_import_only_what_the_map_allows() {
    let allowed: BTreeMap<&str, &[&str]> = ALLOWED.iter().copied().collect();
    let mut wrong = Vec::new();
    for (parent, a, b) in edges() {
        if !parent.is_empty() || a == "cli" || a == "main" || a == "lib" {
            continue;
        }
        match allowed.get(a.as_str()) {
            Some(ok) if ok.contains(&b.as_str()) => {}
            Some(_) => wrong.push(format!("{a} imports {b}")),
            None => wrong.push(format!("{a} is not in the map (docs/architecture.md)")),
        }
    }
    wrong.sort();
    wrong.dedup();
    assert!(
        wrong.is_empty(),
        "imports the map (docs/architecture.md) does not allow:\n{}",
        wrong.join("\n")
    );
}

#[test]
fn the_checker_sees_imports_and_ignores_comments_and_strings() {
    let code = code_only(
        "use crate::a::b; // crate::c\n/* crate::d */ let s = \"crate::e\"; crate::f::g();",
    );
    let refs = references(&["x".into()], &code);
    assert_eq!(refs, vec![vec!["a", "b"], vec!["f", "g"]]);
    let refs = references(&["x".into(), "y".into()], "use super::z::Q;");
    assert_eq!(refs, vec![vec!["x", "z"]]);
    let refs = references(&["x".into()], "use crate::a::{b::{self, C}, d, E};");
    assert_eq!(refs, vec![vec!["a", "b"], vec!["a", "d"], vec!["a"]]);
}

#[test]
fn the_checker_finds_a_cycle_between_siblings() {
    let e = |p: &[&str], a: &str, b: &str| {
        (
            p.iter().map(|s| s.to_string()).collect::<Vec<_>>(),
            a.to_string(),
            b.to_string(),
        )
    };
    let edges: Edges = [
        e(&["export"], "vcard", "ical"),
        e(&["export"], "ical", "vcard"),
        e(&[], "engine", "dest"),
    ]
    .into();
    assert_eq!(cycles(&edges), vec!["crate::export: ical -> vcard -> ical"]);
}

#[test]
fn the_library_never_prints_with_the_macros_that_panic_on_a_failing_stream() {
    // println!/eprintln! panic when the stream fails (`2>log` on a full
    // disk, /dev/full): exit 101 and nothing said. The command line uses
    // say! (stderr, errors ignored) and out! (stdout, an error) instead.
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let mut found = Vec::new();
    for f in &files {
        let code = code_only(&std::fs::read_to_string(f).expect("read"));
        for m in ["println!", "eprintln!", "print!", "eprint!"] {
            let hits = code
                .match_indices(m)
                .filter(|(at, _)| {
                    !code[..*at]
                        .chars()
                        .next_back()
                        .is_some_and(|c| c.is_ascii_alphanumeric() || c == '_')
                })
                .count();
            if hits > 0 {
                found.push(format!("{}: {m} x{hits}", f.display()));
            }
        }
    }
    assert!(code_only("// println!(\"x\")\n").find("println!").is_none());
    assert!(found.is_empty(), "{found:#?}");
}
