//! Routes:
//!
//! | route | who | answer |
//! |---|---|---|
//! | `GET /users` | admin | `{users, total, limit, offset}`: search, filter, sort, page |
//! | `GET /users/{id}` | admin or self | the user |
//! | `PATCH /users/{id}` | self: `name`, `image`; admin also `email`, `emailVerified` | `{user}` |
//! | `PUT /users/{id}/role` | admin | `{user}`; `{role: string \| string[]}` from `ASSIGNABLE_ROLES` |
//! | `POST /users/{id}/ban` | admin | `{user}`; sets the ban and revokes all sessions, atomically |
//! | `DELETE /users/{id}/ban` | admin | `{user}`; clears the ban |

use chrono::{DateTime, Duration, Utc};
use lambda_http::http::Method;
use lambda_http::{Body, Request, Response};
use serde::Deserialize;
use serde_json::json;
use shared::directory::{
    Condition, FilterValue, Operator, USER_FIELDS_LISTABLE, UserChanges, UserQuery,
};
use shared::http::{
    ApiError, App, Caller, caller, json_body, ok, path_id, query_param, segments, serve,
};
use shared::schema::{Kind, Model};

/// Handles one request.
pub async fn handle(app: &App, request: Request) -> Response<Body> {
    serve(app, request, |request| route(app, request)).await
}

async fn route(app: &App, request: Request) -> Result<Response<Body>, ApiError> {
    let path = segments(&request);
    let path: Vec<&str> = path.iter().map(String::as_str).collect();
    let method = request.method().clone();
    let known = matches!(
        path.as_slice(),
        ["users"] | ["users", _] | ["users", _, "role" | "ban"]
    );
    if !known {
        return Err(ApiError::NotFound {
            code: "NOT_FOUND",
            message: "No such route",
        });
    }
    let allowed = matches!(
        (path.as_slice(), &method),
        (["users"], &Method::GET)
            | (["users", _], &Method::GET | &Method::PATCH)
            | (["users", _, "role"], &Method::PUT)
            | (["users", _, "ban"], &Method::POST | &Method::DELETE)
    );
    if !allowed {
        return Err(ApiError::MethodNotAllowed);
    }
    let caller = caller(&request, app).await?;
    match (path.as_slice(), method) {
        (["users"], _) => list(app, &request, &caller).await,
        (["users", id], Method::GET) => get(app, &caller, path_id(id)?).await,
        (["users", id], _) => patch(app, &request, &caller, path_id(id)?).await,
        (["users", id, "role"], _) => set_role(app, &request, &caller, path_id(id)?).await,
        (["users", id, "ban"], Method::POST) => ban(app, &request, &caller, path_id(id)?).await,
        (["users", id, "ban"], _) => unban(app, &caller, path_id(id)?).await,
        _ => Err(ApiError::MethodNotAllowed),
    }
}

fn field_kind(name: &str) -> Option<Kind> {
    Model::User
        .fields()
        .iter()
        .find(|f| f.name == name)
        .map(|f| f.kind)
}

fn listable(param: &'static str, value: Option<String>) -> Result<Option<String>, ApiError> {
    match value {
        Some(v) if USER_FIELDS_LISTABLE.contains(&v.as_str()) => Ok(Some(v)),
        Some(_) => Err(ApiError::invalid(format!(
            "{param} must be one of {}",
            USER_FIELDS_LISTABLE.join(", ")
        ))),
        None => Ok(None),
    }
}

fn integer(request: &Request, name: &'static str, default: i64, max: i64) -> Result<i64, ApiError> {
    match query_param(request, name) {
        None => Ok(default),
        Some(v) => v
            .parse::<i64>()
            .ok()
            .filter(|n| (0..=max).contains(n))
            .ok_or_else(|| {
                ApiError::invalid(format!("{name} must be a whole number from 0 to {max}"))
            }),
    }
}

const MAX_QUERY_VALUE: usize = 256;

/// Parses `GET /users`' query string into a validated [`UserQuery`].
pub fn user_query(request: &Request, max_limit: i64) -> Result<UserQuery, ApiError> {
    let limit = integer(request, "limit", 100.min(max_limit), max_limit)?;
    let offset = integer(request, "offset", 0, i64::from(i32::MAX))?;
    let search = match query_param(request, "searchValue") {
        None => None,
        Some(value) => {
            if value.chars().count() > MAX_QUERY_VALUE {
                return Err(ApiError::invalid("searchValue is too long"));
            }
            let field = query_param(request, "searchField").unwrap_or_else(|| "email".into());
            if !matches!(field.as_str(), "email" | "name") {
                return Err(ApiError::invalid("searchField must be email or name"));
            }
            let operator = match query_param(request, "searchOperator").as_deref() {
                None | Some("contains") => Operator::Contains,
                Some("starts_with") => Operator::StartsWith,
                Some("ends_with") => Operator::EndsWith,
                Some(_) => {
                    return Err(ApiError::invalid(
                        "searchOperator must be contains, starts_with or ends_with",
                    ));
                }
            };
            Some(Condition {
                field,
                operator,
                value: FilterValue::Text(value),
            })
        }
    };
    let filter = match listable("filterField", query_param(request, "filterField"))? {
        None => None,
        Some(field) => {
            let raw = query_param(request, "filterValue")
                .ok_or_else(|| ApiError::invalid("filterValue is required with filterField"))?;
            if raw.chars().count() > MAX_QUERY_VALUE {
                return Err(ApiError::invalid("filterValue is too long"));
            }
            let operator_name =
                query_param(request, "filterOperator").unwrap_or_else(|| "eq".into());
            let operator = Operator::parse(&operator_name).ok_or_else(|| {
                ApiError::invalid("filterOperator must be eq, ne, lt, lte, gt, gte, contains, starts_with or ends_with")
            })?;
            let value = match field_kind(&field) {
                Some(Kind::Bool) => match raw.as_str() {
                    "true" => FilterValue::Bool(true),
                    "false" => FilterValue::Bool(false),
                    _ => {
                        return Err(ApiError::invalid(format!(
                            "filterValue for {field} must be true or false"
                        )));
                    }
                },
                Some(Kind::Timestamp) => {
                    FilterValue::Time(raw.parse::<DateTime<Utc>>().map_err(|_| {
                        ApiError::invalid(format!(
                            "filterValue for {field} must be an ISO 8601 date-time"
                        ))
                    })?)
                }
                _ => FilterValue::Text(raw),
            };
            let pattern_ok = matches!(value, FilterValue::Text(_));
            let order_ok = !matches!(value, FilterValue::Bool(_));
            let fits = match operator {
                Operator::Contains | Operator::StartsWith | Operator::EndsWith => pattern_ok,
                Operator::Lt | Operator::Lte | Operator::Gt | Operator::Gte => order_ok,
                Operator::Eq | Operator::Ne => true,
            };
            if !fits {
                return Err(ApiError::invalid(format!(
                    "filterOperator {operator_name} does not apply to {field}"
                )));
            }
            Some(Condition {
                field,
                operator,
                value,
            })
        }
    };
    let sort = match listable("sortBy", query_param(request, "sortBy"))? {
        None => None,
        Some(field) => {
            let descending = match query_param(request, "sortDirection").as_deref() {
                None | Some("asc") => false,
                Some("desc") => true,
                Some(_) => return Err(ApiError::invalid("sortDirection must be asc or desc")),
            };
            Some((field, descending))
        }
    };
    Ok(UserQuery {
        limit,
        offset,
        search,
        filter,
        sort,
    })
}

async fn list(app: &App, request: &Request, caller: &Caller) -> Result<Response<Body>, ApiError> {
    caller.require_admin()?;
    let query = user_query(request, app.settings.max_list_limit)?;
    let directory = app.auth.database().directory().await?;
    ok(&directory.list_users(&query).await?)
}

async fn get(app: &App, caller: &Caller, id: &str) -> Result<Response<Body>, ApiError> {
    if !caller.may_act_on(id) {
        return Err(ApiError::forbidden());
    }
    let directory = app.auth.database().directory().await?;
    ok(&directory
        .user(id)
        .await?
        .ok_or_else(ApiError::user_not_found)?)
}

/// `PATCH /users/{id}`' body.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct UserPatch {
    name: Option<String>,
    #[serde(default, deserialize_with = "present")]
    image: Option<Option<String>>,
    email: Option<String>,
    email_verified: Option<bool>,
}

/// Distinguishes `"image": null` (clear it) from no `image` at all.
fn present<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Option<String>>, D::Error> {
    Option::<String>::deserialize(d).map(Some)
}

/// Lower-cases and checks an email address.
pub fn normalise_email(email: &str) -> Result<String, ApiError> {
    let email = email.trim().to_lowercase();
    let valid = email.len() <= 254
        && !email.chars().any(|c| {
            c.is_whitespace() || c.is_control() || matches!(c, '<' | '>' | '"' | ',' | ';')
        })
        && email.split_once('@').is_some_and(|(local, domain)| {
            !local.is_empty()
                && local.len() <= 64
                && !domain.contains('@')
                && domain.contains('.')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
                && !domain.contains("..")
        });
    if valid {
        Ok(email)
    } else {
        Err(ApiError::BadRequest {
            code: "INVALID_EMAIL",
            message: "Invalid email".into(),
        })
    }
}

async fn patch(
    app: &App,
    request: &Request,
    caller: &Caller,
    id: &str,
) -> Result<Response<Body>, ApiError> {
    if !caller.may_act_on(id) {
        return Err(ApiError::forbidden());
    }
    let body: UserPatch = json_body(request, &app.settings)?;
    if (body.email.is_some() || body.email_verified.is_some()) && !caller.is_admin {
        return Err(ApiError::Forbidden {
            code: "FORBIDDEN",
            message: "Only an admin may change email or emailVerified",
        });
    }
    let name = match body.name {
        Some(name) => {
            let name = name.trim().to_owned();
            if name.is_empty() || name.chars().count() > 255 {
                return Err(ApiError::invalid("name must be 1 to 255 characters"));
            }
            Some(name)
        }
        None => None,
    };
    if let Some(Some(image)) = &body.image
        && (image.len() > 2048 || !(image.starts_with("https://") || image.starts_with("http://")))
    {
        return Err(ApiError::invalid(
            "image must be an http(s) URL of at most 2048 characters, or null",
        ));
    }
    let changes = UserChanges {
        name,
        image: body.image,
        email: body.email.as_deref().map(normalise_email).transpose()?,
        email_verified: body.email_verified,
    };
    if changes.is_empty() {
        return Err(ApiError::invalid(
            "nothing to change: send name, image, email or emailVerified",
        ));
    }
    let directory = app.auth.database().directory().await?;
    let user = directory
        .update_user(id, &changes)
        .await?
        .ok_or_else(ApiError::user_not_found)?;
    ok(&json!({"user": user}))
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum Roles {
    One(String),
    Many(Vec<String>),
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RoleBody {
    role: Roles,
}

async fn set_role(
    app: &App,
    request: &Request,
    caller: &Caller,
    id: &str,
) -> Result<Response<Body>, ApiError> {
    caller.require_admin()?;
    let body: RoleBody = json_body(request, &app.settings)?;
    let roles: Vec<String> = match body.role {
        Roles::One(r) => r.split(',').map(|s| s.trim().to_owned()).collect(),
        Roles::Many(list) => list.into_iter().map(|s| s.trim().to_owned()).collect(),
    };
    let mut unique: Vec<String> = Vec::new();
    for role in roles {
        if !app.settings.assignable_roles.contains(&role) {
            return Err(ApiError::BadRequest {
                code: "INVALID_ROLE",
                message: format!(
                    "role must be among: {}",
                    app.settings.assignable_roles.join(", ")
                ),
            });
        }
        if !unique.contains(&role) {
            unique.push(role);
        }
    }
    if unique.is_empty() {
        return Err(ApiError::invalid("role must name at least one role"));
    }
    let directory = app.auth.database().directory().await?;
    let user = directory
        .set_role(id, &unique.join(","))
        .await?
        .ok_or_else(ApiError::user_not_found)?;
    ok(&json!({"user": user}))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct BanBody {
    ban_reason: Option<String>,
    ban_expires_in: Option<i64>,
}

/// The longest timed ban: 100 years (longer is a permanent ban: omit banExpiresIn).
const MAX_BAN_SECONDS: i64 = 100 * 365 * 24 * 3600;

async fn ban(
    app: &App,
    request: &Request,
    caller: &Caller,
    id: &str,
) -> Result<Response<Body>, ApiError> {
    caller.require_admin()?;
    let body: BanBody = if request.body().is_empty() {
        BanBody {
            ban_reason: None,
            ban_expires_in: None,
        }
    } else {
        json_body(request, &app.settings)?
    };
    if id == caller.user_id {
        return Err(ApiError::BadRequest {
            code: "YOU_CANNOT_BAN_YOURSELF",
            message: "You cannot ban yourself".into(),
        });
    }
    let reason = match body.ban_reason.map(|r| r.trim().to_owned()) {
        Some(r) if r.chars().count() > 1000 => {
            return Err(ApiError::invalid(
                "banReason must be at most 1000 characters",
            ));
        }
        Some(r) if !r.is_empty() => r,
        _ => "No reason".to_owned(),
    };
    let until = match body.ban_expires_in {
        None => None,
        Some(s) if (1..=MAX_BAN_SECONDS).contains(&s) => Some(Utc::now() + Duration::seconds(s)),
        Some(_) => {
            return Err(ApiError::invalid(format!(
                "banExpiresIn must be 1 to {MAX_BAN_SECONDS} seconds"
            )));
        }
    };
    let directory = app.auth.database().directory().await?;
    let user = directory
        .ban(id, &reason, until)
        .await?
        .ok_or_else(ApiError::user_not_found)?;
    tracing::info!(admin = %caller.user_id, user = %user.id, "user banned");
    ok(&json!({"user": user}))
}

async fn unban(app: &App, caller: &Caller, id: &str) -> Result<Response<Body>, ApiError> {
    caller.require_admin()?;
    let directory = app.auth.database().directory().await?;
    let user = directory
        .unban(id)
        .await?
        .ok_or_else(ApiError::user_not_found)?;
    tracing::info!(admin = %caller.user_id, user = %user.id, "user unbanned");
    ok(&json!({"user": user}))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Utc;
    use serde_json::Value;
    use test_support::http::{Api, ApiRequest, Reply, app, send};
    use test_support::{NewSession, NewUser, TestDb, Variant};

    struct World {
        db: TestDb,
        app: App,
        admin: (String, NewSession),
        alice: (String, NewSession),
        bob: (String, NewSession),
    }

    async fn world(variant: Variant) -> World {
        let db = TestDb::new(variant).await;
        let mut admin = NewUser::new("root@example.com");
        admin.name = "Root".into();
        admin.role = Some("admin".into());
        let mut alice = NewUser::new("alice@example.com");
        alice.name = "Alice".into();
        let mut bob = NewUser::new("bob@test.org");
        bob.name = "Bob".into();
        bob.email_verified = false;
        let mut ids = Vec::new();
        for user in [admin, alice, bob] {
            let id = db.create_user(&user).await;
            let session = db
                .create_session(&id, Utc::now() + chrono::Duration::days(1))
                .await;
            ids.push((id, session));
        }
        let app = app(&db.url, &[]);
        let mut ids = ids.into_iter();
        let (admin, alice, bob) = (
            ids.next().expect("a"),
            ids.next().expect("b"),
            ids.next().expect("c"),
        );
        World {
            db,
            app,
            admin,
            alice,
            bob,
        }
    }

    impl World {
        fn admin_request(&self, api: Api, method: &str, path: &str) -> ApiRequest {
            ApiRequest::new(api, method, path).as_user(&self.admin.0, &self.admin.1.id, "admin")
        }
        fn alice_request(&self, api: Api, method: &str, path: &str) -> ApiRequest {
            ApiRequest::new(api, method, path).as_user(&self.alice.0, &self.alice.1.id, "user")
        }
        async fn send(&self, request: ApiRequest) -> Reply {
            send(handle, &self.app, &request).await
        }
        async fn snapshot(&self) -> Value {
            let v = self.db.variant;
            let row = self
                .db
                .client
                .query_one(
                    &format!(
                        "SELECT (SELECT json_agg(u ORDER BY u.{}) FROM \"{}\" u)::text, (SELECT count(*) FROM \"{}\")",
                        v.col("email"),
                        v.user_table(),
                        v.session_table()
                    ),
                    &[],
                )
                .await
                .expect("snapshot");
            json!({"users": row.get::<_, String>(0), "sessions": row.get::<_, i64>(1)})
        }
    }

    type Params = Vec<(&'static str, &'static str)>;

    fn emails(reply: &Reply) -> Vec<String> {
        reply.body["users"]
            .as_array()
            .expect("users")
            .iter()
            .map(|u| u["email"].as_str().expect("email").to_owned())
            .collect()
    }

    #[tokio::test]
    async fn admins_list_search_filter_sort_and_page() {
        let w = world(Variant::Default).await;
        for api in Api::ALL {
            let all = w.send(w.admin_request(api, "GET", "/users")).await;
            assert_eq!(all.status, 200, "{}", all.body);
            assert_eq!(
                (
                    all.body["total"].clone(),
                    all.body["limit"].clone(),
                    all.body["offset"].clone()
                ),
                (json!(3), json!(100), json!(0))
            );
            let cases: Vec<(Params, Vec<&str>)> = vec![
                (
                    vec![("searchValue", "EXAMPLE.com")],
                    vec!["alice@example.com", "root@example.com"],
                ),
                (
                    vec![("searchValue", "ali"), ("searchOperator", "starts_with")],
                    vec!["alice@example.com"],
                ),
                (
                    vec![
                        ("searchValue", "Ob"),
                        ("searchField", "name"),
                        ("searchOperator", "ends_with"),
                    ],
                    vec!["bob@test.org"],
                ),
                (vec![("searchValue", "%")], vec![]),
                (vec![("searchValue", "' OR 1=1 --")], vec![]),
                (
                    vec![("filterField", "role"), ("filterValue", "admin")],
                    vec!["root@example.com"],
                ),
                (
                    vec![
                        ("filterField", "role"),
                        ("filterValue", "admin"),
                        ("filterOperator", "ne"),
                    ],
                    vec!["alice@example.com", "bob@test.org"],
                ),
                (
                    vec![("filterField", "emailVerified"), ("filterValue", "false")],
                    vec!["bob@test.org"],
                ),
                (
                    vec![
                        ("filterField", "createdAt"),
                        ("filterValue", "2000-01-01T00:00:00Z"),
                        ("filterOperator", "gt"),
                    ],
                    vec!["alice@example.com", "bob@test.org", "root@example.com"],
                ),
                (
                    vec![("sortBy", "email"), ("sortDirection", "desc")],
                    vec!["root@example.com", "bob@test.org", "alice@example.com"],
                ),
                (
                    vec![("sortBy", "name"), ("limit", "2")],
                    vec!["alice@example.com", "bob@test.org"],
                ),
                (
                    vec![("sortBy", "name"), ("limit", "2"), ("offset", "2")],
                    vec!["root@example.com"],
                ),
            ];
            for (params, expected) in cases {
                let mut request = w.admin_request(api, "GET", "/users");
                for (k, v) in &params {
                    request = request.query(k, v);
                }
                let reply = w.send(request).await;
                assert_eq!(reply.status, 200, "{params:?}: {}", reply.body);
                let mut got = emails(&reply);
                if !params.iter().any(|(k, _)| *k == "sortBy") {
                    got.sort();
                }
                assert_eq!(got, expected, "{params:?}");
            }
            let beyond = w
                .send(w.admin_request(api, "GET", "/users").query("offset", "10"))
                .await;
            assert_eq!(
                (beyond.body["users"].clone(), beyond.body["total"].clone()),
                (json!([]), json!(3))
            );
        }
    }

    #[tokio::test]
    async fn bad_list_queries_are_400_and_non_admins_403() {
        let w = world(Variant::Default).await;
        for (k, v) in [
            ("limit", "-1"),
            ("limit", "ten"),
            ("limit", "100000"),
            ("offset", "-5"),
            ("sortBy", "password"),
            ("sortDirection", "sideways"),
            ("searchField", "role"),
            ("searchOperator", "like"),
            ("filterField", "password"),
            ("filterOperator", "like"),
        ] {
            let mut request = w.admin_request(Api::Rest, "GET", "/users").query(k, v);
            if k == "sortDirection" {
                request = request.query("sortBy", "email");
            }
            if k.starts_with("search") {
                request = request.query("searchValue", "x");
            }
            if k == "filterOperator" {
                request = request
                    .query("filterField", "email")
                    .query("filterValue", "x");
            }
            let reply = w.send(request).await;
            assert_eq!(
                (reply.status, reply.body["code"].clone()),
                (400, json!("INVALID_REQUEST")),
                "{k}={v}: {}",
                reply.body
            );
        }
        for params in [
            vec![("filterField", "email")],
            vec![("filterField", "banned"), ("filterValue", "maybe")],
            vec![
                ("filterField", "banned"),
                ("filterValue", "true"),
                ("filterOperator", "contains"),
            ],
            vec![("filterField", "createdAt"), ("filterValue", "yesterday")],
            vec![
                ("filterField", "banned"),
                ("filterValue", "true"),
                ("filterOperator", "gt"),
            ],
        ] {
            let mut request = w.admin_request(Api::Http, "GET", "/users");
            for (k, v) in &params {
                request = request.query(k, v);
            }
            assert_eq!(w.send(request).await.status, 400, "{params:?}");
        }
        let reply = w.send(w.alice_request(Api::Rest, "GET", "/users")).await;
        assert_eq!(
            (reply.status, reply.body["code"].clone()),
            (403, json!("FORBIDDEN"))
        );
        let reply = w.send(ApiRequest::new(Api::Rest, "GET", "/users")).await;
        assert_eq!(reply.status, 401);
    }

    #[tokio::test]
    async fn reading_a_user_is_for_admins_or_self() {
        let w = world(Variant::Default).await;
        let own = w
            .send(w.alice_request(Api::Rest, "GET", &format!("/users/{}", w.alice.0)))
            .await;
        assert_eq!(
            (own.status, own.body["email"].clone()),
            (200, json!("alice@example.com"))
        );
        let other = w
            .send(w.alice_request(Api::Rest, "GET", &format!("/users/{}", w.bob.0)))
            .await;
        assert_eq!(other.status, 403);
        let admin = w
            .send(w.admin_request(Api::Http, "GET", &format!("/users/{}", w.bob.0)))
            .await;
        assert_eq!(
            (admin.status, admin.body["email"].clone()),
            (200, json!("bob@test.org"))
        );
        let missing = w
            .send(w.admin_request(Api::Http, "GET", "/users/nobody"))
            .await;
        assert_eq!(
            (missing.status, missing.body["code"].clone()),
            (404, json!("USER_NOT_FOUND"))
        );
        for bad in [
            "/users/a'b",
            "/users/%27%3B%20drop",
            &format!("/users/{}", "x".repeat(300)),
        ] {
            let reply = w.send(w.admin_request(Api::Rest, "GET", bad)).await;
            assert_eq!(
                (reply.status, reply.body["code"].clone()),
                (400, json!("INVALID_ID")),
                "{bad}"
            );
        }
        let wrong = w.send(w.admin_request(Api::Rest, "POST", "/users")).await;
        assert_eq!(wrong.status, 405);
    }

    #[tokio::test]
    async fn patching_validates_and_changes_nothing_on_error() {
        let w = world(Variant::Default).await;
        let path = format!("/users/{}", w.alice.0);
        let before = w.snapshot().await;
        let bad: Vec<(ApiRequest, u16, &str)> = vec![
            (
                w.alice_request(Api::Rest, "PATCH", &path)
                    .json(&json!({"email": "new@example.com"})),
                403,
                "FORBIDDEN",
            ),
            (
                w.alice_request(Api::Rest, "PATCH", &path)
                    .json(&json!({"role": "admin"})),
                400,
                "INVALID_REQUEST",
            ),
            (
                w.alice_request(Api::Rest, "PATCH", &path)
                    .json(&json!({"name": 42})),
                400,
                "INVALID_REQUEST",
            ),
            (
                w.alice_request(Api::Rest, "PATCH", &path)
                    .json(&json!({"name": ""})),
                400,
                "INVALID_REQUEST",
            ),
            (
                w.alice_request(Api::Rest, "PATCH", &path)
                    .json(&json!({"image": "javascript:alert(1)"})),
                400,
                "INVALID_REQUEST",
            ),
            (
                w.alice_request(Api::Rest, "PATCH", &path).json(&json!({})),
                400,
                "INVALID_REQUEST",
            ),
            (
                w.alice_request(Api::Rest, "PATCH", &path)
                    .body("{not json", "application/json"),
                400,
                "INVALID_REQUEST",
            ),
            (
                w.alice_request(Api::Rest, "PATCH", &path)
                    .body("name=x", "application/x-www-form-urlencoded"),
                415,
                "UNSUPPORTED_MEDIA_TYPE",
            ),
            (
                w.alice_request(Api::Rest, "PATCH", &path)
                    .json(&json!({"name": "x".repeat(20_000)})),
                413,
                "PAYLOAD_TOO_LARGE",
            ),
            (
                w.alice_request(Api::Rest, "PATCH", &format!("/users/{}", w.bob.0))
                    .json(&json!({"name": "Mallory"})),
                403,
                "FORBIDDEN",
            ),
            (
                w.admin_request(Api::Rest, "PATCH", &path)
                    .json(&json!({"email": "not-an-email"})),
                400,
                "INVALID_EMAIL",
            ),
            (
                w.admin_request(Api::Rest, "PATCH", &path)
                    .json(&json!({"email": "BOB@test.org"})),
                409,
                "USER_ALREADY_EXISTS",
            ),
            (
                w.admin_request(Api::Rest, "PATCH", "/users/nobody")
                    .json(&json!({"name": "x"})),
                404,
                "USER_NOT_FOUND",
            ),
        ];
        for (request, status, code) in bad {
            let reply = w.send(request.clone()).await;
            assert_eq!(
                (reply.status, reply.body["code"].clone()),
                (status, json!(code)),
                "{:?}: {}",
                request.body,
                reply.body
            );
            assert!(
                !reply.body["message"]
                    .as_str()
                    .unwrap_or_default()
                    .to_lowercase()
                    .contains("select")
            );
        }
        assert_eq!(w.snapshot().await, before, "nothing was written");

        let reply = w
            .send(
                w.alice_request(Api::Http, "PATCH", &path).json(
                    &json!({"name": "  Alice B. ", "image": "https://img.example.com/a.png"}),
                ),
            )
            .await;
        assert_eq!(reply.status, 200, "{}", reply.body);
        assert_eq!(reply.body["user"]["name"], "Alice B.");
        assert_eq!(reply.body["user"]["image"], "https://img.example.com/a.png");
        assert!(
            reply.body["user"]["updatedAt"].as_str() > reply.body["user"]["createdAt"].as_str()
        );
        let reply = w
            .send(
                w.alice_request(Api::Http, "PATCH", &path)
                    .json(&json!({"image": null})),
            )
            .await;
        assert_eq!(reply.body["user"]["image"], Value::Null);
        let reply = w
            .send(
                w.admin_request(Api::Rest, "PATCH", &path)
                    .json(&json!({"email": " Alice@NEW.example.com ", "emailVerified": false})),
            )
            .await;
        assert_eq!(reply.status, 200, "{}", reply.body);
        assert_eq!(
            (
                reply.body["user"]["email"].clone(),
                reply.body["user"]["emailVerified"].clone()
            ),
            (json!("alice@new.example.com"), json!(false))
        );
    }

    #[tokio::test]
    async fn roles_come_from_the_allow_list() {
        let w = world(Variant::Default).await;
        let path = format!("/users/{}/role", w.alice.0);
        let reply = w
            .send(
                w.admin_request(Api::Rest, "PUT", &path)
                    .json(&json!({"role": ["user", "admin", "user"]})),
            )
            .await;
        assert_eq!(
            (reply.status, reply.body["user"]["role"].clone()),
            (200, json!("user,admin"))
        );
        let reply = w
            .send(
                w.admin_request(Api::Http, "PUT", &path)
                    .json(&json!({"role": "user"})),
            )
            .await;
        assert_eq!(reply.body["user"]["role"], "user");
        let before = w.snapshot().await;
        for (request, status) in [
            (
                w.admin_request(Api::Rest, "PUT", &path)
                    .json(&json!({"role": "superuser"})),
                400,
            ),
            (
                w.admin_request(Api::Rest, "PUT", &path)
                    .json(&json!({"role": []})),
                400,
            ),
            (
                w.admin_request(Api::Rest, "PUT", &path)
                    .json(&json!({"role": 7})),
                400,
            ),
            (
                w.admin_request(Api::Rest, "PUT", &path)
                    .json(&json!({"roles": "user"})),
                400,
            ),
            (
                w.alice_request(Api::Rest, "PUT", &path)
                    .json(&json!({"role": "admin"})),
                403,
            ),
            (
                w.admin_request(Api::Rest, "PUT", "/users/nobody/role")
                    .json(&json!({"role": "user"})),
                404,
            ),
        ] {
            assert_eq!(w.send(request).await.status, status);
        }
        assert_eq!(w.snapshot().await, before);
    }

    #[tokio::test]
    async fn bans_revoke_sessions_atomically_and_unbans_clear() {
        for variant in [
            Variant::Default,
            Variant::RenamedSnakeUuid,
            Variant::DrizzleNaive,
        ] {
            let w = world(variant).await;
            let path = format!("/users/{}/ban", w.bob.0);
            let reply = w.send(w.admin_request(Api::Rest, "POST", &path)).await;
            assert_eq!(reply.status, 200, "{variant:?}: {}", reply.body);
            assert_eq!(reply.body["user"]["banned"], true);
            assert_eq!(reply.body["user"]["banReason"], "No reason");
            assert_eq!(reply.body["user"]["banExpires"], Value::Null);
            let sessions = format!(
                "SELECT count(*) FROM \"{}\" WHERE {} = CAST($1::text AS {})",
                variant.session_table(),
                variant.col("userId"),
                if variant == Variant::RenamedSnakeUuid {
                    "uuid"
                } else {
                    "text"
                }
            );
            let count: i64 =
                w.db.client
                    .query_one(&sessions, &[&w.bob.0])
                    .await
                    .expect("count")
                    .get(0);
            assert_eq!(count, 0, "{variant:?}: the user's sessions are gone");
            let others: i64 =
                w.db.client
                    .query_one(&sessions, &[&w.alice.0])
                    .await
                    .expect("count")
                    .get(0);
            assert_eq!(others, 1, "{variant:?}: nobody else's");

            let reply = w
                .send(
                    w.admin_request(Api::Http, "POST", &path)
                        .json(&json!({"banReason": "spam", "banExpiresIn": 3600})),
                )
                .await;
            assert_eq!(reply.body["user"]["banReason"], "spam");
            let until: DateTime<Utc> = reply.body["user"]["banExpires"]
                .as_str()
                .expect("date")
                .parse()
                .expect("date");
            assert!(
                (until - Utc::now() - chrono::Duration::seconds(3600))
                    .num_seconds()
                    .abs()
                    < 60,
                "{variant:?}"
            );

            let reply = w.send(w.admin_request(Api::Rest, "DELETE", &path)).await;
            assert_eq!(reply.status, 200);
            assert_eq!(
                (
                    reply.body["user"]["banned"].clone(),
                    reply.body["user"]["banReason"].clone(),
                    reply.body["user"]["banExpires"].clone()
                ),
                (json!(false), Value::Null, Value::Null)
            );
        }
    }

    #[tokio::test]
    async fn bad_bans_change_nothing() {
        let w = world(Variant::Default).await;
        let before = w.snapshot().await;
        let own = format!("/users/{}/ban", w.admin.0);
        let reply = w.send(w.admin_request(Api::Rest, "POST", &own)).await;
        assert_eq!(
            (reply.status, reply.body["code"].clone()),
            (400, json!("YOU_CANNOT_BAN_YOURSELF"))
        );
        let path = format!("/users/{}/ban", w.bob.0);
        for (request, status) in [
            (
                w.admin_request(Api::Rest, "POST", &path)
                    .json(&json!({"banExpiresIn": -5})),
                400,
            ),
            (
                w.admin_request(Api::Rest, "POST", &path)
                    .json(&json!({"banExpiresIn": "soon"})),
                400,
            ),
            (
                w.admin_request(Api::Rest, "POST", &path)
                    .json(&json!({"banReason": "x".repeat(1001)})),
                400,
            ),
            (
                w.admin_request(Api::Rest, "POST", &path)
                    .json(&json!({"until": 5})),
                400,
            ),
            (w.alice_request(Api::Rest, "POST", &path), 403),
            (w.alice_request(Api::Rest, "DELETE", &path), 403),
            (w.admin_request(Api::Rest, "POST", "/users/nobody/ban"), 404),
        ] {
            let reply = w.send(request).await;
            assert_eq!(reply.status, status, "{}", reply.body);
        }
        assert_eq!(w.snapshot().await, before);
    }

    #[tokio::test]
    async fn the_revoked_column_variant_flags_instead_of_deleting() {
        let db = TestDb::new(Variant::RevokedColumn).await;
        let admin = db.create_user(&NewUser::new("root@example.com")).await;
        let (victim, _) = db.user_with_session().await;
        let app = app(&db.url, &[("ADMIN_USER_IDS", &admin)]);
        // No admin-plugin columns: a ban cannot be stored.
        let reply = send(
            handle,
            &app,
            &ApiRequest::new(Api::Rest, "POST", &format!("/users/{victim}/ban"))
                .as_user(&admin, "s", "user"),
        )
        .await;
        assert_eq!(
            (reply.status, reply.body["code"].clone()),
            (500, json!("NOT_SUPPORTED"))
        );
        assert_eq!(db.count("user_sessions").await, 1);
        // ADMIN_USER_IDS makes an admin whatever the role.
        let reply = send(
            handle,
            &app,
            &ApiRequest::new(Api::Rest, "GET", "/users").as_user(&admin, "s", "user"),
        )
        .await;
        assert_eq!(reply.status, 200);
    }

    #[test]
    fn emails_are_normalised_and_checked() {
        assert_eq!(
            normalise_email(" A.B@Example.COM ").expect("valid"),
            "a.b@example.com"
        );
        for bad in [
            "",
            "a",
            "a@b",
            "@b.com",
            "a@@b.com",
            "a b@c.com",
            "a@b..com",
            "a@.com",
            "<a@b.com>",
            &format!("{}@b.com", "a".repeat(65)),
        ] {
            assert!(normalise_email(bad).is_err(), "{bad}");
        }
    }
}
