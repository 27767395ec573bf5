//! The organization plugin: the active organization, its slug, the member's role and the active
//! team reach the context only while Better Auth's own membership tables confirm them.

use auth_core::AuthStore;
use serde_json::{Value, json};
use test_support::better_auth::{Credential, Profile, ServerOptions, Version};
use test_support::events::Shape;
use test_support::redis::TestRedis;

use super::common::{Ctx, Ours, SECRET, email, with_redis};

/// The organization plugin: the context carries the active organization, its slug, the member's
/// roles and the active team only while Better Auth's own membership tables confirm them; a stale
/// pointer (member removed, organization deleted) grants nothing, whichever store keeps the
/// session.
async fn organization_flows(keeping: &str, version: Version) {
    let redis = TestRedis::new();
    let mut options = match keeping {
        "database" => ServerOptions::new(Profile::Default, SECRET),
        _ => with_redis(Profile::Default, &redis, false),
    };
    options.organizations = true;
    options.version = version;
    options.cookie_cache = Some("compact");
    let ctx = Ctx::start(options).await;
    // Without `dynamicAccessControl` the plugin has no `organizationRole` table.
    assert!(
        !ctx.authenticator_with(&[])
            .store()
            .has_organization_roles()
            .await
            .expect("answers")
    );
    let requiring = ctx.authenticator_with(&[("BETTER_AUTH_REQUIRE_ACTIVE_ORGANIZATION", "true")]);
    let context_of = |ours: Ours| match ours {
        Ours::Allow(context) => context,
        other => panic!("expected an Allow, got {other:?}"),
    };
    let org_fields = |context: &Value| {
        [
            "activeOrganizationId",
            "organizationSlug",
            "organizationRole",
            "activeTeamId",
        ]
        .map(|f| context.get(f).cloned().unwrap_or(Value::Null))
    };
    let (olga_email, mia_email) = (email("olga"), email("mia"));
    let owner = ctx.ba.sign_up(&olga_email).await;
    let owner_cookie = Credential::Cookie(owner.cookie.clone());
    let mia = ctx.ba.sign_up(&mia_email).await;
    let mia_cookie = Credential::Cookie(mia.cookie.clone());

    // No organization yet: nothing in the context; refused when one is required.
    let before = context_of(ctx.ours(Shape::HttpV2, &owner_cookie).await);
    assert_eq!(
        org_fields(&before),
        [Value::Null, Value::Null, Value::Null, Value::Null]
    );
    assert_eq!(
        ctx.ours_with(&requiring, Shape::RestRequest, &owner_cookie)
            .await,
        Ours::Deny
    );

    // Creating an organization makes it the creator's active one.
    let slug = format!("acme-{}", &owner.user_id[..8].to_lowercase());
    let created = ctx
        .ba
        .post_ok(
            "/organization/create",
            json!({"name": "Acme", "slug": slug}),
            &owner_cookie,
        )
        .await;
    let org_id = created["id"].as_str().expect("organization id").to_owned();
    let full = ctx
        .ba
        .get("/organization/get-full-organization", &owner_cookie)
        .await;
    assert_eq!(full.body["id"], json!(org_id.clone()), "{}", full.body);
    // With teams, Better Auth also makes a default team and puts the creator on it.
    let owner_session = ctx.ba.get_session(&owner_cookie).await.expect("a session");
    let owner_context = context_of(ctx.ours(Shape::RestRequest, &owner_cookie).await);
    assert_eq!(
        org_fields(&owner_context),
        [
            json!(org_id.clone()),
            full.body["slug"].clone(),
            json!("owner"),
            owner_session["session"]["activeTeamId"].clone()
        ]
    );

    // A cookie cache is a snapshot: it carries no organization, and when one is required it
    // passes on to the session lookup, which confirms the membership.
    let with_cache = Credential::Cookie(ctx.ba.with_cookie_cache(&owner.cookie).await);
    let cache_first = ctx.authenticator_with(&[("BETTER_AUTH_METHODS", "cookie-cache,session")]);
    let from_cache = context_of(
        ctx.ours_with(&cache_first, Shape::HttpV2, &with_cache)
            .await,
    );
    assert_eq!(from_cache["verifiedBy"], "cookie-cache");
    assert!(from_cache.get("activeOrganizationId").is_none());
    let cache_then_membership = ctx.authenticator_with(&[
        ("BETTER_AUTH_METHODS", "cookie-cache,session"),
        ("BETTER_AUTH_REQUIRE_ACTIVE_ORGANIZATION", "true"),
    ]);
    let confirmed = context_of(
        ctx.ours_with(&cache_then_membership, Shape::HttpV2, &with_cache)
            .await,
    );
    assert_eq!(
        (
            confirmed["verifiedBy"].clone(),
            confirmed["activeOrganizationId"].clone()
        ),
        (json!("session"), json!(org_id.clone()))
    );

    // An invitation accepted: the new member's session is in the organization, as a member.
    let invitation = ctx
        .ba
        .post_ok(
            "/organization/invite-member",
            json!({"email": mia_email.clone(), "role": "member", "organizationId": org_id.clone()}),
            &owner_cookie,
        )
        .await;
    ctx.ba
        .post_ok(
            "/organization/accept-invitation",
            json!({"invitationId": invitation["id"].clone()}),
            &mia_cookie,
        )
        .await;
    let active_member = ctx
        .ba
        .get("/organization/get-active-member", &mia_cookie)
        .await;
    assert_eq!(active_member.status, 200, "{}", active_member.body);
    let mia_context = context_of(ctx.ours(Shape::HttpV2, &mia_cookie).await);
    assert_eq!(mia_context["activeOrganizationId"], json!(org_id.clone()));
    assert_eq!(mia_context["organizationRole"], active_member.body["role"]);
    assert_eq!(mia_context["organizationRole"], "member");
    assert_eq!(
        context_of(ctx.ours_with(&requiring, Shape::HttpV2, &mia_cookie).await)["userId"],
        json!(mia.user_id.clone())
    );

    // A team: active only once the member is on it.
    let team = ctx
        .ba
        .post_ok(
            "/organization/create-team",
            json!({"name": "Ops", "organizationId": org_id.clone()}),
            &owner_cookie,
        )
        .await;
    let team_id = team["id"].as_str().expect("team id").to_owned();
    ctx.ba
        .post_ok(
            "/organization/add-team-member",
            json!({"teamId": team_id.clone(), "userId": mia.user_id.clone()}),
            &owner_cookie,
        )
        .await;
    ctx.ba
        .post_ok(
            "/organization/set-active-team",
            json!({"teamId": team_id.clone()}),
            &mia_cookie,
        )
        .await;
    let on_team = context_of(ctx.ours(Shape::RestToken, &mia_cookie).await);
    assert_eq!(on_team["activeTeamId"], json!(team_id.clone()));

    // Removed by the owner: Better Auth leaves Mia's session pointing at the organization, but
    // the membership is gone; so is everything it granted.
    ctx.ba
        .post_ok(
            "/organization/remove-member",
            json!({"memberIdOrEmail": mia_email.clone(), "organizationId": org_id.clone()}),
            &owner_cookie,
        )
        .await;
    let stale = ctx
        .ba
        .get("/organization/get-active-member", &mia_cookie)
        .await;
    assert_ne!(
        stale.status, 200,
        "Better Auth: no longer a member: {}",
        stale.body
    );
    let pointer = ctx.ba.get_session(&mia_cookie).await.expect("a session");
    assert_eq!(
        pointer["session"]["activeOrganizationId"],
        json!(org_id.clone()),
        "the session still points at the organization"
    );
    let after = context_of(ctx.ours(Shape::HttpV2, &mia_cookie).await);
    assert_eq!(
        after["userId"],
        json!(mia.user_id.clone()),
        "still signed in"
    );
    assert_eq!(
        org_fields(&after),
        [Value::Null, Value::Null, Value::Null, Value::Null]
    );
    assert!(matches!(
        ctx.ours_with(&requiring, Shape::HttpV2, &mia_cookie).await,
        Ours::Refused
    ));

    // Deleted: the owner's other session still points at it, and gets nothing from it.
    let second = ctx.ba.sign_in(&olga_email).await;
    let second_cookie = Credential::Cookie(second.cookie.clone());
    ctx.ba
        .post_ok(
            "/organization/set-active",
            json!({"organizationId": org_id.clone()}),
            &second_cookie,
        )
        .await;
    assert_eq!(
        context_of(ctx.ours(Shape::HttpV2, &second_cookie).await)["organizationRole"],
        "owner"
    );
    ctx.ba
        .post_ok(
            "/organization/delete",
            json!({"organizationId": org_id.clone()}),
            &owner_cookie,
        )
        .await;
    let pointer = ctx.ba.get_session(&second_cookie).await.expect("a session");
    assert_eq!(
        pointer["session"]["activeOrganizationId"],
        json!(org_id.clone())
    );
    let orphaned = context_of(ctx.ours(Shape::HttpV2, &second_cookie).await);
    assert_eq!(
        org_fields(&orphaned),
        [Value::Null, Value::Null, Value::Null, Value::Null]
    );
    assert_eq!(
        ctx.ours_with(&requiring, Shape::RestRequest, &second_cookie)
            .await,
        Ours::Deny
    );
}

#[tokio::test]
async fn organizations_agree_in_the_database() {
    organization_flows("database", Version::V1_7).await;
}

#[tokio::test]
async fn organizations_agree_in_redis() {
    organization_flows("redis", Version::V1_7).await;
}

#[tokio::test]
async fn organizations_agree_on_better_auth_1_6() {
    organization_flows("database", Version::V1_6).await;
}

/// Roles created through Better Auth's `dynamicAccessControl` (`POST /organization/create-role`,
/// its migrator's `organizationRole` table) are read back by `AuthStore::organization_roles`,
/// the permission as the JSON text Better Auth stored.
#[tokio::test]
async fn dynamic_roles_created_through_better_auth_are_read_back() {
    let mut options = ServerOptions::new(Profile::Default, SECRET);
    options.access_control = true;
    let ctx = Ctx::start(options).await;
    let owner = ctx.ba.sign_up(&email("rhea")).await;
    let cookie = Credential::Cookie(owner.cookie.clone());
    let slug = format!("roles-{}", &owner.user_id[..8].to_lowercase());
    let created = ctx
        .ba
        .post_ok(
            "/organization/create",
            json!({"name": "Roles", "slug": slug}),
            &cookie,
        )
        .await;
    let org_id = created["id"].as_str().expect("organization id").to_owned();
    let auth = ctx.authenticator_with(&[]);
    assert!(
        auth.store()
            .has_organization_roles()
            .await
            .expect("answers")
    );
    assert_eq!(
        auth.store()
            .organization_roles(&org_id)
            .await
            .expect("answers"),
        vec![]
    );
    ctx.ba
        .post_ok(
            "/organization/create-role",
            json!({
                "organizationId": org_id,
                "role": "invoicer",
                "permission": {"invoice": ["create", "read"]},
            }),
            &cookie,
        )
        .await;
    let rows = auth
        .store()
        .organization_roles(&org_id)
        .await
        .expect("answers");
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert_eq!(rows[0].role, "invoicer");
    let permission: Value = serde_json::from_str(&rows[0].permission).expect("JSON text");
    assert_eq!(permission, json!({"invoice": ["create", "read"]}));
    assert_eq!(
        auth.store()
            .organization_roles("another-organization")
            .await
            .expect("answers"),
        vec![]
    );
}
