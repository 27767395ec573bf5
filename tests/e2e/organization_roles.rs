//! The organization plugin's dynamic roles (`dynamicAccessControl: { enabled: true }`): the
//! `organizationRole` table read by `AuthStore::organization_roles`, through the deployed store,
//! on Better Auth's own schema (the real server's flow is `better_auth::organizations`).

use auth_core::store::{AuthStore, OrganizationRoleRow};
use test_support::{TestDb, Variant, http::TEST_SECRET};

/// What Better Auth 1.7.25's migrator (`getMigrations().compileMigrations()`, organization plugin
/// with `dynamicAccessControl: { enabled: true }`) creates for the organization and its roles.
const ORGANIZATION_ROLE_DDL: &str = r#"
create table "organization" ("id" text not null primary key, "name" text not null, "slug" text not null unique, "logo" text, "createdAt" timestamptz not null, "metadata" text);
create table "organizationRole" ("id" text not null primary key, "organizationId" text not null references "organization" ("id") on delete cascade, "role" text not null, "permission" text not null, "createdAt" timestamptz default CURRENT_TIMESTAMP not null, "updatedAt" timestamptz);
create index "organizationRole_organizationId_idx" on "organizationRole" ("organizationId");
create index "organizationRole_role_idx" on "organizationRole" ("role");
"#;

fn row(role: &str, permission: &str) -> OrganizationRoleRow {
    OrganizationRoleRow {
        role: role.to_owned(),
        permission: permission.to_owned(),
    }
}

async fn sorted_roles(
    auth: &auth_core::Authenticator,
    organization_id: &str,
) -> Vec<OrganizationRoleRow> {
    let mut rows = auth
        .store()
        .organization_roles(organization_id)
        .await
        .expect("the lookup answers");
    rows.sort_by(|a, b| a.role.cmp(&b.role));
    rows
}

/// Each organization's roles, as stored (the permission as raw JSON text), and none for an
/// organization without any or one that does not exist.
#[tokio::test]
async fn an_organizations_dynamic_roles_are_read_as_stored() {
    let db = TestDb::new(Variant::Default).await;
    db.client
        .batch_execute(ORGANIZATION_ROLE_DDL)
        .await
        .expect("the plugin's tables");
    for (id, slug) in [("org-a", "acme"), ("org-b", "globex"), ("org-c", "initech")] {
        db.execute(
            "INSERT INTO organization (id, name, slug, \"createdAt\") VALUES ($1, $1, $2, now())",
            &[&id, &slug],
        )
        .await;
    }
    for (id, organization, role, permission) in [
        ("r1", "org-a", "auditor", r#"{"invoice":["read"]}"#),
        (
            "r2",
            "org-a",
            "billing",
            r#"{"invoice":["create","read"],"project":["read"]}"#,
        ),
        ("r3", "org-b", "auditor", r#"{"project":["read"]}"#),
    ] {
        db.execute(
            "INSERT INTO \"organizationRole\" (id, \"organizationId\", role, permission) VALUES ($1, $2, $3, $4)",
            &[&id, &organization, &role, &permission],
        )
        .await;
    }
    let auth = test_support::authenticator(&db.url, TEST_SECRET, &[]);
    assert!(
        auth.store()
            .has_organization_roles()
            .await
            .expect("answers")
    );
    assert_eq!(
        sorted_roles(&auth, "org-a").await,
        vec![
            row("auditor", r#"{"invoice":["read"]}"#),
            row(
                "billing",
                r#"{"invoice":["create","read"],"project":["read"]}"#
            ),
        ]
    );
    assert_eq!(
        sorted_roles(&auth, "org-b").await,
        vec![row("auditor", r#"{"project":["read"]}"#)]
    );
    assert_eq!(sorted_roles(&auth, "org-c").await, vec![]);
    assert_eq!(sorted_roles(&auth, "no-such-org").await, vec![]);
    // A role deleted through Better Auth is gone on the next lookup (nothing is cached).
    db.execute("DELETE FROM \"organizationRole\" WHERE id = 'r1'", &[])
        .await;
    assert_eq!(
        sorted_roles(&auth, "org-a").await,
        vec![row(
            "billing",
            r#"{"invoice":["create","read"],"project":["read"]}"#
        )]
    );
}

/// Without `dynamicAccessControl` there is no `organizationRole` table: the store says so, and
/// the lookup answers no roles rather than an error.
#[tokio::test]
async fn without_the_table_the_store_reports_it_absent() {
    let db = TestDb::new(Variant::Default).await;
    let auth = test_support::authenticator(&db.url, TEST_SECRET, &[]);
    assert!(
        !auth
            .store()
            .has_organization_roles()
            .await
            .expect("answers")
    );
    assert_eq!(sorted_roles(&auth, "org-a").await, vec![]);
}

/// A renamed table and columns, mapped with the model's own variables, with a uuid
/// `organizationId` (the parameter is cast to the column's type).
#[tokio::test]
async fn a_renamed_table_is_read_through_its_variables() {
    let db = TestDb::new(Variant::Default).await;
    db.client
        .batch_execute(
            "CREATE TABLE org_roles (id text PRIMARY KEY, org uuid NOT NULL, role text NOT NULL, grants text NOT NULL);
             INSERT INTO org_roles VALUES ('r1', '6f1d2c4e-8a4b-4c1e-9f3a-2b7d5e9c0a11', 'auditor', '{\"invoice\":[\"read\"]}');",
        )
        .await
        .expect("the renamed table");
    let auth = test_support::authenticator(
        &db.url,
        TEST_SECRET,
        &[
            ("BETTER_AUTH_ORGANIZATION_ROLE_TABLE", "org_roles"),
            (
                "BETTER_AUTH_ORGANIZATION_ROLE_FIELDS",
                "organizationId=org,permission=grants",
            ),
        ],
    );
    assert_eq!(
        sorted_roles(&auth, "6f1d2c4e-8a4b-4c1e-9f3a-2b7d5e9c0a11").await,
        vec![row("auditor", r#"{"invoice":["read"]}"#)]
    );
    // An id that cannot be a uuid is the caller's input, not an outage.
    assert!(matches!(
        auth.store().organization_roles("not-a-uuid").await,
        Err(auth_core::StoreError::InvalidInput)
    ));
}
