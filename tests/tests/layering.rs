//! Layering check for the host crate's source (host/src).
//!
//! Dependencies must point one way: http/pages -> pipeline/jobs -> domain
//! modules (routing, scoring, followup, ...) -> storage -> domain types.
//! `storage` is data access only, so it must not know about the modules that
//! use it; `domain` holds plain data and parsed values; nothing below the
//! composition root may reach up into `http` or `cli`; and the modules below
//! the composition root must not import each other in a cycle, since a cycle
//! makes "one way" meaningless.
//!
//! The check reads the source as text (std only, nothing is compiled): every
//! `crate::x`, grouped `crate::{x::A, y::{B, C}}` and `super::` path that
//! reaches another top-level module is an edge from the file's module to `x`.
//! Comments and string literals are skipped, so documentation may mention
//! any path. Fixtures under tests/tests/layering_fixtures prove it fails on
//! bad code and passes on good code.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};

/// Modules that wire everything together: they may import anything, and
/// they are left out of the cycle check (a cycle through `app` is wiring).
const COMPOSITION_ROOT: &[&str] = &["app", "http", "cli", "main"];

/// Modules restricted to an explicit list of imports.
const ONLY_IMPORTS: &[(&str, &[&str])] = &[
    // storage is data access only: it stores domain types and reads the clock.
    ("storage", &["clock", "domain"]),
    // domain is plain data and parsed values: nothing to call but the clock.
    ("domain", &["clock"]),
];

/// Entry points: only the composition root may import them.
const ENTRY_POINTS: &[&str] = &["http", "cli"];

/// The library's crate name, as main.rs (a separate crate) spells `crate`.
const LIBRARY: &str = "leadhost";

/// One path in the source that reaches another top-level module.
struct Edge {
    from: String,
    to: String,
    /// "host/src/storage/routing.rs:13"
    site: String,
}

/// Every layering violation under `root`, sorted, one human-readable line each.
pub fn check(root: &Path) -> Vec<String> {
    let files = rust_files(root);
    let modules: BTreeSet<String> = files.iter().map(|(_, path)| path[0].clone()).collect();
    let mut edges = Vec::new();
    for (file, module_path) in &files {
        let source = fs::read_to_string(file).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        let shown = display_path(root, file);
        for (to, line) in references(module_path, &tokenize(&source)) {
            if modules.contains(&to) && to != module_path[0] {
                edges.push(Edge {
                    from: module_path[0].clone(),
                    to,
                    site: format!("{shown}:{line}"),
                });
            }
        }
    }
    let mut violations: BTreeSet<String> = edges
        .iter()
        .filter(|e| breaks_a_rule(e))
        .map(|e| format!("{} imports {} ({})", e.from, e.to, e.site))
        .collect();
    violations.extend(cycles(&edges));
    violations.into_iter().collect()
}

fn breaks_a_rule(edge: &Edge) -> bool {
    let restricted = ONLY_IMPORTS
        .iter()
        .any(|(m, allowed)| *m == edge.from && !allowed.contains(&edge.to.as_str()));
    let reaches_up = ENTRY_POINTS.contains(&edge.to.as_str()) && !COMPOSITION_ROOT.contains(&edge.from.as_str());
    restricted || reaches_up
}

/// Strongly connected components (more than one module) of the graph without
/// the composition root, each with one example site per edge inside it.
fn cycles(edges: &[Edge]) -> Vec<String> {
    let mut first_site: BTreeMap<(&str, &str), &str> = BTreeMap::new();
    for e in edges
        .iter()
        .filter(|e| !COMPOSITION_ROOT.contains(&e.from.as_str()) && !COMPOSITION_ROOT.contains(&e.to.as_str()))
    {
        // Edges come in file and line order, so the first one is the earliest.
        first_site.entry((&e.from, &e.to)).or_insert(&e.site);
    }
    let reach = |start: &str| {
        let mut seen = BTreeSet::new();
        let mut stack = vec![start];
        while let Some(m) = stack.pop() {
            for (&(_, to), _) in first_site.range((m, "")..).take_while(|((from, _), _)| *from == m) {
                if seen.insert(to) {
                    stack.push(to);
                }
            }
        }
        seen
    };
    let nodes: BTreeSet<&str> = first_site.keys().flat_map(|&(a, b)| [a, b]).collect();
    let reachable: BTreeMap<&str, BTreeSet<&str>> = nodes.iter().map(|&n| (n, reach(n))).collect();
    let components: BTreeSet<Vec<&str>> = nodes
        .iter()
        .map(|&n| {
            nodes
                .iter()
                .copied()
                .filter(|&m| m == n || (reachable[n].contains(m) && reachable[m].contains(n)))
                .collect()
        })
        .filter(|c: &Vec<&str>| c.len() > 1)
        .collect();
    components
        .into_iter()
        .map(|component| {
            // One line per edge: a big cycle is a to-do list, one cut per line.
            let mut report = format!("import cycle among {}:", component.join(", "));
            let inside = first_site
                .iter()
                .filter(|((a, b), _)| component.contains(a) && component.contains(b));
            for ((a, b), site) in inside {
                write!(report, "\n    {a} -> {b} ({site})").unwrap();
            }
            report
        })
        .collect()
}

/// Every .rs file under `root` with its module path: storage/leads.rs is
/// [storage, leads], storage/mod.rs is [storage], main.rs is [main]. lib.rs
/// only declares the modules, so it is not a source of edges.
fn rust_files(root: &Path) -> Vec<(PathBuf, Vec<String>)> {
    let mut pending = vec![root.to_path_buf()];
    let mut files = Vec::new();
    while let Some(dir) = pending.pop() {
        let entries = fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
        for path in entries.map(|entry| entry.unwrap().path()) {
            if path.is_dir() {
                pending.push(path);
            } else if path.extension().is_some_and(|ext| ext == "rs") && path != root.join("lib.rs") {
                let relative = path.strip_prefix(root).unwrap().with_extension("");
                let mut module_path: Vec<String> = relative
                    .components()
                    .map(|c| c.as_os_str().to_string_lossy().into_owned())
                    .collect();
                if module_path.len() > 1 && module_path.last().is_some_and(|last| last == "mod") {
                    module_path.pop();
                }
                files.push((path, module_path));
            }
        }
    }
    files.sort();
    files
}

/// "host/src/storage/leads.rs": the root's last two components plus the
/// relative path, short enough to read and unique enough to find.
fn display_path(root: &Path, file: &Path) -> String {
    let tail: PathBuf = root.iter().skip(root.iter().count().saturating_sub(2)).collect();
    tail.join(file.strip_prefix(root).unwrap())
        .to_string_lossy()
        .replace('\\', "/")
}

#[derive(Debug, PartialEq)]
enum Tok {
    Word(String),
    PathSep,
    Punct(char),
}

/// A token and its line.
type Token = (Tok, usize);

/// Words, `::` and punctuation with their line numbers. Comments, string
/// and char literals produce no tokens: a path written there is not code.
fn tokenize(source: &str) -> Vec<Token> {
    let c: Vec<char> = source.chars().collect();
    let at = |i: usize| c.get(i).copied().unwrap_or('\0');
    let is_ident = |ch: char| ch.is_alphanumeric() || ch == '_';
    let (mut i, mut line, mut tokens) = (0, 1, Vec::new());
    while i < c.len() {
        let ch = c[i];
        if ch == '/' && at(i + 1) == '/' {
            while i < c.len() && c[i] != '\n' {
                i += 1;
            }
        } else if ch == '/' && at(i + 1) == '*' {
            // Block comments nest in Rust.
            let (mut depth, mut j) = (0, i);
            loop {
                match (at(j), at(j + 1)) {
                    ('/', '*') => (depth, j) = (depth + 1, j + 2),
                    ('*', '/') => (depth, j) = (depth - 1, j + 2),
                    ('\0', _) => break,
                    (ch, _) => (line, j) = (line + usize::from(ch == '\n'), j + 1),
                }
                if depth == 0 {
                    break;
                }
            }
            i = j;
        } else if ch == '"' {
            i = skip_string(&c, i + 1, None, &mut line);
        } else if ch == '\'' {
            // '\n' and 'x' are chars (which may be '"' or '{'); 'a is a lifetime.
            i += match (at(i + 1), at(i + 2)) {
                ('\\', _) => 4 + c[i + 3..].iter().take_while(|&&q| q != '\'').count(),
                (_, '\'') => 3,
                _ => 1,
            };
        } else if is_ident(ch) {
            let start = i;
            while is_ident(at(i)) {
                i += 1;
            }
            let word: String = c[start..i].iter().collect();
            let hashes = c[i..].iter().take_while(|&&h| h == '#').count();
            if matches!(word.as_str(), "r" | "br" | "cr") && at(i + hashes) == '"' {
                i = skip_string(&c, i + hashes + 1, Some(hashes), &mut line);
            } else if word == "r" && hashes == 1 {
                i += 1; // raw identifier r#name: the name follows
            } else {
                tokens.push((Tok::Word(word), line));
            }
        } else if ch == ':' && at(i + 1) == ':' {
            tokens.push((Tok::PathSep, line));
            i += 2;
        } else {
            if !ch.is_whitespace() {
                tokens.push((Tok::Punct(ch), line));
            }
            line += usize::from(ch == '\n');
            i += 1;
        }
    }
    tokens
}

/// Skips a string body starting after its opening quote; `raw` is the number
/// of `#`s of a raw string (no escapes), None for an ordinary string.
fn skip_string(c: &[char], mut i: usize, raw: Option<usize>, line: &mut usize) -> usize {
    while let Some(&ch) = c.get(i) {
        *line += usize::from(ch == '\n');
        match (ch, raw) {
            ('\\', None) => {
                // The escaped char cannot end the string, but may be a newline.
                i += 1;
                *line += usize::from(c.get(i) == Some(&'\n'));
            }
            ('"', None) => return i + 1,
            ('"', Some(n)) if c[i + 1..].iter().take(n).filter(|&&h| h == '#').count() == n => return i + 1 + n,
            _ => {}
        }
        i += 1;
    }
    i
}

/// The top-level modules a file's paths reach, with the line of each path.
/// `module_path` is the file's module; inline `mod name { .. }` blocks
/// extend it so that `super::` inside them resolves correctly.
fn references(module_path: &[String], tokens: &[Token]) -> Vec<(String, usize)> {
    let word = |i: usize| match tokens.get(i) {
        Some((Tok::Word(w), _)) => Some(w.as_str()),
        _ => None,
    };
    let is = |i: usize, tok: Tok| tokens.get(i).is_some_and(|t| t.0 == tok);
    let mut inline_mods: Vec<(String, usize)> = Vec::new(); // (name, brace depth inside it)
    let (mut depth, mut pending_mod) = (0, None);
    let mut found = Vec::new();
    for i in 0..tokens.len() {
        match tokens[i].0 {
            Tok::Punct('{') => {
                depth += 1;
                if let Some(name) = pending_mod.take() {
                    inline_mods.push((name, depth));
                }
            }
            Tok::Punct('}') => {
                if inline_mods.last().is_some_and(|(_, d)| *d == depth) {
                    inline_mods.pop();
                }
                depth -= 1;
            }
            Tok::Punct(';') => pending_mod = None,
            _ => {}
        }
        if word(i) == Some("mod")
            && let Some(name) = word(i + 1)
        {
            pending_mod = Some(name.to_string());
        }
        // Only the first segment of a path: `a::crate` is not a path start.
        if (i > 0 && is(i - 1, Tok::PathSep)) || !is(i + 1, Tok::PathSep) {
            continue;
        }
        match word(i) {
            Some("crate" | LIBRARY) => found.extend(first_segments(tokens, i + 2)),
            Some("super") => {
                let here: Vec<&str> = module_path
                    .iter()
                    .map(String::as_str)
                    .chain(inline_mods.iter().map(|(n, _)| n.as_str()))
                    .collect();
                let mut ups = 0;
                while word(i + 2 * ups) == Some("super") && is(i + 2 * ups + 1, Tok::PathSep) {
                    ups += 1;
                }
                match here.len().checked_sub(ups) {
                    Some(0) => found.extend(first_segments(tokens, i + 2 * ups)),
                    Some(_) => found.push((here[0].to_string(), tokens[i].1)),
                    None => {} // climbs above the crate: not valid Rust, not our concern
                }
            }
            _ => {}
        }
    }
    found.retain(|(name, _)| name != "self");
    found
}

/// The first segment after `crate::`: a name, or for `{a::X, b::{Y, Z}}` the
/// first segment of each item, recursing into directly nested groups.
fn first_segments(tokens: &[Token], at: usize) -> Vec<(String, usize)> {
    match tokens.get(at) {
        Some((Tok::Word(w), line)) => vec![(w.clone(), *line)],
        Some((Tok::Punct('{'), _)) => {
            let mut found = Vec::new();
            let (mut k, mut depth, mut item_start) = (at + 1, 0, true);
            while let Some((tok, _)) = tokens.get(k) {
                if item_start && depth == 0 {
                    found.extend(first_segments(tokens, k));
                }
                item_start = false;
                match tok {
                    Tok::Punct('}') if depth == 0 => break,
                    Tok::Punct('{') => depth += 1,
                    Tok::Punct('}') => depth -= 1,
                    Tok::Punct(',') if depth == 0 => item_start = true,
                    _ => {}
                }
                k += 1;
            }
            found
        }
        _ => Vec::new(),
    }
}

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/layering_fixtures")
        .join(name)
        .join("src")
}

#[test]
fn the_host_source_keeps_its_layers() {
    let violations = check(Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../host/src")));
    assert!(
        violations.is_empty(),
        "{} layering violations in host/src:\n{}\n",
        violations.len(),
        violations.join("\n")
    );
}

#[test]
fn a_storage_module_importing_a_domain_module_is_refused() {
    // Exactly these: the paths storage/mod.rs writes in comments and strings
    // (jobs, followup, scoring) and lib.rs's imports must not show up.
    let imports: Vec<String> = check(&fixture("bad"))
        .into_iter()
        .filter(|v| !v.starts_with("import cycle"))
        .collect();
    assert_eq!(
        imports,
        [
            "domain imports scoring (bad/src/domain/mod.rs:3)",
            "jobs imports cli (bad/src/jobs/mod.rs:4)",
            "storage imports leads (bad/src/storage/leads.rs:3)",
            "storage imports plugins (bad/src/storage/mod.rs:11)",
            "storage imports plugins (bad/src/storage/mod.rs:12)",
            "storage imports routing (bad/src/storage/mod.rs:5)",
        ]
    );
}

#[test]
fn an_import_cycle_is_refused() {
    let cycles: Vec<String> = check(&fixture("bad"))
        .into_iter()
        .filter(|v| v.starts_with("import cycle"))
        .collect();
    assert_eq!(
        cycles,
        ["import cycle among jobs, routing:\n    \
          jobs -> routing (bad/src/jobs/mod.rs:7)\n    \
          routing -> jobs (bad/src/routing/mod.rs:2)"]
    );
}

#[test]
fn legal_imports_pass() {
    assert_eq!(check(&fixture("good")), Vec::<String>::new());
}
