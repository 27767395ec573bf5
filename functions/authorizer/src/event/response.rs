//! The answer: an IAM policy (REST) or a simple response (HTTP API), serialized straight to
//! the bytes API Gateway reads.

use serde::Serialize;

use super::context::Context;

/// A REST method ARN taken apart: `arn:aws:execute-api:us-east-1:123456789012:abc123/prod/GET/users/1`
/// → stage prefix `arn:aws:execute-api:us-east-1:123456789012:abc123/prod/`, method `GET`,
/// path `/users/1`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MethodArn<'a> {
    /// Everything up to and including `stage/`.
    pub stage_prefix: String,
    /// The HTTP method (may be `*` in a test console's ARN).
    pub method: &'a str,
    /// The request path, `/` first.
    pub path: String,
    /// What follows the stage prefix, as sent (`GET/users/1`).
    pub suffix: &'a str,
}

/// Takes a method ARN apart; `None` when it is not one API Gateway sends.
pub fn method_arn(arn: &str) -> Option<MethodArn<'_>> {
    if arn.len() > 1600 {
        return None;
    }
    let mut parts = arn.splitn(6, ':');
    let (head, partition, service) = (parts.next()?, parts.next()?, parts.next()?);
    let (region, account, resource) = (parts.next()?, parts.next()?, parts.next()?);
    if head != "arn" || service != "execute-api" || partition.is_empty() || region.is_empty() {
        return None;
    }
    if account.is_empty() || !account.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let mut segments = resource.splitn(3, '/');
    let (api, stage) = (segments.next()?, segments.next()?);
    let suffix = segments.next().unwrap_or("");
    let plain = |s: &str| {
        !s.is_empty()
            && s.bytes().all(|b| {
                b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'$' || b == b'*'
            })
    };
    if !plain(api) || !plain(stage) {
        return None;
    }
    let (method, path) = suffix.split_once('/').unwrap_or((suffix, ""));
    Some(MethodArn {
        stage_prefix: format!("arn:{partition}:execute-api:{region}:{account}:{api}/{stage}/"),
        method,
        path: format!("/{path}"),
        suffix,
    })
}

/// `arn:aws:execute-api:us-east-1:123456789012:abc123/prod/GET/users/1` →
/// `arn:aws:execute-api:us-east-1:123456789012:abc123/prod/*/*`.
pub fn api_wildcard(arn: &str) -> Option<String> {
    method_arn(arn).map(|parts| format!("{}*/*", parts.stage_prefix))
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
    /// REST usage plans (`apiKeySource: AUTHORIZER`): the API Gateway API key's value.
    #[serde(skip_serializing_if = "Option::is_none")]
    usage_identifier_key: Option<String>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
struct PolicyDocument {
    version: &'static str,
    statement: Statements,
}

/// The statements: built here, or written once per kind of caller (`auth_core::access`).
#[derive(Debug, Serialize)]
#[serde(untagged)]
enum Statements {
    Built(Vec<Statement>),
    Written(Box<serde_json::value::RawValue>),
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
struct Statement {
    action: [&'static str; 1],
    effect: Effect,
    resource: Vec<String>,
}

/// An HTTP API simple response.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SimpleResponse {
    is_authorized: bool,
    context: Context,
}

/// A REST policy response with one statement (Allow or Deny) for `resource`.
pub fn policy(
    principal_id: String,
    effect: Effect,
    resource: String,
    context: Context,
) -> AuthorizerResponse {
    policy_of(principal_id, vec![(effect, vec![resource])], context)
}

/// A REST policy response with a statement per `(effect, resources)`; empty ones are left
/// out.
pub fn policy_of(
    principal_id: String,
    statements: Vec<(Effect, Vec<String>)>,
    context: Context,
) -> AuthorizerResponse {
    AuthorizerResponse::Policy(PolicyResponse {
        principal_id,
        policy_document: PolicyDocument {
            version: "2012-10-17",
            statement: Statements::Built(
                statements
                    .into_iter()
                    .filter(|(_, resources)| !resources.is_empty())
                    .map(|(effect, resource)| Statement {
                        action: ["execute-api:Invoke"],
                        effect,
                        resource,
                    })
                    .collect(),
            ),
        },
        context,
        usage_identifier_key: None,
    })
}

/// A REST policy response whose statements were written already (JSON: the `Statement`
/// array); an error when they are not JSON.
pub fn policy_written(
    principal_id: String,
    statements: &str,
    context: Context,
) -> Result<AuthorizerResponse, serde_json::Error> {
    let written = serde_json::value::RawValue::from_string(statements.to_owned())?;
    Ok(AuthorizerResponse::Policy(PolicyResponse {
        principal_id,
        policy_document: PolicyDocument {
            version: "2012-10-17",
            statement: Statements::Written(written),
        },
        context,
        usage_identifier_key: None,
    }))
}

impl AuthorizerResponse {
    /// The same answer carrying `usageIdentifierKey` (REST only: HTTP APIs have no usage
    /// plans).
    pub fn with_usage_identifier_key(mut self, key: Option<String>) -> Self {
        if let Self::Policy(policy) = &mut self {
            policy.usage_identifier_key = key;
        }
        self
    }
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
    fn a_method_arn_comes_apart_into_stage_method_and_path() {
        let parts =
            method_arn("arn:aws:execute-api:us-east-1:123456789012:abc/prod/GET/orders/1").unwrap();
        assert_eq!(
            parts.stage_prefix,
            "arn:aws:execute-api:us-east-1:123456789012:abc/prod/"
        );
        assert_eq!(
            (parts.method, parts.path.as_str(), parts.suffix),
            ("GET", "/orders/1", "GET/orders/1")
        );
        let root = method_arn("arn:aws:execute-api:us-east-1:123456789012:abc/prod/GET/").unwrap();
        assert_eq!((root.method, root.path.as_str()), ("GET", "/"));
    }

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
}
