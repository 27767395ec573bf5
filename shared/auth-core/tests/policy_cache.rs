//! Property test of the REST policy API Gateway caches per token (`access::policy`): whatever
//! the rules (literal, `{param}` and `{proxy+}` segments, the root, `GET`, `POST` or `ANY`) and
//! whichever of them the caller may call, the policy built for a listed request answers that
//! request exactly and never allows another listed request that a fresh decision refuses. (It
//! may refuse one a fresh decision allows, where IAM's `*` cannot carve it out, and a path
//! holding `*` where only its own resource would allow it: documented.)
//! The decisions behind it are reused per kind of caller: a second property holds every kind
//! (a user's session, a user's API key, an organization's API key, a machine principal with no
//! user) to a fresh decision, whatever came before it. `PROPTEST_CASES` raises the case count
//! (default 400).

use auth_core::Identity;
use auth_core::access::policy::{PolicyResources, iam_matches};
use auth_core::access::{AccessControl, RouteTable};
use auth_core::identity::{ActiveOrganization, ApiKeyGrant, Grant, OrganizationKeyGrant};
use proptest::prelude::*;
use proptest::test_runner::{FileFailurePersistence, RngSeed};

const PREFIX: &str = "arn:aws:execute-api:us-east-1:123456789012:api/stage/";

fn config() -> ProptestConfig {
    let env = |name: &str| std::env::var(name).ok().and_then(|v| v.parse::<u64>().ok());
    ProptestConfig {
        cases: env("PROPTEST_CASES").map_or(400, |n| u32::try_from(n).unwrap_or(400)),
        rng_seed: RngSeed::Fixed(env("PROPTEST_RNG_SEED").unwrap_or(0x0C0F_FEE5)),
        failure_persistence: Some(Box::new(FileFailurePersistence::WithSource(
            "proptest-regressions",
        ))),
        ..ProptestConfig::default()
    }
}

/// `METHOD /path`: up to three segments (`a`, `b`, `c`, `{p}`), maybe a last `{rest+}`.
fn route() -> impl Strategy<Value = String> {
    let segment = prop_oneof![Just("a"), Just("b"), Just("c"), Just("{p}")];
    (
        prop_oneof![Just("GET"), Just("POST"), Just("ANY")],
        prop::collection::vec(segment, 0..3),
        any::<bool>(),
    )
        .prop_map(|(method, segments, greedy)| {
            let mut path: Vec<&str> = segments;
            if greedy {
                path.push("{rest+}");
            }
            format!("{method} /{}", path.join("/"))
        })
}

/// Every request of up to three segments over `a`, `b`, `c`, `x` (a value no route names) and
/// `*` (IAM's wildcard, as a path may hold it).
fn requests() -> Vec<(&'static str, String)> {
    let alphabet = ["a", "b", "c", "x", "*"];
    let mut out = Vec::new();
    for method in ["GET", "POST", "PUT"] {
        for len in 0..=3u32 {
            for code in 0..alphabet.len().pow(len) {
                let mut rest = code;
                let mut segments = Vec::new();
                for _ in 0..len {
                    segments.push(alphabet[rest % alphabet.len()]);
                    rest /= alphabet.len();
                }
                out.push((method, format!("/{}", segments.join("/"))));
            }
        }
    }
    out
}

/// IAM: an explicit Deny wins, then any Allow.
fn allows(policy: &PolicyResources, arn: &str) -> bool {
    !policy.deny.iter().any(|d| iam_matches(d, arn))
        && policy.allow.iter().any(|a| iam_matches(a, arn))
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn a_cached_policy_never_allows_what_a_fresh_decision_refuses(
        mut routes in prop::collection::vec(route(), 1..7),
        allowed in prop::collection::vec(any::<bool>(), 7),
        firsts in prop::collection::vec(any::<prop::sample::Index>(), 4),
    ) {
        routes.sort();
        routes.dedup();
        let json: Vec<String> = routes
            .iter()
            .map(|r| format!(r#"{{"route": "{r}", "authenticated": true}}"#))
            .collect();
        let table = RouteTable::parse(&format!("[{}]", json.join(","))).expect("rules");
        let allowed = &allowed[..routes.len()];
        let all = requests();
        let listed: Vec<(&str, String, bool)> = all
            .iter()
            .filter_map(|(m, p)| table.route_for(m, p).map(|r| (*m, p.clone(), allowed[r])))
            .collect();
        prop_assume!(!listed.is_empty());
        for first in firsts {
            let (method, path, decision) = &listed[first.index(listed.len())];
            let suffix = format!("{method}{path}");
            let policy = table.policy(allowed, PREFIX, &suffix, *decision);
            let own = allows(&policy, &format!("{PREFIX}{suffix}"));
            if path.contains('*') {
                // No exact resource names it: refused rather than allowed as a pattern.
                prop_assert!(*decision || !own);
            } else {
                prop_assert_eq!(own, *decision);
            }
            for (m, p, fresh) in &listed {
                prop_assert!(
                    *fresh || !allows(&policy, &format!("{PREFIX}{m}{p}")),
                    "rules {:?}, allowed {:?}: the policy from {} {} allows {} {}: {:?}",
                    routes, allowed, method, path, m, p, policy
                );
            }
        }
    }

    #[test]
    fn a_reused_decision_is_the_fresh_decision_for_every_kind_of_caller(
        rules in prop::collection::vec((0..4usize, 0..3usize), 1..6),
        callers in prop::collection::vec(caller(), 1..12),
    ) {
        let json: Vec<String> = rules
            .iter()
            .enumerate()
            .map(|(i, (kind, which))| rule(i, *kind, *which))
            .collect();
        let table = RouteTable::parse(&format!("[{}]", json.join(","))).expect("rules");
        let ac = AccessControl::default();
        let roles = ac.organization_roles();
        for caller in &callers {
            let reused = table.decide_every_rule(&ac, caller, roles);
            let fresh = table.decide_all(&ac, caller, roles);
            prop_assert_eq!(&reused.allowed, &fresh, "{:?}", caller);
            if caller.user_id.is_none() {
                // A machine principal never holds a user-level permission.
                for (i, (kind, _)) in rules.iter().enumerate() {
                    if *kind == 1 {
                        prop_assert!(!fresh[i], "{:?} passed {}", caller, json[i]);
                    }
                }
            }
        }
    }
}

/// Rule `i`: `authenticated` (0), `permissions` (1), `organizationPermissions` (2) or both
/// (3), asking for one of three statements of Better Auth's default roles.
fn rule(i: usize, kind: usize, which: usize) -> String {
    let user = [
        r#"{"user": ["list"]}"#,
        r#"{"session": ["revoke"]}"#,
        r#"{"user": ["ban"]}"#,
    ];
    let org = [
        r#"{"organization": ["update"]}"#,
        r#"{"member": ["create"]}"#,
        r#"{"invitation": ["cancel"]}"#,
    ];
    let asks = match kind {
        0 => r#""authenticated": true"#.to_owned(),
        1 => format!(r#""permissions": {}"#, user[which]),
        2 => format!(r#""organizationPermissions": {}"#, org[which]),
        _ => format!(
            r#""permissions": {}, "organizationPermissions": {}"#,
            user[which], org[which]
        ),
    };
    format!(r#"{{"route": "GET /r{i}", {asks}}}"#)
}

/// A caller of any kind: a user's session (maybe in an organization), a user's key, or an
/// organization's key, with roles and key permissions drawn from small sets so kinds repeat.
fn caller() -> impl Strategy<Value = Identity> {
    let permissions = prop_oneof![
        Just(None),
        Just(Some(r#"{"user": ["list"]}"#.to_owned())),
        Just(Some(
            r#"{"organization": ["update"], "member": ["create"]}"#.to_owned()
        )),
        Just(Some(
            r#"{"user": ["list", "ban"], "session": ["revoke"], "organization": ["update"]}"#
                .to_owned()
        )),
        Just(Some("not json".to_owned())),
    ];
    let role = prop_oneof![
        Just(None),
        Just(Some("admin".to_owned())),
        Just(Some("user".to_owned()))
    ];
    let membership = prop_oneof![Just(None), Just(Some("owner")), Just(Some("member"))];
    (0..3usize, role, membership, permissions).prop_map(|(kind, role, membership, permissions)| {
        let key = ApiKeyGrant {
            id: "k".into(),
            permissions,
            remaining: None,
        };
        let user = Identity {
            user_id: Some("7".into()),
            session_id: None,
            email: String::new(),
            name: String::new(),
            role,
            email_verified: true,
            impersonated_by: None,
            expires_at: None,
            grant: Grant::User,
            extras: Vec::new(),
            organization: membership.map(|role| {
                Box::new(ActiveOrganization {
                    id: "7".into(),
                    slug: "seven".into(),
                    role: role.into(),
                    team_id: None,
                })
            }),
        };
        match kind {
            0 => user,
            1 => Identity {
                grant: Grant::ApiKey(Box::new(key)),
                organization: None,
                ..user
            },
            // Organization 7's key: the same id as user 7, and nobody's user.
            _ => Identity {
                user_id: None,
                role: None,
                organization: None,
                grant: Grant::OrganizationKey(Box::new(OrganizationKeyGrant {
                    key,
                    organization_id: "7".into(),
                    organization_slug: "seven".into(),
                })),
                ..user
            },
        }
    })
}

/// A caller the rules may tell apart: a session with a role, or an OAuth token (for a user or a
/// machine) with some scopes.
fn oauth_caller() -> impl Strategy<Value = auth_core::Identity> {
    use auth_core::identity::{Grant, OAuthGrant};
    let scopes = prop::collection::vec(prop_oneof![Just("r"), Just("w"), Just("x")], 0..3);
    (
        prop_oneof![Just(None), Just(Some("admin")), Just(Some("user"))],
        prop::option::of((scopes, any::<bool>())),
    )
        .prop_map(|(role, oauth)| {
            let user_bound = oauth.as_ref().is_none_or(|(_, bound)| *bound);
            auth_core::Identity {
                user_id: user_bound.then(|| "u1".to_owned()),
                session_id: None,
                email: String::new(),
                name: String::new(),
                role: role.filter(|_| user_bound).map(str::to_owned),
                email_verified: true,
                impersonated_by: None,
                expires_at: None,
                grant: match oauth {
                    None => Grant::User,
                    Some((scopes, user_bound)) => Grant::OAuth(Box::new(OAuthGrant {
                        client_id: "c1".into(),
                        scopes: scopes.join(" "),
                        resource: None,
                        user_bound,
                    })),
                },
                extras: Vec::new(),
                organization: None,
            }
        })
}

/// A rule's requirement: any signed-in caller, scopes, permissions, or both.
fn requirement() -> impl Strategy<Value = String> {
    let scopes = prop::collection::vec(prop_oneof![Just("r"), Just("w"), Just("x")], 1..3);
    (
        prop::option::of(scopes),
        prop::option::of(prop_oneof![Just("list"), Just("ban")]),
    )
        .prop_map(|(scopes, action)| {
            let mut parts = Vec::new();
            if let Some(scopes) = scopes {
                parts.push(format!(r#""scopes": {scopes:?}"#));
            }
            if let Some(action) = action {
                parts.push(format!(r#""permissions": {{"user": ["{action}"]}}"#));
            }
            if parts.is_empty() {
                parts.push(r#""authenticated": true"#.to_owned());
            }
            parts.join(", ")
        })
}

proptest! {
    #![proptest_config(config())]

    /// The answers worked out once per kind of caller and reused (`decide_every_rule`) are, for
    /// every caller of a sequence sharing one table, the answers decided afresh for that caller:
    /// an OAuth token's cached policy never allows a route its scopes do not cover (nor a
    /// machine principal one a role would).
    #[test]
    fn decisions_reused_for_a_kind_of_caller_are_that_callers_own(
        rules in prop::collection::vec(requirement(), 1..6),
        callers in prop::collection::vec(oauth_caller(), 1..12),
    ) {
        let json: Vec<String> = rules
            .iter()
            .enumerate()
            .map(|(i, r)| format!(r#"{{"route": "GET /r{i}", {r}}}"#))
            .collect();
        let table = RouteTable::parse(&format!("[{}]", json.join(","))).expect("rules");
        let ac = auth_core::access::AccessControl::default();
        let roles = auth_core::access::Roles::default();
        for caller in &callers {
            let reused = table.decide_every_rule(&ac, caller, &roles);
            let fresh = table.decide_all(&ac, caller, &roles);
            prop_assert_eq!(&reused.allowed, &fresh, "rules {:?}, caller {:?}", rules, caller);
            if let Some(grant) = caller.grant.oauth() {
                for (i, rule) in rules.iter().enumerate() {
                    let needs: Vec<&str> = ["r", "w", "x"]
                        .into_iter()
                        .filter(|s| rule.contains(&format!("\"{s}\"")))
                        .collect();
                    if fresh[i] {
                        prop_assert!(grant.has_all(needs.iter().copied()), "{} {:?}", rule, caller);
                        prop_assert!(
                            !rule.contains("permissions") || (grant.user_bound && !needs.is_empty()),
                            "{} {:?}", rule, caller
                        );
                    }
                }
            }
        }
    }
}
