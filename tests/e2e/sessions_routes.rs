//! The `sessions` function's routes against real PostgreSQL.

use chrono::{Duration, Utc};
use serde_json::{Value, json};
use sessions::handler::handle;
use test_support::http::{Api, ApiRequest, app, send};
use test_support::{NewUser, TestDb, Variant};

async fn user_with_sessions(
    db: &TestDb,
    email: &str,
    n: usize,
) -> (String, Vec<test_support::NewSession>) {
    let id = db.create_user(&NewUser::new(email)).await;
    let mut sessions = Vec::new();
    for _ in 0..n {
        sessions.push(db.create_session(&id, Utc::now() + Duration::days(1)).await);
    }
    (id, sessions)
}

#[tokio::test]
async fn list_marks_the_current_session_and_hides_tokens() {
    for variant in [
        Variant::Default,
        Variant::RenamedSnakeUuid,
        Variant::RevokedColumn,
    ] {
        let db = TestDb::new(variant).await;
        let (user, sessions) = user_with_sessions(&db, "a@example.com", 3).await;
        db.create_session(&user, Utc::now() - Duration::hours(1))
            .await; // expired: not listed
        let app = app(&db.url, &[]);
        for api in Api::ALL {
            let request = ApiRequest::new(api, "GET", &format!("/users/{user}/sessions")).as_user(
                &user,
                &sessions[1].id,
                "user",
            );
            let reply = send(handle, &app, &request).await;
            assert_eq!(reply.status, 200, "{variant:?}: {}", reply.body);
            let listed = reply.body["sessions"].as_array().expect("sessions");
            assert_eq!(listed.len(), 3, "{variant:?}");
            let current: Vec<&Value> = listed
                .iter()
                .filter(|s| s["current"] == json!(true))
                .collect();
            assert_eq!(current.len(), 1);
            assert_eq!(current[0]["id"], json!(sessions[1].id));
            let keys: Vec<&str> = listed[0]
                .as_object()
                .expect("object")
                .keys()
                .map(String::as_str)
                .collect();
            assert_eq!(
                keys,
                [
                    "createdAt",
                    "current",
                    "expiresAt",
                    "id",
                    "impersonatedBy",
                    "ipAddress",
                    "updatedAt",
                    "userAgent",
                    "userId"
                ]
            );
            for s in &sessions {
                assert!(
                    !reply.body.to_string().contains(&s.token),
                    "no token in the listing"
                );
            }
        }
    }
}

#[tokio::test]
async fn only_admins_or_the_user_themselves() {
    let db = TestDb::new(Variant::Default).await;
    let (alice, a_sessions) = user_with_sessions(&db, "alice@example.com", 1).await;
    let (bob, b_sessions) = user_with_sessions(&db, "bob@example.com", 1).await;
    let app = app(&db.url, &[]);
    let as_alice = |method: &str, path: &str| {
        ApiRequest::new(Api::Rest, method, path).as_user(&alice, &a_sessions[0].id, "user")
    };
    for (method, path) in [
        ("GET", format!("/users/{bob}/sessions")),
        ("DELETE", format!("/users/{bob}/sessions")),
        (
            "DELETE",
            format!("/users/{bob}/sessions/{}", b_sessions[0].id),
        ),
    ] {
        let reply = send(handle, &app, &as_alice(method, &path)).await;
        assert_eq!(
            (reply.status, reply.body["code"].clone()),
            (403, json!("FORBIDDEN")),
            "{method} {path}"
        );
    }
    assert_eq!(db.count("session").await, 2, "nothing was revoked");
    let admin = ApiRequest::new(Api::Http, "GET", &format!("/users/{bob}/sessions")).as_user(
        "root",
        "s",
        "admin,user",
    );
    let reply = send(handle, &app, &admin).await;
    assert_eq!(reply.status, 200);
    assert_eq!(reply.body["sessions"][0]["current"], false);
    let anonymous = send(
        handle,
        &app,
        &ApiRequest::new(Api::Http, "GET", &format!("/users/{bob}/sessions")),
    )
    .await;
    assert_eq!(anonymous.status, 401);
}

#[tokio::test]
async fn revoke_all_optionally_keeping_the_current_one() {
    let db = TestDb::new(Variant::Default).await;
    let (user, sessions) = user_with_sessions(&db, "a@example.com", 3).await;
    let (other, _) = user_with_sessions(&db, "b@example.com", 2).await;
    let app = app(&db.url, &[]);
    let path = format!("/users/{user}/sessions");
    let keep = ApiRequest::new(Api::Rest, "DELETE", &path)
        .query("keepCurrent", "true")
        .as_user(&user, &sessions[0].id, "user");
    let reply = send(handle, &app, &keep).await;
    assert_eq!(
        (reply.status, reply.body.clone()),
        (200, json!({"success": true, "revoked": 2}))
    );
    assert_eq!(
        db.count("session").await,
        3,
        "the current session and the other user's two remain"
    );
    let bad = ApiRequest::new(Api::Rest, "DELETE", &path)
        .query("keepCurrent", "yes please")
        .as_user(&user, &sessions[0].id, "user");
    assert_eq!(send(handle, &app, &bad).await.status, 400);
    let all = ApiRequest::new(Api::Http, "DELETE", &path).as_user(&user, &sessions[0].id, "user");
    let reply = send(handle, &app, &all).await;
    assert_eq!(reply.body, json!({"success": true, "revoked": 1}));
    assert_eq!(db.count("session").await, 2);
    let _ = other;
}

#[tokio::test]
async fn revoke_one_by_id_and_404_for_someone_elses() {
    let db = TestDb::new(Variant::Default).await;
    let (user, sessions) = user_with_sessions(&db, "a@example.com", 2).await;
    let (_, theirs) = user_with_sessions(&db, "b@example.com", 1).await;
    let app = app(&db.url, &[]);
    let as_user = |path: String| {
        ApiRequest::new(Api::Rest, "DELETE", &path).as_user(&user, &sessions[0].id, "user")
    };
    let reply = send(
        handle,
        &app,
        &as_user(format!("/users/{user}/sessions/{}", theirs[0].id)),
    )
    .await;
    assert_eq!(
        (reply.status, reply.body["code"].clone()),
        (404, json!("SESSION_NOT_FOUND"))
    );
    let reply = send(
        handle,
        &app,
        &as_user(format!("/users/{user}/sessions/{}", sessions[1].id)),
    )
    .await;
    assert_eq!(
        (reply.status, reply.body.clone()),
        (200, json!({"success": true}))
    );
    let reply = send(
        handle,
        &app,
        &as_user(format!("/users/{user}/sessions/{}", sessions[1].id)),
    )
    .await;
    assert_eq!(reply.status, 404, "already gone");
    assert_eq!(db.count("session").await, 2);
    let reply = send(
        handle,
        &app,
        &as_user(format!("/users/{user}/sessions/bad'id")),
    )
    .await;
    assert_eq!(reply.status, 400);
    let wrong = ApiRequest::new(
        Api::Rest,
        "GET",
        &format!("/users/{user}/sessions/{}", sessions[0].id),
    )
    .as_user(&user, "s", "user");
    assert_eq!(send(handle, &app, &wrong).await.status, 405);
}

#[tokio::test]
async fn the_revoked_column_variant_flags_rows() {
    let db = TestDb::new(Variant::RevokedColumn).await;
    let (user, sessions) = user_with_sessions(&db, "a@example.com", 2).await;
    let app = app(&db.url, &[]);
    let request = ApiRequest::new(
        Api::Rest,
        "DELETE",
        &format!("/users/{user}/sessions/{}", sessions[1].id),
    )
    .as_user(&user, &sessions[0].id, "user");
    assert_eq!(send(handle, &app, &request).await.status, 200);
    assert_eq!(db.count("user_sessions").await, 2, "rows are kept");
    let revoked: bool = db
        .client
        .query_one(
            "SELECT revoked FROM user_sessions WHERE id = $1",
            &[&sessions[1].id],
        )
        .await
        .expect("row")
        .get(0);
    assert!(revoked);
    let list = ApiRequest::new(Api::Rest, "GET", &format!("/users/{user}/sessions")).as_user(
        &user,
        &sessions[0].id,
        "user",
    );
    let reply = send(handle, &app, &list).await;
    assert_eq!(
        reply.body["sessions"].as_array().map(Vec::len),
        Some(1),
        "revoked sessions are not listed"
    );
    assert_eq!(
        send(handle, &app, &request).await.status,
        404,
        "already revoked"
    );
}

/// Security review finding (issue 13; this test failed before its fix): `keepCurrent=true` from a
/// caller without a session id (a JWT) is refused (400 `NO_CURRENT_SESSION`) and revokes
/// nothing.
#[tokio::test]
async fn keep_current_without_a_current_session_is_refused() {
    let db = TestDb::new(Variant::Default).await;
    let (user, _) = db.user_with_session().await;
    db.create_session(&user, Utc::now() + Duration::hours(1))
        .await;
    let app = app(&db.url, &[]);
    // A JWT caller: the authorizer's context has no session id.
    let request = ApiRequest::new(Api::Http, "DELETE", &format!("/users/{user}/sessions"))
        .query("keepCurrent", "true")
        .as_user(&user, "", "user");
    let reply = send(sessions::handler::handle, &app, &request).await;
    assert_eq!(
        (reply.status, reply.body["code"].as_str()),
        (400, Some("NO_CURRENT_SESSION"))
    );
    assert_eq!(db.sessions_of(&user).await, 2, "nothing was revoked");
}
