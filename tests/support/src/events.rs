//! Authorizer events built from the repository's fixtures (`events/`, copied from the
//! `aws_lambda_events` crate's real samples), with a request's credentials put in.

use serde_json::{Value, json};

const REST_TOKEN: &str = include_str!("../../../events/rest-token.json");
const REST_REQUEST: &str = include_str!("../../../events/rest-request.json");
const HTTP_V2: &str = include_str!("../../../events/http-v2.json");

/// The policy resource an Allow for [`Shape::RestToken`] names.
pub const TOKEN_WILDCARD: &str = "arn:aws:execute-api:us-east-1:123456789012:s4x3opwd6i/prod/*/*";
/// The policy resource an Allow for [`Shape::RestRequest`] names.
pub const REQUEST_WILDCARD: &str = "arn:aws:execute-api:us-east-1:123456789012:s4x3opwd6i/test/*/*";

/// The three authorizer event shapes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    /// REST API TOKEN authorizer.
    RestToken,
    /// REST API REQUEST authorizer.
    RestRequest,
    /// HTTP API payload 2.0.
    HttpV2,
}

impl Shape {
    /// All three.
    pub const ALL: [Shape; 3] = [Self::RestToken, Self::RestRequest, Self::HttpV2];

    /// The wildcard resource an Allow policy names for this shape's fixture (REST only).
    pub fn wildcard(self) -> &'static str {
        match self {
            Self::RestToken => TOKEN_WILDCARD,
            _ => REQUEST_WILDCARD,
        }
    }
}

/// A fixture event carrying `authorization` (an `Authorization` header value) and `cookie` (a
/// `Cookie` header value; split into the `cookies` array for HTTP API 2.0). TOKEN events carry
/// the one that is given, the `Authorization` value first.
pub fn event(shape: Shape, authorization: Option<&str>, cookie: Option<&str>) -> Value {
    let parse = |s: &str| serde_json::from_str::<Value>(s).expect("fixture is JSON");
    match shape {
        Shape::RestToken => {
            let mut e = parse(REST_TOKEN);
            e["authorizationToken"] = json!(authorization.or(cookie).unwrap_or_default());
            e
        }
        Shape::RestRequest => {
            let mut e = parse(REST_REQUEST);
            for key in ["headers", "multiValueHeaders"] {
                let multi = key == "multiValueHeaders";
                let wrap = |v: &str| if multi { json!([v]) } else { json!(v) };
                let map = e[key].as_object_mut().expect("headers object");
                map.remove("Cookie");
                if let Some(a) = authorization {
                    map.insert("Authorization".into(), wrap(a));
                }
                if let Some(c) = cookie {
                    map.insert("Cookie".into(), wrap(c));
                }
            }
            e
        }
        Shape::HttpV2 => {
            let mut e = parse(HTTP_V2);
            if let Some(a) = authorization {
                e["headers"]["authorization"] = json!(a);
            }
            let cookies: Vec<&str> = cookie.map(|c| c.split("; ").collect()).unwrap_or_default();
            e["cookies"] = json!(cookies);
            e
        }
    }
}

/// `event` with one more header (`name: value`): both header maps of a REST REQUEST event, the
/// (lower-case) headers of an HTTP API event, or a TOKEN event's one identity source.
pub fn with_header(shape: Shape, mut event: Value, name: &str, value: &str) -> Value {
    match shape {
        Shape::RestToken => event["authorizationToken"] = json!(value),
        Shape::RestRequest => {
            event["headers"][name] = json!(value);
            event["multiValueHeaders"][name] = json!([value]);
        }
        Shape::HttpV2 => event["headers"][name.to_ascii_lowercase()] = json!(value),
    }
    event
}
