//! The app's roles as Better Auth holds them (`BETTER_AUTH_ACCESS_CONTROL`), and the two
//! `hasPermission` functions: the admin plugin's (the user's `role`) and the organization
//! plugin's (the member's `role` in the active organization, dynamic roles merged in).

use std::collections::HashMap;

use serde::Deserialize;

use super::statements::{Connector, PermissionRequest, Statements};
use crate::env::{ConfigError, invalid};

/// The variable this is read from.
pub const ACCESS_CONTROL_VAR: &str = "BETTER_AUTH_ACCESS_CONTROL";

/// Roles keyed by name.
pub type Roles = HashMap<String, Statements>;

/// The app's access control: the admin plugin's roles and options, the organization plugin's
/// roles. Absent parts take Better Auth's defaults.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessControl {
    roles: Roles,
    default_role: String,
    admin_user_ids: Vec<String>,
    admin_roles: Vec<String>,
    organization_roles: Roles,
    creator_role: String,
    dynamic_roles: bool,
}

impl Default for AccessControl {
    /// Better Auth's defaults: the admin plugin's `admin` and `user` roles, the organization
    /// plugin's `owner`, `admin` and `member`.
    fn default() -> Self {
        Self {
            roles: default_admin_roles(),
            default_role: "user".into(),
            admin_user_ids: Vec::new(),
            admin_roles: vec!["admin".into()],
            organization_roles: default_organization_roles(),
            creator_role: "owner".into(),
            dynamic_roles: false,
        }
    }
}

/// `BETTER_AUTH_ACCESS_CONTROL` as written. Unknown keys are refused: a typo must not
/// silently leave Better Auth's defaults in place.
#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct Document {
    roles: Option<HashMap<String, HashMap<String, Vec<String>>>>,
    default_role: Option<String>,
    admin_user_ids: Option<Vec<String>>,
    admin_roles: Option<RoleNames>,
    organization_roles: Option<HashMap<String, HashMap<String, Vec<String>>>>,
    creator_role: Option<String>,
    statements: Option<HashMap<String, Vec<String>>>,
    organization_statements: Option<HashMap<String, Vec<String>>>,
    dynamic_access_control: Option<bool>,
}

/// `adminRoles` as Better Auth takes it: a list, or one comma-separated string.
#[derive(Deserialize)]
#[serde(untagged)]
enum RoleNames {
    List(Vec<String>),
    Text(String),
}

impl AccessControl {
    /// Parses `BETTER_AUTH_ACCESS_CONTROL` (see docs/authorization.md). Errors name the key.
    pub fn parse(json: &str) -> Result<Self, ConfigError> {
        let doc: Document = parse_json(json, ACCESS_CONTROL_VAR)?;
        let mut ac = Self::default();
        let to_roles = |map: HashMap<String, HashMap<String, Vec<String>>>| -> Roles {
            map.into_iter()
                .map(|(name, statements)| (name, Statements::new(statements)))
                .collect()
        };
        if let Some(roles) = doc.roles {
            ac.roles = to_roles(roles);
        }
        if let Some(roles) = doc.organization_roles {
            ac.organization_roles = to_roles(roles);
        }
        if let Some(role) = doc.default_role {
            ac.default_role = role;
        }
        if let Some(ids) = doc.admin_user_ids {
            ac.admin_user_ids = ids;
        }
        if let Some(role) = doc.creator_role {
            ac.creator_role = role;
        }
        if let Some(on) = doc.dynamic_access_control {
            ac.dynamic_roles = on;
        }
        if let Some(names) = doc.admin_roles {
            let names = match names {
                RoleNames::List(list) => list,
                RoleNames::Text(text) => text.split(',').map(str::to_owned).collect(),
            };
            // As the admin plugin checks at start-up (case-insensitively).
            for name in &names {
                let known = ac.roles.keys().any(|r| r.eq_ignore_ascii_case(name));
                if !known {
                    return Err(invalid(
                        ACCESS_CONTROL_VAR,
                        format!("adminRoles names \"{name}\", which is not in roles"),
                    ));
                }
            }
            ac.admin_roles = names.into_iter().map(|n| n.trim().to_owned()).collect();
        }
        if let Some(statements) = doc.statements {
            check_against(&Statements::new(statements), &ac.roles, "roles")?;
        }
        if let Some(statements) = doc.organization_statements {
            check_against(
                &Statements::new(statements),
                &ac.organization_roles,
                "organizationRoles",
            )?;
        }
        Ok(ac)
    }

    /// `ADMIN_ROLES` (deprecated): Better Auth's default roles, with each named role given the
    /// default `admin` statements.
    pub fn with_admin_role_names(names: &[String]) -> Self {
        let mut ac = Self::default();
        let admin = ac.roles.get("admin").cloned().unwrap_or_default();
        for name in names {
            ac.roles.insert(name.clone(), admin.clone());
        }
        ac.admin_roles = names.to_vec();
        ac
    }

    /// Adds `ids` to `adminUserIds` (the deprecated `ADMIN_USER_IDS`).
    pub fn add_admin_user_ids(&mut self, ids: &[String]) {
        for id in ids {
            if !self.admin_user_ids.contains(id) {
                self.admin_user_ids.push(id.clone());
            }
        }
    }

    /// The admin plugin's `hasPermission`: an id in `adminUserIds` may do anything; otherwise
    /// `role` (or `defaultRole`) split on `,` as Better Auth splits it (no trimming), allowed
    /// when any role authorizes the request.
    pub fn user_may(
        &self,
        user_id: &str,
        role: Option<&str>,
        request: &PermissionRequest,
        connector: Connector,
    ) -> bool {
        if !user_id.is_empty() && self.admin_user_ids.iter().any(|id| id == user_id) {
            return true;
        }
        let role = match role {
            Some(role) if !role.is_empty() => role,
            _ => &self.default_role,
        };
        let role = if role.is_empty() { "user" } else { role };
        role.split(',').any(|name| {
            self.roles
                .get(name)
                .is_some_and(|statements| statements.authorize(request, connector))
        })
    }

    /// The organization plugin's `hasPermission` for a member: `member_role` split on `,`
    /// (trimmed as JavaScript trims, empty names dropped, as the organization plugin's
    /// `parseRoleList` parses it) against `roles`
    /// ([`AccessControl::organization_roles`], or [`AccessControl::organization_roles_with`]
    /// for an organization with dynamic roles).
    pub fn member_may(
        roles: &Roles,
        member_role: &str,
        request: &PermissionRequest,
        connector: Connector,
    ) -> bool {
        member_role
            .split(',')
            .map(|name| name.trim_matches(is_js_white_space))
            .filter(|name| !name.is_empty())
            .any(|name| {
                roles
                    .get(name)
                    .is_some_and(|statements| statements.authorize(request, connector))
            })
    }

    /// The organization plugin's static roles.
    pub fn organization_roles(&self) -> &Roles {
        &self.organization_roles
    }

    /// Whether `organizationRole` rows count: Better Auth's `dynamicAccessControl`, opt-in as
    /// there (`"dynamicAccessControl": true`; rows left from a time it was on grant nothing).
    pub fn uses_dynamic_roles(&self) -> bool {
        self.dynamic_roles
    }

    /// The static roles with an organization's `organizationRole` rows merged in, as the
    /// organization plugin merges them: a row's actions are added to the same-named static
    /// role (or make a new role). A row whose `permission` is not `{resource: [action]}` is an
    /// error, as it is in Better Auth (which answers 500).
    pub fn organization_roles_with<'a>(
        &self,
        rows: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> Result<Roles, InvalidDynamicRole> {
        let mut roles = self.organization_roles.clone();
        for (role, permission) in rows {
            let parsed = Statements::from_json(permission).map_err(|_| InvalidDynamicRole {
                role: role.to_owned(),
            })?;
            let merged = roles.entry(role.to_owned()).or_default();
            for (resource, actions) in parsed.iter() {
                merged.merge(resource, actions);
            }
        }
        Ok(roles)
    }

    /// Whether `name` is one of the admin plugin's roles.
    pub fn is_role(&self, name: &str) -> bool {
        self.roles.contains_key(name)
    }

    /// The admin plugin's role names, sorted.
    pub fn role_names(&self) -> Vec<&str> {
        let mut names: Vec<&str> = self.roles.keys().map(String::as_str).collect();
        names.sort_unstable();
        names
    }

    /// The admin plugin's `adminRoles`.
    pub fn admin_roles(&self) -> &[String] {
        &self.admin_roles
    }

    /// The admin plugin's `adminUserIds`.
    pub fn admin_user_ids(&self) -> &[String] {
        &self.admin_user_ids
    }

    /// The organization plugin's `creatorRole`.
    pub fn creator_role(&self) -> &str {
        &self.creator_role
    }
}

/// White space to JavaScript's `String.prototype.trim` (ECMAScript's WhiteSpace and
/// LineTerminator): Unicode's `White_Space` (what `str::trim` removes) but NEL (U+0085), plus
/// ZWNBSP (U+FEFF). A role `"owner\u{feff}"` is `owner` to Better Auth; `"owner\u{85}"` is not.
fn is_js_white_space(c: char) -> bool {
    c == '\u{feff}' || (c.is_whitespace() && c != '\u{85}')
}

/// Parses a JSON setting; the error names the key where it went wrong (`roles.a.user: invalid
/// type…`), never echoes the whole value.
pub(crate) fn parse_json<T: serde::de::DeserializeOwned>(
    json: &str,
    var: &'static str,
) -> Result<T, ConfigError> {
    let mut deserializer = serde_json::Deserializer::from_str(json);
    let parsed: T = serde_path_to_error::deserialize(&mut deserializer).map_err(|e| {
        let path = e.path().to_string();
        let at = if path == "." {
            String::new()
        } else {
            format!("at {path}: ")
        };
        invalid(var, format!("not the expected JSON: {at}{}", e.inner()))
    })?;
    deserializer
        .end()
        .map_err(|e| invalid(var, format!("not the expected JSON: {e}")))?;
    Ok(parsed)
}

/// An `organizationRole` row whose `permission` is not a map of action lists.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("organizationRole \"{role}\" has a permission that is not {{resource: [action]}}")]
pub struct InvalidDynamicRole {
    /// The row's role name.
    pub role: String,
}

fn check_against(statements: &Statements, roles: &Roles, key: &str) -> Result<(), ConfigError> {
    for (name, role) in roles {
        for (resource, actions) in role.iter() {
            let Some(declared) = statements.actions(resource) else {
                return Err(invalid(
                    ACCESS_CONTROL_VAR,
                    format!(
                        "{key}.{name} names resource \"{resource}\", which the statements do not declare"
                    ),
                ));
            };
            if let Some(action) = actions.iter().find(|a| !declared.contains(a)) {
                return Err(invalid(
                    ACCESS_CONTROL_VAR,
                    format!(
                        "{key}.{name} allows \"{resource}:{action}\", which the statements do not declare"
                    ),
                ));
            }
        }
    }
    Ok(())
}

const ADMIN_USER_ACTIONS: [&str; 11] = [
    "create",
    "list",
    "set-role",
    "ban",
    "impersonate",
    "delete",
    "set-password",
    "set-email",
    "set-phone",
    "get",
    "update",
];

/// The admin plugin's `defaultRoles` (`admin`: every default statement but
/// `user:impersonate-admins`; `user`: none).
fn default_admin_roles() -> Roles {
    let none: [&str; 0] = [];
    Roles::from([
        (
            "admin".to_owned(),
            Statements::new([
                ("user", ADMIN_USER_ACTIONS.to_vec()),
                ("session", vec!["list", "revoke", "delete"]),
            ]),
        ),
        (
            "user".to_owned(),
            Statements::new([("user", none), ("session", none)]),
        ),
    ])
}

/// The organization plugin's `defaultRoles`.
fn default_organization_roles() -> Roles {
    let crud = ["create", "update", "delete"];
    let ac = ["create", "read", "update", "delete"];
    let none: Vec<&str> = Vec::new();
    Roles::from([
        (
            "owner".to_owned(),
            Statements::new([
                ("organization", vec!["update", "delete"]),
                ("member", crud.to_vec()),
                ("invitation", vec!["create", "cancel"]),
                ("team", crud.to_vec()),
                ("ac", ac.to_vec()),
            ]),
        ),
        (
            "admin".to_owned(),
            Statements::new([
                ("organization", vec!["update"]),
                ("invitation", vec!["create", "cancel"]),
                ("member", crud.to_vec()),
                ("team", crud.to_vec()),
                ("ac", ac.to_vec()),
            ]),
        ),
        (
            "member".to_owned(),
            Statements::new([
                ("organization", none.clone()),
                ("member", none.clone()),
                ("invitation", none.clone()),
                ("team", none),
                ("ac", vec!["read"]),
            ]),
        ),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(json: &str) -> PermissionRequest {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn defaults_are_better_auths() {
        let ac = AccessControl::default();
        let ban = req(r#"{"user":["ban"]}"#);
        assert!(ac.user_may("u1", Some("admin"), &ban, Connector::And));
        assert!(!ac.user_may("u1", Some("user"), &ban, Connector::And));
        assert!(!ac.user_may("u1", None, &ban, Connector::And));
        assert!(!ac.user_may(
            "u1",
            Some("admin"),
            &req(r#"{"user":["impersonate-admins"]}"#),
            Connector::And
        ));
        // Better Auth splits without trimming: " admin" is not "admin".
        assert!(!ac.user_may("u1", Some("user, admin"), &ban, Connector::And));
        assert!(ac.user_may("u1", Some("user,admin"), &ban, Connector::And));
        let roles = ac.organization_roles();
        assert!(AccessControl::member_may(
            roles,
            "member, owner",
            &req(r#"{"organization":["delete"]}"#),
            Connector::And
        ));
        assert!(!AccessControl::member_may(
            roles,
            "admin",
            &req(r#"{"organization":["delete"]}"#),
            Connector::And
        ));
    }

    /// Found by the differential test (tests/e2e/access_control.rs): the organization plugin
    /// trims role names with JavaScript's `trim`, whose white space is not Rust's.
    #[test]
    fn member_roles_are_trimmed_as_javascript_trims_them() {
        let roles = AccessControl::default().organization_roles().clone();
        let delete = req(r#"{"organization":["delete"]}"#);
        for trimmed in [
            " owner",
            "owner\t",
            "\u{feff}owner",
            "member,\u{feff}owner",
            "\u{a0}owner\u{3000}",
            "\u{2028}owner\n",
        ] {
            assert!(
                AccessControl::member_may(&roles, trimmed, &delete, Connector::And),
                "{trimmed:?}"
            );
        }
        for kept in ["owner\u{85}", "\u{85}owner", "\u{200b}owner"] {
            assert!(
                !AccessControl::member_may(&roles, kept, &delete, Connector::And),
                "{kept:?}"
            );
        }
    }

    #[test]
    fn admin_user_ids_may_do_anything_even_with_an_empty_request() {
        let ac = AccessControl::parse(r#"{"adminUserIds":["root"]}"#).unwrap();
        assert!(ac.user_may("root", None, &req("{}"), Connector::And));
        assert!(!ac.user_may("", None, &req(r#"{"user":["list"]}"#), Connector::And));
    }

    #[test]
    fn custom_roles_replace_the_defaults_and_default_role_applies_to_no_role() {
        let ac = AccessControl::parse(
            r#"{"roles":{"support":{"user":["list","ban"]},"viewer":{"order":["read"]}},"defaultRole":"viewer"}"#,
        )
        .unwrap();
        assert!(!ac.user_may(
            "u",
            Some("admin"),
            &req(r#"{"user":["list"]}"#),
            Connector::And
        ));
        assert!(ac.user_may(
            "u",
            Some("support"),
            &req(r#"{"user":["ban"]}"#),
            Connector::And
        ));
        assert!(ac.user_may("u", None, &req(r#"{"order":["read"]}"#), Connector::And));
        assert!(ac.user_may("u", Some(""), &req(r#"{"order":["read"]}"#), Connector::And));
        assert!(ac.user_may(
            "u",
            Some("nobody,viewer"),
            &req(r#"{"order":["read"]}"#),
            Connector::And
        ));
    }

    #[test]
    fn typos_and_undeclared_statements_stop_the_start() {
        for (json, names) in [
            (r#"{"role":{}}"#, "role"),
            (r#"{"roles":{"a":{"user":"list"}}}"#, "roles"),
            (r#"{"adminRoles":["boss"]}"#, "boss"),
            (
                r#"{"statements":{"user":["list"]},"roles":{"a":{"user":["ban"]}}}"#,
                "user:ban",
            ),
            (
                r#"{"statements":{"user":["list"]},"roles":{"a":{"order":["read"]}}}"#,
                "order",
            ),
            (
                r#"{"organizationStatements":{"x":["y"]}}"#,
                "organizationRoles",
            ),
            ("[]", "JSON"),
        ] {
            let error = AccessControl::parse(json).unwrap_err().to_string();
            assert!(
                error.contains(ACCESS_CONTROL_VAR) && error.contains(names),
                "{json}: {error}"
            );
        }
    }

    #[test]
    fn dynamic_roles_merge_into_static_ones() {
        let ac = AccessControl::default();
        let roles = ac
            .organization_roles_with([
                ("member", r#"{"invoice":["create"]}"#),
                ("billing", r#"{"invoice":["read"]}"#),
            ])
            .unwrap();
        let create = req(r#"{"invoice":["create"],"ac":["read"]}"#);
        assert!(AccessControl::member_may(
            &roles,
            "member",
            &create,
            Connector::And
        ));
        assert!(AccessControl::member_may(
            &roles,
            "billing",
            &req(r#"{"invoice":["read"]}"#),
            Connector::And
        ));
        assert!(!AccessControl::member_may(
            ac.organization_roles(),
            "member",
            &create,
            Connector::And
        ));
        assert!(ac.organization_roles_with([("x", "not json")]).is_err());
    }

    #[test]
    fn the_deprecated_admin_roles_get_the_default_admin_statements() {
        let ac = AccessControl::with_admin_role_names(&["staff".into()]);
        assert!(ac.user_may(
            "u",
            Some("staff"),
            &req(r#"{"user":["ban"]}"#),
            Connector::And
        ));
        assert!(ac.user_may(
            "u",
            Some("admin"),
            &req(r#"{"user":["ban"]}"#),
            Connector::And
        ));
    }
}
