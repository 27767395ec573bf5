//! API keys made by the real Better Auth (`@better-auth/api-key`): for each case our decision is
//! compared with Better Auth's own `verifyApiKey` on the same database, and both count in the
//! same rows.

use std::sync::Arc;
use std::time::Duration;

use auth_core::Authenticator;
use lambda_runtime::{Context, LambdaEvent};
use serde_json::{Value, json};
use test_support::better_auth::{BetterAuthServer, Profile, ServerOptions, Version};
use test_support::events::{Shape, event, with_header};
use test_support::{TestDb, random_token};

pub(crate) const SECRET: &str = "api-key-test-secret-0123456789abcdefghijk";

/// Our authorizer's answer.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Ours {
    Allow(Value),
    /// 401 (REST) or `isAuthorized: false` (HTTP API) without a reason.
    Refused,
    /// A REST Deny (403), with its reason.
    Deny(String),
    Error,
}

pub(crate) struct Fixture {
    pub(crate) db: TestDb,
    pub(crate) ba: BetterAuthServer,
    /// `BETTER_AUTH_METHODS=api-key,session`.
    auth: Authenticator,
    /// `BETTER_AUTH_METHODS=api-key`: a TOKEN authorizer's identity source is the key.
    keys_only: Authenticator,
    owner: String,
    /// The owner's session token (signed up through Better Auth).
    owner_token: String,
}

async fn start() -> Fixture {
    start_on(Version::V1_7).await
}

async fn start_on(version: Version) -> Fixture {
    let db = Profile::Default.database().await;
    let mut options = ServerOptions::new(Profile::Default, SECRET);
    options.api_keys = true;
    options.version = version;
    let ba = BetterAuthServer::start(&db, options).await;
    let owner = ba
        .sign_up(&format!("owner-{}@example.com", random_token(6)))
        .await;
    let auth = test_support::authenticator(
        &db.url,
        SECRET,
        &[("BETTER_AUTH_METHODS", "api-key,session")],
    );
    let keys_only =
        test_support::authenticator(&db.url, SECRET, &[("BETTER_AUTH_METHODS", "api-key")]);
    Fixture {
        db,
        ba,
        auth,
        keys_only,
        owner: owner.user_id,
        owner_token: owner.token,
    }
}

impl Fixture {
    /// A key for the owner, made server-side with `options` (the plugin's defaults otherwise).
    async fn key(&self, options: Value) -> (String, String) {
        let mut body = json!({"userId": self.owner, "name": "test key"});
        if let (Some(body), Some(options)) = (body.as_object_mut(), options.as_object()) {
            body.extend(options.clone());
        }
        let made = self.ba.create_api_key(body).await;
        (
            made["key"].as_str().expect("the plaintext key").to_owned(),
            made["id"].as_str().expect("id").to_owned(),
        )
    }

    pub(crate) async fn ours_with(&self, auth: &Authenticator, shape: Shape, key: &str) -> Ours {
        let payload = with_header(shape, event(shape, None, None), "x-api-key", key);
        decide(auth, payload).await
    }

    pub(crate) async fn ours(&self, shape: Shape, key: &str) -> Ours {
        let auth = if shape == Shape::RestToken {
            &self.keys_only
        } else {
            &self.auth
        };
        self.ours_with(auth, shape, key).await
    }

    /// Better Auth's `verifyApiKey`: `Ok(owner)` or `Err(code)`.
    async fn theirs(&self, key: &str) -> Result<String, String> {
        let answer = self.ba.verify_api_key(key).await;
        if answer["valid"] == json!(true) {
            Ok(answer["key"]["referenceId"]
                .as_str()
                .expect("referenceId")
                .to_owned())
        } else {
            Err(answer["error"]["code"].as_str().unwrap_or("?").to_owned())
        }
    }

    pub(crate) async fn column(&self, id: &str, column: &str) -> Option<String> {
        let sql = format!("SELECT \"{column}\"::text FROM apikey WHERE id::text = $1");
        self.db
            .client
            .query_opt(&sql, &[&id])
            .await
            .expect("apikey row")
            .and_then(|row| row.get::<_, Option<String>>(0))
    }

    pub(crate) async fn exists(&self, id: &str) -> bool {
        self.db
            .client
            .query_opt("SELECT 1 FROM apikey WHERE id::text = $1", &[&id])
            .await
            .expect("query")
            .is_some()
    }
}

pub(crate) async fn decide(auth: &Authenticator, payload: Value) -> Ours {
    let result =
        authorizer::handler::handle_json(auth, LambdaEvent::new(payload, Context::default())).await;
    match result {
        Err(authorizer::handler::AuthorizerError::Unauthorized) => Ours::Refused,
        Err(authorizer::handler::AuthorizerError::Internal) => Ours::Error,
        Ok(v) if v["isAuthorized"] == json!(true) => Ours::Allow(v["context"].clone()),
        Ok(v) if v["isAuthorized"] == json!(false) => Ours::Refused,
        Ok(v) if v["policyDocument"]["Statement"][0]["Effect"] == json!("Allow") => {
            // The user, or `organization:<id>` for an organization's key (never a bare id).
            let principal = match v["context"].get("userId") {
                Some(user) => user.clone(),
                None => json!(format!(
                    "organization:{}",
                    v["context"]["organizationId"]
                        .as_str()
                        .expect("a principal")
                )),
            };
            assert_eq!(v["principalId"], principal);
            Ours::Allow(v["context"].clone())
        }
        Ok(v) if v["policyDocument"]["Statement"][0]["Effect"] == json!("Deny") => Ours::Deny(
            v["context"]["reason"]
                .as_str()
                .unwrap_or_default()
                .to_owned(),
        ),
        Ok(v) => panic!("unexpected authorizer answer {v}"),
    }
}

pub(crate) fn allowed(ours: &Ours) -> bool {
    matches!(ours, Ours::Allow(_))
}

#[tokio::test]
async fn a_key_made_by_better_auth_opens_our_api_in_every_event_shape() {
    let f = start().await;
    let (key, id) = f
        .key(json!({"rateLimitEnabled": false, "prefix": "live_"}))
        .await;
    assert!(key.starts_with("live_"));
    for shape in Shape::ALL {
        match f.ours(shape, &key).await {
            Ours::Allow(context) => {
                assert_eq!(context["userId"], json!(f.owner), "{shape:?}");
                assert_eq!(context["apiKeyId"], json!(id));
                assert_eq!(context["authMethod"], "api_key");
                assert_eq!(context["verifiedBy"], "api-key");
                assert_eq!(context["sessionId"], "");
                assert!(context.get("remaining").is_none(), "not counted: {context}");
                assert!(
                    !context.to_string().contains(&key),
                    "the key never appears in the context"
                );
            }
            other => panic!("{shape:?}: {other:?}"),
        }
    }
    assert_eq!(f.theirs(&key).await, Ok(f.owner.clone()));
    // A key nobody made, and the same key without its prefix: refused by both.
    for unknown in [format!("live_{}", random_token(64)), key[5..].to_owned()] {
        assert_eq!(f.ours(Shape::RestRequest, &unknown).await, Ours::Refused);
        assert_eq!(f.ours(Shape::HttpV2, &unknown).await, Ours::Refused);
        assert_eq!(f.ours(Shape::RestToken, &unknown).await, Ours::Refused);
        assert!(f.theirs(&unknown).await.is_err());
    }
    // Deleted in Better Auth's table: refused by both.
    f.db.client
        .execute("DELETE FROM apikey WHERE id = $1", &[&id])
        .await
        .expect("delete");
    assert_eq!(f.ours(Shape::HttpV2, &key).await, Ours::Refused);
    assert!(f.theirs(&key).await.is_err());
}

#[tokio::test]
async fn a_quota_is_shared_and_stops_where_better_auth_stops() {
    quota_flow(start().await).await;
}

#[tokio::test]
async fn better_auth_1_6_keys_are_counted_the_same() {
    let f = start_on(Version::V1_6).await;
    let (key, _) = f.key(json!({"rateLimitEnabled": false})).await;
    for shape in Shape::ALL {
        assert!(allowed(&f.ours(shape, &key).await), "{shape:?}");
    }
    assert_eq!(f.theirs(&key).await, Ok(f.owner.clone()));
    quota_flow(f).await;
    let f = start_on(Version::V1_6).await;
    rate_limit_flow(&f).await;
}

async fn quota_flow(f: Fixture) {
    let (key, id) = f
        .key(json!({"remaining": 4, "rateLimitEnabled": false}))
        .await;
    match f.ours(Shape::RestRequest, &key).await {
        Ours::Allow(context) => assert_eq!(context["remaining"], "3"),
        other => panic!("{other:?}"),
    }
    assert!(f.theirs(&key).await.is_ok());
    assert!(allowed(&f.ours(Shape::HttpV2, &key).await));
    assert_eq!(f.column(&id, "remaining").await.as_deref(), Some("1"));
    assert!(f.theirs(&key).await.is_ok());
    assert_eq!(f.column(&id, "remaining").await.as_deref(), Some("0"));
    // Used up, no refill: refused (a Deny: the key is known, it may not be used), and the key is
    // deleted, as Better Auth deletes it.
    assert_eq!(
        f.ours(Shape::RestRequest, &key).await,
        Ours::Deny("usage_exceeded".into())
    );
    assert!(!f.exists(&id).await);
    assert!(f.theirs(&key).await.is_err());

    // The other way round: Better Auth uses the last one, we refuse.
    let (key, _) = f
        .key(json!({"remaining": 1, "rateLimitEnabled": false}))
        .await;
    assert!(f.theirs(&key).await.is_ok());
    assert_eq!(
        f.ours(Shape::HttpV2, &key).await,
        Ours::Refused,
        "HTTP API: isAuthorized false"
    );
    assert!(f.theirs(&key).await.is_err());
}

#[tokio::test]
async fn refills_follow_better_auths_clock() {
    let f = start().await;
    let (key, id) = f
        .key(json!({"remaining": 1, "refillAmount": 2, "refillInterval": 4000, "rateLimitEnabled": false}))
        .await;
    // The first refill is due `refillInterval` (4 s: steps between two refills must fit in it
    // on a loaded CI machine) after creation: wait it out, then both count.
    tokio::time::sleep(Duration::from_millis(4100)).await;
    assert!(
        allowed(&f.ours(Shape::RestRequest, &key).await),
        "refilled to 2, one used"
    );
    assert_eq!(f.column(&id, "remaining").await.as_deref(), Some("1"));
    assert!(f.theirs(&key).await.is_ok());
    assert_eq!(
        f.ours(Shape::RestRequest, &key).await,
        Ours::Deny("usage_exceeded".into())
    );
    assert_eq!(f.theirs(&key).await, Err("USAGE_EXCEEDED".into()));
    assert!(f.exists(&id).await, "a key with a refill is kept");
    tokio::time::sleep(Duration::from_millis(4100)).await;
    assert!(f.theirs(&key).await.is_ok(), "Better Auth refills");
    assert!(
        allowed(&f.ours(Shape::HttpV2, &key).await),
        "the refill is ours too"
    );
    assert_eq!(f.theirs(&key).await, Err("USAGE_EXCEEDED".into()));
}

#[tokio::test]
async fn a_rate_limit_is_shared_and_resets_with_its_window() {
    rate_limit_flow(&start().await).await;
}

async fn rate_limit_flow(f: &Fixture) {
    let (key, _) = f
        .key(json!({"rateLimitEnabled": true, "rateLimitMax": 3, "rateLimitTimeWindow": 4000}))
        .await;
    assert!(allowed(&f.ours(Shape::RestRequest, &key).await));
    assert!(f.theirs(&key).await.is_ok());
    assert!(allowed(&f.ours(Shape::HttpV2, &key).await));
    assert_eq!(f.theirs(&key).await, Err("RATE_LIMITED".into()));
    assert_eq!(
        f.ours(Shape::RestRequest, &key).await,
        Ours::Deny("rate_limited".into())
    );
    tokio::time::sleep(Duration::from_millis(4100)).await;
    assert!(
        allowed(&f.ours(Shape::RestRequest, &key).await),
        "a new window"
    );
    assert!(f.theirs(&key).await.is_ok());
}

#[tokio::test]
async fn disabled_and_expired_keys_are_refused_by_both() {
    let f = start().await;
    let (disabled, disabled_id) = f.key(json!({"rateLimitEnabled": false})).await;
    f.db.client
        .execute(
            "UPDATE apikey SET enabled = false WHERE id = $1",
            &[&disabled_id],
        )
        .await
        .expect("disable");
    assert_eq!(f.ours(Shape::RestRequest, &disabled).await, Ours::Refused);
    assert_eq!(f.theirs(&disabled).await, Err("KEY_DISABLED".into()));
    assert!(f.exists(&disabled_id).await, "a disabled key is kept");

    let (expired, expired_id) = f.key(json!({"rateLimitEnabled": false})).await;
    f.db.client
        .execute(
            "UPDATE apikey SET \"expiresAt\" = now() - interval '1 minute' WHERE id = $1",
            &[&expired_id],
        )
        .await
        .expect("expire");
    assert_eq!(f.ours(Shape::HttpV2, &expired).await, Ours::Refused);
    assert!(
        !f.exists(&expired_id).await,
        "deleted, as Better Auth deletes it"
    );
    assert!(f.theirs(&expired).await.is_err());

    let (later, later_id) = f
        .key(json!({"rateLimitEnabled": false, "expiresIn": 86_400 * 2}))
        .await;
    match f.ours(Shape::RestRequest, &later).await {
        Ours::Allow(context) => assert!(context["expiresAt"].is_string()),
        other => panic!("{other:?}"),
    }
    assert!(f.exists(&later_id).await);
}

/// Deliberately stricter than Better Auth: a banned owner's keys are refused (403), and the
/// refused use is not counted.
#[tokio::test]
async fn a_banned_owners_keys_are_refused_by_us_only() {
    let f = start().await;
    let (key, id) = f
        .key(json!({"remaining": 5, "rateLimitEnabled": false}))
        .await;
    f.db.client
        .execute(
            "UPDATE \"user\" SET banned = true WHERE id = $1",
            &[&f.owner],
        )
        .await
        .expect("ban");
    assert_eq!(
        f.ours(Shape::RestRequest, &key).await,
        Ours::Deny("user_banned".into())
    );
    assert_eq!(f.ours(Shape::HttpV2, &key).await, Ours::Refused);
    assert_eq!(
        f.column(&id, "remaining").await.as_deref(),
        Some("5"),
        "not counted"
    );
    assert!(
        f.theirs(&key).await.is_ok(),
        "Better Auth does not check bans on keys"
    );
    f.db.client
        .execute(
            "UPDATE \"user\" SET banned = true, \"banExpires\" = now() - interval '1 second' WHERE id = $1",
            &[&f.owner],
        )
        .await
        .expect("an expired ban");
    assert!(allowed(&f.ours(Shape::RestRequest, &key).await));

    // BETTER_AUTH_REQUIRE_EMAIL_VERIFIED applies to keys too.
    let strict = test_support::authenticator(
        &f.db.url,
        SECRET,
        &[
            ("BETTER_AUTH_METHODS", "api-key"),
            ("BETTER_AUTH_REQUIRE_EMAIL_VERIFIED", "true"),
        ],
    );
    let before = f.column(&id, "remaining").await;
    assert_eq!(
        f.ours_with(&strict, Shape::RestRequest, &key).await,
        Ours::Deny("email_not_verified".into())
    );
    assert_eq!(f.column(&id, "remaining").await, before, "not counted");
}

#[tokio::test]
async fn hostile_header_values_are_refused_and_change_nothing() {
    let f = start().await;
    let (key, id) = f
        .key(json!({"remaining": 3, "rateLimitEnabled": false}))
        .await;
    let long = "k".repeat(64 * 1024);
    for hostile in [
        "' OR 1=1 --",
        "x'; DELETE FROM apikey; --",
        long.as_str(),
        "abc\u{0}def",
        "\u{7f}",
        "key with spaces",
    ] {
        for shape in Shape::ALL {
            let ours = f.ours(shape, hostile).await;
            assert!(
                matches!(ours, Ours::Refused),
                "{shape:?} {:?}: {ours:?}",
                &hostile[..hostile.len().min(20)]
            );
        }
    }
    assert_eq!(f.column(&id, "remaining").await.as_deref(), Some("3"));
    assert!(allowed(&f.ours(Shape::RestRequest, &key).await));
    // Two different keys in one request: refused, neither counted.
    let (other, other_id) = f
        .key(json!({"remaining": 3, "rateLimitEnabled": false}))
        .await;
    let mut payload = event(Shape::RestRequest, None, None);
    payload["multiValueHeaders"]["x-api-key"] = json!([key, other]);
    assert_eq!(decide(&f.auth, payload).await, Ours::Refused);
    assert_eq!(f.column(&other_id, "remaining").await.as_deref(), Some("3"));
    assert_eq!(f.column(&id, "remaining").await.as_deref(), Some("2"));
}

/// 50 simultaneous uses across 5 simulated containers (each its own pool): exactly what the
/// quota, or the rate limit, allows.
#[tokio::test]
async fn concurrent_containers_never_spend_more_than_allowed() {
    let f = start().await;
    let containers: Vec<Arc<Authenticator>> = (0..5)
        .map(|_| {
            Arc::new(test_support::authenticator(
                &f.db.url,
                SECRET,
                &[
                    ("BETTER_AUTH_METHODS", "api-key"),
                    ("DATABASE_POOL_MAX_SIZE", "4"),
                ],
            ))
        })
        .collect();
    let burst = |key: String| {
        let containers = containers.clone();
        async move {
            let mut tasks = Vec::new();
            for i in 0..50 {
                let auth = Arc::clone(&containers[i % containers.len()]);
                let key = key.clone();
                tasks.push(tokio::spawn(async move {
                    let payload = with_header(
                        Shape::HttpV2,
                        event(Shape::HttpV2, None, None),
                        "x-api-key",
                        &key,
                    );
                    decide(&auth, payload).await
                }));
            }
            let mut allowed_count = 0;
            for task in tasks {
                match task.await.expect("task") {
                    Ours::Allow(_) => allowed_count += 1,
                    Ours::Refused => {}
                    other => panic!("{other:?}"),
                }
            }
            allowed_count
        }
    };
    let (quota, _) = f
        .key(json!({"remaining": 10, "rateLimitEnabled": false}))
        .await;
    assert_eq!(burst(quota).await, 10, "the quota");
    let (limited, id) = f
        .key(json!({"rateLimitEnabled": true, "rateLimitMax": 10, "rateLimitTimeWindow": 60_000}))
        .await;
    assert_eq!(burst(limited).await, 10, "the rate limit");
    assert_eq!(f.column(&id, "requestCount").await.as_deref(), Some("10"));
}

/// The account functions accept keys when they check a request themselves (no authorizer in
/// front), list a user's keys without their hash, and delete them: Better Auth then refuses the
/// key too.
#[tokio::test]
async fn the_account_functions_accept_list_and_delete_keys() {
    use test_support::http::{Api, ApiRequest, send};
    let f = start().await;
    let app = account_api::http::App::from_lookup(|k| match k {
        "DATABASE_URL" => Some(f.db.url.clone()),
        "BETTER_AUTH_SECRET" => Some(SECRET.to_owned()),
        "BETTER_AUTH_METHODS" => Some("api-key,session".to_owned()),
        _ => None,
    })
    .expect("app");
    let (key, id) = f
        .key(json!({"remaining": 10, "rateLimitEnabled": false, "prefix": "ci_"}))
        .await;

    let me = send(
        me::handler::handle,
        &app,
        &ApiRequest::new(Api::Http, "GET", "/auth/me").header("x-api-key", &key),
    )
    .await;
    assert_eq!((me.status, me.body["id"].clone()), (200, json!(f.owner)));
    assert_eq!(
        f.column(&id, "remaining").await.as_deref(),
        Some("9"),
        "counted"
    );
    let verified = send(
        me::handler::handle,
        &app,
        &ApiRequest::new(Api::Http, "POST", "/auth/verify").header("x-api-key", &key),
    )
    .await;
    assert_eq!(verified.body["valid"], json!(true));
    assert_eq!(verified.body["verifiedBy"], "api-key");

    let listed = send(
        me::handler::handle,
        &app,
        &ApiRequest::new(Api::Http, "GET", "/auth/api-keys").header("x-api-key", &key),
    )
    .await;
    assert_eq!(listed.status, 200, "{}", listed.body);
    let keys = listed.body["apiKeys"].as_array().expect("a list");
    assert_eq!(keys.len(), 1);
    assert_eq!(keys[0]["id"], json!(id));
    assert_eq!(keys[0]["prefix"], "ci_");
    assert_eq!(
        keys[0]["remaining"],
        json!(7),
        "every request with the key is a use: /auth/me, /auth/verify, this one"
    );
    assert!(keys[0].get("key").is_none());
    let text = listed.body.to_string();
    assert!(!text.contains(&key) && !text.contains(&auth_core::methods::api_key::hash_key(&key)));

    // Someone else may neither list nor delete it; an admin may list it.
    let other =
        f.ba.sign_up(&format!("other-{}@example.com", random_token(6)))
            .await;
    let bearer = format!("Bearer {}", other.token);
    let theirs = send(
        users::handler::handle,
        &app,
        &ApiRequest::new(Api::Http, "GET", &format!("/users/{}/api-keys", f.owner))
            .header("authorization", &bearer),
    )
    .await;
    assert_eq!(theirs.status, 403);
    let delete = |who: &str| {
        ApiRequest::new(Api::Http, "DELETE", &format!("/auth/api-keys/{id}"))
            .header("authorization", who)
    };
    let refused = send(me::handler::handle, &app, &delete(&bearer)).await;
    assert_eq!(
        (refused.status, refused.body["code"].as_str()),
        (404, Some("API_KEY_NOT_FOUND"))
    );
    assert!(f.exists(&id).await);
    let admin_list = send(
        users::handler::handle,
        &app,
        &ApiRequest::new(Api::Http, "GET", &format!("/users/{}/api-keys", f.owner)).as_user(
            &other.user_id,
            "-",
            "admin",
        ),
    )
    .await;
    assert_eq!(admin_list.status, 200, "{}", admin_list.body);

    let deleted = send(
        me::handler::handle,
        &app,
        &delete(&format!("Bearer {}", f.owner_token)),
    )
    .await;
    assert_eq!(deleted.body, json!({"success": true}));
    assert!(!f.exists(&id).await);
    assert!(f.theirs(&key).await.is_err(), "Better Auth refuses it too");
    assert_eq!(f.ours(Shape::HttpV2, &key).await, Ours::Refused);
}

/// Issue 27, F9: an admin's API key does not carry the admin's power (a key made with narrow
/// `permissions` must not ban anyone or list every user); the same admin's session does. Both
/// when the function verifies the key itself and when the authorizer's context says a key
/// vouched. Self-access with the key is unchanged.
#[tokio::test]
async fn an_admins_api_key_has_no_admin_power() {
    use test_support::http::{Api, ApiRequest, send};
    let f = start().await;
    let owner = f.owner.clone();
    let app = account_api::http::App::from_lookup(|k| match k {
        "DATABASE_URL" => Some(f.db.url.clone()),
        "BETTER_AUTH_SECRET" => Some(SECRET.to_owned()),
        "BETTER_AUTH_METHODS" => Some("api-key,session".to_owned()),
        "ADMIN_USER_IDS" => Some(owner.clone()),
        _ => None,
    })
    .expect("app");
    let (key, id) = f
        .key(json!({"rateLimitEnabled": false, "permissions": {"order": ["read"]}}))
        .await;
    let list_users = || ApiRequest::new(Api::Http, "GET", "/users");
    let with_session = send(
        users::handler::handle,
        &app,
        &list_users().header("authorization", &format!("Bearer {}", f.owner_token)),
    )
    .await;
    assert_eq!(with_session.status, 200, "{}", with_session.body);
    let with_key = send(
        users::handler::handle,
        &app,
        &list_users().header("x-api-key", &key),
    )
    .await;
    assert_eq!(with_key.status, 403, "{}", with_key.body);
    let behind_authorizer = send(
        users::handler::handle,
        &app,
        &list_users()
            .as_user(&owner, "", "admin")
            .context_field("apiKeyId", &id),
    )
    .await;
    assert_eq!(behind_authorizer.status, 403, "{}", behind_authorizer.body);
    let ban = send(
        users::handler::handle,
        &app,
        &ApiRequest::new(
            Api::Http,
            "POST",
            &format!("/users/{}/ban", random_token(8)),
        )
        .header("x-api-key", &key)
        .json(&json!({})),
    )
    .await;
    assert_eq!(ban.status, 403, "{}", ban.body);
    let own = send(
        me::handler::handle,
        &app,
        &ApiRequest::new(Api::Http, "GET", "/auth/me").header("x-api-key", &key),
    )
    .await;
    assert_eq!((own.status, own.body["id"].clone()), (200, json!(owner)));
}

/// Neither the key nor its hash (a query parameter) reaches the logs, whatever `RUST_LOG` says.
#[tokio::test]
async fn no_key_reaches_the_logs_at_any_level() {
    let db = TestDb::new(test_support::Variant::Default).await;
    let user = db
        .create_user(&test_support::NewUser::new("machine@example.com"))
        .await;
    let key = random_token(64);
    let hash = auth_core::methods::api_key::hash_key(&key);
    db.execute(
        "INSERT INTO apikey (id, \"configId\", \"referenceId\", key, enabled, \"rateLimitEnabled\", \"createdAt\", \"updatedAt\") VALUES ('k', 'default', $1, $2, true, false, now(), now())",
        &[&user, &hash],
    )
    .await;
    for rust_log in [
        "trace",
        "debug",
        "trace,tokio_postgres=trace,postgres_protocol=trace",
    ] {
        let (guard, logs) = test_support::logs::capture_at(rust_log);
        let auth = test_support::authenticator(
            &db.url,
            test_support::http::TEST_SECRET,
            &[("BETTER_AUTH_METHODS", "api-key")],
        );
        let payload = with_header(
            Shape::RestRequest,
            event(Shape::RestRequest, None, None),
            "x-api-key",
            &key,
        );
        assert!(allowed(&decide(&auth, payload).await), "{rust_log}");
        drop(guard);
        let text = logs.text();
        assert!(!text.is_empty(), "{rust_log}: something is logged");
        assert!(!text.contains(&key), "{rust_log}: the key was logged");
        assert!(
            !text.contains(&hash),
            "{rust_log}: the key's hash was logged"
        );
        assert!(
            text.contains(&auth_core::telemetry::fingerprint(&key)),
            "{rust_log}: its fingerprint is"
        );
    }
}

/// The plugin's configurations in the issue-27 F1 tests: user keys (`default`, and `ci`, a second
/// user configuration) and organization keys (`org`, read by Better Auth's session hook from a
/// header of its own so that the hook reaches its reference check).
const TWO_CONFIGS: &str = r#"[
    {"configId": "default", "enableSessionForAPIKeys": true},
    {"configId": "ci", "defaultPrefix": "ci_"},
    {"configId": "org", "references": "organization", "enableSessionForAPIKeys": true,
     "apiKeyHeaders": "x-org-api-key"}
]"#;

/// Serial ids, three key configurations and the organization plugin: `twin` is user N,
/// `org` is organization N (made by `admin`, its owner), `org_key` is the organization's key
/// (`referenceId` N, like the twin's id) and `user_key` the twin's own.
pub(crate) struct Twins {
    pub(crate) f: Fixture,
    pub(crate) twin: test_support::better_auth::SignedIn,
    pub(crate) admin: test_support::better_auth::SignedIn,
    pub(crate) org: String,
    pub(crate) org_key: (String, String),
    pub(crate) user_key: (String, String),
}

/// An id as Better Auth answers it (a string, or a number with serial ids).
pub(crate) fn id_text(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        other => panic!("not an id: {other}"),
    }
}

pub(crate) async fn twins() -> Twins {
    let db = Profile::Default.database().await;
    let mut options = ServerOptions::new(Profile::Default, SECRET);
    options.api_keys = true;
    options.organizations = true;
    options.serial_ids = true;
    options.api_key_configs = Some(TWO_CONFIGS.to_owned());
    let ba = BetterAuthServer::start(&db, options).await;
    let twin = ba
        .sign_up(&format!("twin-{}@example.com", random_token(6)))
        .await;
    let admin = ba
        .sign_up(&format!("org-admin-{}@example.com", random_token(6)))
        .await;
    let created = ba
        .post_ok(
            "/organization/create",
            json!({"name": "Twin Org", "slug": format!("twin-{}", random_token(6).to_lowercase())}),
            &test_support::better_auth::Credential::Bearer(admin.token.clone()),
        )
        .await;
    let org = id_text(&created["id"]);
    assert_eq!(
        org, twin.user_id,
        "serial ids: the organization and the twin share their number"
    );
    let made = |body: Value| {
        let ba = &ba;
        async move {
            let made = ba.create_api_key(body).await;
            (
                made["key"].as_str().expect("the plaintext key").to_owned(),
                id_text(&made["id"]),
            )
        }
    };
    let org_key = made(json!({
        "configId": "org", "organizationId": org, "userId": admin.user_id,
        "remaining": 5, "rateLimitEnabled": false,
    }))
    .await;
    let user_key = made(json!({
        "userId": twin.user_id, "remaining": 5, "rateLimitEnabled": false,
    }))
    .await;
    let auth = test_support::authenticator(
        &db.url,
        SECRET,
        &[("BETTER_AUTH_METHODS", "api-key,session")],
    );
    let keys_only =
        test_support::authenticator(&db.url, SECRET, &[("BETTER_AUTH_METHODS", "api-key")]);
    let f = Fixture {
        db,
        ba,
        auth,
        keys_only,
        owner: twin.user_id.clone(),
        owner_token: twin.token.clone(),
    };
    Twins {
        f,
        twin,
        admin,
        org,
        org_key,
        user_key,
    }
}

/// Issue 27 F1: keys of a configuration `BETTER_AUTH_API_KEY_CONFIGS` does not list are refused
/// and not counted (the default lists `default` only); listed, they work.
#[tokio::test]
async fn a_key_of_an_unlisted_configuration_is_refused() {
    let t = twins().await;
    let f = &t.f;
    let made =
        f.ba.create_api_key(json!({
            "configId": "ci", "userId": t.twin.user_id, "remaining": 5, "rateLimitEnabled": false,
        }))
        .await;
    let key = made["key"].as_str().expect("the plaintext key").to_owned();
    let id = id_text(&made["id"]);
    assert!(f.ba.verify_api_key_in(&key, "ci").await["valid"] == json!(true));
    let remaining = f.column(&id, "remaining").await;
    for shape in Shape::ALL {
        assert_eq!(f.ours(shape, &key).await, Ours::Refused, "{shape:?}");
    }
    assert_eq!(f.column(&id, "remaining").await, remaining, "not counted");
    let listing_ci = test_support::authenticator(
        &f.db.url,
        SECRET,
        &[
            ("BETTER_AUTH_METHODS", "api-key"),
            (
                "BETTER_AUTH_API_KEY_CONFIGS",
                r#"[{"configId":"default"},{"configId":"ci"}]"#,
            ),
        ],
    );
    match f.ours_with(&listing_ci, Shape::HttpV2, &key).await {
        Ours::Allow(context) => assert_eq!(context["userId"], json!(t.twin.user_id)),
        other => panic!("{other:?}"),
    }
    // Listing `ci` does not drop `default`'s keys.
    assert!(allowed(
        &f.ours_with(&listing_ci, Shape::HttpV2, &t.user_key.0).await
    ));
}

/// Issue 27 F1: the account functions' key routes neither list nor delete an organization's key
/// for the user who shares its id.
#[tokio::test]
async fn the_key_routes_leave_an_organizations_key_to_its_organization() {
    use test_support::http::{Api, ApiRequest, send};
    let t = twins().await;
    let f = &t.f;
    let url = f.db.url.clone();
    let app = account_api::http::App::from_lookup(move |k| match k {
        "DATABASE_URL" => Some(url.clone()),
        "BETTER_AUTH_SECRET" => Some(SECRET.to_owned()),
        "BETTER_AUTH_METHODS" => Some("api-key,session".to_owned()),
        "BETTER_AUTH_API_KEY_CONFIGS" => Some(
            r#"[{"configId":"default"},{"configId":"org","references":"organization"}]"#.to_owned(),
        ),
        _ => None,
    })
    .expect("app");
    let bearer = format!("Bearer {}", t.twin.token);
    let (org_key_id, user_key_id) = (&t.org_key.1, &t.user_key.1);
    let ids = |body: &Value| -> Vec<String> {
        body["apiKeys"]
            .as_array()
            .expect("a list")
            .iter()
            .map(|k| id_text(&k["id"]))
            .collect()
    };
    let mine = send(
        me::handler::handle,
        &app,
        &ApiRequest::new(Api::Http, "GET", "/auth/api-keys").header("authorization", &bearer),
    )
    .await;
    assert_eq!(mine.status, 200, "{}", mine.body);
    assert_eq!(ids(&mine.body), vec![user_key_id.clone()]);
    let admin_list = send(
        users::handler::handle,
        &app,
        &ApiRequest::new(
            Api::Http,
            "GET",
            &format!("/users/{}/api-keys", t.twin.user_id),
        )
        .as_user(&t.admin.user_id, "-", "admin"),
    )
    .await;
    assert_eq!(admin_list.status, 200, "{}", admin_list.body);
    assert_eq!(ids(&admin_list.body), vec![user_key_id.clone()]);

    let delete = send(
        me::handler::handle,
        &app,
        &ApiRequest::new(Api::Http, "DELETE", &format!("/auth/api-keys/{org_key_id}"))
            .header("authorization", &bearer),
    )
    .await;
    assert_eq!(
        (delete.status, delete.body["code"].as_str()),
        (404, Some("API_KEY_NOT_FOUND")),
        "{}",
        delete.body
    );
    assert!(f.exists(org_key_id).await, "the organization's key stays");
    assert_eq!(t.org, t.twin.user_id);

    // Issue 23: the organization's key itself gets nothing from the account functions, whose
    // routes are a user's: verified in place, or vouched for by the authorizer (whose context
    // names no user), it is refused, and the function does not use it a second time.
    let org_key = &t.org_key.0;
    let in_place = send(
        me::handler::handle,
        &app,
        &ApiRequest::new(Api::Http, "GET", "/auth/api-keys").header("x-api-key", org_key),
    )
    .await;
    assert_eq!(
        (in_place.status, in_place.body["code"].as_str()),
        (403, Some("NO_USER")),
        "{}",
        in_place.body
    );
    let authorizer = test_support::authenticator(
        &f.db.url,
        SECRET,
        &[
            ("BETTER_AUTH_METHODS", "api-key"),
            (
                "BETTER_AUTH_API_KEY_CONFIGS",
                r#"[{"configId":"default"},{"configId":"org","references":"organization"}]"#,
            ),
        ],
    );
    let Ours::Allow(context) = f.ours_with(&authorizer, Shape::HttpV2, org_key).await else {
        panic!("the authorizer refused the organization's key");
    };
    let remaining = f.column(org_key_id, "remaining").await;
    for path in ["/auth/me", "/auth/api-keys"] {
        let mut request = ApiRequest::new(Api::Http, "GET", path).header("x-api-key", org_key);
        for (name, value) in context.as_object().expect("a context") {
            request = request.context_field(name, value.as_str().unwrap_or_default());
        }
        let reply = send(me::handler::handle, &app, &request).await;
        assert_eq!(
            (reply.status, reply.body["code"].as_str()),
            (403, Some("NO_USER")),
            "{path}: {}",
            reply.body
        );
    }
    assert_eq!(
        f.column(org_key_id, "remaining").await,
        remaining,
        "used once, by the authorizer"
    );
}

/// A key (`remaining` 5, a rate limit of 100 a window) of a user of a Better Auth with the
/// anonymous plugin, used once (counted): the fixture of the issue 27 F8 tests.
async fn counted_once() -> (Fixture, String, String) {
    let db = Profile::Default.database().await;
    let mut options = ServerOptions::new(Profile::Default, SECRET);
    options.api_keys = true;
    options.user_plugins = true;
    let ba = BetterAuthServer::start(&db, options).await;
    let owner = ba
        .sign_up(&format!("owner-{}@example.com", random_token(6)))
        .await;
    let auth = test_support::authenticator(&db.url, SECRET, &[("BETTER_AUTH_METHODS", "api-key")]);
    let keys_only =
        test_support::authenticator(&db.url, SECRET, &[("BETTER_AUTH_METHODS", "api-key")]);
    let f = Fixture {
        db,
        ba,
        auth,
        keys_only,
        owner: owner.user_id,
        owner_token: owner.token,
    };
    let (key, id) = f
        .key(
            json!({"remaining": 5, "rateLimitEnabled": true, "rateLimitMax": 100,
                    "rateLimitTimeWindow": 600000}),
        )
        .await;
    assert!(allowed(&f.ours(Shape::HttpV2, &key).await));
    assert_eq!(f.column(&id, "remaining").await.as_deref(), Some("4"));
    assert_eq!(f.column(&id, "requestCount").await.as_deref(), Some("1"));
    (f, key, id)
}

impl Fixture {
    /// What a use changes: `remaining`, `requestCount`, `lastRequest`.
    async fn counters(&self, id: &str) -> [Option<String>; 3] {
        [
            self.column(id, "remaining").await,
            self.column(id, "requestCount").await,
            self.column(id, "lastRequest").await,
        ]
    }

    /// Our authenticator (`api-key` alone) with one more setting.
    fn with_setting(&self, name: &str, value: &str) -> Authenticator {
        test_support::authenticator(
            &self.db.url,
            SECRET,
            &[("BETTER_AUTH_METHODS", "api-key"), (name, value)],
        )
    }
}

/// Issue 27 F8: with `BETTER_AUTH_REQUIRE_ACTIVE_ORGANIZATION` every key is refused (a user's key
/// confirms no organization), and the refusal spends neither quota nor rate limit.
#[tokio::test]
async fn keys_refused_for_want_of_an_organization_are_not_counted() {
    let (f, key, id) = counted_once().await;
    let before = f.counters(&id).await;
    let organization = f.with_setting("BETTER_AUTH_REQUIRE_ACTIVE_ORGANIZATION", "true");
    assert_eq!(
        f.ours_with(&organization, Shape::RestRequest, &key).await,
        Ours::Deny("no_active_organization".into())
    );
    assert_eq!(
        f.ours_with(&organization, Shape::HttpV2, &key).await,
        Ours::Refused
    );
    assert_eq!(f.counters(&id).await, before, "not counted");
}

/// Issue 27 F8: with `BETTER_AUTH_REFUSE_ANONYMOUS` an anonymous owner's key is refused in the
/// statement's guard: neither quota nor rate limit is spent.
#[tokio::test]
async fn an_anonymous_owners_refused_key_is_not_counted() {
    let (f, key, id) = counted_once().await;
    f.db.client
        .execute(
            "UPDATE \"user\" SET \"isAnonymous\" = true WHERE id = $1",
            &[&f.owner],
        )
        .await
        .expect("an anonymous owner");
    let before = f.counters(&id).await;
    let anonymous = f.with_setting("BETTER_AUTH_REFUSE_ANONYMOUS", "true");
    assert_eq!(
        f.ours_with(&anonymous, Shape::RestRequest, &key).await,
        Ours::Deny("anonymous_user".into())
    );
    assert_eq!(
        f.ours_with(&anonymous, Shape::HttpV2, &key).await,
        Ours::Refused
    );
    assert_eq!(f.counters(&id).await, before, "not counted");
    assert!(
        allowed(&f.ours(Shape::HttpV2, &key).await),
        "without the rule the key works"
    );
}

/// Issue 27 F1, older schemas: without a `configId` column (plugins before 1.5) every key is of
/// the default configuration, accepted when `default` is listed and refused when it is not.
#[tokio::test]
async fn without_a_config_id_column_every_key_is_the_default_configurations() {
    let f = start().await;
    let (key, id) = f
        .key(json!({"remaining": 5, "rateLimitEnabled": false}))
        .await;
    f.db.client
        .batch_execute("ALTER TABLE apikey DROP COLUMN \"configId\"")
        .await
        .expect("an older schema");
    // New authenticators: the schema is detected on first use.
    let default =
        test_support::authenticator(&f.db.url, SECRET, &[("BETTER_AUTH_METHODS", "api-key")]);
    match f.ours_with(&default, Shape::HttpV2, &key).await {
        Ours::Allow(context) => assert_eq!(context["userId"], json!(f.owner)),
        other => panic!("{other:?}"),
    }
    assert_eq!(f.column(&id, "remaining").await.as_deref(), Some("4"));
    let without_default = test_support::authenticator(
        &f.db.url,
        SECRET,
        &[
            ("BETTER_AUTH_METHODS", "api-key"),
            (
                "BETTER_AUTH_API_KEY_CONFIGS",
                r#"[{"configId":"ci"},{"configId":"default","references":"organization"}]"#,
            ),
        ],
    );
    assert_eq!(
        f.ours_with(&without_default, Shape::HttpV2, &key).await,
        Ours::Refused
    );
    assert_eq!(
        f.column(&id, "remaining").await.as_deref(),
        Some("4"),
        "not counted"
    );
}
