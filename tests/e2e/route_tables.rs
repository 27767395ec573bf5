//! The route tables are the truth: `openapi.json`, both SAM templates and the `cargo lambda
//! watch` router must list exactly the routes the functions' tables hold. Anything forgotten is
//! named.

use std::collections::BTreeSet;

use account_api::routes::{Access, Route};

const OPENAPI: &str = include_str!("../../openapi.json");
const REST_TEMPLATE: &str = include_str!("../../template.yaml");
const HTTP_TEMPLATE: &str = include_str!("../../deploy/template-httpapi.yaml");
const WORKSPACE: &str = include_str!("../../Cargo.toml");

/// Every function's name (its binary) and table.
fn tables() -> [(&'static str, &'static [Route]); 3] {
    [
        ("me", me::handler::ROUTES),
        ("users", users::handler::ROUTES),
        ("sessions", sessions::handler::ROUTES),
    ]
}

/// `/users/{id}/sessions/{session}` → `/users/{}/sessions/{}`: parameter names may differ.
fn shape(path: &str) -> String {
    path.split('/')
        .map(|part| {
            if part.starts_with('{') && part.ends_with('}') && !part.ends_with("+}") {
                "{}"
            } else {
                part
            }
        })
        .collect::<Vec<_>>()
        .join("/")
}

/// Whether a deployment's path (with `{param}`, `{proxy+}` or `{*rest}`) covers a table path.
fn covers(pattern: &str, path: &str) -> bool {
    let pattern: Vec<&str> = pattern.split('/').filter(|s| !s.is_empty()).collect();
    let path: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    for (i, part) in pattern.iter().enumerate() {
        if part.ends_with("+}") || part.starts_with("{*") {
            return path.len() > i;
        }
        let Some(segment) = path.get(i) else {
            return false;
        };
        let param = part.starts_with('{') && part.ends_with('}');
        if !param && part != segment {
            return false;
        }
    }
    pattern.len() == path.len()
}

/// One API event of a SAM template.
#[derive(Debug)]
struct Event {
    function: String,
    path: String,
    method: String,
    open: bool,
}

/// `X` in `key X,` / `key X}` / `key "X"`.
fn value_after<'a>(line: &'a str, key: &str) -> Option<&'a str> {
    let rest = line[line.find(key)? + key.len()..].trim_start();
    if let Some(quoted) = rest.strip_prefix('"') {
        return quoted.split('"').next();
    }
    let end = rest.find([',', '}']).unwrap_or(rest.len());
    Some(rest[..end].trim())
}

/// The events of a template, each attributed to the function whose `Binary:` precedes it.
fn events(template: &str) -> Vec<Event> {
    let mut function = String::new();
    let mut found = Vec::new();
    for line in template.lines() {
        if let Some(binary) = value_after(line, "Binary: ") {
            function = binary.to_owned();
        }
        if let (Some(path), Some(method)) =
            (value_after(line, "Path: "), value_after(line, "Method: "))
        {
            found.push(Event {
                function: function.clone(),
                path: path.to_owned(),
                method: method.to_owned(),
                open: line.contains("Authorizer: NONE"),
            });
        }
    }
    found
}

#[test]
fn openapi_lists_exactly_the_table_routes() {
    let spec: serde_json::Value = serde_json::from_str(OPENAPI).expect("openapi.json");
    let documented: BTreeSet<(String, String)> = spec["paths"]
        .as_object()
        .expect("paths")
        .iter()
        .flat_map(|(path, item)| {
            item.as_object()
                .expect("path item")
                .keys()
                .filter(|k| ["get", "post", "put", "patch", "delete"].contains(&k.as_str()))
                .map(|method| (method.to_ascii_uppercase(), shape(path)))
                .collect::<Vec<_>>()
        })
        .collect();
    let routed: BTreeSet<(String, String)> = tables()
        .iter()
        .flat_map(|(_, routes)| routes.iter())
        .map(|r| (r.method.to_string(), shape(r.path)))
        .collect();
    let undocumented: Vec<_> = routed.difference(&documented).collect();
    let unrouted: Vec<_> = documented.difference(&routed).collect();
    assert!(
        undocumented.is_empty() && unrouted.is_empty(),
        "routes missing from openapi.json: {undocumented:?}; documented but in no table: {unrouted:?}"
    );
}

#[test]
fn the_rest_template_routes_each_table_line_to_its_function() {
    let events = events(REST_TEMPLATE);
    for (function, routes) in tables() {
        let deployed: BTreeSet<(String, String, bool)> = events
            .iter()
            .filter(|e| e.function == function && e.method != "OPTIONS")
            .map(|e| (e.method.clone(), shape(&e.path), e.open))
            .collect();
        let routed: BTreeSet<(String, String, bool)> = routes
            .iter()
            .map(|r| {
                (
                    r.method.to_string(),
                    shape(r.path),
                    r.access == Access::Public,
                )
            })
            .collect();
        assert_eq!(
            deployed, routed,
            "template.yaml's {function} events (method, path, open) differ from its route table"
        );
        // Browsers preflight what is not a simple request: anything sent with credentials in
        // an Authorization header, and every non-GET.
        for route in routes
            .iter()
            .filter(|r| r.access == Access::Caller || r.method != "GET")
        {
            let preflight = events.iter().any(|e| {
                e.function == function
                    && e.method == "OPTIONS"
                    && e.open
                    && covers(&e.path, route.path)
            });
            assert!(
                preflight,
                "template.yaml has no open OPTIONS preflight for {function}'s {}",
                route.path
            );
        }
    }
}

#[test]
fn the_http_api_template_routes_each_table_line_to_its_function() {
    let events = events(HTTP_TEMPLATE);
    for (function, routes) in tables() {
        let mine: Vec<&Event> = events.iter().filter(|e| e.function == function).collect();
        for route in routes {
            let candidates: Vec<&&Event> = mine
                .iter()
                .filter(|e| {
                    (e.method == "ANY" || e.method == route.method.as_str())
                        && covers(&e.path, route.path)
                })
                .collect();
            // API Gateway picks the most specific route: an exact path before a greedy one.
            let chosen = candidates
                .iter()
                .find(|e| shape(&e.path) == shape(route.path))
                .or(candidates.first());
            let Some(event) = chosen else {
                panic!(
                    "deploy/template-httpapi.yaml does not route {} {} to {function}",
                    route.method, route.path
                );
            };
            assert_eq!(
                event.open,
                route.access == Access::Public,
                "deploy/template-httpapi.yaml: {} {} is {} the authorizer, but its table says {:?}",
                route.method,
                route.path,
                if event.open { "outside" } else { "behind" },
                route.access
            );
        }
        for event in &mine {
            assert!(
                routes.iter().any(|r| covers(&event.path, r.path)),
                "deploy/template-httpapi.yaml routes {} {} to {function}, which has no such route",
                event.method,
                event.path
            );
        }
    }
}

#[test]
fn the_watch_router_sends_each_path_to_its_function() {
    let section = WORKSPACE
        .split("[workspace.metadata.lambda.watch.router]")
        .nth(1)
        .expect("a cargo lambda watch router in Cargo.toml");
    let entries: Vec<(String, String)> = section
        .lines()
        .take_while(|l| !l.trim_start().starts_with('['))
        .filter_map(|l| {
            let (path, function) = l.split_once('=')?;
            Some((
                path.trim().trim_matches('"').to_owned(),
                function.trim().trim_matches('"').to_owned(),
            ))
        })
        .collect();
    for (function, routes) in tables() {
        for route in routes {
            let target: Vec<&String> = entries
                .iter()
                .filter(|(path, _)| covers(path, route.path) || shape(path) == shape(route.path))
                .map(|(_, f)| f)
                .collect();
            assert!(
                target.iter().any(|f| *f == function),
                "the watch router in Cargo.toml does not send {} to {function}",
                route.path
            );
        }
    }
    for (path, function) in &entries {
        if function == "orders" {
            // The example (examples/orders): its own list.
            assert!(
                orders_example::ROUTES
                    .iter()
                    .any(|(_, p)| shape(p) == shape(path)),
                "the watch router sends {path} to the example, which has no such route"
            );
            continue;
        }
        let (_, routes) = tables()
            .into_iter()
            .find(|(name, _)| name == function)
            .unwrap_or_else(|| panic!("the watch router names an unknown function {function}"));
        assert!(
            routes.iter().any(|r| covers(path, r.path)),
            "the watch router sends {path} to {function}, which has no such route"
        );
    }
}

/// The example function (off by default in template.yaml) is deployed with exactly its routes,
/// behind the authorizer, and its router answers each (a 401 without a caller, never a 404).
#[tokio::test]
async fn the_example_function_is_deployed_and_routed_as_it_says() {
    use tower::ServiceExt as _;
    let deployed: BTreeSet<(String, String)> = events(REST_TEMPLATE)
        .iter()
        .filter(|e| e.function == "orders")
        .inspect(|e| {
            assert!(
                !e.open,
                "the example's {} is outside the authorizer",
                e.path
            )
        })
        .map(|e| (e.method.clone(), shape(&e.path)))
        .collect();
    let listed: BTreeSet<(String, String)> = orders_example::ROUTES
        .iter()
        .map(|(m, p)| ((*m).to_owned(), shape(p)))
        .collect();
    assert_eq!(deployed, listed, "template.yaml's OrdersFunction events");
    let access = std::sync::Arc::new(auth_core::access::AccessControl::default());
    for (method, path) in orders_example::ROUTES {
        let request = test_support::http::ApiRequest::new(
            test_support::http::Api::Rest,
            method,
            &path.replace("{id}", "1"),
        );
        let lambda = lambda_http::request::from_str(&request.event()).expect("an event");
        let callers = std::sync::Arc::new(auth_caller::Callers::context_only());
        let response = orders_example::app(access.clone(), callers)
            .oneshot(lambda)
            .await
            .expect("infallible");
        assert_eq!(response.status().as_u16(), 401, "{method} {path}");
    }
}

#[test]
fn coverage_rules_hold() {
    assert!(covers("/auth/{proxy+}", "/auth/me"));
    assert!(!covers("/auth/{proxy+}", "/auth"));
    assert!(covers("/users/{id}", "/users/{id}"));
    assert!(!covers("/users/{id}", "/users/{id}/ban"));
    assert!(covers("/auth/{*rest}", "/auth/session"));
    assert_eq!(
        shape("/users/{id}/sessions/{sessionId}"),
        "/users/{}/sessions/{}"
    );
}

#[tokio::test]
async fn routes_answer_behind_a_custom_domains_base_path() {
    use test_support::http::{Api, ApiRequest, send};
    // No database is needed to route: /health answers, a caller route refuses anonymous calls.
    let app = test_support::http::app("postgres://nobody@127.0.0.1:9/none", &[]);
    for api in Api::ALL {
        for path in ["/health", "/v1/health", "/api/v2/health"] {
            let reply = send(
                me::handler::handle,
                &app,
                &ApiRequest::new(api, "GET", path),
            )
            .await;
            assert_eq!(reply.status, 200, "{api:?} {path}");
        }
        let reply = send(
            users::handler::handle,
            &app,
            &ApiRequest::new(api, "GET", "/v1/users"),
        )
        .await;
        assert_eq!(
            reply.status, 401,
            "{api:?}: routed, then refused for want of a caller"
        );
        let reply = send(
            users::handler::handle,
            &app,
            &ApiRequest::new(api, "GET", "/v1/nothing"),
        )
        .await;
        assert_eq!(reply.status, 404, "{api:?}");
    }
}

/// `template.yaml`'s `AuthMethods` pattern accepts every credential method, in any order and
/// all at once, without listing them: a method added to auth-core deploys without editing the
/// template, and a misspelt name stops the function at start-up with the list of known ones.
#[test]
fn the_templates_method_pattern_accepts_every_method() {
    let line = REST_TEMPLATE
        .lines()
        .skip_while(|l| l.trim() != "AuthMethods:")
        .find(|l| l.trim_start().starts_with("AllowedPattern:"))
        .expect("AuthMethods has an AllowedPattern");
    let pattern = line
        .split_once(':')
        .map(|(_, p)| p.trim().trim_matches('"'))
        .unwrap_or_default();
    assert_eq!(pattern, "^[a-z-]+(,[a-z-]+)*$");
    for method in auth_core::MethodName::ALL {
        let name = method.as_str();
        assert!(
            !name.is_empty() && name.bytes().all(|b| b.is_ascii_lowercase() || b == b'-'),
            "{name} does not fit template.yaml's AuthMethods pattern"
        );
    }
}
