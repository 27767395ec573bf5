//! The REST policy a caller gets: every route they may call, and explicit Denys where a
//! wildcard of theirs would also cover a route they may not, so the policy API Gateway caches
//! for a token answers every listed route as a fresh decision would.
//!
//! An IAM resource's `*` matches any characters, `/` included: `GET/orders/*` (from
//! `GET /orders/{id}`) also covers `GET /orders/1/audit`, and `*/reports/*` (from `ANY
//! /reports/{proxy+}`) covers `GET /x/reports/1`. Which rule's pattern can cover which other
//! rule's requests is worked out once, at start-up ([`Overlaps`]); per request the policy is
//! bit operations and string joins.
//!
//! Where IAM cannot say it (a Deny that would also hit a route the caller has: a parameter
//! value spanning several segments, an `ANY` pattern reaching into a deeper path), the Deny is
//! kept (a cached policy then refuses rather than allows) and the request at hand is always
//! answered exactly: when the full policy would answer it wrongly, or is larger than
//! [`MAX_POLICY_BYTES`], the policy covers that one request only (refusing it when its path
//! holds `*` or `?`, which no resource can name literally).

use std::sync::Arc;

use super::decisions::{Decided, Rendered};
use super::routes::{RouteMethod, RouteTemplate, Segment};

/// The largest policy document returned (bytes of resources): API Gateway's authorizer
/// response quota is 8 KB for WebSocket APIs, and we hold REST APIs to it too.
pub const MAX_POLICY_BYTES: usize = 8 * 1024;

/// For each rule `d`, the rules whose IAM pattern covers some request routed by `d`'s
/// template (bitsets over rule indices).
#[derive(Debug, Clone, Default)]
pub struct Overlaps {
    covered_by: Vec<Vec<u64>>,
}

impl Overlaps {
    pub(super) fn of(routes: &[RouteTemplate]) -> Self {
        let words = routes.len().div_ceil(64);
        let globs: Vec<Vec<Token>> = routes.iter().map(glob_tokens).collect();
        let templates: Vec<Vec<Token>> = routes.iter().map(template_tokens).collect();
        let covered_by = templates
            .iter()
            .enumerate()
            .map(|(d, template)| {
                let mut bits = vec![0u64; words];
                for (a, glob) in globs.iter().enumerate() {
                    let a_wins = routes[a].precedence(&routes[d]).is_gt();
                    if a != d && covers_routed(glob, template, a_wins) {
                        bits[a / 64] |= 1 << (a % 64);
                    }
                }
                bits
            })
            .collect();
        Self { covered_by }
    }

    fn covered_by_any(&self, d: usize, allowed: &[u64]) -> bool {
        self.covered_by[d]
            .iter()
            .zip(allowed)
            .any(|(covers, allowed)| covers & allowed != 0)
    }
}

/// The resources of a REST policy (full ARNs).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PolicyResources {
    /// Allowed.
    pub allow: Vec<String>,
    /// Denied explicitly (an explicit Deny wins over any Allow).
    pub deny: Vec<String>,
}

impl PolicyResources {
    /// The bytes the resources take in the document (quotes and commas included).
    pub fn size(&self) -> usize {
        self.allow
            .iter()
            .chain(&self.deny)
            .map(|r| r.len() + 3)
            .sum()
    }
}

/// The rules a caller allowed `allowed[rule]` gets in an Allow, and those whose pattern needs
/// an explicit Deny because an allowed wildcard covers requests routed by them.
pub(super) fn plan(overlaps: &Overlaps, allowed: &[bool]) -> (Vec<usize>, Vec<usize>) {
    let mut bits = vec![0u64; allowed.len().div_ceil(64)];
    for (i, _) in allowed.iter().enumerate().filter(|(_, a)| **a) {
        bits[i / 64] |= 1 << (i % 64);
    }
    let (mut allow, mut deny) = (Vec::new(), Vec::new());
    for (i, is_allowed) in allowed.iter().enumerate() {
        if *is_allowed {
            allow.push(i);
        } else if overlaps.covered_by_any(i, &bits) {
            deny.push(i);
        }
    }
    (allow, deny)
}

/// A REST policy: its statements written once for a kind of caller (JSON, the
/// `policyDocument.Statement` array), or resources built for this request.
#[derive(Debug, Clone)]
pub enum PolicyAnswer {
    /// The statements, as JSON.
    Statements(Arc<str>),
    /// The resources to allow and deny.
    Resources(PolicyResources),
}

/// The answer for `decided` at the request at hand: its written statements when they answer
/// this request exactly (and fit [`MAX_POLICY_BYTES`]), else [`build`]'s policy.
pub(super) fn answer(
    suffixes: &[String],
    overlaps: &Overlaps,
    decided: &Decided,
    stage_prefix: &str,
    request_suffix: &str,
    decision: bool,
) -> PolicyAnswer {
    let denied_here = decided
        .deny
        .iter()
        .any(|&i| iam_matches(&suffixes[i], request_suffix));
    let allowed_here = !denied_here
        && decided
            .allow
            .iter()
            .any(|&i| iam_matches(&suffixes[i], request_suffix));
    if (decided.allow.is_empty() || allowed_here == decision)
        && let Some(statements) = written(suffixes, decided, stage_prefix)
    {
        return PolicyAnswer::Statements(statements);
    }
    PolicyAnswer::Resources(build(
        suffixes,
        overlaps,
        &decided.allowed,
        stage_prefix,
        request_suffix,
        decision,
    ))
}

/// `decided`'s full policy for `stage_prefix`, written once (per stage) and shared; `None`
/// when it passes [`MAX_POLICY_BYTES`].
fn written(suffixes: &[String], decided: &Decided, stage_prefix: &str) -> Option<Arc<str>> {
    let mut slot = decided.rendered.lock().ok()?;
    if let Some(rendered) = slot.as_ref().filter(|r| r.stage_prefix == stage_prefix) {
        return rendered.statements.clone();
    }
    let arns = |rules: &[usize]| -> Vec<String> {
        rules
            .iter()
            .map(|&i| format!("{stage_prefix}{}", suffixes[i]))
            .collect()
    };
    let mut resources = PolicyResources {
        allow: arns(&decided.allow),
        deny: arns(&decided.deny),
    };
    if resources.allow.is_empty() {
        // Nothing is allowed: one Deny for the stage is exact for every listed route.
        resources.deny = vec![format!("{stage_prefix}*/*")];
    }
    let statements = (resources.size() <= MAX_POLICY_BYTES).then(|| {
        let statement = |effect: &str, resource: &[String]| {
            serde_json::json!({"Action": ["execute-api:Invoke"], "Effect": effect, "Resource": resource})
        };
        let mut list = Vec::new();
        if !resources.allow.is_empty() {
            list.push(statement("Allow", &resources.allow));
        }
        if !resources.deny.is_empty() {
            list.push(statement("Deny", &resources.deny));
        }
        Arc::<str>::from(serde_json::Value::Array(list).to_string())
    });
    *slot = Some(Rendered {
        stage_prefix: stage_prefix.to_owned(),
        statements: statements.clone(),
    });
    statements
}

/// The policy over `routes` for a caller allowed `allowed[rule]`, answering the request at
/// hand (`request_suffix`: `GET/orders/1`, after `stage_prefix`: `arn:…:api/stage/`) with
/// `decision`.
pub(super) fn build(
    suffixes: &[String],
    overlaps: &Overlaps,
    allowed: &[bool],
    stage_prefix: &str,
    request_suffix: &str,
    decision: bool,
) -> PolicyResources {
    let exact = || format!("{stage_prefix}{request_suffix}");
    // The policy for this request alone. IAM has no escape for `*` and `?`: a path holding one
    // (`GET/files/*`, routed by `GET /files/{id}`) named in an Allow would allow every path it
    // matches as a pattern, deeper routes included. Such a request is refused instead where
    // only its own Allow would answer it (a Deny may be wider: it refuses more, never less).
    let only_this = |allow: bool| {
        if allow && !request_suffix.contains(['*', '?']) {
            PolicyResources {
                allow: vec![exact()],
                deny: Vec::new(),
            }
        } else {
            PolicyResources {
                allow: Vec::new(),
                deny: vec![exact()],
            }
        }
    };
    let (allow, deny) = plan(overlaps, allowed);
    let mut resources = PolicyResources::default();
    let mut deny_suffixes: Vec<&str> = deny.iter().map(|&i| suffixes[i].as_str()).collect();
    let allow_suffixes: Vec<&str> = allow.iter().map(|&i| suffixes[i].as_str()).collect();
    let denied_here = deny_suffixes.iter().any(|d| iam_matches(d, request_suffix));
    let allowed_here = !denied_here
        && allow_suffixes
            .iter()
            .any(|a| iam_matches(a, request_suffix));
    if allow_suffixes.is_empty() {
        // Nothing is allowed: one Deny for the stage is exact for every listed route.
        resources.deny.push(format!("{stage_prefix}*/*"));
        return resources;
    }
    if decision && !allowed_here {
        // IAM cannot say both: this request is answered exactly, the policy covers it only.
        return only_this(true);
    }
    if !decision && allowed_here {
        deny_suffixes.push(request_suffix);
    }
    resources.allow = allow_suffixes
        .iter()
        .map(|s| format!("{stage_prefix}{s}"))
        .collect();
    resources.deny = deny_suffixes
        .iter()
        .map(|s| format!("{stage_prefix}{s}"))
        .collect();
    if resources.size() > MAX_POLICY_BYTES {
        return only_this(decision);
    }
    resources
}

/// IAM's resource matching: `*` any run of characters (`/` included), `?` any one.
pub fn iam_matches(pattern: &str, text: &str) -> bool {
    let (p, t) = (pattern.as_bytes(), text.as_bytes());
    let (mut pi, mut ti) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        // A `*` of the pattern is a wildcard even where the text holds a `*` too.
        if pi < p.len() && p[pi] == b'*' {
            star = Some((pi, ti));
            pi += 1;
        } else if pi < p.len() && (p[pi] == b'?' || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if let Some((sp, st)) = star {
            pi = sp + 1;
            ti = st + 1;
            star = Some((sp, st + 1));
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|&b| b == b'*')
}

/// A segment-level token: the IAM pattern and the request language are both sequences of
/// whole segments (the method is the first), because every `*` of a pattern stands for whole
/// segments.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Token {
    /// One segment: this text, or any (`None`).
    One(Option<String>),
    /// Zero or more segments.
    Many,
}

fn glob_tokens(route: &RouteTemplate) -> Vec<Token> {
    // A `*` covers one or more whole segments (method included: `*/x` also covers `GET/a/x`).
    let star = [Token::One(None), Token::Many];
    let mut tokens = Vec::new();
    match route.method() {
        RouteMethod::Any => tokens.extend(star.clone()),
        RouteMethod::Only(m) => tokens.push(Token::One(Some(m.to_owned()))),
    }
    for segment in route.segments() {
        match segment {
            Segment::Literal(text) => tokens.push(Token::One(Some(text.clone()))),
            Segment::Param | Segment::Greedy => tokens.extend(star.clone()),
        }
    }
    root_segment(route, &mut tokens);
    tokens
}

/// `GET /` is `GET/` in an ARN: one empty segment after the method.
fn root_segment(route: &RouteTemplate, tokens: &mut Vec<Token>) {
    if route.segments().is_empty() {
        tokens.push(Token::One(Some(String::new())));
    }
}

fn template_tokens(route: &RouteTemplate) -> Vec<Token> {
    let mut tokens = Vec::new();
    match route.method() {
        RouteMethod::Any => tokens.push(Token::One(None)),
        RouteMethod::Only(m) => tokens.push(Token::One(Some(m.to_owned()))),
    }
    for segment in route.segments() {
        match segment {
            Segment::Literal(text) => tokens.push(Token::One(Some(text.clone()))),
            Segment::Param => tokens.push(Token::One(None)),
            Segment::Greedy => tokens.extend([Token::One(None), Token::Many]),
        }
    }
    root_segment(route, &mut tokens);
    tokens
}

/// Some sequence of segments matches both token lists.
const SOME: u8 = 1;
/// …one where a `*` of the IAM pattern took two segments or more (a parameter value spanning
/// segments, an `ANY` reaching into the path) or the root's empty segment (`*/*` covers `GET/`):
/// such a request need not match the pattern's own route.
const WIDENED: u8 = 2;

/// Whether the IAM pattern of route `a` (`glob`) covers a request that API Gateway routes by
/// `d` (`template`): a request both match, unless every such request also matches `a` itself
/// and `a` wins over `d` (then API Gateway routes it by `a`, or by a route more specific
/// still).
fn covers_routed(glob: &[Token], template: &[Token], a_wins: bool) -> bool {
    let mut memo = vec![None; (glob.len() + 1) * (template.len() + 1)];
    let found = walk(glob, template, 0, 0, &mut memo);
    if a_wins {
        found & WIDENED != 0
    } else {
        found != 0
    }
}

/// Whether some sequence of segments matches both token lists.
#[cfg(test)]
fn intersects(a: &[Token], b: &[Token]) -> bool {
    let mut memo = vec![None; (a.len() + 1) * (b.len() + 1)];
    walk(a, b, 0, 0, &mut memo) != 0
}

/// What common matches `glob[i..]` and `template[j..]` have: [`SOME`], [`WIDENED`].
fn walk(glob: &[Token], template: &[Token], i: usize, j: usize, memo: &mut [Option<u8>]) -> u8 {
    let slot = i * (template.len() + 1) + j;
    if let Some(known) = memo[slot] {
        return known;
    }
    let mut found = 0;
    match (glob.get(i), template.get(j)) {
        (None, None) => found = SOME,
        (Some(Token::Many), next) => {
            found |= walk(glob, template, i + 1, j, memo);
            match next {
                // The pattern's run takes this segment too: it now spans two or more.
                Some(Token::One(_)) if walk(glob, template, i, j + 1, memo) != 0 => {
                    found |= SOME | WIDENED;
                }
                Some(Token::Many) => {
                    found |= walk(glob, template, i, j + 1, memo);
                    if walk(glob, template, i + 1, j, memo) | walk(glob, template, i, j + 1, memo)
                        != 0
                    {
                        found |= SOME | WIDENED;
                    }
                }
                _ => {}
            }
        }
        (Some(Token::One(x)), Some(Token::Many)) => {
            // The template's run ends here, or takes the segment the pattern's names (never the
            // root's empty one: a `{proxy+}` takes non-empty segments).
            found |= walk(glob, template, i, j + 1, memo);
            if x.as_deref() != Some("") {
                found |= walk(glob, template, i + 1, j, memo);
            }
        }
        (None, Some(Token::Many)) => found |= walk(glob, template, i, j + 1, memo),
        (Some(Token::One(x)), Some(Token::One(y))) => {
            // A template's `{param}` (or `ANY`'s method) is one non-empty segment. The
            // pattern's `*` matches the root's empty one too (`*/*` covers `GET/`, the ARN of
            // `GET /`), which the pattern's own route never takes: a widened match.
            let (same, empty) = match (x, y) {
                (Some(x), Some(y)) => (x == y, false),
                (Some(x), None) => (!x.is_empty(), false),
                (None, Some(y)) => (true, y.is_empty()),
                (None, None) => (true, false),
            };
            if same {
                let rest = walk(glob, template, i + 1, j + 1, memo);
                found |= if empty && rest != 0 {
                    rest | WIDENED
                } else {
                    rest
                };
            }
        }
        _ => {}
    }
    memo[slot] = Some(found);
    found
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::access::RouteTable;

    fn tokens_meet(glob: &str, template: &str) -> bool {
        let g = RouteTemplate::parse(glob).unwrap();
        let t = RouteTemplate::parse(template).unwrap();
        intersects(&glob_tokens(&g), &template_tokens(&t))
    }

    #[test]
    fn iam_wildcards_cross_slashes() {
        assert!(iam_matches("GET/orders/*", "GET/orders/1"));
        assert!(iam_matches("GET/orders/*", "GET/orders/1/audit"));
        assert!(iam_matches("*/reports/*", "GET/x/reports/1"));
        assert!(iam_matches("GET/a?c", "GET/abc"));
        assert!(!iam_matches("GET/orders/*/audit", "GET/orders/1"));
        assert!(!iam_matches("GET/orders", "GET/orders/1"));
        assert!(iam_matches("*", ""));
        // A `*` in the text (a request path may hold one) is matched by the pattern's `*`.
        assert!(iam_matches("*/a/*", "GET/a/*/a"));
        assert!(iam_matches("GET/*/x", "GET/*/y/x"));
    }

    /// IAM's verdict on `request` under `policy`: an explicit Deny wins, then any Allow.
    fn iam_allows(policy: &PolicyResources, request: &str) -> bool {
        !policy.deny.iter().any(|d| iam_matches(d, request))
            && policy.allow.iter().any(|a| iam_matches(a, request))
    }

    /// Every subset of an overlapping rule set allowed, every listed request first: the policy
    /// answers every other listed request as a fresh decision would (API Gateway's routing,
    /// single-segment parameter values).
    #[test]
    fn a_cached_policy_answers_every_listed_route_as_a_fresh_decision() {
        let rules = [
            "GET /orders",
            "GET /orders/{id}",
            "GET /orders/{id}/audit",
            "DELETE /orders/{id}",
            "ANY /reports/{proxy+}",
            "GET /reports/summary",
            "POST /orders",
            "GET /",
        ];
        let json: Vec<String> = rules
            .iter()
            .map(|r| format!(r#"{{"route": "{r}", "authenticated": true}}"#))
            .collect();
        let table = RouteTable::parse(&format!("[{}]", json.join(","))).unwrap();
        let requests = [
            ("GET", "/orders"),
            ("GET", "/orders/17"),
            ("GET", "/orders/17/audit"),
            ("DELETE", "/orders/17"),
            ("GET", "/reports/q3"),
            ("PUT", "/reports/q3/eu"),
            ("GET", "/reports/summary"),
            ("POST", "/orders"),
            ("GET", "/"),
        ];
        let prefix = "arn:aws:execute-api:us-east-1:123456789012:api/stage/";
        for mask in 0u32..(1 << rules.len()) {
            let allowed: Vec<bool> = (0..rules.len()).map(|i| mask & (1 << i) != 0).collect();
            let fresh = |(method, path): (&str, &str)| {
                table.route_for(method, path).is_some_and(|r| allowed[r])
            };
            for first in requests {
                let suffix = format!("{}{}", first.0, first.1);
                let policy = table.policy(&allowed, prefix, &suffix, fresh(first));
                assert_eq!(
                    iam_allows(&policy, &format!("{prefix}{suffix}")),
                    fresh(first)
                );
                for other in requests {
                    let arn = format!("{prefix}{}{}", other.0, other.1);
                    assert_eq!(
                        iam_allows(&policy, &arn),
                        fresh(other),
                        "allowed {allowed:?}, first {first:?}, then {other:?}: {policy:?}"
                    );
                }
            }
        }
    }

    /// The root's ARN is `GET/`, which a catch-all's `*/*` covers although `{proxy+}` never
    /// takes the empty segment: an allowed `ANY /{proxy+}` must not open a refused `GET /` (or
    /// `ANY /`) in the cached policy. Found by the e2e suite `route_authorization`.
    #[test]
    fn a_catch_all_does_not_open_the_root() {
        let rules = [
            "ANY /{proxy+}",
            "GET /",
            "ANY /",
            "GET /{id}",
            "POST /{id}/b",
        ];
        let json: Vec<String> = rules
            .iter()
            .map(|r| format!(r#"{{"route": "{r}", "authenticated": true}}"#))
            .collect();
        let table = RouteTable::parse(&format!("[{}]", json.join(","))).unwrap();
        let requests = [
            ("GET", "/"),
            ("POST", "/"),
            ("PUT", "/"),
            ("GET", "/a"),
            ("POST", "/a"),
            ("GET", "/a/b"),
            ("POST", "/a/b"),
        ];
        let prefix = "arn:aws:execute-api:us-east-1:123456789012:api/stage/";
        for mask in 0u32..(1 << rules.len()) {
            let allowed: Vec<bool> = (0..rules.len()).map(|i| mask & (1 << i) != 0).collect();
            let fresh = |(method, path): (&str, &str)| {
                table.route_for(method, path).is_some_and(|r| allowed[r])
            };
            for first in requests {
                let suffix = format!("{}{}", first.0, first.1);
                let policy = table.policy(&allowed, prefix, &suffix, fresh(first));
                assert_eq!(
                    iam_allows(&policy, &format!("{prefix}{suffix}")),
                    fresh(first)
                );
                // Never wider than a fresh decision (narrower where IAM cannot say it: the
                // Deny of `GET /{id}` also covers `GET /a/b`, which the catch-all takes).
                for other in requests {
                    let arn = format!("{prefix}{}{}", other.0, other.1);
                    assert!(
                        !iam_allows(&policy, &arn) || fresh(other),
                        "allowed {allowed:?}, first {first:?}, then {other:?}: {policy:?}"
                    );
                }
            }
        }
        let g = |r| glob_tokens(&RouteTemplate::parse(r).unwrap());
        let t = |r| template_tokens(&RouteTemplate::parse(r).unwrap());
        assert!(covers_routed(&g("ANY /{proxy+}"), &t("GET /"), true));
        assert!(!covers_routed(&g("GET /"), &t("GET /{id}"), false));
    }

    /// A request path holding `*` or `?` is no exact resource: answered alone (the full policy
    /// would refuse it), it is refused rather than allowed as a pattern covering deeper routes.
    #[test]
    fn a_wildcard_in_the_path_never_becomes_an_allow_pattern() {
        let table = RouteTable::parse(
            r#"[{"route": "ANY /files/{proxy+}", "authenticated": true},
                {"route": "GET /files/{id}", "authenticated": true},
                {"route": "GET /files/{id}/x/admin", "authenticated": true}]"#,
        )
        .unwrap();
        let prefix = "arn:aws:execute-api:us-east-1:123456789012:api/stage/";
        let allowed = [true, false, false];
        // `GET /files/*/*` is the catch-all's (allowed), and the Deny of `GET /files/{id}`
        // covers it: only a policy of its own would allow it.
        assert_eq!(table.route_for("GET", "/files/*/*"), Some(0));
        let policy = table.policy(&allowed, prefix, "GET/files/*/*", true);
        for refused in ["GET/files/1", "GET/files/1/x/admin"] {
            assert!(
                !iam_allows(&policy, &format!("{prefix}{refused}")),
                "{policy:?}"
            );
        }
        let plain = table.policy(&allowed, prefix, "GET/files/a/b", true);
        assert_eq!(plain.allow, [format!("{prefix}GET/files/a/b")]);
    }

    #[test]
    fn overlaps_follow_iam_not_api_gateway() {
        assert!(tokens_meet("GET /orders/{id}", "GET /orders/{id}/audit"));
        assert!(!tokens_meet("GET /orders/{id}/audit", "GET /orders/{id}"));
        assert!(tokens_meet("ANY /reports/{proxy+}", "GET /x/reports/{id}"));
        assert!(!tokens_meet("GET /orders/{id}", "POST /orders/{id}/audit"));
        assert!(tokens_meet("GET /orders/{id}", "ANY /orders/{id}"));
        assert!(!tokens_meet("GET /orders", "GET /orders/{id}"));
        assert!(tokens_meet("ANY /{proxy+}", "GET /"));
        assert!(!tokens_meet("GET /a/{x}", "GET /"));
    }
}
