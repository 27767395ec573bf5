//! Authorization with Better Auth's own access control: our evaluator
//! (`auth_core::access::AccessControl`) reads the roles `tools/export-access-control.mjs` exports
//! from the test app's module (`tests/better-auth/access-control.mjs`), and decides exactly as the
//! real Better Auth server running that module does.
//!
//! - The exporter: its output is what `AccessControl::parse` accepts (the statements checked),
//!   and a module exporting nothing stops it with a message.
//! - A differential test on a fixed seed: every role asked every single action, then generated
//!   role strings and permission requests, each decided by Better Auth (its `POST /admin/has-permission` and `POST
//!   /organization/has-permission` as a signed-in user or member whose role the test sets, or
//!   the test-only route `POST /test/access/authorize` for what those endpoints cannot say: a
//!   top-level connector, the object form `{"actions": [...], "connector": "OR"}`) and by ours;
//!   0 disagreements. A disagreement is written to `tests/e2e/regressions/access_control.jsonl`
//!   and replayed first on every later run.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::Arc;
use std::time::Instant;

use auth_core::access::{AccessControl, Connector, PermissionRequest, Roles};
use serde_json::{Value, json};
use test_support::TestDb;
use test_support::better_auth::{
    BetterAuthServer, Credential, Profile, ServerOptions, SignedIn, ensure_installed,
};
use tokio::task::JoinSet;

const SECRET: &str = "access-control-secret-0123456789abcdefghijklmn";
/// The generator's seed: fixed, so every run asks the same questions.
const SEED: u64 = 0xACCE55;
/// Random cases per side (the grid and replayed regressions come on top).
const CASES_PER_SIDE: usize = 450;
/// A role no module defines, and a resource and an action no statement declares.
const UNKNOWN_ROLE: &str = "ghost";
const UNKNOWN_RESOURCE: &str = "widget";
const UNKNOWN_ACTION: &str = "fly";
/// White space around role names. Of these, JavaScript's `trim` (the organization plugin's
/// `parseRoleList`) removes all but NEL (U+0085); Rust's `str::trim` all but ZWNBSP (U+FEFF).
const SPACES: [char; 8] = [
    ' ', '\t', '\n', '\u{a0}', '\u{85}', '\u{feff}', '\u{2028}', '\u{3000}',
];
/// The dynamic role created through Better Auth's `POST /organization/create-role` (which
/// lower-cases the name), and what it allows.
const DYNAMIC_ROLE: &str = "billing";
const DYNAMIC_PERMISSION: &str = r#"{"invoice":["read","delete"],"project":["update"]}"#;
/// An `organizationRole` row named like a static role, and what it adds to it.
const MERGED_ROLE: &str = "accountant";
const MERGED_PERMISSION: &str = r#"{"invoice":["delete"],"project":["read"]}"#;

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the workspace root")
        .to_path_buf()
}

fn app_module() -> PathBuf {
    workspace_root().join("tests/better-auth/access-control.mjs")
}

fn regressions_file() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("e2e/regressions/access_control.jsonl")
}

/// `node tools/export-access-control.mjs <module> <args…>`, run from the workspace root.
fn export(module: &Path, args: &[&str]) -> Output {
    ensure_installed();
    Command::new("node")
        .arg("tools/export-access-control.mjs")
        .arg(module)
        .args(args)
        .current_dir(workspace_root())
        .output()
        .expect("run node tools/export-access-control.mjs")
}

/// The exporter's `BETTER_AUTH_ACCESS_CONTROL` for the test app, as text.
fn exported(admin_user_ids: &str) -> String {
    let output = export(&app_module(), &["--admin-user-ids", admin_user_ids]);
    assert!(
        output.status.success(),
        "the exporter failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).expect("the exporter prints UTF-8")
}

fn req(json: Value) -> PermissionRequest {
    serde_json::from_value(json).expect("a permission request")
}

/// The exporter reads the app's own module: our evaluator accepts its output (every role checked
/// against the statements it exports), and decides on it as the module says, not by role name:
/// `admin` may not ban, `support` may.
#[test]
fn the_exporters_output_is_accepted_and_means_what_the_module_says() {
    let text = exported("root-id,second-id");
    let document: Value = serde_json::from_str(&text).expect("the exporter prints JSON");
    for key in [
        "roles",
        "statements",
        "defaultRole",
        "adminRoles",
        "adminUserIds",
        "organizationRoles",
        "organizationStatements",
        "creatorRole",
    ] {
        assert!(document.get(key).is_some(), "{key} missing from {text}");
    }
    let ac = AccessControl::parse(&text).expect("our evaluator accepts the exporter's output");
    assert_eq!(ac.admin_user_ids(), ["root-id", "second-id"]);
    assert_eq!(ac.admin_roles(), ["admin"]);
    assert_eq!(ac.creator_role(), "owner");
    assert!(ac.uses_dynamic_roles());

    let and = Connector::And;
    let ban = req(json!({"user": ["ban"]}));
    assert!(
        !ac.user_may("u", Some("admin"), &ban, and),
        "admin may not ban"
    );
    assert!(ac.user_may("u", Some("support"), &ban, and), "support may");
    assert!(
        ac.user_may("root-id", Some("user"), &ban, and),
        "adminUserIds"
    );
    assert!(ac.user_may(
        "u",
        Some("auditor"),
        &req(json!({"report": ["export"]})),
        and
    ));
    // No role: the module's defaultRole (`user`).
    assert!(ac.user_may("u", None, &req(json!({"order": ["create"]})), and));
    assert!(!ac.user_may("u", None, &req(json!({"order": ["refund"]})), and));
    let invoice = req(json!({"invoice": ["create"]}));
    let organization = ac.organization_roles();
    assert!(AccessControl::member_may(
        organization,
        "member, accountant",
        &invoice,
        and
    ));
    assert!(!AccessControl::member_may(
        organization,
        "member",
        &invoice,
        and
    ));

    // The statements are in the output, and checked: a role given an undeclared action is refused.
    let mut tampered = document.clone();
    tampered["roles"]["support"]["user"]
        .as_array_mut()
        .expect("support's user actions")
        .push(json!("impersonate-everyone"));
    let error = AccessControl::parse(&tampered.to_string())
        .expect_err("an undeclared action is refused")
        .to_string();
    assert!(error.contains("user:impersonate-everyone"), "{error}");
    let mut tampered = document;
    tampered["organizationRoles"]["member"]["payroll"] = json!(["read"]);
    let error = AccessControl::parse(&tampered.to_string())
        .expect_err("an undeclared resource is refused")
        .to_string();
    assert!(error.contains("payroll"), "{error}");

    // --no-dynamic turns the organization's dynamic roles off.
    let output = export(&app_module(), &["--no-dynamic"]);
    assert!(output.status.success());
    let ac = AccessControl::parse(&String::from_utf8_lossy(&output.stdout)).expect("parses");
    assert!(!ac.uses_dynamic_roles());
    assert!(ac.admin_user_ids().is_empty());
}

/// A module that exports none of what the exporter reads is a mistake (a wrong path, a wrong
/// file): it says so and exits non-zero, printing nothing to paste.
#[test]
fn a_module_exporting_nothing_stops_the_exporter() {
    let dir = std::env::temp_dir().join(format!(
        "export-access-control-{}",
        test_support::random_token(12)
    ));
    std::fs::create_dir_all(&dir).expect("a temporary directory");
    let module = dir.join("empty.mjs");
    std::fs::write(&module, "export {};\n").expect("write the module");
    let output = export(&module, &[]);
    let stderr = String::from_utf8_lossy(&output.stderr).to_string();
    let _ = std::fs::remove_dir_all(&dir);
    assert!(!output.status.success(), "exit status {:?}", output.status);
    assert!(output.stdout.is_empty(), "printed {:?}", output.stdout);
    assert!(
        stderr.contains("exports none of") && stderr.contains("roles"),
        "{stderr}"
    );
}

/// splitmix64: small, deterministic, good enough to spread cases.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn one_in(&mut self, n: usize) -> bool {
        self.below(n) == 0
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

/// What one side's cases are drawn from: role names (the app's, plus one nobody defines) and
/// resources with their actions (the declared ones plus one nobody declares; plus a resource
/// nobody declares).
struct Pool {
    roles: Vec<String>,
    resources: Vec<(String, Vec<String>)>,
    /// What some role allows on a resource (half the requested resources are drawn from these,
    /// so that requests are granted often enough to matter).
    grants: Vec<(String, Vec<String>)>,
    /// One `(role, resource, action)` each role is granted.
    granted: Vec<(String, String, String)>,
}

fn permission_of(text: &str) -> Value {
    serde_json::from_str(text).expect("a permission")
}

fn actions_of(actions: &Value) -> Vec<String> {
    actions
        .as_array()
        .expect("actions")
        .iter()
        .map(|a| a.as_str().expect("an action").to_owned())
        .collect()
}

impl Pool {
    /// From the exporter's roles and statements, and rows of `organizationRole` (`(role,
    /// permission)`).
    fn new(roles: &Value, statements: &Value, rows: &[(&str, &str)]) -> Self {
        let roles = roles.as_object().expect("roles");
        let mut names: Vec<String> = roles.keys().cloned().collect();
        let mut grants: Vec<(String, Vec<String>)> = Vec::new();
        let mut granted: Vec<(String, String, String)> = Vec::new();
        let rows: Vec<(&str, Value)> = rows.iter().map(|(r, p)| (*r, permission_of(p))).collect();
        let every = roles
            .iter()
            .map(|(r, p)| (r.as_str(), p))
            .chain(rows.iter().map(|(r, p)| (*r, p)));
        for (role, statements) in every {
            if !names.iter().any(|n| n == role) {
                names.push(role.to_owned());
            }
            for (resource, actions) in statements.as_object().expect("a role") {
                let actions = actions_of(actions);
                if let Some(action) = actions.first() {
                    if !granted.iter().any(|(r, _, _)| r == role) {
                        granted.push((role.to_owned(), resource.clone(), action.clone()));
                    }
                    grants.push((resource.clone(), actions));
                }
            }
        }
        names.push(UNKNOWN_ROLE.to_owned());
        let mut resources: Vec<(String, Vec<String>)> = statements
            .as_object()
            .expect("statements")
            .iter()
            .map(|(resource, actions)| {
                let mut actions = actions_of(actions);
                actions.push(UNKNOWN_ACTION.to_owned());
                (resource.clone(), actions)
            })
            .collect();
        resources.push((
            UNKNOWN_RESOURCE.to_owned(),
            vec!["read".into(), UNKNOWN_ACTION.into()],
        ));
        Self {
            roles: names,
            resources,
            grants,
            granted,
        }
    }

    /// 0–3 role names joined with `,`, sometimes with white space around a name (the admin
    /// plugin does not trim, the organization plugin trims as JavaScript's `trim` does: some of
    /// [`SPACES`] are white space to it, some only to Rust), sometimes a trailing `,`; none: an
    /// empty role, or (`allow_null`) no role at all.
    fn role(&self, rng: &mut Rng, allow_null: bool) -> Value {
        let n = rng.below(4);
        if n == 0 {
            return if allow_null && rng.one_in(2) {
                Value::Null
            } else {
                json!("")
            };
        }
        let mut role = String::new();
        for i in 0..n {
            if i > 0 {
                role.push(',');
            }
            let before = if i > 0 { 4 } else { 10 };
            if rng.one_in(before) {
                role.push(Self::space(rng));
            }
            let name: &String = rng.pick(&self.roles);
            role.push_str(name);
            if rng.one_in(10) {
                role.push(Self::space(rng));
            }
        }
        if rng.one_in(12) {
            role.push(',');
        }
        json!(role)
    }

    /// A space, mostly `' '`.
    fn space(rng: &mut Rng) -> char {
        if rng.one_in(2) {
            ' '
        } else {
            *rng.pick(&SPACES)
        }
    }

    /// 1–3 distinct resources, each with 0–3 actions, sometimes in the object form.
    fn permissions(&self, rng: &mut Rng) -> Value {
        let count = match rng.below(10) {
            0..=4 => 1,
            5..=7 => 2,
            _ => 3,
        };
        let mut request = serde_json::Map::new();
        while request.len() < count {
            let (resource, actions) = if rng.one_in(2) {
                rng.pick(&self.grants)
            } else {
                rng.pick(&self.resources)
            };
            if request.contains_key(resource) {
                continue;
            }
            let many = match rng.below(10) {
                0 => 0,
                1..=5 => 1,
                6..=8 => 2,
                _ => 3,
            };
            let wanted: Vec<Value> = (0..many).map(|_| json!(rng.pick(actions))).collect();
            let value = if rng.one_in(6) {
                match rng.below(6) {
                    0..=3 => json!({"actions": wanted, "connector": "OR"}),
                    4 => json!({"actions": wanted, "connector": "AND"}),
                    _ => json!({ "actions": wanted }),
                }
            } else {
                Value::Array(wanted)
            };
            request.insert(resource.clone(), value);
        }
        Value::Object(request)
    }

    /// Every role (none, each name, the unknown one) asked every single action (each declared
    /// one and an unknown one, of each resource and an unknown one); then each role that is
    /// granted something asked it with each of [`SPACES`] before and after its name.
    fn grid(&self, side: &str, no_roles: &[Value]) -> Vec<Value> {
        let case = |role: Value, resource: &str, action: &str| {
            let mut case = json!({
                "side": side,
                "role": role,
                "permissions": {resource: [action]},
                "connector": "AND",
            });
            if side == "admin" {
                case["user"] = json!("subject");
            }
            case
        };
        let mut cases = Vec::new();
        let roles = no_roles
            .iter()
            .cloned()
            .chain(self.roles.iter().map(|r| json!(r)));
        for role in roles {
            for (resource, actions) in &self.resources {
                for action in actions {
                    cases.push(case(role.clone(), resource, action));
                }
            }
        }
        for (role, resource, action) in &self.granted {
            for space in SPACES {
                cases.push(case(json!(format!("{space}{role}")), resource, action));
                cases.push(case(json!(format!("{role}{space}")), resource, action));
            }
        }
        cases
    }

    fn connector(rng: &mut Rng) -> &'static str {
        if rng.one_in(4) { "OR" } else { "AND" }
    }
}

/// A request only the endpoints' body schema accepts: every resource a list of actions.
fn is_list_form(permissions: &Value) -> bool {
    permissions
        .as_object()
        .is_some_and(|m| m.values().all(Value::is_array))
}

/// The generated cases: each side's grid ([`Pool::grid`]), then random ones. `{"side": "admin",
/// "user": "subject" | "root", "role", "permissions", "connector"}` and `{"side":
/// "organization", "role", "permissions", "connector"}`.
fn generate(admin: &Pool, organization: &Pool) -> Vec<Value> {
    let mut rng = Rng(SEED);
    let mut cases = admin.grid("admin", &[Value::Null, json!("")]);
    cases.extend(organization.grid("organization", &[json!("")]));
    for _ in 0..CASES_PER_SIDE {
        let role = admin.role(&mut rng, true);
        let permissions = admin.permissions(&mut rng);
        let connector = Pool::connector(&mut rng);
        // adminUserIds: asked of the real endpoint only (the test route knows no user).
        let root = connector == "AND" && is_list_form(&permissions) && rng.one_in(8);
        cases.push(json!({
            "side": "admin",
            "user": if root { "root" } else { "subject" },
            "role": role,
            "permissions": permissions,
            "connector": connector,
        }));
    }
    for _ in 0..CASES_PER_SIDE {
        cases.push(json!({
            "side": "organization",
            "role": organization.role(&mut rng, false),
            "permissions": organization.permissions(&mut rng),
            "connector": Pool::connector(&mut rng),
        }));
    }
    cases
}

/// Which Better Auth code answers a case.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Oracle {
    /// `POST /admin/has-permission` as the user, its `role` column set to the case's.
    AdminEndpoint,
    /// The test route: `role.authorize(permissions, connector)` per role, the role read as the
    /// admin plugin reads it (`role || defaultRole || "user"`, split on `,`).
    AdminRoute,
    /// `POST /organization/has-permission` as the member, its `role` set to the case's.
    OrganizationEndpoint,
    /// The test route: the organization plugin's own `hasPermission` (dynamic roles merged),
    /// which takes the object form its endpoint refuses.
    OrganizationFunction,
    /// The test route: `role.authorize(permissions, "OR")` per trimmed role, the static roles
    /// (the organization plugin never takes a top-level connector).
    OrganizationRoute,
}

fn oracle_of(case: &Value) -> Oracle {
    let and = case["connector"] == "AND";
    let list = is_list_form(&case["permissions"]);
    match (case["side"].as_str(), and, list) {
        (Some("admin"), true, true) => Oracle::AdminEndpoint,
        (Some("admin"), _, _) => {
            assert_eq!(
                case["user"], "subject",
                "the test route knows no user: {case}"
            );
            Oracle::AdminRoute
        }
        (Some("organization"), true, true) => Oracle::OrganizationEndpoint,
        (Some("organization"), true, false) => Oracle::OrganizationFunction,
        (Some("organization"), false, _) => Oracle::OrganizationRoute,
        _ => panic!("not a case: {case}"),
    }
}

fn connector_of(case: &Value) -> Connector {
    serde_json::from_value(case["connector"].clone()).expect("AND or OR")
}

/// The id `adminUserIds` names.
const ROOT_ID: &str = "access-root";

/// How many users ask the endpoints at once: each has its own `role` column and its own
/// membership, so their cases never share state.
const LANES: usize = 6;

/// Everything a run needs: the server, the users, the organization, our evaluator.
struct World {
    /// Declared first, dropped first: the server stops before its database goes.
    ba: BetterAuthServer,
    db: TestDb,
    ac: AccessControl,
    /// Users no `adminUserIds` names; each also a member of the organization (the first created
    /// it), its session's active organization set.
    users: Vec<SignedIn>,
    /// The user `adminUserIds` names.
    root: SignedIn,
    organization_id: String,
    /// The static roles with the organization's `organizationRole` rows merged in.
    merged: Roles,
}

/// Who asks an endpoint: a user's `role` (admin side) or membership (organization side).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Lane {
    Admin(usize),
    Root,
    Member(usize),
}

impl World {
    async fn start() -> (Self, Value) {
        let db = TestDb::isolated(Profile::Default.variant(), "").await;
        let mut options = ServerOptions::new(Profile::Default, SECRET);
        options.access_control = true;
        options.admin_user_ids = vec![ROOT_ID.to_owned()];
        let ba = BetterAuthServer::start(&db, options).await;
        let mut users = Vec::with_capacity(LANES);
        for i in 0..LANES {
            users.push(ba.sign_up(&format!("user{i}@access.test")).await);
        }
        // The user adminUserIds names: Better Auth makes ids up at sign-up, and needs this one
        // at start, so it is written straight to its tables (a session Better Auth accepts).
        db.execute(
            "INSERT INTO \"user\" (id, name, email, \"emailVerified\", \"createdAt\", \"updatedAt\", role) \
             VALUES ($1, 'Root', 'root@access.test', true, now(), now(), 'user')",
            &[&ROOT_ID],
        )
        .await;
        let session = db
            .create_session(ROOT_ID, chrono::Utc::now() + chrono::Duration::days(1))
            .await;
        let root = SignedIn {
            user_id: ROOT_ID.to_owned(),
            cookie: test_support::session_cookie(SECRET, &session.token),
            signed_token: String::new(),
            token: session.token,
        };
        let signed_in = ba
            .get_session(&Credential::Cookie(root.cookie.clone()))
            .await;
        assert_eq!(
            signed_in.map(|s| s["user"]["id"].clone()),
            Some(json!(ROOT_ID))
        );

        let text = exported(ROOT_ID);
        let document: Value = serde_json::from_str(&text).expect("JSON");
        let ac = AccessControl::parse(&text).expect("the exporter's output parses");

        let owner_cookie = Credential::Cookie(users[0].cookie.clone());
        let created = ba
            .post_ok(
                "/organization/create",
                json!({"name": "Acme", "slug": "acme-access"}),
                &owner_cookie,
            )
            .await;
        let organization_id = created["id"].as_str().expect("organization id").to_owned();
        // A dynamic role, through Better Auth's own endpoint (it stores the name lower-cased).
        let role = ba
            .post_ok(
                "/organization/create-role",
                json!({
                    "role": "Billing",
                    "permission": permission_of(DYNAMIC_PERMISSION),
                    "organizationId": organization_id.clone(),
                }),
                &owner_cookie,
            )
            .await;
        assert_eq!(role["roleData"]["role"], DYNAMIC_ROLE, "{role}");
        // A row named like a static role: the endpoint refuses to create one, but such rows exist
        // where the app defined the static role after the dynamic one; Better Auth merges them.
        db.execute(
            "INSERT INTO \"organizationRole\" (id, \"organizationId\", role, permission, \"createdAt\") \
             VALUES ('merged-row', $1, $2, $3, now())",
            &[&organization_id, &MERGED_ROLE, &MERGED_PERMISSION],
        )
        .await;
        // The other users join (their role is set per case anyway), and make it active.
        for (i, user) in users.iter().enumerate().skip(1) {
            db.execute(
                "INSERT INTO member (id, \"organizationId\", \"userId\", role, \"createdAt\") \
                 VALUES ($1, $2, $3, 'member', now())",
                &[&format!("member-{i}"), &organization_id, &user.user_id],
            )
            .await;
            ba.post_ok(
                "/organization/set-active",
                json!({"organizationId": organization_id.clone()}),
                &Credential::Cookie(user.cookie.clone()),
            )
            .await;
        }
        let rows: Vec<(String, String)> = db
            .client
            .query(
                "SELECT role, permission FROM \"organizationRole\" WHERE \"organizationId\" = $1",
                &[&organization_id],
            )
            .await
            .expect("read organizationRole")
            .iter()
            .map(|row| (row.get(0), row.get(1)))
            .collect();
        assert_eq!(rows.len(), 2, "{rows:?}");
        let merged = ac
            .organization_roles_with(rows.iter().map(|(r, p)| (r.as_str(), p.as_str())))
            .expect("the rows parse");
        let world = Self {
            ba,
            db,
            ac,
            users,
            root,
            organization_id,
            merged,
        };
        (world, document)
    }

    /// The user a case is asked as (any of `users` for a `subject`: none is in adminUserIds).
    fn user_id_of(&self, case: &Value) -> &str {
        match case["user"].as_str() {
            Some("root") => &self.root.user_id,
            Some("subject") => &self.users[0].user_id,
            _ => panic!("no user in {case}"),
        }
    }

    /// Our evaluator's answer.
    fn ours(&self, case: &Value) -> bool {
        let request: PermissionRequest =
            serde_json::from_value(case["permissions"].clone()).expect("a permission request");
        let connector = connector_of(case);
        let role = case["role"].as_str();
        match oracle_of(case) {
            Oracle::AdminEndpoint | Oracle::AdminRoute => {
                self.ac
                    .user_may(self.user_id_of(case), role, &request, connector)
            }
            Oracle::OrganizationEndpoint | Oracle::OrganizationFunction => {
                AccessControl::member_may(&self.merged, role.unwrap_or(""), &request, connector)
            }
            Oracle::OrganizationRoute => AccessControl::member_may(
                self.ac.organization_roles(),
                role.unwrap_or(""),
                &request,
                connector,
            ),
        }
    }

    /// Better Auth's answers, in the order of `cases`: the endpoints' cases spread over the
    /// lanes, which run at once (each lane's cases one after the other: set the role, ask), the
    /// test route's in one batch.
    async fn theirs(self: &Arc<Self>, cases: &[Value]) -> Vec<bool> {
        let mut answers = vec![false; cases.len()];
        let mut lanes: BTreeMap<Lane, Vec<(usize, Value)>> = BTreeMap::new();
        let mut routed: Vec<(usize, Value)> = Vec::new();
        for (i, case) in cases.iter().enumerate() {
            let lane = match oracle_of(case) {
                Oracle::AdminEndpoint if case["user"] == "root" => Lane::Root,
                Oracle::AdminEndpoint => Lane::Admin(i % LANES),
                Oracle::OrganizationEndpoint => Lane::Member(i % LANES),
                Oracle::AdminRoute => {
                    routed.push((
                        i,
                        json!({
                            "role": case["role"],
                            "permissions": case["permissions"],
                            "connector": case["connector"],
                            "asPlugin": true,
                        }),
                    ));
                    continue;
                }
                Oracle::OrganizationFunction => {
                    routed.push((
                        i,
                        json!({
                            "role": case["role"],
                            "permissions": case["permissions"],
                            "organization": true,
                            "organizationId": self.organization_id,
                        }),
                    ));
                    continue;
                }
                Oracle::OrganizationRoute => {
                    routed.push((
                        i,
                        json!({
                            "role": case["role"],
                            "permissions": case["permissions"],
                            "connector": case["connector"],
                            "organization": true,
                            "asPlugin": true,
                        }),
                    ));
                    continue;
                }
            };
            lanes.entry(lane).or_default().push((i, case.clone()));
        }
        let mut running = JoinSet::new();
        for (lane, lane_cases) in lanes {
            let world = Arc::clone(self);
            running.spawn(async move {
                let mut out = Vec::with_capacity(lane_cases.len());
                for (i, case) in lane_cases {
                    out.push((i, world.ask(lane, &case).await));
                }
                out
            });
        }
        if !routed.is_empty() {
            // One batch: the route answers an array with an array.
            let batch: Vec<Value> = routed.iter().map(|(_, body)| body.clone()).collect();
            let reply = self.ba.access_authorize(Value::Array(batch)).await;
            let replies = reply.as_array().expect("an array of answers");
            assert_eq!(replies.len(), routed.len(), "{reply}");
            for ((i, _), answer) in routed.iter().zip(replies) {
                answers[*i] = answer["success"]
                    .as_bool()
                    .unwrap_or_else(|| panic!("no answer for {}: {answer}", cases[*i]));
            }
        }
        while let Some(lane) = running.join_next().await {
            for (i, answer) in lane.expect("a lane ran to its end") {
                answers[i] = answer;
            }
        }
        answers
    }

    /// Sets the lane's user's role (or membership role) to the case's, then asks the endpoint.
    async fn ask(&self, lane: Lane, case: &Value) -> bool {
        let (user, path) = match lane {
            Lane::Root => (&self.root, "/admin/has-permission"),
            Lane::Admin(i) => (&self.users[i], "/admin/has-permission"),
            Lane::Member(i) => (&self.users[i], "/organization/has-permission"),
        };
        let updated = match lane {
            Lane::Root | Lane::Admin(_) => {
                let role = case["role"].as_str();
                self.db
                    .execute(
                        "UPDATE \"user\" SET role = $1 WHERE id = $2",
                        &[&role, &user.user_id],
                    )
                    .await
            }
            Lane::Member(_) => {
                let role = case["role"].as_str().unwrap_or("");
                self.db
                    .execute(
                        "UPDATE member SET role = $1 WHERE \"organizationId\" = $2 AND \"userId\" = $3",
                        &[&role, &self.organization_id, &user.user_id],
                    )
                    .await
            }
        };
        assert_eq!(updated, 1, "{lane:?}");
        let reply = self
            .ba
            .post(
                path,
                json!({"permissions": case["permissions"]}),
                Some(&Credential::Cookie(user.cookie.clone())),
            )
            .await;
        assert_eq!(reply.status, 200, "{path} for {case}: {}", reply.body);
        reply.body["success"]
            .as_bool()
            .unwrap_or_else(|| panic!("{path} for {case}: {}", reply.body))
    }
}

/// The cases a past run found disagreeing, replayed first.
fn stored_regressions() -> Vec<Value> {
    let Ok(text) = std::fs::read_to_string(regressions_file()) else {
        return Vec::new();
    };
    text.lines()
        .filter(|line| !line.trim().is_empty())
        .map(|line| serde_json::from_str(line).expect("a stored regression is JSON"))
        .collect()
}

fn store_regressions(failing: &[Value]) {
    let known = stored_regressions();
    let path = regressions_file();
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&path)
        .unwrap_or_else(|e| panic!("open {}: {e}", path.display()));
    for case in failing.iter().filter(|c| !known.contains(c)) {
        writeln!(file, "{case}").expect("write a regression");
    }
}

/// Our evaluator against Better Auth on a fixed seed, over 600 cases a side (a grid of every role
/// and single action, then 450 random cases): the admin plugin's `hasPermission`, adminUserIds
/// included; the organization plugin's, with a dynamic role created through its own endpoint and
/// a row merged into a static role. Every stored regression is asked first. Any disagreement is
/// stored and fails the test.
#[tokio::test]
async fn our_decisions_are_better_auths_on_generated_roles_and_requests() {
    let started = Instant::now();
    let (world, document) = World::start().await;
    let world = Arc::new(world);
    let set_up = started.elapsed();
    let admin_pool = Pool::new(&document["roles"], &document["statements"], &[]);
    let organization_pool = Pool::new(
        &document["organizationRoles"],
        &document["organizationStatements"],
        &[
            (DYNAMIC_ROLE, DYNAMIC_PERMISSION),
            (MERGED_ROLE, MERGED_PERMISSION),
        ],
    );
    let replayed = stored_regressions();
    let generated = generate(&admin_pool, &organization_pool);
    let cases: Vec<Value> = replayed.iter().chain(&generated).cloned().collect();

    let theirs = world.theirs(&cases).await;
    let mut failing = Vec::new();
    let mut tally: BTreeMap<(Oracle, bool), usize> = BTreeMap::new();
    for (case, theirs) in cases.iter().zip(theirs) {
        let ours = world.ours(case);
        *tally.entry((oracle_of(case), theirs)).or_default() += 1;
        if ours != theirs {
            let mut case = case.clone();
            case["betterAuth"] = json!(theirs);
            failing.push(case);
        }
    }
    eprintln!(
        "access control: {} cases ({} replayed), {:.1} s ({:.1} s setting up), Better Auth's answers by oracle: {tally:?}",
        cases.len(),
        replayed.len(),
        started.elapsed().as_secs_f64(),
        set_up.as_secs_f64()
    );
    if !failing.is_empty() {
        // Stored without the answer: a replay asks Better Auth again.
        let stored: Vec<Value> = failing
            .iter()
            .map(|c| {
                let mut c = c.clone();
                c.as_object_mut().map(|m| m.remove("betterAuth"));
                c
            })
            .collect();
        store_regressions(&stored);
        // Invisible characters (a role's white space) escaped, so the list can be read.
        let listed: Vec<String> = failing
            .iter()
            .map(|case| {
                case.to_string()
                    .chars()
                    .map(|c| match c {
                        ' ' | '!'..='~' => c.to_string(),
                        _ => c.escape_unicode().to_string(),
                    })
                    .collect()
            })
            .collect();
        panic!(
            "{} disagreement(s) with Better Auth (stored in {}):\n{}",
            failing.len(),
            regressions_file().display(),
            listed.join("\n")
        );
    }

    // Not vacuous: every oracle answered, both ways, on each side.
    let sides = [
        (Oracle::AdminEndpoint, 150),
        (Oracle::AdminRoute, 50),
        (Oracle::OrganizationEndpoint, 150),
        (Oracle::OrganizationFunction, 20),
        (Oracle::OrganizationRoute, 50),
    ];
    for (oracle, at_least) in sides {
        let yes = tally.get(&(oracle, true)).copied().unwrap_or(0);
        let no = tally.get(&(oracle, false)).copied().unwrap_or(0);
        assert!(yes + no >= at_least, "{oracle:?}: only {} cases", yes + no);
        assert!(
            yes >= at_least / 10 && no >= at_least / 10,
            "{oracle:?}: {yes} allowed, {no} refused"
        );
    }
    let admin_cases = generated.iter().filter(|c| c["side"] == "admin").count();
    let root_cases = generated.iter().filter(|c| c["user"] == "root").count();
    assert!(admin_cases >= 500 && generated.len() - admin_cases >= 500);
    assert!(root_cases >= 20, "adminUserIds asked {root_cases} times");
}
