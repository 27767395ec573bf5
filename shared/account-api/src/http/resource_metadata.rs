//! The OAuth protected-resource metadata document (RFC 9728) this API serves at
//! `/.well-known/oauth-protected-resource`: what an MCP client (or any OAuth client) reads after
//! a 401 to find the authorization server that issues tokens for this API. Built once from
//! settings, shaped as Better Auth's own `@better-auth/mcp` serves it.

use auth_core::ConfigError;
use auth_core::env::{Env, invalid};
use serde_json::{Value, json};

/// The path RFC 9728 registers.
pub const WELL_KNOWN_PATH: &str = "/.well-known/oauth-protected-resource";

/// `OAUTH_PROTECTED_RESOURCE`: this API's resource identifier.
pub const RESOURCE_VAR: &str = "OAUTH_PROTECTED_RESOURCE";
/// `OAUTH_AUTHORIZATION_SERVERS`: issuers of the tokens this API accepts.
pub const AUTHORIZATION_SERVERS_VAR: &str = "OAUTH_AUTHORIZATION_SERVERS";
/// `OAUTH_SCOPES_SUPPORTED`: the scopes this API's routes ask for.
pub const SCOPES_VAR: &str = "OAUTH_SCOPES_SUPPORTED";

/// The document, rendered once at cold start.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResourceMetadata {
    /// The resource identifier (`resource`): an `https` URL (`http` for localhost).
    pub resource: String,
    /// The document.
    pub document: Value,
    /// The path of the resource identifier (`/mcp` for `https://api.example.com/mcp`; empty for
    /// the origin): RFC 9728 also serves the document at the well-known path followed by it.
    pub resource_path: String,
}

impl ResourceMetadata {
    /// Reads the settings; `None` when `OAUTH_PROTECTED_RESOURCE` is unset (the route then
    /// answers 404). `OAUTH_AUTHORIZATION_SERVERS` (comma-separated issuer URLs) defaults to
    /// `default_issuer` (the OAuth method's issuer) and is required without one.
    pub fn from_env(
        env: &Env<'_>,
        default_issuer: Option<&str>,
    ) -> Result<Option<Self>, ConfigError> {
        let Some(resource) = env.get(RESOURCE_VAR) else {
            return Ok(None);
        };
        let resource = resource.trim().to_owned();
        let resource_path = http_url_path(&resource).ok_or_else(|| {
            invalid(
                RESOURCE_VAR,
                "an https URL without query or fragment, e.g. https://api.example.com/mcp (http only for localhost)",
            )
        })?;
        // RFC 9728 §3.3: clients build the document's URL from the identifier and check that the
        // document names it exactly; `me` serves the well-known path and it followed by one
        // segment, so the identifier is an origin or an origin and one segment, as written.
        let one_segment = resource_path.matches('/').count() <= 1;
        if !one_segment || resource.ends_with('/') && !resource_path.is_empty() {
            return Err(invalid(
                RESOURCE_VAR,
                "an origin, or an origin and one path segment without a trailing slash (https://api.example.com/mcp)",
            ));
        }
        let servers: Vec<String> = match env.get(AUTHORIZATION_SERVERS_VAR) {
            Some(list) => list
                .split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .collect(),
            None => default_issuer.map(str::to_owned).into_iter().collect(),
        };
        if servers.is_empty() {
            return Err(invalid(
                AUTHORIZATION_SERVERS_VAR,
                "required with OAUTH_PROTECTED_RESOURCE: the issuer of the access tokens (Better Auth's base URL, e.g. https://auth.example.com/api/auth, or the jwt plugin's issuer)",
            ));
        }
        if let Some(bad) = servers.iter().find(|s| http_url_path(s).is_none()) {
            return Err(invalid(
                AUTHORIZATION_SERVERS_VAR,
                format!("\"{bad}\" is not an https issuer URL (http only for localhost)"),
            ));
        }
        let scopes: Vec<String> = env
            .get(SCOPES_VAR)
            .map(|s| {
                s.split([' ', ','])
                    .filter(|s| !s.is_empty())
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default();
        let mut document = json!({
            "resource": resource,
            "authorization_servers": servers,
            "bearer_methods_supported": ["header"],
        });
        if !scopes.is_empty() {
            document["scopes_supported"] = Value::from(scopes);
        }
        Ok(Some(Self {
            resource,
            document,
            resource_path,
        }))
    }

    /// Whether `path` is one this document is served at: the well-known path, or it followed
    /// by the resource identifier's path.
    pub fn serves(&self, path: &str) -> bool {
        path == WELL_KNOWN_PATH
            || (!self.resource_path.is_empty()
                && path.strip_prefix(WELL_KNOWN_PATH) == Some(self.resource_path.as_str()))
    }
}

/// The path of an absolute `https` URL (or `http` on localhost) without query or fragment,
/// trailing `/` removed; `None` when it is not one.
fn http_url_path(value: &str) -> Option<String> {
    let url = url::Url::parse(value).ok()?;
    let local = matches!(url.host_str(), Some("localhost" | "127.0.0.1" | "[::1]"));
    let scheme_ok = url.scheme() == "https" || (url.scheme() == "http" && local);
    if !scheme_ok || url.query().is_some() || url.fragment().is_some() || url.host().is_none() {
        return None;
    }
    Some(url.path().trim_end_matches('/').to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(
        vars: &[(&str, &str)],
        issuer: Option<&str>,
    ) -> Result<Option<ResourceMetadata>, ConfigError> {
        let lookup = |k: &str| {
            vars.iter()
                .find(|(n, _)| *n == k)
                .map(|(_, v)| (*v).to_owned())
        };
        ResourceMetadata::from_env(&Env::new(&lookup), issuer)
    }

    #[test]
    fn the_document_is_shaped_as_rfc_9728_says() {
        let meta = parse(
            &[
                (RESOURCE_VAR, "https://api.example.com/mcp"),
                (
                    AUTHORIZATION_SERVERS_VAR,
                    "https://auth.example.com/api/auth",
                ),
                (SCOPES_VAR, "orders:read orders:write,profile"),
            ],
            None,
        )
        .expect("valid")
        .expect("configured");
        assert_eq!(
            meta.document,
            json!({
                "resource": "https://api.example.com/mcp",
                "authorization_servers": ["https://auth.example.com/api/auth"],
                "bearer_methods_supported": ["header"],
                "scopes_supported": ["orders:read", "orders:write", "profile"],
            })
        );
        assert!(meta.serves("/.well-known/oauth-protected-resource"));
        assert!(meta.serves("/.well-known/oauth-protected-resource/mcp"));
        assert!(!meta.serves("/.well-known/oauth-protected-resource/other"));
    }

    #[test]
    fn unset_is_off_and_the_issuer_defaults_to_the_oauth_methods() {
        assert_eq!(
            parse(&[], Some("https://auth.example.com")).expect("ok"),
            None
        );
        let meta = parse(
            &[(RESOURCE_VAR, "https://api.example.com")],
            Some("https://auth.example.com/api/auth"),
        )
        .expect("valid")
        .expect("configured");
        assert_eq!(
            meta.document["authorization_servers"],
            json!(["https://auth.example.com/api/auth"])
        );
        assert!(meta.document.get("scopes_supported").is_none());
        assert!(meta.serves(WELL_KNOWN_PATH));
        assert!(!meta.serves("/.well-known/oauth-protected-resource/"));
    }

    #[test]
    fn malformed_settings_stop_the_start_naming_the_variable() {
        for (vars, var) in [
            (
                vec![(RESOURCE_VAR, "https://api.example.com")],
                AUTHORIZATION_SERVERS_VAR,
            ),
            (vec![(RESOURCE_VAR, "api.example.com")], RESOURCE_VAR),
            (vec![(RESOURCE_VAR, "http://api.example.com")], RESOURCE_VAR),
            (
                vec![(RESOURCE_VAR, "https://api.example.com/?x=1")],
                RESOURCE_VAR,
            ),
            (
                vec![
                    (RESOURCE_VAR, "https://api.example.com"),
                    (AUTHORIZATION_SERVERS_VAR, "ftp://auth.example.com"),
                ],
                AUTHORIZATION_SERVERS_VAR,
            ),
        ] {
            let error = parse(&vars, None).expect_err("refused");
            assert!(error.to_string().contains(var), "{vars:?}: {error}");
        }
        assert!(
            parse(
                &[(RESOURCE_VAR, "http://localhost:9000/mcp")],
                Some("http://localhost:3000/api/auth")
            )
            .expect("localhost may use http")
            .is_some()
        );
    }
}
