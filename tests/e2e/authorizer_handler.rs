//! The authorizer's handler against real PostgreSQL: every event shape, every refusal.

use auth_core::Authenticator;
use auth_core::signing::{Secret, sign, sign_cookie_value};
use authorizer::handler::{AuthorizerError, handle_json};
use chrono::{Duration, Utc};
use lambda_runtime::LambdaEvent;
use serde_json::Value;
use serde_json::json;
use test_support::events::{Shape, event};
use test_support::{NewUser, TestDb, Variant};

const SECRET: &str = "handler-test-secret-0123456789abcdefghijkl";
const SHAPES: [Shape; 3] = Shape::ALL;
fn authenticator(url: &str, extra: &[(&str, &str)]) -> Authenticator {
    let mut settings = vec![("DATABASE_CONNECT_TIMEOUT_MS", "1500")];
    settings.extend_from_slice(extra);
    test_support::authenticator(url, SECRET, &settings)
}

async fn call(auth: &Authenticator, payload: Value) -> Result<Value, AuthorizerError> {
    handle_json(
        auth,
        LambdaEvent::new(payload, lambda_runtime::Context::default()),
    )
    .await
}

fn cookie_for(token: &str) -> String {
    format!(
        "theme=dark; better-auth.session_token={}",
        sign_cookie_value(&Secret::new(SECRET), token)
    )
}

fn expected_allow(
    shape: Shape,
    user_id: &str,
    session_id: &str,
    method: &str,
    expires: &str,
) -> Value {
    let context = json!({
        "userId": user_id,
        "sessionId": session_id,
        "email": "someone@example.com",
        "name": "Test User",
        "role": "user",
        "emailVerified": true,
        "expiresAt": expires,
        "authMethod": method,
        "verifiedBy": "session",
    });
    match shape {
        Shape::HttpV2 => json!({"isAuthorized": true, "context": context}),
        _ => json!({
            "principalId": user_id,
            "policyDocument": {
                "Version": "2012-10-17",
                "Statement": [{
                    "Action": ["execute-api:Invoke"],
                    "Effect": "Allow",
                    "Resource": [shape.wildcard()],
                }],
            },
            "context": context,
        }),
    }
}

fn assert_unauthorized(shape: Shape, result: Result<Value, AuthorizerError>, case: &str) {
    match shape {
        Shape::HttpV2 => assert_eq!(
            result,
            Ok(json!({"isAuthorized": false, "context": {}})),
            "{case}"
        ),
        _ => assert_eq!(
            result,
            Err(AuthorizerError::Unauthorized),
            "{case} ({shape:?})"
        ),
    }
}

struct Fixture {
    db: TestDb,
    user: String,
    session: test_support::NewSession,
    expires: String,
}

async fn fixture(variant: Variant) -> Fixture {
    let db = TestDb::new(variant).await;
    let user = db.create_user(&NewUser::new("someone@example.com")).await;
    let expires_at = (Utc::now() + Duration::days(7)).trunc_subsecs(3);
    let session = db.create_session(&user, expires_at).await;
    Fixture {
        db,
        user,
        session,
        expires: expires_at.to_rfc3339(),
    }
}

use chrono::SubsecRound;

#[tokio::test]
async fn valid_credentials_allow_in_every_event_shape() {
    let f = fixture(Variant::Default).await;
    let auth = authenticator(&f.db.url, &[]);
    let token = &f.session.token;
    let signed = sign(&Secret::new(SECRET), token);
    let encoded = sign_cookie_value(&Secret::new(SECRET), token);
    let secure_cookie = format!("__Secure-better-auth.session_token={encoded}");
    for shape in SHAPES {
        let cases: [(Option<String>, Option<String>, &str); 5] = [
            (Some(format!("Bearer {token}")), None, "bearer"),
            (Some(format!("Bearer {signed}")), None, "bearer_signed"),
            (Some(format!("bearer {encoded}")), None, "bearer_signed"),
            (None, Some(cookie_for(token)), "cookie"),
            (None, Some(secure_cookie.clone()), "cookie"),
        ];
        for (authorization, cookie, method) in cases {
            let result = call(
                &auth,
                event(shape, authorization.as_deref(), cookie.as_deref()),
            )
            .await;
            assert_eq!(
                result,
                Ok(expected_allow(
                    shape,
                    &f.user,
                    &f.session.id,
                    method,
                    &f.expires
                )),
                "{shape:?} {method}"
            );
        }
    }
}

/// REST usage plans (`apiKeySource: AUTHORIZER`): the answer names the caller's usage key,
/// by id or by a user column (a plan), in both REST shapes; HTTP APIs have no usage plans.
#[tokio::test]
async fn the_usage_identifier_key_names_the_callers_usage_plan_key_on_rest() {
    let f = fixture(Variant::Default).await;
    f.db.execute(r#"ALTER TABLE "user" ADD COLUMN plan text"#, &[])
        .await;
    let cookie = cookie_for(&f.session.token);
    for (setting, fields, expected) in [
        ("userId", "", Some(f.user.as_str())),
        ("user.plan", "plan", None),
        ("apiKeyId", "", None),
    ] {
        let auth = authenticator(
            &f.db.url,
            &[
                ("API_GATEWAY_USAGE_IDENTIFIER", setting),
                ("BETTER_AUTH_CONTEXT_USER_FIELDS", fields),
            ],
        );
        for shape in SHAPES {
            let answer = call(&auth, event(shape, None, Some(&cookie)))
                .await
                .expect("allow");
            let key = answer.get("usageIdentifierKey").and_then(Value::as_str);
            let want = if shape == Shape::HttpV2 {
                None
            } else {
                expected
            };
            assert_eq!(key, want, "{setting} {shape:?}");
        }
    }
    // A caller with the column set gets it as the key.
    f.db.execute(r#"UPDATE "user" SET plan = 'pro'"#, &[]).await;
    let auth = authenticator(
        &f.db.url,
        &[
            ("API_GATEWAY_USAGE_IDENTIFIER", "user.plan"),
            ("BETTER_AUTH_CONTEXT_USER_FIELDS", "plan"),
        ],
    );
    let answer = call(&auth, event(Shape::RestRequest, None, Some(&cookie)))
        .await
        .expect("allow");
    assert_eq!(answer["usageIdentifierKey"], "pro");
    // A field the authorizer does not read cannot be the key: refused at start-up.
    let config = auth_core::Config::from_lookup(|k| match k {
        "DATABASE_URL" => Some(f.db.url.clone()),
        "BETTER_AUTH_SECRET" => Some(SECRET.into()),
        "API_GATEWAY_USAGE_IDENTIFIER" => Some("user.plan".into()),
        _ => None,
    });
    assert!(
        matches!(
            config,
            Err(auth_core::ConfigError::Invalid {
                var: "API_GATEWAY_USAGE_IDENTIFIER",
                ..
            })
        ),
        "{config:?}"
    );
}

#[tokio::test]
async fn a_custom_cookie_prefix_is_read_and_the_default_one_is_not() {
    let f = fixture(Variant::Default).await;
    let auth = authenticator(&f.db.url, &[("BETTER_AUTH_COOKIE_PREFIX", "myapp")]);
    let value = sign_cookie_value(&Secret::new(SECRET), &f.session.token);
    for shape in SHAPES {
        let ok = call(
            &auth,
            event(shape, None, Some(&format!("myapp.session_token={value}"))),
        )
        .await;
        assert_eq!(
            ok,
            Ok(expected_allow(
                shape,
                &f.user,
                &f.session.id,
                "cookie",
                &f.expires
            ))
        );
        let default_name = call(
            &auth,
            event(shape, None, Some(&cookie_for(&f.session.token))),
        )
        .await;
        assert_unauthorized(shape, default_name, "default prefix");
    }
}

#[tokio::test]
async fn bad_credentials_are_unauthorized() {
    let f = fixture(Variant::Default).await;
    let auth = authenticator(&f.db.url, &[]);
    let token = &f.session.token;
    let tampered = cookie_for(token).replacen(&token[..4], "ZZZZ", 1);
    let wrong_secret = format!(
        "better-auth.session_token={}",
        sign_cookie_value(
            &Secret::new("some-other-secret-0123456789abcdefghij"),
            token
        )
    );
    let unsigned_cookie = format!("better-auth.session_token={token}");
    let unknown = test_support::random_token(32);
    let cases: Vec<(Option<String>, Option<String>, &str)> = vec![
        (None, None, "nothing"),
        (None, Some(tampered), "tampered token"),
        (None, Some(wrong_secret), "wrong secret"),
        (None, Some(unsigned_cookie), "unsigned cookie"),
        (Some(format!("Bearer {unknown}")), None, "unknown token"),
        (Some(format!("Basic {token}")), None, "wrong scheme"),
        (Some("Bearer ".into()), None, "empty bearer"),
        (Some(format!("Bearer {token}'--")), None, "bad characters"),
        (
            Some(format!("Bearer {}", "a".repeat(5000))),
            None,
            "oversized",
        ),
        (
            Some(format!("Bearer {token}.notasignature")),
            None,
            "malformed signature",
        ),
    ];
    for shape in SHAPES {
        for (authorization, cookie, case) in &cases {
            let result = call(
                &auth,
                event(shape, authorization.as_deref(), cookie.as_deref()),
            )
            .await;
            assert_unauthorized(shape, result, case);
        }
    }
}

#[tokio::test]
async fn expired_sessions_are_unauthorized() {
    let f = fixture(Variant::Default).await;
    let expired =
        f.db.create_session(&f.user, Utc::now() - Duration::seconds(1))
            .await;
    let auth = authenticator(&f.db.url, &[]);
    for shape in SHAPES {
        let result = call(&auth, event(shape, None, Some(&cookie_for(&expired.token)))).await;
        assert_unauthorized(shape, result, "expired");
    }
}

#[tokio::test]
async fn banned_users_are_denied_until_the_ban_expires() {
    let db = TestDb::new(Variant::Default).await;
    let mut banned = NewUser::new("banned@example.com");
    banned.banned = Some(true);
    let banned_id = db.create_user(&banned).await;
    let banned_session = db
        .create_session(&banned_id, Utc::now() + Duration::days(1))
        .await;
    let mut lapsed = NewUser::new("lapsed@example.com");
    lapsed.banned = Some(true);
    lapsed.ban_expires = Some(Utc::now() - Duration::minutes(1));
    let lapsed_id = db.create_user(&lapsed).await;
    let lapsed_session = db
        .create_session(&lapsed_id, Utc::now() + Duration::days(1))
        .await;
    let auth = authenticator(&db.url, &[]);
    for shape in SHAPES {
        let result = call(
            &auth,
            event(shape, None, Some(&cookie_for(&banned_session.token))),
        )
        .await;
        let expected = match shape {
            Shape::HttpV2 => json!({"isAuthorized": false, "context": {}}),
            _ => json!({
                "principalId": banned_id,
                "policyDocument": {
                    "Version": "2012-10-17",
                    "Statement": [{
                        "Action": ["execute-api:Invoke"],
                        "Effect": "Deny",
                        "Resource": [shape.wildcard()],
                    }],
                },
                "context": {"reason": "user_banned"},
            }),
        };
        assert_eq!(result, Ok(expected), "{shape:?}");
        let result = call(
            &auth,
            event(shape, None, Some(&cookie_for(&lapsed_session.token))),
        )
        .await;
        let allowed = result.expect("an expired ban does not count");
        assert_ne!(
            allowed.get("isAuthorized"),
            Some(&json!(false)),
            "{shape:?}"
        );
        assert_ne!(
            allowed["policyDocument"]["Statement"][0]["Effect"],
            json!("Deny")
        );
    }
}

#[tokio::test]
async fn revoked_sessions_are_unauthorized() {
    let f = fixture(Variant::RevokedColumn).await;
    let auth = authenticator(&f.db.url, &[]);
    let cookie = cookie_for(&f.session.token);
    assert!(
        call(&auth, event(Shape::RestRequest, None, Some(&cookie)))
            .await
            .is_ok()
    );
    f.db.execute(
        "UPDATE user_sessions SET revoked = true WHERE id = $1",
        &[&f.session.id],
    )
    .await;
    for shape in SHAPES {
        let result = call(&auth, event(shape, None, Some(&cookie))).await;
        assert_unauthorized(shape, result, "revoked");
    }
}

#[tokio::test]
async fn unverified_users_are_denied_only_when_required() {
    let db = TestDb::new(Variant::Default).await;
    let mut user = NewUser::new("new@example.com");
    user.email_verified = false;
    let id = db.create_user(&user).await;
    let session = db.create_session(&id, Utc::now() + Duration::days(1)).await;
    let cookie = cookie_for(&session.token);
    let lenient = authenticator(&db.url, &[]);
    assert!(
        call(&lenient, event(Shape::RestRequest, None, Some(&cookie)))
            .await
            .is_ok()
    );
    let strict = authenticator(&db.url, &[("BETTER_AUTH_REQUIRE_EMAIL_VERIFIED", "true")]);
    let result = call(&strict, event(Shape::RestRequest, None, Some(&cookie)))
        .await
        .expect("deny");
    assert_eq!(
        result["policyDocument"]["Statement"][0]["Effect"],
        json!("Deny")
    );
    assert_eq!(result["context"]["reason"], json!("email_not_verified"));
}

#[tokio::test]
async fn impersonated_sessions_carry_the_admin() {
    let f = fixture(Variant::Default).await;
    f.db.execute(
        "UPDATE session SET \"impersonatedBy\" = 'admin-1' WHERE id = $1",
        &[&f.session.id],
    )
    .await;
    let auth = authenticator(&f.db.url, &[]);
    let result = call(
        &auth,
        event(Shape::HttpV2, None, Some(&cookie_for(&f.session.token))),
    )
    .await
    .expect("allow");
    assert_eq!(result["context"]["impersonatedBy"], json!("admin-1"));
}

#[tokio::test]
async fn require_signature_refuses_raw_bearer_tokens() {
    let f = fixture(Variant::Default).await;
    let auth = authenticator(&f.db.url, &[("BETTER_AUTH_REQUIRE_SIGNATURE", "true")]);
    let raw = format!("Bearer {}", f.session.token);
    let signed = format!("Bearer {}", sign(&Secret::new(SECRET), &f.session.token));
    for shape in SHAPES {
        assert_unauthorized(
            shape,
            call(&auth, event(shape, Some(&raw), None)).await,
            "raw",
        );
        assert!(call(&auth, event(shape, Some(&signed), None)).await.is_ok());
    }
}

#[tokio::test]
async fn an_unreachable_database_is_an_error_never_an_allow() {
    // A port nothing listens on: every lookup fails.
    let auth = authenticator("postgres://postgres@127.0.0.1:9/none", &[]);
    let token = test_support::random_token(32);
    for shape in SHAPES {
        let result = call(&auth, event(shape, None, Some(&cookie_for(&token)))).await;
        assert_eq!(result, Err(AuthorizerError::Internal), "{shape:?}");
        // A bad signature is refused before any query: still a plain Unauthorized.
        let forged = format!("better-auth.session_token={token}.{}", "A".repeat(43) + "=");
        assert_unauthorized(
            shape,
            call(&auth, event(shape, None, Some(&forged))).await,
            "forged",
        );
    }
}

#[tokio::test]
async fn unreadable_events_are_errors() {
    let auth = authenticator("postgres://postgres@127.0.0.1:9/none", &[]);
    for payload in [
        json!({}),
        json!({"type": "REQUEST"}),
        json!("text"),
        json!({"type": "TOKEN", "authorizationToken": "Bearer x"}),
    ] {
        let result = call(&auth, payload.clone()).await;
        assert!(
            matches!(
                result,
                Err(AuthorizerError::Internal) | Err(AuthorizerError::Unauthorized)
            ),
            "{payload}: {result:?}"
        );
        assert!(result.is_err());
    }
    // A valid-looking TOKEN event whose methodArn is missing can never produce an Allow.
    let f = fixture(Variant::Default).await;
    let auth = authenticator(&f.db.url, &[]);
    let mut e = event(
        Shape::RestToken,
        Some(&format!("Bearer {}", f.session.token)),
        None,
    );
    e.as_object_mut().expect("object").remove("methodArn");
    assert_eq!(call(&auth, e).await, Err(AuthorizerError::Internal));
}

#[tokio::test]
async fn bearer_decides_alone_when_both_are_present() {
    let f = fixture(Variant::Default).await;
    let auth = authenticator(&f.db.url, &[]);
    let cookie = cookie_for(&f.session.token);
    for shape in [Shape::RestRequest, Shape::HttpV2] {
        let unknown = format!("Bearer {}", test_support::random_token(32));
        assert_unauthorized(
            shape,
            call(&auth, event(shape, Some(&unknown), Some(&cookie))).await,
            "bearer wins",
        );
        let good = format!("Bearer {}", f.session.token);
        assert!(
            call(
                &auth,
                event(
                    shape,
                    Some(&good),
                    Some("better-auth.session_token=garbage")
                )
            )
            .await
            .is_ok()
        );
    }
}

/// Issue 24 §3: with `METRICS_ENABLED`, every decision's one line is a CloudWatch EMF record
/// (checked against the specification): an Allow by method, a Deny and an Unauthorized by
/// reason, the cold start on the first only, a result-cache hit counted; no user, session or
/// token among the dimensions.
#[tokio::test]
async fn every_decision_line_is_an_emf_record_with_bounded_dimensions() {
    let f = fixture(Variant::Default).await;
    let mut banned = NewUser::new("banned-metrics@example.com");
    banned.banned = Some(true);
    let banned_id = f.db.create_user(&banned).await;
    let banned_session =
        f.db.create_session(&banned_id, Utc::now() + Duration::days(1))
            .await;
    let auth = authenticator(
        &f.db.url,
        &[
            ("METRICS_ENABLED", "true"),
            ("METRICS_NAMESPACE", "Test/Authorizer"),
            ("AUTH_RESULT_CACHE_TTL_MS", "60000"),
        ],
    );
    let bearer = format!("Bearer {}", f.session.token);
    let (guard, logs) = test_support::logs::capture();
    let shape = Shape::RestRequest;
    for (authorization, cookie) in [
        (Some(bearer.as_str()), None),
        (Some(bearer.as_str()), None),
        (None, Some(cookie_for(&banned_session.token))),
        (Some("Bearer unknown-token-0123456789abcdef"), None),
    ] {
        let _ = call(&auth, event(shape, authorization, cookie.as_deref())).await;
    }
    drop(guard);
    let text = logs.text();
    let records = test_support::emf::records(&text);
    let decisions: Vec<&str> = records
        .iter()
        .map(|(line, _)| line["decision"].as_str().unwrap_or("?"))
        .collect();
    assert_eq!(
        decisions,
        ["allow", "allow", "deny", "unauthorized"],
        "{text}"
    );
    for (i, (line, record)) in records.iter().enumerate() {
        assert_eq!(record.value("Decisions"), Some(1.0), "{line}");
        assert_eq!(record.value("Latency"), line["latency_us"].as_f64());
        assert_eq!(
            record.value("ColdStarts"),
            (i == 0).then_some(1.0),
            "{line}"
        );
        for set in &record.dimension_sets {
            for name in set {
                assert!(
                    ["function", "decision", "method", "reason"].contains(&name.as_str()),
                    "{name}: {line}"
                );
            }
        }
        assert!(!line.to_string().contains(&f.session.token));
    }
    let allow = &records[0];
    assert_eq!(allow.0["method"], "session");
    assert!(allow.1.dimension_sets.contains(&vec![
        "function".into(),
        "decision".into(),
        "method".into()
    ]));
    // The second Allow came from the result cache.
    assert!(
        records[1]
            .1
            .value("ResultCacheHits")
            .is_some_and(|n| n >= 1.0)
    );
    assert_eq!(records[2].0["reason"], "user_banned");
    assert!(records[2].1.dimension_sets.contains(&vec![
        "function".into(),
        "decision".into(),
        "reason".into()
    ]));
}
