//! `@better-auth/oauth-provider`: the tokens it mints (access tokens, ID tokens, client
//! credentials) are never sessions, even on the jwt plugin's own keys.

use serde_json::{Value, json};
use test_support::better_auth::{Credential, Profile, ServerOptions};
use test_support::events::Shape;

use super::common::{Ctx, Ours, SECRET, email};

/// The `payload` of a compact JWS as JSON (for reading a real token's claims in a test).
fn jwt_claims(jwt: &str) -> Value {
    use base64::Engine;
    let payload = jwt.split('.').nth(1).expect("a JWS");
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .expect("base64url");
    serde_json::from_slice(&bytes).expect("JSON claims")
}

/// Tokens minted by the real `@better-auth/oauth-provider` with the jwt plugin's own keys — a
/// user's `at+jwt` access token, an OpenID Connect ID token, a client-credentials token — are
/// never accepted as session JWTs, even when our issuer and audience are set to exactly theirs;
/// a session JWT from `/token`, same keys, still is.
#[tokio::test]
async fn oauth_provider_tokens_never_pass_as_sessions() {
    let mut options = ServerOptions::new(Profile::Default, SECRET);
    options.oauth_provider = true;
    let ctx = Ctx::start(options).await;
    let base_url = ctx.ba.base_url.clone();
    let otto = ctx.ba.sign_up(&email("otto")).await;
    let cookie = Credential::Cookie(otto.cookie.clone());
    let redirect_uri = "https://client.example/callback";
    let client = ctx
        .ba
        .create_oauth_client(
            json!({
                "redirect_uris": [redirect_uri],
                "grant_types": ["authorization_code", "client_credentials"],
                "client_credentials_scopes": ["read"],
                "scope": "openid profile email read",
                "skip_consent": true,
                "require_pkce": false,
                "token_endpoint_auth_method": "client_secret_post",
            }),
            &cookie,
        )
        .await;
    let client_id = client["client_id"].as_str().expect("client_id").to_owned();
    let client_secret = client["client_secret"]
        .as_str()
        .expect("client_secret")
        .to_owned();
    let query: String = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs([
            ("response_type", "code"),
            ("client_id", client_id.as_str()),
            ("redirect_uri", redirect_uri),
            ("scope", "openid profile email"),
            ("state", "s1"),
            ("resource", base_url.as_str()),
        ])
        .finish();
    let authorize = ctx
        .ba
        .request(
            "GET",
            &format!("/oauth2/authorize?{query}"),
            None,
            Some(&cookie),
        )
        .await;
    let location = authorize.location.expect("a redirect to the client");
    let code = url::Url::parse(&location)
        .expect("a URL")
        .query_pairs()
        .find(|(k, _)| k == "code")
        .map(|(_, v)| v.into_owned())
        .unwrap_or_else(|| panic!("no code in the redirect: {location}"));
    let user_tokens = ctx
        .ba
        .post_form(
            "/oauth2/token",
            &[
                ("grant_type", "authorization_code"),
                ("code", &code),
                ("redirect_uri", redirect_uri),
                ("client_id", &client_id),
                ("client_secret", &client_secret),
                ("resource", &base_url),
            ],
        )
        .await;
    assert_eq!(user_tokens.status, 200, "{}", user_tokens.body);
    let machine = ctx
        .ba
        .post_form(
            "/oauth2/token",
            &[
                ("grant_type", "client_credentials"),
                ("client_id", &client_id),
                ("client_secret", &client_secret),
                ("scope", "read"),
                ("resource", &base_url),
            ],
        )
        .await;
    assert_eq!(machine.status, 200, "{}", machine.body);
    let token = |reply: &test_support::better_auth::Reply, name: &str| {
        reply.body[name]
            .as_str()
            .unwrap_or_else(|| panic!("no {name}: {}", reply.body))
            .to_owned()
    };
    let access = token(&user_tokens, "access_token");
    let id_token = token(&user_tokens, "id_token");
    let m2m = token(&machine, "access_token");
    let access_claims = jwt_claims(&access);
    assert_eq!(
        access_claims["sub"],
        json!(otto.user_id.clone()),
        "a user's token"
    );
    let issuer = access_claims["iss"].as_str().expect("iss").to_owned();

    // Our side configured to expect exactly these issuers and audiences: only the kind of token
    // can refuse them.
    for (case, jwt, audience) in [
        ("a user's at+jwt access token", &access, base_url.as_str()),
        ("a client-credentials access token", &m2m, base_url.as_str()),
        ("an OpenID Connect ID token", &id_token, client_id.as_str()),
    ] {
        let expecting = ctx.authenticator_with(&[
            ("BETTER_AUTH_METHODS", "jwt,session"),
            ("BETTER_AUTH_URL", base_url.as_str()),
            ("BETTER_AUTH_JWT_ISSUER", issuer.as_str()),
            ("BETTER_AUTH_JWT_AUDIENCE", audience),
        ]);
        let bearer = Credential::Bearer(jwt.clone());
        for shape in Shape::ALL {
            assert_eq!(
                ctx.ours_with(&expecting, shape, &bearer).await,
                Ours::Refused,
                "{case} in {shape:?}"
            );
        }
        let mut raw = auth_core::RawCredentials::default();
        let header = format!("Bearer {jwt}");
        raw.authorization.push(&header);
        let refusal = expecting
            .authenticate(&raw)
            .await
            .expect_err("never a session");
        assert_eq!(refusal.code(), "jwt_not_a_session_token", "{case}");
    }

    // The session JWT Better Auth's jwt plugin signs with the same keys is accepted.
    let session_jwt = ctx.ba.jwt(&cookie).await;
    let sessions = ctx.authenticator_with(&[
        ("BETTER_AUTH_METHODS", "jwt,session"),
        ("BETTER_AUTH_URL", base_url.as_str()),
    ]);
    match ctx
        .ours_with(&sessions, Shape::HttpV2, &Credential::Bearer(session_jwt))
        .await
    {
        Ours::Allow(context) => {
            assert_eq!(context["userId"], json!(otto.user_id.clone()));
            assert_eq!(context["verifiedBy"], "jwt");
        }
        other => panic!("a session JWT: {other:?}"),
    }
}
