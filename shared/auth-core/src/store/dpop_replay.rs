//! DPoP proof ids seen, in Redis: a proof is accepted once (RFC 9449 §11.1). Each accepted
//! proof's replay key is written with `SET <prefix>dpop-proof:<key> 1 NX PX <ms>` until the
//! proof would be too old anyway — the key (and key derivation) Better Auth's
//! `createDpopReplayStore(await auth.$context)` reserves in secondary storage, so a resource
//! server of the app's own built with it shares the record. (The provider's own endpoints
//! record theirs in the database.) Redis unreachable or slow is an error, never an accepted
//! proof; an evicting Redis (`maxmemory-policy` other than `noeviction`) could forget a record
//! early.

use std::time::Duration;

use crate::env::ConfigError;
use crate::store::port::StoreError;
use crate::store::redis_link::RedisLink;

/// Where DPoP proof ids are recorded.
#[derive(Debug)]
pub struct ProofReplayStore {
    link: RedisLink,
    prefix: String,
}

impl ProofReplayStore {
    /// The store at `url` (read from `var`), keys under `prefix`. Connects on first use.
    pub fn new(
        var: &'static str,
        url: &str,
        prefix: &str,
        connect_timeout: Duration,
        command_timeout: Duration,
    ) -> Result<Self, ConfigError> {
        Ok(Self {
            link: RedisLink::new(var, url, connect_timeout, command_timeout)?,
            prefix: prefix.to_owned(),
        })
    }

    /// Records `replay_key` for `ttl` (at least a millisecond): true when it was not recorded
    /// before (the proof is fresh), false when it was (a replay).
    pub async fn reserve(&self, replay_key: &str, ttl: Duration) -> Result<bool, StoreError> {
        let key = format!("{}dpop-proof:{replay_key}", self.prefix);
        let ms = u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX).max(1);
        // PX takes no zero: `max(1)` above; the caller never asks for less than the proof's
        // remaining acceptance.
        let answer: Option<String> = self
            .link
            .run(|mut connection| async move {
                redis::cmd("SET")
                    .arg(key)
                    .arg(1)
                    .arg("NX")
                    .arg("PX")
                    .arg(ms)
                    .query_async(&mut connection)
                    .await
            })
            .await?;
        Ok(answer.is_some())
    }
}
