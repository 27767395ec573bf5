//! Organization-owned API keys (`references: "organization"`) against the real Better Auth with
//! serial ids, where organization N and user N share their id: the key is a machine principal
//! of its organization (no user), counted in the same row as Better Auth counts it, held to its
//! own permissions on organization rules and to nothing on user rules, refused once its
//! organization is gone, and never its twin user.

use auth_core::Authenticator;
use auth_core::access::policy::iam_matches;
use serde_json::{Value, json};
use test_support::events::{Shape, event, with_header};

use super::api_keys::{Ours, SECRET, Twins, allowed, decide, id_text, twins};

/// The deployment's configurations: the plugin's default one (users) and `org`.
const WITH_ORG: &str = r#"[{"configId":"default"},{"configId":"org","references":"organization"}]"#;

/// An authenticator of `BETTER_AUTH_METHODS=api-key` with the organization configuration
/// listed, and more settings.
fn listing_org(t: &Twins, extra: &[(&str, &str)]) -> Authenticator {
    let mut settings = vec![
        ("BETTER_AUTH_METHODS", "api-key"),
        ("BETTER_AUTH_API_KEY_CONFIGS", WITH_ORG),
    ];
    settings.extend_from_slice(extra);
    test_support::authenticator(&t.f.db.url, SECRET, &settings)
}

async fn slug_of(t: &Twins) -> String {
    t.f.db
        .client
        .query_one(
            "SELECT slug FROM organization WHERE id::text = $1",
            &[&t.org],
        )
        .await
        .expect("the organization")
        .get(0)
}

/// Issue 23: organization N's key is organization N — `organizationId`, its slug, `apiKeyId`,
/// `referenceType: organization`, no `userId` and nothing of user N — in every event shape,
/// counted in the row Better Auth counts (its `verifyApiKey` and ours spend the same quota,
/// and both stop at zero). Unlisted (the default configurations), it is refused and uncounted;
/// Better Auth's session hook never takes it as user N either. The twin's own key is the twin.
#[tokio::test]
async fn an_organizations_key_is_its_organization_and_never_the_twin_user() {
    let t = twins().await;
    let f = &t.f;
    let (org_key, org_key_id) = &t.org_key;
    assert_eq!(t.org, t.twin.user_id, "serial ids collide");
    // Unlisted: refused, not counted.
    for shape in Shape::ALL {
        assert_eq!(f.ours(shape, org_key).await, Ours::Refused, "{shape:?}");
    }
    assert_eq!(
        f.column(org_key_id, "remaining").await.as_deref(),
        Some("5")
    );

    let auth = listing_org(&t, &[]);
    let slug = slug_of(&t).await;
    for shape in Shape::ALL {
        let Ours::Allow(context) = f.ours_with(&auth, shape, org_key).await else {
            panic!("{shape:?}: refused");
        };
        assert_eq!(context["organizationId"], json!(t.org), "{shape:?}");
        assert_eq!(context["organizationSlug"], json!(slug));
        assert_eq!(context["referenceType"], json!("organization"));
        assert_eq!(context["apiKeyId"], json!(org_key_id));
        assert_eq!(context["verifiedBy"], json!("api-key"));
        for user_key in [
            "userId",
            "email",
            "name",
            "role",
            "emailVerified",
            "sessionId",
        ] {
            assert!(
                context.get(user_key).is_none(),
                "{shape:?}: {user_key} in {context}"
            );
        }
        assert!(context.get("activeOrganizationId").is_none(), "{context}");
    }
    assert_eq!(
        f.column(org_key_id, "remaining").await.as_deref(),
        Some("2"),
        "three uses counted"
    );
    // Better Auth's verifyApiKey for the configuration counts in the same row...
    let theirs = f.ba.verify_api_key_in(org_key, "org").await;
    assert_eq!(theirs["valid"], json!(true), "{theirs}");
    assert_eq!(
        f.column(org_key_id, "remaining").await.as_deref(),
        Some("1")
    );
    // ...we take the last use, and both refuse from there (the row is deleted, as Better Auth
    // deletes a used-up key).
    assert!(allowed(&f.ours_with(&auth, Shape::HttpV2, org_key).await));
    assert_eq!(
        f.ours_with(&auth, Shape::RestRequest, org_key).await,
        Ours::Deny("usage_exceeded".into())
    );
    assert_eq!(
        f.ba.verify_api_key_in(org_key, "org").await["valid"],
        json!(false)
    );

    // Better Auth's session hook refuses the organization's key as a user too.
    let (status, body) =
        f.ba.get_with_header("/get-session", "x-org-api-key", &t.org_key.0)
            .await;
    assert_eq!(status, 401, "{body}");
    // The twin's own key is the twin, not the organization.
    let (user_key, user_key_id) = &t.user_key;
    let Ours::Allow(context) = f.ours_with(&auth, Shape::HttpV2, user_key).await else {
        panic!("the twin's key is refused");
    };
    assert_eq!(context["userId"], json!(t.twin.user_id));
    assert_eq!(context["apiKeyId"], json!(user_key_id));
    assert!(context.get("referenceType").is_none(), "{context}");
    assert!(context.get("organizationId").is_none(), "{context}");
}

/// The routes of [`an_organizations_key_is_held_to_its_own_permissions`].
const ROUTES: &str = r#"[
    {"route": "GET /org/invoices", "organizationPermissions": {"invoice": ["read"]}},
    {"route": "POST /org/invoices", "organizationPermissions": {"invoice": ["create"]}},
    {"route": "GET /invoices", "permissions": {"invoice": ["read"]}},
    {"route": "GET /users", "permissions": {"user": ["list"]}},
    {"route": "GET /profile", "authenticated": true}
]"#;

fn http_event(key: &str, route_key: &str) -> Value {
    let (method, path) = route_key.split_once(' ').expect("METHOD /path");
    let mut e = with_header(
        Shape::HttpV2,
        event(Shape::HttpV2, None, None),
        "x-api-key",
        key,
    );
    e["routeKey"] = json!(route_key);
    e["requestContext"]["routeKey"] = json!(route_key);
    e["requestContext"]["http"]["method"] = json!(method);
    e["requestContext"]["http"]["path"] = json!(path);
    e
}

const STAGE: &str = "arn:aws:execute-api:us-east-1:123456789012:api/stage/";

/// Issue 23: an organization's key satisfies `organizationPermissions` rules with its own
/// `permissions` (every resource, as `verifyApiKey({ permissions })` checks a key) and never a
/// user-level `permissions` rule — not even one its permissions name, and not as the twin
/// user, an admin; the REST policy API Gateway caches says the same for every route. Once the
/// organization is deleted, its key is refused and not counted (Better Auth's `verifyApiKey`
/// never looks at the organization).
#[tokio::test]
async fn an_organizations_key_is_held_to_its_own_permissions() {
    let t = twins().await;
    let f = &t.f;
    // The twin is an admin: a user-level rule would pass for user N.
    f.db.client
        .execute(
            "UPDATE \"user\" SET role = 'admin' WHERE id::text = $1",
            &[&t.twin.user_id],
        )
        .await
        .expect("make the twin an admin");
    let made =
        f.ba.create_api_key(json!({
            "configId": "org", "organizationId": t.org, "userId": t.admin.user_id,
            "permissions": {"invoice": ["read"], "user": ["list"]}, "rateLimitEnabled": false,
        }))
        .await;
    let key = made["key"].as_str().expect("the plaintext key").to_owned();
    let key_id = id_text(&made["id"]);
    let auth = listing_org(&t, &[("AUTHORIZER_ROUTES", ROUTES)]);
    for (route, expected) in [
        ("GET /org/invoices", true),
        ("POST /org/invoices", false),
        ("GET /invoices", false),
        ("GET /users", false),
        ("GET /profile", true),
    ] {
        assert_eq!(
            allowed(&decide(&auth, http_event(&key, route)).await),
            expected,
            "{route}"
        );
    }
    // The REST policy for one request lists what the key may call, and only that.
    let mut rest = with_header(
        Shape::RestRequest,
        event(Shape::RestRequest, None, None),
        "x-api-key",
        &key,
    );
    rest["methodArn"] = json!(format!("{STAGE}GET/org/invoices"));
    rest["httpMethod"] = json!("GET");
    rest["path"] = json!("/org/invoices");
    rest["requestContext"]["httpMethod"] = json!("GET");
    rest["requestContext"]["path"] = json!("/stage/org/invoices");
    rest["requestContext"]["stage"] = json!("stage");
    rest["requestContext"]["apiId"] = json!("api");
    let answer = authorizer::handler::handle_json(
        &auth,
        lambda_runtime::LambdaEvent::new(rest, lambda_runtime::Context::default()),
    )
    .await
    .expect("an answer");
    let policy_allows = |arn: &str| {
        let statements = answer["policyDocument"]["Statement"]
            .as_array()
            .expect("statements");
        let matching = |effect: &str| {
            statements
                .iter()
                .filter(|s| s["Effect"] == json!(effect))
                .flat_map(|s| match &s["Resource"] {
                    Value::Array(list) => list.clone(),
                    one => vec![one.clone()],
                })
                .any(|r| r.as_str().is_some_and(|r| iam_matches(r, arn)))
        };
        !matching("Deny") && matching("Allow")
    };
    assert_eq!(
        answer["principalId"],
        json!(format!("organization:{}", t.org))
    );
    for (arn, expected) in [
        ("GET/org/invoices", true),
        ("GET/profile", true),
        ("POST/org/invoices", false),
        ("GET/invoices", false),
        ("GET/users", false),
    ] {
        assert_eq!(
            policy_allows(&format!("{STAGE}{arn}")),
            expected,
            "{arn}: {answer}"
        );
    }

    // Counted as a user's key is: 30 simultaneous uses across three containers of a key with
    // `remaining` 5 are exactly 5 allowed.
    let burst_key =
        f.ba.create_api_key(json!({
            "configId": "org", "organizationId": t.org, "userId": t.admin.user_id,
            "remaining": 5, "rateLimitEnabled": false,
        }))
        .await["key"]
            .as_str()
            .expect("the plaintext key")
            .to_owned();
    let containers: Vec<std::sync::Arc<Authenticator>> = (0..3)
        .map(|_| std::sync::Arc::new(listing_org(&t, &[("DATABASE_POOL_MAX_SIZE", "4")])))
        .collect();
    let tasks: Vec<_> = (0..30)
        .map(|i| {
            let auth = std::sync::Arc::clone(&containers[i % containers.len()]);
            let payload = with_header(
                Shape::HttpV2,
                event(Shape::HttpV2, None, None),
                "x-api-key",
                &burst_key,
            );
            tokio::spawn(async move { decide(&auth, payload).await })
        })
        .collect();
    let mut allowed_count = 0;
    for task in tasks {
        match task.await.expect("task") {
            Ours::Allow(_) => allowed_count += 1,
            Ours::Refused => {}
            other => panic!("{other:?}"),
        }
    }
    assert_eq!(allowed_count, 5, "the quota");

    // The organization deleted through Better Auth: its key is refused, uncounted.
    let admin = test_support::better_auth::Credential::Bearer(t.admin.token.clone());
    f.ba.post_ok(
        "/organization/delete",
        json!({"organizationId": t.org}),
        &admin,
    )
    .await;
    assert!(f.exists(&key_id).await, "Better Auth keeps the key");
    let stamps = async || {
        (
            f.column(&key_id, "lastRequest").await,
            f.column(&key_id, "updatedAt").await,
        )
    };
    let before = stamps().await;
    assert!(before.0.is_some(), "the uses above were stamped");
    for shape in [Shape::RestRequest, Shape::HttpV2] {
        let payload = with_header(shape, event(shape, None, None), "x-api-key", &key);
        assert_eq!(decide(&auth, payload).await, Ours::Refused, "{shape:?}");
    }
    assert_eq!(stamps().await, before, "not counted");
}
