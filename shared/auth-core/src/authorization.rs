//! What an authenticated caller may do on the route at hand: `AUTHORIZER_ROUTES` decided with
//! the app's roles, the organization's dynamic roles read through the store (reused for a
//! bounded time). Sits above the authenticator: the decision comes after "who is this?".

use std::ops::Deref;
use std::sync::Arc;
use std::time::Instant;

use crate::access::decisions::Decided;
use crate::access::{AccessRefusal, AccessSettings, Roles, RouteTable};
use crate::authenticator::Authenticator;
use crate::error::AuthError;
use crate::identity::Identity;
use crate::store::{AuthStore, StoreError};

/// The route a request takes, as the event names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RouteRef<'a> {
    /// A REST request: its method and path (from the method ARN); matched by API Gateway's
    /// precedence.
    Path {
        /// `GET`, …
        method: &'a str,
        /// `/orders/1`.
        path: &'a str,
    },
    /// An HTTP API's `routeKey` (`GET /orders/{id}`): API Gateway has routed it already.
    Key(&'a str),
}

/// A caller's answer for a route.
#[derive(Debug, Clone)]
pub struct RouteDecision {
    /// The rule the request was routed to; `None`: not listed.
    pub rule: Option<usize>,
    /// Allowed, or why not.
    pub verdict: Result<(), AccessRefusal>,
    /// Every rule's answer for this caller, when asked for (the REST policy lists them;
    /// shared by callers the rules cannot tell apart).
    pub every_rule: Option<Arc<Decided>>,
}

/// An organization's roles: the static ones, or merged with its dynamic rows.
#[derive(Debug, Clone)]
pub enum OrganizationRoles<'a> {
    /// `organizationRoles` (or Better Auth's defaults).
    Static(&'a Roles),
    /// Merged with the organization's `organizationRole` rows.
    Merged(Arc<Roles>),
}

impl Deref for OrganizationRoles<'_> {
    type Target = Roles;
    fn deref(&self) -> &Roles {
        match self {
            Self::Static(roles) => roles,
            Self::Merged(roles) => roles,
        }
    }
}

impl<S: AuthStore> Authenticator<S> {
    /// The authorization settings.
    pub fn access(&self) -> &AccessSettings {
        &self.access
    }

    /// `AUTHORIZER_ROUTES`, when set.
    pub fn routes(&self) -> Option<&RouteTable> {
        self.access.routes.as_ref()
    }

    /// The roles the caller's active organization defines: the static ones, merged with the
    /// organization's dynamic rows when Better Auth's dynamic access control is in use.
    ///
    /// The rows are read once per organization and reused for
    /// `BETTER_AUTH_ORGANIZATION_ROLES_CACHE_TTL_MS`; a row whose `permission` is not
    /// `{resource: [action]}` is an error (Better Auth answers 500 too), never a wider grant.
    pub async fn organization_roles(
        &self,
        caller: &Identity,
    ) -> Result<OrganizationRoles<'_>, AuthError> {
        let control = &self.access.control;
        let static_roles = control.organization_roles();
        let Some(organization) = caller.organization.as_deref() else {
            return Ok(OrganizationRoles::Static(static_roles));
        };
        if !control.uses_dynamic_roles() {
            return Ok(OrganizationRoles::Static(static_roles));
        }
        let now = Instant::now();
        if let Some(roles) = self.organization_roles.get(&organization.id, now) {
            return Ok(OrganizationRoles::Merged(roles));
        }
        let rows = self.store().organization_roles(&organization.id).await?;
        let merged = control
            .organization_roles_with(
                rows.iter()
                    .map(|r| (r.role.as_str(), r.permission.as_str())),
            )
            .map_err(|e| StoreError::Query(e.to_string()))?;
        let merged = Arc::new(merged);
        self.organization_roles
            .put(&organization.id, now, Arc::clone(&merged));
        Ok(OrganizationRoles::Merged(merged))
    }

    /// Decides `route` for `caller` by `AUTHORIZER_ROUTES`; `None` when no rules are set (any
    /// signed-in caller may call any route). With `every_rule`, every rule is decided too (the
    /// REST policy lists them).
    pub async fn decide_route(
        &self,
        caller: &Identity,
        route: RouteRef<'_>,
        every_rule: bool,
    ) -> Result<Option<RouteDecision>, AuthError> {
        let Some(table) = self.routes() else {
            return Ok(None);
        };
        let rule = match route {
            RouteRef::Path { method, path } => table.route_for(method, path),
            RouteRef::Key(key) => table.route_for_key(key),
        };
        let needs_roles = caller.organization.is_some() && table.needs_organization_roles();
        let roles = if needs_roles {
            self.organization_roles(caller).await?
        } else {
            OrganizationRoles::Static(self.access.control.organization_roles())
        };
        let control = &self.access.control;
        let verdict = match rule {
            None => Err(AccessRefusal::RouteNotListed),
            Some(rule) => table.requirement(rule).check(control, caller, &roles),
        };
        let every_rule = every_rule.then(|| table.decide_every_rule(control, caller, &roles));
        Ok(Some(RouteDecision {
            rule,
            verdict,
            every_rule,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Config;
    use crate::identity::{ActiveOrganization, Grant};
    use crate::store::memory::MemoryStore;

    fn authenticator(ttl_ms: &str) -> Authenticator<MemoryStore> {
        let vars = [
            ("DATABASE_URL", "postgres://u@127.0.0.1:9/none"),
            (
                "BETTER_AUTH_SECRET",
                "authorization-test-secret-0123456789abcdef",
            ),
            ("BETTER_AUTH_ORGANIZATION_ROLES_CACHE_TTL_MS", ttl_ms),
            (
                "BETTER_AUTH_ACCESS_CONTROL",
                r#"{"dynamicAccessControl": true}"#,
            ),
            (
                "AUTHORIZER_ROUTES",
                r#"[{"route": "POST /invoices", "organizationPermissions": {"invoice": ["create"]}}]"#,
            ),
        ];
        let config = Config::from_lookup(|k| {
            vars.iter()
                .find(|(name, _)| *name == k)
                .map(|(_, v)| (*v).to_owned())
        })
        .expect("config");
        Authenticator::with_store(&config, MemoryStore::new()).expect("authenticator")
    }

    fn member(role: &str) -> Identity {
        Identity {
            user_id: Some("u1".into()),
            session_id: Some("s1".into()),
            email: "a@example.com".into(),
            name: "A".into(),
            role: None,
            email_verified: true,
            impersonated_by: None,
            expires_at: None,
            grant: Grant::User,
            extras: Vec::new(),
            organization: Some(Box::new(ActiveOrganization {
                id: "o1".into(),
                slug: "o".into(),
                role: role.into(),
                team_id: None,
            })),
        }
    }

    async fn verdict(
        auth: &Authenticator<MemoryStore>,
        who: &Identity,
    ) -> Result<(), AccessRefusal> {
        let route = RouteRef::Path {
            method: "POST",
            path: "/invoices",
        };
        let decision = auth.decide_route(who, route, true).await.expect("decided");
        decision.expect("rules are set").verdict
    }

    #[tokio::test]
    async fn a_dynamic_role_grants_within_the_cache_bound() {
        let auth = authenticator("60000");
        let billing = member("member,billing");
        assert_eq!(
            verdict(&auth, &billing).await,
            Err(AccessRefusal::MissingPermission)
        );
        // Created in Better Auth after this container read the organization's roles: applies
        // once the cached roles expire (the stated bound), not before.
        auth.store()
            .insert_organization_role("o1", "billing", r#"{"invoice":["create"]}"#);
        assert_eq!(
            verdict(&auth, &billing).await,
            Err(AccessRefusal::MissingPermission)
        );
        let fresh = authenticator("0");
        fresh
            .store()
            .insert_organization_role("o1", "billing", r#"{"invoice":["create"]}"#);
        assert_eq!(verdict(&fresh, &billing).await, Ok(()));
        let mut outsider = member("member,billing");
        outsider.organization = None;
        assert_eq!(
            verdict(&fresh, &outsider).await,
            Err(AccessRefusal::NoActiveOrganization)
        );
    }

    #[tokio::test]
    async fn a_malformed_dynamic_role_is_an_error_not_a_grant() {
        let auth = authenticator("0");
        auth.store()
            .insert_organization_role("o1", "billing", r#"{"invoice":"create"}"#);
        let route = RouteRef::Path {
            method: "POST",
            path: "/invoices",
        };
        let result = auth.decide_route(&member("billing"), route, false).await;
        assert!(matches!(result, Err(AuthError::Store(_))), "{result:?}");
    }

    #[tokio::test]
    async fn an_unlisted_route_is_refused_and_no_rules_mean_none() {
        let auth = authenticator("0");
        let route = RouteRef::Key("GET /elsewhere");
        let decision = auth
            .decide_route(&member("owner"), route, false)
            .await
            .expect("decided");
        assert_eq!(
            decision.map(|d| d.verdict),
            Some(Err(AccessRefusal::RouteNotListed))
        );
    }
}
