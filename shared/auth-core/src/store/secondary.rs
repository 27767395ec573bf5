//! Sessions where Better Auth keeps them with `secondaryStorage` (Redis, Valkey, ElastiCache):
//! the key `<prefix><token>` holds `{"session": …, "user": …}` (camelCase, ISO-8601 dates).
//!
//! Read rule, as Better Auth's `findSession`: a hit decides (the database is not consulted); a
//! miss falls back to the database only with `storeSessionInDatabase` and without
//! `preserveSessionInDatabase` (whose rows outlive their revocation). Users, bans and keys stay in
//! PostgreSQL; `BETTER_AUTH_CHECK_BAN_IN_DATABASE` also reads the user's current ban there (the
//! value's user is a snapshot from sign-in).
//!
//! Better Auth 1.7 also keeps `<prefix>revoked-sessions-before-<userId>` (epoch ms) when it
//! revokes all of a user's sessions: a stored session created before it is refused even while
//! its key lingers. The lookup reads the value and that marker in one round trip (a Lua script,
//! as `@better-auth/redis-storage` itself uses), under a connect and a command timeout; the
//! connection is made on first use and re-made after any failure (a frozen sandbox's socket
//! stays open and silent), never by a request that does not need it. Redis unreachable, slow or
//! answering garbage is an error, never an allow.
//!
//! A bearer value is a key under the prefix, so a request can name any key there: Better Auth's
//! own `active-sessions-<userId>` list and `revoked-sessions-before-<userId>` marker, a rate-limit
//! counter, a key of another type, another token's session. A value that is not a session (not
//! `{session: {…}, user: {…}}`, or one whose `session.token` is another token) is an unknown
//! session, not a storage fault (issue 27 S2).

use std::future::Future;
use std::sync::LazyLock;
use std::time::Duration;

use chrono::{DateTime, Utc};
use redis::Script;
use redis::aio::MultiplexedConnection;
use serde::Deserialize;

use crate::env::{ConfigError, Env};
use crate::identity::{SessionRecord, UserSnapshot};
use crate::store::port::{AuthStore, StoreError};
use crate::store::postgres::Database;
use crate::store::redis_link::RedisLink;

/// How sessions are kept in secondary storage.
#[derive(Clone, PartialEq, Eq)]
pub struct SecondaryStorageSettings {
    /// `BETTER_AUTH_SECONDARY_STORAGE_URL`: `redis://` or `rediss://` (TLS), with user,
    /// password and database index as Redis URLs carry them.
    pub url: String,
    /// `BETTER_AUTH_SECONDARY_STORAGE_PREFIX` (default `better-auth:`, as
    /// `@better-auth/redis-storage`; may be empty).
    pub prefix: String,
    /// `BETTER_AUTH_STORE_SESSION_IN_DATABASE` (default false, as Better Auth).
    pub store_session_in_database: bool,
    /// `BETTER_AUTH_PRESERVE_SESSION_IN_DATABASE` (default false, as Better Auth).
    pub preserve_session_in_database: bool,
    /// `BETTER_AUTH_CHECK_BAN_IN_DATABASE` (default false): also read the user's current ban
    /// from PostgreSQL (one primary-key query), for bans written in SQL.
    pub check_ban_in_database: bool,
    /// How long a revocation marker lives at least, as Better Auth's: the longest of the session
    /// lifetime (`BETTER_AUTH_SESSION_EXPIRES_IN`, default 7 days), a day and the impersonation
    /// lifetime (`BETTER_AUTH_IMPERSONATION_SESSION_DURATION`, default 1 hour).
    pub revocation_marker_min_ttl: Duration,
    /// Opening the connection (`DATABASE_CONNECT_TIMEOUT_MS`).
    pub connect_timeout: Duration,
    /// One command (`DATABASE_STATEMENT_TIMEOUT_MS`).
    pub command_timeout: Duration,
}

impl std::fmt::Debug for SecondaryStorageSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The URL may carry a password: only its scheme is shown.
        f.debug_struct("SecondaryStorageSettings")
            .field("tls", &self.url.starts_with("rediss://"))
            .field("prefix", &self.prefix)
            .field("store_session_in_database", &self.store_session_in_database)
            .field(
                "preserve_session_in_database",
                &self.preserve_session_in_database,
            )
            .field("check_ban_in_database", &self.check_ban_in_database)
            .finish_non_exhaustive()
    }
}

impl SecondaryStorageSettings {
    /// Parses the settings; `None` without `BETTER_AUTH_SECONDARY_STORAGE_URL`.
    pub fn parse(
        env: &Env<'_>,
        connect_timeout: Duration,
        command_timeout: Duration,
    ) -> Result<Option<Self>, ConfigError> {
        const VAR: &str = "BETTER_AUTH_SECONDARY_STORAGE_URL";
        let Some(url) = env.get(VAR).map(|v| v.trim().to_owned()) else {
            return Ok(None);
        };
        crate::store::redis_link::check_url(env, VAR, &url)?;
        let prefix = storage_prefix(env)?;
        Ok(Some(Self {
            url,
            prefix,
            store_session_in_database: env.flag("BETTER_AUTH_STORE_SESSION_IN_DATABASE", false)?,
            preserve_session_in_database: env
                .flag("BETTER_AUTH_PRESERVE_SESSION_IN_DATABASE", false)?,
            check_ban_in_database: env.flag("BETTER_AUTH_CHECK_BAN_IN_DATABASE", false)?,
            revocation_marker_min_ttl: {
                const DAY: u64 = 24 * 60 * 60;
                let lifetime = crate::identity::session_expires_in(env)?.unsigned_abs();
                let impersonation = env.number(
                    "BETTER_AUTH_IMPERSONATION_SESSION_DURATION",
                    3600,
                    60,
                    400 * DAY,
                )?;
                Duration::from_secs(lifetime.max(DAY).max(impersonation))
            },
            connect_timeout,
            command_timeout,
        }))
    }

    /// Whether a miss in storage is looked up in the database (Better Auth's `findSession`).
    pub fn falls_back_to_database(&self) -> bool {
        self.store_session_in_database && !self.preserve_session_in_database
    }
}

/// `BETTER_AUTH_SECONDARY_STORAGE_PREFIX`: `better-auth:` by default, as
/// `@better-auth/redis-storage`; empty is meaningful (hand-written adapters use none), so it is
/// read raw; at most 256 printable characters.
pub fn storage_prefix(env: &Env<'_>) -> Result<String, ConfigError> {
    let prefix = env
        .raw("BETTER_AUTH_SECONDARY_STORAGE_PREFIX")
        .unwrap_or_else(|| "better-auth:".to_owned());
    if prefix.len() > 256 || prefix.chars().any(char::is_control) {
        return Err(ConfigError::Invalid {
            var: "BETTER_AUTH_SECONDARY_STORAGE_PREFIX",
            reason: "at most 256 printable characters".into(),
        });
    }
    Ok(prefix)
}

/// The value Better Auth stores under a session token.
#[derive(Debug, Deserialize)]
struct Stored {
    session: StoredSession,
    user: UserSnapshot,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct StoredSession {
    #[serde(default)]
    id: Option<String>,
    #[serde(default)]
    token: Option<String>,
    user_id: String,
    expires_at: DateTime<Utc>,
    #[serde(default)]
    impersonated_by: Option<String>,
    #[serde(default)]
    created_at: Option<DateTime<Utc>>,
    #[serde(default)]
    active_organization_id: Option<String>,
    #[serde(default)]
    active_team_id: Option<String>,
}

/// What a stored session says beyond its record: when it was created (for the revocation
/// marker) and the organization and team it points at (for the database to confirm).
#[derive(Debug, Default)]
struct StoredClaims {
    created_at: Option<DateTime<Utc>>,
    active_organization_id: Option<String>,
    active_team_id: Option<String>,
}

fn garbage(what: &str) -> StoreError {
    StoreError::Query(format!("secondary storage value: {what}"))
}

/// Parses a stored JSON value: the JSON itself, or a JSON string holding it (double-encoded
/// values are seen in the wild).
pub fn parse_stored_json(value: &str) -> Result<serde_json::Value, StoreError> {
    match serde_json::from_str(value).map_err(|_| garbage("not JSON"))? {
        serde_json::Value::String(inner) => {
            serde_json::from_str(&inner).map_err(|_| garbage("a string that is not JSON"))
        }
        other => Ok(other),
    }
}

/// Whether a stored session created at `created_at` falls under the user's
/// `revoked-sessions-before` marker (epoch ms, as Better Auth writes it). A missing or
/// unreadable marker or date revokes nothing, as in Better Auth (`NaN < x` is false).
pub fn revoked_by_marker(created_at: Option<DateTime<Utc>>, marker: Option<&str>) -> bool {
    let Some(before) = marker.and_then(|m| m.trim().parse::<f64>().ok()) else {
        return false;
    };
    created_at.is_some_and(|created| (created.timestamp_millis() as f64) < before)
}

/// Reads a stored value: the JSON object, or a JSON string holding it. Anything else is an
/// error: garbage in storage is never a session.
pub fn decode_session_value(value: &str) -> Result<SessionRecord, StoreError> {
    match decode_stored(value, None)? {
        Some((record, _)) => Ok(record),
        None => Err(garbage("not {session, user}")),
    }
}

/// Reads the value stored under `token` (any token when `None`). `Ok(None)`: not a session at
/// all (not JSON, not `{session: {…}, user: {…}}`, another token's session), which a bearer
/// value naming another key finds; a value shaped as a session that does not decode is an error.
fn decode_stored(
    value: &str,
    token: Option<&str>,
) -> Result<Option<(SessionRecord, StoredClaims)>, StoreError> {
    // The common case straight from the text (one pass); anything else through a JSON value
    // (a double-encoded value is a JSON string holding the JSON).
    let stored: Stored = match serde_json::from_str(value) {
        Ok(stored) => stored,
        Err(_) => {
            let Ok(json) = parse_stored_json(value) else {
                return Ok(None);
            };
            let is_object = |key: &str| json.get(key).is_some_and(serde_json::Value::is_object);
            if !(is_object("session") && is_object("user")) {
                return Ok(None);
            }
            serde_json::from_value(json).map_err(|_| garbage("not {session, user}"))?
        }
    };
    if let (Some(stored_token), Some(token)) = (stored.session.token.as_deref(), token)
        && stored_token != token
    {
        return Ok(None);
    }
    if stored.session.user_id != stored.user.id {
        return Err(garbage("the session's userId is not its user's id"));
    }
    let session = stored.session;
    let claims = StoredClaims {
        created_at: session.created_at,
        active_organization_id: session.active_organization_id.filter(|id| !id.is_empty()),
        active_team_id: session.active_team_id.filter(|id| !id.is_empty()),
    };
    let record = stored.user.into_record(
        session.id.unwrap_or_default(),
        session.expires_at,
        session.impersonated_by,
    );
    Ok(Some((record, claims)))
}

/// Reads a session value and its user's `revoked-sessions-before` marker in one round trip.
/// `KEYS[1]`: the session key; `ARGV[1]`: the prefix. Returns `{value, userId, marker}`
/// (`false` for what is missing): the user id whose marker was read, so Rust can check it is the
/// session's. The id is found with one string match (`"userId":"…"`: inside a JSON string a quote
/// is always escaped, so only a real key matches), and with cjson only when that fails (a
/// double-encoded value). The value is returned as stored: Rust decodes and judges it; a key
/// of another type (a hash, a list: `GET` fails) holds no session and reads as an empty value.
static READ_SESSION: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r#"
local value = redis.pcall('GET', KEYS[1])
if type(value) == 'table' then return {'', false, false} end
if not value then return {false, false, false} end
local user = string.match(value, '"userId":"([^"\\]*)"')
if not user then
  local ok, decoded = pcall(cjson.decode, value)
  if ok and type(decoded) == 'string' then ok, decoded = pcall(cjson.decode, decoded) end
  if ok and type(decoded) == 'table' and type(decoded.session) == 'table'
      and type(decoded.session.userId) == 'string' then
    user = decoded.session.userId
  end
end
if not user then return {value, false, false} end
return {value, user, redis.call('GET', ARGV[1] .. 'revoked-sessions-before-' .. user)}
"#,
    )
});

/// Sessions in secondary storage (the PostgreSQL database beside it holds users, bans, keys
/// and, when configured, stored sessions).
pub struct SecondaryStore {
    settings: SecondaryStorageSettings,
    link: RedisLink,
}

impl std::fmt::Debug for SecondaryStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SecondaryStore")
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

/// Extends a stored session, as Better Auth's `updateSession` does, if the value is still the
/// one read (compare-and-set): the new value with a TTL to its expiry, and the user's list
/// entry moved to the new expiry (live entries, sorted, TTL to the furthest). `KEYS[1]`: the
/// session key; `KEYS[2]`: the list. `ARGV`: the value read, the new value, its TTL (s), now
/// (ms), the token, the new expiry (ms). Returns 1 when it wrote.
static REFRESH_SESSION: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r#"
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[1], ARGV[2], 'EX', tonumber(ARGV[3]))
local now = tonumber(ARGV[4])
local entries = {}
local raw = redis.call('GET', KEYS[2])
if raw then
  local ok, list = pcall(cjson.decode, raw)
  if ok and type(list) == 'string' then ok, list = pcall(cjson.decode, list) end
  if ok and type(list) == 'table' then
    for _, entry in ipairs(list) do
      if type(entry) == 'table' and type(entry.token) == 'string' and entry.token ~= ARGV[5]
          and type(entry.expiresAt) == 'number' and entry.expiresAt > now then
        table.insert(entries, {token = entry.token, expiresAt = entry.expiresAt})
      end
    end
  end
end
table.insert(entries, {token = ARGV[5], expiresAt = tonumber(ARGV[6])})
table.sort(entries, function(a, b) return a.expiresAt < b.expiresAt end)
local parts = {}
for i, entry in ipairs(entries) do
  parts[i] = '{"token":' .. cjson.encode(entry.token)
    .. ',"expiresAt":' .. string.format('%d', entry.expiresAt) .. '}'
end
local seconds = math.floor((entries[#entries].expiresAt - now) / 1000)
if seconds > 0 then
  redis.call('SET', KEYS[2], '[' .. table.concat(parts, ',') .. ']', 'EX', seconds)
end
return 1
"#,
    )
});

/// What the read script answers: the value, the user whose marker it read, the marker.
type SessionRead = (Option<String>, Option<String>, Option<String>);

impl SecondaryStore {
    /// Builds the store without connecting.
    pub fn new(settings: SecondaryStorageSettings) -> Result<Self, ConfigError> {
        let link = RedisLink::new(
            "BETTER_AUTH_SECONDARY_STORAGE_URL",
            &settings.url,
            settings.connect_timeout,
            settings.command_timeout,
        )?;
        Ok(Self { settings, link })
    }

    /// The settings.
    pub fn settings(&self) -> &SecondaryStorageSettings {
        &self.settings
    }

    /// The key of a session token: `<prefix><token>`.
    pub fn session_key(&self, token: &str) -> String {
        format!("{}{token}", self.settings.prefix)
    }

    /// The key of a user's session list: `<prefix>active-sessions-<userId>`, a JSON array of
    /// `{token, expiresAt (epoch ms)}`.
    pub fn active_sessions_key(&self, user_id: &str) -> String {
        format!("{}active-sessions-{user_id}", self.settings.prefix)
    }

    /// The key of a user's revocation marker: `<prefix>revoked-sessions-before-<userId>`
    /// (epoch ms as text).
    pub fn revoked_before_key(&self, user_id: &str) -> String {
        format!("{}revoked-sessions-before-{user_id}", self.settings.prefix)
    }

    /// Runs one exchange on the storage's connection ([`RedisLink::run`]).
    pub async fn run<T, F, Fut>(&self, exchange: F) -> Result<T, StoreError>
    where
        F: FnOnce(MultiplexedConnection) -> Fut,
        Fut: Future<Output = redis::RedisResult<T>>,
    {
        self.link.run(exchange).await
    }

    /// The session value under `<prefix><token>`, the user id whose revocation marker the
    /// script read, and that marker.
    async fn read_session(&self, token: &str) -> Result<SessionRead, StoreError> {
        let key = self.session_key(token);
        let prefix = self.settings.prefix.as_str();
        self.run(|mut connection| async move {
            READ_SESSION
                .key(key)
                .arg(prefix)
                .invoke_async(&mut connection)
                .await
        })
        .await
    }

    /// `GET` of a user's revocation marker.
    async fn marker(&self, user_id: &str) -> Result<Option<String>, StoreError> {
        let key = self.revoked_before_key(user_id);
        self.run(|mut connection| async move {
            redis::cmd("GET")
                .arg(key)
                .query_async(&mut connection)
                .await
        })
        .await
    }
}

impl SecondaryStore {
    /// Extends the stored session to `new_expiry` if it still expires at `observed` (Better
    /// Auth's refresh past `updateAge`). Returns whether it wrote.
    pub async fn refresh_session(
        &self,
        token: &str,
        observed: DateTime<Utc>,
        new_expiry: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let key = self.session_key(token);
        let read_key = key.clone();
        let Some(current) = self
            .run(|mut c| async move {
                redis::cmd("GET")
                    .arg(read_key)
                    .query_async::<Option<String>>(&mut c)
                    .await
            })
            .await?
        else {
            return Ok(false);
        };
        let mut value = parse_stored_json(&current)?;
        let Some(session) = value.get_mut("session").and_then(|s| s.as_object_mut()) else {
            return Err(garbage("not {session, user}"));
        };
        let stored_expiry = session
            .get("expiresAt")
            .and_then(|v| v.as_str())
            .and_then(|v| v.parse::<DateTime<Utc>>().ok());
        if stored_expiry != Some(observed) {
            return Ok(false);
        }
        let Some(user_id) = session
            .get("userId")
            .and_then(|v| v.as_str())
            .map(str::to_owned)
        else {
            return Err(garbage("a session without userId"));
        };
        let iso = |at: DateTime<Utc>| at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
        let now = Utc::now();
        session.insert("expiresAt".into(), iso(new_expiry).into());
        session.insert("updatedAt".into(), iso(now).into());
        let ttl = (new_expiry - now).num_seconds();
        if ttl <= 0 {
            return Ok(false);
        }
        let list_key = self.active_sessions_key(&user_id);
        let (new_value, now_ms, expiry_ms) = (
            value.to_string(),
            now.timestamp_millis(),
            new_expiry.timestamp_millis(),
        );
        let wrote: i64 = self
            .run(|mut c| async move {
                REFRESH_SESSION
                    .key(key)
                    .key(list_key)
                    .arg(current)
                    .arg(new_value)
                    .arg(ttl)
                    .arg(now_ms)
                    .arg(token)
                    .arg(expiry_ms)
                    .invoke_async(&mut c)
                    .await
            })
            .await?;
        Ok(wrote == 1)
    }

    /// The session with this token, as Better Auth's `findSession` finds it: a hit in storage
    /// decides; a miss falls back to `database` only when sessions are stored there too.
    pub async fn find_session(
        &self,
        token: &str,
        database: &Database,
    ) -> Result<Option<SessionRecord>, StoreError> {
        let (mut record, claims) = match self.read_session(token).await? {
            (Some(value), marker_of, marker) => {
                let Some((record, claims)) = decode_stored(&value, Some(token))? else {
                    tracing::debug!("the value under the token is not a session");
                    return Ok(None);
                };
                // The script read the marker of the user it found; should that not be the
                // session's user (an odd value), read the right one.
                let marker = if marker_of.as_deref() == Some(record.user_id.as_str()) {
                    marker
                } else {
                    self.marker(&record.user_id).await?
                };
                if revoked_by_marker(claims.created_at, marker.as_deref()) {
                    return Ok(None);
                }
                (record, claims)
            }
            (None, _, _) if self.settings.falls_back_to_database() => {
                return database.find_session(token).await;
            }
            (None, _, _) => return Ok(None),
        };
        if self.settings.check_ban_in_database {
            // The snapshot's ban may be stale: the database's ban decides (a deleted user's
            // session is refused as unknown).
            match database.user_ban(&record.user_id).await? {
                Some(ban) => {
                    record.banned = ban.banned;
                    record.ban_expires = ban.ban_expires;
                }
                None => return Ok(None),
            }
        }
        if let Some(admin) = record.impersonated_by.as_deref() {
            // The snapshot cannot know that the impersonating admin was banned since: one
            // primary-key query, paid by impersonation sessions only (issue 27, F2). An admin
            // who no longer exists impersonates no one.
            match database.user_ban(admin).await? {
                Some(ban) => {
                    record.impersonator_banned = ban.banned;
                    record.impersonator_ban_expires = ban.ban_expires;
                }
                None => return Ok(None),
            }
        }
        if let Some(organization_id) = &claims.active_organization_id {
            // The stored pointer is a claim: the membership tables confirm it (one more round
            // trip, only for sessions with an active organization).
            record.organization = database
                .active_organization(
                    organization_id,
                    &record.user_id,
                    claims.active_team_id.as_deref(),
                )
                .await?;
        }
        Ok(Some(record))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const VALUE: &str = r#"{"session":{"id":"s1","token":"t","userId":"u1","expiresAt":"2030-01-01T00:00:00.000Z","createdAt":"2026-01-01T00:00:00.000Z","updatedAt":"2026-01-01T00:00:00.000Z","ipAddress":"","userAgent":""},"user":{"id":"u1","name":"N","email":"n@example.com","emailVerified":true,"createdAt":"2026-01-01T00:00:00.000Z","updatedAt":"2026-01-01T00:00:00.000Z","role":"user","banned":false,"banExpires":null}}"#;

    #[test]
    fn better_auths_value_decodes_plain_or_double_encoded() {
        let record = decode_session_value(VALUE).expect("decodes");
        assert_eq!(record.session_id, "s1");
        assert_eq!(record.user_id, "u1");
        assert_eq!(record.email, "n@example.com");
        assert_eq!(record.banned, Some(false));
        let doubled = serde_json::to_string(VALUE).expect("a JSON string");
        assert_eq!(decode_session_value(&doubled).expect("decodes"), record);
        let no_id = VALUE.replace(r#""id":"s1","#, "");
        assert_eq!(
            decode_session_value(&no_id).expect("decodes").session_id,
            ""
        );
    }

    #[test]
    fn garbage_is_an_error_not_a_session() {
        for garbage in [
            "",
            "not json",
            "42",
            "\"not json inside\"",
            r#"{"session":{}}"#,
            r#"{"session":{"userId":"u1","expiresAt":"soon"},"user":{"id":"u1"}}"#,
            r#"{"session":{"userId":"u2","expiresAt":"2030-01-01T00:00:00Z"},"user":{"id":"u1"}}"#,
        ] {
            assert!(decode_session_value(garbage).is_err(), "{garbage}");
        }
    }

    #[test]
    fn the_revocation_marker_ends_older_sessions_only() {
        let created: DateTime<Utc> = "2026-01-01T00:00:00.000Z".parse().expect("date");
        let at = created.timestamp_millis();
        assert!(revoked_by_marker(
            Some(created),
            Some(&(at + 1).to_string())
        ));
        assert!(!revoked_by_marker(Some(created), Some(&at.to_string())));
        assert!(!revoked_by_marker(Some(created), None));
        assert!(!revoked_by_marker(Some(created), Some("garbage")));
        assert!(!revoked_by_marker(None, Some(&(at + 1).to_string())));
    }

    fn parse(pairs: &[(&str, &str)]) -> Result<Option<SecondaryStorageSettings>, ConfigError> {
        let pairs: Vec<(String, String)> = pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        let lookup = move |k: &str| pairs.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
        let second = Duration::from_secs(1);
        SecondaryStorageSettings::parse(&Env::new(&lookup), second, second)
    }

    /// Issue 27 hardening: `rediss://…#insecure` (no certificate check) only with an explicit
    /// opt-in, and a warning at start-up.
    #[test]
    fn rediss_insecure_needs_an_explicit_opt_in() {
        const URL: &str = "BETTER_AUTH_SECONDARY_STORAGE_URL";
        const OPT_IN: &str = "BETTER_AUTH_SECONDARY_STORAGE_ALLOW_INSECURE_TLS";
        let insecure = "rediss://:pw@cache.example:6380/0#insecure";
        assert!(matches!(
            parse(&[(URL, insecure)]),
            Err(ConfigError::Invalid { .. })
        ));
        assert!(parse(&[(URL, insecure), (OPT_IN, "false")]).is_err());
        assert!(parse(&[(URL, insecure), (OPT_IN, "ture")]).is_err());
        let allowed = parse(&[(URL, insecure), (OPT_IN, "true")])
            .expect("opted in")
            .expect("settings");
        for url in [
            "rediss://:pw@cache.example:6380/0",
            "redis://127.0.0.1:6379",
        ] {
            assert!(parse(&[(URL, url)]).expect("valid").is_some(), "{url}");
        }

        let buffer = crate::telemetry::LogBuffer::default();
        let subscriber = tracing_subscriber::fmt()
            .with_writer(buffer.clone())
            .finish();
        tracing::subscriber::with_default(subscriber, || {
            SecondaryStore::new(allowed).expect("store");
        });
        let logs = buffer.text();
        assert!(logs.contains("WARN"), "{logs}");
        assert!(logs.contains("certificate"), "{logs}");
        assert!(!logs.contains("pw@"), "{logs}");
    }

    #[test]
    fn the_database_fallback_follows_better_auth() {
        let mut s = SecondaryStorageSettings {
            url: "redis://127.0.0.1:6379".into(),
            prefix: String::new(),
            store_session_in_database: false,
            preserve_session_in_database: false,
            check_ban_in_database: false,
            revocation_marker_min_ttl: Duration::from_secs(86_400),
            connect_timeout: Duration::from_secs(1),
            command_timeout: Duration::from_secs(1),
        };
        assert!(!s.falls_back_to_database());
        s.store_session_in_database = true;
        assert!(s.falls_back_to_database());
        s.preserve_session_in_database = true;
        assert!(
            !s.falls_back_to_database(),
            "preserved rows outlive revocation"
        );
        assert!(!format!("{s:?}").contains("127.0.0.1"));
    }
}
