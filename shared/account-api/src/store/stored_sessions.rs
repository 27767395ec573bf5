//! Sessions in Better Auth's `secondaryStorage` (Redis), listed, revoked and refreshed as
//! Better Auth 1.7's internal adapter does it, so that each side honours the other's changes:
//!
//! - list (`listSessions`): the user's `active-sessions-<userId>` list, live entries only, their
//!   values in one `MGET` with the `revoked-sessions-before-<userId>` marker;
//! - revoke (`deleteSession`, `deleteUserSessions`): delete the session keys, set the marker
//!   when every session goes, and rewrite the list (live, not deleted, sorted by expiry, TTL to
//!   the furthest, else deleted) — in one Lua script, so a session Better Auth adds meanwhile
//!   is not lost;
//! - refresh (`refreshUserSessions`): after a user changes, each live session's snapshot gets
//!   the new user, its TTL kept.
//!
//! Tokens stay inside this module and the store: they are never returned or logged.

use std::collections::HashSet;
use std::sync::LazyLock;

use auth_core::StoreError;
use auth_core::store::secondary::{SecondaryStore, parse_stored_json, revoked_by_marker};
use chrono::{DateTime, Utc};
use redis::Script;
use serde::Deserialize;
use serde_json::Value;

use super::sessions::SessionInfo;

/// One entry of `active-sessions-<userId>`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ListEntry {
    token: String,
    expires_at: f64,
}

/// The `session` of a stored value, as the account API shows it.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct StoredSessionFields {
    #[serde(default)]
    id: Option<String>,
    user_id: String,
    expires_at: DateTime<Utc>,
    #[serde(default)]
    created_at: Option<DateTime<Utc>>,
    #[serde(default)]
    updated_at: Option<DateTime<Utc>>,
    #[serde(default)]
    ip_address: Option<String>,
    #[serde(default)]
    user_agent: Option<String>,
    #[serde(default)]
    impersonated_by: Option<String>,
}

/// A live session in storage and its token (which never leaves the store).
#[derive(Debug)]
pub(crate) struct StoredSession {
    pub token: String,
    pub info: SessionInfo,
}

/// Deletes session keys, sets the revocation marker when asked, and rewrites the user's list.
/// `KEYS[1]`: the list; `KEYS[2]`: the marker; `KEYS[3..]`: session keys. `ARGV[1]`: now (epoch
/// ms); `ARGV[2]`: the marker's TTL in seconds (`0`: no marker); `ARGV[3]`: the key prefix.
/// Returns how many session keys existed.
static REVOKE: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r#"
local now = tonumber(ARGV[1])
local prefix_length = string.len(ARGV[3])
local deleted = {}
local count = 0
for i = 3, #KEYS do
  count = count + redis.call('DEL', KEYS[i])
  deleted[string.sub(KEYS[i], prefix_length + 1)] = true
end
local marker_ttl = tonumber(ARGV[2])
if marker_ttl > 0 then
  local previous = tonumber(redis.call('GET', KEYS[2]) or '0') or 0
  local value = string.format('%d', math.max(now, previous))
  -- Never shorten what Better Auth (or an earlier revocation) set: a marker that expired early
  -- would let a lingering or re-created key of a revoked session pass again.
  local existing = redis.call('PTTL', KEYS[2])
  if existing == -1 then
    redis.call('SET', KEYS[2], value, 'KEEPTTL')
  else
    redis.call('SET', KEYS[2], value, 'PX', math.max(existing, marker_ttl * 1000))
  end
end
local raw = redis.call('GET', KEYS[1])
if not raw then return count end
local ok, list = pcall(cjson.decode, raw)
if ok and type(list) == 'string' then ok, list = pcall(cjson.decode, list) end
local remaining = {}
if ok and type(list) == 'table' then
  for _, entry in ipairs(list) do
    if type(entry) == 'table' and type(entry.token) == 'string'
        and type(entry.expiresAt) == 'number' and entry.expiresAt > now
        and not deleted[entry.token] then
      table.insert(remaining, {token = entry.token, expiresAt = entry.expiresAt})
    end
  end
end
table.sort(remaining, function(a, b) return a.expiresAt < b.expiresAt end)
local last = remaining[#remaining]
local seconds = 0
if last then seconds = math.floor((last.expiresAt - now) / 1000) end
if seconds > 0 then
  local parts = {}
  for i, entry in ipairs(remaining) do
    parts[i] = '{"token":' .. cjson.encode(entry.token)
      .. ',"expiresAt":' .. string.format('%d', entry.expiresAt) .. '}'
  end
  redis.call('SET', KEYS[1], '[' .. table.concat(parts, ',') .. ']', 'EX', seconds)
else
  redis.call('DEL', KEYS[1])
end
return count
"#,
    )
});

/// The sessions of secondary storage.
pub(crate) struct StoredSessions<'a> {
    redis: &'a SecondaryStore,
}

impl<'a> StoredSessions<'a> {
    pub(crate) fn new(redis: &'a SecondaryStore) -> Self {
        Self { redis }
    }

    /// The live tokens of the user's list (not expired by the list's own `expiresAt`, no
    /// duplicates), as Better Auth reads it: an unreadable list is an empty one.
    pub(crate) async fn listed_tokens(
        &self,
        user_id: &str,
    ) -> Result<Vec<(String, f64)>, StoreError> {
        let key = self.redis.active_sessions_key(user_id);
        let raw: Option<String> = self
            .redis
            .run(|mut c| async move { redis::cmd("GET").arg(key).query_async(&mut c).await })
            .await?;
        let entries: Vec<ListEntry> = raw
            .as_deref()
            .and_then(|raw| parse_stored_json(raw).ok())
            .and_then(|value| serde_json::from_value(value).ok())
            .unwrap_or_default();
        let now = Utc::now().timestamp_millis() as f64;
        let mut seen = HashSet::new();
        Ok(entries
            .into_iter()
            .filter(|e| e.expires_at > now && seen.insert(e.token.clone()))
            .map(|e| (e.token, e.expires_at))
            .collect())
    }

    /// The user's live sessions (Better Auth's `listSessions`): listed, present, readable, not
    /// under the revocation marker, not expired, and the user's own.
    pub(crate) async fn list(&self, user_id: &str) -> Result<Vec<StoredSession>, StoreError> {
        let listed = self.listed_tokens(user_id).await?;
        self.sessions_listed(user_id, listed).await
    }

    /// The live sessions among `tokens` (from [`Self::listed_tokens`]): one `MGET` with the
    /// user's revocation marker.
    pub(crate) async fn sessions_listed(
        &self,
        user_id: &str,
        tokens: Vec<(String, f64)>,
    ) -> Result<Vec<StoredSession>, StoreError> {
        if tokens.is_empty() {
            return Ok(Vec::new());
        }
        let keys: Vec<String> = tokens
            .iter()
            .map(|(t, _)| self.redis.session_key(t))
            .collect();
        let marker_key = self.redis.revoked_before_key(user_id);
        let (values, marker): (Vec<Option<String>>, Option<String>) = self
            .redis
            .run(|mut c| async move {
                redis::pipe()
                    .cmd("MGET")
                    .arg(keys)
                    .cmd("GET")
                    .arg(marker_key)
                    .query_async(&mut c)
                    .await
            })
            .await?;
        let now = Utc::now();
        Ok(tokens
            .into_iter()
            .zip(values)
            .filter_map(|((token, _), value)| {
                let session = decode_session(value.as_deref()?)?;
                let live = session.user_id == user_id
                    && session.expires_at > now
                    && !revoked_by_marker(session.created_at, marker.as_deref());
                live.then(|| StoredSession {
                    token,
                    info: SessionInfo {
                        id: session.id.unwrap_or_default(),
                        user_id: session.user_id,
                        expires_at: session.expires_at,
                        created_at: session.created_at,
                        updated_at: session.updated_at,
                        ip_address: session.ip_address,
                        user_agent: session.user_agent,
                        impersonated_by: session.impersonated_by,
                    },
                })
            })
            .collect())
    }

    /// Deletes the sessions with these tokens and takes them off the user's list; with
    /// `every_session` (the user's listed tokens, from [`Self::listed_tokens`]), also sets the
    /// user's revocation marker (Better Auth's `deleteUserSessions`) for as long as the furthest
    /// of them could live, so a session of theirs created before now is refused even if its key
    /// lingers. Returns how many of the keys existed.
    pub(crate) async fn delete(
        &self,
        user_id: &str,
        tokens: &[String],
        every_session: Option<&[(String, f64)]>,
    ) -> Result<u64, StoreError> {
        let now = Utc::now().timestamp_millis();
        let marker_ttl = every_session.map_or(0, |listed| {
            listed
                .iter()
                .map(|(_, expires)| ((*expires as i64) - now) / 1000)
                .max()
                .unwrap_or(0)
                .max(self.redis.settings().revocation_marker_min_ttl.as_secs() as i64)
        });
        let list_key = self.redis.active_sessions_key(user_id);
        let marker_key = self.redis.revoked_before_key(user_id);
        let session_keys: Vec<String> = tokens.iter().map(|t| self.redis.session_key(t)).collect();
        let prefix = self.redis.settings().prefix.clone();
        self.redis
            .run(|mut c| async move {
                REVOKE
                    .key(list_key)
                    .key(marker_key)
                    .key(session_keys)
                    .arg(now)
                    .arg(marker_ttl)
                    .arg(prefix)
                    .invoke_async(&mut c)
                    .await
            })
            .await
    }

    /// Writes `user` (Better Auth's JSON shape) into each live session's snapshot, keeping the
    /// snapshot's other fields and the key's TTL (Better Auth's `refreshUserSessions`). A key
    /// that vanished meanwhile is not recreated.
    pub(crate) async fn refresh_user(&self, user_id: &str, user: &Value) -> Result<(), StoreError> {
        let tokens = self.listed_tokens(user_id).await?;
        if tokens.is_empty() {
            return Ok(());
        }
        let keys: Vec<String> = tokens
            .iter()
            .map(|(t, _)| self.redis.session_key(t))
            .collect();
        let read = keys.clone();
        let values: Vec<Option<String>> = self
            .redis
            .run(|mut c| async move { redis::cmd("MGET").arg(read).query_async(&mut c).await })
            .await?;
        let mut writes = redis::pipe();
        let mut any = false;
        for (key, value) in keys.iter().zip(values) {
            let Some(mut stored) = value.as_deref().and_then(|v| parse_stored_json(v).ok()) else {
                continue;
            };
            // A list entry may name a key that holds another user's session (a token reused,
            // a hand-written list): that user's snapshot is never rewritten with this user.
            if stored.pointer("/session/userId").and_then(Value::as_str) != Some(user_id) {
                continue;
            }
            let Some(snapshot) = stored.get_mut("user").and_then(Value::as_object_mut) else {
                continue;
            };
            if let Some(fields) = user.as_object() {
                for (name, value) in fields {
                    if !value.is_null() || snapshot.contains_key(name) {
                        snapshot.insert(name.clone(), value.clone());
                    }
                }
            }
            writes
                .cmd("SET")
                .arg(key)
                .arg(stored.to_string())
                .arg("XX")
                .arg("KEEPTTL")
                .ignore();
            any = true;
        }
        if any {
            self.redis
                .run(|mut c| async move { writes.query_async::<()>(&mut c).await })
                .await?;
        }
        Ok(())
    }
}

/// The `session` of a stored value; `None` for what Better Auth would skip as unreadable.
fn decode_session(value: &str) -> Option<StoredSessionFields> {
    let mut stored = parse_stored_json(value).ok()?;
    serde_json::from_value(stored.get_mut("session")?.take()).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stored_session_decodes_with_or_without_optional_fields() {
        let full = r#"{"session":{"id":"s1","token":"t","userId":"u1","expiresAt":"2030-01-01T00:00:00.000Z","createdAt":"2026-01-01T00:00:00.000Z","updatedAt":"2026-01-01T00:00:00.000Z","ipAddress":"10.0.0.1","userAgent":"ua","impersonatedBy":null},"user":{"id":"u1"}}"#;
        let session = decode_session(full).expect("decodes");
        assert_eq!(session.id.as_deref(), Some("s1"));
        assert_eq!(session.ip_address.as_deref(), Some("10.0.0.1"));
        let doubled = serde_json::to_string(full).expect("a JSON string");
        assert_eq!(
            decode_session(&doubled).expect("decodes").user_id,
            session.user_id
        );
        let minimal = r#"{"session":{"userId":"u1","expiresAt":"2030-01-01T00:00:00Z"}}"#;
        assert!(decode_session(minimal).expect("decodes").id.is_none());
        for garbage in ["", "[]", r#"{"user":{}}"#, r#"{"session":{"userId":1}}"#] {
            assert!(decode_session(garbage).is_none(), "{garbage}");
        }
    }
}
