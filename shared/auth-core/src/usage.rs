//! `API_GATEWAY_USAGE_IDENTIFIER`: which part of the caller API Gateway meters and throttles
//! by (REST usage plans with `apiKeySource: AUTHORIZER`).
//!
//! The authorizer returns the chosen value as `usageIdentifierKey`; API Gateway then looks for
//! one of *its own* API keys whose **value** is exactly that string, in a usage plan of the
//! stage, and applies that plan's throttle and quota. So a team creates one API Gateway API key
//! per user (value = the user id), per organization, or per plan (value = `pro`, for
//! `user.plan`). A caller without the value gets no key, and API Gateway refuses the request
//! (403) on a method that requires one. HTTP APIs have no usage plans: nothing is returned
//! there.

use crate::context::AuthorizerContext;
use crate::env::{ConfigError, Env, invalid};

/// The variable.
pub const USAGE_IDENTIFIER_VAR: &str = "API_GATEWAY_USAGE_IDENTIFIER";

/// What identifies a caller to API Gateway's usage plans.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UsageIdentifier {
    /// `userId`.
    UserId,
    /// `apiKeyId`: the Better Auth API key (callers with a session get none).
    ApiKeyId,
    /// `organizationId`: the confirmed active organization, or the organization an
    /// organization's API key acts for.
    OrganizationId,
    /// `user.<field>`: a user column passed on in the context (listed in
    /// `BETTER_AUTH_CONTEXT_USER_FIELDS`), e.g. the plan.
    UserField(String),
}

impl UsageIdentifier {
    /// Reads the setting; a `user.<field>` must be one of `context_user_fields` (the authorizer
    /// reads only those).
    pub fn parse(
        env: &Env<'_>,
        context_user_fields: &[String],
    ) -> Result<Option<Self>, ConfigError> {
        let Some(value) = env.get(USAGE_IDENTIFIER_VAR) else {
            return Ok(None);
        };
        let parsed = match value.trim() {
            "userId" => Self::UserId,
            "apiKeyId" => Self::ApiKeyId,
            "organizationId" => Self::OrganizationId,
            other => match other.strip_prefix("user.") {
                Some(field) if context_user_fields.iter().any(|f| f == field) => {
                    Self::UserField(field.to_owned())
                }
                Some(_) => {
                    return Err(invalid(
                        USAGE_IDENTIFIER_VAR,
                        "user.<field> needs the field in BETTER_AUTH_CONTEXT_USER_FIELDS",
                    ));
                }
                None => {
                    return Err(invalid(
                        USAGE_IDENTIFIER_VAR,
                        "expected userId, apiKeyId, organizationId or user.<field>",
                    ));
                }
            },
        };
        Ok(Some(parsed))
    }

    /// The value for this caller (never empty), `None` when the caller has none.
    pub fn value(&self, context: &AuthorizerContext) -> Option<String> {
        let value = match self {
            Self::UserId => context.user_id.as_ref(),
            Self::ApiKeyId => context.api_key_id.as_ref(),
            Self::OrganizationId => context
                .active_organization_id
                .as_ref()
                .or(context.organization_id.as_ref()),
            Self::UserField(field) => context.extras.0.get(field),
        };
        value.filter(|v| !v.is_empty()).cloned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(value: &str, fields: &[&str]) -> Result<Option<UsageIdentifier>, ConfigError> {
        let lookup = |name: &str| (name == USAGE_IDENTIFIER_VAR).then(|| value.to_owned());
        let fields: Vec<String> = fields.iter().map(|f| (*f).to_owned()).collect();
        UsageIdentifier::parse(&Env::new(&lookup), &fields)
    }

    #[test]
    fn each_choice_reads_its_part_of_the_context() {
        let mut context = AuthorizerContext {
            user_id: Some("u1".into()),
            api_key_id: Some(String::new()),
            ..AuthorizerContext::default()
        };
        context.extras.0.insert("plan".into(), "pro".into());
        let value = |v: &str| parse(v, &["plan"]).unwrap().unwrap().value(&context);
        assert_eq!(value("userId").as_deref(), Some("u1"));
        assert_eq!(value("apiKeyId"), None, "empty is none");
        assert_eq!(value("organizationId"), None);
        assert_eq!(value("user.plan").as_deref(), Some("pro"));
        assert!(parse("user.tier", &["plan"]).is_err());
        assert!(parse("sessionId", &[]).is_err());
        assert_eq!(parse("", &[]).unwrap(), None);
        // An organization's key is metered under its organization.
        let organization_key = AuthorizerContext {
            organization_id: Some("o1".into()),
            api_key_id: Some("k1".into()),
            ..AuthorizerContext::default()
        };
        let by = |v: &str| parse(v, &[]).unwrap().unwrap().value(&organization_key);
        assert_eq!(by("organizationId").as_deref(), Some("o1"));
        assert_eq!(by("userId"), None);
    }
}
