//! auth-core is a layered graph: no module imports, directly or through others, a module that
//! imports it back. `make lint` runs this test; on a cycle it fails naming the modules in it and
//! the file and line of each import that closes it.
//!
//! A module is a source file (`store/postgres/lookups.rs` is `store::postgres::lookups`). An edge
//! is a path in code: `crate::a::b…`, `super::…`, or, inside a `mod.rs`/`lib.rs`, a child module
//! named by its own name (`session::SessionMethod`). It points at the deepest module the path
//! names, so reaching an item through a parent's re-export is an edge to the parent: a child
//! that imports its parent while the parent imports it is a cycle. Declaring a child (`mod x;`)
//! is containment, not an edge. The `#[cfg(test)] mod tests` at the end of a file is not
//! counted: tests may reach anything.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

fn source_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            source_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// `store/postgres/mod.rs` → `["store", "postgres"]`; `lib.rs` → `[]`.
fn module_of(src: &Path, file: &Path) -> Vec<String> {
    let rel = file.strip_prefix(src).unwrap_or(file);
    let mut parts: Vec<String> = rel
        .iter()
        .map(|p| p.to_string_lossy().into_owned())
        .collect();
    let last = parts.pop().unwrap_or_default();
    let stem = last.trim_end_matches(".rs");
    if stem != "mod" && stem != "lib" {
        parts.push(stem.to_owned());
    }
    parts
}

/// The production part of a file: without comments, strings and the trailing test module.
fn production_code(text: &str) -> String {
    let cut = text
        .find("#[cfg(test)]\nmod tests")
        .or_else(|| text.find("#[cfg(test)]\npub mod tests"))
        .unwrap_or(text.len());
    let mut out = String::with_capacity(cut);
    for line in text[..cut].lines() {
        let code = match line.find("//") {
            Some(i) => &line[..i],
            None => line,
        };
        // Drop string literals (paths in SQL or messages are not imports).
        let mut in_str = false;
        let mut prev = ' ';
        for ch in code.chars() {
            if ch == '"' && prev != '\\' {
                in_str = !in_str;
                out.push(' ');
            } else if !in_str {
                out.push(ch);
            }
            prev = ch;
        }
        out.push('\n');
    }
    out
}

/// Expands `a::{b, c::{d, e}}` into `a::b`, `a::c::d`, `a::c::e`.
fn expand(tree: &str) -> Vec<String> {
    let tree: String = tree.chars().filter(|c| !c.is_whitespace()).collect();
    let Some(open) = tree.find('{') else {
        return vec![tree];
    };
    let prefix = &tree[..open];
    let inner = &tree[open + 1..tree.rfind('}').unwrap_or(tree.len())];
    let mut parts = Vec::new();
    let (mut depth, mut start) = (0, 0);
    for (i, ch) in inner.char_indices() {
        match ch {
            '{' => depth += 1,
            '}' => depth -= 1,
            ',' if depth == 0 => {
                parts.push(&inner[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    parts.push(&inner[start..]);
    parts
        .into_iter()
        .filter(|p| !p.is_empty())
        .flat_map(|p| expand(p).into_iter().map(move |s| format!("{prefix}{s}")))
        .collect()
}

/// Every path (`a::b::c`) the code names, with its line.
fn paths(code: &str) -> Vec<(String, usize)> {
    let mut found = Vec::new();
    // `use` trees first (they may span lines and hold braces), then paths anywhere else.
    let mut rest = String::with_capacity(code.len());
    let mut chars = code.char_indices().peekable();
    let bytes = code.as_bytes();
    while let Some((i, ch)) = chars.next() {
        let at_word = i == 0 || !(bytes[i - 1] as char).is_alphanumeric() && bytes[i - 1] != b'_';
        if at_word && code[i..].starts_with("use ") {
            let end = code[i..].find(';').map_or(code.len(), |e| i + e);
            let line = code[..i].matches('\n').count() + 1;
            for path in expand(&code[i + 4..end]) {
                let path = path.split(" as ").next().unwrap_or_default().to_owned();
                found.push((path, line));
            }
            // Keep the line count right for what follows.
            rest.extend(code[i..end].chars().filter(|c| *c == '\n'));
            while chars.peek().is_some_and(|(j, _)| *j < end) {
                chars.next();
            }
            continue;
        }
        rest.push(ch);
    }
    for (n, line) in rest.lines().enumerate() {
        let mut start = 0;
        while let Some(i) = line[start..].find("::") {
            let at = start + i;
            // Walk back to the start of the path.
            let head = line[..at]
                .rfind(|c: char| !(c.is_alphanumeric() || c == '_' || c == ':'))
                .map_or(0, |j| j + 1);
            let tail = line[at..]
                .find(|c: char| !(c.is_alphanumeric() || c == '_' || c == ':'))
                .map_or(line.len(), |j| at + j);
            found.push((line[head..tail].trim_end_matches(':').to_owned(), n + 1));
            start = tail.max(at + 2);
        }
    }
    found
}

struct Graph {
    modules: BTreeSet<Vec<String>>,
    /// (from, to) → where.
    edges: BTreeMap<(Vec<String>, Vec<String>), String>,
}

fn graph() -> Graph {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    source_files(&src, &mut files);
    files.sort();
    let modules: BTreeSet<Vec<String>> = files.iter().map(|f| module_of(&src, f)).collect();
    let mut edges = BTreeMap::new();
    for file in &files {
        let from = module_of(&src, file);
        let text = std::fs::read_to_string(file).unwrap_or_default();
        let is_parent = file.ends_with("mod.rs") || file.ends_with("lib.rs");
        for (path, line) in paths(&production_code(&text)) {
            let segments: Vec<&str> = path.split("::").filter(|s| !s.is_empty()).collect();
            let mut target: Vec<String> = match segments.first() {
                Some(&"crate") => Vec::new(),
                Some(&"super") => {
                    let mut base = from.clone();
                    base.pop();
                    base
                }
                Some(&"self") => from.clone(),
                Some(first) if is_parent => {
                    let mut child = from.clone();
                    child.push((*first).to_owned());
                    if !modules.contains(&child) {
                        continue;
                    }
                    from.clone()
                }
                _ => continue,
            };
            let skip = usize::from(matches!(
                segments.first(),
                Some(&"crate") | Some(&"self") | Some(&"super")
            ));
            for segment in &segments[skip..] {
                if *segment == "super" {
                    target.pop();
                    continue;
                }
                let mut deeper = target.clone();
                deeper.push((*segment).to_owned());
                if modules.contains(&deeper) {
                    target = deeper;
                } else {
                    break;
                }
            }
            if target != from && !target.is_empty() {
                let rel = file
                    .strip_prefix(&src)
                    .unwrap_or(file)
                    .display()
                    .to_string();
                edges
                    .entry((from.clone(), target))
                    .or_insert_with(|| format!("{rel}:{line}"));
            } else if target.is_empty() && from != Vec::<String>::new() {
                // `crate::Item` through lib.rs's re-exports: an edge to the crate root.
                let rel = file
                    .strip_prefix(&src)
                    .unwrap_or(file)
                    .display()
                    .to_string();
                edges
                    .entry((from.clone(), Vec::new()))
                    .or_insert_with(|| format!("{rel}:{line}"));
            }
        }
    }
    Graph { modules, edges }
}

fn name(module: &[String]) -> String {
    if module.is_empty() {
        "crate (lib.rs)".to_owned()
    } else {
        module.join("::")
    }
}

/// Strongly connected components with more than one module (Tarjan).
fn cycles(graph: &Graph) -> Vec<Vec<Vec<String>>> {
    let nodes: Vec<Vec<String>> = graph.modules.iter().cloned().collect();
    let index_of: BTreeMap<&Vec<String>, usize> =
        nodes.iter().enumerate().map(|(i, n)| (n, i)).collect();
    let mut adjacent = vec![Vec::new(); nodes.len()];
    for (from, to) in graph.edges.keys() {
        if let (Some(&a), Some(&b)) = (index_of.get(from), index_of.get(to)) {
            adjacent[a].push(b);
        }
    }
    struct State {
        index: Vec<Option<usize>>,
        low: Vec<usize>,
        on_stack: Vec<bool>,
        stack: Vec<usize>,
        next: usize,
        out: Vec<Vec<usize>>,
    }
    fn visit(v: usize, adjacent: &[Vec<usize>], s: &mut State) {
        s.index[v] = Some(s.next);
        s.low[v] = s.next;
        s.next += 1;
        s.stack.push(v);
        s.on_stack[v] = true;
        for &w in &adjacent[v] {
            match s.index[w] {
                None => {
                    visit(w, adjacent, s);
                    s.low[v] = s.low[v].min(s.low[w]);
                }
                Some(iw) if s.on_stack[w] => s.low[v] = s.low[v].min(iw),
                Some(_) => {}
            }
        }
        if Some(s.low[v]) == s.index[v] {
            let mut component = Vec::new();
            while let Some(w) = s.stack.pop() {
                s.on_stack[w] = false;
                component.push(w);
                if w == v {
                    break;
                }
            }
            if component.len() > 1 {
                s.out.push(component);
            }
        }
    }
    let mut state = State {
        index: vec![None; nodes.len()],
        low: vec![0; nodes.len()],
        on_stack: vec![false; nodes.len()],
        stack: Vec::new(),
        next: 0,
        out: Vec::new(),
    };
    for v in 0..nodes.len() {
        if state.index[v].is_none() {
            visit(v, &adjacent, &mut state);
        }
    }
    state
        .out
        .into_iter()
        .map(|c| c.into_iter().map(|i| nodes[i].clone()).collect())
        .collect()
}

#[test]
fn auth_core_has_no_import_cycle() {
    let graph = graph();
    assert!(graph.modules.len() > 20, "the source tree was not found");
    let found = cycles(&graph);
    let mut report = String::new();
    for component in &found {
        let members: BTreeSet<&Vec<String>> = component.iter().collect();
        report.push_str(&format!(
            "\ncycle of {} modules: {}\n",
            component.len(),
            component
                .iter()
                .map(|m| name(m))
                .collect::<Vec<_>>()
                .join(", ")
        ));
        for ((from, to), at) in &graph.edges {
            if members.contains(from) && members.contains(to) {
                report.push_str(&format!("  {} -> {}  ({at})\n", name(from), name(to)));
            }
        }
    }
    assert!(found.is_empty(), "auth-core has import cycles:{report}");
}

#[test]
fn the_checker_sees_a_cycle_and_a_re_export() {
    // Its own parsing, on code shaped like auth-core's.
    assert_eq!(
        expand("crate::store::{port::AuthStore, postgres::{Database, x as y}}"),
        [
            "crate::store::port::AuthStore",
            "crate::store::postgres::Database",
            "crate::store::postgres::xasy"
        ]
    );
    let code = production_code(
        "use super::{Claim, Context};\nfn f() { crate::env::Env::new(); let s = \"crate::x::y\"; }\n#[cfg(test)]\nmod tests { use crate::z; }\n",
    );
    let found: Vec<String> = paths(&code).into_iter().map(|(p, _)| p).collect();
    assert!(found.contains(&"super::Claim".to_owned()), "{found:?}");
    assert!(
        found.contains(&"crate::env::Env::new".to_owned()),
        "{found:?}"
    );
    assert!(
        !found.iter().any(|p| p.contains("x::y") || p.contains('z')),
        "{found:?}"
    );
}
