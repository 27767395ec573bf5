//! `AUTHORIZER_ROUTES`: what each route requires, and whether a caller has it.

use std::collections::{HashMap, HashSet};

use serde::Deserialize;

use std::sync::Arc;

use super::decisions::{CallerKind, Decided, DecisionCache};
use super::roles::{AccessControl, Roles, parse_json};
use super::routes::{RouteTemplate, path_segments};
use super::statements::{Connector, PermissionRequest, Statements};
use crate::env::{ConfigError, invalid};
use crate::identity::{Delegation, Identity};

/// The variable the rules are read from.
pub const ROUTES_VAR: &str = "AUTHORIZER_ROUTES";

/// What a route asks of its caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Requirement {
    /// The admin plugin's permissions (the user's roles; an API key's own permissions too).
    pub permissions: Option<PermissionRequest>,
    /// The organization plugin's permissions in the confirmed active organization.
    pub organization_permissions: Option<PermissionRequest>,
    /// How the resources of each request combine.
    pub connector: Connector,
    /// The OAuth scopes an OAuth access token must all carry (`"scopes"`); the user's own
    /// credentials and API keys are not asked.
    pub scopes: Vec<String>,
}

/// Why an authenticated caller may not call a route (logged; the answer is 403).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AccessRefusal {
    /// The route is not in `AUTHORIZER_ROUTES` (fail closed).
    RouteNotListed,
    /// The caller's roles (or API key) do not grant the route's permissions.
    MissingPermission,
    /// The route needs organization permissions and the session has no confirmed active
    /// organization.
    NoActiveOrganization,
    /// An OAuth access token without every scope the route names.
    InsufficientScope,
}

impl AccessRefusal {
    /// The log reason.
    pub fn code(self) -> &'static str {
        match self {
            Self::RouteNotListed => "route_not_listed",
            Self::MissingPermission => "missing_permission",
            Self::NoActiveOrganization => "no_active_organization",
            Self::InsufficientScope => "insufficient_scope",
        }
    }
}

impl Requirement {
    /// Whether the caller has it: the admin plugin's `hasPermission` for `permissions` (and an
    /// API key's own permissions, as `verifyApiKey({ permissions })` checks them, with the
    /// rule's connector), the organization plugin's for `organizationPermissions` against
    /// `organization_roles` (the static roles, or those merged with the organization's
    /// dynamic ones).
    pub fn check(
        &self,
        ac: &AccessControl,
        caller: &Identity,
        organization_roles: &Roles,
    ) -> Result<(), AccessRefusal> {
        let delegation = caller.grant.delegation();
        if let Delegation::Scopes(grant) = delegation
            && !grant.has_all(self.scopes.iter().map(String::as_str))
        {
            return Err(AccessRefusal::InsufficientScope);
        }
        if let Some(request) = &self.permissions {
            // User-level permissions need a user: a machine principal (an organization's key,
            // an OAuth client-credentials token) never has them.
            let Some(user_id) = caller.user_id.as_deref() else {
                return Err(AccessRefusal::MissingPermission);
            };
            // An OAuth token carries its user's roles only where the rule names the scopes
            // that delegate them.
            if let Delegation::Scopes(grant) = delegation
                && (!grant.user_bound || self.scopes.is_empty())
            {
                return Err(AccessRefusal::MissingPermission);
            }
            let role = caller.role.as_deref();
            let own = match delegation {
                // The user's roles, narrowed by the scopes checked above.
                Delegation::Full | Delegation::Scopes(_) => None,
                Delegation::Permissions(own) => Some(own),
                Delegation::Organization(_) => return Err(AccessRefusal::MissingPermission),
            };
            if !ac.user_may(user_id, role, request, self.connector) {
                return Err(AccessRefusal::MissingPermission);
            }
            if let Some(own) = own {
                // As `verifyApiKey({ permissions })` checks a key: every resource (AND),
                // whatever connector the rule gives the roles.
                if !key_grants(own, request) {
                    return Err(AccessRefusal::MissingPermission);
                }
            }
        }
        if let Some(request) = &self.organization_permissions {
            let allowed = match delegation {
                Delegation::Full => {
                    let organization = caller
                        .organization
                        .as_deref()
                        .ok_or(AccessRefusal::NoActiveOrganization)?;
                    AccessControl::member_may(
                        organization_roles,
                        &organization.role,
                        request,
                        self.connector,
                    )
                }
                // A user's key and an OAuth token confirm no organization.
                Delegation::Permissions(_) | Delegation::Scopes(_) => {
                    caller
                        .organization
                        .as_deref()
                        .ok_or(AccessRefusal::NoActiveOrganization)?;
                    false
                }
                // An organization's key, in its own organization: its own permissions, checked
                // as `verifyApiKey({ permissions })` checks them (no member, so no role).
                Delegation::Organization(own) => key_grants(own, request),
            };
            if !allowed {
                return Err(AccessRefusal::MissingPermission);
            }
        }
        Ok(())
    }
}

/// Whether a key's own permissions (JSON text as stored) grant `request`, as the api-key
/// plugin's `role(permissions).authorize(request)`: every resource (AND). Unreadable: no.
fn key_grants(own: Option<&str>, request: &PermissionRequest) -> bool {
    own.and_then(|text| Statements::from_json(text).ok())
        .is_some_and(|own| own.authorize(request, Connector::And))
}

/// `AUTHORIZER_ROUTES` as written: one object per rule; unknown keys are refused.
#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct RuleDocument {
    route: String,
    permissions: Option<PermissionRequest>,
    organization_permissions: Option<PermissionRequest>,
    connector: Option<Connector>,
    authenticated: Option<bool>,
    scopes: Option<Vec<String>>,
}

/// The parsed rules: each route, the requirement it names (shared between routes that ask the
/// same), and the precomputed overlaps the policy builder needs.
#[derive(Debug, Clone)]
pub struct RouteTable {
    routes: Vec<RouteTemplate>,
    /// Each route's IAM resource after `stage/` (`GET/orders/*`).
    suffixes: Vec<String>,
    requirement_of: Vec<usize>,
    requirements: Vec<Requirement>,
    by_key: HashMap<String, usize>,
    overlaps: super::policy::Overlaps,
    decisions: DecisionCache,
}

impl RouteTable {
    /// Parses `AUTHORIZER_ROUTES`. Every error names the rule; none widens access.
    pub fn parse(json: &str) -> Result<Self, ConfigError> {
        let documents: Vec<RuleDocument> = parse_json(json, ROUTES_VAR)?;
        if documents.is_empty() {
            return Err(invalid(
                ROUTES_VAR,
                "lists no route (unset it to allow every route to any signed-in caller)",
            ));
        }
        let mut routes = Vec::with_capacity(documents.len());
        let mut requirement_of = Vec::with_capacity(documents.len());
        let mut requirements: Vec<Requirement> = Vec::new();
        let mut by_key = HashMap::new();
        let mut seen = HashSet::new();
        for document in documents {
            let template = RouteTemplate::parse(&document.route)
                .map_err(|e| invalid(ROUTES_VAR, e.to_string()))?;
            let route = &document.route;
            if !seen.insert((template.method(), template.segments().to_vec())) {
                return Err(invalid(
                    ROUTES_VAR,
                    format!("route \"{route}\" is listed twice"),
                ));
            }
            let requirement = requirement_of_rule(&document)?;
            let index = match requirements.iter().position(|r| *r == requirement) {
                Some(index) => index,
                None => {
                    requirements.push(requirement);
                    requirements.len() - 1
                }
            };
            by_key.insert(template.key().to_owned(), routes.len());
            routes.push(template);
            requirement_of.push(index);
        }
        let overlaps = super::policy::Overlaps::of(&routes);
        Ok(Self {
            decisions: DecisionCache::new(),
            suffixes: routes.iter().map(RouteTemplate::resource_suffix).collect(),
            routes,
            requirement_of,
            requirements,
            by_key,
            overlaps,
        })
    }

    /// The rule API Gateway routes `method` `path` to (REST: from the method ARN).
    ///
    /// A path API Gateway might route by another spelling than the one it writes into the
    /// method ARN — an encoded `/` or `\` (`%2F`, `%5C`), a `.` or `..` segment, an empty
    /// segment (`//`, a trailing `/`) — takes no route: refused, never matched to a wider one.
    pub fn route_for(&self, method: &str, path: &str) -> Option<usize> {
        if ambiguous_path(path) {
            return None;
        }
        let segments = path_segments(path);
        let mut best: Option<usize> = None;
        for (i, route) in self.routes.iter().enumerate() {
            if route.matches(method, &segments)
                && best.is_none_or(|b| route.precedence(&self.routes[b]).is_gt())
            {
                best = Some(i);
            }
        }
        best
    }

    /// The rule for an HTTP API's `routeKey` (API Gateway has routed the request already).
    pub fn route_for_key(&self, route_key: &str) -> Option<usize> {
        self.by_key.get(route_key).copied()
    }

    /// The routes, in the order written.
    pub fn routes(&self) -> &[RouteTemplate] {
        &self.routes
    }

    /// What rule `index` requires.
    pub fn requirement(&self, index: usize) -> &Requirement {
        &self.requirements[self.requirement_of[index]]
    }

    /// The REST policy for a caller allowed `allowed[rule]` (see [`super::policy`]), answering
    /// the request at hand (`request_suffix`: `GET/orders/1`, after `stage_prefix`:
    /// `arn:…:api/stage/`) with `decision`.
    pub fn policy(
        &self,
        allowed: &[bool],
        stage_prefix: &str,
        request_suffix: &str,
        decision: bool,
    ) -> super::policy::PolicyResources {
        super::policy::build(
            &self.suffixes,
            &self.overlaps,
            allowed,
            stage_prefix,
            request_suffix,
            decision,
        )
    }

    /// Every rule's answer for `caller` and the rules its REST policy allows and denies,
    /// reused for callers the rules cannot tell apart (the same roles, `adminUserIds`
    /// membership and credential delegation, while no organization rule is in play for them).
    pub fn decide_every_rule(
        &self,
        ac: &AccessControl,
        caller: &Identity,
        organization_roles: &Roles,
    ) -> Arc<Decided> {
        let cacheable = caller.organization.is_none() || !self.needs_organization_roles();
        let kind = cacheable.then(|| {
            let admin_id = caller
                .user_id
                .as_ref()
                .is_some_and(|id| !id.is_empty() && ac.admin_user_ids().contains(id));
            CallerKind::of(caller, admin_id)
        });
        if let Some(hit) = kind.as_ref().and_then(|k| self.decisions.get(k)) {
            return hit;
        }
        let allowed = self.decide_all(ac, caller, organization_roles);
        let (allow, deny) = super::policy::plan(&self.overlaps, &allowed);
        let decided = Arc::new(Decided::new(allowed, allow, deny));
        if let Some(kind) = kind {
            self.decisions.put(kind, Arc::clone(&decided));
        }
        decided
    }

    /// The REST policy for `decided` answering the request at hand (`request_suffix`:
    /// `GET/orders/1`, after `stage_prefix`) with `decision`: the statements written once per
    /// kind of caller when they answer it exactly, else a policy built for this request.
    pub fn answer(
        &self,
        decided: &Decided,
        stage_prefix: &str,
        request_suffix: &str,
        decision: bool,
    ) -> super::policy::PolicyAnswer {
        super::policy::answer(
            &self.suffixes,
            &self.overlaps,
            decided,
            stage_prefix,
            request_suffix,
            decision,
        )
    }

    /// Whether every rule names OAuth scopes (then every route holds an OAuth token to one).
    pub fn every_rule_names_scopes(&self) -> bool {
        self.requirement_of
            .iter()
            .all(|&r| !self.requirements[r].scopes.is_empty())
    }

    /// Whether any rule needs organization permissions (then the organization's dynamic roles
    /// are read).
    pub fn needs_organization_roles(&self) -> bool {
        self.requirements
            .iter()
            .any(|r| r.organization_permissions.is_some())
    }

    /// Every requirement decided once for `caller` (routes share them): `allowed[rule]`.
    pub fn decide_all(
        &self,
        ac: &AccessControl,
        caller: &Identity,
        organization_roles: &Roles,
    ) -> Vec<bool> {
        let verdicts: Vec<bool> = self
            .requirements
            .iter()
            .map(|r| r.check(ac, caller, organization_roles).is_ok())
            .collect();
        self.requirement_of.iter().map(|&r| verdicts[r]).collect()
    }
}

/// Whether `path` could be routed by a spelling other than its own (see [`RouteTable::route_for`]).
fn ambiguous_path(path: &str) -> bool {
    let lower = path.to_ascii_lowercase();
    if lower.contains("%2f") || lower.contains("%5c") || path.contains('\\') {
        return true;
    }
    path != "/"
        && path_segments(path)
            .iter()
            .any(|s| s.is_empty() || *s == "." || *s == "..")
}

fn requirement_of_rule(document: &RuleDocument) -> Result<Requirement, ConfigError> {
    let route = &document.route;
    let fail = |reason: &str| invalid(ROUTES_VAR, format!("route \"{route}\": {reason}"));
    for request in [&document.permissions, &document.organization_permissions]
        .into_iter()
        .flatten()
    {
        if request.is_empty() {
            return Err(fail("a permission must name at least one resource"));
        }
        if let Some((resource, _)) = request.resources().find(|(_, a)| a.actions.is_empty()) {
            return Err(fail(&format!("resource \"{resource}\" lists no action")));
        }
        if let Some((resource, _)) = request
            .resources()
            .find(|(r, _)| r.is_empty() || JS_OBJECT_KEYS.contains(r))
        {
            return Err(fail(&format!("\"{resource}\" cannot be a resource name")));
        }
    }
    if let Some(scopes) = &document.scopes {
        if scopes.is_empty() {
            return Err(fail("\"scopes\" must name at least one scope"));
        }
        if let Some(bad) = scopes
            .iter()
            .find(|s| s.is_empty() || s.chars().any(|c| c.is_whitespace() || c.is_control()))
        {
            return Err(fail(&format!(
                "scope \"{bad}\" is not a scope (no spaces, not empty)"
            )));
        }
    }
    let asks = document.permissions.is_some()
        || document.organization_permissions.is_some()
        || document.scopes.is_some();
    match document.authenticated {
        Some(false) => {
            return Err(fail(
                "\"authenticated\": false is not a rule (the authorizer protects every route it guards)",
            ));
        }
        Some(true) if asks => {
            return Err(fail(
                "\"authenticated\": true means any signed-in caller; drop it or the permissions and scopes",
            ));
        }
        None if !asks => {
            return Err(fail(
                "say what it requires: permissions, organizationPermissions, scopes, or \"authenticated\": true",
            ));
        }
        _ => {}
    }
    if document.connector.is_some()
        && document.permissions.is_none()
        && document.organization_permissions.is_none()
    {
        return Err(fail("a connector needs permissions to combine"));
    }
    Ok(Requirement {
        permissions: document.permissions.clone(),
        organization_permissions: document.organization_permissions.clone(),
        connector: document.connector.unwrap_or_default(),
        scopes: document.scopes.clone().unwrap_or_default(),
    })
}

/// Names a JavaScript object inherits: Better Auth looks resources up on a plain object, so a
/// resource named like these throws there (500) instead of being refused.
const JS_OBJECT_KEYS: [&str; 12] = [
    "__proto__",
    "constructor",
    "hasOwnProperty",
    "isPrototypeOf",
    "propertyIsEnumerable",
    "toLocaleString",
    "toString",
    "valueOf",
    "__defineGetter__",
    "__defineSetter__",
    "__lookupGetter__",
    "__lookupSetter__",
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_issue_example_parses() {
        let table = RouteTable::parse(
            r#"[{"route": "GET /orders", "permissions": {"order": ["read"]}},
                {"route": "DELETE /orders/{id}", "permissions": {"order": ["delete"]}},
                {"route": "ANY /reports/{proxy+}", "permissions": {"report": ["read"]}, "connector": "OR"},
                {"route": "GET /profile", "authenticated": true},
                {"route": "POST /org/invoices", "organizationPermissions": {"invoice": ["create"]}}]"#,
        )
        .unwrap();
        assert_eq!(table.routes().len(), 5);
        assert_eq!(table.route_for("GET", "/orders"), Some(0));
        assert_eq!(table.route_for("DELETE", "/orders/7"), Some(1));
        assert_eq!(table.route_for("PATCH", "/reports/a/b"), Some(2));
        assert_eq!(table.route_for("POST", "/orders"), None);
        // Spellings API Gateway might route differently than it writes them: no route.
        for odd in [
            "/orders/",
            "/orders//7",
            "/reports/a%2Fb",
            "/reports/a%2fb",
            "/reports/./x",
            "/reports/../orders",
            "/reports/a%5Cb",
        ] {
            assert_eq!(table.route_for("GET", odd), None, "{odd}");
            assert_eq!(table.route_for("PATCH", odd), None, "{odd}");
        }
        assert_eq!(table.route_for_key("GET /profile"), Some(3));
        assert_eq!(table.route_for_key("GET /nowhere"), None);
        assert!(table.needs_organization_roles());
    }

    #[test]
    fn the_most_specific_route_wins() {
        let table = RouteTable::parse(
            r#"[{"route": "ANY /{proxy+}", "authenticated": true},
                {"route": "GET /orders/{id}", "authenticated": true},
                {"route": "GET /orders/special", "authenticated": true},
                {"route": "ANY /orders/{id}", "authenticated": true}]"#,
        )
        .unwrap();
        assert_eq!(table.route_for("GET", "/orders/special"), Some(2));
        assert_eq!(table.route_for("GET", "/orders/1"), Some(1));
        assert_eq!(table.route_for("POST", "/orders/1"), Some(3));
        assert_eq!(table.route_for("GET", "/orders/1/x"), Some(0));
    }

    #[test]
    fn bad_rules_stop_the_start_naming_what_is_wrong() {
        for (json, says) in [
            ("{}", "sequence"),
            ("[]", "no route"),
            (
                r#"[{"route": "GET /a", "permission": {"a": ["b"]}}]"#,
                "permission",
            ),
            (r#"[{"route": "GET a", "authenticated": true}]"#, "GET a"),
            (
                r#"[{"route": "GET /a", "permissions": {}}]"#,
                "at least one resource",
            ),
            (
                r#"[{"route": "GET /a", "permissions": {"a": []}}]"#,
                "lists no action",
            ),
            (
                r#"[{"route": "GET /a", "permissions": {"constructor": ["x"]}}]"#,
                "constructor",
            ),
            (r#"[{"route": "GET /a"}]"#, "say what it requires"),
            (
                r#"[{"route": "GET /a", "scopes": []}]"#,
                "at least one scope",
            ),
            (
                r#"[{"route": "GET /a", "scopes": ["a b"]}]"#,
                "is not a scope",
            ),
            (
                r#"[{"route": "GET /a", "scopes": ["a"], "authenticated": true}]"#,
                "drop it",
            ),
            (
                r#"[{"route": "GET /a", "scopes": ["a"], "connector": "OR"}]"#,
                "connector",
            ),
            (r#"[{"route": "GET /a", "authenticated": false}]"#, "false"),
            (
                r#"[{"route": "GET /a", "authenticated": true, "connector": "OR"}]"#,
                "connector",
            ),
            (
                r#"[{"route": "GET /a", "permissions": {"a": ["b"]}, "connector": "XOR"}]"#,
                "XOR",
            ),
            (
                r#"[{"route": "GET /a", "authenticated": true}, {"route": "GET /a", "authenticated": true}]"#,
                "twice",
            ),
            (
                r#"[{"route": "GET /a/{x}", "authenticated": true}, {"route": "GET /a/{y}", "authenticated": true}]"#,
                "twice",
            ),
        ] {
            let error = RouteTable::parse(json).unwrap_err().to_string();
            assert!(
                error.contains(ROUTES_VAR) && error.contains(says),
                "{json}: {error}"
            );
        }
    }
}
