//! The authorizer context: the flat strings and booleans downstream functions read.

use auth_core::Identity;
use serde::Serialize;

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
        let api_key = match identity.grant {
            auth_core::identity::Grant::ApiKey(key) => Some(*key),
            auth_core::identity::Grant::User => None,
        };
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
