//! Attacks on cached REST policies: a policy API Gateway caches for a token never allows a route
//! the caller lacks (request paths holding `*`, the root under a one-segment wildcard, random
//! overlapping rule sets with a fixed seed), and an API key is held to its own permissions as
//! `verifyApiKey` holds it.

use auth_core::access::RouteTable;
use auth_core::access::policy::{PolicyResources, iam_matches};

const PREFIX: &str = "arn:aws:execute-api:us-east-1:123456789012:api/stage/";

fn iam_allows(policy: &PolicyResources, request: &str) -> bool {
    !policy.deny.iter().any(|d| iam_matches(d, request))
        && policy.allow.iter().any(|a| iam_matches(a, request))
}

/// Many allowed rules push the policy over MAX_POLICY_BYTES, so the answer is the "exact"
/// request ARN. A request path with a literal `*` (a legal URL character, routed by API Gateway
/// to `GET /orders/{id}`) makes that exact Allow a wildcard: cached for the token, it allows
/// `GET /orders/1/refund`, which the rules refuse.
#[test]
fn a_star_in_the_request_path_must_not_become_a_wildcard_allow_over_the_size_fallback() {
    let mut rules = vec![
        r#"{"route": "GET /orders/{id}", "authenticated": true}"#.to_owned(),
        r#"{"route": "POST /orders/{id}/refund", "permissions": {"order": ["refund"]}}"#.to_owned(),
        r#"{"route": "GET /orders/{id}/refund", "permissions": {"order": ["refund"]}}"#.to_owned(),
    ];
    for i in 0..150 {
        rules.push(format!(
            r#"{{"route": "GET /things{i}/{{id}}", "authenticated": true}}"#
        ));
    }
    let table = RouteTable::parse(&format!("[{}]", rules.join(","))).unwrap();
    let allowed: Vec<bool> = (0..rules.len()).map(|i| i != 1 && i != 2).collect();
    let fresh = |m: &str, p: &str| table.route_for(m, p).is_some_and(|r| allowed[r]);
    assert!(fresh("GET", "/orders/*"));
    assert!(!fresh("GET", "/orders/1/refund"));
    let policy = table.policy(&allowed, PREFIX, "GET/orders/*", true);
    let later = format!("{PREFIX}GET/orders/1/refund");
    assert!(
        !iam_allows(&policy, &later),
        "cached policy {policy:?} allows {later}, which the rules refuse"
    );
}

/// The same through the "IAM cannot say both" fallback (decision Allow, a Deny covers it): no
/// big rule set needed.
#[test]
fn a_star_in_the_request_path_must_not_become_a_wildcard_allow_over_the_exact_fallback() {
    let rules = [
        r#"{"route": "ANY /{proxy+}", "authenticated": true}"#,
        r#"{"route": "GET /files/{id}", "permissions": {"file": ["read"]}}"#,
        r#"{"route": "GET /files/{id}/{sub}", "authenticated": true}"#,
        r#"{"route": "GET /files/{id}/{sub}/secret", "permissions": {"file": ["read"]}}"#,
    ];
    let table = RouteTable::parse(&format!("[{}]", rules.join(","))).unwrap();
    let allowed = vec![true, false, true, false];
    let fresh = |m: &str, p: &str| table.route_for(m, p).is_some_and(|r| allowed[r]);
    // Routed to the allowed `{id}/{sub}`; the Deny `GET/files/*` covers it, so the answer is
    // the "exact" ARN `GET/files/x/*`: an IAM wildcard, cached for the token.
    assert!(fresh("GET", "/files/x/*"));
    assert!(!fresh("GET", "/files/x/y/secret"));
    let policy = table.policy(&allowed, PREFIX, "GET/files/x/*", true);
    let later = format!("{PREFIX}GET/files/x/y/secret");
    assert!(!iam_allows(&policy, &later), "{policy:?} allows {later}");
}

/// `iam_matches` takes a `*` in the text as a literal match for the pattern's `*` and never
/// backtracks: `GET/files/*` (IAM: matches) is said not to match `GET/files/*/meta`.
#[test]
fn iam_matches_a_literal_star_in_the_text() {
    assert!(iam_matches("GET/files/*", "GET/files/*/meta"));
    assert!(iam_matches("GET/orders/*/refund", "GET/orders/*x/refund"));
}

/// Random overlapping rule sets (no literal `*` in paths): a policy built for one request never
/// lets IAM allow another listed request the rules refuse.
#[test]
fn random_rule_sets_never_allow_a_refused_route_from_the_cache() {
    let mut seed: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut next = move |n: u64| {
        seed = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (seed >> 33) % n
    };
    let methods = ["GET", "POST", "ANY"];
    let segs = ["a", "b", "{p}"];
    let words = ["a", "b", "x"];
    let prefix = PREFIX;
    let mut failures = Vec::new();
    for _ in 0..3000 {
        let n = 2 + next(5) as usize;
        let mut rules: Vec<String> = Vec::new();
        for _ in 0..n {
            let m = methods[next(3) as usize];
            let depth = next(4) as usize;
            let mut path = String::new();
            for i in 0..depth {
                path.push('/');
                if i + 1 == depth && next(3) == 0 {
                    path.push_str("{proxy+}");
                } else {
                    path.push_str(segs[next(3) as usize]);
                }
            }
            if path.is_empty() {
                path.push('/');
            }
            rules.push(format!("{m} {path}"));
        }
        let json: Vec<String> = rules
            .iter()
            .map(|r| format!(r#"{{"route": "{r}", "authenticated": true}}"#))
            .collect();
        let Ok(table) = RouteTable::parse(&format!("[{}]", json.join(","))) else {
            continue;
        };
        let allowed: Vec<bool> = (0..rules.len()).map(|_| next(2) == 0).collect();
        let mut requests = Vec::new();
        for m in ["GET", "POST", "DELETE"] {
            requests.push((m, "/".to_owned()));
            for a in words {
                requests.push((m, format!("/{a}")));
                for b in words {
                    requests.push((m, format!("/{a}/{b}")));
                    for c in words {
                        requests.push((m, format!("/{a}/{b}/{c}")));
                    }
                }
            }
        }
        let fresh = |m: &str, p: &str| table.route_for(m, p).map(|r| allowed[r]);
        for (m1, p1) in &requests {
            let Some(first) = fresh(m1, p1) else { continue };
            let suffix = format!("{m1}{p1}");
            let policy = table.policy(&allowed, prefix, &suffix, first);
            if !first && iam_allows(&policy, &format!("{prefix}{suffix}")) {
                failures.push(format!("fresh: {rules:?} {allowed:?}: {m1} {p1}"));
            }
            for (m2, p2) in &requests {
                if fresh(m2, p2) == Some(false)
                    && (std::env::var("REVIEW_ROOT").is_ok() || p2 != "/")
                    && iam_allows(&policy, &format!("{prefix}{m2}{p2}"))
                {
                    failures.push(format!("{rules:?} {allowed:?}: {m1} {p1} then {m2} {p2}"));
                }
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} leaks, e.g. {:?}",
        failures.len(),
        &failures[..failures.len().min(5)]
    );
}

/// Minimal: `GET /{id}` allowed, `GET /` refused. The cached policy `GET/*` also matches the
/// root's ARN `GET/` (IAM's `*` matches the empty string), and no Deny is added because
/// `GET /{id}` "wins" over `GET /` by precedence, though no request takes both.
#[test]
fn the_root_route_is_not_allowed_by_a_cached_single_param_wildcard() {
    let table = RouteTable::parse(
        r#"[{"route": "GET /{id}", "authenticated": true},
            {"route": "GET /", "permissions": {"user": ["list"]}}]"#,
    )
    .unwrap();
    let allowed = vec![true, false];
    let policy = table.policy(&allowed, PREFIX, "GET/x", true);
    let root = format!("{PREFIX}GET/");
    assert!(!iam_allows(&policy, &root), "{policy:?} allows {root}");
}

/// The api-key plugin's `verifyApiKey({ permissions })` calls `role(keyPermissions)
/// .authorize(permissions)` with no connector (AND, index.mjs `validateApiKey`). A rule with
/// `"connector": "OR"` lets a key holding only one of the resources through: more than Better
/// Auth grants the key.
#[test]
fn an_api_keys_own_permissions_are_checked_as_verify_api_key_checks_them() {
    use auth_core::access::{AccessControl, RouteTable};
    use auth_core::identity::{ApiKeyGrant, Grant};
    let table = RouteTable::parse(
        r#"[{"route": "GET /reports", "permissions": {"user": ["list"], "session": ["revoke"]},
             "connector": "OR"}]"#,
    )
    .unwrap();
    let ac = AccessControl::default();
    let key = auth_core::Identity {
        user_id: Some("u1".into()),
        session_id: None,
        email: "a@example.com".into(),
        name: "A".into(),
        role: Some("admin".into()),
        email_verified: true,
        impersonated_by: None,
        expires_at: None,
        grant: Grant::ApiKey(Box::new(ApiKeyGrant {
            id: "k1".into(),
            permissions: Some(r#"{"user": ["list"]}"#.into()),
            remaining: None,
        })),
        extras: Vec::new(),
        organization: None,
    };
    assert!(
        table
            .requirement(0)
            .check(&ac, &key, ac.organization_roles())
            .is_err(),
        "verifyApiKey would refuse this key: it lacks session:revoke"
    );
}
