//! Sessions where Better Auth keeps them with `secondaryStorage` (Redis, Valkey, ElastiCache):
//! the key `<prefix><token>` holds `{"session": …, "user": …}` (camelCase, ISO-8601 dates).
//!
//! Read rule, as Better Auth's `findSession`: a hit decides (the database is not consulted); a
//! miss falls back to the database only with `storeSessionInDatabase` and without
//! `preserveSessionInDatabase` (whose rows outlive their revocation). Users, bans and keys stay in
//! PostgreSQL; `BETTER_AUTH_CHECK_BAN_IN_DATABASE` also reads the user's current ban there (the
//! value's user is a snapshot from sign-in).
//!
//! One round trip (`GET`) per lookup, under a connect and a command timeout; the connection is
//! made on first use and re-made after any failure (a frozen sandbox's socket stays open and
//! silent), never by a request that does not need it. Redis unreachable, slow or answering garbage is an error, never an
//! allow.

use std::time::Duration;

use chrono::{DateTime, Utc};
use redis::aio::MultiplexedConnection;
use redis::{AsyncCommands, AsyncConnectionConfig};
use serde::Deserialize;

use crate::config::{ConfigError, Env};
use crate::identity::{SessionRecord, UserSnapshot};
use crate::store::postgres::Database;
use crate::store::{AuthStore, StoreError};

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
        let invalid = |reason: &str| ConfigError::Invalid {
            var: VAR,
            reason: reason.to_owned(),
        };
        if !(url.starts_with("redis://") || url.starts_with("rediss://")) {
            return Err(invalid("expected redis://… or rediss://… (TLS)"));
        }
        redis::Client::open(url.as_str())
            .map_err(|_| invalid("not a Redis URL (rediss://user:password@host:6379/0)"))?;
        // An empty prefix is meaningful (hand-written adapters use none): read it raw.
        let prefix = env
            .raw("BETTER_AUTH_SECONDARY_STORAGE_PREFIX")
            .unwrap_or_else(|| "better-auth:".to_owned());
        if prefix.len() > 256 || prefix.chars().any(char::is_control) {
            return Err(ConfigError::Invalid {
                var: "BETTER_AUTH_SECONDARY_STORAGE_PREFIX",
                reason: "at most 256 printable characters".into(),
            });
        }
        Ok(Some(Self {
            url,
            prefix,
            store_session_in_database: env.flag("BETTER_AUTH_STORE_SESSION_IN_DATABASE", false)?,
            preserve_session_in_database: env
                .flag("BETTER_AUTH_PRESERVE_SESSION_IN_DATABASE", false)?,
            check_ban_in_database: env.flag("BETTER_AUTH_CHECK_BAN_IN_DATABASE", false)?,
            connect_timeout,
            command_timeout,
        }))
    }

    /// Whether a miss in storage is looked up in the database (Better Auth's `findSession`).
    pub fn falls_back_to_database(&self) -> bool {
        self.store_session_in_database && !self.preserve_session_in_database
    }
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
    user_id: String,
    expires_at: DateTime<Utc>,
    #[serde(default)]
    impersonated_by: Option<String>,
}

/// Reads a stored value: the JSON object, or a JSON string holding it (double-encoded values
/// are seen in the wild). Anything else is an error: garbage in storage is never a session.
pub fn decode_session_value(value: &str) -> Result<SessionRecord, StoreError> {
    let garbage = |what: &str| StoreError::Query(format!("secondary storage value: {what}"));
    let parsed: serde_json::Value = serde_json::from_str(value).map_err(|_| garbage("not JSON"))?;
    let object = match parsed {
        serde_json::Value::String(inner) => {
            serde_json::from_str(&inner).map_err(|_| garbage("a string that is not JSON"))?
        }
        other => other,
    };
    let stored: Stored =
        serde_json::from_value(object).map_err(|_| garbage("not {session, user}"))?;
    if stored.session.user_id != stored.user.id {
        return Err(garbage("the session's userId is not its user's id"));
    }
    Ok(stored.user.into_record(
        stored.session.id.unwrap_or_default(),
        stored.session.expires_at,
        stored.session.impersonated_by,
    ))
}

/// Sessions in secondary storage (the PostgreSQL database beside it holds users, bans, keys
/// and, when configured, stored sessions).
pub struct SecondaryStore {
    settings: SecondaryStorageSettings,
    client: redis::Client,
    /// The connection, made on first use and dropped after any failure (a timeout included:
    /// a frozen sandbox's socket can stay open and silent), so the next request reconnects.
    connection: tokio::sync::Mutex<Option<MultiplexedConnection>>,
}

impl std::fmt::Debug for SecondaryStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SecondaryStore")
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

fn redis_error(error: &redis::RedisError) -> StoreError {
    if error.is_timeout() {
        StoreError::Unavailable(format!("secondary storage timed out: {:?}", error.kind()))
    } else {
        StoreError::Unavailable(format!("secondary storage: {:?}", error.kind()))
    }
}

impl SecondaryStore {
    /// Builds the store without connecting.
    pub fn new(settings: SecondaryStorageSettings) -> Result<Self, ConfigError> {
        let client =
            redis::Client::open(settings.url.as_str()).map_err(|_| ConfigError::Invalid {
                var: "BETTER_AUTH_SECONDARY_STORAGE_URL",
                reason: "not a Redis URL".into(),
            })?;
        Ok(Self {
            settings,
            client,
            connection: tokio::sync::Mutex::new(None),
        })
    }

    /// The settings.
    pub fn settings(&self) -> &SecondaryStorageSettings {
        &self.settings
    }

    /// The key of a session token.
    pub fn session_key(&self, token: &str) -> String {
        format!("{}{token}", self.settings.prefix)
    }

    /// The connection, made (under the connect timeout) when there is none.
    pub async fn connection(&self) -> Result<MultiplexedConnection, StoreError> {
        let mut slot = self.connection.lock().await;
        if let Some(connection) = slot.as_ref() {
            return Ok(connection.clone());
        }
        let config = AsyncConnectionConfig::new()
            .set_connection_timeout(Some(self.settings.connect_timeout))
            .set_response_timeout(Some(self.settings.command_timeout));
        let connect = self
            .client
            .get_multiplexed_async_connection_with_config(&config);
        let connection = match tokio::time::timeout(self.settings.connect_timeout, connect).await {
            Ok(Ok(connection)) => connection,
            Ok(Err(error)) => return Err(redis_error(&error)),
            Err(_) => return Err(StoreError::Timeout(self.settings.connect_timeout)),
        };
        *slot = Some(connection.clone());
        Ok(connection)
    }

    /// Forgets the connection after a failure: the next request connects anew.
    async fn reset(&self) {
        *self.connection.lock().await = None;
    }

    /// `GET <prefix><token>` under the command timeout.
    async fn get(&self, key: &str) -> Result<Option<String>, StoreError> {
        let mut connection = self.connection().await?;
        let read = connection.get::<_, Option<String>>(key);
        let result = match tokio::time::timeout(self.settings.command_timeout, read).await {
            Ok(Ok(value)) => return Ok(value),
            Ok(Err(error)) => redis_error(&error),
            Err(_) => StoreError::Timeout(self.settings.command_timeout),
        };
        self.reset().await;
        Err(result)
    }
}

impl SecondaryStore {
    /// The session with this token, as Better Auth's `findSession` finds it: a hit in storage
    /// decides; a miss falls back to `database` only when sessions are stored there too.
    pub async fn find_session(
        &self,
        token: &str,
        database: &Database,
    ) -> Result<Option<SessionRecord>, StoreError> {
        let mut record = match self.get(&self.session_key(token)).await? {
            Some(value) => decode_session_value(&value)?,
            None if self.settings.falls_back_to_database() => {
                return database.find_session(token).await;
            }
            None => return Ok(None),
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
    fn the_database_fallback_follows_better_auth() {
        let mut s = SecondaryStorageSettings {
            url: "redis://127.0.0.1:6379".into(),
            prefix: String::new(),
            store_session_in_database: false,
            preserve_session_in_database: false,
            check_ban_in_database: false,
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
