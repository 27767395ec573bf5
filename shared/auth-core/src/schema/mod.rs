//! Where Better Auth's tables live in this database, and how to read them safely.
//!
//! - [`fields`]: the model registry: every model and its fields, as types ([`UserField`],
//!   [`SessionField`], …), declared once; [`ModelSet`] holds one value per model.
//! - [`overrides`]: table and column names from configuration (`BETTER_AUTH_DB_SCHEMA`, …).
//! - `resolve`: a pure function from `information_schema` rows (and configured overrides) to
//!   a [`SchemaLayout`] (`layout`), so every schema variant is unit-testable.
//! - The projections that write a SELECT list and decode the row in the same order live with
//!   the driver: `crate::store::postgres::projection`.
//! - [`Revocation`]: how a session is revoked here (delete the row, or set a flag), decided once
//!   and used by the lookup and by every revoke.
//!
//! Every identifier is validated ([`validate_identifier`]) and quoted ([`quote`]): configuration
//! can never inject SQL.

#[macro_use]
mod registry;
pub mod fields;
mod identifier;
mod layout;
pub mod overrides;
mod resolve;

pub use fields::{
    AccountField, ApiKeyField, BuildEach, JwksField, Kind, MemberField, Model, ModelField,
    ModelSet, OAuthAccessTokenField, OAuthClientField, OAuthResourceField, OrganizationField,
    OrganizationRoleField, PerModel, Registered, SessionField, TeamField, TeamMemberField,
    UserField, VisitEach,
};
pub use identifier::{IdentifierError, quote, validate_identifier};
pub use layout::{
    Column, ColumnInfo, OrganizationLayout, Revocation, SchemaError, SchemaLayout, TableLayout,
};
pub use overrides::{SchemaOverrides, TableOverride};
pub use resolve::{resolve, snake_case};

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::postgres::lookups::SessionLookup;

    fn lookup_sql(layout: &SchemaLayout) -> String {
        SessionLookup::new(layout).expect("a session table").sql
    }

    fn cols(table: &str, list: &[(&str, &str)]) -> Vec<ColumnInfo> {
        list.iter()
            .map(|(column, data_type)| ColumnInfo {
                table: table.to_owned(),
                column: (*column).to_owned(),
                data_type: (*data_type).to_owned(),
            })
            .collect()
    }

    const TZ: &str = "timestamp with time zone";
    const NAIVE: &str = "timestamp without time zone";

    fn better_auth_default() -> Vec<ColumnInfo> {
        let mut c = cols(
            "user",
            &[
                ("id", "text"),
                ("name", "text"),
                ("email", "text"),
                ("emailVerified", "boolean"),
                ("image", "text"),
                ("createdAt", TZ),
                ("updatedAt", TZ),
                ("role", "text"),
                ("banned", "boolean"),
                ("banReason", "text"),
                ("banExpires", TZ),
            ],
        );
        c.extend(cols(
            "session",
            &[
                ("id", "text"),
                ("expiresAt", TZ),
                ("token", "text"),
                ("createdAt", TZ),
                ("updatedAt", TZ),
                ("ipAddress", "text"),
                ("userAgent", "text"),
                ("userId", "text"),
                ("impersonatedBy", "text"),
            ],
        ));
        c
    }

    #[test]
    fn resolves_better_auths_default_schema() {
        let layout = resolve(
            "public",
            &better_auth_default(),
            &SchemaOverrides::default(),
        )
        .expect("resolves");
        assert_eq!(layout.user.name, "user");
        let session = layout.session.as_ref().expect("a session table");
        assert_eq!(session.name, "session");
        assert!(!session.has(SessionField::Revoked));
        assert_eq!(layout.revocation, Revocation::Delete);
        assert_eq!(
            lookup_sql(&layout),
            "SELECT s.\"id\"::text, s.\"expiresAt\", s.\"impersonatedBy\"::text, false, \
             u.\"id\"::text, u.\"email\"::text, u.\"name\"::text, u.\"emailVerified\", u.\"role\"::text, u.\"banned\", u.\"banExpires\", \
             i.\"banned\", i.\"banExpires\" \
             FROM \"session\" AS s JOIN \"user\" AS u ON u.\"id\" = s.\"userId\" \
             LEFT JOIN \"user\" AS i ON i.\"id\" = (s.\"impersonatedBy\")::text WHERE s.\"token\" = $1"
        );
    }

    #[test]
    fn resolves_snake_case_naive_timestamps_and_renamed_tables() {
        let mut c = cols(
            "users",
            &[
                ("id", "uuid"),
                ("name", "text"),
                ("email", "character varying"),
                ("email_verified", "boolean"),
            ],
        );
        c.extend(cols(
            "user_sessions",
            &[
                ("id", "uuid"),
                ("token", "text"),
                ("user_id", "uuid"),
                ("expires_at", NAIVE),
                ("revoked", "boolean"),
            ],
        ));
        let layout = resolve("public", &c, &SchemaOverrides::default()).expect("resolves");
        let sql = lookup_sql(&layout);
        assert!(
            sql.contains("(s.\"expires_at\" AT TIME ZONE 'UTC')"),
            "{sql}"
        );
        assert!(sql.contains("COALESCE(s.\"revoked\", false)"), "{sql}");
        assert!(sql.contains("NULL::boolean"), "{sql}");
        assert!(
            sql.contains(
                "FROM \"user_sessions\" AS s JOIN \"users\" AS u ON u.\"id\" = s.\"user_id\""
            ),
            "{sql}"
        );
    }

    #[test]
    fn overrides_win_and_are_schema_qualified() {
        let mut c = cols(
            "members",
            &[
                ("member_id", "text"),
                ("name", "text"),
                ("mail", "text"),
                ("verified", "boolean"),
            ],
        );
        c.extend(cols(
            "logins",
            &[
                ("id", "text"),
                ("token", "text"),
                ("member", "text"),
                ("valid_until", TZ),
            ],
        ));
        let mut overrides = SchemaOverrides {
            db_schema: Some("auth".into()),
            ..SchemaOverrides::default()
        };
        overrides.tables.user = TableOverride {
            table: Some("members".into()),
            fields: [
                (UserField::Id, "member_id"),
                (UserField::Email, "mail"),
                (UserField::EmailVerified, "verified"),
            ]
            .into_iter()
            .map(|(a, b)| (a, b.to_owned()))
            .collect(),
        };
        overrides.tables.session = TableOverride {
            table: Some("logins".into()),
            fields: [
                (SessionField::UserId, "member"),
                (SessionField::ExpiresAt, "valid_until"),
            ]
            .into_iter()
            .map(|(a, b)| (a, b.to_owned()))
            .collect(),
        };
        let layout = resolve("auth", &c, &overrides).expect("resolves");
        let sql = lookup_sql(&layout);
        assert!(
            sql.contains("FROM \"auth\".\"logins\" AS s JOIN \"auth\".\"members\" AS u ON u.\"member_id\" = s.\"member\""),
            "{sql}"
        );
    }

    #[test]
    fn names_the_missing_table_or_column() {
        let err = resolve("public", &[], &SchemaOverrides::default()).expect_err("no tables");
        assert_eq!(
            err.to_string(),
            "no user table in schema \"public\" (looked for \"user\", \"users\"); create it with Better Auth's migrator or set BETTER_AUTH_USER_TABLE"
        );
        let mut c = better_auth_default();
        c.retain(|x| !(x.table == "session" && x.column == "expiresAt"));
        let err = resolve("public", &c, &SchemaOverrides::default()).expect_err("no expiresAt");
        assert_eq!(
            err.to_string(),
            "table \"session\" has no column for session.expiresAt (looked for \"expiresAt\", \"expires_at\"); set BETTER_AUTH_SESSION_FIELDS=expiresAt=<column>"
        );
    }

    #[test]
    fn an_explicit_mapping_must_resolve_even_for_optional_fields() {
        let mut overrides = SchemaOverrides::default();
        overrides
            .tables
            .user
            .fields
            .insert(UserField::Banned, "is_banned_typo".into());
        let err = resolve("public", &better_auth_default(), &overrides).expect_err("typo");
        assert!(
            matches!(
                err,
                SchemaError::MissingColumn {
                    field: "banned",
                    variable: "BETTER_AUTH_USER_FIELDS",
                    ..
                }
            ),
            "{err}"
        );
        let mut overrides = SchemaOverrides::default();
        overrides
            .tables
            .session
            .fields
            .insert(SessionField::Revoked, "revokd".into());
        assert!(resolve("public", &better_auth_default(), &overrides).is_err());
    }

    #[test]
    fn organization_tables_are_optional_and_teams_more_so() {
        let mut c = better_auth_default();
        assert!(
            resolve("public", &c, &SchemaOverrides::default())
                .expect("resolves")
                .organizations
                .is_none()
        );
        c.extend(cols(
            "organization",
            &[("id", "text"), ("name", "text"), ("slug", "text")],
        ));
        c.extend(cols(
            "member",
            &[
                ("id", "text"),
                ("organizationId", "text"),
                ("userId", "text"),
                ("role", "text"),
            ],
        ));
        let layout = resolve("public", &c, &SchemaOverrides::default()).expect("resolves");
        let orgs = layout.organizations.expect("the plugin's tables");
        assert!(orgs.teams.is_none());
        c.extend(cols("team", &[("id", "text"), ("organizationId", "text")]));
        c.extend(cols(
            "teamMember",
            &[("id", "text"), ("teamId", "text"), ("userId", "text")],
        ));
        let layout = resolve("public", &c, &SchemaOverrides::default()).expect("resolves");
        assert!(layout.organizations.expect("tables").teams.is_some());
        // A member table without a role is not the plugin's: no organization is ever confirmed.
        c.retain(|x| !(x.table == "member" && x.column == "role"));
        let layout = resolve("public", &c, &SchemaOverrides::default()).expect("resolves");
        assert!(layout.organizations.is_none());
    }

    #[test]
    fn dynamic_organization_roles_are_optional_and_overridable() {
        use crate::store::postgres::lookups::OrganizationRoleLookup;
        let mut c = better_auth_default();
        let layout = resolve("public", &c, &SchemaOverrides::default()).expect("resolves");
        assert!(layout.table::<OrganizationRoleField>().is_none());
        assert!(OrganizationRoleLookup::new(&layout).is_none());
        c.extend(cols(
            "organizationRole",
            &[
                ("id", "text"),
                ("organizationId", "text"),
                ("role", "text"),
                ("permission", "text"),
                ("createdAt", TZ),
                ("updatedAt", TZ),
            ],
        ));
        let layout = resolve("public", &c, &SchemaOverrides::default()).expect("resolves");
        assert_eq!(
            OrganizationRoleLookup::new(&layout).expect("a table").sql,
            "SELECT r.\"role\"::text, r.\"permission\"::text FROM \"organizationRole\" AS r \
             WHERE r.\"organizationId\" = $1"
        );
        // Renamed through its own variables, like every model.
        let renamed = cols(
            "org_roles",
            &[
                ("id", "uuid"),
                ("org_id", "uuid"),
                ("role", "text"),
                ("perms", "text"),
            ],
        );
        let env = [
            ("BETTER_AUTH_ORGANIZATION_ROLE_TABLE", "org_roles"),
            (
                "BETTER_AUTH_ORGANIZATION_ROLE_FIELDS",
                "organizationId=org_id,permission=perms",
            ),
        ];
        let get = |k: &str| {
            env.iter()
                .find(|(n, _)| *n == k)
                .map(|(_, v)| (*v).to_owned())
        };
        let overrides = SchemaOverrides::parse(&crate::env::Env::new(&get)).expect("parses");
        assert!(
            overrides
                .candidate_tables()
                .contains(&"org_roles".to_owned())
        );
        let mut c = better_auth_default();
        c.extend(renamed);
        let layout = resolve("public", &c, &overrides).expect("resolves");
        assert_eq!(
            OrganizationRoleLookup::new(&layout).expect("a table").sql,
            "SELECT r.\"role\"::text, r.\"perms\"::text FROM \"org_roles\" AS r \
             WHERE r.\"org_id\" = CAST($1::text AS uuid)"
        );
        // Without its `permission` column the table does not fit, and is left out (optional).
        c.retain(|x| !(x.table == "org_roles" && x.column == "perms"));
        let layout = resolve("public", &c, &overrides).expect("resolves");
        assert!(layout.table::<OrganizationRoleField>().is_none());
    }

    #[test]
    fn admin_columns_can_be_required() {
        let mut c = better_auth_default();
        c.retain(|x| x.column != "banned");
        let lax = SchemaOverrides::default();
        assert!(resolve("public", &c, &lax).is_ok());
        let strict = SchemaOverrides {
            require_admin_columns: true,
            ..SchemaOverrides::default()
        };
        let err = resolve("public", &c, &strict).expect_err("no banned column");
        assert!(
            err.to_string()
                .contains("BETTER_AUTH_REQUIRE_ADMIN_COLUMNS"),
            "{err}"
        );
        assert!(resolve("public", &better_auth_default(), &strict).is_ok());
    }

    #[test]
    fn refuses_columns_of_the_wrong_type() {
        let mut c = better_auth_default();
        for x in &mut c {
            if x.column == "expiresAt" {
                x.data_type = "bigint".into();
            }
        }
        let err = resolve("public", &c, &SchemaOverrides::default()).expect_err("wrong type");
        assert!(
            matches!(
                err,
                SchemaError::WrongType {
                    field: "expiresAt",
                    ..
                }
            ),
            "{err}"
        );
    }

    #[test]
    fn works_without_the_admin_plugin() {
        let mut c = better_auth_default();
        c.retain(|x| {
            ![
                "role",
                "banned",
                "banReason",
                "banExpires",
                "impersonatedBy",
            ]
            .contains(&x.column.as_str())
        });
        let layout = resolve("public", &c, &SchemaOverrides::default()).expect("resolves");
        let sql = lookup_sql(&layout);
        assert!(
            sql.contains("NULL::text, false, u.\"id\"::text, u.\"email\"::text"),
            "{sql}"
        );
        assert!(
            sql.contains(
                "NULL::text, NULL::boolean, NULL::timestamptz, NULL::boolean, NULL::timestamptz FROM"
            ),
            "{sql}"
        );
    }

    #[test]
    fn identifiers_are_validated_and_quoted() {
        assert!(validate_identifier("user_sessions").is_ok());
        assert!(validate_identifier("_x1").is_ok());
        for bad in [
            "",
            "1abc",
            "a-b",
            "user\"; drop table x;--",
            "a b",
            &"a".repeat(64),
            "é",
        ] {
            assert!(validate_identifier(bad).is_err(), "{bad}");
        }
        assert_eq!(quote("user"), "\"user\"");
        assert_eq!(quote("a\"b"), "\"a\"\"b\"");
    }

    #[test]
    fn snake_cases_camel_names() {
        assert_eq!(snake_case("emailVerified"), "email_verified");
        assert_eq!(snake_case("banExpires"), "ban_expires");
        assert_eq!(snake_case("id"), "id");
    }
}
