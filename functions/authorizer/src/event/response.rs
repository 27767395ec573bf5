//! The answer: an IAM policy (REST) or a simple response (HTTP API), serialized straight to
//! the bytes API Gateway reads.

use serde::Serialize;

use super::context::Context;

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
}
