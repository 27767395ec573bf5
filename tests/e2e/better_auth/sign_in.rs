//! Sign-in and credentials: sign-up, sign-in and sign-out in every schema profile, the three
//! credential forms, cookie names (prefixed, `__Secure-`, renamed, multi-session), the user fields
//! the context carries, and credentials from elsewhere (another secret, another deployment, a
//! deleted user).

use auth_core::signing::{Secret, sign_cookie_value};
use serde_json::json;
use test_support::better_auth::{Credential, Profile, ServerOptions, SignedIn};
use test_support::events::Shape;

use super::common::{Ctx, Ours, SECRET, email};

/// Sign-up, sign-in, the three credential forms, context, sign-out.
pub(super) async fn sign_in_flows(options: ServerOptions) {
    let profile = options.profile;
    let ctx = Ctx::start(options).await;
    let alice = email("alice");
    let first = ctx.ba.sign_up(&alice).await;
    assert_eq!(
        ctx.agree_on_all("after sign-up", &first).await.as_deref(),
        Some(first.user_id.as_str())
    );
    let second = ctx.ba.sign_in(&alice).await;
    assert_ne!(second.token, first.token);
    assert_eq!(
        ctx.agree_on_all("after sign-in", &second).await.as_deref(),
        Some(first.user_id.as_str())
    );

    let context = match ctx
        .ours(
            Shape::RestRequest,
            &Credential::Cookie(second.cookie.clone()),
        )
        .await
    {
        Ours::Allow(context) => context,
        other => panic!("expected allow, got {other:?}"),
    };
    assert_eq!(context["email"], json!(alice));
    assert_eq!(
        context["role"],
        json!(if profile.has_admin() { "user" } else { "" })
    );
    assert_eq!(context["emailVerified"], json!(false));

    let reply = ctx
        .ba
        .post(
            "/sign-out",
            json!({}),
            Some(&Credential::Cookie(first.cookie.clone())),
        )
        .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(ctx.agree_on_all("after sign-out", &first).await, None);
    assert_eq!(
        ctx.agree_on_all("the other session after sign-out", &second)
            .await
            .as_deref(),
        Some(first.user_id.as_str())
    );
}

#[tokio::test]
async fn default_profile_sign_in_flows_agree() {
    sign_in_flows(ServerOptions::new(Profile::Default, SECRET)).await;
}

#[tokio::test]
async fn renamed_profile_sign_in_flows_agree() {
    sign_in_flows(ServerOptions::new(Profile::Renamed, SECRET)).await;
}

#[tokio::test]
async fn drizzle_profile_sign_in_flows_agree() {
    sign_in_flows(ServerOptions::new(Profile::Drizzle, SECRET)).await;
}

#[tokio::test]
async fn no_admin_profile_sign_in_flows_agree() {
    sign_in_flows(ServerOptions::new(Profile::NoAdmin, SECRET)).await;
}

#[tokio::test]
async fn secure_and_prefixed_cookies_agree() {
    let mut options = ServerOptions::new(Profile::Default, SECRET);
    options.secure_cookies = true;
    options.cookie_prefix = Some("myapp".into());
    let ctx = Ctx::start(options).await;
    let session = ctx.ba.sign_up(&email("secure")).await;
    assert!(
        session.cookie.starts_with("__Secure-myapp.session_token="),
        "{}",
        session.cookie
    );
    assert!(ctx.agree_on_all("secure cookie", &session).await.is_some());
}

/// `advanced.cookies.session_token.name`: the cookie renamed entirely, plain and `__Secure-`.
#[tokio::test]
async fn a_renamed_session_cookie_agrees() {
    for secure in [false, true] {
        let mut options = ServerOptions::new(Profile::Default, SECRET);
        options.session_cookie_name = Some("app_sid".into());
        options.secure_cookies = secure;
        let ctx = Ctx::start(options).await;
        let session = ctx.ba.sign_up(&email("rena")).await;
        let expected = if secure {
            "__Secure-app_sid="
        } else {
            "app_sid="
        };
        assert!(session.cookie.starts_with(expected), "{}", session.cookie);
        assert!(ctx.agree_on_all("renamed cookie", &session).await.is_some());
        // The default name is not read.
        let value = session.cookie.split_once('=').expect("pair").1;
        let default_name = Credential::Cookie(format!("better-auth.session_token={value}"));
        assert_eq!(ctx.agree("the default name", &default_name).await, None);
    }
}

/// Both a plain and a `__Secure-` session cookie: Better Auth reads the one its configuration
/// names, and so do we (`BETTER_AUTH_SECURE_COOKIES`); multi-session cookies change nothing.
#[tokio::test]
async fn the_cookie_better_auth_reads_is_the_one_we_read() {
    for secure in [false, true] {
        let mut options = ServerOptions::new(Profile::Default, SECRET);
        options.secure_cookies = secure;
        options.multi_session = true;
        let ctx = Ctx::start(options).await;
        let active = ctx.ba.sign_up(&email("pia")).await;
        let other = ctx.ba.sign_up(&email("quinn")).await;
        let value = |s: &SignedIn| s.cookie.split_once('=').expect("pair").1.to_owned();
        let (active_name, other_name) = if secure {
            (
                "__Secure-better-auth.session_token",
                "better-auth.session_token",
            )
        } else {
            (
                "better-auth.session_token",
                "__Secure-better-auth.session_token",
            )
        };
        let pair = Credential::Cookie(format!(
            "{other_name}={}; {active_name}={}",
            value(&other),
            value(&active)
        ));
        assert_eq!(
            ctx.agree("a plain and a __Secure- cookie", &pair).await,
            Some(active.user_id.clone()),
            "secure: {secure}"
        );
        // multi-session keeps every signed-in account in `<name>_multi-<token>` cookies.
        let multi = Credential::Cookie(format!(
            "{active_name}={}; {active_name}_multi-{}={}",
            value(&active),
            other.token.to_lowercase(),
            value(&other)
        ));
        assert_eq!(
            ctx.agree("multi-session cookies", &multi).await,
            Some(active.user_id.clone())
        );
    }
}

/// Plugin fields (anonymous, username) and an app field (`plan`, with
/// `BETTER_AUTH_CONTEXT_USER_FIELDS`) reach the context from every source: the session row, a
/// JWT, a cookie cache; anonymous guests can be refused.
#[tokio::test]
async fn user_fields_reach_the_context_and_guests_can_be_refused() {
    let mut options = ServerOptions::new(Profile::Default, SECRET);
    options.user_plugins = true;
    options.cookie_cache = Some("compact");
    let ctx = Ctx::start(options).await;
    let vera = ctx
        .ba
        .post(
            "/sign-up/email",
            json!({"email": email("vera"), "password": "correct horse battery", "name": "Vera", "username": "vera_v"}),
            None,
        )
        .await;
    assert_eq!(vera.status, 200, "{}", vera.body);
    let cookie = vera.session_cookie.clone().expect("session cookie");
    let base_url = ctx.ba.base_url.clone();
    let plan = ctx.authenticator_with(&[("BETTER_AUTH_CONTEXT_USER_FIELDS", "plan")]);
    let context_of = |ours: Ours| match ours {
        Ours::Allow(context) => context,
        other => panic!("{other:?}"),
    };
    // The session row.
    let context = context_of(
        ctx.ours_with(&plan, Shape::HttpV2, &Credential::Cookie(cookie.clone()))
            .await,
    );
    assert_eq!(context["username"], "vera_v");
    assert_eq!(context["isAnonymous"], "false");
    assert_eq!(context["plan"], "free");
    assert!(context.get("image").is_none(), "only the named fields");
    // Without the setting, the plugin fields only.
    let plain = context_of(
        ctx.ours(Shape::RestRequest, &Credential::Cookie(cookie.clone()))
            .await,
    );
    assert_eq!(plain["username"], "vera_v");
    assert!(plain.get("plan").is_none());
    // A JWT (its payload is the user) and the cookie cache (a user snapshot).
    let jwt = ctx.ba.jwt(&Credential::Cookie(cookie.clone())).await;
    let stateless = ctx.authenticator_with(&[
        ("BETTER_AUTH_CONTEXT_USER_FIELDS", "plan"),
        ("BETTER_AUTH_METHODS", "jwt,cookie-cache,session"),
        ("BETTER_AUTH_URL", base_url.as_str()),
        ("BETTER_AUTH_SECURE_COOKIES", "false"),
    ]);
    let from_jwt = context_of(
        ctx.ours_with(&stateless, Shape::HttpV2, &Credential::Bearer(jwt))
            .await,
    );
    assert_eq!(
        (
            from_jwt["verifiedBy"].clone(),
            from_jwt["username"].clone(),
            from_jwt["plan"].clone()
        ),
        (json!("jwt"), json!("vera_v"), json!("free"))
    );
    let with_cache = ctx.ba.with_cookie_cache(&cookie).await;
    let from_cache = context_of(
        ctx.ours_with(&stateless, Shape::HttpV2, &Credential::Cookie(with_cache))
            .await,
    );
    assert_eq!(
        (
            from_cache["verifiedBy"].clone(),
            from_cache["username"].clone(),
            from_cache["plan"].clone()
        ),
        (json!("cookie-cache"), json!("vera_v"), json!("free"))
    );

    // An anonymous guest: Better Auth accepts the session; we do too, saying so, unless told
    // to refuse guests.
    let guest = ctx.ba.post("/sign-in/anonymous", json!({}), None).await;
    assert_eq!(guest.status, 200, "{}", guest.body);
    let guest = Credential::Cookie(guest.session_cookie.clone().expect("cookie"));
    assert!(ctx.ba.get_session(&guest).await.is_some());
    assert_eq!(
        context_of(ctx.ours(Shape::HttpV2, &guest).await)["isAnonymous"],
        "true"
    );
    let strict = ctx.authenticator_with(&[("BETTER_AUTH_REFUSE_ANONYMOUS", "true")]);
    match ctx.ours_with(&strict, Shape::RestRequest, &guest).await {
        Ours::Deny => {}
        other => panic!("a guest with BETTER_AUTH_REFUSE_ANONYMOUS: {other:?}"),
    }
    assert!(matches!(
        ctx.ours_with(&strict, Shape::HttpV2, &Credential::Cookie(cookie))
            .await,
        Ours::Allow(_)
    ));
}

#[tokio::test]
async fn foreign_and_forged_credentials_are_refused_by_both() {
    let ctx = Ctx::start(ServerOptions::new(Profile::Default, SECRET)).await;
    let frank = ctx.ba.sign_up(&email("frank")).await;

    let other_secret = sign_cookie_value(
        &Secret::new("a-different-secret-0123456789abcdefghijkl"),
        &frank.token,
    );
    let forged = Credential::Cookie(format!("better-auth.session_token={other_secret}"));
    assert_eq!(
        ctx.agree("cookie signed with another secret", &forged)
            .await,
        None
    );

    // A session from another Better Auth deployment (another database, same secret).
    let elsewhere = Ctx::start(ServerOptions::new(Profile::Default, SECRET)).await;
    let stranger = elsewhere.ba.sign_up(&email("stranger")).await;
    for credential in stranger.credentials() {
        assert_eq!(
            ctx.agree("token from another database", &credential).await,
            None
        );
    }

    ctx.db
        .execute("DELETE FROM \"user\" WHERE id = $1", &[&frank.user_id])
        .await;
    assert_eq!(ctx.agree_on_all("deleted user", &frank).await, None);
}
