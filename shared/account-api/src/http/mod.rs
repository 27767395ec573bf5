//! HTTP plumbing shared by the `me`, `users` and `sessions` functions: who the caller is, JSON
//! bodies, CORS, and the one mapping from errors to responses.

mod caller;
mod cors;
mod csrf;
mod error;
mod request;
mod serve;
mod settings;

pub use caller::{Caller, authorizer_caller, caller, raw_credentials};
pub use cors::{preflight, with_cors};
pub use csrf::check_cross_site;
pub use error::{ApiError, json, ok};
pub use request::{json_body, path_id, query_param, segments};
pub use serve::serve;
pub use settings::{ApiSettings, App};

#[cfg(test)]
mod tests {
    use super::caller::is_admin;
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

    #[test]
    fn defaults_and_validation() {
        let s = settings(&[]).expect("defaults");
        assert_eq!(s.admin_roles, ["admin"]);
        assert_eq!(s.assignable_roles, ["admin", "user"]);
        assert!(s.cors_origins.is_empty());
        for (var, value) in [
            ("CORS_ALLOWED_ORIGINS", "*"),
            ("CORS_ALLOWED_ORIGINS", "https://a.example.com/"),
            ("CORS_ALLOWED_ORIGINS", "a.example.com"),
            ("MAX_BODY_BYTES", "1"),
            ("USERS_MAX_LIMIT", "0"),
            ("ASSIGNABLE_ROLES", "super user"),
        ] {
            assert!(settings(&[(var, value)]).is_err(), "{var}={value}");
        }
    }

    #[test]
    fn admins_by_role_or_id() {
        let s = settings(&[("ADMIN_USER_IDS", "u-root"), ("ADMIN_ROLES", "admin,owner")])
            .expect("valid");
        assert!(is_admin(&s, "u-root", None));
        assert!(is_admin(&s, "u1", Some("user,owner")));
        assert!(
            !is_admin(&s, "u1", Some("user, owner")),
            "Better Auth does not trim roles"
        );
        assert!(!is_admin(&s, "u1", Some("user,administrator")));
        assert!(!is_admin(&s, "u1", None));
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
