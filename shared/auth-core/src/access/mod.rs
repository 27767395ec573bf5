//! What the caller may do, with Better Auth's own access control: the app's roles
//! (`BETTER_AUTH_ACCESS_CONTROL`), route rules (`AUTHORIZER_ROUTES`), and the REST policy that
//! says it to API Gateway. Pure: no I/O (an organization's dynamic roles are handed in).
//!
//! - [`statements`]: `role.authorize(request, connector)`, rule for rule.
//! - [`roles`]: the admin and organization plugins' `hasPermission`, their defaults.
//! - [`routes`]: routes as API Gateway writes them, and its precedence.
//! - [`rules`]: what each route requires, and whether a caller has it.
//! - [`policy`]: the cacheable REST policy.
//! - [`decisions`]: every rule's answer per kind of caller, and its policy, reused.
//! - [`cache`]: organizations' merged roles, for a bounded time.
//! - [`settings`]: the settings, parsed once.

pub mod cache;
pub mod decisions;
pub mod policy;
pub mod roles;
pub mod routes;
pub mod rules;
pub mod settings;
pub mod statements;

pub use roles::{ACCESS_CONTROL_VAR, AccessControl, Roles};
pub use rules::{AccessRefusal, ROUTES_VAR, Requirement, RouteTable};
pub use settings::AccessSettings;
pub use statements::{Connector, PermissionRequest, Statements};
