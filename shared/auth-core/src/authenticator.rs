//! "Who is this request?": one loop over the configured credential methods.
//!
//! The rules live in [`crate::methods`] as data (each method's [`Precedence`]); this loop only
//! applies them:
//!
//! - `jwt` is exclusive: a JWS-shaped `Authorization: Bearer` value is verified with the jwt
//!   plugin's keys and decides alone (it is never looked up as a session token).
//! - `cookie-cache` and `session` run in the configured order. A cookie-cache miss (absent,
//!   expired, another session, another version, a refusal read from the cache) passes on. When
//!   `session` cannot answer (the store is down) and `cookie-cache` comes after it, a valid
//!   cache still decides; otherwise the error stands: an error is never an allow.

use crate::config::Config;
use crate::credentials::{
    Credential, CredentialError, CredentialSource, ExtractOptions, RawCredentials,
};
use crate::env::ConfigError;
use crate::error::AuthError;
use crate::identity::{Identity, Policy, Refusal};
use crate::keys::JwksCache;
use crate::methods::{ConfiguredMethod, Context, MethodName, Precedence, Step, Verdict};
use crate::result_cache::ResultCache;
use crate::store::DeployedStore;
use crate::store::port::AuthStore;
use crate::store::postgres::Database;
use crate::store::secondary::SecondaryStore;
use crate::telemetry::metrics::Metrics;

/// A verified caller and how they proved it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Authenticated {
    /// Who.
    pub identity: Identity,
    /// Where the credential came from.
    pub source: CredentialSource,
    /// Which method vouched for it.
    pub method: MethodName,
}

/// One authentication, with the fingerprint of the credential it used (for logs).
#[derive(Debug)]
pub struct Attempt {
    /// The answer.
    pub result: Result<Authenticated, AuthError>,
    /// A short hash of the token or JWT, when the request had a well-formed one.
    pub fingerprint: Option<String>,
}

/// Validates Better Auth credentials against a store. Build one per container and share it.
#[derive(Debug)]
pub struct Authenticator<S = DeployedStore> {
    extract: ExtractOptions,
    policy: Policy,
    store: S,
    keys: JwksCache,
    /// Exclusive methods first, then the others, each group in the configured order.
    methods: Vec<ConfiguredMethod>,
    /// The user fields a context may carry besides the core ones.
    context_user_fields: Vec<String>,
    /// Whether an ordered method owns bearer values by shape (then each request asks).
    bearer_owners: bool,
    /// The headers the methods read besides `Authorization` and `Cookie`.
    extra_headers: Vec<String>,
    /// The api-key configurations whose keys are users'.
    api_key_user_configs: Vec<String>,
    /// What callers may do (roles, route rules): [`crate::authorization`].
    pub(crate) access: crate::access::AccessSettings,
    /// Organizations' roles merged with their dynamic rows, as last read.
    pub(crate) organization_roles: crate::access::cache::RolesCache,
    /// The REST usage-plan key, when configured.
    usage_identifier: Option<crate::usage::UsageIdentifier>,
    /// The EMF records of this container (`METRICS_ENABLED`).
    metrics: Metrics,
}

impl Authenticator<DeployedStore> {
    /// Builds the validator on the configured store — PostgreSQL, or secondary storage in front
    /// of it — with its (lazy) connections and (empty) key cache. No I/O.
    pub fn new(config: &Config) -> Result<Self, ConfigError> {
        let database = Database::new(&config.database, &config.schema)?;
        let store = match &config.secondary_storage {
            None => DeployedStore::database_only(database),
            Some(settings) => {
                if settings.prefix.is_empty() && !config.require_signature {
                    // Issue 27 S2: a bearer value names any key of the Redis then.
                    tracing::warn!(
                        "BETTER_AUTH_SECONDARY_STORAGE_PREFIX is empty: a bearer value can name \
                         any key of the Redis (shared with other applications?); set \
                         BETTER_AUTH_REQUIRE_SIGNATURE=true so that only signed tokens are looked up"
                    );
                }
                DeployedStore::with_secondary(database, SecondaryStore::new(settings.clone())?)
            }
        };
        Self::with_store(config, store)
    }

    /// With `oauth` on: Better Auth 1.6's legacy provider (`oidcProvider`/`mcp`: tokens in plain
    /// text) is a start-up error naming the version — it cannot be supported, and tokens
    /// refused in silence would hide that. Tables that are merely missing (the provider's
    /// migration not run yet, a mapping with a typo) are an `ERROR` line, and OAuth tokens fail
    /// closed per request while sessions and keys go on working.
    async fn check_oauth_tables(&self) -> Result<(), ConfigError> {
        use crate::schema::{OAuthAccessTokenField, OAuthClientField};
        if !self.methods().any(|m| m == MethodName::OAuth) {
            return Ok(());
        }
        let Ok(layout) = self.database().layout().await else {
            return Ok(());
        };
        let clients = layout.table::<OAuthClientField>().is_some();
        let tokens = layout.table::<OAuthAccessTokenField>().is_some();
        if clients && tokens {
            return Ok(());
        }
        if self
            .database()
            .has_legacy_oauth_provider()
            .await
            .unwrap_or(false)
        {
            return Err(ConfigError::Invalid {
                var: "BETTER_AUTH_METHODS",
                reason: "the oauth method is on but the database holds Better Auth 1.6's legacy \
                         OAuth provider (oidc-provider/mcp: oauthApplication, a plain-text \
                         accessToken), which is not supported: move to \
                         @better-auth/oauth-provider 1.7"
                    .into(),
            });
        }
        tracing::error!(
            oauth_client_table = clients,
            oauth_access_token_table = tokens,
            "the oauth method is on but @better-auth/oauth-provider 1.7's tables (oauthClient, \
             oauthAccessToken with a hashed `token`) were not found: OAuth access tokens are \
             refused until they are (run the provider's migration, or map renamed tables with \
             BETTER_AUTH_OAUTH_CLIENT_TABLE and BETTER_AUTH_OAUTH_ACCESS_TOKEN_TABLE)"
        );
        Ok(())
    }

    /// The PostgreSQL database, for functions that run their own queries.
    pub fn database(&self) -> &Database {
        self.store.database()
    }

    /// Connects and detects the schema during the function's init phase (see
    /// [`Database::warm_up`]); a connection failure is logged and left to the first request.
    /// A schema the configured methods can never use (`oauth` on Better Auth 1.6's legacy
    /// provider) is an error: the function should not start.
    pub async fn warm_up(&self) -> Result<(), ConfigError> {
        let started = std::time::Instant::now();
        match self.database().warm_up().await {
            Ok(()) => {
                tracing::info!(
                    took_ms = started.elapsed().as_millis() as u64,
                    "connected and detected the schema at start-up"
                );
                self.check_oauth_tables().await
            }
            Err(error) => {
                tracing::warn!(
                    error = %error,
                    "could not connect at start-up; the first request will try again"
                );
                Ok(())
            }
        }
    }
}

impl<S: AuthStore> Authenticator<S> {
    /// Builds the validator on any store. No I/O.
    pub fn with_store(config: &Config, store: S) -> Result<Self, ConfigError> {
        let keys = JwksCache::new(config.keys.clone()).map_err(|e| ConfigError::Invalid {
            var: "BETTER_AUTH_JWKS_URL",
            reason: e.to_string(),
        })?;
        let mut methods = Vec::with_capacity(config.method_order.len());
        for precedence in [
            Precedence::ExclusiveFirst,
            Precedence::Exclusive,
            Precedence::Ordered,
        ] {
            for name in config
                .method_order
                .iter()
                .filter(|m| m.precedence() == precedence)
            {
                methods.push(ConfiguredMethod::build(*name, &config.methods)?);
            }
        }
        // An exclusive owner (`jwt`) claims its own values before `session` runs and decides
        // alone: only an ordered owner needs `session` to step aside, so only then does a
        // request pay to ask.
        let bearer_owners = methods
            .iter()
            .any(|m| m.name().owns_bearer_values() && m.name().precedence() == Precedence::Ordered);
        let mut extra_headers: Vec<String> = Vec::new();
        for header in methods.iter().flat_map(ConfiguredMethod::extra_headers) {
            if !extra_headers.contains(header) {
                extra_headers.push(header.clone());
            }
        }
        Ok(Self {
            bearer_owners,
            extra_headers,
            extract: config.extract_options(),
            policy: config.policy(),
            store,
            keys,
            methods,
            context_user_fields: config.context_user_fields.clone(),
            api_key_user_configs: config.methods.api_key.user_config_ids(),
            organization_roles: crate::access::cache::RolesCache::new(
                config.access.organization_roles_ttl,
            ),
            access: config.access.clone(),
            usage_identifier: config.usage_identifier.clone(),
            metrics: Metrics::new(&config.metrics),
        })
    }

    /// The container's metrics (EMF members for the decision's or request's line).
    pub fn metrics(&self) -> &Metrics {
        &self.metrics
    }

    /// `API_GATEWAY_USAGE_IDENTIFIER`: what a REST answer's `usageIdentifierKey` carries.
    pub fn usage_identifier(&self) -> Option<&crate::usage::UsageIdentifier> {
        self.usage_identifier.as_ref()
    }

    /// The api-key configurations whose keys act as their user (`BETTER_AUTH_API_KEY_CONFIGS`,
    /// whether or not `api-key` is among the methods): the account functions' key routes show
    /// and delete only keys of these.
    pub fn api_key_user_configs(&self) -> &[String] {
        &self.api_key_user_configs
    }

    /// The user fields a context carries besides the core ones: the plugin fields
    /// (`isAnonymous`, `username`, …) and `BETTER_AUTH_CONTEXT_USER_FIELDS`.
    pub fn context_user_fields(&self) -> &[String] {
        &self.context_user_fields
    }

    /// The store.
    pub fn store(&self) -> &S {
        &self.store
    }

    /// The jwt plugin's key cache.
    pub fn keys(&self) -> &JwksCache {
        &self.keys
    }

    /// The `session` method's result cache, when `session` is configured.
    pub fn result_cache(&self) -> Option<&ResultCache> {
        self.methods.iter().find_map(|m| match m {
            ConfiguredMethod::Session(session) => Some(session.result_cache()),
            _ => None,
        })
    }

    /// The headers the configured methods read besides `Authorization` and `Cookie` (lower-case;
    /// `x-api-key` when the `api-key` method is on): what event parsers collect into
    /// [`RawCredentials::api_keys`].
    pub fn extra_headers(&self) -> &[String] {
        &self.extra_headers
    }

    /// Whether a configured method checks DPoP proofs (`oauth` with `BETTER_AUTH_OAUTH_DPOP`):
    /// event parsers then collect the `DPoP` header into [`RawCredentials::dpop_proofs`] and the
    /// request's method and URL into [`RawCredentials::request`].
    pub fn reads_dpop(&self) -> bool {
        self.methods
            .iter()
            .any(|m| matches!(m, ConfiguredMethod::OAuth(oauth) if oauth.checks_dpop()))
    }

    /// Whether `api-key` is the only method: a REST TOKEN authorizer's one identity source is
    /// then read as the API key.
    pub fn api_key_only(&self) -> bool {
        self.methods.len() == 1 && matches!(self.methods[0], ConfiguredMethod::ApiKey(_))
    }

    /// The methods accepted, exclusive ones first, then in the configured order.
    pub fn methods(&self) -> impl Iterator<Item = MethodName> + '_ {
        self.methods.iter().map(ConfiguredMethod::name)
    }

    /// Finds and verifies the session token without touching the store.
    pub fn credential(&self, raw: &RawCredentials<'_>) -> Result<Credential, AuthError> {
        Ok(crate::credentials::extract(raw, &self.extract)?)
    }

    /// The whole check. A credential that fails any offline check never reaches the store.
    pub async fn authenticate(&self, raw: &RawCredentials<'_>) -> Result<Authenticated, AuthError> {
        self.attempt(raw).await.result
    }

    /// [`Self::authenticate`], also returning the credential's fingerprint for logging.
    pub async fn attempt(&self, raw: &RawCredentials<'_>) -> Attempt {
        let context = Context {
            store: &self.store,
            keys: &self.keys,
            extract: &self.extract,
            policy: self.policy,
            session_token: std::sync::OnceLock::new(),
            bearer_owned_elsewhere: self.bearer_owners
                && crate::credentials::bearer(raw)
                    .is_some_and(|value| self.methods.iter().any(|m| m.owns_bearer(value))),
        };
        let mut fingerprint: Option<String> = None;
        let mut claimed = false;
        let mut unavailable: Option<AuthError> = None;
        for method in &self.methods {
            let exclusive = method.name().precedence().is_exclusive();
            let verdict = match method.step(raw, &context).await {
                Step::Absent => continue,
                Step::Invalid(error) => {
                    return Attempt {
                        result: Err(error.into()),
                        fingerprint,
                    };
                }
                Step::Answered {
                    verdict,
                    fingerprint: seen,
                } => {
                    claimed = true;
                    fingerprint.get_or_insert(seen);
                    verdict
                }
            };
            if let Verdict::Unavailable(error) = &verdict {
                // Counted once here, whichever method answers in the end.
                if let Some(tally) = error.tally() {
                    crate::telemetry::metrics::count(tally);
                }
            }
            match verdict {
                Verdict::Decided(result) => {
                    let method = method.name();
                    return Attempt {
                        result: result.map(|verified| Authenticated {
                            identity: verified.identity,
                            source: verified.source,
                            method,
                        }),
                        fingerprint,
                    };
                }
                Verdict::Unavailable(error) if exclusive => {
                    return Attempt {
                        result: Err(error),
                        fingerprint,
                    };
                }
                Verdict::Unavailable(error) => {
                    tracing::warn!(method = method.name().as_str(), error = %error, "method could not answer");
                    unavailable = Some(error);
                }
                Verdict::Pass(_) if exclusive => break,
                Verdict::Pass(_) => {}
            }
        }
        let result = Err(match unavailable {
            Some(error) => error,
            None if claimed => AuthError::Refused {
                reason: Refusal::Unknown,
                user_id: None,
            },
            None => CredentialError::Missing.into(),
        });
        Attempt {
            result,
            fingerprint,
        }
    }
}

/// The ordering and fallback rules, on the in-memory store: no database, milliseconds.
#[cfg(test)]
mod tests {
    use base64::Engine as _;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use chrono::{DateTime, Duration, Utc};
    use hmac::{Hmac, Mac};
    use sha2::Sha256;

    use super::*;
    use crate::Outcome;
    use crate::identity::SessionRecord;
    use crate::signing::{Secret, sign_cookie_value};
    use crate::store::UserBan;
    use crate::store::memory::MemoryStore;

    const SECRET: &str = "memory-test-secret-0123456789abcdefghijkl";
    const TOKEN: &str = "AbCdEfGhIjKlMnOpQrStUvWxYz012345";

    fn authenticator(extra: &[(&str, &str)]) -> Authenticator<MemoryStore> {
        let mut vars = vec![
            ("DATABASE_URL", "postgres://u@127.0.0.1:9/none"),
            ("BETTER_AUTH_SECRET", SECRET),
            ("BETTER_AUTH_URL", "https://auth.example.com"),
            // The plain cookie name in these tests (an https URL alone means `__Secure-`).
            ("BETTER_AUTH_SECURE_COOKIES", "false"),
        ];
        vars.extend_from_slice(extra);
        let config = Config::from_lookup(|k| {
            vars.iter()
                .find(|(name, _)| *name == k)
                .map(|(_, v)| (*v).to_owned())
        })
        .expect("config");
        Authenticator::with_store(&config, MemoryStore::new()).expect("authenticator")
    }

    fn record(user_id: &str, expires_at: DateTime<Utc>) -> SessionRecord {
        SessionRecord {
            session_id: format!("session-of-{user_id}"),
            user_id: user_id.to_owned(),
            expires_at,
            impersonated_by: None,
            revoked: false,
            email: format!("{user_id}@example.com"),
            name: "Someone".into(),
            email_verified: true,
            role: Some("user".into()),
            banned: None,
            ban_expires: None,
            impersonator_banned: None,
            impersonator_ban_expires: None,
            extras: Vec::new(),
            organization: None,
        }
    }

    fn cookie(token: &str) -> String {
        format!(
            "better-auth.session_token={}",
            sign_cookie_value(&Secret::new(SECRET), token)
        )
    }

    /// A compact cookie cache exactly as Better Auth writes one.
    fn compact_cache(record: &SessionRecord, token: &str, banned: bool) -> String {
        let session = serde_json::json!({
            "session": {
                "id": record.session_id, "token": token, "userId": record.user_id,
                "expiresAt": record.expires_at.to_rfc3339(),
            },
            "user": {
                "id": record.user_id, "email": record.email, "name": record.name,
                "emailVerified": true, "banned": banned,
            },
        })
        .to_string();
        let expires = (Utc::now() + Duration::minutes(5)).timestamp_millis();
        let mut mac = Hmac::<Sha256>::new_from_slice(SECRET.as_bytes()).expect("key");
        mac.update(&session.as_bytes()[..session.len() - 1]);
        mac.update(format!(",\"expiresAt\":{expires}}}").as_bytes());
        let signature = URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes());
        let outer = format!(
            "{{\"session\":{session},\"expiresAt\":{expires},\"signature\":\"{signature}\"}}"
        );
        format!(
            "better-auth.session_data={}",
            URL_SAFE_NO_PAD.encode(outer.as_bytes())
        )
    }

    async fn run(
        auth: &Authenticator<MemoryStore>,
        authorization: &[&str],
        cookies: &[&str],
    ) -> Result<Authenticated, AuthError> {
        let raw = RawCredentials {
            authorization: authorization.to_vec(),
            cookies: cookies.to_vec(),
            api_keys: vec![],
            ..Default::default()
        };
        auth.authenticate(&raw).await
    }

    fn code(result: Result<Authenticated, AuthError>) -> &'static str {
        match result {
            Ok(ok) => ok.method.as_str(),
            Err(error) => error.code(),
        }
    }

    #[tokio::test]
    async fn the_session_method_decides_from_the_store() {
        let auth = authenticator(&[]);
        let live = record("u1", Utc::now() + Duration::hours(1));
        auth.store().insert_session(TOKEN, live.clone());
        let ok = run(&auth, &[], &[&cookie(TOKEN)]).await.expect("allowed");
        assert_eq!(
            (
                ok.method,
                ok.identity.user_id.as_deref().unwrap_or_default()
            ),
            (MethodName::Session, "u1")
        );
        assert_eq!(ok.source, CredentialSource::Cookie);
        let bearer = format!("Bearer {TOKEN}");
        assert_eq!(code(run(&auth, &[&bearer], &[]).await), "session");

        auth.store()
            .insert_session(TOKEN, record("u1", Utc::now() - Duration::seconds(1)));
        assert_eq!(
            code(run(&auth, &[], &[&cookie(TOKEN)]).await),
            "session_expired"
        );
        let mut banned = live;
        banned.banned = Some(true);
        auth.store().insert_session(TOKEN, banned);
        let refused = run(&auth, &[], &[&cookie(TOKEN)])
            .await
            .expect_err("banned");
        assert_eq!(refused.outcome(), Outcome::Forbidden);
        auth.store().remove_session(TOKEN);
        assert_eq!(
            code(run(&auth, &[], &[&cookie(TOKEN)]).await),
            "unknown_session"
        );
        assert_eq!(code(run(&auth, &[], &[]).await), "missing_credentials");
    }

    #[tokio::test]
    async fn offline_refusals_never_reach_the_store() {
        let auth = authenticator(&[]);
        auth.store()
            .insert_session(TOKEN, record("u1", Utc::now() + Duration::hours(1)));
        let forged = format!("better-auth.session_token={TOKEN}.AAAA");
        assert_eq!(
            code(run(&auth, &[], &[&forged]).await),
            "malformed_signature"
        );
        let a = format!("Bearer {TOKEN}");
        assert_eq!(
            code(run(&auth, &[&a, "Bearer other"], &[]).await),
            "conflicting_credentials"
        );
        // The Authorization header decides alone, even next to a valid cookie.
        assert_eq!(
            code(run(&auth, &["Basic abc"], &[&cookie(TOKEN)]).await),
            "wrong_scheme"
        );
        assert_eq!(auth.store().lookups(), 0);
    }

    #[tokio::test]
    async fn a_store_outage_is_an_error_unless_a_later_cookie_cache_decides() {
        let live = record("u1", Utc::now() + Duration::hours(1));
        let cache = compact_cache(&live, TOKEN, false);
        let session_only = authenticator(&[]);
        session_only.store().set_down(true);
        let error = run(&session_only, &[], &[&cookie(TOKEN), &cache])
            .await
            .expect_err("down");
        assert_eq!(error.outcome(), Outcome::Unavailable);

        let with_fallback = authenticator(&[("BETTER_AUTH_METHODS", "session,cookie-cache")]);
        with_fallback.store().set_down(true);
        let ok = run(&with_fallback, &[], &[&cookie(TOKEN), &cache])
            .await
            .expect("the cache decides while the store is down");
        assert_eq!(ok.method, MethodName::CookieCache);
        let error = run(&with_fallback, &[], &[&cookie(TOKEN)])
            .await
            .expect_err("no cache: the outage stands");
        assert_eq!(error.outcome(), Outcome::Unavailable);
    }

    #[tokio::test]
    async fn a_cookie_cache_first_saves_the_lookup_and_any_miss_falls_through() {
        let auth = authenticator(&[("BETTER_AUTH_METHODS", "cookie-cache,session")]);
        let live = record("u1", Utc::now() + Duration::hours(1));
        auth.store().insert_session(TOKEN, live.clone());
        let ok = run(
            &auth,
            &[],
            &[&cookie(TOKEN), &compact_cache(&live, TOKEN, false)],
        )
        .await
        .expect("cache hit");
        assert_eq!(ok.method, MethodName::CookieCache);
        assert_eq!(auth.store().lookups(), 0, "a cache hit needs no lookup");

        // Another session's cache, a stale refusal, no cache: the store decides.
        let other = compact_cache(&live, "ZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZ", false);
        let stale_ban = compact_cache(&live, TOKEN, true);
        for cache in [other.as_str(), stale_ban.as_str(), "theme=dark"] {
            let ok = run(&auth, &[], &[&cookie(TOKEN), cache])
                .await
                .expect("the store decides");
            assert_eq!(ok.method, MethodName::Session, "{cache}");
        }
        // A bearer token has no cookie cache: the store decides.
        let bearer = format!("Bearer {TOKEN}");
        assert_eq!(code(run(&auth, &[&bearer], &[]).await), "session");

        let cache_only = authenticator(&[("BETTER_AUTH_METHODS", "cookie-cache")]);
        assert_eq!(
            code(run(&cache_only, &[], &[&cookie(TOKEN), &stale_ban]).await),
            "unknown_session",
            "with nothing after it, a miss is refused"
        );
        assert_eq!(cache_only.store().lookups(), 0);
    }

    #[tokio::test]
    async fn a_chunked_cookie_cache_decodes_with_secure_cookies() {
        // Issue 27 F7: an https BETTER_AUTH_URL (secure cookies, no BETTER_AUTH_SECURE_COOKIES)
        // and a cache large enough for Better Auth to split it into `<name>.0`, `<name>.1`.
        let vars = [
            ("DATABASE_URL", "postgres://u@127.0.0.1:9/none"),
            ("BETTER_AUTH_SECRET", SECRET),
            ("BETTER_AUTH_URL", "https://auth.example.com"),
            ("BETTER_AUTH_METHODS", "cookie-cache"),
        ];
        let config = Config::from_lookup(|k| {
            vars.iter()
                .find(|(name, _)| *name == k)
                .map(|(_, v)| (*v).to_owned())
        })
        .expect("config");
        let auth = Authenticator::with_store(&config, MemoryStore::new()).expect("authenticator");
        let mut live = record("u1", Utc::now() + Duration::hours(1));
        live.name = "N".repeat(4000);
        let whole = compact_cache(&live, TOKEN, false);
        let value = whole
            .strip_prefix("better-auth.session_data=")
            .expect("cache value");
        // Better Auth's session store: chunks of 4096 - 200 characters past 4093.
        assert!(value.len() > 4093);
        let chunks: Vec<String> = value
            .as_bytes()
            .chunks(4096 - 200)
            .enumerate()
            .map(|(i, chunk)| {
                format!(
                    "__Secure-better-auth.session_data.{i}={}",
                    String::from_utf8_lossy(chunk)
                )
            })
            .collect();
        assert!(chunks.len() > 1);
        let session = format!(
            "__Secure-better-auth.session_token={}",
            sign_cookie_value(&Secret::new(SECRET), TOKEN)
        );
        let mut cookies: Vec<&str> = vec![&session];
        cookies.extend(chunks.iter().map(String::as_str));
        let ok = run(&auth, &[], &cookies)
            .await
            .expect("the chunked cache decides");
        assert_eq!(ok.method, MethodName::CookieCache);
        assert_eq!(auth.store().lookups(), 0);
    }

    #[tokio::test]
    async fn a_jwt_decides_alone_whatever_the_order() {
        let auth = authenticator(&[("BETTER_AUTH_METHODS", "session,jwt")]);
        let jws = "eyJhbGciOiJFZERTQSIsImtpZCI6Im5vbmUifQ.eyJzdWIiOiJ1MSJ9.c2lnbmF0dXJl";
        // Were it looked up as a session token, it would be allowed.
        auth.store()
            .insert_session(jws, record("u1", Utc::now() + Duration::hours(1)));
        auth.store().set_keys(Some(Vec::new()));
        let bearer = format!("Bearer {jws}");
        let refused = run(&auth, &[&bearer], &[]).await.expect_err("unknown key");
        assert_eq!(refused.outcome(), Outcome::Unauthenticated);
        assert_eq!(refused.code(), "jwt_unknown_key");

        // The key source down is an error, not a reason to try the session method.
        let down = authenticator(&[("BETTER_AUTH_METHODS", "session,jwt")]);
        down.store()
            .insert_session(jws, record("u1", Utc::now() + Duration::hours(1)));
        down.store().set_down(true);
        let error = run(&down, &[&bearer], &[])
            .await
            .expect_err("keys unavailable");
        assert_eq!(error.outcome(), Outcome::Unavailable);

        // Without `jwt` configured, a JWS-shaped bearer is not a session token either.
        let session_only = authenticator(&[]);
        session_only
            .store()
            .insert_session(jws, record("u1", Utc::now() + Duration::hours(1)));
        assert!(run(&session_only, &[&bearer], &[]).await.is_err());
    }

    #[tokio::test]
    async fn the_jwt_ban_check_reads_the_store() {
        let auth = authenticator(&[
            ("BETTER_AUTH_METHODS", "jwt"),
            ("BETTER_AUTH_JWT_CHECK_BAN", "true"),
        ]);
        assert!(auth.methods().eq([MethodName::Jwt]));
        auth.store().set_ban(
            "u1",
            UserBan {
                banned: Some(true),
                ban_expires: None,
            },
        );
        // No key: refused before the ban is read.
        auth.store().set_keys(Some(Vec::new()));
        let jws = "eyJhbGciOiJFZERTQSIsImtpZCI6Im5vbmUifQ.eyJzdWIiOiJ1MSJ9.c2lnbmF0dXJl";
        let bearer = format!("Bearer {jws}");
        assert_eq!(code(run(&auth, &[&bearer], &[]).await), "jwt_unknown_key");
        assert_eq!(auth.store().lookups(), 1, "one key load, no ban lookup");
    }

    #[tokio::test]
    async fn exclusive_methods_come_first_and_the_result_cache_saves_lookups() {
        let auth = authenticator(&[
            ("BETTER_AUTH_METHODS", "cookie-cache,session,jwt"),
            ("AUTH_RESULT_CACHE_TTL_MS", "60000"),
        ]);
        assert!(auth.methods().eq([
            MethodName::Jwt,
            MethodName::CookieCache,
            MethodName::Session
        ]));
        auth.store()
            .insert_session(TOKEN, record("u1", Utc::now() + Duration::hours(1)));
        for _ in 0..3 {
            assert_eq!(code(run(&auth, &[], &[&cookie(TOKEN)]).await), "session");
        }
        assert_eq!(auth.store().lookups(), 1);
        assert_eq!(auth.result_cache().map(ResultCache::len), Some(1));
    }

    fn key_record(counted: bool) -> crate::identity::ApiKeyRecord {
        crate::identity::ApiKeyRecord {
            key_id: "k1".into(),
            counted,
            disabled: false,
            expired: false,
            exhausted: false,
            rate_limited: false,
            remaining: Some(4),
            permissions: None,
            expires_at: None,
            owner: Some(crate::identity::KeyOwner::User(
                crate::identity::CredentialUser {
                    user_id: "owner".into(),
                    email: "owner@example.com".into(),
                    name: "Owner".into(),
                    email_verified: true,
                    role: None,
                    banned: None,
                    ban_expires: None,
                    extras: Vec::new(),
                },
            )),
        }
    }

    #[tokio::test]
    async fn an_api_key_decides_alone_and_is_hashed_as_better_auth_hashes_it() {
        let auth = authenticator(&[("BETTER_AUTH_METHODS", "session,api-key")]);
        assert!(auth.methods().eq([MethodName::ApiKey, MethodName::Session]));
        assert_eq!(auth.extra_headers(), ["x-api-key".to_owned()]);
        assert!(!auth.api_key_only());
        auth.store()
            .insert_session(TOKEN, record("u1", Utc::now() + Duration::hours(1)));
        auth.store().insert_api_key(
            &crate::methods::api_key::hash_key("the-key"),
            key_record(true),
        );
        let with = |key: &'static str| RawCredentials {
            authorization: vec![],
            cookies: vec![],
            api_keys: vec![key],
            ..Default::default()
        };
        let ok = auth.authenticate(&with("the-key")).await.expect("allowed");
        assert_eq!(ok.method, MethodName::ApiKey);
        assert_eq!(ok.source, CredentialSource::ApiKey);
        assert_eq!(ok.identity.user_id.as_deref(), Some("owner"));
        assert_eq!(
            ok.identity.grant.api_key().map(|k| k.id.as_str()),
            Some("k1")
        );
        // A valid session cookie beside an unknown key: the key decides (refused).
        let mut both = with("another-key");
        let session_cookie = cookie(TOKEN);
        both.cookies.push(&session_cookie);
        assert_eq!(code(auth.authenticate(&both).await), "unknown_session");
        // Without a key, the session method answers.
        assert_eq!(code(run(&auth, &[], &[&cookie(TOKEN)]).await), "session");
        // A use the guarded write did not count (a concurrent use took the last one).
        auth.store().insert_api_key(
            &crate::methods::api_key::hash_key("raced"),
            key_record(false),
        );
        assert_eq!(
            code(auth.authenticate(&with("raced")).await),
            "usage_exceeded"
        );
    }

    #[test]
    fn api_key_settings_are_validated() {
        let config = |headers: &str| {
            Config::from_lookup(|k| match k {
                "DATABASE_URL" => Some("postgres://u@127.0.0.1:9/none".into()),
                "BETTER_AUTH_SECRET" => Some(SECRET.into()),
                "BETTER_AUTH_API_KEY_HEADERS" => Some(headers.into()),
                _ => None,
            })
        };
        assert!(config("X-Api-Key, x-partner-key").is_ok());
        for bad in ["authorization", "x api key", ",", "cookie"] {
            assert!(config(bad).is_err(), "{bad}");
        }
    }

    /// Two methods share the bearer slot: a bearer value another configured method owns by its
    /// shape is never read as the session token, so the session cookie beside it is; a value
    /// nobody owns is the session token, as before.
    #[test]
    fn the_session_token_leaves_a_bearer_value_another_method_owns() {
        let auth = authenticator(&[("BETTER_AUTH_METHODS", "jwt,session")]);
        // `jwt` decides its own values first (exclusive): today no request pays to ask.
        assert!(!auth.bearer_owners);
        let jws = "eyJhbGciOiJFZERTQSJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl";
        let cookie = cookie(TOKEN);
        let context = |raw: &RawCredentials<'_>| Context {
            store: &auth.store,
            keys: &auth.keys,
            extract: &auth.extract,
            policy: auth.policy,
            session_token: std::sync::OnceLock::new(),
            bearer_owned_elsewhere: crate::credentials::bearer(raw)
                .is_some_and(|value| auth.methods.iter().any(|m| m.owns_bearer(value))),
        };
        let owned = format!("Bearer {jws}");
        let raw = RawCredentials {
            authorization: vec![&owned],
            cookies: vec![&cookie],
            api_keys: vec![],
            ..Default::default()
        };
        let with_jws = context(&raw);
        assert!(with_jws.bearer_owned_elsewhere);
        match crate::methods::session::session_token(&raw, &with_jws) {
            crate::methods::Claim::Present(found) => assert_eq!(found.token, TOKEN),
            other => panic!("the cookie's token, not {other:?}"),
        }
        let plain = format!("Bearer {TOKEN}");
        let raw = RawCredentials {
            authorization: vec![&plain],
            cookies: vec![],
            api_keys: vec![],
            ..Default::default()
        };
        let with_token = context(&raw);
        assert!(!with_token.bearer_owned_elsewhere);
        assert!(matches!(
            crate::methods::session::session_token(&raw, &with_token),
            crate::methods::Claim::Present(found) if found.token == TOKEN
        ));
        assert!(!authenticator(&[("BETTER_AUTH_METHODS", "session,api-key")]).bearer_owners);
    }
}
