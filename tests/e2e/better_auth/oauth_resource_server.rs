//! The `oauth` method against the real `@better-auth/oauth-provider` (1.7.5): for every token it
//! issues — authorization code with PKCE and a resource (`at+jwt`), without one (opaque,
//! prefixed), client credentials, refreshed — and every later state (revoked, client
//! disabled, session signed out, user banned, expired, resource removed), our decision equals
//! the provider's own `/oauth2/introspect` `active`; stricter only for bans (documented).
//! Tokens that are not access tokens for us (another audience, another issuer, another key,
//! an ID token, a refresh token, a DPoP-bound token without a proof) are refused; scopes
//! reach the route rules; a session token is never tried as an OAuth token, nor the reverse.

use auth_core::Authenticator;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ed25519_dalek::SigningKey;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use test_support::better_auth::{Credential, Profile, ServerOptions};
use test_support::events::Shape;
use test_support::http::{Api, ApiRequest, send};

use super::common::{Ctx, Ours, SECRET, email};

const REDIRECT: &str = "https://client.example/callback";

/// A Better Auth server with the provider, a registered confidential client, and a user.
pub(super) struct Provider {
    pub(super) ctx: Ctx,
    pub(super) base_url: String,
    /// The provider's issuer (`<baseURL>/api/auth`).
    pub(super) issuer: String,
    client_id: String,
    client_secret: String,
    user_id: String,
    cookie: Credential,
}

/// A PKCE verifier and its S256 challenge.
fn pkce() -> (String, String) {
    let verifier = format!("v{}", test_support::random_token(48));
    let challenge = URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()));
    (verifier, challenge)
}

pub(super) fn field(body: &Value, name: &str) -> String {
    body[name]
        .as_str()
        .unwrap_or_else(|| panic!("no {name}: {body}"))
        .to_owned()
}

impl Provider {
    pub(super) async fn start() -> Self {
        let mut options = ServerOptions::new(Profile::Default, SECRET);
        options.oauth_provider = true;
        let ctx = Ctx::start(options).await;
        let base_url = ctx.ba.base_url.clone();
        let user = ctx.ba.sign_up(&email("olga")).await;
        let cookie = Credential::Cookie(user.cookie.clone());
        let client = ctx
            .ba
            .create_oauth_client(
                json!({
                    "redirect_uris": [REDIRECT],
                    "grant_types": ["authorization_code", "client_credentials", "refresh_token"],
                    "client_credentials_scopes": ["read"],
                    "scope": "openid profile email offline_access read write",
                    "skip_consent": true,
                    "token_endpoint_auth_method": "client_secret_post",
                }),
                &cookie,
            )
            .await;
        Self {
            issuer: format!("{base_url}/api/auth"),
            client_id: field(&client, "client_id"),
            client_secret: field(&client, "client_secret"),
            user_id: user.user_id,
            cookie,
            base_url,
            ctx,
        }
    }

    /// Our authorizer with the `oauth` method first, this API's resource, and `extra`.
    pub(super) fn ours(&self, extra: &[(&str, &str)]) -> Authenticator {
        let mut vars = vec![
            ("BETTER_AUTH_METHODS", "oauth,jwt,session"),
            ("BETTER_AUTH_URL", self.base_url.as_str()),
            ("BETTER_AUTH_OAUTH_RESOURCES", self.base_url.as_str()),
            ("BETTER_AUTH_OAUTH_OPAQUE_PREFIX", "bao_"),
            // Every token of these tests carries `read`.
            ("BETTER_AUTH_OAUTH_REQUIRED_SCOPES", "read"),
        ];
        vars.extend_from_slice(extra);
        self.ctx.authenticator_with(&vars)
    }

    /// The authorization-code flow with PKCE as the signed-in user: the token response.
    pub(super) async fn authorize(&self, scope: &str, resource: Option<&str>) -> Value {
        self.authorize_with(scope, resource, &[]).await
    }

    /// [`Self::authorize`] with more headers on the token request (a `DPoP` proof).
    pub(super) async fn authorize_with(
        &self,
        scope: &str,
        resource: Option<&str>,
        token_headers: &[(&str, &str)],
    ) -> Value {
        let (verifier, challenge) = pkce();
        let mut pairs = vec![
            ("response_type", "code"),
            ("client_id", self.client_id.as_str()),
            ("redirect_uri", REDIRECT),
            ("scope", scope),
            ("state", "s1"),
            ("code_challenge", challenge.as_str()),
            ("code_challenge_method", "S256"),
        ];
        if let Some(resource) = resource {
            pairs.push(("resource", resource));
        }
        let query: String = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(pairs)
            .finish();
        let reply = self
            .ctx
            .ba
            .request(
                "GET",
                &format!("/oauth2/authorize?{query}"),
                None,
                Some(&self.cookie),
            )
            .await;
        let location = reply.location.expect("a redirect to the client");
        let code = url::Url::parse(&location)
            .expect("a URL")
            .query_pairs()
            .find(|(k, _)| k == "code")
            .map(|(_, v)| v.into_owned())
            .unwrap_or_else(|| panic!("no code in the redirect: {location}"));
        let mut form = vec![
            ("grant_type", "authorization_code"),
            ("code", code.as_str()),
            ("redirect_uri", REDIRECT),
            ("code_verifier", verifier.as_str()),
        ];
        if let Some(resource) = resource {
            form.push(("resource", resource));
        }
        self.token_with(&form, token_headers).await
    }

    /// `/oauth2/token` as the client: the answer's body (200 asserted).
    async fn token(&self, fields: &[(&str, &str)]) -> Value {
        self.token_with(fields, &[]).await
    }

    /// [`Self::token`] with more request headers.
    async fn token_with(&self, fields: &[(&str, &str)], headers: &[(&str, &str)]) -> Value {
        let mut form = fields.to_vec();
        form.push(("client_id", &self.client_id));
        form.push(("client_secret", &self.client_secret));
        let reply = self
            .ctx
            .ba
            .post_form_with("/oauth2/token", &form, headers)
            .await;
        assert_eq!(reply.status, 200, "{}", reply.body);
        reply.body
    }

    /// The provider's own verdict: `/oauth2/introspect`'s `active`.
    async fn active(&self, token: &str) -> bool {
        let reply = self
            .ctx
            .ba
            .post_form(
                "/oauth2/introspect",
                &[
                    ("token", token),
                    ("token_type_hint", "access_token"),
                    ("client_id", &self.client_id),
                    ("client_secret", &self.client_secret),
                ],
            )
            .await;
        assert_eq!(reply.status, 200, "{}", reply.body);
        reply.body["active"] == json!(true)
    }

    /// Our answer for a bearer token, REST REQUEST shape (Allow, Deny or 401).
    async fn decide(&self, auth: &Authenticator, token: &str) -> Ours {
        self.ctx
            .ours_with(
                auth,
                Shape::RestRequest,
                &Credential::Bearer(token.to_owned()),
            )
            .await
    }

    /// The provider's verdict as its resource endpoint `/oauth2/userinfo` reaches it (its
    /// `requireActiveAccessToken`): 401 when inactive (an active token without `openid` is a
    /// 400). For states where the client itself may not introspect (disabled).
    async fn userinfo_active(&self, token: &str) -> bool {
        let reply = self
            .ctx
            .ba
            .request(
                "GET",
                "/oauth2/userinfo",
                None,
                Some(&Credential::Bearer(token.to_owned())),
            )
            .await;
        assert!(matches!(reply.status, 200 | 400 | 401), "{}", reply.body);
        reply.status != 401
    }

    /// Asserts that we allow `token` exactly when the provider's introspection says it is
    /// active, in every event shape; returns our context when allowed.
    async fn agree(&self, case: &str, auth: &Authenticator, token: &str) -> Option<Value> {
        let theirs = self.active(token).await;
        self.agree_on(case, auth, token, theirs).await
    }

    /// Asserts that we allow `token` exactly when `theirs`, in every event shape.
    async fn agree_on(
        &self,
        case: &str,
        auth: &Authenticator,
        token: &str,
        theirs: bool,
    ) -> Option<Value> {
        let mut context = None;
        for shape in Shape::ALL {
            let ours = self
                .ctx
                .ours_with(auth, shape, &Credential::Bearer(token.to_owned()))
                .await;
            match (&ours, theirs) {
                (Ours::Allow(c), true) => context = Some(c.clone()),
                (Ours::Refused | Ours::Deny, false) => {}
                _ => panic!("{case} in {shape:?}: ours {ours:?}, introspection active: {theirs}"),
            }
        }
        context
    }

    async fn sql(&self, statement: &str, id: &str) {
        self.ctx.db.execute(statement, &[&id]).await;
    }
}

/// Every token the provider issues, and every state it can later be in: our decision is the
/// provider's introspection, and the context says who and what.
#[tokio::test]
async fn our_decisions_are_the_providers_introspection() {
    let p = Provider::start().await;
    let ours = p.ours(&[]);

    // Authorization code + PKCE with a resource: an at+jwt bound to the session.
    let with_resource = p
        .authorize("openid read offline_access", Some(&p.base_url))
        .await;
    let jwt = field(&with_resource, "access_token");
    assert_eq!(jwt.split('.').count(), 3, "an at+jwt");
    let claims: Value = serde_json::from_slice(
        &URL_SAFE_NO_PAD
            .decode(jwt.split('.').nth(1).expect("payload"))
            .expect("base64url"),
    )
    .expect("JSON");
    assert_eq!(
        claims["iss"],
        json!(p.issuer),
        "our default issuer is the provider's"
    );
    let context = p
        .agree("at+jwt", &ours, &jwt)
        .await
        .expect("an active at+jwt is allowed");
    assert_eq!(context["authMethod"], "oauth");
    assert_eq!(context["verifiedBy"], "oauth");
    assert_eq!(context["userId"], json!(p.user_id));
    assert_eq!(context["clientId"], json!(p.client_id));
    assert_eq!(context["resource"], json!(p.base_url));
    assert_eq!(context["scopes"], "openid read offline_access");
    assert!(context["sessionId"].as_str().is_some_and(|s| !s.is_empty()));

    // Without a resource: an opaque token with the provider's prefix.
    let without = p.authorize("openid read offline_access", None).await;
    let opaque = field(&without, "access_token");
    assert!(opaque.starts_with("bao_"), "an opaque token");
    let context = p
        .agree("opaque", &ours, &opaque)
        .await
        .expect("an active opaque token is allowed");
    assert_eq!(context["userId"], json!(p.user_id));
    assert_eq!(context["clientId"], json!(p.client_id));
    assert!(context.get("resource").is_none(), "{context}");

    // Client credentials, with and without a resource: a machine principal, no user.
    for resource in [Some(p.base_url.as_str()), None] {
        let mut form = vec![("grant_type", "client_credentials"), ("scope", "read")];
        if let Some(r) = resource {
            form.push(("resource", r));
        }
        let machine = field(&p.token(&form).await, "access_token");
        let context = p
            .agree("client credentials", &ours, &machine)
            .await
            .expect("a client-credentials token is allowed");
        assert!(context.get("userId").is_none(), "{context}");
        assert!(context.get("email").is_none(), "{context}");
        assert_eq!(context["clientId"], json!(p.client_id));
        assert_eq!(context["scopes"], "read");
    }

    // Refreshed: the new access tokens are accepted as the first were.
    for (case, first) in [
        ("refreshed at+jwt", &with_resource),
        ("refreshed opaque", &without),
    ] {
        let refresh = field(first, "refresh_token");
        let mut form = vec![("grant_type", "refresh_token"), ("refresh_token", &refresh)];
        if std::ptr::eq(first, &with_resource) {
            form.push(("resource", &p.base_url));
        }
        let renewed = p.token(&form).await;
        let access = field(&renewed, "access_token");
        assert!(p.agree(case, &ours, &access).await.is_some(), "{case}");
        // A refresh token is never access.
        let refresh = field(&renewed, "refresh_token");
        assert!(
            matches!(p.decide(&ours, &refresh).await, Ours::Refused),
            "{case}"
        );
    }

    // Revoked (opaque: the row is deleted).
    let revoked = field(&p.authorize("read", None).await, "access_token");
    let reply = p
        .ctx
        .ba
        .post_form(
            "/oauth2/revoke",
            &[
                ("token", &revoked),
                ("token_type_hint", "access_token"),
                ("client_id", &p.client_id),
                ("client_secret", &p.client_secret),
            ],
        )
        .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(p.agree("revoked", &ours, &revoked).await, None);

    // Expired (opaque: its row's expiresAt in the past).
    let expiring = field(&p.authorize("read", None).await, "access_token");
    assert!(p.agree("before expiry", &ours, &expiring).await.is_some());
    let hash = URL_SAFE_NO_PAD.encode(Sha256::digest(&expiring.as_bytes()["bao_".len()..]));
    p.sql(
        "UPDATE \"oauthAccessToken\" SET \"expiresAt\" = now() - interval '1 second' WHERE token = $1",
        &hash,
    )
    .await;
    assert_eq!(p.agree("expired", &ours, &expiring).await, None);

    // The session signed out: tokens that carry it (`sid`) end with it.
    let session_bound = [
        field(
            &p.authorize("read", Some(&p.base_url)).await,
            "access_token",
        ),
        field(&p.authorize("read", None).await, "access_token"),
    ];
    for token in &session_bound {
        assert!(p.agree("session alive", &ours, token).await.is_some());
    }
    let signed_out = p.ctx.ba.post("/sign-out", json!({}), Some(&p.cookie)).await;
    assert_eq!(signed_out.status, 200, "{}", signed_out.body);
    // Both name the session (the at+jwt's `sid`, the opaque row's `sessionId`): inactive
    // once it is gone.
    for token in &session_bound {
        assert_eq!(p.agree("session signed out", &ours, token).await, None);
    }

    // A fresh session's tokens, then the user banned: the provider's introspection does not
    // read bans; we do (stricter, documented).
    let again = p.ctx.ba.sign_in(&email_of(&p).await).await;
    let cookie = Credential::Cookie(again.cookie.clone());
    let p = Provider { cookie, ..p };
    let user_tokens = [
        field(
            &p.authorize("read", Some(&p.base_url)).await,
            "access_token",
        ),
        field(&p.authorize("read", None).await, "access_token"),
    ];
    for token in &user_tokens {
        assert!(p.agree("before the ban", &ours, token).await.is_some());
    }
    p.sql(
        "UPDATE \"user\" SET banned = true WHERE id = $1",
        &p.user_id,
    )
    .await;
    for token in &user_tokens {
        assert!(p.active(token).await, "the provider ignores bans");
        assert_eq!(p.decide(&ours, token).await, Ours::Deny, "banned: 403");
    }
    p.sql(
        "UPDATE \"user\" SET banned = false WHERE id = $1",
        &p.user_id,
    )
    .await;

    // The client disabled: every token it holds is inactive.
    let machine = field(
        &p.token(&[("grant_type", "client_credentials"), ("scope", "read")])
            .await,
        "access_token",
    );
    p.sql(
        "UPDATE \"oauthClient\" SET disabled = true WHERE \"clientId\" = $1",
        &p.client_id,
    )
    .await;
    // A disabled client may not introspect: its resource endpoint is the provider's word.
    for token in user_tokens.iter().chain([&machine]) {
        let theirs = p.userinfo_active(token).await;
        assert!(!theirs, "the provider refuses a disabled client's tokens");
        assert_eq!(
            p.agree_on("client disabled", &ours, token, theirs).await,
            None
        );
    }
    p.sql(
        "UPDATE \"oauthClient\" SET disabled = false WHERE \"clientId\" = $1",
        &p.client_id,
    )
    .await;
    for token in &user_tokens {
        assert!(
            p.agree("client enabled again", &ours, token)
                .await
                .is_some()
        );
    }

    // The resource removed: tokens issued for it are inactive.
    p.sql(
        "DELETE FROM \"oauthResource\" WHERE identifier = $1",
        &p.base_url,
    )
    .await;
    assert_eq!(
        p.agree("resource removed", &ours, &user_tokens[0]).await,
        None
    );
}

/// The email of the provider's user (read back, for signing in again).
async fn email_of(p: &Provider) -> String {
    let row = p
        .ctx
        .db
        .client
        .query_one("SELECT email FROM \"user\" WHERE id = $1", &[&p.user_id])
        .await
        .expect("the user");
    row.get(0)
}

/// A JWS signed with `key` under `kid`.
fn sign(key: &SigningKey, kid: &str, claims: &Value) -> String {
    let header = json!({"alg": "EdDSA", "typ": "at+jwt", "kid": kid});
    test_support::jws::sign_eddsa(key, &header, claims)
}

/// Tokens that are not access tokens for this API are refused; scopes reach the routes; the
/// bearer slot is shared with sessions without either being tried as the other.
#[tokio::test]
async fn what_is_not_an_access_token_for_us_is_refused() {
    let p = Provider::start().await;
    let ours = p.ours(&[]);
    let issued = p.authorize("openid read", Some(&p.base_url)).await;
    let access = field(&issued, "access_token");
    let id_token = field(&issued, "id_token");
    assert!(p.agree("valid", &ours, &access).await.is_some());

    // Another registered resource's token: not for this API (the provider says active).
    let other = format!("{}/other-api", p.base_url);
    let elsewhere = field(&p.authorize("read", Some(&other)).await, "access_token");
    assert!(p.active(&elsewhere).await);
    assert_eq!(p.decide(&ours, &elsewhere).await, Ours::Refused);
    // This API configured for the other resource only: our token is refused, theirs accepted.
    let other_api = p.ours(&[("BETTER_AUTH_OAUTH_RESOURCES", other.as_str())]);
    assert_eq!(p.decide(&other_api, &access).await, Ours::Refused);
    assert!(matches!(
        p.decide(&other_api, &elsewhere).await,
        Ours::Allow(_)
    ));
    // Another issuer configured.
    let wrong_issuer = p.ours(&[("BETTER_AUTH_OAUTH_ISSUER", "https://elsewhere.example")]);
    assert_eq!(p.decide(&wrong_issuer, &access).await, Ours::Refused);

    // The ID token and an at+jwt signed by another key under the real kid.
    assert_eq!(p.decide(&ours, &id_token).await, Ours::Refused);
    let header: Value = serde_json::from_slice(
        &URL_SAFE_NO_PAD
            .decode(access.split('.').next().expect("header"))
            .expect("base64url"),
    )
    .expect("JSON");
    let kid = header["kid"].as_str().expect("kid");
    let claims: Value = serde_json::from_slice(
        &URL_SAFE_NO_PAD
            .decode(access.split('.').nth(1).expect("payload"))
            .expect("base64url"),
    )
    .expect("JSON");
    let stranger = SigningKey::from_bytes(&rand::random::<[u8; 32]>());
    assert_eq!(
        p.decide(&ours, &sign(&stranger, kid, &claims)).await,
        Ours::Refused
    );

    // Signed by a key the jwks table holds (ours, added for the test): the claims decide.
    let key = SigningKey::from_bytes(&rand::random::<[u8; 32]>());
    let jwk = json!({
        "kty": "OKP", "crv": "Ed25519",
        "x": URL_SAFE_NO_PAD.encode(key.verifying_key().as_bytes()),
    });
    p.ctx
        .db
        .client
        .execute(
            "INSERT INTO jwks (id, \"publicKey\", \"privateKey\", \"createdAt\") \
             VALUES ('test-kid', $1, 'unused', now())",
            &[&jwk.to_string()],
        )
        .await
        .expect("a test key");
    // A fresh authorizer: no key cache to wait out.
    let ours = p.ours(&[]);
    let forged = |change: &dyn Fn(&mut Value)| {
        let mut c = claims.clone();
        change(&mut c);
        sign(&key, "test-kid", &c)
    };
    assert!(
        matches!(p.decide(&ours, &forged(&|_| {})).await, Ours::Allow(_)),
        "the same claims on a known key"
    );
    // Issue 23 (review): `sub` = `azp` is a client-credentials token, a machine, unless a user
    // has that id too: then which one the token is for cannot be told, and it is refused.
    let machine = |c: &mut Value| {
        c["sub"] = c["azp"].clone();
        if let Some(claims) = c.as_object_mut() {
            claims.remove("sid");
        }
    };
    match p.decide(&ours, &forged(&machine)).await {
        Ours::Allow(context) => assert!(context.get("userId").is_none(), "{context}"),
        other => panic!("a machine token: {other:?}"),
    }
    p.sql(
        "INSERT INTO \"user\" (id, name, email, \"emailVerified\", \"createdAt\", \"updatedAt\") \
         VALUES ($1, 'Twin', 'twin-of-a-client@example.com', true, now(), now())",
        &p.client_id,
    )
    .await;
    assert_eq!(
        p.decide(&ours, &forged(&machine)).await,
        Ours::Refused,
        "a user whose id is the client's"
    );
    p.sql("DELETE FROM \"user\" WHERE id = $1", &p.client_id)
        .await;
    let now = chrono::Utc::now().timestamp();
    for (case, change) in [
        (
            "expired",
            &(|c: &mut Value| c["exp"] = json!(now - 120)) as &dyn Fn(&mut Value),
        ),
        ("not yet valid", &|c: &mut Value| {
            c["nbf"] = json!(now + 3600)
        }),
        ("issued in the future", &|c: &mut Value| {
            c["iat"] = json!(now + 3600)
        }),
        ("no azp", &|c: &mut Value| {
            c.as_object_mut().map(|o| o.remove("azp"));
        }),
        ("an unknown client", &|c: &mut Value| {
            c["azp"] = json!("nobody")
        }),
        ("a prefix of the audience", &|c: &mut Value| {
            c["aud"] = json!(format!("{}/", p.base_url))
        }),
        (
            "DPoP-bound, no proof",
            &|c: &mut Value| {
                c["cnf"] = json!({"jkt": "0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I"})
            },
        ),
        ("an unknown user", &|c: &mut Value| {
            c["sub"] = json!("no-such-user")
        }),
    ] {
        assert!(
            matches!(
                p.decide(&ours, &forged(change)).await,
                Ours::Refused | Ours::Deny
            ),
            "{case}"
        );
    }

    // Required scopes: on every route, and per route.
    let needs_write = p.ours(&[("BETTER_AUTH_OAUTH_REQUIRED_SCOPES", "write")]);
    assert_eq!(p.decide(&needs_write, &access).await, Ours::Deny);
    for (scopes, allowed) in [(json!(["read"]), true), (json!(["read", "write"]), false)] {
        let routes = json!([{"route": "GET /request", "scopes": scopes}]).to_string();
        let auth = p.ours(&[("AUTHORIZER_ROUTES", routes.as_str())]);
        let answer = p.decide(&auth, &access).await;
        assert_eq!(
            matches!(answer, Ours::Allow(_)),
            allowed,
            "{scopes}: {answer:?}"
        );
        // The user's own session is not asked for scopes.
        let session = p.ctx.ours_with(&auth, Shape::RestRequest, &p.cookie).await;
        assert!(matches!(session, Ours::Allow(_)), "{session:?}");
    }
    // A permission rule naming no scope delegates nothing to an OAuth token.
    let routes = json!([{"route": "GET /request", "permissions": {"user": ["list"]}}]).to_string();
    let auth = p.ours(&[("AUTHORIZER_ROUTES", routes.as_str())]);
    assert_eq!(p.decide(&auth, &access).await, Ours::Deny);

    // The bearer slot: a session token is never tried as an OAuth token (and with signatures
    // required, a prefixed opaque token still reaches `oauth`).
    let session = p.ctx.ba.sign_in(&email_of(&p).await).await;
    let strict = p.ours(&[("BETTER_AUTH_REQUIRE_SIGNATURE", "true")]);
    let opaque = field(&p.authorize("read", None).await, "access_token");
    assert!(matches!(p.decide(&strict, &opaque).await, Ours::Allow(_)));
    match p
        .ctx
        .ours_with(
            &ours,
            Shape::HttpV2,
            &Credential::Bearer(session.token.clone()),
        )
        .await
    {
        Ours::Allow(context) => assert_eq!(context["verifiedBy"], "session"),
        other => panic!("a session token: {other:?}"),
    }
    // An opaque token without the prefix is a session token to us: unknown.
    assert_eq!(
        p.decide(&ours, &opaque["bao_".len()..]).await,
        Ours::Refused
    );

    // The account routes (Better Auth's session endpoints' counterparts) refuse OAuth tokens,
    // a user's or a machine's, verifying the request themselves; a session still passes.
    let mut vars: Vec<(String, String)> = p.ctx.vars.clone();
    vars.extend(
        [
            ("DATABASE_URL", p.ctx.db.url.as_str()),
            ("BETTER_AUTH_SECRET", SECRET),
            ("BETTER_AUTH_METHODS", "oauth,session"),
            ("BETTER_AUTH_URL", p.base_url.as_str()),
            ("BETTER_AUTH_OAUTH_RESOURCES", p.base_url.as_str()),
            ("BETTER_AUTH_OAUTH_OPAQUE_PREFIX", "bao_"),
            ("BETTER_AUTH_OAUTH_REQUIRED_SCOPES", "read"),
        ]
        .map(|(k, v)| (k.to_owned(), v.to_owned())),
    );
    let app = account_api::http::App::from_lookup(|k| {
        vars.iter()
            .rev()
            .find(|(name, _)| name == k)
            .map(|(_, v)| v.clone())
    })
    .expect("app");
    let machine = field(
        &p.token(&[("grant_type", "client_credentials"), ("scope", "read")])
            .await,
        "access_token",
    );
    for (case, token, status) in [
        ("a user's at+jwt", access.as_str(), 403),
        ("a user's opaque token", opaque.as_str(), 403),
        ("a machine's token", machine.as_str(), 403),
        ("a session token", session.token.as_str(), 200),
    ] {
        let request = ApiRequest::new(Api::Rest, "GET", "/auth/me")
            .header("authorization", &format!("Bearer {token}"));
        let reply = send(me::handler::handle, &app, &request).await;
        assert_eq!(reply.status, status, "{case}: {}", reply.body);
    }
}

/// With the OAuth result cache (`AUTH_RESULT_CACHE_OAUTH_TTL_MS`), what the store said about a
/// token is reused within the TTL — the documented bound: a change made after the lookup (here
/// a client disabled) is seen once the entry expires, while an authorizer without it (the
/// session cache alone, `AUTH_RESULT_CACHE_TTL_MS`, included) sees it at once.
#[tokio::test]
async fn the_oauth_result_cache_reuses_the_stores_answer_within_its_ttl() {
    const TTL: std::time::Duration = std::time::Duration::from_secs(4);
    let p = Provider::start().await;
    let ttl = TTL.as_millis().to_string();
    let cached = p.ours(&[("AUTH_RESULT_CACHE_OAUTH_TTL_MS", ttl.as_str())]);
    let sessions_cache_only = p.ours(&[("AUTH_RESULT_CACHE_TTL_MS", "60000")]);
    let jwt = field(
        &p.authorize("read", Some(&p.base_url)).await,
        "access_token",
    );
    let opaque = field(&p.authorize("read", None).await, "access_token");
    // Warm every authenticator first (connection, schema, keys) with another token, so the
    // entries under test are written by one quick lookup each.
    let warm = field(
        &p.authorize("read", Some(&p.base_url)).await,
        "access_token",
    );
    for auth in [&cached, &sessions_cache_only] {
        assert!(matches!(p.decide(auth, &warm).await, Ours::Allow(_)));
        assert!(matches!(p.decide(auth, &opaque).await, Ours::Allow(_)));
    }
    assert!(matches!(p.decide(&cached, &jwt).await, Ours::Allow(_)));
    let filled = std::time::Instant::now();
    p.sql(
        "UPDATE \"oauthClient\" SET disabled = true WHERE \"clientId\" = $1",
        &p.client_id,
    )
    .await;
    for token in [&jwt, &opaque] {
        assert!(
            matches!(p.decide(&cached, token).await, Ours::Allow(_)),
            "within the TTL the cached answer stands"
        );
    }
    assert!(
        filled.elapsed() < TTL,
        "the checks above ran within the TTL"
    );
    for token in [&jwt, &opaque] {
        assert_eq!(
            p.decide(&sessions_cache_only, token).await,
            Ours::Refused,
            "the session cache alone keeps no OAuth answer"
        );
    }
    tokio::time::sleep(
        (TTL + std::time::Duration::from_millis(300)).saturating_sub(filled.elapsed()),
    )
    .await;
    for token in [&jwt, &opaque] {
        assert_eq!(
            p.decide(&cached, token).await,
            Ours::Refused,
            "after the TTL the store is asked again"
        );
    }
}
