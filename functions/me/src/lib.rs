//! `me`: the caller's own user, session and linked accounts, token verification, and health.

pub mod handler;
