//! What is measured: the limit, each path of our authorizer handler, and Better Auth.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use auth_core::Authenticator;
use auth_core::signing::{Secret, sign_cookie_value};
use authorizer::event::AuthorizerPayload;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ed25519_dalek::SigningKey;
use hmac::{Hmac, Mac as _};
use lambda_runtime::{Context, LambdaEvent};
use serde_json::{Value, json};
use sha2::Sha256;
use test_support::events::{Shape, event, with_header};
use tokio_postgres::types::Type;

use crate::measure::{Op, Stats};
use crate::{better_auth, runtime_api, seed};

/// The secret the benchmark's cookies are signed with.
pub const SECRET: &str = "bench-secret-0123456789abcdefghijklmnopqrstuv";
const ISSUER: &str = "http://127.0.0.1:3000";
const KID: &str = "bench-key";
/// How many sessions the runs draw from.
const SAMPLE: i64 = 20_000;
/// The result-cache scenario cycles over this many tokens (all cached after the warm-up).
const HOT: usize = 400;

/// One line of the table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scenario {
    /// One prepared statement through tokio-postgres: the physical limit.
    Limit,
    /// Our handler, valid signed session cookie: the database path.
    DatabasePath,
    /// Our handler, a correctly signed token with no session: one query, refused.
    UnknownToken,
    /// Our handler, a forged signature: refused before any query.
    BadSignature,
    /// The same with `METRICS_ENABLED`: the EMF record on the decision's line.
    BadSignatureMetrics,
    /// Our handler with the result cache on, every token already cached.
    ResultCache,
    /// Our handler, a Better Auth JWT (EdDSA, key from the jwks table).
    Jwt,
    /// Our handler, the compact cookie cache.
    CookieCache,
    /// One `GET` of the session key through the redis crate: the secondary-storage limit.
    RedisLimit,
    /// Our handler with sessions in Redis (Better Auth's `secondaryStorage`).
    RedisPath,
    /// The API-key statement (one guarded write) through tokio-postgres alone: its limit.
    ApiKeyLimit,
    /// Our handler, a Better Auth API key (`x-api-key`).
    ApiKeyPath,
    /// The EdDSA signature check of the same JWTs alone (ed25519-dalek): the JWT path's limit.
    SignatureLimit,
    /// Our handler, the database path through PgBouncer in transaction mode (what RDS Proxy and
    /// poolers add); compared with the direct limit.
    PgBouncerPath,
    /// The database path with `AUTHORIZER_ROUTES` (50 rules) and 10 roles: the decision and
    /// the REST policy listing the caller's routes; compared with the database path.
    RoutesPath,
    /// The REST policy for 100 rules alone (every rule decided, overlaps, ARNs; no I/O).
    Policy100,
    /// The same for a kind of caller seen before: the shared answers and written statements.
    Policy100SeenBefore,
    /// The session statement of a database with the organization plugin (the membership
    /// joined) through tokio-postgres alone: the organization path's limit.
    OrgLimit,
    /// Our handler on that database, a route needing `organizationPermissions` that only the
    /// organization's dynamic role grants (its roles read once, then cached).
    OrgRoutesPath,
    /// Our handler, an OAuth `at+jwt` access token (the signature, then one statement: the
    /// client, the resource and the user); compared with the signature check alone.
    OAuthJwtPath,
    /// The same with the OAuth result cache on (`AUTH_RESULT_CACHE_OAUTH_TTL_MS`): the store's answer
    /// reused, the signature checked on every request.
    OAuthJwtCached,
    /// The opaque OAuth token's statement through tokio-postgres alone: that path's limit.
    OAuthOpaqueLimit,
    /// Our handler, an opaque OAuth access token (looked up by hash, one statement).
    OAuthOpaquePath,
    /// The same, DPoP-bound: `Authorization: DPoP` and a fresh proof (its signature checked,
    /// its id recorded in Redis); compared with the opaque path.
    OAuthDpopPath,
    /// What DPoP cannot avoid: importing the proof's key (it comes in every proof), checking
    /// its signature, one `SET NX PX` (ed25519-dalek, the redis crate), one after the other: the
    /// limit of what DPoP adds.
    DpopLimit,
}

/// In table order (the limit and the database path first).
pub const ALL: [Scenario; 25] = [
    Scenario::Limit,
    Scenario::DatabasePath,
    Scenario::RoutesPath,
    Scenario::Policy100,
    Scenario::Policy100SeenBefore,
    Scenario::OrgLimit,
    Scenario::OrgRoutesPath,
    Scenario::PgBouncerPath,
    Scenario::UnknownToken,
    Scenario::BadSignature,
    Scenario::BadSignatureMetrics,
    Scenario::ResultCache,
    Scenario::SignatureLimit,
    Scenario::Jwt,
    Scenario::CookieCache,
    Scenario::RedisLimit,
    Scenario::RedisPath,
    Scenario::ApiKeyLimit,
    Scenario::ApiKeyPath,
    Scenario::OAuthJwtPath,
    Scenario::OAuthJwtCached,
    Scenario::OAuthOpaqueLimit,
    Scenario::OAuthOpaquePath,
    Scenario::OAuthDpopPath,
    Scenario::DpopLimit,
];

impl Scenario {
    /// The table's label.
    pub fn label(self) -> &'static str {
        match self {
            Self::Limit => "limit: the same lookup, one prepared statement (tokio-postgres)",
            Self::DatabasePath => "authorizer: database path (valid session cookie)",
            Self::UnknownToken => "authorizer: unknown token (signed, no session; one query)",
            Self::BadSignature => "authorizer: bad signature (refused, no query)",
            Self::BadSignatureMetrics => {
                "authorizer: bad signature, metrics on (`METRICS_ENABLED`: the EMF record)"
            }
            Self::ResultCache => "authorizer: result cache hit (`AUTH_RESULT_CACHE_TTL_MS`)",
            Self::Jwt => "authorizer: Better Auth JWT (EdDSA, jwks table; no query)",
            Self::CookieCache => "authorizer: cookie cache, compact (no query)",
            Self::RedisLimit => "Redis limit: one GET of the session key (redis crate)",
            Self::RedisPath => "authorizer: secondary storage (Redis; session + revocation marker)",
            Self::ApiKeyLimit => "API-key limit: the same guarded write (tokio-postgres)",
            Self::ApiKeyPath => "authorizer: API key (`x-api-key`; one guarded write)",
            Self::SignatureLimit => "JWT limit: the EdDSA signature check alone (ed25519-dalek)",
            Self::RoutesPath => {
                "authorizer: database path with route rules (50 rules, 10 roles; REST policy)"
            }
            Self::Policy100 => "the REST policy for 100 rules alone (decisions, overlaps, ARNs)",
            Self::Policy100SeenBefore => {
                "the REST policy for 100 rules, a kind of caller seen before (shared, written once)"
            }
            Self::OrgLimit => {
                "organization limit: the session statement with the membership (tokio-postgres)"
            }
            Self::OrgRoutesPath => {
                "authorizer: organization route granted by a dynamic role (roles cached)"
            }
            Self::PgBouncerPath => {
                "authorizer: database path through PgBouncer (transaction mode, unnamed statements)"
            }
            Self::OAuthJwtPath => {
                "authorizer: OAuth at+jwt access token (EdDSA; client, resource, user: one query)"
            }
            Self::OAuthJwtCached => {
                "authorizer: OAuth at+jwt, result cache hit (`AUTH_RESULT_CACHE_OAUTH_TTL_MS`; no query)"
            }
            Self::OAuthOpaqueLimit => {
                "OAuth opaque limit: the same lookup by hash, one statement (tokio-postgres)"
            }
            Self::OAuthOpaquePath => "authorizer: OAuth opaque access token (one lookup by hash)",
            Self::DpopLimit => {
                "DPoP limit: the proof's key import and EdDSA check + one Redis SET NX PX (ed25519-dalek, redis crate)"
            }
            Self::OAuthDpopPath => {
                "authorizer: OAuth opaque token, DPoP-bound (proof signature + one Redis SET NX)"
            }
        }
    }

    /// The limit this scenario is compared with.
    pub fn limit(self) -> Self {
        match self {
            Self::RedisLimit | Self::RedisPath => Self::RedisLimit,
            Self::ApiKeyLimit | Self::ApiKeyPath => Self::ApiKeyLimit,
            Self::SignatureLimit | Self::Jwt | Self::OAuthJwtPath | Self::OAuthJwtCached => {
                Self::SignatureLimit
            }
            Self::OAuthOpaqueLimit | Self::OAuthOpaquePath | Self::OAuthDpopPath => {
                Self::OAuthOpaqueLimit
            }
            Self::DpopLimit => Self::DpopLimit,
            Self::OrgLimit | Self::OrgRoutesPath => Self::OrgLimit,
            _ => Self::Limit,
        }
    }
}

/// Cold starts of the release binary.
#[derive(Debug, Clone, Copy)]
pub struct Startup {
    /// Median, ms.
    pub p50_ms: f64,
    /// Fastest, ms.
    pub min_ms: f64,
    /// Slowest, ms.
    pub max_ms: f64,
    /// How many.
    pub runs: usize,
}

/// One long run of the release binary.
#[derive(Debug, Clone, Copy)]
pub struct Memory {
    /// The first invocation, ms.
    pub first_invocation_ms: Option<f64>,
    /// VmHWM, KiB.
    pub peak_rss_kib: Option<u64>,
    /// Invocations served.
    pub invocations: usize,
}

/// The seeded database and what the scenarios draw from.
pub struct Bench {
    /// The benchmark database's URL.
    pub database_url: String,
    sessions: Arc<Vec<(String, String)>>,
    jwts: Arc<Vec<String>>,
    cache_cookies: Arc<Vec<String>>,
    /// API keys (plaintext) and their owners.
    api_keys: Arc<Vec<(String, String)>>,
    cookies_file: std::path::PathBuf,
    /// The Redis the secondary-storage rows use, and the benchmark's key prefix there.
    redis_url: String,
    redis_prefix: String,
    /// A PgBouncer of the run's own (transaction mode) in front of the server.
    pgbouncer: test_support::pgbouncer::PgBouncer,
    /// The JWT signing key's public half.
    jwt_key: ed25519_dalek::VerifyingKey,
    /// The organization database ([`seed::ORG_DATABASE`]) and its sessions.
    org_database_url: String,
    org_sessions: Arc<Vec<(String, String)>>,
    /// OAuth `at+jwt` access tokens (users: `sessions`, same order).
    oauth_jwts: Arc<Vec<String>>,
    /// Opaque OAuth access tokens (prefixed) and their users.
    oauth_tokens: Arc<Vec<(String, String)>>,
    /// Opaque OAuth access tokens bound to `dpop_key`, and their users.
    oauth_dpop_tokens: Arc<Vec<(String, String)>>,
    dpop_key: Arc<test_support::dpop::DpopKey>,
}

type Expected = Option<String>;

impl Bench {
    /// Seeds the database and prepares tokens, JWTs and cookie caches.
    pub async fn prepare(size: seed::Size) -> Result<Self, String> {
        let database_url = seed::rebuild(&test_support::server_url(), size).await?;
        seed::rebuild_organizations(&test_support::server_url(), 20_000).await?;
        Self::with_database(database_url, SAMPLE).await
    }

    /// The database a full run seeded, with a smaller sample (for the instruction counts, which
    /// run under callgrind).
    pub async fn attach(sample: i64) -> Result<Self, String> {
        let url = test_support::with_database(&test_support::server_url(), seed::DATABASE);
        Self::with_database(url, sample).await
    }

    async fn with_database(database_url: String, sample: i64) -> Result<Self, String> {
        let sessions = seed::sample_sessions(&database_url, sample).await?;
        let key = SigningKey::from_bytes(&rand::random::<[u8; 32]>());
        let jwk = json!({"crv": "Ed25519", "x": URL_SAFE_NO_PAD.encode(key.verifying_key().as_bytes()), "kty": "OKP"});
        seed::store_jwk(&database_url, KID, &jwk.to_string()).await?;
        let now = chrono::Utc::now();
        let jwts = sessions
            .iter()
            .take(2000)
            .map(|(_, user)| jwt(&key, user, now.timestamp()))
            .collect();
        let cache_cookies = sessions
            .iter()
            .take(2000)
            .map(|(token, user)| compact_cache(token, user, now))
            .collect();
        let cookies_file = std::env::temp_dir().join(format!(
            "better-auth-bench-cookies-{}.txt",
            std::process::id()
        ));
        let lines: Vec<String> = sessions
            .iter()
            .map(|(t, _)| sign_cookie_value(&Secret::new(SECRET), t))
            .collect();
        std::fs::write(&cookies_file, lines.join("\n")).map_err(|e| e.to_string())?;
        let oauth_jwts = sessions
            .iter()
            .take(2000)
            .map(|(_, user)| crate::oauth::jwt(&key, KID, ISSUER, user, now.timestamp()))
            .collect();
        let users: Vec<String> = sessions.iter().take(2000).map(|(_, u)| u.clone()).collect();
        let oauth_tokens = crate::oauth::store(&database_url, &users).await?;
        let dpop_key = test_support::dpop::DpopKey::new();
        let oauth_dpop_tokens =
            crate::oauth::store_bound(&database_url, &users, &dpop_key.jkt()).await?;
        let api_keys: Vec<(String, String)> = sessions
            .iter()
            .take(2000)
            .map(|(_, user)| (test_support::random_token(64), user.clone()))
            .collect();
        seed::store_api_keys(&database_url, &api_keys).await?;
        let redis_url = test_support::redis::redis_url();
        let redis_prefix = format!("better-auth-bench-{}:", std::process::id());
        seed::store_in_redis(&redis_url, &redis_prefix, &sessions, now).await?;
        let pgbouncer = test_support::pgbouncer::PgBouncer::start(&database_url, 20).await;
        let org_database_url = test_support::with_database(&database_url, seed::ORG_DATABASE);
        let org_sessions = seed::sample_sessions(&org_database_url, sample.min(2000)).await?;
        Ok(Self {
            oauth_jwts: Arc::new(oauth_jwts),
            oauth_tokens: Arc::new(oauth_tokens),
            oauth_dpop_tokens: Arc::new(oauth_dpop_tokens),
            dpop_key: Arc::new(dpop_key),
            org_database_url,
            org_sessions: Arc::new(org_sessions),
            pgbouncer,
            jwt_key: key.verifying_key(),
            database_url,
            sessions: Arc::new(sessions),
            jwts: Arc::new(jwts),
            cache_cookies: Arc::new(cache_cookies),
            api_keys: Arc::new(api_keys),
            cookies_file,
            redis_url,
            redis_prefix,
        })
    }

    /// The Redis server's version.
    pub async fn redis_version(&self) -> String {
        seed::redis_version(&self.redis_url)
            .await
            .unwrap_or_else(|e| format!("? ({e})"))
    }

    fn authenticator(&self, scenario: Scenario) -> Result<Authenticator, String> {
        let through_pgbouncer = self.pgbouncer.url_for(&self.database_url, seed::DATABASE);
        let database_url = match scenario {
            Scenario::PgBouncerPath => through_pgbouncer.as_str(),
            Scenario::OrgLimit | Scenario::OrgRoutesPath => self.org_database_url.as_str(),
            _ => self.database_url.as_str(),
        };
        let mut vars: Vec<(&str, &str)> = vec![
            ("DATABASE_URL", database_url),
            ("BETTER_AUTH_SECRET", SECRET),
        ];
        let mut access: Option<(String, String)> = None;
        match scenario {
            Scenario::ResultCache => vars.push(("AUTH_RESULT_CACHE_TTL_MS", "600000")),
            Scenario::BadSignatureMetrics => vars.push(("METRICS_ENABLED", "true")),
            Scenario::Jwt => vars.extend([
                ("BETTER_AUTH_METHODS", "jwt,session"),
                ("BETTER_AUTH_URL", ISSUER),
            ]),
            Scenario::CookieCache => vars.push(("BETTER_AUTH_METHODS", "cookie-cache,session")),
            Scenario::OAuthJwtPath
            | Scenario::OAuthJwtCached
            | Scenario::OAuthOpaqueLimit
            | Scenario::OAuthOpaquePath
            | Scenario::OAuthDpopPath => vars.extend([
                ("BETTER_AUTH_METHODS", "oauth,session"),
                ("BETTER_AUTH_URL", ISSUER),
                ("BETTER_AUTH_OAUTH_RESOURCES", crate::oauth::RESOURCE),
                ("BETTER_AUTH_OAUTH_OPAQUE_PREFIX", crate::oauth::PREFIX),
                ("BETTER_AUTH_OAUTH_REQUIRED_SCOPES", "read"),
            ]),
            // As docs/deployment.md says for transaction poolers: unnamed statements, and no
            // `statement_timeout` startup option (PgBouncer refuses unknown ones).
            Scenario::PgBouncerPath => vars.extend([
                ("DATABASE_PREPARED_STATEMENTS", "false"),
                ("DATABASE_SERVER_STATEMENT_TIMEOUT", "false"),
            ]),
            Scenario::ApiKeyLimit | Scenario::ApiKeyPath => {
                vars.push(("BETTER_AUTH_METHODS", "api-key,session"))
            }
            Scenario::OrgRoutesPath => {
                access = Some((
                    String::from(r#"{"dynamicAccessControl": true}"#),
                    String::from(
                        r#"[{"route": "GET /request", "organizationPermissions": {"invoice": ["create"]}}]"#,
                    ),
                ));
            }
            Scenario::RoutesPath => {
                access = Some((
                    crate::authorization::access_control(10),
                    crate::authorization::routes(50),
                ));
            }
            Scenario::RedisPath => vars.extend([
                ("BETTER_AUTH_SECONDARY_STORAGE_URL", self.redis_url.as_str()),
                (
                    "BETTER_AUTH_SECONDARY_STORAGE_PREFIX",
                    self.redis_prefix.as_str(),
                ),
            ]),
            _ => {}
        }
        if scenario == Scenario::OAuthJwtCached {
            vars.push(("AUTH_RESULT_CACHE_OAUTH_TTL_MS", "600000"));
        }
        if scenario == Scenario::OAuthDpopPath {
            vars.extend([
                ("BETTER_AUTH_OAUTH_DPOP", "true"),
                ("BETTER_AUTH_OAUTH_DPOP_REDIS_URL", self.redis_url.as_str()),
                (
                    "BETTER_AUTH_SECONDARY_STORAGE_PREFIX",
                    self.redis_prefix.as_str(),
                ),
            ]);
        }
        if let Some((control, routes)) = &access {
            vars.extend([
                ("BETTER_AUTH_ACCESS_CONTROL", control.as_str()),
                ("AUTHORIZER_ROUTES", routes.as_str()),
            ]);
        }
        let config = auth_core::Config::from_lookup(|k| {
            vars.iter()
                .rev()
                .find(|(n, _)| *n == k)
                .map(|(_, v)| (*v).to_owned())
        })
        .map_err(|e| e.to_string())?;
        Authenticator::new(&config).map_err(|e| e.to_string())
    }

    /// `n` independent workers (simulated containers) for `scenario`.
    pub async fn workers(&self, scenario: Scenario, n: usize) -> Result<Vec<Op>, String> {
        let mut ops = Vec::with_capacity(n);
        for _ in 0..n {
            ops.push(match scenario {
                Scenario::Limit => self.limit_worker(Scenario::DatabasePath).await?,
                Scenario::OrgLimit => self.limit_worker(Scenario::OrgRoutesPath).await?,
                Scenario::RedisLimit => self.redis_limit_worker().await?,
                Scenario::ApiKeyLimit => self.api_key_limit_worker().await?,
                Scenario::OAuthOpaqueLimit => {
                    let auth = self.authenticator(Scenario::OAuthOpaquePath)?;
                    crate::oauth::limit_worker(
                        &auth,
                        &self.database_url,
                        ISSUER,
                        &self.oauth_tokens,
                    )
                    .await?
                }
                Scenario::SignatureLimit => self.signature_limit_worker()?,
                Scenario::DpopLimit => self.dpop_limit_worker().await?,
                Scenario::Policy100 => crate::authorization::policy_worker(100, false)?,
                Scenario::Policy100SeenBefore => crate::authorization::policy_worker(100, true)?,
                _ => self.handler_worker(scenario)?,
            });
        }
        Ok(ops)
    }

    /// The exact session statement `path`'s handler runs (from its own store), through
    /// tokio-postgres alone.
    async fn limit_worker(&self, path: Scenario) -> Result<Op, String> {
        let auth = self.authenticator(path)?;
        let (url, sessions) = match path {
            Scenario::OrgRoutesPath => (&self.org_database_url, &self.org_sessions),
            _ => (&self.database_url, &self.sessions),
        };
        let lookup = auth
            .database()
            .session_lookup()
            .await
            .map_err(|e| e.to_string())?;
        let sql = lookup.sql.clone();
        let lookup = Arc::new(lookup);
        let client = Arc::new(seed::connect(url).await?);
        let statement = client
            .prepare_typed(&sql, &[Type::TEXT])
            .await
            .map_err(|e| e.to_string())?;
        let sessions = Arc::clone(sessions);
        Ok(Arc::new(move |i| {
            let client = Arc::clone(&client);
            let statement = statement.clone();
            let sessions = Arc::clone(&sessions);
            let lookup = Arc::clone(&lookup);
            Box::pin(async move {
                let (token, user) = &sessions[i % sessions.len()];
                let started = Instant::now();
                let rows = client.query(&statement, &[token]).await;
                let took = started.elapsed();
                // Checked after the clock stops, with the statement's own decoder.
                let ok = rows.is_ok_and(|rows| {
                    rows.len() == 1 && lookup.decode(&rows[0]).is_ok_and(|r| r.user_id == *user)
                });
                (ok, took)
            })
        }))
    }

    async fn api_key_limit_worker(&self) -> Result<Op, String> {
        // The exact statement our handler runs for a key, from its own store.
        let auth = self.authenticator(Scenario::ApiKeyPath)?;
        let sql = auth
            .database()
            .api_key_use_sql()
            .await
            .map_err(|e| e.to_string())?;
        let client = Arc::new(seed::connect(&self.database_url).await?);
        let statement = client
            .prepare_typed(
                &sql,
                &[Type::TEXT, Type::BOOL, Type::BOOL, Type::TEXT_ARRAY],
            )
            .await
            .map_err(|e| e.to_string())?;
        let keys: Arc<Vec<(String, String)>> = Arc::new(
            self.api_keys
                .iter()
                .map(|(key, user)| (auth_core::methods::api_key::hash_key(key), user.clone()))
                .collect(),
        );
        // The parameters the method binds: the hash, no email-verified rule, no anonymous rule,
        // the default configuration (`BETTER_AUTH_API_KEY_CONFIGS` unset).
        let configs: Arc<Vec<String>> = Arc::new(vec!["default".to_owned()]);
        Ok(Arc::new(move |i| {
            let client = Arc::clone(&client);
            let statement = statement.clone();
            let keys = Arc::clone(&keys);
            let configs = Arc::clone(&configs);
            Box::pin(async move {
                let (hash, _) = &keys[i % keys.len()];
                let started = Instant::now();
                let rows = client
                    .query(&statement, &[hash, &false, &false, &*configs])
                    .await;
                let took = started.elapsed();
                (rows.is_ok_and(|rows| rows.len() == 1), took)
            })
        }))
    }

    fn signature_limit_worker(&self) -> Result<Op, String> {
        // The signature part of each JWT, decoded ahead: only `verify_strict` is timed.
        let signed: Vec<(String, ed25519_dalek::Signature)> = self
            .jwts
            .iter()
            .map(|jwt| signed_parts(jwt))
            .collect::<Result<_, String>>()?;
        let signed = Arc::new(signed);
        let key = self.jwt_key;
        Ok(Arc::new(move |i| {
            let signed = Arc::clone(&signed);
            Box::pin(async move {
                let (input, signature) = &signed[i % signed.len()];
                let started = Instant::now();
                let ok = key.verify_strict(input.as_bytes(), signature).is_ok();
                (ok, started.elapsed())
            })
        }))
    }

    /// A proof's signature check (decoded ahead) and one `SET NX PX` of a fresh key.
    async fn dpop_limit_worker(&self) -> Result<Op, String> {
        let client = redis::Client::open(self.redis_url.as_str()).map_err(|e| e.to_string())?;
        let connection = client
            .get_multiplexed_async_connection()
            .await
            .map_err(|e| format!("Redis at {}: {e}", self.redis_url))?;
        let signed: Vec<(String, ed25519_dalek::Signature)> = self
            .oauth_dpop_tokens
            .iter()
            .take(HOT)
            .map(|(token, _)| {
                let proof =
                    self.dpop_key
                        .proof("GET", &crate::oauth::dpop_url("/request"), Some(token));
                signed_parts(&proof)
            })
            .collect::<Result<_, String>>()?;
        let signed = Arc::new(signed);
        let key = self.dpop_key.verifying_key().to_bytes();
        let prefix = format!("{}dpop-limit:", self.redis_prefix);
        Ok(Arc::new(move |i| {
            let mut connection = connection.clone();
            let signed = Arc::clone(&signed);
            let id = format!("{prefix}{}", test_support::random_token(22));
            Box::pin(async move {
                let (input, signature) = &signed[i % signed.len()];
                let started = Instant::now();
                let verified = ed25519_dalek::VerifyingKey::from_bytes(&key)
                    .is_ok_and(|key| key.verify_strict(input.as_bytes(), signature).is_ok());
                let fresh: redis::RedisResult<Option<String>> = redis::cmd("SET")
                    .arg(&id)
                    .arg(1)
                    .arg("NX")
                    .arg("PX")
                    .arg(301_000)
                    .query_async(&mut connection)
                    .await;
                let took = started.elapsed();
                (verified && fresh.is_ok_and(|v| v.is_some()), took)
            })
        }))
    }

    /// `runs` new PostgreSQL connections (TCP, startup, authentication; no TLS), one at a time:
    /// the median, in milliseconds.
    pub async fn connect_ms(&self, runs: usize) -> Result<f64, String> {
        let mut times = Vec::with_capacity(runs);
        for _ in 0..runs {
            let started = Instant::now();
            let client = seed::connect(&self.database_url).await?;
            times.push(started.elapsed().as_secs_f64() * 1000.0);
            drop(client);
        }
        times.sort_by(f64::total_cmp);
        Ok(times[times.len() / 2])
    }

    async fn redis_limit_worker(&self) -> Result<Op, String> {
        let client = redis::Client::open(self.redis_url.as_str()).map_err(|e| e.to_string())?;
        let connection = client
            .get_multiplexed_async_connection()
            .await
            .map_err(|e| format!("Redis at {}: {e}", self.redis_url))?;
        let sessions = Arc::clone(&self.sessions);
        let prefix = self.redis_prefix.clone();
        Ok(Arc::new(move |i| {
            let mut connection = connection.clone();
            let sessions = Arc::clone(&sessions);
            let key = format!("{prefix}{}", sessions[i % sessions.len()].0);
            Box::pin(async move {
                let user = &sessions[i % sessions.len()].1;
                let started = Instant::now();
                let value: redis::RedisResult<Option<String>> = redis::cmd("GET")
                    .arg(&key)
                    .query_async(&mut connection)
                    .await;
                let took = started.elapsed();
                (
                    value.is_ok_and(|v| v.is_some_and(|v| v.contains(user.as_str()))),
                    took,
                )
            })
        }))
    }

    fn handler_worker(&self, scenario: Scenario) -> Result<Op, String> {
        let auth = Arc::new(self.authenticator(scenario)?);
        let sessions = match scenario {
            Scenario::OrgRoutesPath => Arc::clone(&self.org_sessions),
            _ => Arc::clone(&self.sessions),
        };
        let jwts = Arc::clone(&self.jwts);
        let cache_cookies = Arc::clone(&self.cache_cookies);
        let api_keys = Arc::clone(&self.api_keys);
        let oauth_jwts = Arc::clone(&self.oauth_jwts);
        let oauth_tokens = Arc::clone(&self.oauth_tokens);
        let oauth_dpop_tokens = Arc::clone(&self.oauth_dpop_tokens);
        let dpop_key = Arc::clone(&self.dpop_key);
        let secret = Secret::new(SECRET);
        let make = move |i: usize| -> (Value, Expected) {
            let (token, user) = &sessions[i % sessions.len()];
            let signed = |t: &str| {
                format!(
                    "better-auth.session_token={}",
                    sign_cookie_value(&secret, t)
                )
            };
            match scenario {
                Scenario::ApiKeyLimit | Scenario::ApiKeyPath => {
                    let (key, user) = &api_keys[i % api_keys.len()];
                    let shape = Shape::RestRequest;
                    (
                        with_header(shape, event(shape, None, None), "x-api-key", key),
                        Some(user.clone()),
                    )
                }
                Scenario::Limit
                | Scenario::DatabasePath
                | Scenario::RoutesPath
                | Scenario::Policy100
                | Scenario::Policy100SeenBefore
                | Scenario::OrgLimit
                | Scenario::OrgRoutesPath
                | Scenario::PgBouncerPath
                | Scenario::SignatureLimit
                | Scenario::DpopLimit
                | Scenario::RedisLimit
                | Scenario::RedisPath => (
                    event(Shape::RestRequest, None, Some(&signed(token))),
                    Some(user.clone()),
                ),
                Scenario::ResultCache => {
                    let (token, user) = &sessions[i % HOT];
                    (
                        event(Shape::RestRequest, None, Some(&signed(token))),
                        Some(user.clone()),
                    )
                }
                Scenario::UnknownToken => {
                    let unknown = format!("{:032x}", i as u128 + 0xdead_0000_0000);
                    (
                        event(Shape::RestRequest, None, Some(&signed(&unknown))),
                        None,
                    )
                }
                Scenario::BadSignature | Scenario::BadSignatureMetrics => {
                    let forged = sign_cookie_value(
                        &Secret::new("not-the-secret-0123456789abcdefghijkl"),
                        token,
                    );
                    (
                        event(
                            Shape::RestRequest,
                            None,
                            Some(&format!("better-auth.session_token={forged}")),
                        ),
                        None,
                    )
                }
                Scenario::OAuthJwtPath => {
                    let k = i % oauth_jwts.len();
                    let bearer = format!("Bearer {}", oauth_jwts[k]);
                    (
                        event(Shape::RestRequest, Some(&bearer), None),
                        Some(sessions[k].1.clone()),
                    )
                }
                // A hot set, as the session result cache row: the same tokens again.
                Scenario::OAuthJwtCached => {
                    let k = i % HOT.min(oauth_jwts.len());
                    let bearer = format!("Bearer {}", oauth_jwts[k]);
                    (
                        event(Shape::RestRequest, Some(&bearer), None),
                        Some(sessions[k].1.clone()),
                    )
                }
                Scenario::OAuthDpopPath => {
                    let (token, user) = &oauth_dpop_tokens[i % oauth_dpop_tokens.len()];
                    let shape = Shape::RestRequest;
                    let mut e = event(shape, Some(&format!("DPoP {token}")), None);
                    e["requestContext"]["domainName"] = serde_json::json!(crate::oauth::DPOP_HOST);
                    let path = e["requestContext"]["path"]
                        .as_str()
                        .unwrap_or("/")
                        .to_owned();
                    let proof = dpop_key.proof("GET", &crate::oauth::dpop_url(&path), Some(token));
                    (with_header(shape, e, "DPoP", &proof), Some(user.clone()))
                }
                Scenario::OAuthOpaqueLimit | Scenario::OAuthOpaquePath => {
                    let (token, user) = &oauth_tokens[i % oauth_tokens.len()];
                    let bearer = format!("Bearer {token}");
                    (
                        event(Shape::RestRequest, Some(&bearer), None),
                        Some(user.clone()),
                    )
                }
                Scenario::Jwt => {
                    let k = i % jwts.len();
                    let bearer = format!("Bearer {}", jwts[k]);
                    (
                        event(Shape::RestRequest, Some(&bearer), None),
                        Some(sessions[k].1.clone()),
                    )
                }
                Scenario::CookieCache => {
                    let k = i % cache_cookies.len();
                    let (token, user) = &sessions[k];
                    let cookie = format!(
                        "{}; better-auth.session_data={}",
                        signed(token),
                        cache_cookies[k]
                    );
                    (
                        event(Shape::RestRequest, None, Some(&cookie)),
                        Some(user.clone()),
                    )
                }
            }
        };
        let make = Arc::new(make);
        Ok(Arc::new(move |i| {
            let auth = Arc::clone(&auth);
            let (payload, expected) = make(i);
            // The event as the runtime receives it: bytes. Timed from parsing them (what
            // lambda_runtime does for every invocation) to the answer's bytes (what it sends).
            let bytes = payload.to_string();
            Box::pin(async move {
                let started = Instant::now();
                let answer = authorizer_invocation(&auth, &bytes).await;
                let took = started.elapsed();
                let answer = answer
                    .map(|bytes| serde_json::from_slice::<Value>(&bytes).unwrap_or(Value::Null));
                (is_expected(&answer, expected.as_deref()), took)
            })
        }))
    }

    /// Better Auth's getSession: `processes` Node processes × `concurrency` in flight.
    pub async fn better_auth(
        &self,
        processes: usize,
        concurrency: usize,
        ops: usize,
    ) -> Result<Stats, String> {
        better_auth::get_session(
            &self.database_url,
            SECRET,
            &self.cookies_file,
            processes,
            concurrency,
            ops,
        )
        .await
    }

    fn binary_env(&self) -> Vec<(String, String)> {
        vec![
            ("DATABASE_URL".into(), self.database_url.clone()),
            ("BETTER_AUTH_SECRET".into(), SECRET.into()),
            ("RUST_LOG".into(), "info".into()),
        ]
    }

    /// `runs` cold starts of `binary`, each stopped once it asks for its first event.
    pub async fn startup(&self, binary: &Path, runs: usize) -> Result<Startup, String> {
        if !binary.exists() {
            return Err(format!(
                "{} is missing: run `cargo build --release -p authorizer` (make bench does)",
                binary.display()
            ));
        }
        let mut times = Vec::with_capacity(runs);
        for _ in 0..runs {
            let run = runtime_api::run(binary, &self.binary_env(), Vec::new()).await?;
            times.push(run.startup.as_secs_f64() * 1000.0);
        }
        times.sort_by(f64::total_cmp);
        Ok(Startup {
            p50_ms: times[times.len() / 2],
            min_ms: times[0],
            max_ms: times[times.len() - 1],
            runs,
        })
    }

    /// `invocations` database-path events through the release binary; its peak memory after.
    pub async fn memory(&self, binary: &Path, invocations: usize) -> Result<Memory, String> {
        let secret = Secret::new(SECRET);
        let mut events = Vec::with_capacity(invocations);
        let mut expected = Vec::with_capacity(invocations);
        for i in 0..invocations {
            let (token, user) = &self.sessions[i % self.sessions.len()];
            let cookie = format!(
                "better-auth.session_token={}",
                sign_cookie_value(&secret, token)
            );
            events.push(event(Shape::RestRequest, None, Some(&cookie)));
            expected.push(user.clone());
        }
        let run = runtime_api::run(binary, &self.binary_env(), events).await?;
        let wrong = run
            .answers
            .iter()
            .zip(&expected)
            .filter(|(answer, user)| !matches!(answer, Ok(v) if v["principalId"] == **user))
            .count();
        if wrong > 0 || run.answers.len() != invocations {
            return Err(format!(
                "the release binary answered {} of {invocations} events, {wrong} wrongly (first: {:?})",
                run.answers.len(),
                run.answers.first()
            ));
        }
        Ok(Memory {
            first_invocation_ms: run
                .first_invocation
                .map(|d: Duration| d.as_secs_f64() * 1000.0),
            peak_rss_kib: run.peak_rss_kib,
            invocations,
        })
    }
}

impl Drop for Bench {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.cookies_file);
        seed::clear_redis(&self.redis_url, &self.redis_prefix);
    }
}

/// Allow for `user` when one is expected; the `Unauthorized` error otherwise.
fn is_expected(
    answer: &Result<Value, authorizer::handler::AuthorizerError>,
    user: Option<&str>,
) -> bool {
    match (answer, user) {
        (Ok(v), Some(user)) => {
            v["principalId"] == user && v["policyDocument"]["Statement"][0]["Effect"] == "Allow"
        }
        (Err(authorizer::handler::AuthorizerError::Unauthorized), None) => true,
        _ => false,
    }
}

/// A compact EdDSA JWS split ahead of timing: its signing input and its decoded signature.
fn signed_parts(jws: &str) -> Result<(String, ed25519_dalek::Signature), String> {
    let (input, signature) = jws.rsplit_once('.').ok_or("a JWS")?;
    let bytes: [u8; 64] = URL_SAFE_NO_PAD
        .decode(signature)
        .map_err(|e| e.to_string())?
        .try_into()
        .map_err(|_| "a 64-byte signature".to_owned())?;
    Ok((
        input.to_owned(),
        ed25519_dalek::Signature::from_bytes(&bytes),
    ))
}

fn jwt(key: &SigningKey, user: &str, now: i64) -> String {
    let header = json!({"alg": "EdDSA", "kid": KID, "typ": "JWT"});
    let claims = json!({
        "sub": user, "id": user, "email": format!("{user}@bench.example"), "name": "Bench User",
        "emailVerified": true, "role": "user", "banned": false,
        "iat": now, "exp": now + 3600, "iss": ISSUER, "aud": ISSUER,
    });
    test_support::jws::sign_eddsa(key, &header, &claims)
}

/// One invocation as the runtime runs it: the event's bytes to the answer's bytes, polled through
/// [`InstructionCounted`] (what `make bench` counts under callgrind).
pub fn authorizer_invocation<'a>(
    auth: &'a Authenticator,
    bytes: &'a str,
) -> InstructionCounted<
    impl Future<Output = Result<Vec<u8>, authorizer::handler::AuthorizerError>> + 'a,
> {
    InstructionCounted(Box::pin(async move {
        // What the runtime's parse does once `configure_dpop(true)` is called at start-up (not
        // set here: it would make every other row read the request context too).
        let payload: AuthorizerPayload = match auth.reads_dpop() {
            true => AuthorizerPayload(
                authorizer::event::AuthorizerEvent::parse_with(bytes, auth.extra_headers(), true)
                    .map(authorizer::event::AuthorizerEvent::into_owned),
            ),
            false => serde_json::from_str(bytes)
                .map_err(|_| authorizer::handler::AuthorizerError::Internal)?,
        };
        let response =
            authorizer::handler::handle(auth, LambdaEvent::new(payload, Context::default()))
                .await?;
        serde_json::to_vec(&response).map_err(|_| authorizer::handler::AuthorizerError::Internal)
    }))
}

/// A future whose every poll is one non-inlined call: callgrind's `--toggle-collect` counts the
/// instructions executed inside it, by this type's name, and nothing else (not the event's
/// construction, not the tokio-postgres connection task, not the runtime's I/O driver).
pub struct InstructionCounted<F>(std::pin::Pin<Box<F>>);

impl<F: Future> Future for InstructionCounted<F> {
    type Output = F::Output;

    #[inline(never)]
    fn poll(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<F::Output> {
        self.0.as_mut().poll(cx)
    }
}

/// Better Auth's `compact` cookie cache: base64url of
/// `{"session":{session,user},"expiresAt":ms,"signature":HMAC(secret, {session,user,expiresAt})}`.
fn compact_cache(token: &str, user: &str, now: chrono::DateTime<chrono::Utc>) -> String {
    let data = json!({
        "session": {"id": format!("s-{token}"), "token": token, "userId": user,
                    "expiresAt": (now + chrono::Duration::days(7)).to_rfc3339(),
                    "createdAt": now.to_rfc3339(), "updatedAt": now.to_rfc3339()},
        "user": {"id": user, "email": format!("{user}@bench.example"), "name": "Bench User",
                 "emailVerified": true, "role": "user", "banned": false},
    })
    .to_string();
    let expires_at = (now + chrono::Duration::minutes(30)).timestamp_millis();
    let signed = format!("{},\"expiresAt\":{expires_at}}}", &data[..data.len() - 1]);
    let mut mac = match Hmac::<Sha256>::new_from_slice(SECRET.as_bytes()) {
        Ok(mac) => mac,
        Err(_) => unreachable!("HMAC takes keys of any length"),
    };
    mac.update(signed.as_bytes());
    let signature = URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes());
    URL_SAFE_NO_PAD.encode(format!(
        "{{\"session\":{data},\"expiresAt\":{expires_at},\"signature\":\"{signature}\"}}"
    ))
}
