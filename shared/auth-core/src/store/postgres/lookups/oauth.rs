//! `@better-auth/oauth-provider`'s access tokens: an opaque token's row by hash, and what a
//! JWT access token names (client, session, audience, user) — each in one statement, decoded
//! by the projection that wrote it.

use chrono::{DateTime, Utc};
use tokio_postgres::Row;

use super::super::projection::{Projection, Slot};
use super::user::UserColumns;
use crate::identity::{OAuthSubject, OAuthTokenRecord};
use crate::schema::{
    OAuthAccessTokenField, OAuthClientField, OAuthResourceField, SchemaLayout, SessionField,
    UserField,
};
use crate::store::port::StoreError;

/// The subject's columns: shared by both statements, which differ only in where the client
/// id, session id, user id and audience come from (the token's row, or the JWT's claims).
#[derive(Debug, Clone)]
struct SubjectColumns {
    client_active: Slot<bool>,
    session_alive: Slot<bool>,
    session_expires_at: Slot<Option<DateTime<Utc>>>,
    resources_registered: Slot<bool>,
    user: UserColumns,
}

impl SubjectColumns {
    /// `client`, `session` and `user`: SQL text expressions; `audiences`: a SQL expression
    /// yielding the audience values as a set of rows of one text column `v`.
    fn project(
        p: &mut Projection,
        layout: &SchemaLayout,
        client: &str,
        session: &str,
        audiences: &str,
    ) -> Option<Self> {
        let c = layout.table::<OAuthClientField>()?;
        let client_active = p.expr(format!(
            "EXISTS (SELECT 1 FROM {} AS c WHERE {} AND {} IS NOT TRUE)",
            c.sql_name(),
            c.eq_expr("c", OAuthClientField::ClientId, client),
            c.select("c", OAuthClientField::Disabled),
        ));
        // As the provider's introspection: the session row must exist and not have expired
        // (and, where the schema revokes by flag, not be revoked). Without a session table
        // (sessions in secondary storage alone) no session can be confirmed.
        let session_alive = p.expr(match &layout.session {
            Some(s) => format!(
                "({session} IS NULL OR EXISTS (SELECT 1 FROM {} AS s WHERE {} AND {}))",
                s.sql_name(),
                s.eq_expr("s", SessionField::Id, session),
                layout.session_active(s),
            ),
            None => format!("({session} IS NULL)"),
        });
        // Its expiry too, so that an answer kept by the result cache is refused once the
        // session ends (`evaluate_oauth` compares it with the time of use).
        let session_expires_at = p.expr(match &layout.session {
            Some(s) => format!(
                "(SELECT {} FROM {} AS s WHERE {})",
                s.select("s", SessionField::ExpiresAt),
                s.sql_name(),
                s.eq_expr("s", SessionField::Id, session),
            ),
            None => "NULL::timestamptz".to_owned(),
        });
        // Deleting a resource invalidates the tokens issued for it (introspection checks each
        // audience value); without the table there is nothing to check.
        let resources_registered = p.expr(match layout.table::<OAuthResourceField>() {
            Some(r) => format!(
                "NOT EXISTS (SELECT 1 FROM {audiences} WHERE NOT EXISTS \
                 (SELECT 1 FROM {} AS r WHERE {}))",
                r.sql_name(),
                r.eq_expr("r", OAuthResourceField::Identifier, "a.v"),
            ),
            None => "true".to_owned(),
        });
        let user = UserColumns::project(p, layout, "u");
        Some(Self {
            client_active,
            session_alive,
            session_expires_at,
            resources_registered,
            user,
        })
    }

    fn decode(&self, row: &Row) -> Result<OAuthSubject, StoreError> {
        Ok(OAuthSubject {
            client_active: self.client_active.read(row)?,
            session_alive: self.session_alive.read(row)?,
            session_expires_at: self.session_expires_at.read(row)?,
            resources_registered: self.resources_registered.read(row)?,
            user: self.user.decode(row)?,
        })
    }
}

/// An opaque access token by its stored hash (`$1`; `$2`: the provider's implicit
/// `<baseURL>/oauth2/userinfo` audience, which is no registered resource), with its subject.
#[derive(Debug, Clone)]
pub struct OAuthTokenLookup {
    /// The statement.
    pub sql: String,
    client_id: Slot<String>,
    user_id: Slot<Option<String>>,
    session_id: Slot<Option<String>>,
    scopes: Slot<Option<String>>,
    resources: Slot<Option<String>>,
    expires_at: Slot<Option<DateTime<Utc>>>,
    revoked: Slot<bool>,
    confirmation: Slot<Option<String>>,
    subject: SubjectColumns,
}

impl OAuthTokenLookup {
    /// Writes the statement, or `None` without the provider's `oauthAccessToken` and
    /// `oauthClient` tables.
    pub fn new(layout: &SchemaLayout) -> Option<Self> {
        let t = layout.table::<OAuthAccessTokenField>()?;
        let mut p = Projection::default();
        let client_id = p.field(t, "t", OAuthAccessTokenField::ClientId);
        let user_id = p.field(t, "t", OAuthAccessTokenField::UserId);
        let session_id = p.field(t, "t", OAuthAccessTokenField::SessionId);
        let scopes = p.field(t, "t", OAuthAccessTokenField::Scopes);
        let resources = p.field(t, "t", OAuthAccessTokenField::Resources);
        let expires_at = p.field(t, "t", OAuthAccessTokenField::ExpiresAt);
        let revoked = p.expr(format!(
            "({} IS NOT NULL)",
            t.select("t", OAuthAccessTokenField::Revoked)
        ));
        let confirmation = p.field(t, "t", OAuthAccessTokenField::Confirmation);
        let resources_text = t.select("t", OAuthAccessTokenField::Resources);
        let audiences = format!(
            "(SELECT v FROM jsonb_array_elements_text(CASE WHEN {resources_text} IS NULL \
             THEN '[]'::jsonb ELSE {resources_text}::jsonb END) AS e(v) WHERE v <> $2) AS a"
        );
        let subject = SubjectColumns::project(
            &mut p,
            layout,
            &t.select("t", OAuthAccessTokenField::ClientId),
            &t.select("t", OAuthAccessTokenField::SessionId),
            &audiences,
        )?;
        let u = &layout.user;
        let sql = format!(
            "SELECT {} FROM {} AS t LEFT JOIN {} AS u ON {} WHERE {}",
            p.list(),
            t.sql_name(),
            u.sql_name(),
            u.eq_expr(
                "u",
                UserField::Id,
                &t.select("t", OAuthAccessTokenField::UserId)
            ),
            t.eq_param("t", OAuthAccessTokenField::Token, 1),
        );
        Some(Self {
            sql,
            client_id,
            user_id,
            session_id,
            scopes,
            resources,
            expires_at,
            revoked,
            confirmation,
            subject,
        })
    }

    /// Reads a row of [`Self::sql`].
    pub fn decode(&self, row: &Row) -> Result<OAuthTokenRecord, StoreError> {
        Ok(OAuthTokenRecord {
            client_id: self.client_id.read(row)?,
            user_id: self.user_id.read(row)?,
            session_id: self.session_id.read(row)?,
            scopes: self.scopes.read(row)?.unwrap_or_default(),
            resources: self.resources.read(row)?,
            // No expiry is no access (the provider's `!accessToken.expiresAt`).
            expires_at: self
                .expires_at
                .read(row)?
                .unwrap_or(DateTime::<Utc>::MIN_UTC),
            revoked: self.revoked.read(row)?,
            confirmation: self.confirmation.read(row)?,
            subject: self.subject.decode(row)?,
        })
    }
}

/// What a JWT access token names, by `$1` client id, `$2` user id (NULL: client
/// credentials), `$3` session id (NULL: none) and `$4` the audience values to confirm
/// (`text[]`): one row, always.
#[derive(Debug, Clone)]
pub struct OAuthSubjectQuery {
    /// The statement.
    pub sql: String,
    subject: SubjectColumns,
}

impl OAuthSubjectQuery {
    /// Writes the statement, or `None` without the provider's `oauthClient` table.
    pub fn new(layout: &SchemaLayout) -> Option<Self> {
        let mut p = Projection::default();
        let subject = SubjectColumns::project(
            &mut p,
            layout,
            "$1::text",
            "$3::text",
            "unnest($4::text[]) AS a(v)",
        )?;
        let u = &layout.user;
        let sql = format!(
            "SELECT {} FROM (SELECT 1) AS q LEFT JOIN {} AS u ON {}",
            p.list(),
            u.sql_name(),
            u.eq_expr("u", UserField::Id, "$2::text"),
        );
        Some(Self { sql, subject })
    }

    /// Reads the row of [`Self::sql`].
    pub fn decode(&self, row: &Row) -> Result<OAuthSubject, StoreError> {
        self.subject.decode(row)
    }
}
