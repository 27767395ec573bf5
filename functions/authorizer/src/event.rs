//! API Gateway authorizer events in, policies out: the edge between AWS's shapes and `shared`.

use aws_lambda_events::apigw::{
    ApiGatewayCustomAuthorizerPolicy, ApiGatewayCustomAuthorizerRequest,
    ApiGatewayCustomAuthorizerRequestTypeRequest, ApiGatewayCustomAuthorizerResponse,
    ApiGatewayV2CustomAuthorizerSimpleResponse, ApiGatewayV2CustomAuthorizerV2Request,
};
use aws_lambda_events::http::HeaderMap;
use aws_lambda_events::iam::{IamPolicyEffect, IamPolicyStatement};
use serde_json::{Map, Value};
use shared::{CredentialError, Identity, RawCredentials};

/// The three authorizer events API Gateway sends.
#[derive(Debug)]
pub enum AuthorizerEvent {
    /// REST API, TOKEN authorizer: one identity source in `authorizationToken`.
    Token(ApiGatewayCustomAuthorizerRequest),
    /// REST API (or HTTP API payload 1.0), REQUEST authorizer: headers and multi-value headers.
    Request(Box<ApiGatewayCustomAuthorizerRequestTypeRequest>),
    /// HTTP API payload 2.0: headers plus a separate `cookies` array; simple responses.
    HttpV2(Box<ApiGatewayV2CustomAuthorizerV2Request>),
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

fn parse_as<T: serde::de::DeserializeOwned>(
    value: Value,
    kind: &'static str,
) -> Result<T, EventError> {
    serde_json::from_value(value).map_err(|e| EventError::Malformed {
        kind,
        message: e.to_string(),
    })
}

impl AuthorizerEvent {
    /// Recognises the event from its payload.
    pub fn parse(value: Value) -> Result<Self, EventError> {
        let version = value.get("version").and_then(Value::as_str);
        let kind = value.get("type").and_then(Value::as_str);
        match (version, kind) {
            (Some("2.0"), _) => Ok(Self::HttpV2(Box::new(parse_as(value, "HTTP API 2.0")?))),
            (_, Some("TOKEN")) => Ok(Self::Token(parse_as(value, "TOKEN")?)),
            (_, Some("REQUEST")) => Ok(Self::Request(Box::new(parse_as(value, "REQUEST")?))),
            _ => Err(EventError::Unrecognised),
        }
    }

    /// A short name for logs.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Token(_) => "rest_token",
            Self::Request(_) => "rest_request",
            Self::HttpV2(_) => "http_v2",
        }
    }

    /// The `Authorization` and `Cookie` values the request carries.
    ///
    /// For TOKEN events the single identity source is read as a `Cookie` header when it holds a
    /// `...session_token=` pair, and as an `Authorization` header otherwise.
    pub fn credentials(&self) -> Result<RawCredentials<'_>, CredentialError> {
        let mut raw = RawCredentials::default();
        match self {
            Self::Token(event) => {
                let value = event.authorization_token.as_deref().unwrap_or_default();
                if value.contains(".session_token=") {
                    raw.cookies.push(value);
                } else if !value.is_empty() {
                    raw.authorization.push(value);
                }
            }
            Self::Request(event) => {
                for headers in [&event.headers, &event.multi_value_headers] {
                    collect(headers, "authorization", &mut raw.authorization)?;
                    collect(headers, "cookie", &mut raw.cookies)?;
                }
            }
            Self::HttpV2(event) => {
                collect(&event.headers, "authorization", &mut raw.authorization)?;
                collect(&event.headers, "cookie", &mut raw.cookies)?;
                raw.cookies.extend(event.cookies.iter().map(String::as_str));
            }
        }
        Ok(raw)
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

fn collect<'a>(
    headers: &'a HeaderMap,
    name: &str,
    out: &mut Vec<&'a str>,
) -> Result<(), CredentialError> {
    for value in headers.get_all(name) {
        out.push(std::str::from_utf8(value.as_bytes()).map_err(|_| CredentialError::Malformed)?);
    }
    Ok(())
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
/// booleans only, as REST APIs require.
/// `sessionId` is empty when a JWT vouched for the user; `verifiedBy` says which method did
/// (`session`, `jwt`, `cookie-cache`).
pub fn context(identity: &Identity, auth_method: &str, verified_by: &str) -> Map<String, Value> {
    let mut map = Map::new();
    map.insert("userId".into(), identity.user_id.clone().into());
    map.insert(
        "sessionId".into(),
        identity.session_id.clone().unwrap_or_default().into(),
    );
    map.insert("email".into(), identity.email.clone().into());
    map.insert("name".into(), identity.name.clone().into());
    map.insert(
        "role".into(),
        identity.role.clone().unwrap_or_default().into(),
    );
    map.insert("emailVerified".into(), identity.email_verified.into());
    map.insert("expiresAt".into(), identity.expires_at.to_rfc3339().into());
    map.insert("authMethod".into(), auth_method.into());
    map.insert("verifiedBy".into(), verified_by.into());
    if let Some(admin) = &identity.impersonated_by {
        map.insert("impersonatedBy".into(), admin.clone().into());
    }
    map
}

/// A REST policy response (Allow or Deny) for the whole API.
pub fn policy(
    principal_id: &str,
    effect: IamPolicyEffect,
    resource: String,
    context: Map<String, Value>,
) -> Value {
    let mut statement = IamPolicyStatement::default();
    statement.action = vec!["execute-api:Invoke".to_owned()];
    statement.effect = effect;
    statement.resource = vec![resource];
    let mut document = ApiGatewayCustomAuthorizerPolicy::default();
    document.version = Some("2012-10-17".to_owned());
    document.statement = vec![statement];
    let mut response = ApiGatewayCustomAuthorizerResponse::<Value>::default();
    response.principal_id = Some(principal_id.to_owned());
    response.policy_document = document;
    response.context = Value::Object(context);
    without_nulls(serde_json::to_value(response).unwrap_or(Value::Null))
}

/// An HTTP API simple response.
pub fn simple(is_authorized: bool, context: Map<String, Value>) -> Value {
    let mut response = ApiGatewayV2CustomAuthorizerSimpleResponse::<Value>::default();
    response.is_authorized = is_authorized;
    response.context = Value::Object(context);
    without_nulls(serde_json::to_value(response).unwrap_or(Value::Null))
}

/// Drops top-level `null`s (`usageIdentifierKey`): API Gateway wants absent, not null.
fn without_nulls(value: Value) -> Value {
    match value {
        Value::Object(map) => {
            Value::Object(map.into_iter().filter(|(_, v)| !v.is_null()).collect())
        }
        other => other,
    }
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
            AuthorizerEvent::parse(serde_json::json!({"type": "REQUEST", "requestContext": 5})),
            Err(EventError::Malformed { .. })
        ));
    }
}
