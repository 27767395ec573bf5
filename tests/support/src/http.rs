//! API Gateway proxy events for the functions, built from the repository's fixtures
//! (`events/api-rest.json`, `events/api-http.json`: `aws_lambda_events`' real samples).

use serde_json::{Map, Value, json};

const REST: &str = include_str!("../../../events/api-rest.json");
const HTTP: &str = include_str!("../../../events/api-http.json");

/// Which API Gateway flavour sends the event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Api {
    /// REST API (payload 1.0): context in `requestContext.authorizer`.
    Rest,
    /// HTTP API (payload 2.0): context in `requestContext.authorizer.lambda`.
    Http,
}

impl Api {
    /// Both.
    pub const ALL: [Api; 2] = [Self::Rest, Self::Http];
}

/// A request to turn into an event.
#[derive(Debug, Clone)]
pub struct ApiRequest {
    /// REST or HTTP API.
    pub api: Api,
    /// GET, POST, …
    pub method: String,
    /// `/users/abc`
    pub path: String,
    /// query parameters
    pub query: Vec<(String, String)>,
    /// extra headers
    pub headers: Vec<(String, String)>,
    /// the body
    pub body: Option<String>,
    /// the authorizer context, when an authorizer ran
    pub context: Option<Value>,
}

impl ApiRequest {
    /// A request with no body, headers or context.
    pub fn new(api: Api, method: &str, path: &str) -> Self {
        Self {
            api,
            method: method.to_owned(),
            path: path.to_owned(),
            query: Vec::new(),
            headers: Vec::new(),
            body: None,
            context: None,
        }
    }

    /// With the authorizer context of `user_id` (role, session), as the authorizer writes it for
    /// a session looked up in the database (`verifiedBy: session`).
    pub fn as_user(mut self, user_id: &str, session_id: &str, role: &str) -> Self {
        self.context = Some(json!({
            "principalId": user_id,
            "userId": user_id,
            "sessionId": session_id,
            "role": role,
            "verifiedBy": "session",
            "email": "someone@example.com",
            "emailVerified": "true",
        }));
        self
    }

    /// With one more authorizer-context field (after [`Self::as_user`]).
    pub fn context_field(mut self, key: &str, value: &str) -> Self {
        let context = self.context.get_or_insert_with(|| json!({}));
        context[key] = json!(value);
        self
    }

    /// With a JSON body (and its content type).
    pub fn json(mut self, body: &Value) -> Self {
        self.body = Some(body.to_string());
        self.headers
            .push(("content-type".into(), "application/json".into()));
        self
    }

    /// With a raw body and content type.
    pub fn body(mut self, body: &str, content_type: &str) -> Self {
        self.body = Some(body.to_owned());
        self.headers
            .push(("content-type".into(), content_type.into()));
        self
    }

    /// With a header.
    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }

    /// With a query parameter.
    pub fn query(mut self, name: &str, value: &str) -> Self {
        self.query.push((name.into(), value.into()));
        self
    }

    /// The event JSON.
    pub fn event(&self) -> String {
        let mut e: Value = serde_json::from_str(match self.api {
            Api::Rest => REST,
            Api::Http => HTTP,
        })
        .expect("fixture is JSON");
        let headers: Map<String, Value> = self
            .headers
            .iter()
            .map(|(k, v)| (k.clone(), json!(v)))
            .collect();
        let query: Map<String, Value> = self
            .query
            .iter()
            .map(|(k, v)| (k.clone(), json!(v)))
            .collect();
        match self.api {
            Api::Rest => {
                e["httpMethod"] = json!(self.method);
                e["path"] = json!(self.path);
                e["resource"] = json!("/{proxy+}");
                e["pathParameters"] = json!({"proxy": self.path.trim_start_matches('/')});
                e["requestContext"]["path"] = json!(self.path);
                e["requestContext"]["httpMethod"] = json!(self.method);
                e["headers"] = Value::Object(headers.clone());
                e["multiValueHeaders"] = Value::Object(
                    headers
                        .iter()
                        .map(|(k, v)| (k.clone(), json!([v])))
                        .collect(),
                );
                e["queryStringParameters"] = Value::Object(query.clone());
                e["multiValueQueryStringParameters"] =
                    Value::Object(query.iter().map(|(k, v)| (k.clone(), json!([v]))).collect());
                match &self.context {
                    Some(c) => e["requestContext"]["authorizer"] = c.clone(),
                    None => {
                        e["requestContext"]
                            .as_object_mut()
                            .map(|o| o.remove("authorizer"));
                    }
                }
            }
            Api::Http => {
                e["rawPath"] = json!(self.path);
                e["requestContext"]["http"]["method"] = json!(self.method);
                e["requestContext"]["http"]["path"] = json!(self.path);
                // API Gateway percent-encodes the raw query string.
                let encode = |s: &str| {
                    s.bytes()
                        .map(|b| match b {
                            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                                (b as char).to_string()
                            }
                            _ => format!("%{b:02X}"),
                        })
                        .collect::<String>()
                };
                let raw_query: Vec<String> = self
                    .query
                    .iter()
                    .map(|(k, v)| format!("{}={}", encode(k), encode(v)))
                    .collect();
                e["rawQueryString"] = json!(raw_query.join("&"));
                e["queryStringParameters"] = Value::Object(query);
                let cookies: Vec<String> = self
                    .headers
                    .iter()
                    .filter(|(k, _)| k.eq_ignore_ascii_case("cookie"))
                    .flat_map(|(_, v)| v.split("; ").map(str::to_owned).collect::<Vec<_>>())
                    .collect();
                e["cookies"] = json!(cookies);
                e["headers"] = Value::Object(
                    headers
                        .into_iter()
                        .filter(|(k, _)| !k.eq_ignore_ascii_case("cookie"))
                        .collect(),
                );
                match &self.context {
                    Some(c) => e["requestContext"]["authorizer"] = json!({"lambda": c}),
                    None => {
                        e["requestContext"]
                            .as_object_mut()
                            .map(|o| o.remove("authorizer"));
                    }
                }
            }
        }
        e["body"] = self.body.as_ref().map_or(Value::Null, |b| json!(b));
        e["isBase64Encoded"] = json!(false);
        e.to_string()
    }
}

/// An `App` (the functions' state) on `database_url`, with the test secret and extra settings.
pub fn app(database_url: &str, extra: &[(&str, &str)]) -> account_api::http::App {
    let mut vars: Vec<(String, String)> = vec![
        ("DATABASE_URL".into(), database_url.into()),
        ("BETTER_AUTH_SECRET".into(), TEST_SECRET.into()),
    ];
    vars.extend(extra.iter().map(|(k, v)| ((*k).into(), (*v).into())));
    account_api::http::App::from_lookup(|k| {
        vars.iter()
            .rev()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.clone())
    })
    .expect("valid test configuration")
}

/// The secret [`app`] configures.
pub const TEST_SECRET: &str = "function-test-secret-0123456789abcdefghijk";

/// What a function answered.
#[derive(Debug, Clone)]
pub struct Reply {
    /// HTTP status.
    pub status: u16,
    /// The JSON body (`null` when empty).
    pub body: Value,
    /// Response headers.
    pub headers: lambda_http::http::HeaderMap,
}

/// Sends `request` through a function's handler.
pub async fn send<F>(handler: F, app: &account_api::http::App, request: &ApiRequest) -> Reply
where
    F: AsyncFn(
        &account_api::http::App,
        lambda_http::Request,
    ) -> lambda_http::Response<lambda_http::Body>,
{
    let event = request.event();
    let req = lambda_http::request::from_str(&event).expect("a valid API Gateway event");
    let response = handler(app, req).await;
    let body = match response.body() {
        lambda_http::Body::Text(t) => serde_json::from_str(t).unwrap_or(Value::Null),
        lambda_http::Body::Binary(b) => serde_json::from_slice(b).unwrap_or(Value::Null),
        _ => Value::Null,
    };
    Reply {
        status: response.status().as_u16(),
        body,
        headers: response.headers().clone(),
    }
}
