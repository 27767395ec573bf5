//! The documentation names exactly the settings the code reads (issue 26).
//!
//! - Read: every string literal in the Rust sources of `shared/*/src`, `functions/*/src` and
//!   `examples/*/src`
//!   (test modules left out) that is a whole environment-variable name with one of the project's
//!   prefixes: what `Env`, `from_lookup`'s `get` and `std::env::var` are called with.
//! - Documented: the first column of the one table in `docs/configuration.md`.
//! - Mentioned: any token in `README.md` or `docs/*.md` that starts with one of the prefixes must
//!   be a complete name (no space, `.`, `µ` or lower-case letter glued to it: an earlier figure
//!   substitution turned `BETTER_AUTH_COOKIE_CACHE_VERSION` into `BETTER_AUTH_8.43 µs_VERSION`)
//!   that the code or the tooling reads.
//!
//! Each failure names the variable. Runs without a database.

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};

/// The prefixes of the project's variables (and the platform's it reads).
const PREFIXES: &[&str] = &[
    "BETTER_AUTH_",
    "AUTH_",
    "DATABASE_",
    "REDIS_",
    "CORS_",
    "AUTHORIZER_",
    "API_GATEWAY_",
    "ADMIN_",
    "ASSIGNABLE_",
    "USERS_",
    "MAX_BODY_",
    "METRICS_",
    "OTEL_",
    "AWS_",
    "OAUTH_",
    "RUST_LOG",
    "_X_AMZN_",
];

/// Variables the code reads that are not settings: Lambda's runtime sets them.
const PLATFORM: &[(&str, &str)] = &[
    (
        "AWS_ACCESS_KEY_ID",
        "the function's credentials, set by Lambda (signs the Secrets Manager / SSM / RDS IAM calls)",
    ),
    (
        "AWS_SECRET_ACCESS_KEY",
        "the function's credentials, set by Lambda",
    ),
    (
        "AWS_SESSION_TOKEN",
        "the function's credentials, set by Lambda",
    ),
    (
        "AWS_CONTAINER_CREDENTIALS_FULL_URI",
        "the container credentials endpoint, set by Lambda (SnapStart) instead of the keys",
    ),
    (
        "AWS_CONTAINER_AUTHORIZATION_TOKEN",
        "the token for that endpoint, set by Lambda with it",
    ),
    ("AWS_REGION", "the function's region, set by Lambda"),
    (
        "AWS_DEFAULT_REGION",
        "the region's older name, set by Lambda too",
    ),
    (
        "AWS_LAMBDA_FUNCTION_NAME",
        "set by Lambda: tells the logger it runs inside Lambda (JSON lines)",
    ),
];

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn read_text(path: &Path) -> String {
    fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

fn has_prefix(name: &str) -> bool {
    PREFIXES.iter().any(|p| name.starts_with(p))
}

/// `NAME`, `NAME_PART`: upper-case letters and digits in parts joined by single underscores.
fn well_formed(name: &str) -> bool {
    let name = name.strip_prefix('_').unwrap_or(name);
    !name.is_empty()
        && name.split('_').all(|part| {
            !part.is_empty()
                && part
                    .bytes()
                    .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
        })
        && name.as_bytes()[0].is_ascii_uppercase()
}

/// The source without its `#[cfg(test)] mod …` blocks (they come last in each file).
fn without_tests(source: &str) -> &str {
    let mut offset = 0;
    let mut lines = source.split_inclusive('\n').peekable();
    while let Some(line) = lines.next() {
        if line.trim() == "#[cfg(test)]"
            && lines
                .peek()
                .is_some_and(|next| next.trim_start().starts_with("mod "))
        {
            return &source[..offset];
        }
        offset += line.len();
    }
    source
}

/// Whole string literals of the source that are prefixed, well-formed names.
fn names_in_literals(source: &str) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    let mut rest = source;
    while let Some(start) = rest.find('"') {
        let after = &rest[start + 1..];
        let Some(end) = after.find('"') else { break };
        let literal = &after[..end];
        if has_prefix(literal) && well_formed(literal) {
            names.insert(literal.to_owned());
        }
        rest = &after[end + 1..];
    }
    names
}

/// The settings the code reads.
fn read_by_code() -> BTreeSet<String> {
    let mut files = Vec::new();
    for group in ["shared", "functions", "examples"] {
        let Ok(crates) = fs::read_dir(root().join(group)) else {
            panic!("no {group}/ directory");
        };
        for krate in crates.flatten() {
            rust_files(&krate.path().join("src"), &mut files);
        }
    }
    assert!(files.len() > 10, "found only {} source files", files.len());
    files
        .iter()
        .flat_map(|f| names_in_literals(without_tests(&read_text(f))))
        .collect()
}

/// Every token of `text` that starts (at a word boundary) with one of the prefixes, taken up
/// to the next character that cannot be part of a name — or, when a character glued to it could
/// only continue a garbled name (a letter, a digit, `µ`, `.`, a space followed by a digit or
/// `µ`), up to the end of that garbled run, so the failure shows it whole.
fn prefixed_tokens(text: &str) -> Vec<String> {
    let chars: Vec<char> = text.chars().collect();
    let is_name = |c: char| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_';
    let mut tokens = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let boundary = i == 0 || !(chars[i - 1].is_alphanumeric() || chars[i - 1] == '_');
        if !boundary || !is_name(chars[i]) {
            i += 1;
            continue;
        }
        let mut j = i;
        while j < chars.len() && is_name(chars[j]) {
            j += 1;
        }
        let token: String = chars[i..j].iter().collect();
        if !has_prefix(&token) {
            i = j;
            continue;
        }
        // Anything glued on makes it a garbled name: take the run up to a clear end.
        let mut k = j;
        loop {
            match chars.get(k) {
                Some(&c)
                    if c.is_alphanumeric()
                        || c == '_'
                        || (c == '.' && chars.get(k + 1).is_some_and(|n| n.is_alphanumeric())) =>
                {
                    k += 1
                }
                Some(' ')
                    if chars
                        .get(k + 1)
                        .is_some_and(|c| c.is_ascii_digit() || *c == 'µ') =>
                {
                    k += 1
                }
                _ => break,
            }
        }
        tokens.push(chars[i..k].iter().collect());
        i = k;
    }
    tokens
}

/// The first column of the configuration page's table.
fn documented_settings() -> BTreeSet<String> {
    let page = read_text(&root().join("docs/configuration.md"));
    let mut lines = page.lines().skip_while(|l| !l.starts_with("| variable |"));
    assert!(
        lines.next().is_some(),
        "docs/configuration.md has no `| variable | default | meaning |` table"
    );
    let mut names = BTreeSet::new();
    for line in lines.skip(1).take_while(|l| l.starts_with('|')) {
        let first = line.split('|').nth(1).unwrap_or_default();
        let cell_names: Vec<&str> = first.split('`').skip(1).step_by(2).collect();
        assert!(
            !cell_names.is_empty(),
            "a row of docs/configuration.md names no variable: {line}"
        );
        for name in cell_names {
            assert!(
                has_prefix(name) && well_formed(name),
                "docs/configuration.md names `{name}`, which is not a complete variable name"
            );
            names.insert(name.to_owned());
        }
    }
    names
}

/// Markdown the project ships: the README and the docs pages.
fn markdown_pages() -> Vec<PathBuf> {
    let mut pages = vec![root().join("README.md")];
    let docs = fs::read_dir(root().join("docs")).unwrap_or_else(|e| panic!("docs/: {e}"));
    pages.extend(
        docs.flatten()
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|e| e == "md")),
    );
    pages.sort();
    pages
}

/// Text the tooling is written in (scripts, Makefile, test harness, benchmark): a name the
/// docs mention for `make test` or `make dev` (`REDIS_URL`, `PG_THROWAWAY`) is read there.
fn tooling_text() -> String {
    let mut text = read_text(&root().join("Makefile"));
    let mut files = Vec::new();
    for dir in ["scripts", "tests/support/src", "tests/e2e", "bench/src"] {
        let Ok(entries) = fs::read_dir(root().join(dir)) else {
            continue;
        };
        for entry in entries.flatten() {
            if entry.path().is_file() {
                files.push(entry.path());
            }
        }
        rust_files(&root().join(dir), &mut files);
    }
    for file in files {
        text.push_str(&fs::read_to_string(&file).unwrap_or_default());
        text.push('\n');
    }
    text
}

fn occurs_as_word(text: &str, name: &str) -> bool {
    text.match_indices(name).any(|(at, _)| {
        let before = text[..at].chars().next_back();
        let after = text[at + name.len()..].chars().next();
        !before.is_some_and(|c| c.is_alphanumeric() || c == '_')
            && !after.is_some_and(|c| c.is_alphanumeric() || c == '_')
    })
}

#[test]
fn every_setting_the_code_reads_is_in_the_configuration_table_and_nothing_else_is() {
    let read = read_by_code();
    let platform: BTreeSet<&str> = PLATFORM.iter().map(|(name, _)| *name).collect();
    for name in &platform {
        assert!(
            read.contains(*name),
            "{name} is allow-listed as a platform variable but the code no longer reads it: drop it from PLATFORM"
        );
    }
    let documented = documented_settings();
    let mut problems = Vec::new();
    for name in &read {
        if !documented.contains(name) && !platform.contains(name.as_str()) {
            problems.push(format!(
                "{name} is read by the code but not in the table of docs/configuration.md"
            ));
        }
    }
    for name in &documented {
        if !read.contains(name) {
            problems.push(format!(
                "{name} is in the table of docs/configuration.md but the code never reads it"
            ));
        }
        if platform.contains(name.as_str()) {
            problems.push(format!(
                "{name} is a platform variable (PLATFORM) yet documented as a setting"
            ));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn every_variable_the_docs_mention_is_a_complete_name_something_reads() {
    let read = read_by_code();
    let tooling = tooling_text();
    let mut problems = Vec::new();
    for page in markdown_pages() {
        let text = read_text(&page);
        let shown = page
            .strip_prefix(root())
            .unwrap_or(&page)
            .display()
            .to_string();
        for token in prefixed_tokens(&text) {
            if !(has_prefix(&token) && well_formed(&token)) {
                problems.push(format!(
                    "{shown}: `{token}` is not a complete variable name"
                ));
            } else if !read.contains(&token) && !occurs_as_word(&tooling, &token) {
                problems.push(format!(
                    "{shown}: `{token}` is documented but neither the code nor the tooling reads it"
                ));
            }
        }
    }
    problems.dedup();
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn the_scan_catches_a_name_garbled_by_a_substitution() {
    let garbled = "the `version` (`BETTER_AUTH_8.43 µs_VERSION`) and `AUTH_5.88 µs_TTL_MS`, \
                   `BETTER_AUTH_COOKIE_CACHE_VERSIONx`, `AUTH_` and `BETTER_AUTH_COOKIE_CACHE_VERSION`.";
    assert_eq!(
        prefixed_tokens(garbled),
        [
            "BETTER_AUTH_8.43 µs_VERSION",
            "AUTH_5.88 µs_TTL_MS",
            "BETTER_AUTH_COOKIE_CACHE_VERSIONx",
            "AUTH_",
            "BETTER_AUTH_COOKIE_CACHE_VERSION",
        ]
    );
    let complete: Vec<bool> = prefixed_tokens(garbled)
        .iter()
        .map(|t| has_prefix(t) && well_formed(t))
        .collect();
    assert_eq!(complete, [false, false, false, false, true]);
    // And the real sources yield the names the issue named.
    let read = read_by_code();
    for name in [
        "BETTER_AUTH_COOKIE_CACHE_STRATEGY",
        "BETTER_AUTH_COOKIE_CACHE_VERSION",
        "AUTH_RESULT_CACHE_TTL_MS",
        "AUTH_RESULT_CACHE_NEGATIVE_TTL_MS",
        "AUTH_RESULT_CACHE_MAX_ENTRIES",
        "DATABASE_URL",
        "RUST_LOG",
    ] {
        assert!(read.contains(name), "{name} not found in the sources");
    }
}
