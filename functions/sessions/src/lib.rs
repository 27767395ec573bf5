//! `sessions`: listing and revoking a user's sessions (never their tokens).

pub mod handler;
