//! Better Auth's models and their fields, as types: a field is an enum variant, never a string,
//! so a misspelt field is a compile error rather than a silently selected `id`.

/// The Better Auth models we read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Model {
    /// Better Auth's `user` model.
    User,
    /// Better Auth's `session` model.
    Session,
    /// Better Auth's `account` model (linked sign-in methods). Optional.
    Account,
    /// The jwt plugin's `jwks` model (public keys; the private ones are never read). Optional.
    Jwks,
    /// The api-key plugin's `apikey` model (`@better-auth/api-key`). Optional.
    ApiKey,
    /// The organization plugin's `organization` model. Optional.
    Organization,
    /// The organization plugin's `member` model. Optional.
    Member,
    /// The organization plugin's `team` model (teams enabled). Optional.
    Team,
    /// The organization plugin's `teamMember` model (teams enabled). Optional.
    TeamMember,
}

impl Model {
    /// Every model, in detection order.
    pub const ALL: [Model; 9] = [
        Self::User,
        Self::Session,
        Self::Account,
        Self::Jwks,
        Self::ApiKey,
        Self::Organization,
        Self::Member,
        Self::Team,
        Self::TeamMember,
    ];

    /// The model's name in Better Auth.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::User => "user",
            Self::Session => "session",
            Self::Account => "account",
            Self::Jwks => "jwks",
            Self::ApiKey => "apikey",
            Self::Organization => "organization",
            Self::Member => "member",
            Self::Team => "team",
            Self::TeamMember => "teamMember",
        }
    }

    /// Table names tried, in order, when none is configured.
    pub fn default_tables(self) -> &'static [&'static str] {
        match self {
            Self::User => &["user", "users"],
            Self::Session => &["session", "sessions", "user_sessions"],
            Self::Account => &["account", "accounts", "user_accounts"],
            Self::Jwks => &["jwks"],
            Self::ApiKey => &["apikey", "api_key", "api_keys"],
            Self::Organization => &["organization", "organizations"],
            Self::Member => &["member", "members"],
            Self::Team => &["team", "teams"],
            Self::TeamMember => &["teamMember", "team_member", "team_members"],
        }
    }

    /// The environment variable that names the table.
    pub fn table_variable(self) -> &'static str {
        match self {
            Self::User => "BETTER_AUTH_USER_TABLE",
            Self::Session => "BETTER_AUTH_SESSION_TABLE",
            Self::Account => "BETTER_AUTH_ACCOUNT_TABLE",
            Self::Jwks => "BETTER_AUTH_JWKS_TABLE",
            Self::ApiKey => "BETTER_AUTH_API_KEY_TABLE",
            Self::Organization => "BETTER_AUTH_ORGANIZATION_TABLE",
            Self::Member => "BETTER_AUTH_MEMBER_TABLE",
            Self::Team => "BETTER_AUTH_TEAM_TABLE",
            Self::TeamMember => "BETTER_AUTH_TEAM_MEMBER_TABLE",
        }
    }

    /// The environment variable that maps fields to columns.
    pub fn fields_variable(self) -> &'static str {
        match self {
            Self::User => "BETTER_AUTH_USER_FIELDS",
            Self::Session => "BETTER_AUTH_SESSION_FIELDS",
            Self::Account => "BETTER_AUTH_ACCOUNT_FIELDS",
            Self::Jwks => "BETTER_AUTH_JWKS_FIELDS",
            Self::ApiKey => "BETTER_AUTH_API_KEY_FIELDS",
            Self::Organization => "BETTER_AUTH_ORGANIZATION_FIELDS",
            Self::Member => "BETTER_AUTH_MEMBER_FIELDS",
            Self::Team => "BETTER_AUTH_TEAM_FIELDS",
            Self::TeamMember => "BETTER_AUTH_TEAM_MEMBER_FIELDS",
        }
    }
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
    Copy + Eq + Ord + std::hash::Hash + std::fmt::Debug + Send + Sync + 'static
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

macro_rules! model_fields {
    ($(#[$doc:meta])* $ty:ident for $model:ident {
        $($(#[$vdoc:meta])* $variant:ident = $name:literal, $kind:ident, $required:literal;)*
    }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub enum $ty {
            $($(#[$vdoc])* $variant,)*
        }

        impl ModelField for $ty {
            const MODEL: Model = Model::$model;
            const ALL: &'static [Self] = &[$(Self::$variant),*];
            fn name(self) -> &'static str {
                match self { $(Self::$variant => $name,)* }
            }
            fn kind(self) -> Kind {
                match self { $(Self::$variant => Kind::$kind,)* }
            }
            fn required(self) -> bool {
                match self { $(Self::$variant => $required,)* }
            }
        }
    };
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
