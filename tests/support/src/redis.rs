//! A Redis for the secondary-storage tests: `REDIS_URL`, else `redis://127.0.0.1:6379`
//! (`make test` runs scripts/with-redis.sh, which starts a throwaway one when neither answers).
//! Each [`TestRedis`] is a key prefix of its own, so tests are isolated and run in parallel; its
//! keys are deleted when it is dropped.

use redis::AsyncCommands;

/// The Redis the tests use.
pub fn redis_url() -> String {
    std::env::var("REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into())
}

/// A key prefix of a test's own on the test Redis.
pub struct TestRedis {
    /// The server's URL.
    pub url: String,
    /// `test-<random>:`, the prefix every key of this test starts with.
    pub prefix: String,
    client: redis::Client,
}

impl TestRedis {
    /// A fresh prefix (no I/O yet).
    pub fn new() -> Self {
        let url = redis_url();
        let client = redis::Client::open(url.as_str()).expect("a Redis URL");
        Self {
            prefix: format!("test-{}:", crate::random_token(12)),
            url,
            client,
        }
    }

    async fn connection(&self) -> redis::aio::MultiplexedConnection {
        self.client
            .get_multiplexed_async_connection()
            .await
            .unwrap_or_else(|e| panic!("no Redis at {} ({e}); see scripts/with-redis.sh", self.url))
    }

    /// The value under `<prefix><key>`.
    pub async fn get(&self, key: &str) -> Option<String> {
        let mut c = self.connection().await;
        c.get(format!("{}{key}", self.prefix)).await.expect("GET")
    }

    /// Sets `<prefix><key>` (no expiry).
    pub async fn set(&self, key: &str, value: &str) {
        let mut c = self.connection().await;
        let () = c
            .set(format!("{}{key}", self.prefix), value)
            .await
            .expect("SET");
    }

    /// Sets `<prefix><key>` with a TTL in seconds, as Better Auth's adapter does (`SETEX`).
    pub async fn set_ex(&self, key: &str, value: &str, seconds: u64) {
        let mut c = self.connection().await;
        let () = c
            .set_ex(format!("{}{key}", self.prefix), value, seconds)
            .await
            .expect("SETEX");
    }

    /// The TTL of `<prefix><key>` in seconds (`-1`: none, `-2`: no key).
    pub async fn ttl(&self, key: &str) -> i64 {
        let mut c = self.connection().await;
        c.ttl(format!("{}{key}", self.prefix)).await.expect("TTL")
    }

    /// Sets a field of the hash `<prefix><key>` (a key that is not a string).
    pub async fn hset(&self, key: &str, field: &str, value: &str) {
        let mut c = self.connection().await;
        let _: i64 = c
            .hset(format!("{}{key}", self.prefix), field, value)
            .await
            .expect("HSET");
    }

    /// Deletes `<prefix><key>`.
    pub async fn delete(&self, key: &str) {
        let mut c = self.connection().await;
        let _: i64 = c.del(format!("{}{key}", self.prefix)).await.expect("DEL");
    }
}

impl Default for TestRedis {
    fn default() -> Self {
        Self::new()
    }
}

impl Drop for TestRedis {
    fn drop(&mut self) {
        let Ok(mut c) = self.client.get_connection() else {
            return;
        };
        let pattern = format!("{}*", self.prefix);
        let keys: Vec<String> = redis::cmd("KEYS")
            .arg(&pattern)
            .query(&mut c)
            .unwrap_or_default();
        if !keys.is_empty() {
            let _: redis::RedisResult<i64> = redis::cmd("DEL").arg(keys).query(&mut c);
        }
    }
}
