//! What a session row means: the pure decision from a looked-up session to an [`Identity`].

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::env::{ConfigError, Env};

/// One session joined with its user, as the database returns it (timestamps already in UTC).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionRecord {
    /// `session.id`.
    pub session_id: String,
    /// `session.userId`.
    pub user_id: String,
    /// `session.expiresAt`.
    pub expires_at: DateTime<Utc>,
    /// `session.impersonatedBy` (admin plugin), when set.
    pub impersonated_by: Option<String>,
    /// A `revoked` column on the session table (not Better Auth's; some schemas add it).
    pub revoked: bool,
    /// `user.email`.
    pub email: String,
    /// `user.name`.
    pub name: String,
    /// `user.emailVerified`.
    pub email_verified: bool,
    /// `user.role` (admin plugin): a comma-separated list.
    pub role: Option<String>,
    /// `user.banned` (admin plugin).
    pub banned: Option<bool>,
    /// `user.banExpires` (admin plugin); NULL with `banned` means a permanent ban.
    pub ban_expires: Option<DateTime<Utc>>,
    /// The impersonating admin's `banned`, for impersonation sessions (read in the same query).
    pub impersonator_banned: Option<bool>,
    /// The impersonating admin's `banExpires`.
    pub impersonator_ban_expires: Option<DateTime<Utc>>,
    /// More of the user, as text (`isAnonymous`, `username`, … and
    /// `BETTER_AUTH_CONTEXT_USER_FIELDS`): what the authorizer may pass on in its context.
    pub extras: UserExtras,
    /// The session's active organization, only as confirmed by a membership (boxed: most
    /// sessions have none).
    pub organization: Option<Box<ActiveOrganization>>,
}

/// A session's active organization (organization plugin), confirmed: the session points at it
/// and a `member` row for this user and organization exists. A stale pointer (member removed,
/// organization deleted) is never one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ActiveOrganization {
    /// `organization.id` (the session's `activeOrganizationId`).
    pub id: String,
    /// `organization.slug`.
    pub slug: String,
    /// The member's `role` list as stored (comma-separated).
    pub role: String,
    /// The session's `activeTeamId`, only when the team is this organization's and the user is
    /// on it.
    pub team_id: Option<String>,
}

/// User fields beyond the core ones, as `(field, text)`: plugin fields (`isAnonymous`,
/// `username`, `displayUsername`, `phoneNumber`, `phoneNumberVerified`, `twoFactorEnabled`) and
/// the app's own (`BETTER_AUTH_CONTEXT_USER_FIELDS`). Empty costs nothing.
pub type UserExtras = Vec<(String, String)>;

/// The plugin fields passed on whenever the user has them.
pub const PLUGIN_USER_FIELDS: [&str; 6] = [
    "isAnonymous",
    "username",
    "displayUsername",
    "phoneNumber",
    "phoneNumberVerified",
    "twoFactorEnabled",
];

/// Whether the user is an anonymous-plugin guest (`isAnonymous` true).
pub fn is_anonymous(extras: &UserExtras) -> bool {
    extras
        .iter()
        .any(|(name, value)| name == "isAnonymous" && value == "true")
}

/// A JSON value as context text: strings as they are, other scalars printed; `null`, objects and
/// arrays are left out.
fn scalar_text(value: &serde_json::Value) -> Option<String> {
    match value {
        serde_json::Value::String(s) => Some(s.clone()),
        serde_json::Value::Bool(b) => Some(b.to_string()),
        serde_json::Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// The scalar fields of a user JSON object that are not core fields.
pub fn json_extras(other: &serde_json::Map<String, serde_json::Value>) -> UserExtras {
    const CORE: [&str; 12] = [
        "id",
        "email",
        "name",
        "emailVerified",
        "role",
        "banned",
        "banExpires",
        "banReason",
        "image",
        "createdAt",
        "updatedAt",
        "sub",
    ];
    other
        .iter()
        .filter(|(name, _)| !CORE.contains(&name.as_str()))
        .filter_map(|(name, value)| Some((name.clone(), scalar_text(value)?)))
        .collect()
}

/// The user as Better Auth serializes it next to a session, in a cookie cache or a
/// secondary-storage value: a snapshot from sign-in (or the cache's last refresh).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UserSnapshot {
    /// `id`.
    pub id: String,
    /// `email`.
    #[serde(default)]
    pub email: Option<String>,
    /// `name`.
    #[serde(default)]
    pub name: Option<String>,
    /// `emailVerified`.
    #[serde(default)]
    pub email_verified: Option<bool>,
    /// `role` (admin plugin).
    #[serde(default)]
    pub role: Option<String>,
    /// `banned` (admin plugin).
    #[serde(default)]
    pub banned: Option<bool>,
    /// `banExpires` (admin plugin).
    #[serde(default)]
    pub ban_expires: Option<DateTime<Utc>>,
    /// Every other field (plugin and app fields among them).
    #[serde(flatten)]
    pub other: serde_json::Map<String, serde_json::Value>,
}

impl UserSnapshot {
    /// The record of one of this user's sessions.
    pub fn into_record(
        self,
        session_id: String,
        expires_at: DateTime<Utc>,
        impersonated_by: Option<String>,
    ) -> SessionRecord {
        SessionRecord {
            session_id,
            user_id: self.id,
            expires_at,
            impersonated_by,
            revoked: false,
            email: self.email.unwrap_or_default(),
            name: self.name.unwrap_or_default(),
            email_verified: self.email_verified.unwrap_or(false),
            role: self.role,
            banned: self.banned,
            ban_expires: self.ban_expires,
            impersonator_banned: None,
            impersonator_ban_expires: None,
            extras: json_extras(&self.other),
            organization: None,
        }
    }
}

/// A verified caller.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Identity {
    /// The user's id; `None` for a machine principal (an organization's API key,
    /// [`Grant::OrganizationKey`], or an OAuth client-credentials token), which is nobody's user
    /// and holds no user's power.
    pub user_id: Option<String>,
    /// The session's id (never the token); `None` when a JWT vouched for the user.
    pub session_id: Option<String>,
    /// The user's email.
    pub email: String,
    /// The user's name.
    pub name: String,
    /// The user's role list as stored (comma-separated), when the admin plugin is on.
    pub role: Option<String>,
    /// Whether the email address is verified.
    pub email_verified: bool,
    /// The admin impersonating this user, when the session is an impersonation.
    pub impersonated_by: Option<String>,
    /// When the credential expires (the session, the JWT, the API key); `None` for an API key
    /// without expiry.
    pub expires_at: Option<DateTime<Utc>>,
    /// What the credential grants: all the user may do, or only what an API key allows.
    pub grant: Grant,
    /// More of the user (see [`UserExtras`]); the authorizer passes on the configured ones.
    pub extras: UserExtras,
    /// The confirmed active organization (sessions looked up in the store only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub organization: Option<Box<ActiveOrganization>>,
}

/// What the credential grants besides who the caller is. One variant per kind of delegated
/// credential: a new method that delegates (an OAuth token) adds one here, not a field.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase", tag = "kind")]
pub enum Grant {
    /// The user's own credential (session, JWT, cookie cache): whatever the user may do.
    #[default]
    User,
    /// An API key: its permissions and remaining uses (boxed: rare, and it keeps every
    /// session's identity small).
    ApiKey(Box<ApiKeyGrant>),
    /// An organization's API key (`references: "organization"`): a machine principal of that
    /// organization, with no user behind it.
    OrganizationKey(Box<OrganizationKeyGrant>),
    /// An OAuth access token (`@better-auth/oauth-provider`): only what its scopes say.
    OAuth(Box<OAuthGrant>),
}

/// What an OAuth access token grants: the client it was issued to, its scopes and the resource
/// it was issued for. A client-credentials token has no user (`user_bound` false): the
/// identity's `user_id` is then `None` and the context carries no `userId`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct OAuthGrant {
    /// `azp` / `client_id`.
    pub client_id: String,
    /// The granted scopes, space-separated as in the token's `scope`.
    pub scopes: String,
    /// The configured resource identifier the token's audience matched (`None`: an opaque
    /// token issued without a resource).
    pub resource: Option<String>,
    /// Whether a user delegated the token (false: client credentials, a machine principal).
    pub user_bound: bool,
}

impl OAuthGrant {
    /// The granted scopes, one by one.
    pub fn scopes(&self) -> impl Iterator<Item = &str> {
        self.scopes.split(' ').filter(|s| !s.is_empty())
    }

    /// Whether every scope of `required` was granted (exact strings).
    pub fn has_all<'a>(&self, required: impl IntoIterator<Item = &'a str>) -> bool {
        required.into_iter().all(|r| self.scopes().any(|s| s == r))
    }
}

/// How far a credential carries its user's power (the access-control checks ask this, one
/// exhaustive match: a new kind of credential decides here what it may do, or does not build).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Delegation<'a> {
    /// The user's own credential: whatever the user's roles allow.
    Full,
    /// A delegated credential: the user's roles *and* these permissions (JSON text as stored,
    /// `{"resource": ["action"]}`; `None`: none). It confirms no organization.
    Permissions(Option<&'a str>),
    /// An organization's own credential: no user's power at all (user-level rules never
    /// hold); in its organization, exactly these permissions (JSON text as stored; `None`:
    /// none), as the api-key plugin's `verifyApiKey({ permissions })` checks a key.
    Organization(Option<&'a str>),
    /// An OAuth access token: a route's `scopes` must all be granted; a route's
    /// `permissions` are the user's roles *and* the route's scopes (a rule naming no scope
    /// delegates nothing to OAuth); a machine principal (no user) has no roles at all. It
    /// confirms no organization.
    Scopes(&'a OAuthGrant),
}

impl Grant {
    /// How far this credential carries the user's power.
    pub fn delegation(&self) -> Delegation<'_> {
        match self {
            Self::User => Delegation::Full,
            Self::ApiKey(key) => Delegation::Permissions(key.permissions.as_deref()),
            Self::OrganizationKey(org) => Delegation::Organization(org.key.permissions.as_deref()),
            Self::OAuth(grant) => Delegation::Scopes(grant),
        }
    }

    /// The OAuth token's grant, when one vouched for the caller.
    pub fn oauth(&self) -> Option<&OAuthGrant> {
        match self {
            Self::OAuth(grant) => Some(grant),
            Self::User | Self::ApiKey(_) | Self::OrganizationKey(_) => None,
        }
    }

    /// The API key, when one vouched for the caller (a user's or an organization's).
    pub fn api_key(&self) -> Option<&ApiKeyGrant> {
        match self {
            Self::ApiKey(key) => Some(key),
            Self::OrganizationKey(org) => Some(&org.key),
            Self::User | Self::OAuth(_) => None,
        }
    }
}

/// What an organization's API key grants: the key, and the organization it acts for (which
/// existed when the key was used).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct OrganizationKeyGrant {
    /// The key (id, permissions, remaining uses).
    pub key: ApiKeyGrant,
    /// `organization.id` (the key's `referenceId`).
    pub organization_id: String,
    /// `organization.slug`.
    pub organization_slug: String,
}

/// What an API key grants: which key, its permissions and the uses it has left.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ApiKeyGrant {
    /// `apikey.id`.
    pub id: String,
    /// `permissions`, the JSON text as stored.
    pub permissions: Option<String>,
    /// `remaining` after this use; `None` when the key is not counted.
    pub remaining: Option<i64>,
}

/// An API key as the store found it when a request used it, with its owner. The flags are the
/// row's state before this use; `counted` says whether the guarded update counted this use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiKeyRecord {
    /// `apikey.id`.
    pub key_id: String,
    /// This use was counted (quota and rate limit), in the one guarded statement.
    pub counted: bool,
    /// `enabled` is false.
    pub disabled: bool,
    /// `expiresAt` has passed (Better Auth then deletes the key; so does the statement).
    pub expired: bool,
    /// `remaining` is used up and no refill is due.
    pub exhausted: bool,
    /// The rate-limit window is full.
    pub rate_limited: bool,
    /// `remaining` after this use (when counted) or as stored.
    pub remaining: Option<i64>,
    /// `permissions`.
    pub permissions: Option<String>,
    /// `expiresAt`.
    pub expires_at: Option<DateTime<Utc>>,
    /// The owner (`referenceId`) as the key's configuration reads it, when it exists.
    pub owner: Option<KeyOwner>,
}

/// Whose a key is: its configuration's `references` says which table `referenceId` names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyOwner {
    /// A user (`references: "user"`, the default).
    User(CredentialUser),
    /// An organization (`references: "organization"`): never the user who shares its id.
    Organization {
        /// `organization.id`.
        id: String,
        /// `organization.slug`.
        slug: String,
    },
}

/// The user behind a credential, as the database holds them (the owner of an API key; the user of
/// a session).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CredentialUser {
    /// `user.id`.
    pub user_id: String,
    /// `user.email`.
    pub email: String,
    /// `user.name`.
    pub name: String,
    /// `user.emailVerified`.
    pub email_verified: bool,
    /// `user.role`.
    pub role: Option<String>,
    /// `user.banned`.
    pub banned: Option<bool>,
    /// `user.banExpires`.
    pub ban_expires: Option<DateTime<Utc>>,
    /// More of the user.
    pub extras: UserExtras,
}

/// Decides an API key use, in Better Auth's order (unknown, disabled, expired, used up, rate
/// limited), then what we add: the owner must exist; a user must not be banned and must meet
/// the policy; an organization is a machine principal of its own.
pub fn evaluate_api_key(
    record: Option<ApiKeyRecord>,
    now: DateTime<Utc>,
    policy: Policy,
) -> Result<Identity, Refusal> {
    let record = record.ok_or(Refusal::Unknown)?;
    if record.disabled {
        return Err(Refusal::KeyDisabled);
    }
    if record.expired {
        return Err(Refusal::Expired);
    }
    if record.exhausted {
        return Err(Refusal::UsageExceeded);
    }
    if record.rate_limited {
        return Err(Refusal::RateLimited);
    }
    let owner = record.owner.ok_or(Refusal::Unknown)?;
    if let KeyOwner::User(user) = &owner {
        if is_banned(user.banned, user.ban_expires, now) {
            return Err(Refusal::Banned);
        }
        if policy.require_email_verified && !user.email_verified {
            return Err(Refusal::EmailNotVerified);
        }
        if policy.refuse_anonymous && is_anonymous(&user.extras) {
            return Err(Refusal::Anonymous);
        }
    }
    if policy.require_active_organization {
        // A key confirms no session's active organization.
        return Err(Refusal::NoActiveOrganization);
    }
    if !record.counted {
        // Allowed when read, not counted when written: a concurrent use took the last one.
        return Err(Refusal::UsageExceeded);
    }
    let key = ApiKeyGrant {
        id: record.key_id,
        permissions: record.permissions,
        remaining: record.remaining,
    };
    Ok(match owner {
        KeyOwner::User(owner) => Identity {
            user_id: Some(owner.user_id),
            session_id: None,
            email: owner.email,
            name: owner.name,
            role: owner.role,
            email_verified: owner.email_verified,
            impersonated_by: None,
            expires_at: record.expires_at,
            grant: Grant::ApiKey(Box::new(key)),
            extras: owner.extras,
            organization: None,
        },
        KeyOwner::Organization { id, slug } => Identity {
            user_id: None,
            session_id: None,
            email: String::new(),
            name: String::new(),
            role: None,
            email_verified: false,
            impersonated_by: None,
            expires_at: record.expires_at,
            grant: Grant::OrganizationKey(Box::new(OrganizationKeyGrant {
                key,
                organization_id: id,
                organization_slug: slug,
            })),
            extras: Vec::new(),
            organization: None,
        },
    })
}

/// What the store found about an OAuth token's client, session, audience and user, in one
/// statement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OAuthSubject {
    /// The client exists and is not `disabled`.
    pub client_active: bool,
    /// The token names no session, or its session exists and has not expired (or been revoked)
    /// when the store was asked.
    pub session_alive: bool,
    /// The named session's `expiresAt`, when it names one that exists: checked again at the
    /// time of use (an answer may be reused from the result cache).
    pub session_expires_at: Option<DateTime<Utc>>,
    /// Every audience value is still a registered resource (true without that table).
    pub resources_registered: bool,
    /// The user, when the token names one and such a user exists.
    pub user: Option<CredentialUser>,
}

/// An opaque access token's row (`oauthAccessToken`, found by hash), with its subject.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OAuthTokenRecord {
    /// `clientId`.
    pub client_id: String,
    /// `userId`; `None` for client credentials.
    pub user_id: Option<String>,
    /// `sessionId`.
    pub session_id: Option<String>,
    /// `scopes`, as stored (a JSON array as text, or a space-separated string).
    pub scopes: String,
    /// `resources`, as stored (a JSON array as text), when issued for resources.
    pub resources: Option<String>,
    /// `expiresAt`.
    pub expires_at: DateTime<Utc>,
    /// `revoked` is set.
    pub revoked: bool,
    /// `confirmation`, as stored (the `cnf` JSON of a sender-constrained token), when set.
    pub confirmation: Option<String>,
    /// The client, session, resources and user.
    pub subject: OAuthSubject,
}

/// An OAuth access token's verified claims (from a JWT, or an opaque token's row).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OAuthClaims {
    /// `azp` / `client_id`.
    pub client_id: String,
    /// `sub` for a user's token; `None` for client credentials.
    pub user_id: Option<String>,
    /// `sid`.
    pub session_id: Option<String>,
    /// `scope`, space-separated.
    pub scopes: String,
    /// The configured resource the audience matched.
    pub resource: Option<String>,
    /// `exp`.
    pub expires_at: DateTime<Utc>,
}

/// Decides an OAuth access token from its verified claims and what the store found, in the
/// provider's introspection order (client, resources, session), then what we add as for every
/// credential: the user must exist, not be banned, and meet the policy.
pub fn evaluate_oauth(
    claims: OAuthClaims,
    subject: OAuthSubject,
    now: DateTime<Utc>,
    policy: Policy,
) -> Result<Identity, Refusal> {
    if !subject.client_active {
        return Err(Refusal::OAuthClientDisabled);
    }
    if !subject.resources_registered {
        return Err(Refusal::OAuthResourceRemoved);
    }
    if !subject.session_alive || subject.session_expires_at.is_some_and(|e| e <= now) {
        return Err(Refusal::OAuthSessionEnded);
    }
    if policy.require_active_organization {
        // An OAuth token confirms no organization.
        return Err(Refusal::NoActiveOrganization);
    }
    let user = match claims.user_id {
        None => None,
        Some(_) => {
            let user = subject.user.ok_or(Refusal::Unknown)?;
            if is_banned(user.banned, user.ban_expires, now) {
                return Err(Refusal::Banned);
            }
            if policy.require_email_verified && !user.email_verified {
                return Err(Refusal::EmailNotVerified);
            }
            if policy.refuse_anonymous && is_anonymous(&user.extras) {
                return Err(Refusal::Anonymous);
            }
            Some(user)
        }
    };
    let grant = Grant::OAuth(Box::new(OAuthGrant {
        client_id: claims.client_id,
        scopes: claims.scopes,
        resource: claims.resource,
        user_bound: user.is_some(),
    }));
    Ok(match user {
        Some(user) => Identity {
            user_id: Some(user.user_id),
            session_id: claims.session_id,
            email: user.email,
            name: user.name,
            role: user.role,
            email_verified: user.email_verified,
            impersonated_by: None,
            expires_at: Some(claims.expires_at),
            grant,
            extras: user.extras,
            organization: None,
        },
        // A machine principal: no user, no roles, no session.
        None => Identity {
            user_id: None,
            session_id: None,
            email: String::new(),
            name: String::new(),
            role: None,
            email_verified: false,
            impersonated_by: None,
            expires_at: Some(claims.expires_at),
            grant,
            extras: Vec::new(),
            organization: None,
        },
    })
}

impl Identity {
    /// The principal API Gateway is told (`principalId`): the user's id, or for a machine
    /// principal `organization:<id>` (an organization's key) or `oauth-client:<clientId>` (an
    /// OAuth client-credentials token), never a bare id a user may also hold.
    pub fn principal(&self) -> String {
        match (&self.user_id, &self.grant) {
            (Some(user_id), _) => user_id.clone(),
            (None, Grant::OrganizationKey(org)) => format!("organization:{}", org.organization_id),
            (None, Grant::OAuth(grant)) => format!("oauth-client:{}", grant.client_id),
            (None, _) => "unknown".to_owned(),
        }
    }

    /// The roles, split at commas exactly as Better Auth's admin plugin splits them (no
    /// trimming: `"user, admin"` holds the roles `user` and ` admin`, which is not `admin`).
    pub fn roles(&self) -> impl Iterator<Item = &str> {
        split_roles(self.role.as_deref())
    }
}

/// A stored role list split as Better Auth's `hasPermission` splits it: at commas, untrimmed.
pub fn split_roles(role: Option<&str>) -> impl Iterator<Item = &str> {
    role.unwrap_or_default()
        .split(',')
        .filter(|r| !r.is_empty())
}

/// Why a session that exists is not accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    /// No session has this token (never existed, signed out, revoked by deletion, user deleted).
    #[error("unknown session")]
    Unknown,
    /// `expiresAt` is not in the future.
    #[error("session expired")]
    Expired,
    /// The session's `revoked` column is true.
    #[error("session revoked")]
    Revoked,
    /// The user is banned and the ban has not expired.
    #[error("user banned")]
    Banned,
    /// The user's email is not verified and the configuration requires it.
    #[error("email not verified")]
    EmailNotVerified,
    /// An impersonation session whose impersonating admin is banned: it ends with the ban.
    #[error("the impersonating admin is banned")]
    ImpersonatorBanned,
    /// An anonymous-plugin guest, with `BETTER_AUTH_REFUSE_ANONYMOUS`.
    #[error("anonymous user")]
    Anonymous,
    /// No confirmed active organization, with `BETTER_AUTH_REQUIRE_ACTIVE_ORGANIZATION`.
    #[error("no active organization")]
    NoActiveOrganization,
    /// An API key whose `enabled` is false.
    #[error("API key disabled")]
    KeyDisabled,
    /// An API key whose `remaining` uses are spent (Better Auth: `USAGE_EXCEEDED`).
    #[error("API key usage exceeded")]
    UsageExceeded,
    /// An API key over its rate limit (Better Auth: `RATE_LIMITED`).
    #[error("API key rate limited")]
    RateLimited,
    /// An OAuth token's client is unknown or `disabled`.
    #[error("OAuth client unknown or disabled")]
    OAuthClientDisabled,
    /// An OAuth token's `sid` session is gone or expired.
    #[error("the OAuth token's session ended")]
    OAuthSessionEnded,
    /// An OAuth token's audience names a resource no longer registered (`oauthResource`).
    #[error("the OAuth token's resource is no longer registered")]
    OAuthResourceRemoved,
    /// An OAuth token lacks a scope the deployment requires (`BETTER_AUTH_OAUTH_REQUIRED_SCOPES`).
    #[error("insufficient scope")]
    InsufficientScope,
    /// A sender-constrained (DPoP, `cnf`) token presented as a plain bearer token, without a
    /// proof, or while `BETTER_AUTH_OAUTH_DPOP` is off.
    #[error("a DPoP-bound token without its proof")]
    DpopRequired,
    /// A DPoP proof whose `jti` was already used for this key, method and URL.
    #[error("the DPoP proof was already used")]
    DpopReplayed,
    /// `Authorization: DPoP` with a token that is not DPoP-bound.
    #[error("DPoP authorization with a token not bound to a key")]
    DpopNotBound,
    /// A DPoP-bound token where the request's method and URL are unknown (a REST TOKEN
    /// authorizer), so no proof can be checked.
    #[error("a DPoP-bound token where the request's URL is unknown")]
    DpopNoRequest,
}

impl Refusal {
    /// A stable short code for logs.
    pub fn code(self) -> &'static str {
        match self {
            Self::Unknown => "unknown_session",
            Self::Expired => "session_expired",
            Self::Revoked => "session_revoked",
            Self::Banned => "user_banned",
            Self::EmailNotVerified => "email_not_verified",
            Self::ImpersonatorBanned => "impersonator_banned",
            Self::Anonymous => "anonymous_user",
            Self::NoActiveOrganization => "no_active_organization",
            Self::KeyDisabled => "api_key_disabled",
            Self::UsageExceeded => "usage_exceeded",
            Self::RateLimited => "rate_limited",
            Self::OAuthClientDisabled => "oauth_client_disabled",
            Self::OAuthSessionEnded => "oauth_session_ended",
            Self::OAuthResourceRemoved => "oauth_resource_removed",
            Self::InsufficientScope => "insufficient_scope",
            Self::DpopRequired => "dpop_proof_required",
            Self::DpopReplayed => "dpop_proof_replayed",
            Self::DpopNotBound => "dpop_token_not_bound",
            Self::DpopNoRequest => "dpop_request_unknown",
        }
    }

    /// True when the caller is known but not permitted (a 403 rather than a 401).
    pub fn is_forbidden(self) -> bool {
        matches!(
            self,
            Self::Banned
                | Self::EmailNotVerified
                | Self::Anonymous
                | Self::NoActiveOrganization
                | Self::UsageExceeded
                | Self::RateLimited
                | Self::InsufficientScope
        )
    }
}

/// What besides existence and expiry a session must satisfy.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Policy {
    /// Refuse users whose email is not verified.
    pub require_email_verified: bool,
    /// `BETTER_AUTH_REFUSE_ANONYMOUS`: refuse anonymous-plugin guests.
    pub refuse_anonymous: bool,
    /// `BETTER_AUTH_REQUIRE_ACTIVE_ORGANIZATION`: refuse callers without a confirmed active
    /// organization.
    pub require_active_organization: bool,
}

/// True when `banned` is set and the ban has no end or ends in the future.
pub fn is_banned(
    banned: Option<bool>,
    ban_expires: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> bool {
    banned == Some(true) && ban_expires.is_none_or(|until| until > now)
}

/// Checks a looked-up session at `now`: expiry, revocation, bans, then the policy.
pub fn check(record: &SessionRecord, now: DateTime<Utc>, policy: Policy) -> Result<(), Refusal> {
    if record.expires_at <= now {
        return Err(Refusal::Expired);
    }
    if record.revoked {
        return Err(Refusal::Revoked);
    }
    if is_banned(record.banned, record.ban_expires, now) {
        return Err(Refusal::Banned);
    }
    if record.impersonated_by.is_some()
        && is_banned(
            record.impersonator_banned,
            record.impersonator_ban_expires,
            now,
        )
    {
        return Err(Refusal::ImpersonatorBanned);
    }
    if policy.require_email_verified && !record.email_verified {
        return Err(Refusal::EmailNotVerified);
    }
    if policy.refuse_anonymous && is_anonymous(&record.extras) {
        return Err(Refusal::Anonymous);
    }
    if policy.require_active_organization && record.organization.is_none() {
        return Err(Refusal::NoActiveOrganization);
    }
    Ok(())
}

impl From<SessionRecord> for Identity {
    fn from(record: SessionRecord) -> Self {
        Self {
            user_id: Some(record.user_id),
            session_id: Some(record.session_id),
            email: record.email,
            name: record.name,
            role: record.role,
            email_verified: record.email_verified,
            impersonated_by: record.impersonated_by,
            expires_at: Some(record.expires_at),
            grant: Grant::User,
            extras: record.extras,
            organization: record.organization,
        }
    }
}

/// Decides whether a looked-up session (or none) is valid at `now`.
pub fn evaluate(
    record: Option<SessionRecord>,
    now: DateTime<Utc>,
    policy: Policy,
) -> Result<Identity, Refusal> {
    let record = record.ok_or(Refusal::Unknown)?;
    check(&record, now, policy)?;
    Ok(record.into())
}

/// Better Auth's `session.expiresIn`, in seconds (`BETTER_AUTH_SESSION_EXPIRES_IN`; default 7
/// days, as Better Auth's): read once here for every rule that depends on it (sliding refresh,
/// the revocation marker's lifetime).
pub fn session_expires_in(env: &Env<'_>) -> Result<i64, ConfigError> {
    const DAY: i64 = 24 * 60 * 60;
    env.number("BETTER_AUTH_SESSION_EXPIRES_IN", 7 * DAY, 60, 400 * DAY)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Duration;

    fn record(now: DateTime<Utc>) -> SessionRecord {
        SessionRecord {
            session_id: "s1".into(),
            user_id: "u1".into(),
            expires_at: now + Duration::days(7),
            impersonated_by: None,
            revoked: false,
            email: "a@example.com".into(),
            name: "A".into(),
            email_verified: true,
            role: Some("admin,user".into()),
            banned: None,
            ban_expires: None,
            impersonator_banned: None,
            impersonator_ban_expires: None,
            extras: Vec::new(),
            organization: None,
        }
    }

    #[test]
    fn a_live_session_is_an_identity() {
        let now = Utc::now();
        let identity = evaluate(Some(record(now)), now, Policy::default()).expect("valid");
        assert_eq!(identity.user_id.as_deref(), Some("u1"));
        assert_eq!(identity.roles().collect::<Vec<_>>(), ["admin", "user"]);
        let spaced = Identity {
            role: Some("user, admin".into()),
            ..identity
        };
        assert_eq!(spaced.roles().collect::<Vec<_>>(), ["user", " admin"]);
    }

    #[test]
    fn refusals() {
        let now = Utc::now();
        assert_eq!(
            evaluate(None, now, Policy::default()),
            Err(Refusal::Unknown)
        );
        let mut r = record(now);
        r.expires_at = now;
        assert_eq!(
            evaluate(Some(r), now, Policy::default()),
            Err(Refusal::Expired)
        );
        let mut r = record(now);
        r.revoked = true;
        assert_eq!(
            evaluate(Some(r), now, Policy::default()),
            Err(Refusal::Revoked)
        );
        let mut r = record(now);
        r.email_verified = false;
        let strict = Policy {
            require_email_verified: true,
            ..Policy::default()
        };
        assert_eq!(
            evaluate(Some(r.clone()), now, strict),
            Err(Refusal::EmailNotVerified)
        );
        assert!(evaluate(Some(r), now, Policy::default()).is_ok());
        let organization = Policy {
            require_active_organization: true,
            ..Policy::default()
        };
        assert_eq!(
            evaluate(Some(record(now)), now, organization),
            Err(Refusal::NoActiveOrganization)
        );
        let mut member = record(now);
        member.organization = Some(Box::new(ActiveOrganization {
            id: "o1".into(),
            slug: "acme".into(),
            role: "owner".into(),
            team_id: None,
        }));
        let identity = evaluate(Some(member), now, organization).expect("a member");
        assert_eq!(identity.organization.map(|o| o.slug), Some("acme".into()));
    }

    #[test]
    fn bans_count_until_they_expire() {
        let now = Utc::now();
        assert!(is_banned(Some(true), None, now));
        assert!(is_banned(Some(true), Some(now + Duration::seconds(1)), now));
        assert!(!is_banned(Some(true), Some(now), now));
        assert!(!is_banned(Some(true), Some(now - Duration::days(1)), now));
        assert!(!is_banned(Some(false), None, now));
        assert!(!is_banned(None, None, now));
        let mut r = record(now);
        r.banned = Some(true);
        assert_eq!(
            evaluate(Some(r), now, Policy::default()),
            Err(Refusal::Banned)
        );
    }

    #[test]
    fn api_key_refusals_follow_better_auths_order_then_ours() {
        let now = Utc::now();
        let owner = CredentialUser {
            user_id: "o".into(),
            email: "o@example.com".into(),
            name: "O".into(),
            email_verified: false,
            role: None,
            banned: Some(true),
            ban_expires: None,
            extras: Vec::new(),
        };
        let base = ApiKeyRecord {
            key_id: "k".into(),
            counted: false,
            disabled: true,
            expired: true,
            exhausted: true,
            rate_limited: true,
            remaining: Some(0),
            permissions: None,
            expires_at: None,
            owner: Some(KeyOwner::User(owner)),
        };
        let policy = Policy::default();
        let mut r = base.clone();
        let mut seen = Vec::new();
        for step in 0..6 {
            seen.push(evaluate_api_key(Some(r.clone()), now, policy).err());
            match step {
                0 => r.disabled = false,
                1 => r.expired = false,
                2 => r.exhausted = false,
                3 => r.rate_limited = false,
                4 => {
                    if let Some(KeyOwner::User(o)) = r.owner.as_mut() {
                        o.banned = None
                    }
                }
                _ => {}
            }
        }
        assert_eq!(
            seen,
            vec![
                Some(Refusal::KeyDisabled),
                Some(Refusal::Expired),
                Some(Refusal::UsageExceeded),
                Some(Refusal::RateLimited),
                Some(Refusal::Banned),
                Some(Refusal::UsageExceeded),
            ]
        );
        r.counted = true;
        let strict = Policy {
            require_email_verified: true,
            ..Policy::default()
        };
        assert_eq!(
            evaluate_api_key(Some(r.clone()), now, strict),
            Err(Refusal::EmailNotVerified)
        );
        let identity = evaluate_api_key(Some(r), now, policy).expect("allowed");
        assert_eq!(identity.session_id, None);
        assert_eq!(identity.grant.api_key().map(|k| k.remaining), Some(Some(0)));
        assert_eq!(evaluate_api_key(None, now, policy), Err(Refusal::Unknown));
    }

    #[test]
    fn an_organizations_key_is_a_machine_principal_of_that_organization() {
        let now = Utc::now();
        let record = ApiKeyRecord {
            key_id: "k".into(),
            counted: true,
            disabled: false,
            expired: false,
            exhausted: false,
            rate_limited: false,
            remaining: Some(3),
            permissions: Some(r#"{"invoice":["read"]}"#.into()),
            expires_at: None,
            owner: Some(KeyOwner::Organization {
                id: "7".into(),
                slug: "acme".into(),
            }),
        };
        // The user policy has nothing to hold an organization to.
        let strict = Policy {
            require_email_verified: true,
            refuse_anonymous: true,
            ..Policy::default()
        };
        let identity = evaluate_api_key(Some(record.clone()), now, strict).expect("allowed");
        assert_eq!(identity.user_id, None);
        assert_eq!(identity.role, None);
        assert_eq!(identity.organization, None);
        assert_eq!(
            identity.grant.delegation(),
            Delegation::Organization(Some(r#"{"invoice":["read"]}"#))
        );
        assert_eq!(identity.grant.api_key().map(|k| k.id.as_str()), Some("k"));
        match &identity.grant {
            Grant::OrganizationKey(org) => assert_eq!(
                (org.organization_id.as_str(), org.organization_slug.as_str()),
                ("7", "acme")
            ),
            other => panic!("{other:?}"),
        }
        // Its state is refused in the plugin's order, and a deleted organization is unknown.
        let mut disabled = record.clone();
        disabled.disabled = true;
        assert_eq!(
            evaluate_api_key(Some(disabled), now, strict),
            Err(Refusal::KeyDisabled)
        );
        let mut orphan = record;
        orphan.owner = None;
        assert_eq!(
            evaluate_api_key(Some(orphan), now, strict),
            Err(Refusal::Unknown)
        );
    }

    #[test]
    fn oauth_tokens_follow_introspections_order_then_ours() {
        let now = Utc::now();
        let user = CredentialUser {
            user_id: "u1".into(),
            email: "u@example.com".into(),
            name: "U".into(),
            email_verified: false,
            role: Some("admin".into()),
            banned: Some(true),
            ban_expires: None,
            extras: Vec::new(),
        };
        let claims = |user_id: Option<&str>| OAuthClaims {
            client_id: "c1".into(),
            user_id: user_id.map(str::to_owned),
            session_id: user_id.map(|_| "s1".to_owned()),
            scopes: "read write".into(),
            resource: Some("https://api.example".into()),
            expires_at: now + Duration::hours(1),
        };
        let subject = OAuthSubject {
            client_active: false,
            session_alive: false,
            session_expires_at: Some(now + Duration::minutes(5)),
            resources_registered: false,
            user: Some(user),
        };
        let policy = Policy::default();
        let mut s = subject.clone();
        let mut seen = Vec::new();
        for step in 0..4 {
            seen.push(evaluate_oauth(claims(Some("u1")), s.clone(), now, policy).err());
            match step {
                0 => s.client_active = true,
                1 => s.resources_registered = true,
                2 => s.session_alive = true,
                _ => {}
            }
        }
        assert_eq!(
            seen,
            vec![
                Some(Refusal::OAuthClientDisabled),
                Some(Refusal::OAuthResourceRemoved),
                Some(Refusal::OAuthSessionEnded),
                Some(Refusal::Banned),
            ]
        );
        if let Some(u) = s.user.as_mut() {
            u.banned = None;
        }
        let strict = Policy {
            require_email_verified: true,
            ..Policy::default()
        };
        assert_eq!(
            evaluate_oauth(claims(Some("u1")), s.clone(), now, strict).err(),
            Some(Refusal::EmailNotVerified)
        );
        // A session that was alive when the store answered ends at its `expiresAt`, even when
        // the answer is reused (the result cache).
        assert_eq!(
            evaluate_oauth(
                claims(Some("u1")),
                s.clone(),
                now + Duration::minutes(5),
                policy
            )
            .err(),
            Some(Refusal::OAuthSessionEnded)
        );
        let delegated = evaluate_oauth(claims(Some("u1")), s.clone(), now, policy).expect("ok");
        assert_eq!(delegated.user_id.as_deref(), Some("u1"));
        assert_eq!(delegated.principal(), "u1");
        assert!(delegated.grant.oauth().is_some_and(|g| g.user_bound));
        // A user's token whose user is gone: unknown.
        let gone = OAuthSubject {
            user: None,
            ..s.clone()
        };
        assert_eq!(
            evaluate_oauth(claims(Some("u1")), gone.clone(), now, policy).err(),
            Some(Refusal::Unknown)
        );
        // Client credentials: a machine principal, no user, no roles, never a user's id.
        let machine = evaluate_oauth(claims(None), gone, now, policy).expect("machine");
        assert_eq!(machine.user_id, None);
        assert_eq!(machine.role, None);
        assert_eq!(machine.principal(), "oauth-client:c1");
        let grant = machine.grant.oauth().expect("an OAuth grant");
        assert!(!grant.user_bound);
        assert!(grant.has_all(["write", "read"]));
        assert!(!grant.has_all(["rea"]));
        let context = crate::context::AuthorizerContext::of(machine, "oauth", "oauth", &[]);
        assert_eq!(context.user_id, None);
        assert_eq!(context.email, None);
        assert_eq!(context.client_id.as_deref(), Some("c1"));
        assert_eq!(context.scopes.as_deref(), Some("read write"));
    }

    #[test]
    fn extra_user_fields_are_the_non_core_scalars() {
        let user = serde_json::json!({
            "id": "u", "email": "e", "image": null, "createdAt": "x",
            "isAnonymous": true, "username": "vera", "plan": "pro", "seats": 3,
            "settings": {"theme": "dark"}, "tags": ["a"], "nothing": null,
        });
        let mut extras = json_extras(user.as_object().expect("object"));
        extras.sort();
        assert_eq!(
            extras,
            vec![
                ("isAnonymous".to_owned(), "true".to_owned()),
                ("plan".to_owned(), "pro".to_owned()),
                ("seats".to_owned(), "3".to_owned()),
                ("username".to_owned(), "vera".to_owned()),
            ]
        );
        assert!(is_anonymous(&extras));
    }
}
