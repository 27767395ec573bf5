//! End-to-end tests: the authorizer and the account functions against real PostgreSQL (each
//! test in its own database), real Better Auth servers, PgBouncer and AWS stand-ins. One binary,
//! one module per suite; helpers live in the `test-support` crate.
//!
//! # Where is the test for…
//!
//! Suites are named after the behaviour they pin down. Find the behaviour, open the suite; test
//! names say what they check (`cargo test -p e2e-tests --test e2e -- <suite>::` runs one suite).
//! Findings of a review keep their issue number in the test's doc comment (`grep -rn "issue 13"
//! tests/e2e` finds the security review's).
//!
//! | behaviour | suite (module) |
//! |---|---|
//! | **Authorizer decisions, our side alone** | |
//! | every event shape (REST request, REST token, HTTP API v2) allows valid credentials; every refusal (bad, expired, revoked, unverified e-mail, signature required) | `authorizer_handler` |
//! | the session lookup on every schema layout (default, renamed, Drizzle, no admin columns, overrides), time zones, connection handling, warm-up; ban columns mapped wrongly or added later; no token in the logs | `session_lookup` |
//! | a banned user is refused | `session_lookup::bans_are_enforced_in_every_admin_variant`, `authorizer_handler::banned_users_are_denied_until_the_ban_expires`; against Better Auth: `better_auth::bans_and_revocation` |
//! | sessions in Redis: values as Better Auth writes them, garbage, a frozen or gone Redis; our functions on Redis | `secondary_storage` |
//! | JWTs (every key algorithm, JWKS rotation, grace period), the cookie cache (every strategy, chunked), the result cache, forged tokens | `stateless` |
//! | API keys from `@better-auth/api-key`: quota, refill, rate limit, disabled, expired, banned owner | `api_keys` |
//! | organization-owned API keys (`references: "organization"`, serial ids): the organization as a machine principal (no `userId`), never the twin user; unlisted configuration refused; counters shared with Better Auth; `organizationPermissions` with the key's own permissions, user-level rules never (REST policy included); a deleted organization refused; the account functions refuse it | `organization_api_keys` (the key routes: `api_keys::the_key_routes_leave_an_organizations_key_to_its_organization`) |
//! | the organization plugin's dynamic roles (`organizationRole`): read as stored, absent without the table, renamed | `organization_roles` (created through Better Auth: `better_auth::organizations::dynamic_roles_created_through_better_auth_are_read_back`) |
//! | hostile input to every route and random authorizer events | `bad_input` |
//! | PostgreSQL stopped, frozen or slow, lost connections, an exhausted pool, the key source down | `faults` |
//! | PgBouncer in transaction-pooling mode | `pgbouncer` (the functions' routes through it: `openapi`) |
//! | a real streaming replica (`DATABASE_READ_URL`): reads served by it, a revocation refused once replayed, at once past `DATABASE_READ_MAX_LAG_MS`; a stopped replica falls back to the primary, both down is never an Allow | `read_replicas` |
//! | 50,000 authorizations, mixed credentials, bounded connection count | `load` |
//! | secrets and parameters loaded at cold start (Secrets Manager, SSM, RDS IAM auth) | `aws_secrets` |
//! | **Authorization (`AUTHORIZER_ROUTES`, the app's roles)**: every caller × route of an overlapping rule set decided as Better Auth decides (REST, HTTP API, TOKEN; each REST policy, as API Gateway caches it, applied to every other route with an independent IAM evaluator); API keys' own permissions; organization permissions (removed member, forged active organization, dynamic roles); a catch-all route does not open the root in a cached policy; unlisted routes refused, no rules unchanged; malformed settings; the policy for 100 rules | `route_authorization` |
//! | **The account functions (routes)** | |
//! | `me`: `/auth/me`, `/auth/session`, `/auth/accounts`, `/auth/verify`, health, CORS | `me_routes` |
//! | `users`: list, search, read, patch, roles, bans (and unbans), self-ban by another spelling of the id, role splitting | `users_routes` |
//! | `sessions`: list, revoke one, revoke all (keeping the current one, or refusing without one) | `sessions_routes` |
//! | a cookie-authenticated write from another site (CSRF) is refused; bearer callers and reads are not | `cross_site` |
//! | admin impersonation: its powers, who sees it, a banned or demoted admin's impersonations end | `impersonation` (the context naming the admin: `authorizer_handler::impersonated_sessions_carry_the_admin`) |
//! | every documented route answers as `openapi.json` says | `openapi` |
//! | **Your own functions** | |
//! | a team's function (`examples/orders`, axum) typed by `auth-caller` from the authorizer's real answer; API keys held to their own permissions; verifying in place without an authorizer | `own_functions` |
//! | `openapi.json`, both SAM templates and the watch router list exactly the routes the tables hold | `route_tables` |
//! | **Agreement with the real Better Auth server** (our decision = its `get-session`) | `better_auth::…` |
//! | sign-up, sign-in, sign-out in every schema profile; cookie names (prefix, `__Secure-`, renamed, multi-session); user and plugin fields in the context; anonymous guests; foreign and forged credentials | `better_auth::sign_in` |
//! | sessions revoked and users banned, unbanned or banned for a while through Better Auth; a ban written straight to the database (refused by us only) | `better_auth::bans_and_revocation` |
//! | sessions in Redis through `@better-auth/redis-storage` (storage only, or with the database): a miss, the revoke-all marker | `better_auth::redis_storage` |
//! | Better Auth's refresh and expiry; our sliding refresh (`BETTER_AUTH_REFRESH_SESSIONS`) | `better_auth::refresh` |
//! | the organization plugin: active organization, role, team; a removed member or deleted organization grants nothing | `better_auth::organizations` |
//! | `@better-auth/oauth-provider` tokens are never sessions | `better_auth::oauth_provider` |
//! | the `oauth` method as a resource server: every token the provider issues and every later state (revoked, expired, client disabled, session signed out, resource removed) decided as its `/oauth2/introspect` says (bans: stricter); other audiences, issuers, keys, ID and refresh tokens, DPoP-bound tokens refused; scopes on every route and per route | `better_auth::oauth_resource_server` |
//! | our functions' bans, revocations, session lists and roles are what Better Auth then reports | `better_auth::functions` |
//! | authorization with Better Auth's access control: `tools/export-access-control.mjs`'s output is what our evaluator accepts; our `user_may` / `member_may` decide as Better Auth's `hasPermission` (admin and organization plugins, adminUserIds, dynamic roles, connectors, the object form) on generated cases, regressions replayed from `tests/e2e/regressions/` | `access_control` |
//! | who may list, get, update, ban, set roles and list or revoke sessions of other users: our routes allow and refuse exactly as Better Auth's admin endpoints do, with the app's own roles (`BETTER_AUTH_ACCESS_CONTROL`); the role that decides is the current one; `ASSIGNABLE_ROLES` must name roles | `better_auth::permissions` |
//! | the same flows on Better Auth 1.6 | `better_auth::on_1_6`; also `better_auth::functions::on_better_auth_1_6`, `better_auth::organizations::organizations_agree_on_better_auth_1_6`, `api_keys::better_auth_1_6_keys_are_counted_the_same`, `stateless::better_auth_1_6_jwts_and_cookie_caches_authorize` |
//! | what the Better Auth suites share (server + authenticator, the agreement check) | `better_auth::common` |
//! | with the `otel` feature and an OTLP endpoint, the spans (store round trips among them) are exported | `telemetry_export` |
//! | **The harness itself** | |
//! | a Better Auth server's database holds no other test's schema (parallel runs don't race) | `harness` |
//!
//! # Other tests
//!
//! - Unit tests: `#[cfg(test)] mod tests` next to the code, in `shared/auth-core/src` (signing,
//!   cookie cache, JOSE, keys, config, schema detection, credentials, Redis store, …),
//!   `shared/account-api/src` (validation, routes, HTTP, queries) and
//!   `functions/authorizer/src/event.rs`.
//! - Crate-level tests: `shared/auth-core/tests/parsers.rs` (property tests of every parser an
//!   attacker reaches), `shared/auth-core/tests/policy_cache.rs` (a cached REST policy never
//!   allows what a fresh decision refuses, on random rule sets) and
//!   `functions/authorizer/tests/allocations.rs` (the refusal path's allocation count).
//! - The harness's own unit tests: `tests/support/src`.

mod access_control;
mod api_keys;
mod authorizer_handler;
mod aws_secrets;
mod bad_input;
mod better_auth;
mod cross_site;
mod faults;
mod harness;
mod impersonation;
mod load;
mod me_routes;
mod openapi;
mod organization_api_keys;
mod organization_roles;
mod own_functions;
mod pgbouncer;
mod read_replicas;
mod route_authorization;
mod route_tables;
mod secondary_storage;
mod session_lookup;
mod sessions_routes;
mod stateless;
mod telemetry_export;
mod users_routes;
