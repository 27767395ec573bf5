//! Bans and revocation: sessions revoked through Better Auth's own endpoints (one, the others,
//! all) and users banned and unbanned through its admin plugin are refused by both sides; a ban
//! written straight to the database is the one deliberate difference (we refuse, Better Auth
//! does not).

use serde_json::json;
use std::time::Duration;
use test_support::better_auth::{Credential, Profile, ServerOptions};
use test_support::events::Shape;

use super::common::{Ctx, Ours, SECRET, email};

#[tokio::test]
async fn revocations_agree() {
    revocation_flows(ServerOptions::new(Profile::Default, SECRET)).await;
}

/// Revoke one, others, all (Better Auth's own endpoints), then both sides refuse.
pub(super) async fn revocation_flows(options: ServerOptions) {
    let ctx = Ctx::start(options).await;
    let bob = email("bob");
    let s1 = ctx.ba.sign_up(&bob).await;
    let s2 = ctx.ba.sign_in(&bob).await;
    let s3 = ctx.ba.sign_in(&bob).await;
    let s4 = ctx.ba.sign_in(&bob).await;
    let as_s1 = Credential::Cookie(s1.cookie.clone());

    let reply = ctx
        .ba
        .post("/revoke-session", json!({"token": s2.token}), Some(&as_s1))
        .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(ctx.agree_on_all("revoked session", &s2).await, None);
    assert!(
        ctx.agree_on_all("the revoking session", &s1)
            .await
            .is_some()
    );

    let reply = ctx
        .ba
        .post("/revoke-other-sessions", json!({}), Some(&as_s1))
        .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(ctx.agree_on_all("other session s3", &s3).await, None);
    assert_eq!(ctx.agree_on_all("other session s4", &s4).await, None);
    assert!(
        ctx.agree_on_all("the session that kept itself", &s1)
            .await
            .is_some()
    );

    let s5 = ctx.ba.sign_in(&bob).await;
    let reply = ctx
        .ba
        .post(
            "/revoke-sessions",
            json!({}),
            Some(&Credential::Cookie(s5.cookie.clone())),
        )
        .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(ctx.agree_on_all("all revoked: s1", &s1).await, None);
    assert_eq!(ctx.agree_on_all("all revoked: s5", &s5).await, None);
}

pub(super) async fn ban_flows(options: ServerOptions) {
    let ctx = Ctx::start(options).await;
    let admin_email = email("admin");
    let admin = ctx.ba.sign_up(&admin_email).await;
    ctx.make_admin(&admin.user_id).await;
    let as_admin = Credential::Cookie(ctx.ba.sign_in(&admin_email).await.cookie);
    let carol = email("carol");
    let victim = ctx.ba.sign_up(&carol).await;
    assert!(ctx.agree_on_all("before the ban", &victim).await.is_some());

    let reply = ctx
        .ba
        .post(
            "/admin/ban-user",
            json!({"userId": victim.user_id}),
            Some(&as_admin),
        )
        .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(ctx.agree_on_all("banned", &victim).await, None);
    let refused = ctx.ba.sign_in_reply(&carol).await;
    assert_eq!(
        (refused.status, refused.body["code"].as_str()),
        (403, Some("BANNED_USER"))
    );

    let reply = ctx
        .ba
        .post(
            "/admin/unban-user",
            json!({"userId": victim.user_id}),
            Some(&as_admin),
        )
        .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    let back = ctx.ba.sign_in(&carol).await;
    assert!(
        ctx.agree_on_all("unbanned and signed in", &back)
            .await
            .is_some()
    );

    let reply = ctx
        .ba
        .post(
            "/admin/ban-user",
            json!({"userId": victim.user_id, "banExpiresIn": 1}),
            Some(&as_admin),
        )
        .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(ctx.agree_on_all("banned for a second", &back).await, None);
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let after = ctx.ba.sign_in(&carol).await;
    assert!(
        ctx.agree_on_all("after the ban expired", &after)
            .await
            .is_some()
    );
}

#[tokio::test]
async fn default_profile_bans_agree() {
    ban_flows(ServerOptions::new(Profile::Default, SECRET)).await;
}

#[tokio::test]
async fn renamed_profile_bans_agree() {
    ban_flows(ServerOptions::new(Profile::Renamed, SECRET)).await;
}

#[tokio::test]
async fn drizzle_profile_bans_agree() {
    ban_flows(ServerOptions::new(Profile::Drizzle, SECRET)).await;
}

/// Deliberate difference: Better Auth's get-session never checks `banned`, so a ban written
/// straight to the database leaves the session alive there. We refuse it (REST: Deny, 403).
#[tokio::test]
async fn a_ban_written_to_the_database_is_refused_by_us_only() {
    let ctx = Ctx::start(ServerOptions::new(Profile::Default, SECRET)).await;
    let dave = ctx.ba.sign_up(&email("dave")).await;
    ctx.db
        .execute(
            "UPDATE \"user\" SET banned = true WHERE id = $1",
            &[&dave.user_id],
        )
        .await;
    for credential in dave.credentials() {
        let theirs = ctx.ba.get_session(&credential).await;
        assert!(
            theirs.is_some(),
            "Better Auth still answers with the session"
        );
        assert_eq!(ctx.ours(Shape::RestRequest, &credential).await, Ours::Deny);
        assert_eq!(ctx.ours(Shape::RestToken, &credential).await, Ours::Deny);
        assert_eq!(ctx.ours(Shape::HttpV2, &credential).await, Ours::Refused);
    }
}
