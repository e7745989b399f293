//! The module graph of `src/` has no cycle: whatever a module reads from another (a `crate::` or
//! `super::` path, in code or in a `use` group), the other does not read back, directly or through
//! others. A module and its own submodules may use each other (a parent declares its children,
//! children use the parent's types). Tests (`mod tests` at a file's end) and comments are not
//! counted. A failure prints the modules of each cycle and the edges between them.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

#[test]
fn src_modules_have_no_import_cycle() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut modules: BTreeMap<String, String> = BTreeMap::new();
    collect(&src, &src, &mut modules);
    assert!(modules.len() > 100, "read {} modules from {}", modules.len(), src.display());
    let names: BTreeSet<&str> = modules.keys().map(String::as_str).collect();
    let mut edges: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    for (name, text) in &modules {
        let here: Vec<&str> = if name.is_empty() { Vec::new() } else { name.split("::").collect() };
        for path in referenced_paths(text, &here) {
            let Some(target) = resolve(&path, &names) else { continue };
            let related = target == name
                || target.is_empty()
                || name.is_empty()
                || target.starts_with(&format!("{name}::"))
                || name.starts_with(&format!("{target}::"));
            if !related {
                edges.entry(name.as_str()).or_default().insert(target);
            }
        }
    }
    assert!(edges.values().map(BTreeSet::len).sum::<usize>() > 200, "the scan found the imports");
    let cycles = strongly_connected(&names, &edges);
    let report: Vec<String> = cycles
        .iter()
        .map(|c| {
            let inside: BTreeSet<&str> = c.iter().copied().collect();
            let arrows: Vec<String> = c
                .iter()
                .flat_map(|a| {
                    edges
                        .get(a)
                        .into_iter()
                        .flatten()
                        .filter(|b| inside.contains(*b))
                        .map(move |b| format!("{a} -> {b}"))
                })
                .collect();
            format!("{{{}}}: {}", c.join(", "), arrows.join("; "))
        })
        .collect();
    assert!(report.is_empty(), "import cycles among src/ modules:\n{}", report.join("\n"));
}

/// Every `.rs` file under `dir` by module path (`engine::train::eval`; `lib.rs` is the root, `""`),
/// with its tests and comments removed. `src/bin` and `main.rs` are binaries, not modules.
fn collect(root: &Path, dir: &Path, out: &mut BTreeMap<String, String>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let rel = path.strip_prefix(root).unwrap().to_string_lossy().replace('\\', "/");
        if path.is_dir() {
            if rel != "bin" {
                collect(root, &path, out);
            }
            continue;
        }
        let Some(stem) = rel.strip_suffix(".rs") else { continue };
        if stem == "main" {
            continue;
        }
        let mut parts: Vec<&str> = stem.split('/').collect();
        if matches!(parts.last(), Some(&"mod") | Some(&"lib")) {
            parts.pop();
        }
        let text = std::fs::read_to_string(&path).unwrap();
        let code = text.split("#[cfg(test)]\nmod tests").next().unwrap_or_default();
        let code: String =
            code.lines().map(|l| l.split("//").next().unwrap_or_default()).collect::<Vec<_>>().join("\n");
        out.insert(parts.join("::"), code);
    }
}

/// The module paths `text` names, as absolute paths (`["store", "alerts", "Alert"]`).
fn referenced_paths(text: &str, here: &[&str]) -> Vec<Vec<String>> {
    let mut out = Vec::new();
    let bytes = text.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        let word_start =
            i == 0 || !(bytes[i - 1].is_ascii_alphanumeric() || bytes[i - 1] == b'_' || bytes[i - 1] == b':');
        let (base, rest) = if word_start && bytes[i..].starts_with(b"crate::") {
            (Vec::new(), i + "crate::".len())
        } else if word_start && bytes[i..].starts_with(b"super::") {
            let mut j = i;
            let mut up = 0;
            while bytes[j..].starts_with(b"super::") {
                up += 1;
                j += "super::".len();
            }
            let keep = here.len().saturating_sub(up);
            (here[..keep].iter().map(|s| s.to_string()).collect(), j)
        } else {
            i += 1;
            continue;
        };
        let (paths, end) = parse_tree(text, rest);
        for p in paths {
            out.push(base.iter().cloned().chain(p).collect());
        }
        i = end.max(i + 1);
    }
    out
}

/// A path or a `{…}` group of paths starting at `at`; returns them and where they end.
fn parse_tree(text: &str, mut at: usize) -> (Vec<Vec<String>>, usize) {
    let bytes = text.as_bytes();
    let mut prefix: Vec<String> = Vec::new();
    loop {
        while at < bytes.len() && bytes[at].is_ascii_whitespace() {
            at += 1;
        }
        if at < bytes.len() && bytes[at] == b'{' {
            let mut all = Vec::new();
            at += 1;
            loop {
                while at < bytes.len() && (bytes[at].is_ascii_whitespace() || bytes[at] == b',') {
                    at += 1;
                }
                if at >= bytes.len() || bytes[at] == b'}' {
                    return (all, at + 1);
                }
                let (inner, end) = parse_tree(text, at);
                all.extend(inner.into_iter().map(|p| prefix.iter().cloned().chain(p).collect()));
                at = end;
                // Skip `as name` and anything else up to the next item.
                while at < bytes.len() && bytes[at] != b',' && bytes[at] != b'}' {
                    at += 1;
                }
            }
        }
        let start = at;
        while at < bytes.len() && (bytes[at].is_ascii_alphanumeric() || bytes[at] == b'_') {
            at += 1;
        }
        if start == at {
            return (vec![prefix], at);
        }
        prefix.push(text[start..at].to_string());
        if bytes[at..].starts_with(b"::") {
            at += 2;
        } else {
            return (vec![prefix], at);
        }
    }
}

/// The longest prefix of `path` that is a module.
fn resolve<'a>(path: &[String], modules: &BTreeSet<&'a str>) -> Option<&'a str> {
    (1..=path.len()).rev().find_map(|k| modules.get(path[..k].join("::").as_str()).copied())
}

/// Tarjan's strongly connected components of more than one module.
fn strongly_connected<'a>(
    nodes: &BTreeSet<&'a str>,
    edges: &BTreeMap<&'a str, BTreeSet<&'a str>>,
) -> Vec<Vec<&'a str>> {
    struct State<'a> {
        index: BTreeMap<&'a str, usize>,
        low: BTreeMap<&'a str, usize>,
        stack: Vec<&'a str>,
        on_stack: BTreeSet<&'a str>,
        out: Vec<Vec<&'a str>>,
    }
    fn visit<'a>(v: &'a str, edges: &BTreeMap<&'a str, BTreeSet<&'a str>>, s: &mut State<'a>) {
        let n = s.index.len();
        s.index.insert(v, n);
        s.low.insert(v, n);
        s.stack.push(v);
        s.on_stack.insert(v);
        for &w in edges.get(v).into_iter().flatten() {
            if !s.index.contains_key(w) {
                visit(w, edges, s);
                let lw = s.low[w];
                let lv = s.low.get_mut(v).unwrap();
                *lv = (*lv).min(lw);
            } else if s.on_stack.contains(w) {
                let iw = s.index[w];
                let lv = s.low.get_mut(v).unwrap();
                *lv = (*lv).min(iw);
            }
        }
        if s.low[v] == s.index[v] {
            let mut component = Vec::new();
            while let Some(w) = s.stack.pop() {
                s.on_stack.remove(w);
                component.push(w);
                if w == v {
                    break;
                }
            }
            if component.len() > 1 {
                component.sort_unstable();
                s.out.push(component);
            }
        }
    }
    let mut s = State {
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        on_stack: BTreeSet::new(),
        out: Vec::new(),
    };
    for &v in nodes {
        if !s.index.contains_key(v) {
            visit(v, edges, &mut s);
        }
    }
    s.out
}

#[test]
fn the_cycle_check_sees_a_cycle() {
    let nodes: BTreeSet<&str> = ["a", "b", "c", "a::x"].into_iter().collect();
    let mut edges: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    edges.entry("a").or_default().insert("b");
    edges.entry("b").or_default().insert("c");
    edges.entry("c").or_default().insert("a");
    assert_eq!(strongly_connected(&nodes, &edges), vec![vec!["a", "b", "c"]]);
    edges.get_mut("c").unwrap().clear();
    assert!(strongly_connected(&nodes, &edges).is_empty());
    let text =
        "use crate::store::{alerts::{Alert, X as Y}, now_ms};\nfn f() { super::super::z::q(); crate::kpi::f(); }";
    let paths = referenced_paths(text, &["engine", "train", "eval"]);
    let joined: Vec<String> = paths.iter().map(|p| p.join("::")).collect();
    assert_eq!(joined, ["store::alerts::Alert", "store::alerts::X", "store::now_ms", "engine::z::q", "kpi::f"]);
}
