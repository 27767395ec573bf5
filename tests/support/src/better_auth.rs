//! A real Better Auth server (the npm package, `tests/better-auth/server.mjs`) for one test:
//! installed with `npm ci` on first use, started on a free loopback port against the test's own
//! PostgreSQL schema, driven over HTTP, and killed when dropped.
//!
//! `node` and `npm` are required: without them the test fails with a message saying so. It is
//! never skipped.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::OnceLock;
use std::time::Duration;

use reqwest::header::{HeaderMap, HeaderValue};
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

use crate::{TestDb, Variant};

/// The Better Auth configurations the harness can run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Profile {
    /// Defaults: `user` / `session`, camelCase, timestamptz; admin, bearer and jwt plugins.
    Default,
    /// `modelName` `users` / `user_sessions`, snake_case `fields`, uuid ids.
    Renamed,
    /// Drizzle's snake_case schema with `timestamp without time zone` columns.
    Drizzle,
    /// The admin plugin off: no `role` / `banned` columns.
    NoAdmin,
}

impl Profile {
    /// Every profile.
    pub const ALL: [Profile; 4] = [Self::Default, Self::Renamed, Self::Drizzle, Self::NoAdmin];

    fn env_name(self) -> &'static str {
        match self {
            Self::Default => "default",
            Self::Renamed => "renamed",
            Self::Drizzle => "drizzle",
            Self::NoAdmin => "noadmin",
        }
    }

    /// The schema variant the profile's tables follow.
    pub fn variant(self) -> Variant {
        match self {
            Self::Default => Variant::Default,
            Self::Renamed => Variant::RenamedSnakeUuid,
            Self::Drizzle => Variant::DrizzleNaive,
            Self::NoAdmin => Variant::NoAdmin,
        }
    }

    /// Whether the admin plugin is on.
    pub fn has_admin(self) -> bool {
        self != Self::NoAdmin
    }

    /// A fresh schema, in a database of its own, for a server of this profile: empty (Better
    /// Auth's migrator fills it) except for Drizzle, whose generator's DDL is applied first.
    pub async fn database(self) -> TestDb {
        match self {
            Self::Drizzle => {
                TestDb::isolated(Variant::DrizzleNaive, Variant::DrizzleNaive.sql()).await
            }
            other => TestDb::isolated(other.variant(), "").await,
        }
    }
}

/// How to start the server.
#[derive(Debug, Clone)]
pub struct ServerOptions {
    /// Which configuration.
    pub profile: Profile,
    /// The secret (`BETTER_AUTH_SECRET`).
    pub secret: String,
    /// `advanced.useSecureCookies`.
    pub secure_cookies: bool,
    /// `advanced.cookiePrefix`.
    pub cookie_prefix: Option<String>,
    /// `session.expiresIn` in seconds.
    pub expires_in: Option<u64>,
    /// `session.updateAge` in seconds.
    pub update_age: Option<u64>,
    /// The jwt plugin's key algorithm (`EdDSA` when `None`).
    pub jwt_alg: Option<&'static str>,
    /// `session.cookieCache.strategy` (`compact`, `jwt`, `jwe`); `None`: cache off.
    pub cookie_cache: Option<&'static str>,
    /// `session.cookieCache.maxAge` in seconds.
    pub cookie_cache_max_age: Option<u64>,
    /// `jwt({ sessionCookieCache: true })`.
    pub cookie_cache_plugin: bool,
    /// `secondaryStorage: redisStorage(...)` on this Redis URL and key prefix.
    pub secondary_storage: Option<(String, String)>,
    /// `session.storeSessionInDatabase` (with secondary storage).
    pub store_session_in_database: bool,
    /// `session.preserveSessionInDatabase` (with secondary storage).
    pub preserve_session_in_database: bool,
    /// The api-key plugin (`@better-auth/api-key`, defaults) and the test-only routes that
    /// create and verify keys server-side.
    pub api_keys: bool,
    /// The api-key plugin's configuration array (JSON), instead of its defaults.
    pub api_key_configs: Option<String>,
    /// `advanced.database.generateId: "serial"`: integer ids, so organization N and user N share
    /// the number N.
    pub serial_ids: bool,
    /// `advanced.cookies.session_token.name`: the session cookie renamed entirely.
    pub session_cookie_name: Option<String>,
    /// The multi-session plugin.
    pub multi_session: bool,
    /// The anonymous and username plugins, and the app field `user.plan`.
    pub user_plugins: bool,
    /// The organization plugin, teams enabled.
    pub organizations: bool,
    /// `@better-auth/oauth-provider` on the jwt plugin's keys, its base URL a resource.
    pub oauth_provider: bool,
    /// Better Auth 1.6's legacy OAuth provider (`oidcProvider` from `better-auth/plugins`: its
    /// `oauthApplication` and plain-text `oauthAccessToken.accessToken` tables); 1.6 only.
    pub legacy_oauth: bool,
    /// The app's own roles (`tests/better-auth/access-control.mjs`) for the admin and
    /// organization plugins (organization on, `dynamicAccessControl` enabled), and the
    /// test-only route `POST /test/access/authorize`.
    pub access_control: bool,
    /// The admin plugin's `adminUserIds` (with `access_control`).
    pub admin_user_ids: Vec<String>,
    /// Which Better Auth.
    pub version: Version,
}

impl ServerOptions {
    /// A profile with defaults and the given secret.
    pub fn new(profile: Profile, secret: &str) -> Self {
        Self {
            profile,
            secret: secret.to_owned(),
            secure_cookies: false,
            cookie_prefix: None,
            expires_in: None,
            update_age: None,
            jwt_alg: None,
            cookie_cache: None,
            cookie_cache_max_age: None,
            cookie_cache_plugin: false,
            secondary_storage: None,
            store_session_in_database: false,
            preserve_session_in_database: false,
            api_keys: false,
            api_key_configs: None,
            serial_ids: false,
            session_cookie_name: None,
            multi_session: false,
            user_plugins: false,
            organizations: false,
            oauth_provider: false,
            legacy_oauth: false,
            access_control: false,
            admin_user_ids: Vec::new(),
            version: Version::V1_7,
        }
    }

    /// The session cookie's name under these options.
    pub fn cookie_name(&self) -> String {
        let prefix = self.cookie_prefix.as_deref().unwrap_or("better-auth");
        let secure = if self.secure_cookies { "__Secure-" } else { "" };
        match &self.session_cookie_name {
            Some(name) => format!("{secure}{name}"),
            None => format!("{secure}{prefix}.session_token"),
        }
    }
}

/// The Better Auth versions the compatibility suite runs against: the latest of two minors, each
/// a pinned install of its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Version {
    /// `tests/better-auth`: better-auth 1.7.25.
    V1_7,
    /// `tests/better-auth-1.6`: better-auth 1.6.34 (server.mjs shared by symlink).
    V1_6,
}

impl Version {
    /// Both.
    pub const ALL: [Version; 2] = [Self::V1_7, Self::V1_6];

    /// The harness directory.
    pub fn dir(self) -> PathBuf {
        let name = match self {
            Self::V1_7 => "../better-auth",
            Self::V1_6 => "../better-auth-1.6",
        };
        Path::new(env!("CARGO_MANIFEST_DIR")).join(name)
    }
}

/// `tests/better-auth`: the Node harness (server.mjs, bench.mjs) and its node_modules.
pub fn harness_dir() -> PathBuf {
    Version::V1_7.dir()
}

fn require(tool: &str) {
    let found = std::process::Command::new(tool)
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    assert!(
        found,
        "`{tool}` is required to run the real Better Auth server in the tests. Install Node.js 20+ \
         with npm (Debian/Ubuntu: apt-get install nodejs npm) and run `make test` again."
    );
}

static INSTALLED: OnceLock<()> = OnceLock::new();
static INSTALLED_1_6: OnceLock<()> = OnceLock::new();

/// `npm ci` in tests/better-auth once, guarded by a file lock across test processes.
pub fn ensure_installed() {
    ensure_version_installed(Version::V1_7);
}

/// `npm ci` in a version's harness once, guarded by a file lock across test processes.
pub fn ensure_version_installed(version: Version) {
    let once = match version {
        Version::V1_7 => &INSTALLED,
        Version::V1_6 => &INSTALLED_1_6,
    };
    once.get_or_init(|| {
        require("node");
        require("npm");
        let dir = version.dir();
        let lock_path = dir.join(".install.lock");
        let lock = std::fs::File::create(&lock_path).expect("create the install lock file");
        lock.lock().expect("take the install lock");
        let marker = dir.join("node_modules/.package-lock.json");
        let lockfile = dir.join("package-lock.json");
        let fresh = match (std::fs::metadata(&marker), std::fs::metadata(&lockfile)) {
            (Ok(m), Ok(l)) => m.modified().ok() >= l.modified().ok(),
            _ => false,
        };
        if !fresh {
            let status = std::process::Command::new("npm")
                .args(["ci", "--no-audit", "--no-fund", "--loglevel=error"])
                .current_dir(&dir)
                .status()
                .expect("run npm ci");
            assert!(status.success(), "npm ci failed in {}", dir.display());
        }
        let _ = lock.unlock();
    });
}

/// A running Better Auth server.
pub struct BetterAuthServer {
    /// The better-auth package version that answered (from its ready line).
    pub better_auth_version: String,
    child: Child,
    /// `http://127.0.0.1:<port>`.
    pub base_url: String,
    /// The options it runs with.
    pub options: ServerOptions,
    http: reqwest::Client,
}

/// How a request proves who it is. `Debug` shows the kind only, never the value.
#[derive(Clone, PartialEq, Eq)]
pub enum Credential {
    /// A `name=value` cookie pair (value as set, percent-encoded).
    Cookie(String),
    /// The value after `Bearer `.
    Bearer(String),
}

impl std::fmt::Debug for Credential {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Cookie(_) => f.write_str("Cookie(..)"),
            Self::Bearer(v) if v.contains('.') => f.write_str("Bearer(signed ..)"),
            Self::Bearer(_) => f.write_str("Bearer(raw ..)"),
        }
    }
}

impl Credential {
    /// `(Authorization, Cookie)` header values.
    pub fn headers(&self) -> (Option<String>, Option<String>) {
        match self {
            Self::Cookie(pair) => (None, Some(pair.clone())),
            Self::Bearer(value) => (Some(format!("Bearer {value}")), None),
        }
    }
}

/// A response from the server.
#[derive(Debug, Clone)]
pub struct Reply {
    /// HTTP status.
    pub status: u16,
    /// Parsed JSON body (`null` when empty or not JSON).
    pub body: Value,
    /// The session cookie pair it set, if any (`name=value`).
    pub session_cookie: Option<String>,
    /// The `set-auth-token` header (signed token, decoded).
    pub auth_token: Option<String>,
    /// The `set-auth-jwt` header (the jwt plugin's token).
    pub auth_jwt: Option<String>,
    /// Every non-empty `name=value` pair the response set, in order.
    pub cookies: Vec<String>,
    /// The `location` header (redirects).
    pub location: Option<String>,
}

/// What a sign-up or sign-in gives a client.
#[derive(Clone)]
pub struct SignedIn {
    /// The user's id.
    pub user_id: String,
    /// The raw session token from the JSON body.
    pub token: String,
    /// `set-auth-token`: `token.signature`.
    pub signed_token: String,
    /// The session cookie pair.
    pub cookie: String,
}

impl SignedIn {
    /// The three ways a client can present this session.
    pub fn credentials(&self) -> [Credential; 3] {
        [
            Credential::Bearer(self.token.clone()),
            Credential::Bearer(self.signed_token.clone()),
            Credential::Cookie(self.cookie.clone()),
        ]
    }
}

impl BetterAuthServer {
    /// Starts a server on `db`'s schema and waits until it answers.
    pub async fn start(db: &TestDb, options: ServerOptions) -> Self {
        // Better Auth's migrator introspects every schema of its database: sharing one with
        // tests that drop theirs is the start-up race of issue 25 (see the crate's docs).
        assert!(
            db.is_isolated(),
            "a Better Auth server needs a database of its own: use Profile::database or TestDb::isolated"
        );
        ensure_version_installed(options.version);
        let mut command = Command::new("node");
        command
            // server.mjs is shared by symlink: its imports resolve in the version's own directory.
            .arg("--preserve-symlinks-main")
            .arg("--preserve-symlinks")
            .arg("server.mjs")
            .current_dir(options.version.dir())
            .env("DATABASE_URL", &db.database_url)
            .env("DB_SCHEMA", &db.schema)
            .env("BETTER_AUTH_SECRET", &options.secret)
            .env("BA_PROFILE", options.profile.env_name())
            .env(
                "SECURE_COOKIES",
                if options.secure_cookies { "1" } else { "0" },
            )
            .env("NODE_ENV", "test")
            // Only the options below configure it: nothing inherited from the test's environment.
            .env_remove("BA_REDIS_URL")
            .env_remove("BA_REDIS_PREFIX")
            .env_remove("STORE_SESSION_IN_DATABASE")
            .env_remove("PRESERVE_SESSION_IN_DATABASE")
            .env("API_KEYS", if options.api_keys { "1" } else { "0" })
            .env(
                "API_KEY_CONFIGS",
                options.api_key_configs.as_deref().unwrap_or_default(),
            )
            .env("SERIAL_IDS", if options.serial_ids { "1" } else { "0" })
            .env(
                "MULTI_SESSION",
                if options.multi_session { "1" } else { "0" },
            )
            .env("USER_PLUGINS", if options.user_plugins { "1" } else { "0" })
            .env(
                "OAUTH_PROVIDER",
                if options.oauth_provider { "1" } else { "0" },
            )
            .env("LEGACY_OAUTH", if options.legacy_oauth { "1" } else { "0" })
            .env(
                "ORGANIZATION",
                if options.organizations { "1" } else { "0" },
            )
            .env(
                "ACCESS_CONTROL",
                if options.access_control { "1" } else { "0" },
            )
            .env("ADMIN_USER_IDS", options.admin_user_ids.join(","))
            .env(
                "SESSION_COOKIE_NAME",
                options.session_cookie_name.as_deref().unwrap_or_default(),
            )
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true);
        if let Some(prefix) = &options.cookie_prefix {
            command.env("COOKIE_PREFIX", prefix);
        }
        if let Some(v) = options.expires_in {
            command.env("SESSION_EXPIRES_IN", v.to_string());
        }
        if let Some(v) = options.update_age {
            command.env("SESSION_UPDATE_AGE", v.to_string());
        }
        if let Some(alg) = options.jwt_alg {
            command.env("JWT_ALG", alg);
        }
        if let Some(strategy) = options.cookie_cache {
            command.env("COOKIE_CACHE", strategy);
        }
        if let Some(v) = options.cookie_cache_max_age {
            command.env("COOKIE_CACHE_MAX_AGE", v.to_string());
        }
        if options.cookie_cache_plugin {
            command.env("COOKIE_CACHE_PLUGIN", "1");
        }
        if let Some((url, prefix)) = &options.secondary_storage {
            command
                .env("BA_REDIS_URL", url)
                .env("BA_REDIS_PREFIX", prefix);
            if options.store_session_in_database {
                command.env("STORE_SESSION_IN_DATABASE", "1");
            }
            if options.preserve_session_in_database {
                command.env("PRESERVE_SESSION_IN_DATABASE", "1");
            }
        }
        let mut child = command.spawn().expect("start node server.mjs");
        let stdout = child.stdout.take().expect("piped stdout");
        let mut lines = BufReader::new(stdout).lines();
        let first = tokio::time::timeout(Duration::from_secs(60), lines.next_line())
            .await
            .expect("the Better Auth server did not start within 60 s")
            .expect("read the server's stdout")
            .expect("the Better Auth server exited before it was ready (see its stderr above)");
        let ready: Value = serde_json::from_str(&first).expect("the server's ready line is JSON");
        let port = ready["port"]
            .as_u64()
            .expect("the ready line names the port");
        let better_auth_version = ready["betterAuth"].as_str().unwrap_or_default().to_owned();
        let base_url = format!("http://127.0.0.1:{port}");
        let mut headers = HeaderMap::new();
        headers.insert(
            "origin",
            HeaderValue::from_str(&base_url).expect("origin header"),
        );
        // Plain HTTP to the local server; the TLS backend is configured only because reqwest
        // insists on one (the workspace builds it without a default crypto provider).
        let tls =
            auth_core::tls::client_config(rustls::RootCertStore::empty()).expect("tls config");
        let http = reqwest::Client::builder()
            .tls_backend_preconfigured(tls)
            .default_headers(headers)
            .redirect(reqwest::redirect::Policy::none())
            .timeout(Duration::from_secs(30))
            .build()
            .expect("http client");
        Self {
            child,
            base_url,
            options,
            http,
            better_auth_version,
        }
    }

    /// Sends a request to `/api/auth{path}`.
    pub async fn request(
        &self,
        method: &str,
        path: &str,
        body: Option<Value>,
        as_: Option<&Credential>,
    ) -> Reply {
        let url = format!("{}/api/auth{path}", self.base_url);
        let method = reqwest::Method::from_bytes(method.as_bytes()).expect("method");
        let mut request = with_credential(self.http.request(method, url), as_);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.expect("Better Auth answers");
        let status = response.status().as_u16();
        let cookie_name = self.options.cookie_name();
        let session_cookie = response
            .headers()
            .get_all("set-cookie")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .filter_map(|v| v.split(';').next())
            .find(|pair| {
                pair.starts_with(&format!("{cookie_name}=")) && pair.len() > cookie_name.len() + 1
            })
            .map(str::to_owned);
        let header = |name: &str| {
            response
                .headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        };
        let auth_token = header("set-auth-token");
        let auth_jwt = header("set-auth-jwt");
        let location = header("location");
        let cookies = response
            .headers()
            .get_all("set-cookie")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .filter_map(|v| v.split(';').next())
            .filter(|pair| pair.split_once('=').is_some_and(|(_, v)| !v.is_empty()))
            .map(str::to_owned)
            .collect();
        let text = response.text().await.unwrap_or_default();
        let body = serde_json::from_str(&text).unwrap_or(Value::Null);
        Reply {
            status,
            body,
            session_cookie,
            auth_token,
            auth_jwt,
            cookies,
            location,
        }
    }

    /// Creates an API key server-side (`auth.api.createApiKey`, so quotas and rate limits may be
    /// set): the plugin's answer, the plaintext `key` included.
    pub async fn create_api_key(&self, body: Value) -> Value {
        let reply = self.test_route("/test/api-keys", body).await;
        assert_eq!(reply.0, 200, "createApiKey failed: {}", reply.1);
        reply.1
    }

    /// Better Auth's own `verifyApiKey` on `key` (counts a use, as ours does): `{valid, error,
    /// key}`.
    pub async fn verify_api_key(&self, key: &str) -> Value {
        let reply = self
            .test_route("/test/api-keys/verify", serde_json::json!({ "key": key }))
            .await;
        assert_eq!(reply.0, 200, "verifyApiKey failed: {}", reply.1);
        reply.1
    }

    /// Better Auth's own `verifyApiKey` asked for `permissions` too (`{ key, permissions }`: the
    /// key's own permissions must grant them): `{valid, error, key}`.
    pub async fn verify_api_key_for(&self, key: &str, permissions: &Value) -> Value {
        let reply = self
            .test_route(
                "/test/api-keys/verify",
                serde_json::json!({ "key": key, "permissions": permissions }),
            )
            .await;
        assert_eq!(reply.0, 200, "verifyApiKey failed: {}", reply.1);
        reply.1
    }

    /// Better Auth's own `role.authorize(permissions, connector)` for each comma-separated name
    /// in `role`, any one sufficing (`POST /test/access/authorize`; needs `access_control`):
    /// the admin plugin's roles, or the organization plugin's with `organization`.
    pub async fn authorize_role(
        &self,
        role: &str,
        permissions: &Value,
        connector: &str,
        organization: bool,
    ) -> bool {
        let reply = self
            .test_route(
                "/test/access/authorize",
                serde_json::json!({
                    "role": role,
                    "permissions": permissions,
                    "connector": connector,
                    "organization": organization,
                }),
            )
            .await;
        assert_eq!(reply.0, 200, "authorize failed: {}", reply.1);
        reply.1["success"].as_bool().expect("success is a boolean")
    }

    /// Better Auth's own `verifyApiKey` scoped to one configuration (`{ key, configId }`).
    pub async fn verify_api_key_in(&self, key: &str, config_id: &str) -> Value {
        let reply = self
            .test_route(
                "/test/api-keys/verify",
                serde_json::json!({ "key": key, "configId": config_id }),
            )
            .await;
        assert_eq!(reply.0, 200, "verifyApiKey failed: {}", reply.1);
        reply.1
    }

    /// `GET /api/auth{path}` with one extra header (an API key for the plugin's session hook,
    /// `enableSessionForAPIKeys`): the status and the JSON body.
    pub async fn get_with_header(&self, path: &str, header: &str, value: &str) -> (u16, Value) {
        self.get_with_headers(path, &[(header, value)]).await
    }

    /// `GET /api/auth{path}` with these request headers: the status and the JSON body.
    pub async fn get_with_headers(&self, path: &str, headers: &[(&str, &str)]) -> (u16, Value) {
        let mut request = self.http.get(format!("{}/api/auth{path}", self.base_url));
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let response = request
            .send()
            .await
            .expect("the Better Auth server answers");
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    /// Better Auth's own answers on the test-only route `POST /test/access/authorize` (with
    /// `access_control`): `body` is one question or an array of them (see server.mjs), the
    /// answer `{success}` or an array of those.
    pub async fn access_authorize(&self, body: Value) -> Value {
        let reply = self.test_route("/test/access/authorize", body).await;
        assert_eq!(reply.0, 200, "/test/access/authorize failed: {}", reply.1);
        reply.1
    }

    /// Registers an OAuth client server-side (oauth-provider's `adminCreateOAuthClient`) as the
    /// signed-in `owner`: the plugin's answer, `client_id` and `client_secret` included.
    pub async fn create_oauth_client(&self, body: Value, owner: &Credential) -> Value {
        let reply = self
            .test_route_as("/test/oauth/client", body, Some(owner))
            .await;
        assert_eq!(reply.0, 200, "adminCreateOAuthClient failed: {}", reply.1);
        reply.1
    }

    /// `POST /api/auth{path}` with a form-encoded body (OAuth's token endpoint accepts no JSON).
    pub async fn post_form(&self, path: &str, fields: &[(&str, &str)]) -> Reply {
        self.post_form_with(path, fields, &[]).await
    }

    /// [`Self::post_form`] with more request headers (a `DPoP` proof).
    pub async fn post_form_with(
        &self,
        path: &str,
        fields: &[(&str, &str)],
        headers: &[(&str, &str)],
    ) -> Reply {
        let body = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(fields)
            .finish();
        let mut request = self
            .http
            .post(format!("{}/api/auth{path}", self.base_url))
            .header("content-type", "application/x-www-form-urlencoded");
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let response = request
            .body(body)
            .send()
            .await
            .expect("Better Auth answers");
        let status = response.status().as_u16();
        let body = response.json().await.unwrap_or(Value::Null);
        Reply {
            status,
            body,
            session_cookie: None,
            auth_token: None,
            auth_jwt: None,
            cookies: Vec::new(),
            location: None,
        }
    }

    async fn test_route(&self, path: &str, body: Value) -> (u16, Value) {
        self.test_route_as(path, body, None).await
    }

    async fn test_route_as(
        &self,
        path: &str,
        body: Value,
        as_: Option<&Credential>,
    ) -> (u16, Value) {
        let request = self
            .http
            .post(format!("{}{path}", self.base_url))
            .json(&body);
        let response = with_credential(request, as_)
            .send()
            .await
            .expect("the Better Auth server answers");
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    /// `POST` with a JSON body.
    pub async fn post(&self, path: &str, body: Value, as_: Option<&Credential>) -> Reply {
        self.request("POST", path, Some(body), as_).await
    }

    /// `POST` with a JSON body as `as_`, which must succeed (200): the answer's body.
    pub async fn post_ok(&self, path: &str, body: Value, as_: &Credential) -> Value {
        let reply = self.post(path, body, Some(as_)).await;
        assert_eq!(reply.status, 200, "POST {path}: {}", reply.body);
        reply.body
    }

    /// `session_cookie` (a `name=value` pair) with the cookie cache Better Auth sets for it on
    /// `get-session` (default prefix), as a browser would send both.
    pub async fn with_cookie_cache(&self, session_cookie: &str) -> String {
        let reply = self
            .get(
                "/get-session",
                &Credential::Cookie(session_cookie.to_owned()),
            )
            .await;
        let cache = reply
            .cookies
            .iter()
            .find(|c| c.starts_with("better-auth.session_data="))
            .expect("Better Auth set a cookie cache");
        format!("{session_cookie}; {cache}")
    }

    /// `GET` as `as_`.
    pub async fn get(&self, path: &str, as_: &Credential) -> Reply {
        self.request("GET", path, None, Some(as_)).await
    }

    fn signed_in(reply: Reply, what: &str) -> SignedIn {
        assert_eq!(reply.status, 200, "{what} failed: {}", reply.body);
        SignedIn {
            user_id: reply.body["user"]["id"]
                .as_str()
                .expect("user id")
                .to_owned(),
            token: reply.body["token"].as_str().expect("token").to_owned(),
            signed_token: reply.auth_token.expect("set-auth-token header"),
            cookie: reply.session_cookie.expect("session cookie"),
        }
    }

    /// Signs a new user up (email + password) and returns their first session.
    pub async fn sign_up(&self, email: &str) -> SignedIn {
        let reply = self
            .post(
                "/sign-up/email",
                json!({"email": email, "password": "correct-horse-battery", "name": "Test User"}),
                None,
            )
            .await;
        Self::signed_in(reply, "sign-up")
    }

    /// Signs an existing user in: a new session.
    pub async fn sign_in(&self, email: &str) -> SignedIn {
        let reply = self.sign_in_reply(email).await;
        Self::signed_in(reply, "sign-in")
    }

    /// The raw sign-in reply (for refusals such as `BANNED_USER`).
    pub async fn sign_in_reply(&self, email: &str) -> Reply {
        self.post(
            "/sign-in/email",
            json!({"email": email, "password": "correct-horse-battery"}),
            None,
        )
        .await
    }

    /// Signs a new user up with this display name (a long one makes a chunked cookie cache).
    pub async fn sign_up_reply(&self, email: &str, name: &str) -> Reply {
        self.post(
            "/sign-up/email",
            json!({"email": email, "password": "correct-horse-battery", "name": name}),
            None,
        )
        .await
    }

    /// `GET /token`: a JWT from the jwt plugin for this credential.
    pub async fn jwt(&self, credential: &Credential) -> String {
        let reply = self.request("GET", "/token", None, Some(credential)).await;
        assert_eq!(reply.status, 200, "token: {}", reply.body);
        reply.body["token"].as_str().expect("token").to_owned()
    }

    /// `GET /get-session`: the `{session, user}` Better Auth sees for this credential, or None.
    pub async fn get_session(&self, credential: &Credential) -> Option<Value> {
        let reply = self
            .request("GET", "/get-session", None, Some(credential))
            .await;
        assert_eq!(reply.status, 200, "get-session: {}", reply.body);
        (!reply.body.is_null()).then_some(reply.body)
    }
}

/// `request` presenting `as_` (its `Authorization` or `Cookie` header), when given.
fn with_credential(
    mut request: reqwest::RequestBuilder,
    as_: Option<&Credential>,
) -> reqwest::RequestBuilder {
    if let Some(credential) = as_ {
        let (authorization, cookie) = credential.headers();
        if let Some(a) = authorization {
            request = request.header("authorization", a);
        }
        if let Some(c) = cookie {
            request = request.header("cookie", c);
        }
    }
    request
}

impl Drop for BetterAuthServer {
    fn drop(&mut self) {
        let _ = self.child.start_kill();
    }
}
