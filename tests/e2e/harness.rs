//! The harness itself: what the other suites rely on to run in parallel without racing.

use test_support::better_auth::Profile;
use test_support::{TestDb, Variant};

/// Better Auth's migrator lists the tables of every schema in its database, then reads their
/// columns: a schema another test drops in between crashed the server at start-up (issue 25).
/// A server's database is therefore its own: no schema of another test is ever in its catalogue,
/// and a schema dropped elsewhere cannot reach it.
#[tokio::test]
async fn a_better_auth_servers_database_holds_no_other_tests_schema() {
    let server_db = Profile::Default.database().await;
    assert!(server_db.is_isolated());
    let sibling = TestDb::new(Variant::Default).await;
    let other_server_db = Profile::NoAdmin.database().await;
    assert!(!sibling.is_isolated());

    let schemas: Vec<String> = server_db
        .client
        .query(
            "SELECT nspname::text FROM pg_namespace \
             WHERE nspname NOT LIKE 'pg\\_%' AND nspname <> 'information_schema'",
            &[],
        )
        .await
        .expect("list schemas")
        .iter()
        .map(|row| row.get(0))
        .collect();
    assert!(schemas.contains(&server_db.schema), "{schemas:?}");
    assert!(!schemas.contains(&sibling.schema), "{schemas:?}");
    assert!(!schemas.contains(&other_server_db.schema), "{schemas:?}");
    assert_ne!(server_db.database_url, sibling.database_url);
    assert_ne!(server_db.database_url, other_server_db.database_url);

    // Dropping a test's database leaves nothing behind on the server.
    let database = server_db
        .database_url
        .rsplit('/')
        .next()
        .unwrap_or_default()
        .to_owned();
    let admin = &sibling.client;
    drop(server_db);
    let left: i64 = admin
        .query_one(
            "SELECT count(*) FROM pg_database WHERE datname = $1",
            &[&database],
        )
        .await
        .expect("count databases")
        .get(0);
    assert_eq!(left, 0, "the server's database outlived its test");
}
