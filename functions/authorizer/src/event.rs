//! API Gateway authorizer events in, policies out: the edge between AWS's shapes and `auth-core`.

use std::collections::HashMap;

use auth_core::{Identity, RawCredentials};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The three authorizer events API Gateway sends, reduced to what the decision reads.
///
/// `aws_lambda_events`' full request types parse every field (request context, a `HeaderMap`
/// per header set, untagged one-or-many values) at ~15 µs per REST event; the benchmark showed
/// it dominating the refusal path. These views read only the credentials and the ARN and skip
/// the rest; the responses are typed structs written straight to JSON.
#[derive(Debug)]
pub enum AuthorizerEvent {
    /// REST API, TOKEN authorizer: one identity source in `authorizationToken`.
    Token(TokenEvent),
    /// REST API (or HTTP API payload 1.0), REQUEST authorizer: headers and multi-value headers.
    Request(RequestEvent),
    /// HTTP API payload 2.0: headers plus a separate `cookies` array; simple responses.
    HttpV2(HttpV2Event),
}

/// Every field of the three event shapes that the decision reads, deserialized straight from
/// the invocation's bytes (everything else is skipped without being built). The runtime hands
/// the handler this; [`AuthorizerEvent::from_payload`] then tells the shapes apart.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AuthorizerPayload {
    /// `"2.0"` for HTTP API payload 2.0.
    #[serde(default)]
    pub version: Option<String>,
    /// `TOKEN` or `REQUEST` for REST APIs.
    #[serde(default, rename = "type")]
    pub kind: Option<String>,
    /// TOKEN: the identity source's value.
    #[serde(default)]
    pub authorization_token: Option<String>,
    /// REST: the method being called.
    #[serde(default)]
    pub method_arn: Option<String>,
    /// HTTP API: the route being called.
    #[serde(default)]
    pub route_arn: Option<String>,
    /// REQUEST and HTTP API: headers.
    #[serde(default)]
    pub headers: Option<HashMap<String, Option<String>>>,
    /// REQUEST: multi-value headers.
    #[serde(default)]
    pub multi_value_headers: Option<HashMap<String, Option<Vec<String>>>>,
    /// HTTP API: cookies.
    #[serde(default)]
    pub cookies: Option<Vec<String>>,
}

/// What a TOKEN event carries that matters.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TokenEvent {
    /// The identity source's value.
    #[serde(default)]
    pub authorization_token: Option<String>,
    /// The method being called.
    #[serde(default)]
    pub method_arn: Option<String>,
}

/// What a REQUEST event carries that matters.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RequestEvent {
    /// The method being called.
    #[serde(default)]
    pub method_arn: Option<String>,
    /// Single-value headers (names in any case).
    #[serde(default)]
    pub headers: Option<HashMap<String, Option<String>>>,
    /// Multi-value headers (names in any case).
    #[serde(default)]
    pub multi_value_headers: Option<HashMap<String, Option<Vec<String>>>>,
}

/// What an HTTP API 2.0 event carries that matters.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HttpV2Event {
    /// The route being called.
    #[serde(default)]
    pub route_arn: Option<String>,
    /// Headers (lower-case names; repeated ones joined with commas by API Gateway).
    #[serde(default)]
    pub headers: Option<HashMap<String, Option<String>>>,
    /// The request's cookies, one `name=value` per entry.
    #[serde(default)]
    pub cookies: Option<Vec<String>>,
}

/// An event we cannot read: answered with an error (API Gateway: 500), never an Allow.
#[derive(Debug, thiserror::Error)]
pub enum EventError {
    /// Neither `version: "2.0"` nor `type: "TOKEN" | "REQUEST"`.
    #[error("not an API Gateway authorizer event")]
    Unrecognised,
    /// The right marker but the wrong shape.
    #[error("malformed {kind} authorizer event: {message}")]
    Malformed {
        /// Which event.
        kind: &'static str,
        /// The parser's complaint.
        message: String,
    },
    /// A REST event without a usable `methodArn`.
    #[error("the event has no usable methodArn")]
    MethodArn,
}

impl AuthorizerEvent {
    /// Recognises the shape of an already deserialized payload.
    pub fn from_payload(payload: AuthorizerPayload) -> Result<Self, EventError> {
        let AuthorizerPayload {
            version,
            kind,
            authorization_token,
            method_arn,
            route_arn,
            headers,
            multi_value_headers,
            cookies,
        } = payload;
        match (version.as_deref(), kind.as_deref()) {
            (Some("2.0"), _) => Ok(Self::HttpV2(HttpV2Event {
                route_arn,
                headers,
                cookies,
            })),
            (_, Some("TOKEN")) => Ok(Self::Token(TokenEvent {
                authorization_token,
                method_arn,
            })),
            (_, Some("REQUEST")) => Ok(Self::Request(RequestEvent {
                method_arn,
                headers,
                multi_value_headers,
            })),
            _ => Err(EventError::Unrecognised),
        }
    }

    /// Recognises the event from a JSON value (what the runtime would deserialize).
    pub fn parse(value: Value) -> Result<Self, EventError> {
        let payload = serde_json::from_value(value).map_err(|e| EventError::Malformed {
            kind: "authorizer",
            message: e.to_string(),
        })?;
        Self::from_payload(payload)
    }

    /// A short name for logs.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Token(_) => "rest_token",
            Self::Request(_) => "rest_request",
            Self::HttpV2(_) => "http_v2",
        }
    }

    /// The `Authorization`, `Cookie` and API key (`api_key_headers`, lower-case) values the
    /// request carries.
    ///
    /// For TOKEN events the single identity source is the API key when `token_is_api_key` (the
    /// authorizer accepts API keys only), else read as an `Authorization` header when it starts
    /// with `Bearer`, as a `Cookie` header when it holds a `name=value` pair (whatever the session
    /// cookie is called), and as an `Authorization` header otherwise (then refused).
    pub fn credentials<'a>(
        &'a self,
        api_key_headers: &[String],
        token_is_api_key: bool,
    ) -> RawCredentials<'a> {
        let mut raw = RawCredentials::default();
        match self {
            Self::Token(event) => {
                let value = event.authorization_token.as_deref().unwrap_or_default();
                if token_is_api_key {
                    if !value.is_empty() {
                        raw.api_keys.push(value);
                    }
                } else if !starts_with_bearer(value) && value.contains('=') {
                    raw.cookies.push(value);
                } else if !value.is_empty() {
                    raw.authorization.push(value);
                }
            }
            Self::Request(event) => {
                if let Some(headers) = &event.headers {
                    collect(
                        headers.iter().filter_map(|(k, v)| Some((k, v.as_deref()?))),
                        api_key_headers,
                        &mut raw,
                    );
                }
                if let Some(headers) = &event.multi_value_headers {
                    let values = headers
                        .iter()
                        .flat_map(|(k, vs)| vs.iter().flatten().map(move |v| (k, v.as_str())));
                    collect(values, api_key_headers, &mut raw);
                }
            }
            Self::HttpV2(event) => {
                if let Some(headers) = &event.headers {
                    collect(
                        headers.iter().filter_map(|(k, v)| Some((k, v.as_deref()?))),
                        api_key_headers,
                        &mut raw,
                    );
                }
                raw.cookies
                    .extend(event.cookies.iter().flatten().map(String::as_str));
            }
        }
        raw
    }

    /// For REST events, the policy resource: the whole API and stage
    /// (`arn:aws:execute-api:region:account:api/stage/*/*`), so that API Gateway's cached result
    /// serves every route.
    pub fn policy_resource(&self) -> Result<String, EventError> {
        let arn = match self {
            Self::Token(e) => e.method_arn.as_deref(),
            Self::Request(e) => e.method_arn.as_deref(),
            Self::HttpV2(e) => e.route_arn.as_deref(),
        };
        arn.and_then(api_wildcard).ok_or(EventError::MethodArn)
    }
}

/// Whether a value starts with the `Bearer` scheme (any case) and a space.
fn starts_with_bearer(value: &str) -> bool {
    let bytes = value.trim_start().as_bytes();
    bytes.len() > 6
        && bytes[..6].eq_ignore_ascii_case(b"bearer")
        && matches!(bytes[6], b' ' | b'\t')
}

/// The `Authorization`, `Cookie` and API key values among `headers` (names compared without
/// case). A REST REQUEST event lists a header in both maps: a value seen twice is one value.
fn collect<'a>(
    headers: impl Iterator<Item = (&'a String, &'a str)>,
    api_key_headers: &[String],
    raw: &mut RawCredentials<'a>,
) {
    for (name, value) in headers {
        if name.eq_ignore_ascii_case("authorization") {
            raw.authorization.push(value);
        } else if name.eq_ignore_ascii_case("cookie") {
            raw.cookies.push(value);
        } else if api_key_headers.iter().any(|h| name.eq_ignore_ascii_case(h)) {
            raw.api_keys.push(value);
        }
    }
}

/// `arn:aws:execute-api:us-east-1:123456789012:abc123/prod/GET/users/1` →
/// `arn:aws:execute-api:us-east-1:123456789012:abc123/prod/*/*`.
pub fn api_wildcard(method_arn: &str) -> Option<String> {
    if method_arn.len() > 1600 {
        return None;
    }
    let mut parts = method_arn.splitn(6, ':');
    let (arn, partition, service) = (parts.next()?, parts.next()?, parts.next()?);
    let (region, account, resource) = (parts.next()?, parts.next()?, parts.next()?);
    if arn != "arn" || service != "execute-api" || partition.is_empty() || region.is_empty() {
        return None;
    }
    if account.is_empty() || !account.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let mut segments = resource.split('/');
    let (api, stage) = (segments.next()?, segments.next()?);
    let plain = |s: &str| {
        !s.is_empty()
            && s.bytes().all(|b| {
                b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'$' || b == b'*'
            })
    };
    if !plain(api) || !plain(stage) {
        return None;
    }
    Some(format!(
        "arn:{partition}:execute-api:{region}:{account}:{api}/{stage}/*/*"
    ))
}

/// The flat context downstream functions read (`requestContext.authorizer`): strings and
/// booleans only, as REST APIs require; absent fields are left out.
/// `sessionId` is empty when a JWT or an API key vouched for the user; `verifiedBy` says which
/// method did (`session`, `jwt`, `cookie-cache`, `api-key`).
#[derive(Debug, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Context {
    #[serde(skip_serializing_if = "Option::is_none")]
    user_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    session_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    email: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    role: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    email_verified: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    expires_at: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    auth_method: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    verified_by: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    impersonated_by: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    api_key_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    permissions: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    remaining: Option<String>,
    /// The confirmed active organization (organization plugin): absent without a membership.
    #[serde(skip_serializing_if = "Option::is_none")]
    active_organization_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    organization_slug: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    organization_role: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    active_team_id: Option<String>,
    /// A Deny's reason (a stable code).
    #[serde(skip_serializing_if = "Option::is_none")]
    reason: Option<&'static str>,
    /// More of the user (plugin fields, `BETTER_AUTH_CONTEXT_USER_FIELDS`), under their names.
    #[serde(flatten)]
    extras: Extras,
}

/// User fields as flat context entries (text, at most [`MAX_EXTRA_LEN`] bytes each).
#[derive(Debug, Default)]
pub struct Extras(Vec<(String, String)>);

/// The longest user field passed on (API Gateway bounds the whole context).
pub const MAX_EXTRA_LEN: usize = 1024;

impl Serialize for Extras {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut map = serializer.serialize_map(Some(self.0.len()))?;
        for (name, value) in &self.0 {
            map.serialize_entry(name, value)?;
        }
        map.end()
    }
}

impl Context {
    /// The caller's context, moved out of the identity (nothing copied); of the user's extra
    /// fields, those named in `fields`.
    pub fn of(
        identity: Identity,
        auth_method: &'static str,
        verified_by: &'static str,
        fields: &[String],
    ) -> Self {
        let api_key = identity.api_key.map(|key| *key);
        let (active_organization_id, organization_slug, organization_role, active_team_id) =
            match identity.organization.map(|o| *o) {
                Some(o) => (Some(o.id), Some(o.slug), Some(o.role), o.team_id),
                None => (None, None, None, None),
            };
        let extras = Extras(
            identity
                .extras
                .into_iter()
                .filter(|(name, value)| value.len() <= MAX_EXTRA_LEN && fields.contains(name))
                .collect(),
        );
        Self {
            extras,
            session_id: Some(identity.session_id.unwrap_or_default()),
            email: Some(identity.email),
            name: Some(identity.name),
            role: Some(identity.role.unwrap_or_default()),
            email_verified: Some(identity.email_verified),
            expires_at: identity.expires_at.map(|at| at.to_rfc3339()),
            auth_method: Some(auth_method),
            verified_by: Some(verified_by),
            impersonated_by: identity.impersonated_by,
            remaining: api_key
                .as_ref()
                .and_then(|k| k.remaining.map(|r| r.to_string())),
            permissions: api_key
                .as_ref()
                .map(|k| k.permissions.clone().unwrap_or_default()),
            api_key_id: api_key.map(|k| k.id),
            active_organization_id,
            organization_slug,
            organization_role,
            active_team_id,
            user_id: Some(identity.user_id),
            reason: None,
        }
    }

    /// A Deny's context: only the reason.
    pub fn refusal(reason: &'static str) -> Self {
        Self {
            reason: Some(reason),
            ..Self::default()
        }
    }
}

/// An IAM policy's effect.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Effect {
    /// Let the request through.
    Allow,
    /// Refuse it (403).
    Deny,
}

/// What the authorizer answers, serialized straight to the bytes API Gateway reads (no
/// intermediate `serde_json::Value`).
#[derive(Debug, Serialize)]
#[serde(untagged)]
pub enum AuthorizerResponse {
    /// REST APIs: an IAM policy for the whole stage, and the context.
    Policy(PolicyResponse),
    /// HTTP APIs: a simple response.
    Simple(SimpleResponse),
}

/// A REST policy response.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PolicyResponse {
    principal_id: String,
    policy_document: PolicyDocument,
    context: Context,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
struct PolicyDocument {
    version: &'static str,
    statement: [Statement; 1],
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
struct Statement {
    action: [&'static str; 1],
    effect: Effect,
    resource: [String; 1],
}

/// An HTTP API simple response.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SimpleResponse {
    is_authorized: bool,
    context: Context,
}

/// A REST policy response (Allow or Deny) for the whole API.
pub fn policy(
    principal_id: String,
    effect: Effect,
    resource: String,
    context: Context,
) -> AuthorizerResponse {
    AuthorizerResponse::Policy(PolicyResponse {
        principal_id,
        policy_document: PolicyDocument {
            version: "2012-10-17",
            statement: [Statement {
                action: ["execute-api:Invoke"],
                effect,
                resource: [resource],
            }],
        },
        context,
    })
}

/// An HTTP API simple response.
pub fn simple(is_authorized: bool, context: Context) -> AuthorizerResponse {
    AuthorizerResponse::Simple(SimpleResponse {
        is_authorized,
        context,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcard_covers_the_whole_stage() {
        assert_eq!(
            api_wildcard("arn:aws:execute-api:us-east-1:123456789012:s4x3opwd6i/test/GET/request")
                .as_deref(),
            Some("arn:aws:execute-api:us-east-1:123456789012:s4x3opwd6i/test/*/*")
        );
        assert_eq!(
            api_wildcard("arn:aws-cn:execute-api:cn-north-1:123456789012:abc/$default/POST/")
                .as_deref(),
            Some("arn:aws-cn:execute-api:cn-north-1:123456789012:abc/$default/*/*")
        );
        for bad in [
            "",
            "arn:aws:lambda:us-east-1:123456789012:function/x",
            "arn:aws:execute-api:us-east-1:notanumber:abc/prod/GET/",
            "arn:aws:execute-api:us-east-1:123456789012:abc",
            "arn:aws:execute-api:us-east-1:123456789012:a\"b/prod/GET/",
        ] {
            assert_eq!(api_wildcard(bad), None, "{bad}");
        }
        assert_eq!(
            api_wildcard(&format!("arn:aws:execute-api:r:1:a/s/{}", "x".repeat(1600))),
            None
        );
    }

    #[test]
    fn recognises_each_event_shape() {
        let token = serde_json::json!({"type": "TOKEN", "authorizationToken": "Bearer x", "methodArn": "arn:aws:execute-api:r:1:a/s/GET/"});
        assert_eq!(
            AuthorizerEvent::parse(token).expect("token").kind(),
            "rest_token"
        );
        assert!(matches!(
            AuthorizerEvent::parse(serde_json::json!({"hello": "world"})),
            Err(EventError::Unrecognised)
        ));
        assert!(matches!(
            AuthorizerEvent::parse(serde_json::json!({"type": "REQUEST", "headers": 5})),
            Err(EventError::Malformed { .. })
        ));
    }

    #[test]
    fn a_token_events_one_source_is_read_for_what_it_is() {
        let event = |value: &str| {
            AuthorizerEvent::parse(serde_json::json!({
                "type": "TOKEN", "authorizationToken": value,
                "methodArn": "arn:aws:execute-api:r:1:a/s/GET/",
            }))
            .expect("token event")
        };
        let keys = ["x-api-key".to_owned()];
        for (value, authorization, cookies) in [
            ("Bearer abc", 1, 0),
            ("bearer\tabc", 1, 0),
            ("better-auth.session_token=abc.sig", 0, 1),
            ("app_sid=abc.sig", 0, 1),
            ("abc", 1, 0),
            ("Bearé=x", 0, 1),
        ] {
            let e = event(value);
            let raw = e.credentials(&keys, false);
            assert_eq!(
                (
                    raw.authorization.len(),
                    raw.cookies.len(),
                    raw.api_keys.len()
                ),
                (authorization, cookies, 0),
                "{value}"
            );
        }
        let e = event("the-key");
        assert_eq!(e.credentials(&keys, true).api_keys, vec!["the-key"]);
    }

    #[test]
    fn api_key_headers_are_collected_in_any_case() {
        let e = AuthorizerEvent::parse(serde_json::json!({
            "version": "2.0", "routeArn": "arn:aws:execute-api:r:1:a/s/GET/x",
            "headers": {"X-Api-Key": "k1", "x-other": "no", "authorization": "Bearer t"},
        }))
        .expect("http event");
        let raw = e.credentials(&["x-api-key".to_owned()], false);
        assert_eq!(raw.api_keys, vec!["k1"]);
        assert_eq!(raw.authorization, vec!["Bearer t"]);
        assert!(
            e.credentials(&[], false).api_keys.is_empty(),
            "only when the method is on"
        );
    }
}
