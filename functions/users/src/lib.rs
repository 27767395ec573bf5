//! `users`: admin user management with Better Auth's admin-plugin semantics.

pub mod handler;
