//! The authorizer context, defined once: the authorizer writes it, the functions behind the
//! gateway read it back, and the keys an app field may not take derive from it.
//!
//! API Gateway hands the context on as `requestContext.authorizer` (REST: every value a string)
//! or `requestContext.authorizer.lambda` (HTTP API: values as written). [`AuthorizerContext`]
//! reads both: a boolean may arrive as `"true"`.

use std::collections::BTreeMap;

use serde::{Deserialize, Deserializer, Serialize};

use crate::identity::{Grant, Identity};

/// The longest user field passed on (API Gateway bounds the whole context).
pub const MAX_EXTRA_LEN: usize = 1024;

/// Declares the context's fields once: the struct, and the list of its keys.
macro_rules! context_fields {
    ($($(#[$doc:meta])* $field:ident : $ty:ty = $key:literal,)*) => {
        /// The flat context the authorizer returns and functions read: strings and booleans only,
        /// as REST APIs require; absent fields are left out. `sessionId` is empty when a JWT or an
        /// API key vouched for the user; `verifiedBy` says which method did.
        #[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
        pub struct AuthorizerContext {
            $($(#[$doc])*
            #[serde(rename = $key, default, skip_serializing_if = "Option::is_none")]
            pub $field: Option<$ty>,)*
            /// More of the user (plugin fields, `BETTER_AUTH_CONTEXT_USER_FIELDS`), under their
            /// names; never one of [`AuthorizerContext::KEYS`].
            #[serde(flatten)]
            pub extras: Extras,
        }

        impl AuthorizerContext {
            /// Every key the context itself writes (besides the user fields), and `principalId`,
            /// which API Gateway adds: none of them can name an app field.
            pub const KEYS: &'static [&'static str] = &[$($key,)* "principalId"];
        }
    };
}

context_fields! {
    /// The user's id (absent for a machine principal).
    user_id: String = "userId",
    /// The session's id; empty when no session vouched.
    session_id: String = "sessionId",
    /// The user's email.
    email: String = "email",
    /// The user's name.
    name: String = "name",
    /// The role list as stored (comma-separated).
    role: String = "role",
    /// Whether the email is verified.
    #[serde(deserialize_with = "bool_or_text")]
    email_verified: bool = "emailVerified",
    /// When the credential expires (RFC 3339).
    expires_at: String = "expiresAt",
    /// Where the credential came from (`bearer`, `cookie`, `api_key`).
    auth_method: String = "authMethod",
    /// Which method vouched (`session`, `jwt`, `cookie-cache`, `api-key`).
    verified_by: String = "verifiedBy",
    /// The admin impersonating the user.
    impersonated_by: String = "impersonatedBy",
    /// The API key's id, when one vouched.
    api_key_id: String = "apiKeyId",
    /// The API key's permissions (JSON text as stored; empty: none).
    permissions: String = "permissions",
    /// The API key's remaining uses.
    remaining: String = "remaining",
    /// The confirmed active organization (organization plugin): absent without a membership.
    active_organization_id: String = "activeOrganizationId",
    /// Its slug.
    organization_slug: String = "organizationSlug",
    /// The member's role list in it.
    organization_role: String = "organizationRole",
    /// The confirmed active team.
    active_team_id: String = "activeTeamId",
    /// The OAuth client an access token was issued to.
    client_id: String = "clientId",
    /// The OAuth token's scopes, space-separated.
    scopes: String = "scopes",
    /// The configured resource identifier the OAuth token's audience matched.
    resource: String = "resource",
    /// A Deny's reason (a stable code).
    reason: String = "reason",
    /// The organization a machine principal acts for (an organization's API key; its slug is
    /// `organizationSlug`). Never an active organization: no user, no membership.
    organization_id: String = "organizationId",
    /// Whose credential vouched when it is not a user's: `organization`.
    reference_type: String = "referenceType",
}

/// User fields as flat context entries (text, at most [`MAX_EXTRA_LEN`] bytes each).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Extras(pub BTreeMap<String, String>);

impl Serialize for Extras {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_map(self.0.iter())
    }
}

impl<'de> Deserialize<'de> for Extras {
    /// Every other string entry; what API Gateway adds (`principalId`, `integrationLatency`)
    /// and non-text values are left out.
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let all = BTreeMap::<String, serde_json::Value>::deserialize(deserializer)?;
        Ok(Self(
            all.into_iter()
                .filter(|(key, _)| !AuthorizerContext::KEYS.contains(&key.as_str()))
                .filter_map(|(key, value)| match value {
                    serde_json::Value::String(text) => Some((key, text)),
                    _ => None,
                })
                .collect(),
        ))
    }
}

fn bool_or_text<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<bool>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum BoolOrText {
        Bool(bool),
        Text(String),
    }
    Ok(match Option::<BoolOrText>::deserialize(deserializer)? {
        Some(BoolOrText::Bool(b)) => Some(b),
        Some(BoolOrText::Text(t)) => match t.as_str() {
            "true" => Some(true),
            "false" => Some(false),
            _ => None,
        },
        None => None,
    })
}

impl AuthorizerContext {
    /// The caller's context, moved out of the identity; of the user's extra fields, those named
    /// in `fields` (and at most [`MAX_EXTRA_LEN`] bytes long).
    pub fn of(
        identity: Identity,
        auth_method: &'static str,
        verified_by: &'static str,
        fields: &[String],
    ) -> Self {
        let (api_key, owner, oauth) = match identity.grant {
            Grant::ApiKey(key) => (Some(*key), None, None),
            Grant::OrganizationKey(org) => {
                let org = *org;
                (
                    Some(org.key),
                    Some((org.organization_id, org.organization_slug)),
                    None,
                )
            }
            Grant::OAuth(grant) => (None, None, Some(*grant)),
            Grant::User => (None, None, None),
        };
        let (mut active_organization_id, mut organization_slug, organization_role, active_team_id) =
            match identity.organization.map(|o| *o) {
                Some(o) => (Some(o.id), Some(o.slug), Some(o.role), o.team_id),
                None => (None, None, None, None),
            };
        let (organization_id, reference_type) = match owner {
            Some((id, slug)) => {
                organization_slug = Some(slug);
                active_organization_id = None;
                (Some(id), Some("organization".to_owned()))
            }
            None => (None, None),
        };
        let extras = Extras(
            identity
                .extras
                .into_iter()
                .filter(|(name, value)| value.len() <= MAX_EXTRA_LEN && fields.contains(name))
                .collect(),
        );
        // A machine principal has no user: none of the user's keys are written.
        let user = identity.user_id.is_some();
        Self {
            extras,
            session_id: user.then(|| identity.session_id.unwrap_or_default()),
            email: user.then_some(identity.email),
            name: user.then_some(identity.name),
            role: user.then(|| identity.role.unwrap_or_default()),
            email_verified: user.then_some(identity.email_verified),
            expires_at: identity.expires_at.map(|at| at.to_rfc3339()),
            auth_method: Some(auth_method.to_owned()),
            verified_by: Some(verified_by.to_owned()),
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
            user_id: identity.user_id,
            organization_id,
            reference_type,
            client_id: oauth.as_ref().map(|g| g.client_id.clone()),
            scopes: oauth.as_ref().map(|g| g.scopes.clone()),
            resource: oauth.and_then(|g| g.resource),
            reason: None,
        }
    }

    /// A Deny's context: only the reason.
    pub fn refusal(reason: &'static str) -> Self {
        Self {
            reason: Some(reason.to_owned()),
            ..Self::default()
        }
    }

    /// Reads the context API Gateway passed on (REST's string values or HTTP API's typed ones);
    /// `None` when it is not an object or a key has the wrong type (the function then verifies
    /// the request itself: partial data is never trusted). `principalId` is not read as the
    /// user: only our authorizer's `userId` names one.
    pub fn from_fields<'a>(
        fields: impl IntoIterator<Item = (&'a String, &'a serde_json::Value)>,
    ) -> Option<Self> {
        let map: serde_json::Map<String, serde_json::Value> = fields
            .into_iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        serde_json::from_value(serde_json::Value::Object(map)).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn what_the_authorizer_writes_a_function_reads_back_in_both_shapes() {
        let mut written = AuthorizerContext {
            user_id: Some("u1".into()),
            session_id: Some(String::new()),
            email_verified: Some(true),
            api_key_id: Some("k1".into()),
            active_organization_id: Some("o1".into()),
            ..AuthorizerContext::default()
        };
        written.extras.0.insert("plan".into(), "pro".into());
        let json = serde_json::to_value(&written).expect("serialize");
        let fields: Vec<(String, serde_json::Value)> = json
            .as_object()
            .expect("object")
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        let typed = AuthorizerContext::from_fields(fields.iter().map(|(k, v)| (k, v)))
            .expect("HTTP API shape");
        assert_eq!(typed, written);
        // REST: every value a string, plus what API Gateway adds.
        let mut rest: Vec<(String, serde_json::Value)> = fields
            .iter()
            .map(|(k, v)| {
                let text = match v {
                    serde_json::Value::String(s) => s.clone(),
                    other => other.to_string(),
                };
                (k.clone(), serde_json::Value::String(text))
            })
            .collect();
        rest.push(("principalId".into(), "u1".into()));
        rest.push(("integrationLatency".into(), serde_json::json!(12)));
        let strings =
            AuthorizerContext::from_fields(rest.iter().map(|(k, v)| (k, v))).expect("REST shape");
        assert_eq!(strings, written);
    }

    #[test]
    fn every_written_key_is_reserved() {
        let full = AuthorizerContext {
            user_id: Some(String::new()),
            session_id: Some(String::new()),
            email: Some(String::new()),
            name: Some(String::new()),
            role: Some(String::new()),
            email_verified: Some(false),
            expires_at: Some(String::new()),
            auth_method: Some(String::new()),
            verified_by: Some(String::new()),
            impersonated_by: Some(String::new()),
            api_key_id: Some(String::new()),
            permissions: Some(String::new()),
            remaining: Some(String::new()),
            active_organization_id: Some(String::new()),
            organization_slug: Some(String::new()),
            organization_role: Some(String::new()),
            active_team_id: Some(String::new()),
            client_id: Some(String::new()),
            scopes: Some(String::new()),
            resource: Some(String::new()),
            reason: Some(String::new()),
            organization_id: Some(String::new()),
            reference_type: Some(String::new()),
            extras: Extras::default(),
        };
        let json = serde_json::to_value(&full).expect("serialize");
        for key in json.as_object().expect("object").keys() {
            assert!(AuthorizerContext::KEYS.contains(&key.as_str()), "{key}");
        }
        assert!(AuthorizerContext::KEYS.contains(&"activeOrganizationId"));
        assert!(AuthorizerContext::KEYS.contains(&"principalId"));
    }
}
