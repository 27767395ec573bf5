//! Better Auth's models and their fields, as types: a field is an enum variant, never a string,
//! so a misspelt field is a compile error rather than a silently selected `id`.
//!
//! This file is the model registry: a model is declared once, in `models!` (its name, the
//! table names tried, its variables) and `model_fields!` (its fields). The overrides, the
//! layout and detection are generic over it ([`ModelSet`]), so a new model touches this file
//! alone on the schema side.

models! {
    /// Better Auth's `user` model.
    User: UserField in user = "user",
        tables ["user", "users"], "BETTER_AUTH_USER_TABLE", "BETTER_AUTH_USER_FIELDS";
    /// Better Auth's `session` model.
    Session: SessionField in session = "session",
        tables ["session", "sessions", "user_sessions"],
        "BETTER_AUTH_SESSION_TABLE", "BETTER_AUTH_SESSION_FIELDS";
    /// Better Auth's `account` model (linked sign-in methods). Optional.
    Account: AccountField in account = "account",
        tables ["account", "accounts", "user_accounts"],
        "BETTER_AUTH_ACCOUNT_TABLE", "BETTER_AUTH_ACCOUNT_FIELDS";
    /// The jwt plugin's `jwks` model (public keys; the private ones are never read). Optional.
    Jwks: JwksField in jwks = "jwks",
        tables ["jwks"], "BETTER_AUTH_JWKS_TABLE", "BETTER_AUTH_JWKS_FIELDS";
    /// The api-key plugin's `apikey` model (`@better-auth/api-key`). Optional.
    ApiKey: ApiKeyField in api_key = "apikey",
        tables ["apikey", "api_key", "api_keys"],
        "BETTER_AUTH_API_KEY_TABLE", "BETTER_AUTH_API_KEY_FIELDS";
    /// The organization plugin's `organization` model. Optional.
    Organization: OrganizationField in organization = "organization",
        tables ["organization", "organizations"],
        "BETTER_AUTH_ORGANIZATION_TABLE", "BETTER_AUTH_ORGANIZATION_FIELDS";
    /// The organization plugin's `member` model. Optional.
    Member: MemberField in member = "member",
        tables ["member", "members"], "BETTER_AUTH_MEMBER_TABLE", "BETTER_AUTH_MEMBER_FIELDS";
    /// The organization plugin's `team` model (teams enabled). Optional.
    Team: TeamField in team = "team",
        tables ["team", "teams"], "BETTER_AUTH_TEAM_TABLE", "BETTER_AUTH_TEAM_FIELDS";
    /// The organization plugin's `teamMember` model (teams enabled). Optional.
    TeamMember: TeamMemberField in team_member = "teamMember",
        tables ["teamMember", "team_member", "team_members"],
        "BETTER_AUTH_TEAM_MEMBER_TABLE", "BETTER_AUTH_TEAM_MEMBER_FIELDS";
    /// The organization plugin's `organizationRole` model (`dynamicAccessControl` enabled): roles
    /// created at run time, per organization. Optional.
    OrganizationRole: OrganizationRoleField in organization_role = "organizationRole",
        // Only the names Better Auth's migrators write: an app table that merely looks alike
        // (`organization_roles`) must never be read as grants. Others: the _TABLE setting.
        tables ["organizationRole", "organization_role"],
        "BETTER_AUTH_ORGANIZATION_ROLE_TABLE", "BETTER_AUTH_ORGANIZATION_ROLE_FIELDS";
    /// `@better-auth/oauth-provider`'s `oauthClient` model (registered clients). Optional.
    OAuthClient: OAuthClientField in oauth_client = "oauthClient",
        tables ["oauthClient", "oauth_client"],
        "BETTER_AUTH_OAUTH_CLIENT_TABLE", "BETTER_AUTH_OAUTH_CLIENT_FIELDS";
    /// `@better-auth/oauth-provider`'s `oauthAccessToken` model (opaque access tokens, by hash).
    /// Optional.
    OAuthAccessToken: OAuthAccessTokenField in oauth_access_token = "oauthAccessToken",
        tables ["oauthAccessToken", "oauth_access_token"],
        "BETTER_AUTH_OAUTH_ACCESS_TOKEN_TABLE", "BETTER_AUTH_OAUTH_ACCESS_TOKEN_FIELDS";
    /// `@better-auth/oauth-provider`'s `oauthResource` model (the registered resource servers
    /// a token's audience must still name). Optional.
    OAuthResource: OAuthResourceField in oauth_resource = "oauthResource",
        tables ["oauthResource", "oauth_resource"],
        "BETTER_AUTH_OAUTH_RESOURCE_TABLE", "BETTER_AUTH_OAUTH_RESOURCE_FIELDS";
}

/// How a column is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Read as text (ids of any type are cast).
    Text,
    /// Must be `boolean`.
    Bool,
    /// Must be `timestamptz` or `timestamp` (then read as UTC).
    Timestamp,
    /// A number (`integer`, `bigint`, `smallint`, `numeric`, `double precision`, `real`), read
    /// as `bigint`.
    Integer,
}

/// A field of one Better Auth model.
pub trait ModelField:
    Registered + Copy + Eq + Ord + std::hash::Hash + std::fmt::Debug + Send + Sync + 'static
{
    /// The model the field belongs to.
    const MODEL: Model;
    /// Every field of the model, in declaration order.
    const ALL: &'static [Self];
    /// Better Auth's (camelCase) name.
    fn name(self) -> &'static str;
    /// How the column is read.
    fn kind(self) -> Kind;
    /// Whether resolution fails without it.
    fn required(self) -> bool;
    /// The field called `name` (Better Auth's spelling), if the model has one.
    fn parse(name: &str) -> Option<Self> {
        Self::ALL.iter().copied().find(|f| f.name() == name)
    }
}

/// What a [`ModelSet`] holds for each model: a type made from the model's field type, e.g.
/// the model's overrides or its resolved table.
pub trait PerModel {
    /// The value for the model whose fields are `F`.
    type Of<F: ModelField>;
}

/// Makes one model's entry of a [`ModelSet`]: a function generic over the model, called for
/// every model in registry order.
pub trait BuildEach<W: PerModel> {
    /// Why an entry could not be made (the first error stops the build).
    type Error;
    /// The entry of the model whose fields are `F`.
    fn build<F: ModelField>(&mut self) -> Result<W::Of<F>, Self::Error>;
}

/// Looks at every model's entry of a [`ModelSet`], in registry order.
pub trait VisitEach<W: PerModel> {
    /// Called with the entry of the model whose fields are `F`.
    fn visit<F: ModelField>(&mut self, entry: &W::Of<F>);
}

/// A field type's place in a [`ModelSet`] (written by `models!`).
pub trait Registered: Sized {
    /// This model's entry.
    fn of<W: PerModel>(set: &ModelSet<W>) -> &W::Of<Self>
    where
        Self: ModelField;
    /// This model's entry, to change it.
    fn of_mut<W: PerModel>(set: &mut ModelSet<W>) -> &mut W::Of<Self>
    where
        Self: ModelField;
}

model_fields! {
    /// The `user` model's fields (the admin plugin's are optional).
    UserField for User {
        /// `id`
        Id = "id", Text, true;
        /// `name`
        Name = "name", Text, true;
        /// `email`
        Email = "email", Text, true;
        /// `emailVerified`
        EmailVerified = "emailVerified", Bool, true;
        /// `image`
        Image = "image", Text, false;
        /// `createdAt`
        CreatedAt = "createdAt", Timestamp, false;
        /// `updatedAt`
        UpdatedAt = "updatedAt", Timestamp, false;
        /// `role` (admin plugin): a comma-separated list.
        Role = "role", Text, false;
        /// `banned` (admin plugin)
        Banned = "banned", Bool, false;
        /// `banReason` (admin plugin)
        BanReason = "banReason", Text, false;
        /// `banExpires` (admin plugin)
        BanExpires = "banExpires", Timestamp, false;
    }
}

model_fields! {
    /// The `session` model's fields. `revoked` is not Better Auth's: some schemas add it, and
    /// then revoking sets it instead of deleting the row.
    SessionField for Session {
        /// `id`
        Id = "id", Text, true;
        /// `token`
        Token = "token", Text, true;
        /// `userId`
        UserId = "userId", Text, true;
        /// `expiresAt`
        ExpiresAt = "expiresAt", Timestamp, true;
        /// `createdAt`
        CreatedAt = "createdAt", Timestamp, false;
        /// `updatedAt`
        UpdatedAt = "updatedAt", Timestamp, false;
        /// `ipAddress`
        IpAddress = "ipAddress", Text, false;
        /// `userAgent`
        UserAgent = "userAgent", Text, false;
        /// `impersonatedBy` (admin plugin)
        ImpersonatedBy = "impersonatedBy", Text, false;
        /// `activeOrganizationId` (organization plugin): a pointer the membership must confirm
        ActiveOrganizationId = "activeOrganizationId", Text, false;
        /// `activeTeamId` (organization plugin, teams enabled)
        ActiveTeamId = "activeTeamId", Text, false;
        /// `revoked` (not Better Auth's)
        Revoked = "revoked", Bool, false;
    }
}

model_fields! {
    /// The `account` model's fields we may show: never the access, refresh or id tokens, nor
    /// the password hash.
    AccountField for Account {
        /// `id`
        Id = "id", Text, true;
        /// `accountId` (the provider's id for the user)
        AccountId = "accountId", Text, true;
        /// `providerId`
        ProviderId = "providerId", Text, true;
        /// `userId`
        UserId = "userId", Text, true;
        /// `scope`
        Scope = "scope", Text, false;
        /// `createdAt`
        CreatedAt = "createdAt", Timestamp, false;
        /// `updatedAt`
        UpdatedAt = "updatedAt", Timestamp, false;
    }
}

model_fields! {
    /// The jwt plugin's `jwks` fields: public keys only, `privateKey` is never selected.
    JwksField for Jwks {
        /// `id` (the `kid`)
        Id = "id", Text, true;
        /// `publicKey` (a JWK as JSON text)
        PublicKey = "publicKey", Text, true;
        /// `alg` (since Better Auth 1.4)
        Alg = "alg", Text, false;
        /// `crv`
        Crv = "crv", Text, false;
        /// `createdAt`
        CreatedAt = "createdAt", Timestamp, false;
        /// `expiresAt` (key rotation)
        ExpiresAt = "expiresAt", Timestamp, false;
    }
}

model_fields! {
    /// The api-key plugin's `apikey` fields (`@better-auth/api-key` 1.5+; `referenceId` was
    /// `userId` before). The owner is a user (keys owned by an organization are not accepted).
    ApiKeyField for ApiKey {
        /// `id`
        Id = "id", Text, true;
        /// `configId` (1.5+)
        ConfigId = "configId", Text, false;
        /// `name`
        Name = "name", Text, false;
        /// `start`: the key's first characters, for display
        Start = "start", Text, false;
        /// `prefix`
        Prefix = "prefix", Text, false;
        /// `key`: base64url (no padding) of SHA-256 over the whole key
        Key = "key", Text, true;
        /// `referenceId`: the owner (`userId` before 1.5: map it with the fields variable)
        ReferenceId = "referenceId", Text, true;
        /// `enabled`
        Enabled = "enabled", Bool, false;
        /// `expiresAt`
        ExpiresAt = "expiresAt", Timestamp, false;
        /// `remaining`: uses left, `NULL` for unlimited
        Remaining = "remaining", Integer, false;
        /// `refillInterval` (ms)
        RefillInterval = "refillInterval", Integer, false;
        /// `refillAmount`
        RefillAmount = "refillAmount", Integer, false;
        /// `lastRefillAt`
        LastRefillAt = "lastRefillAt", Timestamp, false;
        /// `rateLimitEnabled`
        RateLimitEnabled = "rateLimitEnabled", Bool, false;
        /// `rateLimitTimeWindow` (ms)
        RateLimitTimeWindow = "rateLimitTimeWindow", Integer, false;
        /// `rateLimitMax`
        RateLimitMax = "rateLimitMax", Integer, false;
        /// `requestCount`
        RequestCount = "requestCount", Integer, false;
        /// `lastRequest`
        LastRequest = "lastRequest", Timestamp, false;
        /// `permissions` (JSON text)
        Permissions = "permissions", Text, false;
        /// `createdAt`
        CreatedAt = "createdAt", Timestamp, false;
        /// `updatedAt`
        UpdatedAt = "updatedAt", Timestamp, false;
    }
}

model_fields! {
    /// The organization plugin's `organization` fields the context needs.
    OrganizationField for Organization {
        /// `id`
        Id = "id", Text, true;
        /// `slug`
        Slug = "slug", Text, true;
    }
}

model_fields! {
    /// The organization plugin's `member` fields: who belongs where, with which roles.
    MemberField for Member {
        /// `id`
        Id = "id", Text, true;
        /// `organizationId`
        OrganizationId = "organizationId", Text, true;
        /// `userId`
        UserId = "userId", Text, true;
        /// `role`: a comma-separated list, as stored
        Role = "role", Text, true;
    }
}

model_fields! {
    /// The organization plugin's `team` fields (teams enabled).
    TeamField for Team {
        /// `id`
        Id = "id", Text, true;
        /// `organizationId`
        OrganizationId = "organizationId", Text, true;
    }
}

model_fields! {
    /// The organization plugin's `teamMember` fields (teams enabled).
    TeamMemberField for TeamMember {
        /// `id`
        Id = "id", Text, true;
        /// `teamId`
        TeamId = "teamId", Text, true;
        /// `userId`
        UserId = "userId", Text, true;
    }
}

model_fields! {
    /// The organization plugin's `organizationRole` fields (`dynamicAccessControl` enabled).
    OrganizationRoleField for OrganizationRole {
        /// `id`
        Id = "id", Text, true;
        /// `organizationId`
        OrganizationId = "organizationId", Text, true;
        /// `role`: the role's name
        Role = "role", Text, true;
        /// `permission`: JSON text, e.g. `{"invoice":["create"]}`
        Permission = "permission", Text, true;
        /// `createdAt`
        CreatedAt = "createdAt", Timestamp, false;
        /// `updatedAt`
        UpdatedAt = "updatedAt", Timestamp, false;
    }
}

model_fields! {
    /// `oauthClient` fields: which clients exist and whether they are disabled.
    OAuthClientField for OAuthClient {
        /// `id`
        Id = "id", Text, true;
        /// `clientId`: the public client identifier (`azp`, `client_id`)
        ClientId = "clientId", Text, true;
        /// `disabled`
        Disabled = "disabled", Bool, false;
    }
}

model_fields! {
    /// `oauthAccessToken` fields (1.7+: `token` holds base64url SHA-256, unpadded, of the
    /// token; Better Auth 1.6's legacy provider stored `accessToken` in plain text instead).
    OAuthAccessTokenField for OAuthAccessToken {
        /// `id`
        Id = "id", Text, true;
        /// `token`: the stored hash
        Token = "token", Text, true;
        /// `clientId`
        ClientId = "clientId", Text, true;
        /// `sessionId`: the session it was issued under, when user-bound
        SessionId = "sessionId", Text, false;
        /// `userId`: `NULL` for client credentials
        UserId = "userId", Text, false;
        /// `resources`: the audience (a JSON array as text)
        Resources = "resources", Text, false;
        /// `scopes`: a JSON array as text
        Scopes = "scopes", Text, true;
        /// `confirmation`: `cnf` of a sender-constrained (DPoP) token
        Confirmation = "confirmation", Text, false;
        /// `expiresAt`
        ExpiresAt = "expiresAt", Timestamp, true;
        /// `createdAt`
        CreatedAt = "createdAt", Timestamp, false;
        /// `revoked`: when it was revoked
        Revoked = "revoked", Timestamp, false;
    }
}

model_fields! {
    /// `oauthResource` fields: the registered resource identifiers.
    OAuthResourceField for OAuthResource {
        /// `id`
        Id = "id", Text, true;
        /// `identifier`: the resource's URI, as a token's `aud` names it
        Identifier = "identifier", Text, true;
    }
}
