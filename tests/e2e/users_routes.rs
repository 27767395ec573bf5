//! The `users` function's routes against real PostgreSQL.

use account_api::http::App;
use chrono::DateTime;
use chrono::Duration;
use chrono::Utc;
use serde_json::Value;
use serde_json::json;
use test_support::http::{Api, ApiRequest, Reply, app, send};
use test_support::{NewSession, NewUser, TestDb, Variant};
use users::handler::handle;

struct World {
    db: TestDb,
    app: App,
    admin: (String, NewSession),
    alice: (String, NewSession),
    bob: (String, NewSession),
}

async fn world(variant: Variant) -> World {
    let db = TestDb::new(variant).await;
    let mut admin = NewUser::new("root@example.com");
    admin.name = "Root".into();
    admin.role = Some("admin".into());
    let mut alice = NewUser::new("alice@example.com");
    alice.name = "Alice".into();
    let mut bob = NewUser::new("bob@test.org");
    bob.name = "Bob".into();
    bob.email_verified = false;
    let mut ids = Vec::new();
    for user in [admin, alice, bob] {
        let id = db.create_user(&user).await;
        let session = db
            .create_session(&id, Utc::now() + chrono::Duration::days(1))
            .await;
        ids.push((id, session));
    }
    let app = app(&db.url, &[]);
    let mut ids = ids.into_iter();
    let (admin, alice, bob) = (
        ids.next().expect("a"),
        ids.next().expect("b"),
        ids.next().expect("c"),
    );
    World {
        db,
        app,
        admin,
        alice,
        bob,
    }
}

impl World {
    fn admin_request(&self, api: Api, method: &str, path: &str) -> ApiRequest {
        ApiRequest::new(api, method, path).as_user(&self.admin.0, &self.admin.1.id, "admin")
    }
    fn alice_request(&self, api: Api, method: &str, path: &str) -> ApiRequest {
        ApiRequest::new(api, method, path).as_user(&self.alice.0, &self.alice.1.id, "user")
    }
    async fn send(&self, request: ApiRequest) -> Reply {
        send(handle, &self.app, &request).await
    }
    async fn snapshot(&self) -> Value {
        let v = self.db.variant;
        let row = self
            .db
            .client
            .query_one(
                &format!(
                    "SELECT (SELECT json_agg(u ORDER BY u.{}) FROM \"{}\" u)::text, (SELECT count(*) FROM \"{}\")",
                    v.col("email"),
                    v.user_table(),
                    v.session_table()
                ),
                &[],
            )
            .await
            .expect("snapshot");
        json!({"users": row.get::<_, String>(0), "sessions": row.get::<_, i64>(1)})
    }
}

type Params = Vec<(&'static str, &'static str)>;

fn emails(reply: &Reply) -> Vec<String> {
    reply.body["users"]
        .as_array()
        .expect("users")
        .iter()
        .map(|u| u["email"].as_str().expect("email").to_owned())
        .collect()
}

#[tokio::test]
async fn admins_list_search_filter_sort_and_page() {
    let w = world(Variant::Default).await;
    for api in Api::ALL {
        let all = w.send(w.admin_request(api, "GET", "/users")).await;
        assert_eq!(all.status, 200, "{}", all.body);
        assert_eq!(
            (
                all.body["total"].clone(),
                all.body["limit"].clone(),
                all.body["offset"].clone()
            ),
            (json!(3), json!(100), json!(0))
        );
        let cases: Vec<(Params, Vec<&str>)> = vec![
            (
                vec![("searchValue", "EXAMPLE.com")],
                vec!["alice@example.com", "root@example.com"],
            ),
            (
                vec![("searchValue", "ali"), ("searchOperator", "starts_with")],
                vec!["alice@example.com"],
            ),
            (
                vec![
                    ("searchValue", "Ob"),
                    ("searchField", "name"),
                    ("searchOperator", "ends_with"),
                ],
                vec!["bob@test.org"],
            ),
            (vec![("searchValue", "%")], vec![]),
            (vec![("searchValue", "' OR 1=1 --")], vec![]),
            (
                vec![("filterField", "role"), ("filterValue", "admin")],
                vec!["root@example.com"],
            ),
            (
                vec![
                    ("filterField", "role"),
                    ("filterValue", "admin"),
                    ("filterOperator", "ne"),
                ],
                vec!["alice@example.com", "bob@test.org"],
            ),
            (
                vec![("filterField", "emailVerified"), ("filterValue", "false")],
                vec!["bob@test.org"],
            ),
            (
                vec![
                    ("filterField", "createdAt"),
                    ("filterValue", "2000-01-01T00:00:00Z"),
                    ("filterOperator", "gt"),
                ],
                vec!["alice@example.com", "bob@test.org", "root@example.com"],
            ),
            (
                vec![("sortBy", "email"), ("sortDirection", "desc")],
                vec!["root@example.com", "bob@test.org", "alice@example.com"],
            ),
            (
                vec![("sortBy", "name"), ("limit", "2")],
                vec!["alice@example.com", "bob@test.org"],
            ),
            (
                vec![("sortBy", "name"), ("limit", "2"), ("offset", "2")],
                vec!["root@example.com"],
            ),
        ];
        for (params, expected) in cases {
            let mut request = w.admin_request(api, "GET", "/users");
            for (k, v) in &params {
                request = request.query(k, v);
            }
            let reply = w.send(request).await;
            assert_eq!(reply.status, 200, "{params:?}: {}", reply.body);
            let mut got = emails(&reply);
            if !params.iter().any(|(k, _)| *k == "sortBy") {
                got.sort();
            }
            assert_eq!(got, expected, "{params:?}");
        }
        let beyond = w
            .send(w.admin_request(api, "GET", "/users").query("offset", "10"))
            .await;
        assert_eq!(
            (beyond.body["users"].clone(), beyond.body["total"].clone()),
            (json!([]), json!(3))
        );
    }
}

#[tokio::test]
async fn bad_list_queries_are_400_and_non_admins_403() {
    let w = world(Variant::Default).await;
    for (k, v) in [
        ("limit", "-1"),
        ("limit", "ten"),
        ("limit", "100000"),
        ("offset", "-5"),
        ("sortBy", "password"),
        ("sortDirection", "sideways"),
        ("searchField", "role"),
        ("searchOperator", "like"),
        ("filterField", "password"),
        ("filterOperator", "like"),
    ] {
        let mut request = w.admin_request(Api::Rest, "GET", "/users").query(k, v);
        if k == "sortDirection" {
            request = request.query("sortBy", "email");
        }
        if k.starts_with("search") {
            request = request.query("searchValue", "x");
        }
        if k == "filterOperator" {
            request = request
                .query("filterField", "email")
                .query("filterValue", "x");
        }
        let reply = w.send(request).await;
        assert_eq!(
            (reply.status, reply.body["code"].clone()),
            (400, json!("INVALID_REQUEST")),
            "{k}={v}: {}",
            reply.body
        );
    }
    for params in [
        vec![("filterField", "email")],
        vec![("filterField", "banned"), ("filterValue", "maybe")],
        vec![
            ("filterField", "banned"),
            ("filterValue", "true"),
            ("filterOperator", "contains"),
        ],
        vec![("filterField", "createdAt"), ("filterValue", "yesterday")],
        vec![
            ("filterField", "banned"),
            ("filterValue", "true"),
            ("filterOperator", "gt"),
        ],
    ] {
        let mut request = w.admin_request(Api::Http, "GET", "/users");
        for (k, v) in &params {
            request = request.query(k, v);
        }
        assert_eq!(w.send(request).await.status, 400, "{params:?}");
    }
    let reply = w.send(w.alice_request(Api::Rest, "GET", "/users")).await;
    assert_eq!(
        (reply.status, reply.body["code"].clone()),
        (403, json!("FORBIDDEN"))
    );
    let reply = w.send(ApiRequest::new(Api::Rest, "GET", "/users")).await;
    assert_eq!(reply.status, 401);
}

#[tokio::test]
async fn reading_a_user_is_for_admins_or_self() {
    let w = world(Variant::Default).await;
    let own = w
        .send(w.alice_request(Api::Rest, "GET", &format!("/users/{}", w.alice.0)))
        .await;
    assert_eq!(
        (own.status, own.body["email"].clone()),
        (200, json!("alice@example.com"))
    );
    let other = w
        .send(w.alice_request(Api::Rest, "GET", &format!("/users/{}", w.bob.0)))
        .await;
    assert_eq!(other.status, 403);
    let admin = w
        .send(w.admin_request(Api::Http, "GET", &format!("/users/{}", w.bob.0)))
        .await;
    assert_eq!(
        (admin.status, admin.body["email"].clone()),
        (200, json!("bob@test.org"))
    );
    let missing = w
        .send(w.admin_request(Api::Http, "GET", "/users/nobody"))
        .await;
    assert_eq!(
        (missing.status, missing.body["code"].clone()),
        (404, json!("USER_NOT_FOUND"))
    );
    for bad in [
        "/users/a'b",
        "/users/%27%3B%20drop",
        &format!("/users/{}", "x".repeat(300)),
    ] {
        let reply = w.send(w.admin_request(Api::Rest, "GET", bad)).await;
        assert_eq!(
            (reply.status, reply.body["code"].clone()),
            (400, json!("INVALID_ID")),
            "{bad}"
        );
    }
    let wrong = w.send(w.admin_request(Api::Rest, "POST", "/users")).await;
    assert_eq!(wrong.status, 405);
}

#[tokio::test]
async fn patching_validates_and_changes_nothing_on_error() {
    let w = world(Variant::Default).await;
    let path = format!("/users/{}", w.alice.0);
    let before = w.snapshot().await;
    let bad: Vec<(ApiRequest, u16, &str)> = vec![
        (
            w.alice_request(Api::Rest, "PATCH", &path)
                .json(&json!({"email": "new@example.com"})),
            403,
            "FORBIDDEN",
        ),
        (
            w.alice_request(Api::Rest, "PATCH", &path)
                .json(&json!({"role": "admin"})),
            400,
            "INVALID_REQUEST",
        ),
        (
            w.alice_request(Api::Rest, "PATCH", &path)
                .json(&json!({"name": 42})),
            400,
            "INVALID_REQUEST",
        ),
        (
            w.alice_request(Api::Rest, "PATCH", &path)
                .json(&json!({"name": ""})),
            400,
            "INVALID_REQUEST",
        ),
        (
            w.alice_request(Api::Rest, "PATCH", &path)
                .json(&json!({"image": "javascript:alert(1)"})),
            400,
            "INVALID_REQUEST",
        ),
        (
            w.alice_request(Api::Rest, "PATCH", &path).json(&json!({})),
            400,
            "INVALID_REQUEST",
        ),
        (
            w.alice_request(Api::Rest, "PATCH", &path)
                .body("{not json", "application/json"),
            400,
            "INVALID_REQUEST",
        ),
        (
            w.alice_request(Api::Rest, "PATCH", &path)
                .body("name=x", "application/x-www-form-urlencoded"),
            415,
            "UNSUPPORTED_MEDIA_TYPE",
        ),
        (
            w.alice_request(Api::Rest, "PATCH", &path)
                .json(&json!({"name": "x".repeat(20_000)})),
            413,
            "PAYLOAD_TOO_LARGE",
        ),
        (
            w.alice_request(Api::Rest, "PATCH", &format!("/users/{}", w.bob.0))
                .json(&json!({"name": "Mallory"})),
            403,
            "FORBIDDEN",
        ),
        (
            w.admin_request(Api::Rest, "PATCH", &path)
                .json(&json!({"email": "not-an-email"})),
            400,
            "INVALID_EMAIL",
        ),
        (
            w.admin_request(Api::Rest, "PATCH", &path)
                .json(&json!({"email": "BOB@test.org"})),
            409,
            "USER_ALREADY_EXISTS",
        ),
        (
            w.admin_request(Api::Rest, "PATCH", "/users/nobody")
                .json(&json!({"name": "x"})),
            404,
            "USER_NOT_FOUND",
        ),
    ];
    for (request, status, code) in bad {
        let reply = w.send(request.clone()).await;
        assert_eq!(
            (reply.status, reply.body["code"].clone()),
            (status, json!(code)),
            "{:?}: {}",
            request.body,
            reply.body
        );
        assert!(
            !reply.body["message"]
                .as_str()
                .unwrap_or_default()
                .to_lowercase()
                .contains("select")
        );
    }
    assert_eq!(w.snapshot().await, before, "nothing was written");

    let reply = w
        .send(
            w.alice_request(Api::Http, "PATCH", &path)
                .json(&json!({"name": "  Alice B. ", "image": "https://img.example.com/a.png"})),
        )
        .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(reply.body["user"]["name"], "Alice B.");
    assert_eq!(reply.body["user"]["image"], "https://img.example.com/a.png");
    assert!(reply.body["user"]["updatedAt"].as_str() > reply.body["user"]["createdAt"].as_str());
    let reply = w
        .send(
            w.alice_request(Api::Http, "PATCH", &path)
                .json(&json!({"image": null})),
        )
        .await;
    assert_eq!(reply.body["user"]["image"], Value::Null);
    let reply = w
        .send(
            w.admin_request(Api::Rest, "PATCH", &path)
                .json(&json!({"email": " Alice@NEW.example.com ", "emailVerified": false})),
        )
        .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(
        (
            reply.body["user"]["email"].clone(),
            reply.body["user"]["emailVerified"].clone()
        ),
        (json!("alice@new.example.com"), json!(false))
    );
}

#[tokio::test]
async fn roles_come_from_the_allow_list() {
    let w = world(Variant::Default).await;
    let path = format!("/users/{}/role", w.alice.0);
    let reply = w
        .send(
            w.admin_request(Api::Rest, "PUT", &path)
                .json(&json!({"role": ["user", "admin", "user"]})),
        )
        .await;
    assert_eq!(
        (reply.status, reply.body["user"]["role"].clone()),
        (200, json!("user,admin"))
    );
    let reply = w
        .send(
            w.admin_request(Api::Http, "PUT", &path)
                .json(&json!({"role": "user"})),
        )
        .await;
    assert_eq!(reply.body["user"]["role"], "user");
    let before = w.snapshot().await;
    for (request, status) in [
        (
            w.admin_request(Api::Rest, "PUT", &path)
                .json(&json!({"role": "superuser"})),
            400,
        ),
        (
            w.admin_request(Api::Rest, "PUT", &path)
                .json(&json!({"role": []})),
            400,
        ),
        (
            w.admin_request(Api::Rest, "PUT", &path)
                .json(&json!({"role": 7})),
            400,
        ),
        (
            w.admin_request(Api::Rest, "PUT", &path)
                .json(&json!({"roles": "user"})),
            400,
        ),
        (
            w.alice_request(Api::Rest, "PUT", &path)
                .json(&json!({"role": "admin"})),
            403,
        ),
        (
            w.admin_request(Api::Rest, "PUT", "/users/nobody/role")
                .json(&json!({"role": "user"})),
            404,
        ),
    ] {
        assert_eq!(w.send(request).await.status, status);
    }
    assert_eq!(w.snapshot().await, before);
}

#[tokio::test]
async fn bans_revoke_sessions_atomically_and_unbans_clear() {
    for variant in [
        Variant::Default,
        Variant::RenamedSnakeUuid,
        Variant::DrizzleNaive,
    ] {
        let w = world(variant).await;
        let path = format!("/users/{}/ban", w.bob.0);
        let reply = w.send(w.admin_request(Api::Rest, "POST", &path)).await;
        assert_eq!(reply.status, 200, "{variant:?}: {}", reply.body);
        assert_eq!(reply.body["user"]["banned"], true);
        assert_eq!(reply.body["user"]["banReason"], "No reason");
        assert_eq!(reply.body["user"]["banExpires"], Value::Null);
        let sessions = format!(
            "SELECT count(*) FROM \"{}\" WHERE {} = CAST($1::text AS {})",
            variant.session_table(),
            variant.col("userId"),
            if variant == Variant::RenamedSnakeUuid {
                "uuid"
            } else {
                "text"
            }
        );
        let count: i64 =
            w.db.client
                .query_one(&sessions, &[&w.bob.0])
                .await
                .expect("count")
                .get(0);
        assert_eq!(count, 0, "{variant:?}: the user's sessions are gone");
        let others: i64 =
            w.db.client
                .query_one(&sessions, &[&w.alice.0])
                .await
                .expect("count")
                .get(0);
        assert_eq!(others, 1, "{variant:?}: nobody else's");

        let reply = w
            .send(
                w.admin_request(Api::Http, "POST", &path)
                    .json(&json!({"banReason": "spam", "banExpiresIn": 3600})),
            )
            .await;
        assert_eq!(reply.body["user"]["banReason"], "spam");
        let until: DateTime<Utc> = reply.body["user"]["banExpires"]
            .as_str()
            .expect("date")
            .parse()
            .expect("date");
        assert!(
            (until - Utc::now() - chrono::Duration::seconds(3600))
                .num_seconds()
                .abs()
                < 60,
            "{variant:?}"
        );

        let reply = w.send(w.admin_request(Api::Rest, "DELETE", &path)).await;
        assert_eq!(reply.status, 200);
        assert_eq!(
            (
                reply.body["user"]["banned"].clone(),
                reply.body["user"]["banReason"].clone(),
                reply.body["user"]["banExpires"].clone()
            ),
            (json!(false), Value::Null, Value::Null)
        );
    }
}

#[tokio::test]
async fn bad_bans_change_nothing() {
    let w = world(Variant::Default).await;
    let before = w.snapshot().await;
    let own = format!("/users/{}/ban", w.admin.0);
    let reply = w.send(w.admin_request(Api::Rest, "POST", &own)).await;
    assert_eq!(
        (reply.status, reply.body["code"].clone()),
        (400, json!("YOU_CANNOT_BAN_YOURSELF"))
    );
    let path = format!("/users/{}/ban", w.bob.0);
    for (request, status) in [
        (
            w.admin_request(Api::Rest, "POST", &path)
                .json(&json!({"banExpiresIn": -5})),
            400,
        ),
        (
            w.admin_request(Api::Rest, "POST", &path)
                .json(&json!({"banExpiresIn": "soon"})),
            400,
        ),
        (
            w.admin_request(Api::Rest, "POST", &path)
                .json(&json!({"banReason": "x".repeat(1001)})),
            400,
        ),
        (
            w.admin_request(Api::Rest, "POST", &path)
                .json(&json!({"until": 5})),
            400,
        ),
        (w.alice_request(Api::Rest, "POST", &path), 403),
        (w.alice_request(Api::Rest, "DELETE", &path), 403),
        (w.admin_request(Api::Rest, "POST", "/users/nobody/ban"), 404),
    ] {
        let reply = w.send(request).await;
        assert_eq!(reply.status, status, "{}", reply.body);
    }
    assert_eq!(w.snapshot().await, before);
}

#[tokio::test]
async fn the_revoked_column_variant_flags_instead_of_deleting() {
    let db = TestDb::new(Variant::RevokedColumn).await;
    let admin = db.create_user(&NewUser::new("root@example.com")).await;
    let (victim, _) = db.user_with_session().await;
    let app = app(&db.url, &[("ADMIN_USER_IDS", &admin)]);
    // No admin-plugin columns: a ban cannot be stored.
    let reply = send(
        handle,
        &app,
        &ApiRequest::new(Api::Rest, "POST", &format!("/users/{victim}/ban"))
            .as_user(&admin, "s", "user"),
    )
    .await;
    assert_eq!(
        (reply.status, reply.body["code"].clone()),
        (500, json!("NOT_SUPPORTED"))
    );
    assert_eq!(db.count("user_sessions").await, 1);
    // ADMIN_USER_IDS makes an admin whatever the role.
    let reply = send(
        handle,
        &app,
        &ApiRequest::new(Api::Rest, "GET", "/users").as_user(&admin, "s", "user"),
    )
    .await;
    assert_eq!(reply.status, 200);
}

/// Security review finding (issue 13; this test failed before its fix): the self-ban check
/// compares UUIDs, not spellings (upper case, no hyphens).
#[tokio::test]
async fn an_admin_cannot_ban_themselves_by_spelling_their_uuid_differently() {
    let db = TestDb::new(Variant::RenamedSnakeUuid).await;
    let mut admin = NewUser::new("admin@example.com");
    admin.role = Some("admin".into());
    let admin = db.create_user(&admin).await;
    let session = db
        .create_session(&admin, Utc::now() + Duration::hours(1))
        .await;
    let app = app(&db.url, &[]);
    for spelling in [admin.to_uppercase(), admin.replace('-', "")] {
        let reply = send(
            users::handler::handle,
            &app,
            &ApiRequest::new(Api::Rest, "POST", &format!("/users/{spelling}/ban"))
                .header("authorization", &format!("Bearer {}", session.token)),
        )
        .await;
        assert_eq!(
            (reply.status, reply.body["code"].as_str()),
            (400, Some("YOU_CANNOT_BAN_YOURSELF")),
            "{spelling}"
        );
    }
    assert_eq!(db.sessions_of(&admin).await, 1);
}

/// Security review finding (issue 13; this test failed before its fix): roles are split on commas
/// without trimming, as Better Auth splits them: `"user, admin"` is not an admin.
#[tokio::test]
async fn roles_are_split_as_better_auth_splits_them() {
    let db = TestDb::new(Variant::Default).await;
    let mut spaced = NewUser::new("spaced@example.com");
    spaced.role = Some("user, admin".into());
    let spaced = db.create_user(&spaced).await;
    let session = db
        .create_session(&spaced, Utc::now() + Duration::hours(1))
        .await;
    let app = app(&db.url, &[]);
    let reply = send(
        users::handler::handle,
        &app,
        &ApiRequest::new(Api::Http, "GET", "/users")
            .header("authorization", &format!("Bearer {}", session.token)),
    )
    .await;
    assert_eq!(
        reply.status, 403,
        "\"user, admin\" holds \" admin\", not admin"
    );
}

/// A role the caller carries as a copy (a JWT's claims, a cookie cache) may predate a demotion:
/// an admin by role is confirmed by the role PostgreSQL holds now. And admin power comes only
/// with the user's own credential, named positively (`verifiedBy` session, jwt or cookie-cache):
/// a context that says another method vouched grants none (review of issue 27's F9/S1 fixes).
#[tokio::test]
async fn an_admin_role_carried_as_a_copy_is_confirmed_and_only_own_credentials_grant_it() {
    let db = TestDb::new(Variant::Default).await;
    let demoted = db.create_user(&NewUser::new("demoted@example.com")).await;
    let mut admin = NewUser::new("admin@example.com");
    admin.role = Some("admin".into());
    let admin = db.create_user(&admin).await;
    let app = app(&db.url, &[]);
    let list = |who: &str, verified_by: &str| {
        ApiRequest::new(Api::Http, "GET", "/users")
            .as_user(who, "", "admin")
            .context_field("verifiedBy", verified_by)
    };
    for copy in ["jwt", "cookie-cache"] {
        let reply = send(handle, &app, &list(&demoted, copy)).await;
        assert_eq!(reply.status, 403, "{copy}: {}", reply.body);
        let reply = send(handle, &app, &list(&admin, copy)).await;
        assert_eq!(reply.status, 200, "{copy}: {}", reply.body);
    }
    // The role read from the database in this request's own lookup is current.
    let reply = send(handle, &app, &list(&admin, "session")).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    // Another method (an OAuth token, a method added later) grants no admin power.
    let reply = send(handle, &app, &list(&admin, "oauth")).await;
    assert_eq!(reply.status, 403, "{}", reply.body);
}

/// `ADMIN_ROLES` (deprecated) still works while `BETTER_AUTH_ACCESS_CONTROL` is unset: its roles
/// get Better Auth's default `admin` statements, so they list, ban and set roles; other roles
/// get nothing. Once `BETTER_AUTH_ACCESS_CONTROL` is set, it alone decides (`ADMIN_ROLES` is
/// ignored), and `ASSIGNABLE_ROLES` naming a role that is not one stops the start.
#[tokio::test]
async fn the_deprecated_admin_roles_grant_the_default_admin_statements() {
    let db = TestDb::new(Variant::Default).await;
    let mut staff = NewUser::new("staff@example.com");
    staff.role = Some("staff".into());
    let staff = db.create_user(&staff).await;
    let staff_session = db
        .create_session(&staff, Utc::now() + Duration::hours(1))
        .await;
    let (alice, _) = db.user_with_session().await;
    let bearer = |token: &str, method: &str, path: &str| {
        ApiRequest::new(Api::Rest, method, path).header("authorization", &format!("Bearer {token}"))
    };
    let alias = app(
        &db.url,
        &[("ADMIN_ROLES", "staff"), ("ASSIGNABLE_ROLES", "staff,user")],
    );
    let list = send(
        handle,
        &alias,
        &bearer(&staff_session.token, "GET", "/users"),
    )
    .await;
    assert_eq!(list.status, 200, "{}", list.body);
    let ban_path = format!("/users/{alice}/ban");
    let ban = send(
        handle,
        &alias,
        &bearer(&staff_session.token, "POST", &ban_path).json(&json!({})),
    )
    .await;
    assert_eq!(ban.status, 200, "{}", ban.body);
    let unban = send(
        handle,
        &alias,
        &bearer(&staff_session.token, "DELETE", &ban_path),
    )
    .await;
    assert_eq!(unban.status, 200, "{}", unban.body);
    let role = send(
        handle,
        &alias,
        &bearer(&staff_session.token, "PUT", &format!("/users/{alice}/role"))
            .json(&json!({"role": "staff"})),
    )
    .await;
    assert_eq!(role.body["user"]["role"], "staff", "{}", role.body);
    db.execute("UPDATE \"user\" SET role = 'user' WHERE id = $1", &[&alice])
        .await;
    // Her sessions ended with the ban: a new one, as a plain user.
    let alice_session = db
        .create_session(&alice, Utc::now() + Duration::hours(1))
        .await;
    let refused = send(
        handle,
        &alias,
        &bearer(&alice_session.token, "GET", "/users"),
    )
    .await;
    assert_eq!(
        (refused.status, refused.body["code"].clone()),
        (403, json!("FORBIDDEN"))
    );

    // The access control set: its statements decide; staff is no role of it.
    let roles = r#"{"roles":{"admin":{"user":["list"]},"user":{"user":[]}}}"#;
    let with_roles = app(
        &db.url,
        &[
            ("ADMIN_ROLES", "staff"),
            ("BETTER_AUTH_ACCESS_CONTROL", roles),
        ],
    );
    let list = send(
        handle,
        &with_roles,
        &bearer(&staff_session.token, "GET", "/users"),
    )
    .await;
    assert_eq!(list.status, 403, "{}", list.body);

    for (extra, unknown) in [
        (vec![("ASSIGNABLE_ROLES", "admin,superuser")], "superuser"),
        (
            vec![
                ("BETTER_AUTH_ACCESS_CONTROL", roles),
                ("ASSIGNABLE_ROLES", "user,staff"),
            ],
            "staff",
        ),
    ] {
        let vars: Vec<(&str, String)> = [
            ("DATABASE_URL", db.url.clone()),
            ("BETTER_AUTH_SECRET", test_support::http::TEST_SECRET.into()),
        ]
        .into_iter()
        .chain(extra.iter().map(|(k, v)| (*k, (*v).to_owned())))
        .collect();
        let error = App::from_lookup(|k| {
            vars.iter()
                .find(|(name, _)| *name == k)
                .map(|(_, v)| v.clone())
        })
        .expect_err("an unknown assignable role stops the start")
        .to_string();
        assert!(
            error.contains("ASSIGNABLE_ROLES") && error.contains(&format!("\"{unknown}\"")),
            "{error}"
        );
    }
}
