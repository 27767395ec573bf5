//! Route authorization (`AUTHORIZER_ROUTES` with the app's roles from
//! `BETTER_AUTH_ACCESS_CONTROL`) against the real Better Auth: for every caller and every route
//! of an overlapping rule set, the authorizer's answer equals Better Auth's own
//! (`/admin/has-permission`, `/organization/has-permission`, the roles' `authorize` for `OR`
//! rules, `verifyApiKey({ permissions })` for keys), three ways:
//!
//! - the REST answer to that request (its policy evaluated for the request's method ARN);
//! - the REST policy of *each* request evaluated for every other listed route's method ARN (what
//!   API Gateway does with a policy cached for the token), with an IAM evaluator written here,
//!   apart from the authorizer's;
//! - the HTTP API 2.0 answer (`routeKey` the rule's route), and TOKEN events.
//!
//! Also: API keys' own permissions, organizations (a removed member, a forged active
//! organization, dynamic roles), a catch-all beside the root, unlisted routes, no rules at all,
//! bad settings, and the policy for 100 rules.

use std::path::Path;
use std::process::Command;

use auth_core::Authenticator;
use auth_core::ConfigError;
use authorizer::handler::handle_json;
use lambda_runtime::{Context, LambdaEvent};
use serde_json::{Value, json};
use test_support::better_auth::{
    BetterAuthServer, Credential, Profile, ServerOptions, SignedIn, harness_dir,
};
use test_support::events::{Shape, event, with_header};
use test_support::{NewUser, TestDb, Variant, random_token};

const SECRET: &str = "route-authorization-secret-0123456789abcdefg";
/// The method ARNs' stage prefix (`arn:…:api/stage/`).
const STAGE: &str = "arn:aws:execute-api:us-east-1:123456789012:api/stage/";

// ---------------------------------------------------------------------------------------------
// The rules and the requests API Gateway routes to each.

/// One rule of `AUTHORIZER_ROUTES`, and concrete requests (method, path) API Gateway routes to
/// it (single-segment parameter values; a greedy `{proxy+}` takes one or more).
struct Rule {
    route: &'static str,
    rule: Value,
    requests: Vec<(&'static str, &'static str)>,
}

/// Overlapping wildcards: `GET/orders/*` (from `GET /orders/{id}`) also covers
/// `GET /orders/17/audit`; `*/reports/*` (from `ANY /reports/{proxy+}`) covers
/// `GET /reports/summary` and, with `id` = `reports`, `GET /orders/{id}/audit` and
/// `POST /admin/users/{id}/ban`. The test app's roles (`tests/better-auth/access-control.mjs`):
/// `admin` may NOT ban, `support` may; `auditor` reads and exports reports.
fn rules() -> Vec<Rule> {
    let rule = |route: &'static str, mut body: Value, requests| {
        body["route"] = json!(route);
        Rule {
            route,
            rule: body,
            requests,
        }
    };
    vec![
        rule(
            "GET /orders",
            json!({"permissions": {"order": ["read"]}}),
            vec![("GET", "/orders")],
        ),
        rule(
            "GET /orders/{id}",
            json!({"permissions": {"order": ["read"]}}),
            vec![("GET", "/orders/17")],
        ),
        rule(
            "GET /orders/{id}/audit",
            json!({"permissions": {"report": ["export"]}}),
            vec![("GET", "/orders/17/audit")],
        ),
        rule(
            "DELETE /orders/{id}",
            json!({"permissions": {"order": ["delete"]}}),
            vec![("DELETE", "/orders/17")],
        ),
        rule(
            "PUT /orders/{id}",
            json!({"permissions": {"order": ["delete"], "user": ["ban"]}, "connector": "OR"}),
            vec![("PUT", "/orders/17")],
        ),
        rule(
            "POST /orders",
            json!({"permissions": {"order": ["create"]}}),
            vec![("POST", "/orders")],
        ),
        rule(
            "POST /orders/{id}/refund",
            json!({"permissions": {"order": ["read", "refund"]}}),
            vec![("POST", "/orders/17/refund")],
        ),
        rule(
            "ANY /reports/{proxy+}",
            json!({"permissions": {"report": ["read"], "order": ["refund"]}, "connector": "OR"}),
            vec![
                ("GET", "/reports/q3/eu"),
                ("DELETE", "/reports/q3"),
                ("POST", "/reports/2026/q3/eu"),
            ],
        ),
        rule(
            "GET /reports/summary",
            json!({"permissions": {"report": ["read", "export"]}}),
            vec![("GET", "/reports/summary")],
        ),
        rule(
            "GET /profile",
            json!({"authenticated": true}),
            vec![("GET", "/profile")],
        ),
        rule(
            "GET /admin/users",
            json!({"permissions": {"user": ["list"]}}),
            vec![("GET", "/admin/users")],
        ),
        rule(
            "POST /admin/users/{id}/ban",
            json!({"permissions": {"user": ["ban"]}}),
            vec![("POST", "/admin/users/u1/ban")],
        ),
        rule(
            "POST /org/invoices",
            json!({"organizationPermissions": {"invoice": ["create"]}}),
            vec![("POST", "/org/invoices")],
        ),
        rule(
            "GET /org/invoices/{id}",
            json!({"permissions": {"order": ["read"]}, "organizationPermissions": {"invoice": ["read"]}}),
            vec![("GET", "/org/invoices/inv-9")],
        ),
    ]
}

fn rules_json(rules: &[Rule]) -> String {
    Value::Array(rules.iter().map(|r| r.rule.clone()).collect()).to_string()
}

/// Every listed request: (rule index, method, path).
fn listed_requests(rules: &[Rule]) -> Vec<(usize, &'static str, &'static str)> {
    rules
        .iter()
        .enumerate()
        .flat_map(|(i, r)| r.requests.iter().map(move |(m, p)| (i, *m, *p)))
        .collect()
}

/// `BETTER_AUTH_ACCESS_CONTROL` as the documented tool prints it from the test app's module.
fn exported_access_control(admin_user_ids: &[&str]) -> String {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the repository");
    let mut command = Command::new("node");
    command
        .arg(root.join("tools/export-access-control.mjs"))
        .arg(harness_dir().join("access-control.mjs"))
        .current_dir(root);
    if !admin_user_ids.is_empty() {
        command.args(["--admin-user-ids", &admin_user_ids.join(",")]);
    }
    let output = command.output().expect("run node");
    assert!(
        output.status.success(),
        "export-access-control.mjs failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let text = String::from_utf8(output.stdout).expect("UTF-8");
    serde_json::from_str::<Value>(&text).expect("the export is JSON");
    text.trim().to_owned()
}

// ---------------------------------------------------------------------------------------------
// IAM, evaluated independently of the authorizer's code.

/// IAM's resource match: `*` any run of characters (`/` included), `?` exactly one. Dynamic
/// programming over prefixes (the authorizer backtracks; this does not).
fn iam_glob(pattern: &str, text: &str) -> bool {
    let t = text.as_bytes();
    // matched[j]: the pattern so far matches text[..j].
    let mut matched = vec![false; t.len() + 1];
    matched[0] = true;
    for &c in pattern.as_bytes() {
        let mut next = vec![false; t.len() + 1];
        if c == b'*' {
            let mut any = false;
            for j in 0..=t.len() {
                any |= matched[j];
                next[j] = any;
            }
        } else {
            for j in 1..=t.len() {
                next[j] = matched[j - 1] && (c == b'?' || c == t[j - 1]);
            }
        }
        matched = next;
    }
    matched[t.len()]
}

fn strings(value: &Value) -> Vec<String> {
    match value {
        Value::String(s) => vec![s.clone()],
        Value::Array(items) => items
            .iter()
            .map(|v| v.as_str().expect("a string").to_owned())
            .collect(),
        other => panic!("not a string or a list: {other}"),
    }
}

/// How API Gateway applies an authorizer's REST policy to `arn`: an explicit Deny wins, then
/// any Allow; nothing matching is an implicit deny.
fn policy_allows(answer: &Value, arn: &str) -> bool {
    let statements = answer["policyDocument"]["Statement"]
        .as_array()
        .unwrap_or_else(|| panic!("not a policy: {answer}"));
    let mut allowed = false;
    for statement in statements {
        let invokes = strings(&statement["Action"])
            .iter()
            .any(|a| iam_glob(&a.to_ascii_lowercase(), "execute-api:invoke"));
        let hit = invokes
            && strings(&statement["Resource"])
                .iter()
                .any(|r| iam_glob(r, arn));
        match statement["Effect"].as_str() {
            Some("Deny") if hit => return false,
            Some("Allow") if hit => allowed = true,
            Some("Allow" | "Deny") => {}
            other => panic!("an effect of {other:?}"),
        }
    }
    allowed
}

/// The resources' bytes in the document, as `policy.rs` counts them (quotes and comma).
fn resource_bytes(answer: &Value) -> usize {
    answer["policyDocument"]["Statement"]
        .as_array()
        .expect("statements")
        .iter()
        .flat_map(|s| strings(&s["Resource"]))
        .map(|r| r.len() + 3)
        .sum()
}

fn arn(method: &str, path: &str) -> String {
    format!("{STAGE}{method}{path}")
}

// ---------------------------------------------------------------------------------------------
// Events.

/// How a caller presents themselves.
#[derive(Clone)]
enum Who {
    /// A Better Auth session (cookie for REST REQUEST and HTTP API, bearer for TOKEN).
    Session(SignedIn),
    /// An API key in `x-api-key`.
    ApiKey(String),
}

fn with_credential(shape: Shape, who: &Who) -> Value {
    match who {
        Who::Session(s) if shape == Shape::RestToken => {
            event(shape, Some(&format!("Bearer {}", s.token)), None)
        }
        Who::Session(s) => event(shape, None, Some(&s.cookie)),
        Who::ApiKey(key) => with_header(shape, event(shape, None, None), "x-api-key", key),
    }
}

fn rest_event(shape: Shape, who: &Who, method: &str, path: &str) -> Value {
    let mut e = with_credential(shape, who);
    e["methodArn"] = json!(arn(method, path));
    if shape == Shape::RestRequest {
        e["httpMethod"] = json!(method);
        e["path"] = json!(path);
        e["requestContext"]["httpMethod"] = json!(method);
        e["requestContext"]["path"] = json!(format!("/stage{path}"));
        e["requestContext"]["stage"] = json!("stage");
        e["requestContext"]["apiId"] = json!("api");
    }
    e
}

fn http_event(who: &Who, route_key: &str, method: &str, path: &str) -> Value {
    let mut e = with_credential(Shape::HttpV2, who);
    e["routeKey"] = json!(route_key);
    e["routeArn"] = json!(arn(method, path));
    e["rawPath"] = json!(path);
    e["rawQueryString"] = json!("");
    e["requestContext"]["routeKey"] = json!(route_key);
    e["requestContext"]["stage"] = json!("stage");
    e["requestContext"]["http"]["method"] = json!(method);
    e["requestContext"]["http"]["path"] = json!(path);
    e
}

/// The authorizer's answer (a signed-in caller always gets one: a policy or a simple response).
async fn answer(auth: &Authenticator, event: Value) -> Value {
    match handle_json(auth, LambdaEvent::new(event, Context::default())).await {
        Ok(answer) => answer,
        Err(error) => panic!("the authorizer answered {error:?}"),
    }
}

/// The authorizer's three answers for one request to `rule` (REST REQUEST policy, HTTP API
/// `isAuthorized`, TOKEN policy).
struct Answers {
    request_policy: Value,
    http: bool,
    token_policy: Value,
}

async fn answers(
    auth: &Authenticator,
    token_auth: &Authenticator,
    who: &Who,
    route: &str,
    method: &str,
    path: &str,
) -> Answers {
    let request_policy = answer(auth, rest_event(Shape::RestRequest, who, method, path)).await;
    let http = answer(auth, http_event(who, route, method, path)).await;
    let token_policy = answer(token_auth, rest_event(Shape::RestToken, who, method, path)).await;
    Answers {
        request_policy,
        http: http["isAuthorized"]
            .as_bool()
            .unwrap_or_else(|| panic!("not a simple response: {http}")),
        token_policy,
    }
}

/// Compares the authorizer with `expected[rule]` for every listed request, three ways, and
/// every request's REST policy against every other listed request. Returns the disagreements
/// and the number of decisions compared.
async fn compare_all(
    auth: &Authenticator,
    token_auth: &Authenticator,
    rules: &[Rule],
    caller: &str,
    who: &Who,
    expected: &[bool],
) -> (Vec<String>, usize) {
    let requests = listed_requests(rules);
    let mut wrong = Vec::new();
    let mut compared = 0;
    for &(rule, method, path) in &requests {
        let route = rules[rule].route;
        let want = expected[rule];
        let got = answers(auth, token_auth, who, route, method, path).await;
        let here = arn(method, path);
        for (way, decided) in [
            ("REST REQUEST", policy_allows(&got.request_policy, &here)),
            ("HTTP API", got.http),
            ("TOKEN", policy_allows(&got.token_policy, &here)),
        ] {
            compared += 1;
            if decided != want {
                wrong.push(format!(
                    "{caller} {method} {path} ({route}) {way}: ours {decided}, Better Auth {want}"
                ));
            }
        }
        // The policy API Gateway caches for this caller after this request, applied to every
        // other listed request.
        for (name, policy) in [
            ("REST REQUEST", &got.request_policy),
            ("TOKEN", &got.token_policy),
        ] {
            for &(other, m, p) in &requests {
                compared += 1;
                let decided = policy_allows(policy, &arn(m, p));
                if decided != expected[other] {
                    wrong.push(format!(
                        "{caller}: the {name} policy from {method} {path} says {decided} for {m} {p} \
                         ({}), Better Auth {}: {policy}",
                        rules[other].route, expected[other]
                    ));
                }
            }
        }
    }
    (wrong, compared)
}

// ---------------------------------------------------------------------------------------------
// Better Auth's side.

fn email(name: &str) -> String {
    format!(
        "{name}-{}@example.com",
        random_token(8).to_ascii_lowercase()
    )
}

fn cookie(s: &SignedIn) -> Credential {
    Credential::Cookie(s.cookie.clone())
}

fn options(api_keys: bool) -> ServerOptions {
    let mut options = ServerOptions::new(Profile::Default, SECRET);
    options.access_control = true;
    options.api_keys = api_keys;
    options
}

/// A caller as Better Auth sees them.
struct Caller {
    name: &'static str,
    session: SignedIn,
    /// In `adminUserIds`.
    admin_id: bool,
}

/// The admin plugin's answer for this caller, as Better Auth decides it: `/admin/has-permission`
/// as the caller (Better Auth's endpoint takes no connector: `OR` rules ask the roles'
/// `authorize` through the test route with the role Better Auth holds, or its `defaultRole`;
/// an `adminUserIds` id is answered before any role or connector is looked at).
async fn admin_permission(
    ba: &BetterAuthServer,
    caller: &Caller,
    permissions: &Value,
    connector: &str,
    default_role: &str,
) -> bool {
    if connector == "AND" || caller.admin_id {
        let reply = ba
            .post(
                "/admin/has-permission",
                json!({ "permissions": permissions }),
                Some(&cookie(&caller.session)),
            )
            .await;
        assert_eq!(reply.status, 200, "has-permission: {}", reply.body);
        return reply.body["success"].as_bool().expect("success");
    }
    let session = ba
        .get_session(&cookie(&caller.session))
        .await
        .expect("signed in");
    let role = session["user"]["role"]
        .as_str()
        .filter(|r| !r.is_empty())
        .unwrap_or(default_role)
        .to_owned();
    ba.authorize_role(&role, permissions, connector, false)
        .await
}

/// The organization plugin's answer: `/organization/has-permission` with the caller's session
/// (its active organization); refused (400 no active organization, 401/403 not a member) is
/// false.
async fn organization_permission(
    ba: &BetterAuthServer,
    who: &SignedIn,
    permissions: &Value,
) -> bool {
    let reply = ba
        .post(
            "/organization/has-permission",
            json!({ "permissions": permissions }),
            Some(&cookie(who)),
        )
        .await;
    match reply.status {
        200 => reply.body["success"].as_bool().expect("success"),
        400 | 401 | 403 => false,
        other => panic!(
            "organization/has-permission answered {other}: {}",
            reply.body
        ),
    }
}

/// Better Auth's decision for `rule`: `authenticated` → any signed-in caller; `permissions`
/// and `organizationPermissions` must both hold when both are given.
async fn better_auths_decision(
    ba: &BetterAuthServer,
    caller: &Caller,
    rule: &Value,
    default_role: &str,
) -> bool {
    if rule["authenticated"] == json!(true) {
        return true;
    }
    let connector = rule["connector"].as_str().unwrap_or("AND");
    if let Some(permissions) = rule.get("permissions")
        && !admin_permission(ba, caller, permissions, connector, default_role).await
    {
        return false;
    }
    if let Some(permissions) = rule.get("organizationPermissions") {
        assert_eq!(
            connector, "AND",
            "the organization endpoint takes no connector"
        );
        return organization_permission(ba, &caller.session, permissions).await;
    }
    true
}

async fn set_role(ba: &BetterAuthServer, by: &SignedIn, user: &SignedIn, role: Value) {
    ba.post_ok(
        "/admin/set-role",
        json!({"userId": user.user_id, "role": role}),
        &cookie(by),
    )
    .await;
}

async fn set_role_in_database(db: &TestDb, user: &SignedIn, role: Option<&str>) {
    db.execute(
        "UPDATE \"user\" SET role = $1 WHERE id = $2",
        &[&role, &user.user_id],
    )
    .await;
}

/// `who` joins `organization` as `role` by invitation (accepting makes it the session's active
/// organization).
async fn join(
    ba: &BetterAuthServer,
    owner: &SignedIn,
    organization: &str,
    who: &SignedIn,
    who_email: &str,
    role: &str,
) {
    let invitation = ba
        .post_ok(
            "/organization/invite-member",
            json!({"email": who_email, "role": role, "organizationId": organization}),
            &cookie(owner),
        )
        .await;
    ba.post_ok(
        "/organization/accept-invitation",
        json!({"invitationId": invitation["id"].clone()}),
        &cookie(who),
    )
    .await;
}

async fn create_organization(ba: &BetterAuthServer, owner: &SignedIn, name: &str) -> String {
    let slug = format!("{}-{}", name.to_lowercase(), random_token(6).to_lowercase());
    let created = ba
        .post_ok(
            "/organization/create",
            json!({"name": name, "slug": slug}),
            &cookie(owner),
        )
        .await;
    created["id"].as_str().expect("organization id").to_owned()
}

fn authenticator(db: &TestDb, extra: &[(&str, &str)]) -> Authenticator {
    test_support::authenticator(&db.url, SECRET, extra)
}

// ---------------------------------------------------------------------------------------------
// 1. Every user × route.

/// Every caller × every route of the overlapping rule set, three ways (REST REQUEST, HTTP API
/// 2.0, TOKEN), equal to Better Auth's own decision; and each request's REST policy, as API
/// Gateway would cache it for the token, answers every other listed route as Better Auth does.
/// Callers signed up through Better Auth: roles `admin` (no ban in this app), `support`,
/// `auditor`, `user`, `auditor,support`, none (→ `defaultRole`), an unknown one, `support, auditor`
/// (not trimmed: ` auditor` is no role) and an `adminUserIds` id; members of an organization as
/// `owner`, `accountant`, `member`, `admin` and `member, accountant` (trimmed).
#[tokio::test]
async fn every_user_on_every_route_is_decided_as_better_auth_decides() {
    let db = Profile::Default.database().await;
    // adminUserIds is the server's configuration: sign the boss up first, then restart with it.
    let first = BetterAuthServer::start(&db, options(false)).await;
    let boss_email = email("boss");
    let boss = first.sign_up(&boss_email).await;
    drop(first);
    let mut with_boss = options(false);
    with_boss.admin_user_ids = vec![boss.user_id.clone()];
    let ba = BetterAuthServer::start(&db, with_boss).await;

    let mut emails = Vec::new();
    let mut sign_up = async |name: &'static str| {
        let address = email(name);
        let session = ba.sign_up(&address).await;
        emails.push((name, address));
        session
    };
    let admin = sign_up("admin").await;
    let support = sign_up("support").await;
    let auditor = sign_up("auditor").await;
    let user = sign_up("user").await;
    let both = sign_up("both").await;
    let nobody = sign_up("norole").await;
    let stranger = sign_up("stranger").await;
    let spaced = sign_up("spaced").await;
    let email_of = |name: &str| {
        emails
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, e)| e.clone())
            .expect("signed up")
    };
    // Roles set through Better Auth by the adminUserIds boss (whose own role stays `user`).
    set_role(&ba, &boss, &admin, json!("admin")).await;
    set_role(&ba, &boss, &support, json!("support")).await;
    set_role(&ba, &boss, &auditor, json!("auditor")).await;
    set_role(&ba, &boss, &both, json!(["auditor", "support"])).await;
    // Better Auth refuses to set these two; a database can hold them all the same.
    set_role_in_database(&db, &nobody, None).await;
    set_role_in_database(&db, &stranger, Some("intern")).await;
    // Split on "," without trimming by the admin plugin: the roles `support` and ` auditor`.
    set_role_in_database(&db, &spaced, Some("support, auditor")).await;
    let refused = ba
        .post(
            "/admin/set-role",
            json!({"userId": stranger.user_id, "role": "intern"}),
            Some(&cookie(&boss)),
        )
        .await;
    assert_eq!(refused.status, 400, "{}", refused.body);

    // An organization: the boss owns it (active); others join by invitation.
    let acme = create_organization(&ba, &boss, "Acme").await;
    join(&ba, &boss, &acme, &user, &email_of("user"), "accountant").await;
    join(&ba, &boss, &acme, &support, &email_of("support"), "member").await;
    join(&ba, &boss, &acme, &auditor, &email_of("auditor"), "admin").await;
    // Trimmed by the organization plugin: `member` and `accountant`.
    join(&ba, &boss, &acme, &spaced, &email_of("spaced"), "member").await;
    db.execute(
        "UPDATE member SET role = 'member, accountant' WHERE \"userId\" = $1",
        &[&spaced.user_id],
    )
    .await;

    let callers = [
        ("boss (adminUserIds, role user, org owner)", boss, true),
        ("admin", admin, false),
        ("support (org member)", support, false),
        ("auditor (org admin)", auditor, false),
        ("user (org accountant)", user, false),
        ("auditor,support", both, false),
        ("no role", nobody, false),
        ("unknown role", stranger, false),
        (
            "\"support, auditor\" (org \"member, accountant\")",
            spaced,
            false,
        ),
    ]
    .map(|(name, session, admin_id)| Caller {
        name,
        session,
        admin_id,
    });

    let access_control = exported_access_control(&[&callers[0].session.user_id]);
    let default_role = serde_json::from_str::<Value>(&access_control).expect("JSON")["defaultRole"]
        .as_str()
        .unwrap_or("user")
        .to_owned();
    let rules = rules();
    let routes = rules_json(&rules);
    let settings = [
        ("BETTER_AUTH_ACCESS_CONTROL", access_control.as_str()),
        ("AUTHORIZER_ROUTES", routes.as_str()),
    ];
    let auth = authenticator(&db, &settings);

    let mut wrong = Vec::new();
    let mut compared = 0;
    let mut matrix = Vec::new();
    for caller in &callers {
        let mut expected = Vec::new();
        for rule in &rules {
            expected.push(better_auths_decision(&ba, caller, &rule.rule, &default_role).await);
        }
        let who = Who::Session(caller.session.clone());
        let (w, n) = compare_all(&auth, &auth, &rules, caller.name, &who, &expected).await;
        wrong.extend(w);
        compared += n;
        matrix.push(expected);
    }

    // Better Auth's answers are the app's roles, not a blanket yes or no.
    let at = |caller: usize, route: &str| {
        matrix[caller][rules.iter().position(|r| r.route == route).expect("rule")]
    };
    let ban = "POST /admin/users/{id}/ban";
    assert!(!at(1, ban), "admin may not ban in this app");
    assert!(at(2, ban) && at(5, ban) && at(0, ban));
    assert!(at(3, "GET /reports/summary") && !at(1, "GET /reports/summary"));
    assert!(
        at(2, "ANY /reports/{proxy+}"),
        "support: order:refund, under OR"
    );
    assert!(!at(4, "ANY /reports/{proxy+}") && !at(7, "GET /orders"));
    assert!(at(6, "POST /orders"), "no role: defaultRole user");
    assert!(
        at(8, ban) && !at(8, "GET /reports/summary"),
        "\" auditor\" is no role"
    );
    assert!(at(8, "POST /org/invoices"), "\" accountant\" is trimmed");
    assert!(at(4, "POST /org/invoices") && !at(2, "POST /org/invoices"));
    assert!(!at(1, "POST /org/invoices"), "no active organization");
    assert!(
        callers
            .iter()
            .enumerate()
            .all(|(i, _)| at(i, "GET /profile"))
    );

    let requests = listed_requests(&rules).len();
    println!(
        "route_authorization: {} callers × {requests} requests ({} rules): {compared} decisions \
         compared with Better Auth",
        callers.len(),
        rules.len()
    );
    assert!(
        wrong.is_empty(),
        "{} disagreements:\n{}",
        wrong.len(),
        wrong.join("\n")
    );
}

// ---------------------------------------------------------------------------------------------
// 2. API keys.

/// An API key grants what its owner's role grants AND what its own `permissions` grant (the
/// api-key plugin's `verifyApiKey({ permissions })`): a key with `order:read` of an `admin`
/// (whose role may delete orders) reads orders and deletes none; a key without permissions
/// passes only `authenticated` routes; no key confirms an organization. Each answer equals
/// Better Auth's: `/admin/has-permission` for the owner, `verifyApiKey` for the key.
#[tokio::test]
async fn api_keys_grant_their_own_permissions_and_no_more() {
    let db = Profile::Default.database().await;
    let ba = BetterAuthServer::start(&db, options(true)).await;
    let ada = ba.sign_up(&email("ada")).await;
    set_role_in_database(&db, &ada, Some("admin")).await;
    let owner = Caller {
        name: "ada",
        session: ada.clone(),
        admin_id: false,
    };
    let make_key = async |extra: Value| {
        let mut body = json!({"userId": ada.user_id, "name": "k", "rateLimitEnabled": false});
        if let (Some(body), Some(extra)) = (body.as_object_mut(), extra.as_object()) {
            body.extend(extra.clone());
        }
        let made = ba.create_api_key(body).await;
        made["key"].as_str().expect("key").to_owned()
    };
    let reader = make_key(json!({"permissions": {"order": ["read"]}})).await;
    let bare = make_key(json!({})).await;

    let rules = rules();
    let routes = rules_json(&rules);
    let access_control = exported_access_control(&[]);
    let mut settings = vec![
        ("BETTER_AUTH_ACCESS_CONTROL", access_control.as_str()),
        ("AUTHORIZER_ROUTES", routes.as_str()),
    ];
    let keys_only = {
        let mut s = settings.clone();
        s.push(("BETTER_AUTH_METHODS", "api-key"));
        authenticator(&db, &s)
    };
    settings.push(("BETTER_AUTH_METHODS", "api-key,session"));
    let auth = authenticator(&db, &settings);

    let mut wrong = Vec::new();
    let mut compared = 0;
    let mut decided = Vec::new();
    for (name, key) in [
        ("order:read key", &reader),
        ("key without permissions", &bare),
    ] {
        let mut expected = Vec::new();
        for rule in &rules {
            let r = &rule.rule;
            let want = if r["authenticated"] == json!(true) {
                true
            } else if r.get("organizationPermissions").is_some() {
                // A key acts for its user in no organization.
                false
            } else {
                let permissions = &r["permissions"];
                let connector = r["connector"].as_str().unwrap_or("AND");
                let role_grants =
                    admin_permission(&ba, &owner, permissions, connector, "user").await;
                // verifyApiKey checks every resource (AND); under OR one resource suffices.
                let key_grants = if connector == "AND" {
                    ba.verify_api_key_for(key, permissions).await["valid"] == json!(true)
                } else {
                    let mut any = false;
                    for (resource, actions) in permissions.as_object().expect("object") {
                        let one = json!({ resource: actions });
                        any |= ba.verify_api_key_for(key, &one).await["valid"] == json!(true);
                    }
                    any
                };
                role_grants && key_grants
            };
            expected.push(want);
        }
        let who = Who::ApiKey(key.clone());
        let (w, n) = compare_all(&auth, &keys_only, &rules, name, &who, &expected).await;
        wrong.extend(w);
        compared += n;
        decided.push(expected);
    }
    let at = |key: usize, route: &str| {
        decided[key][rules.iter().position(|r| r.route == route).expect("rule")]
    };
    assert!(at(0, "GET /orders/{id}") && !at(0, "DELETE /orders/{id}"));
    assert!(at(0, "GET /profile") && !at(0, "POST /org/invoices"));
    for rule in rules.iter().filter(|r| r.rule.get("permissions").is_some()) {
        assert!(!at(1, rule.route), "a bare key: {}", rule.route);
    }
    assert!(at(1, "GET /profile"));
    // The owner's own session may delete: the key's permissions, not the role, refuse it.
    let session = Who::Session(ada.clone());
    let deleting = answer(
        &auth,
        rest_event(Shape::RestRequest, &session, "DELETE", "/orders/17"),
    )
    .await;
    assert!(policy_allows(&deleting, &arn("DELETE", "/orders/17")));
    println!(
        "route_authorization: 2 API keys × {} requests: {compared} decisions compared",
        listed_requests(&rules).len()
    );
    assert!(
        wrong.is_empty(),
        "{} disagreements:\n{}",
        wrong.len(),
        wrong.join("\n")
    );
}

// ---------------------------------------------------------------------------------------------
// 3. Organizations.

/// `organizationPermissions` hold only in a confirmed active organization: an accountant may
/// create invoices; a plain member may not (`missing_permission`); a member removed through
/// Better Auth, and a session whose `activeOrganizationId` is forged to an organization the
/// user is not a member of, are refused (`no_active_organization`), as Better Auth's
/// `/organization/has-permission` refuses them. Their `authenticated` routes stay open.
#[tokio::test]
async fn organization_permissions_need_a_confirmed_membership() {
    let db = Profile::Default.database().await;
    let ba = BetterAuthServer::start(&db, options(false)).await;
    let boss = ba.sign_up(&email("owner")).await;
    let (anna_email, mark_email) = (email("anna"), email("mark"));
    let anna = ba.sign_up(&anna_email).await;
    let mark = ba.sign_up(&mark_email).await;
    let acme = create_organization(&ba, &boss, "Acme").await;
    let other = create_organization(&ba, &boss, "Other").await;
    join(&ba, &boss, &acme, &anna, &anna_email, "accountant").await;
    join(&ba, &boss, &acme, &mark, &mark_email, "member").await;

    let rules = rules();
    let routes = rules_json(&rules);
    let access_control = exported_access_control(&[]);
    let auth = authenticator(
        &db,
        &[
            ("BETTER_AUTH_ACCESS_CONTROL", access_control.as_str()),
            ("AUTHORIZER_ROUTES", routes.as_str()),
        ],
    );
    let create = json!({"invoice": ["create"]});
    let read = json!({"invoice": ["read"]});

    // What Better Auth and we decide for POST /org/invoices and GET /org/invoices/{id}, and the
    // reason we log when we refuse.
    let decide = async |who: &SignedIn| {
        let theirs = (
            organization_permission(&ba, who, &create).await,
            organization_permission(&ba, who, &read).await,
        );
        let session = Who::Session(who.clone());
        let (guard, logs) = test_support::logs::capture();
        let mut ours = Vec::new();
        for (route, method, path) in [
            ("POST /org/invoices", "POST", "/org/invoices"),
            ("GET /org/invoices/{id}", "GET", "/org/invoices/inv-9"),
            ("GET /profile", "GET", "/profile"),
        ] {
            let got = answers(&auth, &auth, &session, route, method, path).await;
            let here = arn(method, path);
            let rest = policy_allows(&got.request_policy, &here);
            let token = policy_allows(&got.token_policy, &here);
            assert_eq!(
                (rest, token),
                (got.http, got.http),
                "{path}: the three ways agree"
            );
            ours.push(rest);
        }
        drop(guard);
        (theirs, (ours[0], ours[1]), ours[2], logs.text())
    };

    let (theirs, ours, profile, _) = decide(&anna).await;
    assert_eq!(
        theirs,
        (true, true),
        "Better Auth: an accountant creates and reads"
    );
    assert_eq!(ours, theirs);
    assert!(profile);
    let (theirs, ours, profile, logs) = decide(&mark).await;
    assert_eq!(theirs, (false, true), "Better Auth: a member reads only");
    assert_eq!(ours, theirs);
    assert!(profile);
    assert!(logs.contains("missing_permission"), "{logs}");

    // Removed through Better Auth: the session still points at Acme.
    ba.post_ok(
        "/organization/remove-member",
        json!({"memberIdOrEmail": anna_email, "organizationId": acme}),
        &cookie(&boss),
    )
    .await;
    let pointer = ba.get_session(&cookie(&anna)).await.expect("signed in");
    assert_eq!(pointer["session"]["activeOrganizationId"], json!(acme));
    let (theirs, ours, profile, logs) = decide(&anna).await;
    assert_eq!(theirs, (false, false), "Better Auth: no longer a member");
    assert_eq!(ours, theirs);
    assert!(profile, "still signed in");
    assert!(logs.contains("no_active_organization"), "{logs}");
    assert!(!logs.contains("missing_permission"), "{logs}");

    // Forged: Mark's session pointed at an organization he is not a member of.
    db.execute(
        "UPDATE session SET \"activeOrganizationId\" = $1 WHERE token = $2",
        &[&other, &mark.token],
    )
    .await;
    let (theirs, ours, profile, logs) = decide(&mark).await;
    assert_eq!(theirs, (false, false), "Better Auth: not a member of Other");
    assert_eq!(ours, theirs);
    assert!(profile);
    assert!(logs.contains("no_active_organization"), "{logs}");
}

/// Better Auth's dynamic access control: roles an organization defines (`organizationRole`
/// rows made through `/organization/create-role`) grant what they say, and a row named like a
/// static role adds to it, as the organization plugin merges them; a member's role changed
/// through Better Auth changes the answer (roles read fresh:
/// `BETTER_AUTH_ORGANIZATION_ROLES_CACHE_TTL_MS=0`). Each answer equals Better Auth's
/// `/organization/has-permission`, in all three event shapes.
#[tokio::test]
async fn dynamic_organization_roles_grant_as_better_auth_merges_them() {
    let db = Profile::Default.database().await;
    let ba = BetterAuthServer::start(&db, options(false)).await;
    let boss = ba.sign_up(&email("owner")).await;
    let mark_email = email("mark");
    let mark = ba.sign_up(&mark_email).await;
    let acme = create_organization(&ba, &boss, "Acme").await;
    join(&ba, &boss, &acme, &mark, &mark_email, "member").await;
    let caller = Caller {
        name: "mark",
        session: mark.clone(),
        admin_id: false,
    };
    let rule = |route: &'static str, mut body: Value, requests| {
        body["route"] = json!(route);
        Rule {
            route,
            rule: body,
            requests,
        }
    };
    let rules = vec![
        rule(
            "POST /org/invoices",
            json!({"organizationPermissions": {"invoice": ["create"]}}),
            vec![("POST", "/org/invoices")],
        ),
        rule(
            "GET /org/invoices/{id}",
            json!({"permissions": {"order": ["read"]}, "organizationPermissions": {"invoice": ["read"]}}),
            vec![("GET", "/org/invoices/inv-9")],
        ),
        rule(
            "PATCH /org/projects/{id}",
            json!({"organizationPermissions": {"project": ["update"]}}),
            vec![("PATCH", "/org/projects/p1")],
        ),
    ];
    let routes = rules_json(&rules);
    let access_control = exported_access_control(&[]);
    let auth = authenticator(
        &db,
        &[
            ("BETTER_AUTH_ACCESS_CONTROL", access_control.as_str()),
            ("AUTHORIZER_ROUTES", routes.as_str()),
            ("BETTER_AUTH_ORGANIZATION_ROLES_CACHE_TTL_MS", "0"),
        ],
    );
    let who = Who::Session(mark.clone());
    let check = async |case: &str| {
        let mut expected = Vec::new();
        for rule in &rules {
            expected.push(better_auths_decision(&ba, &caller, &rule.rule, "user").await);
        }
        let (wrong, _) = compare_all(&auth, &auth, &rules, case, &who, &expected).await;
        assert!(
            wrong.is_empty(),
            "{} disagreements:\n{}",
            wrong.len(),
            wrong.join("\n")
        );
        expected
    };
    assert_eq!(check("static member").await, [false, true, false]);

    // A role of the organization's own; and a row adding to the static `member`, which
    // Better Auth's create-role refuses to make (the name is taken) but merges when it exists.
    ba.post_ok(
        "/organization/create-role",
        json!({"role": "biller", "permission": {"invoice": ["create"]}, "organizationId": acme}),
        &cookie(&boss),
    )
    .await;
    let taken = ba
        .post(
            "/organization/create-role",
            json!({"role": "member", "permission": {"project": ["update"]}, "organizationId": acme}),
            Some(&cookie(&boss)),
        )
        .await;
    assert_eq!(taken.status, 400, "{}", taken.body);
    db.execute(
        "INSERT INTO \"organizationRole\" (id, \"organizationId\", role, permission, \"createdAt\") \
         VALUES ($1, $2, 'member', '{\"project\": [\"update\"]}', now())",
        &[&random_token(24), &acme],
    )
    .await;
    let rows: i64 = db
        .client
        .query_one(
            "SELECT count(*) FROM \"organizationRole\" WHERE \"organizationId\" = $1",
            &[&acme],
        )
        .await
        .expect("count organizationRole")
        .get(0);
    assert_eq!(rows, 2);
    assert_eq!(
        check("member with a dynamic row").await,
        [false, true, true]
    );

    // Made a biller through Better Auth.
    let member = ba
        .get("/organization/get-active-member", &cookie(&mark))
        .await;
    assert_eq!(member.status, 200, "{}", member.body);
    ba.post_ok(
        "/organization/update-member-role",
        json!({"memberId": member.body["id"], "role": "biller", "organizationId": acme}),
        &cookie(&boss),
    )
    .await;
    assert_eq!(check("dynamic biller").await, [true, false, false]);
}

// ---------------------------------------------------------------------------------------------
// 4. Unlisted routes; no rules.

/// A route the rules do not list is refused (REST: the policy does not allow its ARN; HTTP
/// API: `isAuthorized: false`), logged `route_not_listed`, even for a caller the listed routes
/// allow. Without `AUTHORIZER_ROUTES` nothing changes: one wildcard Allow for the stage, every
/// route open to any signed-in caller (roles set or not).
#[tokio::test]
async fn unlisted_routes_are_refused_and_no_rules_allow_every_route() {
    let db = Profile::Default.database().await;
    let ba = BetterAuthServer::start(&db, options(false)).await;
    let ada = ba.sign_up(&email("ada")).await;
    set_role_in_database(&db, &ada, Some("admin")).await;
    let who = Who::Session(ada.clone());
    let rules = rules();
    let routes = rules_json(&rules);
    let access_control = exported_access_control(&[]);
    let auth = authenticator(
        &db,
        &[
            ("BETTER_AUTH_ACCESS_CONTROL", access_control.as_str()),
            ("AUTHORIZER_ROUTES", routes.as_str()),
        ],
    );
    let listed = answers(&auth, &auth, &who, "GET /orders", "GET", "/orders").await;
    assert!(listed.http && policy_allows(&listed.request_policy, &arn("GET", "/orders")));

    let unlisted = [
        ("GET /nowhere", "GET", "/nowhere"),
        ("PATCH /orders/{id}", "PATCH", "/orders/17"),
        ("POST /reports", "POST", "/reports"),
        ("GET /admin", "GET", "/admin"),
        ("GET /", "GET", "/"),
        // Under the caller's `GET/orders/*`, with IAM's wildcard in the path itself.
        ("GET /orders/{id}/x", "GET", "/orders/*/x"),
        ("GET /orders/{id}", "GET", "/orders/17"),
    ];
    let (guard, logs) = test_support::logs::capture();
    for (route, method, path) in unlisted {
        let here = arn(method, path);
        if route == "GET /orders/{id}" {
            // Listed, but an HTTP API route key that is not ours (`$default`) is no rule.
            let http = answer(&auth, http_event(&who, "$default", method, path)).await;
            assert_eq!(http["isAuthorized"], json!(false), "$default");
            continue;
        }
        let got = answers(&auth, &auth, &who, route, method, path).await;
        assert!(
            !policy_allows(&got.request_policy, &here),
            "{route}: {}",
            got.request_policy
        );
        assert!(!policy_allows(&got.token_policy, &here), "{route}");
        assert!(!got.http, "{route}");
    }
    drop(guard);
    assert!(logs.text().contains("route_not_listed"), "{}", logs.text());

    // No AUTHORIZER_ROUTES: today's answer, with or without the app's roles.
    for settings in [
        vec![],
        vec![("BETTER_AUTH_ACCESS_CONTROL", access_control.as_str())],
    ] {
        let open = authenticator(&db, &settings);
        for (route, method, path) in
            unlisted
                .iter()
                .chain(&[("DELETE /orders/{id}", "DELETE", "/orders/17")])
        {
            let got = answers(&open, &open, &who, route, method, path).await;
            for policy in [&got.request_policy, &got.token_policy] {
                let statements = &policy["policyDocument"]["Statement"];
                assert_eq!(
                    statements,
                    &json!([{"Action": ["execute-api:Invoke"], "Effect": "Allow", "Resource": [format!("{STAGE}*/*")]}]),
                    "{route}"
                );
                assert_eq!(policy["context"]["userId"], json!(ada.user_id));
            }
            assert!(got.http, "{route}");
        }
    }
}

/// A catch-all (`ANY /{proxy+}`, any signed-in caller) beside root routes that need
/// permissions: the root's method ARN is `GET/`, which the catch-all's `*/*` covers although
/// `{proxy+}` never takes the root. A cached policy must refuse `GET /` and `POST /` to a caller
/// Better Auth refuses them (it allowed both: every caller of the catch-all could call the
/// root for the cache's lifetime), and allow them to one it allows.
#[tokio::test]
async fn a_catch_all_route_does_not_open_the_root() {
    let db = Profile::Default.database().await;
    let ba = BetterAuthServer::start(&db, options(false)).await;
    let mut callers = Vec::new();
    for (name, role) in [("user", "user"), ("admin", "admin"), ("support", "support")] {
        let session = ba.sign_up(&email(name)).await;
        set_role_in_database(&db, &session, Some(role)).await;
        callers.push(Caller {
            name,
            session,
            admin_id: false,
        });
    }
    let rule = |route: &'static str, mut body: Value, requests| {
        body["route"] = json!(route);
        Rule {
            route,
            rule: body,
            requests,
        }
    };
    let rules = vec![
        rule(
            "ANY /{proxy+}",
            json!({"authenticated": true}),
            vec![("GET", "/orders"), ("POST", "/a/b")],
        ),
        rule(
            "GET /",
            json!({"permissions": {"user": ["list"]}}),
            vec![("GET", "/")],
        ),
        rule(
            "POST /",
            json!({"permissions": {"order": ["delete"]}}),
            vec![("POST", "/")],
        ),
    ];
    let routes = rules_json(&rules);
    let access_control = exported_access_control(&[]);
    let auth = authenticator(
        &db,
        &[
            ("BETTER_AUTH_ACCESS_CONTROL", access_control.as_str()),
            ("AUTHORIZER_ROUTES", routes.as_str()),
        ],
    );
    let mut wrong = Vec::new();
    let mut matrix = Vec::new();
    for caller in &callers {
        let mut expected = Vec::new();
        for rule in &rules {
            expected.push(better_auths_decision(&ba, caller, &rule.rule, "user").await);
        }
        let who = Who::Session(caller.session.clone());
        wrong.extend(
            compare_all(&auth, &auth, &rules, caller.name, &who, &expected)
                .await
                .0,
        );
        matrix.push(expected);
    }
    assert_eq!(
        matrix,
        [
            [true, false, false],
            [true, true, true],
            [true, true, false]
        ],
        "Better Auth: user, admin, support"
    );
    assert!(
        wrong.is_empty(),
        "{} disagreements:\n{}",
        wrong.len(),
        wrong.join("\n")
    );
}

// ---------------------------------------------------------------------------------------------
// 5. Bad settings.

/// Malformed `AUTHORIZER_ROUTES` or `BETTER_AUTH_ACCESS_CONTROL` stops the start with an error
/// naming the variable (through `Config::from_lookup` and `auth_core::aws::config_from_lookup`):
/// no authenticator, so never an Allow.
#[tokio::test]
async fn malformed_rules_or_roles_stop_the_start_naming_the_variable() {
    let good_roles = exported_access_control(&[]);
    let good_routes = rules_json(&rules());
    let bad_routes = [
        "not json",
        "{}",
        "[]",
        r#"[{"route": "GET /orders"}]"#,
        r#"[{"route": "GET /orders", "permission": {"order": ["read"]}}]"#,
        r#"[{"route": "GET orders", "authenticated": true}]"#,
        r#"[{"route": "get /orders", "authenticated": true}]"#,
        r#"[{"route": "GET /orders/{id}/", "authenticated": true}]"#,
        r#"[{"route": "GET /{proxy+}/x", "authenticated": true}]"#,
        r#"[{"route": "GET /orders", "authenticated": false}]"#,
        r#"[{"route": "GET /orders", "permissions": {"order": []}}]"#,
        r#"[{"route": "GET /orders", "permissions": {}}]"#,
        r#"[{"route": "GET /orders", "permissions": {"order": "read"}}]"#,
        r#"[{"route": "GET /orders", "permissions": {"order": ["read"]}, "connector": "or"}]"#,
        r#"[{"route": "GET /orders", "permissions": {"__proto__": ["read"]}}]"#,
        r#"[{"route": "GET /a/{x}", "authenticated": true}, {"route": "GET /a/{y}", "authenticated": true}]"#,
        r#"[{"route": "GET /orders", "authenticated": true}] trailing"#,
        "   ,",
    ];
    let bad_roles = [
        "not json",
        "[]",
        r#"{"role": {"admin": {"user": ["list"]}}}"#,
        r#"{"roles": {"admin": {"user": "list"}}}"#,
        r#"{"roles": {"admin": {"user": ["list"]}}, "adminRoles": ["superadmin"]}"#,
        r#"{"roles": {"admin": {"user": ["list"]}}, "statements": {"user": ["get"]}}"#,
        r#"{"organizationRoles": {"owner": {"invoice": ["pay"]}}, "organizationStatements": {"invoice": ["create"]}}"#,
        r#"{"defaultRole": 7}"#,
        r#"{"dynamicAccessControl": "yes"}"#,
    ];
    let mut cases: Vec<(&str, &str, &str)> = Vec::new();
    cases.extend(
        bad_routes
            .iter()
            .map(|r| ("AUTHORIZER_ROUTES", *r, good_roles.as_str())),
    );
    cases.extend(
        bad_roles
            .iter()
            .map(|r| ("BETTER_AUTH_ACCESS_CONTROL", good_routes.as_str(), *r)),
    );
    for (var, routes, roles) in cases {
        let lookup = |name: &str| match name {
            "DATABASE_URL" => Some("postgres://u@127.0.0.1:1/db".to_owned()),
            "BETTER_AUTH_SECRET" => Some(SECRET.to_owned()),
            "AUTHORIZER_ROUTES" => Some(routes.to_owned()),
            "BETTER_AUTH_ACCESS_CONTROL" => Some(roles.to_owned()),
            _ => None,
        };
        let case = if var == "AUTHORIZER_ROUTES" {
            routes
        } else {
            roles
        };
        for error in [
            auth_core::Config::from_lookup(lookup).err(),
            auth_core::aws::config_from_lookup(lookup).await.err(),
        ] {
            match error {
                Some(ConfigError::Invalid { var: named, reason }) => {
                    assert_eq!(named, var, "{case}: {reason}");
                    let text = ConfigError::Invalid { var: named, reason }.to_string();
                    assert!(text.contains(var), "{case}: {text}");
                }
                other => panic!("{var} = {case}: expected an error naming it, got {other:?}"),
            }
        }
    }
    // Both good: the start goes on.
    let lookup = |name: &str| match name {
        "DATABASE_URL" => Some("postgres://u@127.0.0.1:1/db".to_owned()),
        "BETTER_AUTH_SECRET" => Some(SECRET.to_owned()),
        "AUTHORIZER_ROUTES" => Some(good_routes.clone()),
        "BETTER_AUTH_ACCESS_CONTROL" => Some(good_roles.clone()),
        _ => None,
    };
    let config = auth_core::Config::from_lookup(lookup).expect("good settings");
    assert_eq!(
        config.access.routes.as_ref().map(|r| r.routes().len()),
        Some(rules().len())
    );
}

// ---------------------------------------------------------------------------------------------
// 6. The policy for 100 rules.

/// 25 resources × 4 routes (`GET /resNN`, `GET /resNN/{id}`, `DELETE /resNN/{id}`,
/// `GET /resNN/{id}/history`), `prefix` before each path.
fn hundred_rules(prefix: &str) -> (String, Vec<(String, String, String, bool)>) {
    let mut rules = Vec::new();
    let mut requests = Vec::new();
    for i in 0..25 {
        let base = format!("{prefix}/res{i:02}");
        for (route, method, path, action, clerk_may) in [
            (format!("GET {base}"), "GET", base.clone(), "read", true),
            (
                format!("GET {base}/{{id}}"),
                "GET",
                format!("{base}/7"),
                "read",
                true,
            ),
            (
                format!("DELETE {base}/{{id}}"),
                "DELETE",
                format!("{base}/7"),
                "delete",
                false,
            ),
            (
                format!("GET {base}/{{id}}/history"),
                "GET",
                format!("{base}/7/history"),
                "audit",
                false,
            ),
        ] {
            rules.push(json!({"route": route, "permissions": {format!("r{i:02}"): [action]}}));
            requests.push((route, method.to_owned(), path, clerk_may));
        }
    }
    (Value::Array(rules).to_string(), requests)
}

/// The REST policy for 100 rules, a caller allowed half of them: within 8 KB of resources it
/// lists every route (and the Denys the wildcards need) and answers all 100 as a fresh decision
/// would; past 8 KB (long paths) it covers the request at hand only, exactly. Sizes printed
/// for the docs.
#[tokio::test]
async fn the_policy_for_a_hundred_rules_fits_or_covers_the_one_request() {
    let db = TestDb::new(Variant::Default).await;
    let mut clerk = NewUser::new("clerk@example.com");
    clerk.role = Some("clerk".into());
    let user = db.create_user(&clerk).await;
    let session = db
        .create_session(&user, chrono::Utc::now() + chrono::Duration::days(1))
        .await;
    let who = Who::Session(SignedIn {
        user_id: user.clone(),
        token: session.token.clone(),
        signed_token: String::new(),
        cookie: test_support::session_cookie(SECRET, &session.token),
    });
    let clerk_statements: serde_json::Map<String, Value> = (0..25)
        .map(|i| (format!("r{i:02}"), json!(["read"])))
        .collect();
    let roles = json!({"roles": {"clerk": clerk_statements}, "defaultRole": "clerk"}).to_string();

    for (prefix, fits) in [
        ("", true),
        (
            "/v1/customer-relationship-management/accounts-receivable",
            false,
        ),
    ] {
        let (routes, requests) = hundred_rules(prefix);
        assert_eq!(requests.len(), 100);
        let auth = authenticator(
            &db,
            &[
                ("BETTER_AUTH_ACCESS_CONTROL", roles.as_str()),
                ("AUTHORIZER_ROUTES", routes.as_str()),
            ],
        );
        for (first, (_, method, path, allowed)) in [(0, &requests[0]), (2, &requests[2])] {
            let policy = answer(&auth, rest_event(Shape::RestRequest, &who, method, path)).await;
            let bytes = resource_bytes(&policy);
            let json_bytes = policy.to_string().len();
            let statements = policy["policyDocument"]["Statement"]
                .as_array()
                .expect("statements");
            let resources: usize = statements
                .iter()
                .map(|s| strings(&s["Resource"]).len())
                .sum();
            println!(
                "route_authorization: 100 rules, {} allowed, path prefix {prefix:?}, first request \
                 {method} {path}: {resources} resources, {bytes} bytes of resources, {json_bytes} \
                 bytes of JSON",
                requests.iter().filter(|r| r.3).count()
            );
            assert_eq!(
                policy_allows(&policy, &arn(method, path)),
                *allowed,
                "{first}"
            );
            if fits {
                assert!(bytes <= 8192, "{bytes} bytes");
                // Every route the caller may call, and a Deny for each history route the
                // item wildcard would cover.
                for (route, m, p, may) in &requests {
                    assert_eq!(
                        policy_allows(&policy, &arn(m, p)),
                        *may,
                        "the policy from {method} {path} for {route}"
                    );
                }
            } else {
                // Past 8 KB: one statement for exactly this request.
                let effect = if *allowed { "Allow" } else { "Deny" };
                assert_eq!(
                    statements,
                    &vec![
                        json!({"Action": ["execute-api:Invoke"], "Effect": effect, "Resource": [arn(method, path)]})
                    ],
                );
                assert!(bytes <= 8192);
            }
        }
        // A path holding IAM's wildcards (`/res00/*` is routed by `GET /res00/{id}`, which
        // the clerk may call): a policy naming it "exactly" would cover every deeper path. The
        // policy never allows a listed request a fresh decision refuses.
        for (method, path) in [
            ("GET", format!("{prefix}/res00/*")),
            ("GET", format!("{prefix}/res00/?")),
            ("GET", format!("{prefix}/res00/*/history")),
        ] {
            let policy = answer(&auth, rest_event(Shape::RestRequest, &who, method, &path)).await;
            for (route, m, p, may) in &requests {
                assert!(
                    *may || !policy_allows(&policy, &arn(m, p)),
                    "the policy from {method} {path} allows {m} {p} ({route}): {policy}"
                );
            }
        }
    }
}
