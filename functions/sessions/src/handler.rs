//! Routes (admin, or the user themselves):
//!
//! | route | answer |
//! |---|---|
//! | `GET /users/{id}/sessions` | `{sessions: [{id, createdAt, updatedAt, expiresAt, ipAddress, userAgent, impersonatedBy, current}]}` |
//! | `DELETE /users/{id}/sessions` | `{success, revoked}`; `?keepCurrent=true` keeps the caller's own session |
//! | `DELETE /users/{id}/sessions/{sessionId}` | `{success}`; 404 when it is not that user's active session |
//!
//! Revoking deletes the rows (Better Auth's semantics), or sets `revoked` where the table has it.

use lambda_http::http::Method;
use lambda_http::{Body, Request, Response};
use serde_json::{Value, json};
use shared::http::{ApiError, App, Caller, caller, ok, path_id, query_param, segments, serve};

/// Handles one request.
pub async fn handle(app: &App, request: Request) -> Response<Body> {
    serve(app, request, |request| route(app, request)).await
}

async fn route(app: &App, request: Request) -> Result<Response<Body>, ApiError> {
    let path = segments(&request);
    let path: Vec<&str> = path.iter().map(String::as_str).collect();
    let method = request.method().clone();
    match path.as_slice() {
        ["users", _, "sessions"] if !matches!(method, Method::GET | Method::DELETE) => {
            return Err(ApiError::MethodNotAllowed);
        }
        ["users", _, "sessions", _] if method != Method::DELETE => {
            return Err(ApiError::MethodNotAllowed);
        }
        ["users", _, "sessions"] | ["users", _, "sessions", _] => {}
        _ => {
            return Err(ApiError::NotFound {
                code: "NOT_FOUND",
                message: "No such route",
            });
        }
    }
    let caller = caller(&request, app).await?;
    match (path.as_slice(), method) {
        (["users", id, "sessions"], Method::GET) => list(app, &caller, path_id(id)?).await,
        (["users", id, "sessions"], _) => {
            let keep_current = match query_param(&request, "keepCurrent").as_deref() {
                None | Some("false") => false,
                Some("true") => true,
                Some(_) => return Err(ApiError::invalid("keepCurrent must be true or false")),
            };
            revoke_all(app, &caller, path_id(id)?, keep_current).await
        }
        (["users", id, "sessions", session_id], _) => {
            revoke_one(app, &caller, path_id(id)?, path_id(session_id)?).await
        }
        _ => Err(ApiError::MethodNotAllowed),
    }
}

fn allowed(caller: &Caller, user_id: &str) -> Result<(), ApiError> {
    if caller.may_act_on(user_id) {
        Ok(())
    } else {
        Err(ApiError::forbidden())
    }
}

async fn list(app: &App, caller: &Caller, user_id: &str) -> Result<Response<Body>, ApiError> {
    allowed(caller, user_id)?;
    let directory = app.auth.database().directory().await?;
    let sessions: Vec<Value> = directory
        .sessions_of(user_id)
        .await?
        .into_iter()
        .map(|session| {
            let current = caller.session_id.as_deref() == Some(session.id.as_str());
            let mut value = serde_json::to_value(&session).unwrap_or(Value::Null);
            value["current"] = json!(current);
            value
        })
        .collect();
    ok(&json!({"sessions": sessions}))
}

async fn revoke_all(
    app: &App,
    caller: &Caller,
    user_id: &str,
    keep_current: bool,
) -> Result<Response<Body>, ApiError> {
    allowed(caller, user_id)?;
    let keep = if keep_current {
        caller.session_id.as_deref()
    } else {
        None
    };
    let directory = app.auth.database().directory().await?;
    let revoked = directory.revoke_sessions(user_id, keep).await?;
    tracing::info!(by = %caller.user_id, user = %user_id, revoked, "sessions revoked");
    ok(&json!({"success": true, "revoked": revoked}))
}

async fn revoke_one(
    app: &App,
    caller: &Caller,
    user_id: &str,
    session_id: &str,
) -> Result<Response<Body>, ApiError> {
    allowed(caller, user_id)?;
    let directory = app.auth.database().directory().await?;
    if !directory.revoke_session(user_id, session_id).await? {
        return Err(ApiError::NotFound {
            code: "SESSION_NOT_FOUND",
            message: "Session not found",
        });
    }
    tracing::info!(by = %caller.user_id, user = %user_id, "session revoked");
    ok(&json!({"success": true}))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{Duration, Utc};
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
                let request = ApiRequest::new(api, "GET", &format!("/users/{user}/sessions"))
                    .as_user(&user, &sessions[1].id, "user");
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
        let all =
            ApiRequest::new(Api::Http, "DELETE", &path).as_user(&user, &sessions[0].id, "user");
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
}
