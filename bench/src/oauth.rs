//! The OAuth rows: `@better-auth/oauth-provider`'s tables seeded (one client, one resource,
//! opaque access tokens by hash), its `at+jwt` access tokens, and the opaque lookup's statement
//! through tokio-postgres alone (that path's limit).

use std::sync::Arc;
use std::time::Instant;

use auth_core::Authenticator;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ed25519_dalek::SigningKey;
use serde_json::json;
use sha2::{Digest, Sha256};
use tokio_postgres::types::Type;

use crate::measure::Op;
use crate::seed;

/// The registered client the tokens were issued to.
pub const CLIENT_ID: &str = "bench-client";
/// The resource the tokens are for (`BETTER_AUTH_OAUTH_RESOURCES`).
pub const RESOURCE: &str = "https://api.bench.example";
/// The provider's `prefix.opaqueAccessToken` (`BETTER_AUTH_OAUTH_OPAQUE_PREFIX`).
pub const PREFIX: &str = "bao_";

/// The provider's issuer for `base_url` (Better Auth's default base path).
pub fn issuer(base_url: &str) -> String {
    format!("{base_url}/api/auth")
}

/// A user's `at+jwt` as the provider signs it on the jwt plugin's key `kid`.
pub fn jwt(key: &SigningKey, kid: &str, base_url: &str, user: &str, now: i64) -> String {
    let header = json!({"alg": "EdDSA", "kid": kid, "typ": "at+jwt"});
    let claims = json!({
        "sub": user, "aud": RESOURCE, "azp": CLIENT_ID, "client_id": CLIENT_ID,
        "scope": "read write", "iss": issuer(base_url), "iat": now, "exp": now + 3600,
        "jti": test_support::random_token(32),
    });
    test_support::jws::sign_eddsa(key, &header, &claims)
}

/// The provider's tables (the columns and types its migration writes that the authorizer
/// reads), one client, one resource, and an opaque token (prefixed; stored as base64url
/// SHA-256) for each user: the tokens and their users.
pub async fn store(url: &str, users: &[String]) -> Result<Vec<(String, String)>, String> {
    store_as(url, users, "bench-at", None).await
}

/// [`store`] for tokens bound to the DPoP key whose thumbprint is `jkt` (the provider's
/// `confirmation` column), under their own row ids.
pub async fn store_bound(
    url: &str,
    users: &[String],
    jkt: &str,
) -> Result<Vec<(String, String)>, String> {
    let confirmation = json!({ "jkt": jkt }).to_string();
    store_as(url, users, "bench-dpop", Some(&confirmation)).await
}

async fn store_as(
    url: &str,
    users: &[String],
    id_prefix: &str,
    confirmation: Option<&str>,
) -> Result<Vec<(String, String)>, String> {
    let db = seed::connect(url).await?;
    db.batch_execute(&format!(
        "CREATE TABLE IF NOT EXISTS \"oauthClient\" (id text PRIMARY KEY, \"clientId\" text UNIQUE NOT NULL, disabled boolean);
         CREATE TABLE IF NOT EXISTS \"oauthResource\" (id text PRIMARY KEY, identifier text UNIQUE NOT NULL);
         CREATE TABLE IF NOT EXISTS \"oauthAccessToken\" (id text PRIMARY KEY, token text UNIQUE, \"clientId\" text NOT NULL,
           \"sessionId\" text, \"userId\" text, resources jsonb, scopes jsonb NOT NULL, confirmation jsonb,
           \"expiresAt\" timestamptz, \"createdAt\" timestamptz, revoked timestamptz);
         INSERT INTO \"oauthClient\" VALUES ('bench-client-row', '{CLIENT_ID}', false) ON CONFLICT DO NOTHING;
         INSERT INTO \"oauthResource\" VALUES ('bench-resource-row', '{RESOURCE}') ON CONFLICT DO NOTHING;"
    ))
    .await
    .map_err(|e| format!("oauth tables: {e}"))?;
    let tokens: Vec<(String, String)> = users
        .iter()
        .map(|user| (test_support::random_token(32), user.clone()))
        .collect();
    let ids: Vec<String> = (0..tokens.len())
        .map(|i| format!("{id_prefix}-{i}"))
        .collect();
    let hashes: Vec<String> = tokens
        .iter()
        .map(|(t, _)| URL_SAFE_NO_PAD.encode(Sha256::digest(t.as_bytes())))
        .collect();
    let owners: Vec<String> = tokens.iter().map(|(_, u)| u.clone()).collect();
    db.execute(
        "INSERT INTO \"oauthAccessToken\" (id, token, \"clientId\", \"userId\", resources, scopes, confirmation, \"expiresAt\", \"createdAt\")
         SELECT id, hash, $4, owner, jsonb_build_array($5::text), '[\"read\", \"write\"]'::jsonb, $6::text::jsonb, now() + interval '1 day', now()
         FROM unnest($1::text[], $2::text[], $3::text[]) AS t(id, hash, owner)
         ON CONFLICT (id) DO UPDATE SET token = EXCLUDED.token, \"userId\" = EXCLUDED.\"userId\", \"expiresAt\" = EXCLUDED.\"expiresAt\", confirmation = EXCLUDED.confirmation",
        &[&ids, &hashes, &owners, &CLIENT_ID, &RESOURCE, &confirmation],
    )
    .await
    .map_err(|e| format!("oauthAccessToken: {e}"))?;
    db.batch_execute("ANALYZE \"oauthAccessToken\"")
        .await
        .map_err(|e| format!("analyze: {e}"))?;
    Ok(tokens
        .into_iter()
        .map(|(t, u)| (format!("{PREFIX}{t}"), u))
        .collect())
}

/// The exact statement the opaque path runs (from the handler's own store) through
/// tokio-postgres alone, with the parameters the method binds.
pub async fn limit_worker(
    auth: &Authenticator,
    url: &str,
    base_url: &str,
    tokens: &Arc<Vec<(String, String)>>,
) -> Result<Op, String> {
    let lookup = auth
        .database()
        .oauth_token_lookup()
        .await
        .map_err(|e| e.to_string())?;
    let client = Arc::new(seed::connect(url).await?);
    let statement = client
        .prepare_typed(&lookup.sql, &[Type::TEXT, Type::TEXT])
        .await
        .map_err(|e| e.to_string())?;
    let lookup = Arc::new(lookup);
    let hashed: Arc<Vec<(String, String)>> = Arc::new(
        tokens
            .iter()
            .map(|(t, u)| {
                let raw = t.strip_prefix(PREFIX).unwrap_or(t);
                (
                    URL_SAFE_NO_PAD.encode(Sha256::digest(raw.as_bytes())),
                    u.clone(),
                )
            })
            .collect(),
    );
    let userinfo = Arc::new(format!("{}/oauth2/userinfo", issuer(base_url)));
    Ok(Arc::new(move |i| {
        let client = Arc::clone(&client);
        let statement = statement.clone();
        let hashed = Arc::clone(&hashed);
        let lookup = Arc::clone(&lookup);
        let userinfo = Arc::clone(&userinfo);
        Box::pin(async move {
            let (hash, user) = &hashed[i % hashed.len()];
            let started = Instant::now();
            let rows = client.query(&statement, &[hash, &*userinfo]).await;
            let took = started.elapsed();
            // Checked after the clock stops, with the statement's own decoder.
            let ok = rows.is_ok_and(|rows| {
                rows.len() == 1
                    && lookup
                        .decode(&rows[0])
                        .is_ok_and(|r| r.user_id.as_deref() == Some(user.as_str()))
            });
            (ok, took)
        })
    }))
}

/// The host the DPoP row's events name (`requestContext.domainName`).
pub const DPOP_HOST: &str = "api.bench.example";

/// The URL the DPoP row's events stand for (`requestContext.domainName` + `path`).
pub fn dpop_url(path: &str) -> String {
    format!("https://{DPOP_HOST}{path}")
}
