//! `openapi.json` is the truth about the API: every route it lists exists, answers with its
//! documented success status and shape, refuses undocumented methods (405), and (unless the
//! route is public) refuses anonymous callers (401).

use account_api::http::App;
use chrono::{Duration, Utc};
use serde_json::{Value, json};
use test_support::http::{Api, ApiRequest, Reply, app, send};
use test_support::pgbouncer::PgBouncer;
use test_support::{NewUser, TestDb, Variant};

const SPEC: &str = include_str!("../../openapi.json");
const METHODS: [&str; 5] = ["get", "post", "put", "patch", "delete"];

fn resolve<'a>(spec: &'a Value, schema: &'a Value) -> &'a Value {
    match schema.get("$ref").and_then(Value::as_str) {
        Some(reference) => {
            let pointer = reference.trim_start_matches('#');
            resolve(
                spec,
                spec.pointer(pointer)
                    .unwrap_or_else(|| panic!("dangling {reference}")),
            )
        }
        None => schema,
    }
}

/// A small JSON-schema check: types, required properties, consts, enums, items, allOf.
fn check(spec: &Value, schema: &Value, value: &Value, at: &str) {
    let schema = resolve(spec, schema);
    if let Some(all) = schema.get("allOf").and_then(Value::as_array) {
        for part in all {
            check(spec, part, value, at);
        }
        return;
    }
    if let Some(one) = schema.get("oneOf").and_then(Value::as_array) {
        assert!(!one.is_empty(), "{at}: empty oneOf");
        return;
    }
    if let Some(expected) = schema.get("const") {
        assert_eq!(value, expected, "{at}");
    }
    if let Some(choices) = schema.get("enum").and_then(Value::as_array) {
        assert!(choices.contains(value), "{at}: {value} not in {choices:?}");
    }
    let types: Vec<&str> = match schema.get("type") {
        Some(Value::String(t)) => vec![t.as_str()],
        Some(Value::Array(ts)) => ts.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    };
    if !types.is_empty() {
        let actual = match value {
            Value::Null => "null",
            Value::Bool(_) => "boolean",
            Value::Number(n) if n.is_i64() || n.is_u64() => "integer",
            Value::Number(_) => "number",
            Value::String(_) => "string",
            Value::Array(_) => "array",
            Value::Object(_) => "object",
        };
        let ok = types.contains(&actual) || (actual == "integer" && types.contains(&"number"));
        assert!(ok, "{at}: expected {types:?}, got {value}");
    }
    if let (Some(required), Some(object)) = (
        schema.get("required").and_then(Value::as_array),
        value.as_object(),
    ) {
        for key in required.iter().filter_map(Value::as_str) {
            assert!(object.contains_key(key), "{at}: missing {key} in {value}");
        }
    }
    if let (Some(properties), Some(object)) = (
        schema.get("properties").and_then(Value::as_object),
        value.as_object(),
    ) {
        for (key, property) in properties {
            if let Some(v) = object.get(key) {
                check(spec, property, v, &format!("{at}.{key}"));
            }
        }
    }
    if let (Some(items), Some(array)) = (schema.get("items"), value.as_array()) {
        for (i, item) in array.iter().enumerate() {
            check(spec, items, item, &format!("{at}[{i}]"));
        }
    }
}

struct World {
    _db: TestDb,
    app: App,
    admin: (String, String),
    target: (String, String, String),
    other_session: String,
}

async fn world(through: Option<&PgBouncer>) -> World {
    let db = TestDb::new(Variant::Default).await;
    let mut admin = NewUser::new("root@example.com");
    admin.role = Some("admin".into());
    let admin_id = db.create_user(&admin).await;
    let admin_session = db
        .create_session(&admin_id, Utc::now() + Duration::days(1))
        .await;
    let target = db.create_user(&NewUser::new("target@example.com")).await;
    let s1 = db
        .create_session(&target, Utc::now() + Duration::days(1))
        .await;
    let s2 = db
        .create_session(&target, Utc::now() + Duration::days(1))
        .await;
    db.execute(
        "INSERT INTO account (id, \"accountId\", \"providerId\", \"userId\", \"createdAt\", \"updatedAt\") VALUES ('acc', $1, 'credential', $1, now(), now())",
        &[&target],
    )
    .await;
    // An API key of the target's, as the api-key plugin stores one (the hash only).
    db.execute(
        "INSERT INTO apikey (id, \"configId\", name, start, \"referenceId\", key, enabled, \"rateLimitEnabled\", \"rateLimitTimeWindow\", \"rateLimitMax\", \"requestCount\", remaining, permissions, \"createdAt\", \"updatedAt\") VALUES ('key1', 'default', 'ci', 'abcdef', $1, 'hash-of-the-key', true, true, 86400000, 10, 0, NULL, '{\"files\":[\"read\"]}', now(), now())",
        &[&target],
    )
    .await;
    // This API as an OAuth resource server: `me` publishes its metadata.
    let resource = [
        ("OAUTH_PROTECTED_RESOURCE", "https://api.example.com/mcp"),
        (
            "OAUTH_AUTHORIZATION_SERVERS",
            "https://auth.example.com/api/auth",
        ),
    ];
    let app = match through {
        None => app(&db.url, &resource),
        // Behind a transaction pooler: no startup options (PgBouncer refuses them), so the schema
        // is named in the settings rather than in search_path; named statements stay on (the
        // default) to show they fall back by themselves.
        Some(bouncer) => app(
            &bouncer.url_for(&test_support::server_url(), test_support::TEST_DATABASE),
            &[
                ("BETTER_AUTH_DB_SCHEMA", db.schema.as_str()),
                ("DATABASE_SERVER_STATEMENT_TIMEOUT", "false"),
                resource[0],
                resource[1],
            ],
        ),
    };
    World {
        _db: db,
        app,
        admin: (admin_id, admin_session.id),
        target: (target, s1.id, s1.token),
        other_session: s2.id,
    }
}

async fn dispatch(app: &App, request: &ApiRequest) -> Reply {
    let path = request.path.as_str();
    if path.starts_with("/auth") || path.starts_with("/health") || path.starts_with("/.well-known")
    {
        send(me::handler::handle, app, request).await
    } else if path.contains("/sessions") {
        send(sessions::handler::handle, app, request).await
    } else {
        send(users::handler::handle, app, request).await
    }
}

fn request_for(w: &World, template: &str, method: &str) -> ApiRequest {
    let path = template
        .replace("{id}", &w.target.0)
        .replace("{sessionId}", &w.other_session)
        .replace("{keyId}", "key1")
        .replace("{resource}", "mcp");
    let method_upper = method.to_uppercase();
    let mut request = if template.starts_with("/auth") {
        ApiRequest::new(Api::Rest, &method_upper, &path).as_user(&w.target.0, &w.target.1, "user")
    } else {
        ApiRequest::new(Api::Http, &method_upper, &path).as_user(&w.admin.0, &w.admin.1, "admin")
    };
    if template == "/auth/verify" {
        request = request.header("authorization", &format!("Bearer {}", w.target.2));
    }
    match (template, method) {
        ("/users/{id}", "patch") => request.json(&json!({"name": "Renamed"})),
        ("/users/{id}/role", "put") => request.json(&json!({"role": ["user"]})),
        ("/users/{id}/ban", "post") => {
            request.json(&json!({"banReason": "spec", "banExpiresIn": 60}))
        }
        _ => request,
    }
}

#[tokio::test]
async fn every_documented_route_answers_as_documented() {
    every_route(None).await;
}

#[tokio::test]
async fn every_route_works_through_pgbouncer_in_transaction_mode() {
    let bouncer = PgBouncer::start(&test_support::server_url(), 2).await;
    every_route(Some(&bouncer)).await;
    assert!(
        !bouncer.log().contains("unsupported startup parameter"),
        "{}",
        bouncer.log()
    );
}

async fn every_route(through: Option<&PgBouncer>) {
    let spec: Value = serde_json::from_str(SPEC).expect("openapi.json is JSON");
    assert_eq!(spec["openapi"], "3.1.0");
    let paths = spec["paths"].as_object().expect("paths");
    assert!(paths.len() >= 12, "every route is documented");
    let mut checked = 0;
    for (template, item) in paths {
        for method in METHODS {
            let Some(operation) = item.get(method) else {
                // An undocumented method on a documented path: the route exists, the method not.
                let w = world(through).await;
                let reply = dispatch(&w.app, &request_for(&w, template, method)).await;
                assert_eq!(
                    reply.status,
                    405,
                    "{} {template}: {}",
                    method.to_uppercase(),
                    reply.body
                );
                continue;
            };
            let w = world(through).await;
            let responses = operation["responses"].as_object().expect("responses");
            let (status, documented) = responses
                .iter()
                .find(|(code, _)| code.starts_with('2'))
                .expect("a success response");
            let reply = dispatch(&w.app, &request_for(&w, template, method)).await;
            assert_eq!(
                reply.status.to_string(),
                *status,
                "{} {template}: {}",
                method.to_uppercase(),
                reply.body
            );
            assert_eq!(reply.headers["cache-control"], "no-store");
            let documented = resolve(&spec, documented);
            let schema = &documented["content"]["application/json"]["schema"];
            check(
                &spec,
                schema,
                &reply.body,
                &format!("{} {template}", method.to_uppercase()),
            );

            let public = operation
                .get("security")
                .and_then(Value::as_array)
                .is_some_and(Vec::is_empty);
            if !public {
                assert!(responses.contains_key("401"), "{template}: 401 documented");
                let mut anonymous = request_for(&w, template, method);
                anonymous.context = None;
                let reply = dispatch(&w.app, &anonymous).await;
                assert_eq!(
                    reply.status,
                    401,
                    "{} {template} anonymously",
                    method.to_uppercase()
                );
                check(
                    &spec,
                    &json!({"$ref": "#/components/schemas/Error"}),
                    &reply.body,
                    template,
                );
            }
            checked += 1;
        }
    }
    assert_eq!(checked, 20, "operations checked");
}
