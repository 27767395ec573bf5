//! The admin plugin's statements the account routes check, each as the Better Auth 1.7 admin
//! endpoint that does the same thing checks it (`better-auth/dist/plugins/admin/routes.mjs`),
//! with that endpoint's refusal message.
//!
//! | route | statement | Better Auth endpoint |
//! |---|---|---|
//! | `GET /users` | `user:list` | `GET /admin/list-users` |
//! | `GET /users/{id}` (another user) | `user:get` | `GET /admin/get-user` |
//! | `PATCH /users/{id}` (another user) | `user:update` | `POST /admin/update-user` |
//! | `PATCH /users/{id}` with `email` / `emailVerified` (anyone, self included) | `user:update` and `user:set-email` | `POST /admin/update-user` (its `data.email` / `data.emailVerified` check) |
//! | `PUT /users/{id}/role` | `user:set-role` | `POST /admin/set-role` |
//! | `POST /users/{id}/ban` | `user:ban` | `POST /admin/ban-user` |
//! | `DELETE /users/{id}/ban` | `user:ban` | `POST /admin/unban-user` |
//! | `GET /users/{id}/api-keys` (another user) | `user:get` | — (reads another user's data, as `get-user` does) |
//! | `GET /users/{id}/sessions` (another user) | `session:list` | `POST /admin/list-user-sessions` |
//! | `DELETE /users/{id}/sessions` (another user) | `session:revoke` | `POST /admin/revoke-user-sessions` |
//! | `DELETE /users/{id}/sessions/{session}` (another user) | `session:revoke` | `POST /admin/revoke-user-session` |
//! | `DELETE /auth/api-keys/{keyId}` (another user's key) | `session:revoke` | — (ends another user's credential, as revoking a session does) |

use auth_core::access::PermissionRequest;

/// One statement (`resource:action`) and the message a refusal carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Permission {
    /// The resource (`user`, `session`).
    pub resource: &'static str,
    /// The action (`list`, `ban`, …).
    pub action: &'static str,
    /// The 403's message: the one Better Auth's endpoint answers with.
    pub message: &'static str,
}

impl Permission {
    /// `user:list` (`/admin/list-users`).
    pub const LIST_USERS: Self = Self::new("user", "list", "You are not allowed to list users");
    /// `user:get` (`/admin/get-user`).
    pub const GET_USER: Self = Self::new("user", "get", "You are not allowed to get user");
    /// `user:update` (`/admin/update-user`).
    pub const UPDATE_USER: Self =
        Self::new("user", "update", "You are not allowed to update users");
    /// `user:set-email` (`/admin/update-user` with `email` or `emailVerified`).
    pub const SET_EMAIL: Self = Self::new(
        "user",
        "set-email",
        "You are not allowed to update users email",
    );
    /// `user:set-role` (`/admin/set-role`).
    pub const SET_ROLE: Self = Self::new(
        "user",
        "set-role",
        "You are not allowed to change users role",
    );
    /// `user:ban` (`/admin/ban-user`, `/admin/unban-user`).
    pub const BAN: Self = Self::new("user", "ban", "You are not allowed to ban users");
    /// `user:impersonate` (`/admin/impersonate-user`): not a route of ours, but what a role
    /// must hold for the impersonation sessions its user opened to outlive a role change.
    pub const IMPERSONATE: Self = Self::new(
        "user",
        "impersonate",
        "You are not allowed to impersonate users",
    );
    /// `session:list` (`/admin/list-user-sessions`).
    pub const LIST_SESSIONS: Self = Self::new(
        "session",
        "list",
        "You are not allowed to list users sessions",
    );
    /// `session:revoke` (`/admin/revoke-user-session`, `/admin/revoke-user-sessions`).
    pub const REVOKE_SESSIONS: Self = Self::new(
        "session",
        "revoke",
        "You are not allowed to revoke users sessions",
    );

    const fn new(resource: &'static str, action: &'static str, message: &'static str) -> Self {
        Self {
            resource,
            action,
            message,
        }
    }

    /// `{resource: [action]}`, as the endpoint hands it to `hasPermission`.
    pub fn request(&self) -> PermissionRequest {
        PermissionRequest::all_of([(self.resource, [self.action])])
    }
}

impl std::fmt::Display for Permission {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}", self.resource, self.action)
    }
}
