//! Configuration, parsed once at cold start into a typed struct.
//!
//! Variable names match the Better Auth server's (`BETTER_AUTH_SECRET`, `DATABASE_URL`, ...) so
//! both sides can share one environment. Any missing or invalid value is one [`ConfigError`]
//! naming the variable; values themselves (URLs, secrets) never appear in an error.

use std::time::Duration;

use crate::credentials::{CookieNames, ExtractOptions};
use crate::env::{ConfigError, Env, Get, invalid, number};
use crate::identity::Policy;
use crate::jose::Algorithm;
use crate::keys::{KeySettings, KeySource};
use crate::methods::{Common, MethodName, MethodSettings};
use crate::schema::SchemaOverrides;
use crate::signing::Secret;
use crate::store::postgres::settings::DatabaseSettings;

/// Everything the session validator needs.
#[derive(Debug, Clone)]
pub struct Config {
    /// `BETTER_AUTH_SECRETS` (first entry), else `BETTER_AUTH_SECRET`, else `AUTH_SECRET`.
    pub secret: Secret,
    /// Every configured secret, current first (JWE cookie caches may use an older one).
    pub all_secrets: Vec<Secret>,
    /// `BETTER_AUTH_METHODS`, in order (default: `session`).
    pub method_order: Vec<MethodName>,
    /// Every method's own settings (parsed next to the method, in [`crate::methods`]).
    pub methods: MethodSettings,
    /// Where the jwt plugin's public keys come from and how they are cached (shared by `jwt`
    /// and plugin-signed cookie caches).
    pub keys: KeySettings,
    /// `BETTER_AUTH_CLOCK_SKEW_SECONDS` (default 5): tolerance on JWT and cache expiry.
    pub leeway_seconds: i64,
    /// `BETTER_AUTH_COOKIE_PREFIX` (default `better-auth`), Better Auth's `advanced.cookiePrefix`.
    pub cookie_prefix: String,
    /// The session cookie's name without `__Secure-`: `BETTER_AUTH_SESSION_COOKIE_NAME` (Better
    /// Auth's `advanced.cookies.session_token.name`), else `<prefix>.session_token`.
    pub session_cookie_name: String,
    /// `BETTER_AUTH_SECURE_COOKIES` (Better Auth's `useSecureCookies`), else derived from
    /// `BETTER_AUTH_URL` as Better Auth derives it (`https://`: secure); `None` without either:
    /// both cookie forms are read.
    pub secure_cookies: Option<bool>,
    /// `BETTER_AUTH_REQUIRE_SIGNATURE` (default false), the bearer plugin's `requireSignature`.
    pub require_signature: bool,
    /// `BETTER_AUTH_REQUIRE_EMAIL_VERIFIED` (default false): refuse unverified users.
    pub require_email_verified: bool,
    /// `BETTER_AUTH_REFUSE_ANONYMOUS` (default false): refuse anonymous-plugin guests.
    pub refuse_anonymous: bool,
    /// `BETTER_AUTH_REQUIRE_ACTIVE_ORGANIZATION` (default false): refuse callers without a
    /// confirmed active organization (organization plugin).
    pub require_active_organization: bool,
    /// The user fields the authorizer's context carries besides the core ones: the plugin
    /// fields (`isAnonymous`, `username`, …) and `BETTER_AUTH_CONTEXT_USER_FIELDS`.
    pub context_user_fields: Vec<String>,
    /// Database connection settings.
    pub database: DatabaseSettings,
    /// Table and column names, where not detected.
    pub schema: SchemaOverrides,
    /// Sessions in Better Auth's `secondaryStorage` (Redis), when
    /// `BETTER_AUTH_SECONDARY_STORAGE_URL` is set.
    pub secondary_storage: Option<crate::store::secondary::SecondaryStorageSettings>,
    /// What callers may do: roles, route rules (parsed next to them, in [`crate::access`]).
    pub access: crate::access::AccessSettings,
    /// `API_GATEWAY_USAGE_IDENTIFIER`: the REST usage-plan key ([`crate::usage`]).
    pub usage_identifier: Option<crate::usage::UsageIdentifier>,
    /// `METRICS_ENABLED`, `METRICS_NAMESPACE`: EMF records on the decision and request lines.
    pub metrics: crate::telemetry::metrics::MetricsSettings,
}

impl Config {
    /// Reads the process environment.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads settings through `lookup` (the environment, or a map in tests). Empty values count
    /// as unset.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let env = Env::new(&lookup);
        let get = |name: &str| env.get(name);
        let order = methods(&get)?;
        let base_url = get("BETTER_AUTH_URL").map(|v| v.trim().to_owned());
        let origin = base_url.as_deref().map(origin_of).transpose()?;
        let leeway_seconds = env.number("BETTER_AUTH_CLOCK_SKEW_SECONDS", 5, 0, 300)?;
        let uses_jwt = order.contains(&MethodName::Jwt);
        let all_secrets = secrets(&get)?;
        let cookie_prefix = cookie_prefix(get("BETTER_AUTH_COOKIE_PREFIX"))?;
        let cookie_name = |var: &'static str, suffix: &str| -> Result<String, ConfigError> {
            match get(var) {
                Some(name) => cookie_name(var, name.trim()),
                None => Ok(format!("{cookie_prefix}.{suffix}")),
            }
        };
        let session_cookie_name = cookie_name("BETTER_AUTH_SESSION_COOKIE_NAME", "session_token")?;
        let cache_cookie_name =
            cookie_name("BETTER_AUTH_SESSION_DATA_COOKIE_NAME", "session_data")?;
        let secure_cookies = match get("BETTER_AUTH_SECURE_COOKIES") {
            Some(_) => Some(env.flag("BETTER_AUTH_SECURE_COOKIES", false)?),
            None => base_url.as_deref().map(|url| url.starts_with("https://")),
        };
        let cache_cookie_names =
            crate::credentials::cache_cookie_names(&cache_cookie_name, secure_cookies);
        let database = DatabaseSettings::parse(&env)?;
        let secondary_storage = crate::store::secondary::SecondaryStorageSettings::parse(
            &env,
            database.connect_timeout,
            database.statement_timeout,
        )?;
        let mut schema = SchemaOverrides::parse(&env)?;
        let custom_fields = context_user_fields(&get)?;
        schema.context_user_fields = custom_fields.clone();
        let context_user_fields: Vec<String> = crate::identity::PLUGIN_USER_FIELDS
            .iter()
            .map(|f| (*f).to_owned())
            .chain(custom_fields)
            .collect();
        // Sessions in secondary storage alone: Better Auth creates no session table.
        schema.session_table_optional = secondary_storage
            .as_ref()
            .is_some_and(|s| !s.store_session_in_database);
        let methods = MethodSettings::parse(
            &env,
            &Common {
                base_url: base_url.as_deref(),
                origin: origin.as_deref(),
                leeway_seconds,
                secrets: &all_secrets,
                cache_cookie_names: &cache_cookie_names,
                connect_timeout: database.connect_timeout,
                command_timeout: database.statement_timeout,
            },
            &order,
        )?;
        let usage_identifier = crate::usage::UsageIdentifier::parse(&env, &context_user_fields)?;
        let access = crate::access::AccessSettings::parse(&env)?;
        // Every OAuth token must be held to a scope on every route: without one, any client's
        // token (an opaque one a relying party holds for the provider's userinfo, a machine
        // token from a self-registered client) would call every route.
        let every_route_names_scopes = access
            .routes
            .as_ref()
            .is_some_and(crate::access::RouteTable::every_rule_names_scopes);
        if order.contains(&MethodName::OAuth)
            && methods.oauth.required_scopes.is_empty()
            && !every_route_names_scopes
        {
            return Err(crate::env::invalid(
                "BETTER_AUTH_OAUTH_REQUIRED_SCOPES",
                "required with the oauth method unless every AUTHORIZER_ROUTES rule names \"scopes\": \
                 name the scopes only this API's clients are granted (without one, a token any \
                 client holds would pass)",
            ));
        }
        Ok(Self {
            secret: all_secrets
                .first()
                .cloned()
                .ok_or(ConfigError::Missing("BETTER_AUTH_SECRET"))?,
            all_secrets,
            method_order: order,
            methods,
            leeway_seconds,
            cookie_prefix,
            session_cookie_name,
            secure_cookies,
            require_signature: env.flag("BETTER_AUTH_REQUIRE_SIGNATURE", false)?,
            require_email_verified: env.flag("BETTER_AUTH_REQUIRE_EMAIL_VERIFIED", false)?,
            refuse_anonymous: env.flag("BETTER_AUTH_REFUSE_ANONYMOUS", false)?,
            require_active_organization: env
                .flag("BETTER_AUTH_REQUIRE_ACTIVE_ORGANIZATION", false)?,
            context_user_fields,
            keys: key_settings(
                &get,
                base_url.as_deref(),
                uses_jwt,
                database.connect_timeout,
            )?,
            secondary_storage,
            database,
            schema,
            access,
            usage_identifier,
            metrics: crate::telemetry::metrics::MetricsSettings::from_env(&env)?,
        })
    }

    /// What token extraction needs.
    pub fn extract_options(&self) -> ExtractOptions {
        ExtractOptions {
            secret: self.secret.clone(),
            cookie_names: CookieNames::named(&self.session_cookie_name, self.secure_cookies),
            require_signature: self.require_signature,
        }
    }

    /// What session evaluation needs.
    pub fn policy(&self) -> Policy {
        Policy {
            require_email_verified: self.require_email_verified,
            refuse_anonymous: self.refuse_anonymous,
            require_active_organization: self.require_active_organization,
        }
    }
}

/// Every secret Better Auth may have used, current first: each entry of `BETTER_AUTH_SECRETS`
/// (`"<version>:<secret>,..."`, newest first), then `BETTER_AUTH_SECRET` / `AUTH_SECRET`. The
/// first one signs cookies; the others only decrypt JWE cookie caches. Never empty.
fn secrets(get: &Get<'_>) -> Result<Vec<Secret>, ConfigError> {
    const VAR: &str = "BETTER_AUTH_SECRETS";
    let mut values: Vec<String> = Vec::new();
    if let Some(list) = get(VAR) {
        for entry in list.split(',').map(str::trim).filter(|e| !e.is_empty()) {
            let (version, value) = entry
                .split_once(':')
                .ok_or_else(|| invalid(VAR, "expected \"<version>:<secret>,...\""))?;
            if version.trim().parse::<u32>().is_err() || value.trim().is_empty() {
                return Err(invalid(
                    VAR,
                    "expected \"<version>:<secret>,...\" with a non-negative integer version",
                ));
            }
            values.push(value.trim().to_owned());
        }
    }
    if let Some(legacy) = get("BETTER_AUTH_SECRET").or_else(|| get("AUTH_SECRET"))
        && !values.contains(&legacy)
    {
        values.push(legacy);
    }
    if values.is_empty() {
        return Err(ConfigError::Missing("BETTER_AUTH_SECRET"));
    }
    Ok(values.into_iter().map(Secret::new).collect())
}

fn methods(get: &Get<'_>) -> Result<Vec<MethodName>, ConfigError> {
    const VAR: &str = "BETTER_AUTH_METHODS";
    let known = || {
        MethodName::ALL
            .iter()
            .map(|m| m.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    };
    let Some(raw) = get(VAR) else {
        return Ok(vec![MethodName::Session]);
    };
    let mut methods = Vec::new();
    for name in raw.split(',').map(str::trim).filter(|n| !n.is_empty()) {
        let method = MethodName::parse(&name.to_ascii_lowercase())
            .ok_or_else(|| invalid(VAR, format!("unknown method \"{name}\" ({})", known())))?;
        if methods.contains(&method) {
            return Err(invalid(VAR, format!("\"{name}\" is listed twice")));
        }
        methods.push(method);
    }
    if methods.is_empty() {
        return Err(invalid(VAR, format!("list at least one of {}", known())));
    }
    Ok(methods)
}

/// `scheme://host[:port]` of a URL.
fn origin_of(url: &str) -> Result<String, ConfigError> {
    let parsed = reqwest::Url::parse(url).map_err(|_| {
        invalid(
            "BETTER_AUTH_URL",
            "not an absolute URL (https://auth.example.com)",
        )
    })?;
    match parsed.origin() {
        origin @ url::Origin::Tuple(..) => Ok(origin.ascii_serialization()),
        url::Origin::Opaque(_) => Err(invalid("BETTER_AUTH_URL", "not an http(s) URL")),
    }
}

fn key_settings(
    get: &Get<'_>,
    base_url: Option<&str>,
    uses_jwt: bool,
    http_timeout: Duration,
) -> Result<KeySettings, ConfigError> {
    const VAR: &str = "BETTER_AUTH_JWKS";
    let source = match get(VAR).map(|v| v.trim().to_ascii_lowercase()).as_deref() {
        None | Some("database") => KeySource::Database,
        Some("url") => {
            let url = match get("BETTER_AUTH_JWKS_URL") {
                Some(url) => url.trim().to_owned(),
                None => match base_url {
                    Some(base) => format!("{}/api/auth/jwks", base.trim_end_matches('/')),
                    None if uses_jwt => return Err(ConfigError::Missing("BETTER_AUTH_JWKS_URL")),
                    None => String::new(),
                },
            };
            if uses_jwt && !(url.starts_with("https://") || is_loopback_http(&url)) {
                return Err(invalid(
                    "BETTER_AUTH_JWKS_URL",
                    "expected an https URL (plain http only on a loopback address)",
                ));
            }
            KeySource::Url(url)
        }
        Some(_) => return Err(invalid(VAR, "expected database or url")),
    };
    let default_alg = match get("BETTER_AUTH_JWT_DEFAULT_ALG") {
        None => Algorithm::EdDSA,
        Some(v) => Algorithm::parse(v.trim()).ok_or_else(|| {
            invalid(
                "BETTER_AUTH_JWT_DEFAULT_ALG",
                "expected EdDSA, ES256, ES512, RS256 or PS256",
            )
        })?,
    };
    Ok(KeySettings {
        source,
        refetch_interval: Duration::from_secs(number(
            get,
            "BETTER_AUTH_JWKS_REFETCH_SECONDS",
            30,
            1,
            86_400,
        )?),
        max_age: Duration::from_secs(number(
            get,
            "BETTER_AUTH_JWKS_MAX_AGE_SECONDS",
            600,
            1,
            86_400,
        )?),
        default_alg,
        grace_period: chrono::Duration::seconds(number(
            get,
            "BETTER_AUTH_JWKS_GRACE_PERIOD_SECONDS",
            30 * 86_400,
            0,
            366 * 86_400,
        )?),
        stale_window: Duration::from_secs(number(
            get,
            "BETTER_AUTH_JWKS_STALE_SECONDS",
            3600,
            0,
            7 * 86_400,
        )?),
        http_timeout,
    })
}

/// `http://` to `localhost`, `127.0.0.0/8` or `[::1]`: the only plain-HTTP key source allowed.
fn is_loopback_http(url: &str) -> bool {
    let Ok(parsed) = reqwest::Url::parse(url) else {
        return false;
    };
    parsed.scheme() == "http"
        && match parsed.host() {
            Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
            Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
            Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
            None => false,
        }
}

/// A full cookie name (`advanced.cookies.<cookie>.name`): a cookie-name token, without
/// `__Secure-` (Better Auth adds it).
fn cookie_name(var: &'static str, name: &str) -> Result<String, ConfigError> {
    let ok = !name.is_empty()
        && name.len() <= 128
        && !name.starts_with(crate::credentials::SECURE_PREFIX)
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.!#$%&'*+^`|~".contains(&b));
    if ok {
        Ok(name.to_owned())
    } else {
        Err(invalid(
            var,
            "a cookie name: letters, digits and -_. (at most 128 characters, without __Secure-, which Better Auth adds)",
        ))
    }
}

/// `BETTER_AUTH_CONTEXT_USER_FIELDS=plan,tenantId`: user fields (Better Auth's names) passed on
/// in the authorizer's context.
fn context_user_fields(get: &Get<'_>) -> Result<Vec<String>, ConfigError> {
    const VAR: &str = "BETTER_AUTH_CONTEXT_USER_FIELDS";
    let Some(list) = get(VAR) else {
        return Ok(Vec::new());
    };
    let fields: Vec<String> = list
        .split(',')
        .map(|f| f.trim().to_owned())
        .filter(|f| !f.is_empty())
        .collect();
    if fields.len() > 16 {
        return Err(invalid(VAR, "at most 16 fields"));
    }
    for field in &fields {
        crate::schema::overrides::identifier(VAR, field)?;
        if crate::context::AuthorizerContext::KEYS.contains(&field.as_str())
            || crate::identity::PLUGIN_USER_FIELDS.contains(&field.as_str())
        {
            return Err(invalid(
                VAR,
                "a field the context already carries (userId, email, role, isAnonymous, …)",
            ));
        }
    }
    Ok(fields)
}

fn cookie_prefix(value: Option<String>) -> Result<String, ConfigError> {
    let prefix = value.unwrap_or_else(|| "better-auth".to_owned());
    // RFC 6265 cookie-name characters (a token), minus the ones that would confuse parsing.
    let ok = prefix.len() <= 64
        && prefix
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.!#$%&'*+^`|~".contains(&b));
    if ok {
        Ok(prefix)
    } else {
        Err(invalid(
            "BETTER_AUTH_COOKIE_PREFIX",
            "use letters, digits and -_. (at most 64 characters)",
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn config(pairs: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        Config::from_lookup(|k| map.get(k).cloned())
    }

    const BASE: [(&str, &str); 2] = [
        ("DATABASE_URL", "postgres://u:pw@localhost:5432/app"),
        ("BETTER_AUTH_SECRET", "s3cret-s3cret-s3cret-s3cret-s3cret"),
    ];

    #[test]
    fn defaults() {
        let c = config(&BASE).expect("valid");
        assert_eq!(c.cookie_prefix, "better-auth");
        assert!(!c.require_signature && !c.require_email_verified);
        assert_eq!(c.database.pool_max_size, 2);
        assert_eq!(c.database.statement_timeout, Duration::from_secs(2));
        assert!(c.database.prepared_statements);
        assert_eq!(c.schema, SchemaOverrides::default());
    }

    /// Issue 23 (review): no OAuth token passes a route unless some scope holds it there.
    #[test]
    fn the_oauth_method_needs_a_scope_on_every_route() {
        let with = |extra: &[(&str, &str)]| {
            let mut pairs = BASE.to_vec();
            pairs.extend([
                ("BETTER_AUTH_METHODS", "oauth,session"),
                ("BETTER_AUTH_URL", "https://auth.example.com"),
                ("BETTER_AUTH_OAUTH_RESOURCES", "https://api.example.com"),
            ]);
            pairs.extend_from_slice(extra);
            config(&pairs)
        };
        let refused = with(&[]).expect_err("no scope anywhere");
        assert!(
            refused
                .to_string()
                .contains("BETTER_AUTH_OAUTH_REQUIRED_SCOPES"),
            "{refused}"
        );
        assert!(with(&[("BETTER_AUTH_OAUTH_REQUIRED_SCOPES", "orders:read")]).is_ok());
        let some =
            r#"[{"route": "GET /a", "scopes": ["a"]}, {"route": "GET /b", "authenticated": true}]"#;
        assert!(
            with(&[("AUTHORIZER_ROUTES", some)]).is_err(),
            "a rule without scopes"
        );
        let every =
            r#"[{"route": "GET /a", "scopes": ["a"]}, {"route": "GET /b", "scopes": ["b"]}]"#;
        assert!(with(&[("AUTHORIZER_ROUTES", every)]).is_ok());
        // A prefix a session token could start with is refused.
        let prefix = with(&[
            ("BETTER_AUTH_OAUTH_REQUIRED_SCOPES", "a"),
            ("BETTER_AUTH_OAUTH_OPAQUE_PREFIX", "bat"),
        ]);
        assert!(prefix.is_err());
    }

    #[test]
    fn missing_required_variables_are_named() {
        assert_eq!(
            config(&BASE[1..]).expect_err("no url"),
            ConfigError::Missing("DATABASE_URL")
        );
        assert_eq!(
            config(&BASE[..1]).expect_err("no secret"),
            ConfigError::Missing("BETTER_AUTH_SECRET")
        );
        assert!(config(&[BASE[0], ("AUTH_SECRET", "x".repeat(32).as_str())]).is_ok());
    }

    #[test]
    fn secrets_list_uses_its_first_entry() {
        let c = config(&[
            BASE[0],
            ("BETTER_AUTH_SECRETS", "2:new-one, 1:old-one"),
            BASE[1],
        ])
        .expect("valid");
        let signed = crate::signing::sign(&c.secret, "t");
        assert_eq!(signed, crate::signing::sign(&Secret::new("new-one"), "t"));
        assert!(matches!(
            config(&[BASE[0], ("BETTER_AUTH_SECRETS", "nocolon")]),
            Err(ConfigError::Invalid {
                var: "BETTER_AUTH_SECRETS",
                ..
            })
        ));
    }

    #[test]
    fn invalid_values_are_named_without_echoing_them() {
        let err = config(&[("DATABASE_URL", "mysql://secretpw@x"), BASE[1]]).expect_err("bad url");
        assert!(!err.to_string().contains("secretpw"));
        assert!(err.to_string().starts_with("DATABASE_URL is invalid"));
        for (var, value) in [
            ("DATABASE_POOL_MAX_SIZE", "0"),
            ("DATABASE_POOL_MAX_SIZE", "lots"),
            ("DATABASE_STATEMENT_TIMEOUT_MS", "-1"),
            ("BETTER_AUTH_REQUIRE_SIGNATURE", "maybe"),
            ("BETTER_AUTH_COOKIE_PREFIX", "a;b"),
            ("BETTER_AUTH_SESSION_TABLE", "session; drop table \"user\""),
            ("BETTER_AUTH_USER_FIELDS", "emailVerified=email-verified"),
            ("BETTER_AUTH_USER_FIELDS", "nonsense=col"),
            ("BETTER_AUTH_SESSION_FIELDS", "expiresAt"),
            ("DATABASE_CA_FILE", "/no/such/file.pem"),
        ] {
            let err = config(&[BASE[0], BASE[1], (var, value)]).expect_err(var);
            assert!(
                matches!(&err, ConfigError::Invalid { var: v, .. } if *v == var),
                "{var}: {err}"
            );
        }
    }

    #[test]
    fn context_user_fields_are_validated() {
        let fields = |list: &str| {
            config(&[BASE[0], BASE[1], ("BETTER_AUTH_CONTEXT_USER_FIELDS", list)])
                .map(|c| c.context_user_fields)
        };
        let parsed = fields("plan, tenantId").expect("valid");
        assert!(parsed.ends_with(&["plan".to_owned(), "tenantId".to_owned()]));
        assert!(
            parsed.contains(&"isAnonymous".to_owned()),
            "plugin fields come first"
        );
        for bad in ["userId", "role", "isAnonymous", "plan;drop", "a b"] {
            assert!(fields(bad).is_err(), "{bad}");
        }
        // Issue 27, F4: a user column may not pose as organization context (or any key the
        // context writes: the list derives from the context type itself).
        for key in crate::context::AuthorizerContext::KEYS {
            assert!(fields(key).is_err(), "{key} is the context's own key");
        }
        assert!(fields("activeOrganizationId").is_err());
    }

    #[test]
    fn secure_cookies_follow_better_auths_rule() {
        let secure = |pairs: &[(&str, &str)]| {
            let mut all = BASE.to_vec();
            all.extend_from_slice(pairs);
            config(&all).expect("valid").secure_cookies
        };
        assert_eq!(secure(&[]), None, "unknown: either form is read");
        assert_eq!(
            secure(&[("BETTER_AUTH_URL", "https://auth.example.com")]),
            Some(true)
        );
        assert_eq!(
            secure(&[("BETTER_AUTH_URL", "http://localhost:3000")]),
            Some(false)
        );
        assert_eq!(
            secure(&[
                ("BETTER_AUTH_URL", "https://auth.example.com"),
                ("BETTER_AUTH_SECURE_COOKIES", "false"),
            ]),
            Some(false),
            "useSecureCookies wins"
        );
        let named = config(&[
            BASE[0],
            BASE[1],
            ("BETTER_AUTH_SESSION_COOKIE_NAME", "app_sid"),
        ])
        .expect("valid");
        assert_eq!(named.session_cookie_name, "app_sid");
        for bad in ["__Secure-app", "a b", "a;b"] {
            assert!(
                config(&[BASE[0], BASE[1], ("BETTER_AUTH_SESSION_COOKIE_NAME", bad)]).is_err(),
                "{bad}"
            );
        }
    }

    #[test]
    fn schema_overrides_are_parsed() {
        let c = config(&[
            BASE[0],
            BASE[1],
            ("BETTER_AUTH_USER_TABLE", "users"),
            ("BETTER_AUTH_SESSION_TABLE", "user_sessions"),
            (
                "BETTER_AUTH_SESSION_FIELDS",
                "expiresAt=expires_at, userId=user_id",
            ),
        ])
        .expect("valid");
        assert_eq!(c.schema.tables.user.table.as_deref(), Some("users"));
        assert_eq!(
            c.schema
                .tables
                .session
                .fields
                .get(&crate::schema::SessionField::UserId)
                .map(String::as_str),
            Some("user_id")
        );
    }

    #[test]
    fn methods_and_stateless_settings() {
        let c = config(&BASE).expect("valid");
        assert_eq!(
            c.method_order,
            [MethodName::Session],
            "the database session only, by default"
        );
        assert!(
            c.methods.session.result_cache.ttl.is_zero(),
            "the result cache is off by default"
        );
        let c = config(&[
            BASE[0],
            BASE[1],
            ("BETTER_AUTH_METHODS", "cookie-cache, session, jwt"),
            ("BETTER_AUTH_URL", "https://auth.example.com/api/auth"),
            ("BETTER_AUTH_COOKIE_CACHE_STRATEGY", "jwe"),
        ])
        .expect("valid");
        assert_eq!(
            c.method_order,
            [
                MethodName::CookieCache,
                MethodName::Session,
                MethodName::Jwt
            ]
        );
        assert_eq!(c.methods.jwt.rules.issuer, "https://auth.example.com");
        assert_eq!(c.methods.jwt.rules.audience, "https://auth.example.com");
        assert_eq!(
            c.methods.cookie_cache.cache.strategy,
            crate::session_data::Strategy::Jwe
        );
        assert_eq!(c.keys.source, KeySource::Database);
        assert_eq!(
            config(&[BASE[0], BASE[1], ("BETTER_AUTH_METHODS", "jwt")]).expect_err("no url"),
            ConfigError::Missing("BETTER_AUTH_URL")
        );
        let c = config(&[
            BASE[0],
            BASE[1],
            ("BETTER_AUTH_METHODS", "jwt"),
            ("BETTER_AUTH_URL", "https://auth.example.com"),
            ("BETTER_AUTH_JWKS", "url"),
        ])
        .expect("valid");
        assert_eq!(
            c.keys.source,
            KeySource::Url("https://auth.example.com/api/auth/jwks".into())
        );
        for (var, value) in [
            ("BETTER_AUTH_METHODS", "session,session"),
            ("BETTER_AUTH_METHODS", "password"),
            ("BETTER_AUTH_METHODS", " , "),
            ("BETTER_AUTH_COOKIE_CACHE_STRATEGY", "plain"),
            ("BETTER_AUTH_JWKS", "file"),
            ("BETTER_AUTH_URL", "auth.example.com"),
            ("BETTER_AUTH_JWT_DEFAULT_ALG", "HS256"),
            ("AUTH_RESULT_CACHE_TTL_MS", "-5"),
            ("BETTER_AUTH_JWKS_GRACE_PERIOD_SECONDS", "-1"),
        ] {
            let err = config(&[BASE[0], BASE[1], (var, value)]).expect_err(var);
            assert!(
                matches!(&err, ConfigError::Invalid { var: v, .. } if *v == var),
                "{var}: {err}"
            );
        }
    }

    #[test]
    fn jwks_urls_need_tls_except_on_loopback() {
        let with_url = |url: &str| {
            config(&[
                BASE[0],
                BASE[1],
                ("BETTER_AUTH_METHODS", "jwt"),
                ("BETTER_AUTH_URL", "https://auth.example.com"),
                ("BETTER_AUTH_JWKS", "url"),
                ("BETTER_AUTH_JWKS_URL", url),
            ])
        };
        for ok in [
            "https://auth.example.com/api/auth/jwks",
            "http://127.0.0.1:3000/api/auth/jwks",
            "http://localhost:3000/jwks",
            "http://[::1]:3000/jwks",
        ] {
            assert!(with_url(ok).is_ok(), "{ok}");
        }
        for refused in [
            "http://auth.example.com/api/auth/jwks",
            "http://10.0.0.5/jwks",
            "http://localhost.evil.com/jwks",
            "ftp://auth.example.com/jwks",
        ] {
            assert!(
                matches!(
                    with_url(refused),
                    Err(ConfigError::Invalid {
                        var: "BETTER_AUTH_JWKS_URL",
                        ..
                    })
                ),
                "{refused}"
            );
        }
        let c = config(&[
            BASE[0],
            BASE[1],
            ("BETTER_AUTH_JWKS_GRACE_PERIOD_SECONDS", "60"),
        ])
        .expect("valid");
        assert_eq!(c.keys.grace_period, chrono::Duration::seconds(60));
    }

    #[test]
    fn all_secrets_are_kept_for_decryption() {
        let c = config(&[
            BASE[0],
            ("BETTER_AUTH_SECRETS", "2:new-one, 1:old-one"),
            BASE[1],
        ])
        .expect("valid");
        assert_eq!(c.all_secrets.len(), 3);
        assert_eq!(c.all_secrets[0].bytes(), b"new-one");
        assert_eq!(c.all_secrets[2].bytes(), BASE[1].1.as_bytes());
    }

    #[test]
    fn debug_shows_no_secret_or_password() {
        let c = config(&BASE).expect("valid");
        let debug = format!("{c:?}");
        assert!(
            !debug.contains("s3cret") && !debug.contains("pw"),
            "{debug}"
        );
    }
}
