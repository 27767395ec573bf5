//! What every Better Auth compatibility suite shares: a Better Auth server with our authenticator
//! on the same database ([`Ctx`]), our decision reduced to what Better Auth can be compared with
//! ([`Ours`]), and [`Ctx::agree`], the assertion that both sides decide alike in every event
//! shape.

use auth_core::Authenticator;
use chrono::{DateTime, Utc};
use lambda_runtime::{Context, LambdaEvent};
use serde_json::{Value, json};
use test_support::TestDb;
use test_support::better_auth::{BetterAuthServer, Credential, Profile, ServerOptions, SignedIn};
use test_support::events::{Shape, event};
use test_support::redis::TestRedis;

pub(super) const SECRET: &str = "compat-test-secret-0123456789abcdefghijklmnop";

/// Our authorizer's answer, reduced to what Better Auth can be compared with.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Ours {
    /// Allow, with the context.
    Allow(Value),
    /// 401 (REST) or `isAuthorized: false` (HTTP API).
    Refused,
    /// A REST Deny policy (403).
    Deny,
    /// An error (500).
    Error,
}

pub(super) struct Ctx {
    pub(super) db: TestDb,
    pub(super) ba: BetterAuthServer,
    auth: Authenticator,
    /// The settings our side was given (cookie prefix, secondary storage).
    pub(super) vars: Vec<(String, String)>,
}

/// Better Auth with `secondaryStorage: redisStorage(...)` on a key prefix of the test's own:
/// sessions in Redis only, or (`store_in_database`) in both.
pub(super) fn with_redis(
    profile: Profile,
    redis: &TestRedis,
    store_in_database: bool,
) -> ServerOptions {
    let mut options = ServerOptions::new(profile, SECRET);
    options.secondary_storage = Some((redis.url.clone(), redis.prefix.clone()));
    options.store_session_in_database = store_in_database;
    options
}

impl Ctx {
    pub(super) async fn start(options: ServerOptions) -> Self {
        let db = options.profile.database().await;
        let ba = BetterAuthServer::start(&db, options.clone()).await;
        let prefix = options
            .cookie_prefix
            .clone()
            .unwrap_or_else(|| "better-auth".into());
        let mut vars = vec![
            ("BETTER_AUTH_COOKIE_PREFIX", prefix),
            (
                "BETTER_AUTH_SECURE_COOKIES",
                options.secure_cookies.to_string(),
            ),
        ];
        if let Some(name) = &options.session_cookie_name {
            vars.push(("BETTER_AUTH_SESSION_COOKIE_NAME", name.clone()));
        }
        if let Some((url, key_prefix)) = &options.secondary_storage {
            vars.push(("BETTER_AUTH_SECONDARY_STORAGE_URL", url.clone()));
            vars.push(("BETTER_AUTH_SECONDARY_STORAGE_PREFIX", key_prefix.clone()));
            if options.store_session_in_database {
                vars.push(("BETTER_AUTH_STORE_SESSION_IN_DATABASE", "true".into()));
            }
            if options.preserve_session_in_database {
                vars.push(("BETTER_AUTH_PRESERVE_SESSION_IN_DATABASE", "true".into()));
            }
        }
        let vars: Vec<(&str, &str)> = vars.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let auth = test_support::authenticator(&db.url, &options.secret, &vars);
        Self {
            db,
            ba,
            auth,
            vars: vars
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
        }
    }

    pub(super) async fn ours(&self, shape: Shape, credential: &Credential) -> Ours {
        self.ours_with(&self.auth, shape, credential).await
    }

    /// Our settings plus `extra`.
    pub(super) fn authenticator_with(&self, extra: &[(&str, &str)]) -> Authenticator {
        let mut vars: Vec<(&str, &str)> = self
            .vars
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        vars.extend_from_slice(extra);
        test_support::authenticator(&self.db.url, SECRET, &vars)
    }

    pub(super) async fn ours_with(
        &self,
        auth: &Authenticator,
        shape: Shape,
        credential: &Credential,
    ) -> Ours {
        let (authorization, cookie) = credential.headers();
        let payload = event(shape, authorization.as_deref(), cookie.as_deref());
        self.ours_for(auth, payload).await
    }

    /// Our authorizer's answer to an event built by the caller.
    pub(super) async fn ours_for(&self, auth: &Authenticator, payload: Value) -> Ours {
        let result =
            authorizer::handler::handle_json(auth, LambdaEvent::new(payload, Context::default()))
                .await;
        match result {
            Err(authorizer::handler::AuthorizerError::Unauthorized) => Ours::Refused,
            Err(authorizer::handler::AuthorizerError::Internal) => Ours::Error,
            Ok(v) if v["isAuthorized"] == json!(true) => Ours::Allow(v["context"].clone()),
            Ok(v) if v["isAuthorized"] == json!(false) => Ours::Refused,
            Ok(v) if v["policyDocument"]["Statement"][0]["Effect"] == json!("Allow") => {
                // A machine principal (an OAuth client-credentials token) names no user.
                match v["context"]["userId"].as_str() {
                    Some(user) => assert_eq!(v["principalId"], json!(user)),
                    None => assert!(v["context"]["clientId"].is_string(), "{v}"),
                }
                Ours::Allow(v["context"].clone())
            }
            Ok(v) if v["policyDocument"]["Statement"][0]["Effect"] == json!("Deny") => Ours::Deny,
            Ok(v) => panic!("unexpected authorizer answer {v}"),
        }
    }

    /// Asserts that we and Better Auth agree on `credential`, in every event shape; returns the
    /// user id both see (None when both refuse).
    pub(super) async fn agree(&self, case: &str, credential: &Credential) -> Option<String> {
        let theirs = self.ba.get_session(credential).await;
        let their_user = theirs
            .as_ref()
            .map(|s| s["user"]["id"].as_str().expect("user id").to_owned());
        for shape in Shape::ALL {
            let ours = self.ours(shape, credential).await;
            match (&their_user, &ours) {
                (Some(user), Ours::Allow(context)) if context["userId"] == json!(user) => {
                    let session = &theirs.as_ref().expect("session")["session"];
                    assert_eq!(context["sessionId"], session["id"], "{case}: session id");
                    assert_eq!(
                        context["email"],
                        theirs.as_ref().expect("s")["user"]["email"],
                        "{case}"
                    );
                    let theirs_expiry: DateTime<Utc> = session["expiresAt"]
                        .as_str()
                        .expect("expiresAt")
                        .parse()
                        .expect("date");
                    let ours_expiry: DateTime<Utc> = context["expiresAt"]
                        .as_str()
                        .expect("expiresAt")
                        .parse()
                        .expect("date");
                    assert_eq!(ours_expiry, theirs_expiry, "{case}: expiry ({shape:?})");
                }
                (None, Ours::Refused) => {}
                _ => panic!("{case} ({shape:?}): Better Auth says {their_user:?}, we say {ours:?}"),
            }
        }
        their_user
    }

    pub(super) async fn agree_on_all(&self, case: &str, session: &SignedIn) -> Option<String> {
        let mut seen = Vec::new();
        for credential in session.credentials() {
            seen.push(
                self.agree(&format!("{case} {credential:?}"), &credential)
                    .await,
            );
        }
        assert!(
            seen.windows(2).all(|w| w[0] == w[1]),
            "{case}: the three credentials disagree"
        );
        seen.pop().flatten()
    }

    pub(super) async fn make_admin(&self, user_id: &str) {
        let v = self.db.variant;
        let id_type = if v == test_support::Variant::RenamedSnakeUuid {
            "uuid"
        } else {
            "text"
        };
        let sql = format!(
            "UPDATE \"{}\" SET {} = 'admin' WHERE {} = CAST($1::text AS {id_type})",
            v.user_table(),
            v.col("role"),
            v.col("id")
        );
        self.db.execute(&sql, &[&user_id]).await;
    }
}

pub(super) fn email(n: &str) -> String {
    format!(
        "{n}-{}@example.com",
        test_support::random_token(8).to_ascii_lowercase()
    )
}
