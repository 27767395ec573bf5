//! The authorization rows: rule sets and roles of a given size (deterministic), and the pure
//! policy build timed alone.

use std::sync::Arc;
use std::time::Instant;

use auth_core::access::policy::PolicyAnswer;
use auth_core::access::{AccessControl, RouteTable};
use auth_core::identity::{Grant, Identity};
use serde_json::{Value, json};

use crate::measure::Op;

/// `roles` roles (`role0`… and `user`, the seeded users' role) over ten resources.
pub fn access_control(roles: usize) -> String {
    let mut table = serde_json::Map::new();
    for r in 0..roles {
        let name = if r + 1 == roles {
            "user".to_owned()
        } else {
            format!("role{r}")
        };
        let mut statements = serde_json::Map::new();
        for k in 0..10 {
            if (r + k) % 3 != 0 {
                statements.insert(
                    format!("res{k}"),
                    json!(["read", "create", "delete"][..=(r + k) % 3]),
                );
            }
        }
        table.insert(name, Value::Object(statements));
    }
    json!({"roles": table, "defaultRole": "user"}).to_string()
}

/// `n` rules over ten resources with exact, `{param}` and greedy routes, overlapping as real
/// APIs do; `GET /request` (the fixture event's route) needs `res1:read`, which `user` has.
pub fn routes(n: usize) -> String {
    let mut rules = vec![json!({"route": "GET /request", "permissions": {"res1": ["read"]}})];
    let shapes = [
        ("GET", "/res{k}"),
        ("POST", "/res{k}"),
        ("GET", "/res{k}/{id}"),
        ("DELETE", "/res{k}/{id}"),
        ("GET", "/res{k}/{id}/audit"),
        ("ANY", "/res{k}/{id}/files/{proxy+}"),
    ];
    let mut i = 0;
    while rules.len() < n {
        let (method, path) = shapes[i % shapes.len()];
        let k = i / shapes.len();
        let action = ["read", "create", "delete"][i % 3];
        let route = format!("{method} {}", path.replace("{k}", &k.to_string()));
        rules.push(
            json!({"route": route, "permissions": {format!("res{}", (k + i) % 10): [action]}}),
        );
        i += 1;
    }
    Value::Array(rules).to_string()
}

/// The REST policy for `rules` rules and ten roles, for a caller with the `user` role (no I/O).
/// `seen_before`: what a request of a kind of caller seen before pays (the shared answers and
/// written statements, its own ARN checked against them); else the first one's cost: every
/// rule decided, overlaps applied, ARNs joined.
pub fn policy_worker(rules: usize, seen_before: bool) -> Result<Op, String> {
    let control = AccessControl::parse(&access_control(10)).map_err(|e| e.to_string())?;
    let table = RouteTable::parse(&routes(rules)).map_err(|e| e.to_string())?;
    let caller = Identity {
        user_id: Some("bench-user".into()),
        session_id: Some("bench-session".into()),
        email: "bench@example.com".into(),
        name: "Bench".into(),
        role: Some("user".into()),
        email_verified: true,
        impersonated_by: None,
        expires_at: None,
        grant: Grant::User,
        extras: Vec::new(),
        organization: None,
    };
    let shared = Arc::new((control, table, caller));
    Ok(Arc::new(move |_| {
        let shared = Arc::clone(&shared);
        Box::pin(async move {
            let (control, table, caller) = &*shared;
            let prefix = "arn:aws:execute-api:us-east-1:123456789012:s4x3opwd6i/test/";
            let started = Instant::now();
            let ok = if seen_before {
                let decided =
                    table.decide_every_rule(control, caller, control.organization_roles());
                matches!(
                    table.answer(&decided, prefix, "GET/request", true),
                    PolicyAnswer::Statements(_)
                )
            } else {
                let allowed = table.decide_all(control, caller, control.organization_roles());
                !table
                    .policy(&allowed, prefix, "GET/request", true)
                    .allow
                    .is_empty()
            };
            (ok, started.elapsed())
        })
    }))
}
