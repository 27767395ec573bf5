//! HTTP plumbing shared by the `me`, `users` and `sessions` functions: who the caller is, JSON
//! bodies, CORS, and the one mapping from errors to responses.

mod caller;
mod cors;
mod csrf;
mod error;
mod permission;
mod request;
mod resource_metadata;
mod serve;
mod settings;

pub use caller::{Caller, authorizer_caller, caller, raw_credentials};
pub use cors::{preflight, with_cors};
pub use csrf::check_cross_site;
pub use error::{ApiError, json, ok};
pub use permission::Permission;
pub use request::{json_body, path_id, query_param, segments};
pub use resource_metadata::{ResourceMetadata, WELL_KNOWN_PATH};
pub use serve::serve;
pub use settings::{ApiSettings, App};

#[cfg(test)]
mod tests {
    use super::csrf::*;
    use super::settings::*;
    use super::*;
    use auth_core::ConfigError;
    use lambda_http::Body;
    use lambda_http::http::header;
    use serde_json::Value;
    use serde_json::json;

    fn settings(pairs: &[(&str, &str)]) -> Result<ApiSettings, ConfigError> {
        let pairs: Vec<(String, String)> = pairs
            .iter()
            .map(|(a, b)| ((*a).into(), (*b).into()))
            .collect();
        ApiSettings::from_lookup(|k| pairs.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone()))
    }

    fn may(s: &ApiSettings, user_id: &str, role: Option<&str>, permission: Permission) -> bool {
        s.access.user_may(
            user_id,
            role,
            &permission.request(),
            auth_core::access::Connector::And,
        )
    }

    #[test]
    fn defaults_and_validation() {
        let s = settings(&[]).expect("defaults");
        assert_eq!(s.access, auth_core::access::AccessControl::default());
        assert_eq!(s.assignable_roles, ["admin", "user"]);
        assert!(s.cors_origins.is_empty());
        for (var, value) in [
            ("CORS_ALLOWED_ORIGINS", "*"),
            ("CORS_ALLOWED_ORIGINS", "https://a.example.com/"),
            ("CORS_ALLOWED_ORIGINS", "a.example.com"),
            ("MAX_BODY_BYTES", "1"),
            ("USERS_MAX_LIMIT", "0"),
            ("ASSIGNABLE_ROLES", "super user"),
            ("BETTER_AUTH_ACCESS_CONTROL", "{\"role\":{}}"),
        ] {
            assert!(settings(&[(var, value)]).is_err(), "{var}={value}");
        }
    }

    /// `ADMIN_ROLES` (deprecated) gives its roles Better Auth's default `admin` statements;
    /// `ADMIN_USER_IDS` joins `adminUserIds`; roles split as Better Auth splits them.
    #[test]
    fn the_deprecated_admin_settings_still_grant() {
        let s = settings(&[("ADMIN_USER_IDS", "u-root"), ("ADMIN_ROLES", "admin,owner")])
            .expect("valid");
        for permission in [
            Permission::LIST_USERS,
            Permission::BAN,
            Permission::SET_ROLE,
        ] {
            assert!(may(&s, "u-root", None, permission));
            assert!(may(&s, "u1", Some("user,owner"), permission));
            assert!(
                !may(&s, "u1", Some("user, owner"), permission),
                "Better Auth does not trim roles"
            );
            assert!(!may(&s, "u1", Some("user,administrator"), permission));
            assert!(!may(&s, "u1", None, permission));
        }
        assert!(!may(&s, "u1", Some("user"), Permission::GET_USER));
    }

    const TEST_APP_ROLES: &str = r#"{"roles":{"admin":{"user":["list","set-role","get","update"],"session":["list","revoke"]},"support":{"user":["list","ban","get"],"session":["list","revoke"]},"user":{"user":[],"session":[]}},"adminRoles":["admin"],"adminUserIds":["u-root"]}"#;

    /// With `BETTER_AUTH_ACCESS_CONTROL`, its statements decide (not role names), and
    /// `ADMIN_ROLES` is ignored; `ADMIN_USER_IDS` is still added.
    #[test]
    fn the_access_control_decides_by_statement() {
        let s = settings(&[
            ("BETTER_AUTH_ACCESS_CONTROL", TEST_APP_ROLES),
            ("ADMIN_ROLES", "user"),
            ("ADMIN_USER_IDS", "u-ops"),
        ])
        .expect("valid");
        assert!(may(&s, "u1", Some("admin"), Permission::LIST_USERS));
        assert!(!may(&s, "u1", Some("admin"), Permission::BAN));
        assert!(may(&s, "u1", Some("support"), Permission::BAN));
        assert!(!may(&s, "u1", Some("support"), Permission::SET_ROLE));
        assert!(!may(&s, "u1", Some("user"), Permission::LIST_USERS));
        assert!(may(&s, "u-root", Some("user"), Permission::BAN));
        assert!(may(&s, "u-ops", Some("user"), Permission::BAN));
        // Unset, the assignable roles are every role, as Better Auth's set-role accepts.
        assert_eq!(s.assignable_roles, ["admin", "support", "user"]);
    }

    /// `ASSIGNABLE_ROLES` names roles that exist: anything else stops the start, naming it.
    #[test]
    fn assignable_roles_must_be_roles() {
        let error = settings(&[("ASSIGNABLE_ROLES", "user,superuser")])
            .expect_err("superuser is no role")
            .to_string();
        assert!(
            error.contains("ASSIGNABLE_ROLES") && error.contains("\"superuser\""),
            "{error}"
        );
        assert!(settings(&[("ASSIGNABLE_ROLES", "user,staff"), ("ADMIN_ROLES", "staff")]).is_ok());
        let error = settings(&[
            ("BETTER_AUTH_ACCESS_CONTROL", TEST_APP_ROLES),
            ("ASSIGNABLE_ROLES", "support,auditor"),
        ])
        .expect_err("auditor is not in these roles")
        .to_string();
        assert!(error.contains("\"auditor\""), "{error}");
        let s = settings(&[
            ("BETTER_AUTH_ACCESS_CONTROL", TEST_APP_ROLES),
            ("ASSIGNABLE_ROLES", "support,user"),
        ])
        .expect("valid");
        assert_eq!(s.assignable_roles, ["support", "user"]);
    }

    #[test]
    fn origins_match_exactly_or_by_host_pattern() {
        let trusted = vec![
            "https://app.example.com".to_owned(),
            "https://*.example.org".to_owned(),
        ];
        assert!(origin_matches("https://app.example.com", &trusted));
        assert!(origin_matches("https://APP.example.com", &trusted));
        assert!(origin_matches("https://a.b.example.org", &trusted));
        for foreign in [
            "https://evil.com",
            "http://app.example.com",
            "https://app.example.com.evil.com",
            "https://evil.com/.example.org",
            "https://example.org",
        ] {
            assert!(!origin_matches(foreign, &trusted), "{foreign}");
        }
        assert_eq!(
            origin_of_url("https://app.example.com:8443/path?q#f").as_deref(),
            Some("https://app.example.com:8443")
        );
        let s = settings(&[
            ("CORS_ALLOWED_ORIGINS", "https://app.example.com"),
            ("BETTER_AUTH_TRUSTED_ORIGINS", "https://*.example.org"),
            ("BETTER_AUTH_URL", "https://auth.example.com/api/auth"),
        ])
        .expect("valid");
        assert_eq!(
            s.trusted_origins,
            [
                "https://*.example.org",
                "https://app.example.com",
                "https://auth.example.com"
            ]
        );
        assert!(settings(&[("BETTER_AUTH_TRUSTED_ORIGINS", "https://a.example.com/x")]).is_err());
    }

    #[test]
    fn path_ids_are_plain() {
        assert!(path_id("abc-DEF_123").is_ok());
        assert!(path_id("0b2e6c1c-5a5e-4b1e-9f0a-3c2d1e0f9a8b").is_ok());
        for bad in ["", "a b", "a'--", "a/b", "é", &"a".repeat(256)] {
            assert!(path_id(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn errors_are_json_with_a_code() {
        let response = ApiError::user_not_found().response();
        assert_eq!(response.status(), 404);
        assert_eq!(response.headers()[header::CACHE_CONTROL], "no-store");
        let body: Value = match response.body() {
            Body::Text(t) => serde_json::from_str(t).expect("json"),
            other => panic!("{other:?}"),
        };
        assert_eq!(
            body,
            json!({"code": "USER_NOT_FOUND", "message": "User not found"})
        );
    }
}
