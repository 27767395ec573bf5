//! The typed caller: what the authorizer's context says, as a struct.

use std::collections::BTreeMap;

use auth_core::Authenticated;
use auth_core::access::{AccessControl, Connector, PermissionRequest, Requirement};
use auth_core::context::AuthorizerContext;
use auth_core::identity::{ActiveOrganization, ApiKeyGrant, Grant, Identity, OAuthGrant};
use lambda_http::request::RequestContext;
use lambda_http::{Request, RequestExt};

use crate::error::CallerError;

/// Who is calling: the user, how they proved it, and what the credential grants.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    /// The user's id.
    pub user_id: String,
    /// The session's id (`None` when a JWT or an API key vouched).
    pub session_id: Option<String>,
    /// The user's email.
    pub email: Option<String>,
    /// The user's name.
    pub name: Option<String>,
    /// The admin plugin's role list as stored (comma-separated).
    pub role: Option<String>,
    /// Whether the email is verified.
    pub email_verified: bool,
    /// The admin impersonating the user.
    pub impersonated_by: Option<String>,
    /// When the credential expires (RFC 3339).
    pub expires_at: Option<String>,
    /// Which method vouched: `session`, `jwt`, `cookie-cache`, `api-key`.
    pub verified_by: Option<String>,
    /// Where the credential came from: `bearer`, `cookie`, `api_key`.
    pub auth_method: Option<String>,
    /// The confirmed active organization, when the session has one.
    pub organization: Option<Organization>,
    /// The API key, when one vouched (then the caller may do only what the key allows).
    pub api_key: Option<ApiKey>,
    /// The OAuth client acting for the user (`verifiedBy: oauth`): only its scopes are
    /// granted, never the user's power ([`Caller::require_scopes`]).
    pub oauth: Option<OAuthClient>,
    /// The user fields the authorizer passes on (`BETTER_AUTH_CONTEXT_USER_FIELDS`, plugin
    /// fields), as text.
    pub fields: BTreeMap<String, String>,
}

/// The session's active organization, as confirmed by a `member` row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Organization {
    /// `organization.id`.
    pub id: String,
    /// `organization.slug`.
    pub slug: Option<String>,
    /// The member's role list (comma-separated).
    pub role: String,
    /// The confirmed active team.
    pub team_id: Option<String>,
}

/// The OAuth client an access token was issued to, acting for the caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OAuthClient {
    /// `clientId`.
    pub client_id: String,
    /// The granted scopes, space-separated.
    pub scopes: String,
    /// The resource (this API's identifier) the token was issued for.
    pub resource: Option<String>,
}

/// The API key that vouched.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiKey {
    /// `apikey.id`.
    pub id: String,
    /// Its `permissions` (JSON text as stored), `None` for none.
    pub permissions: Option<String>,
    /// Its remaining uses, when counted.
    pub remaining: Option<i64>,
}

impl Caller {
    /// The caller the authorizer put in the request's context (REST or HTTP API); an error
    /// when there is none, or it names no user.
    pub fn from_request(request: &Request) -> Result<Self, CallerError> {
        request
            .request_context_ref()
            .and_then(Self::from_request_context)
            .ok_or(CallerError::Unauthenticated)
    }

    /// From `lambda_http`'s request context (also in an axum request's extensions).
    pub fn from_request_context(context: &RequestContext) -> Option<Self> {
        let passed = AuthorizerContext::from_fields(&context.authorizer()?.fields)?;
        Self::from_context(passed)
    }

    /// From the authorizer's context; `None` when it names no user (an organization's API key
    /// is a machine principal, never a `Caller`: a function that needs a user refuses it).
    pub fn from_context(passed: AuthorizerContext) -> Option<Self> {
        if passed.reference_type.is_some() {
            return None;
        }
        let user_id = passed.user_id.filter(|id| !id.is_empty())?;
        let non_empty = |value: Option<String>| value.filter(|v| !v.is_empty());
        let organization = non_empty(passed.active_organization_id).map(|id| Organization {
            id,
            slug: non_empty(passed.organization_slug),
            role: passed.organization_role.unwrap_or_default(),
            team_id: non_empty(passed.active_team_id),
        });
        let api_key = non_empty(passed.api_key_id).map(|id| ApiKey {
            id,
            permissions: non_empty(passed.permissions),
            remaining: passed.remaining.and_then(|r| r.parse().ok()),
        });
        let oauth = non_empty(passed.client_id).map(|client_id| OAuthClient {
            client_id,
            scopes: passed.scopes.unwrap_or_default(),
            resource: non_empty(passed.resource),
        });
        Some(Self {
            user_id,
            session_id: non_empty(passed.session_id),
            email: passed.email,
            name: passed.name,
            role: non_empty(passed.role),
            email_verified: passed.email_verified.unwrap_or(false),
            impersonated_by: non_empty(passed.impersonated_by),
            expires_at: passed.expires_at,
            verified_by: passed.verified_by,
            auth_method: passed.auth_method,
            organization,
            api_key,
            oauth,
            fields: passed.extras.0,
        })
    }

    /// From what auth-core verified in place (the same context the authorizer would write,
    /// with the user fields in `fields`).
    pub fn from_authenticated(verified: Authenticated, fields: &[String]) -> Option<Self> {
        let (source, method) = (verified.source.as_str(), verified.method.as_str());
        Self::from_context(AuthorizerContext::of(
            verified.identity,
            source,
            method,
            fields,
        ))
    }

    /// `Err(403)` unless the caller's roles grant `permissions` (Better Auth's admin
    /// `hasPermission`; an API key's own permissions must grant them too).
    pub fn require(
        &self,
        access: &AccessControl,
        permissions: &PermissionRequest,
    ) -> Result<(), CallerError> {
        self.check(access, Some(permissions), None)
    }

    /// `Err(403)` unless the caller's role in the active organization grants `permissions`
    /// (the organization plugin's `hasPermission`, static roles: a function that needs dynamic
    /// roles reads them through auth-core's store).
    pub fn require_in_organization(
        &self,
        access: &AccessControl,
        permissions: &PermissionRequest,
    ) -> Result<(), CallerError> {
        self.check(access, None, Some(permissions))
    }

    /// `Err(403 insufficient_scope)` unless an OAuth caller's token carries every scope of
    /// `scopes` (as `AUTHORIZER_ROUTES`' `"scopes"`); the user's own credentials and API keys
    /// are not asked for scopes.
    pub fn require_scopes(&self, scopes: &[&str]) -> Result<(), CallerError> {
        let Some(oauth) = &self.oauth else {
            return Ok(());
        };
        let granted = |want: &&str| oauth.scopes.split(' ').any(|s| s == *want);
        if scopes.iter().all(granted) {
            Ok(())
        } else {
            Err(CallerError::Forbidden {
                reason: "insufficient_scope",
            })
        }
    }

    /// Whether the user's own credential vouched (a positive list, as the account functions
    /// keep: a method added later carries none of the user's power until it is named here; an
    /// OAuth access token, `verifiedBy: oauth`, is not one: it carries only its scopes).
    pub fn is_users_own_credential(&self) -> bool {
        self.api_key.is_none()
            && matches!(
                self.verified_by.as_deref(),
                Some("session" | "jwt" | "cookie-cache")
            )
    }

    fn check(
        &self,
        access: &AccessControl,
        permissions: Option<&PermissionRequest>,
        organization_permissions: Option<&PermissionRequest>,
    ) -> Result<(), CallerError> {
        // Neither the user's own credential nor an API key (whose own permissions are checked):
        // nothing is granted.
        if self.api_key.is_none() && !self.is_users_own_credential() {
            return Err(CallerError::Forbidden {
                reason: "missing_permission",
            });
        }
        let requirement = Requirement {
            permissions: permissions.cloned(),
            organization_permissions: organization_permissions.cloned(),
            connector: Connector::And,
            scopes: Vec::new(),
        };
        requirement
            .check(access, &self.identity(), access.organization_roles())
            .map_err(|refusal| CallerError::Forbidden {
                reason: refusal.code(),
            })
    }

    /// The caller as auth-core's [`Identity`] (for the access-control checks).
    pub fn identity(&self) -> Identity {
        Identity {
            user_id: Some(self.user_id.clone()),
            session_id: self.session_id.clone(),
            email: self.email.clone().unwrap_or_default(),
            name: self.name.clone().unwrap_or_default(),
            role: self.role.clone(),
            email_verified: self.email_verified,
            impersonated_by: self.impersonated_by.clone(),
            expires_at: None,
            grant: match (&self.api_key, &self.oauth) {
                (Some(key), _) => Grant::ApiKey(Box::new(ApiKeyGrant {
                    id: key.id.clone(),
                    permissions: key.permissions.clone(),
                    remaining: key.remaining,
                })),
                (None, Some(oauth)) => Grant::OAuth(Box::new(OAuthGrant {
                    client_id: oauth.client_id.clone(),
                    scopes: oauth.scopes.clone(),
                    resource: oauth.resource.clone(),
                    user_bound: true,
                })),
                (None, None) => Grant::User,
            },
            extras: Vec::new(),
            organization: self.organization.as_ref().map(|o| {
                Box::new(ActiveOrganization {
                    id: o.id.clone(),
                    slug: o.slug.clone().unwrap_or_default(),
                    role: o.role.clone(),
                    team_id: o.team_id.clone(),
                })
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn context(json: serde_json::Value) -> AuthorizerContext {
        serde_json::from_value(json).unwrap()
    }

    #[test]
    fn the_context_becomes_a_typed_caller() {
        let caller = Caller::from_context(context(serde_json::json!({
            "userId": "u1", "sessionId": "", "email": "a@example.com", "role": "support",
            "emailVerified": "true", "verifiedBy": "api-key", "apiKeyId": "k1",
            "permissions": "{\"order\":[\"read\"]}", "remaining": "9",
            "activeOrganizationId": "o1", "organizationRole": "member", "plan": "pro"
        })))
        .unwrap();
        assert_eq!(caller.user_id, "u1");
        assert_eq!(caller.session_id, None);
        assert!(caller.email_verified);
        assert_eq!(caller.api_key.as_ref().unwrap().remaining, Some(9));
        assert_eq!(caller.organization.as_ref().unwrap().role, "member");
        assert_eq!(caller.fields.get("plan").map(String::as_str), Some("pro"));
        assert_eq!(
            Caller::from_context(context(serde_json::json!({"userId": ""}))),
            None
        );
    }

    #[test]
    fn an_organizations_key_is_never_a_caller() {
        // What the authorizer writes for an organization's key: no user.
        let organization_key = serde_json::json!({
            "organizationId": "7", "organizationSlug": "acme", "referenceType": "organization",
            "apiKeyId": "k1", "verifiedBy": "api-key", "authMethod": "api_key",
            "permissions": "{\"order\":[\"read\"]}"
        });
        assert_eq!(
            Caller::from_context(context(organization_key.clone())),
            None
        );
        // Not even when a forged or stale `userId` (user 7, the twin) rides along.
        let mut with_twin = organization_key;
        with_twin["userId"] = "7".into();
        assert_eq!(Caller::from_context(context(with_twin)), None);
    }

    /// Issue 23 (review): a user-bound OAuth token is the client acting within its scopes.
    #[test]
    fn an_oauth_caller_carries_its_client_and_scopes_never_the_users_power() {
        let caller = Caller::from_context(context(serde_json::json!({
            "userId": "u1", "role": "admin", "verifiedBy": "oauth", "authMethod": "oauth",
            "clientId": "c1", "scopes": "openid orders:read", "resource": "https://api.example"
        })))
        .unwrap();
        let oauth = caller.oauth.as_ref().unwrap();
        assert_eq!(
            (oauth.client_id.as_str(), oauth.scopes.as_str()),
            ("c1", "openid orders:read")
        );
        assert_eq!(caller.require_scopes(&["orders:read"]), Ok(()));
        assert_eq!(
            caller.require_scopes(&["orders:read", "orders:write"]),
            Err(CallerError::Forbidden {
                reason: "insufficient_scope"
            })
        );
        assert!(matches!(caller.identity().grant, Grant::OAuth(_)));
        // Its user's admin role is not the token's.
        let access = AccessControl::default();
        let list: PermissionRequest = serde_json::from_str(r#"{"user": ["list"]}"#).unwrap();
        assert!(caller.require(&access, &list).is_err());
        // A session caller is not asked for scopes.
        let session = Caller::from_context(context(serde_json::json!({
            "userId": "u1", "verifiedBy": "session"
        })))
        .unwrap();
        assert_eq!(session.require_scopes(&["anything"]), Ok(()));
    }

    #[test]
    fn require_applies_the_roles_and_the_keys_own_permissions() {
        let access = AccessControl::parse(
            r#"{"roles":{"clerk":{"order":["read","delete"]}},"organizationRoles":{"member":{"invoice":["read"]}}}"#,
        )
        .unwrap();
        let read: PermissionRequest = serde_json::from_str(r#"{"order":["read"]}"#).unwrap();
        let delete: PermissionRequest = serde_json::from_str(r#"{"order":["delete"]}"#).unwrap();
        let invoice: PermissionRequest = serde_json::from_str(r#"{"invoice":["read"]}"#).unwrap();
        let clerk = Caller::from_context(context(serde_json::json!({
            "userId": "u1", "role": "clerk", "verifiedBy": "session",
            "activeOrganizationId": "o1", "organizationRole": "member"
        })))
        .unwrap();
        assert_eq!(clerk.require(&access, &delete), Ok(()));
        // A credential the list does not name (a method added later, a context without
        // verifiedBy) carries none of the user's power.
        for verified_by in [Some("oauth"), None] {
            let mut other = clerk.clone();
            other.verified_by = verified_by.map(str::to_owned);
            assert_eq!(
                other.require(&access, &read),
                Err(CallerError::Forbidden {
                    reason: "missing_permission"
                })
            );
        }
        assert_eq!(clerk.require_in_organization(&access, &invoice), Ok(()));
        let mut key = clerk.clone();
        key.organization = None;
        key.api_key = Some(ApiKey {
            id: "k".into(),
            permissions: Some(r#"{"order":["read"]}"#.into()),
            remaining: None,
        });
        assert_eq!(key.require(&access, &read), Ok(()));
        assert_eq!(
            key.require(&access, &delete),
            Err(CallerError::Forbidden {
                reason: "missing_permission"
            })
        );
        assert_eq!(
            key.require_in_organization(&access, &invoice),
            Err(CallerError::Forbidden {
                reason: "no_active_organization"
            })
        );
    }
}
