//! Credential methods: one module per way a request can prove who it is, each behind the same
//! small interface ([`CredentialMethod`]).
//!
//! A method **claims** a request (does it carry my credential?) without I/O, then **verifies**
//! the credential it claimed: it decides, passes to the next method, or cannot answer. The
//! ordering rules are data, not special cases: each method has a [`Precedence`], and
//! [`Authenticator::attempt`](crate::Authenticator::attempt) is one loop over the configured
//! methods (`BETTER_AUTH_METHODS`, in order):
//!
//! 1. [`Precedence::ExclusiveFirst`], then [`Precedence::Exclusive`] methods: the first whose
//!    credential the request carries decides alone (a JWT is never looked up as a session
//!    token; an OAuth `at+jwt` is decided by `oauth`, never refused by `jwt` first).
//! 2. The others in the configured order: the first decision wins; a pass goes on; an
//!    unavailable answer goes on too, and stands as the error if nothing after it decides.
//!
//! Adding a method is one module behind [`contract::CredentialMethod`] (its settings, claim and
//! verify) plus one line in [`credential_methods!`] below; a method with its own store lookup
//! touches the store port and the PostgreSQL adapter too (docs/architecture.md lists the files).

pub mod api_key;
pub mod contract;
pub mod cookie_cache;
pub mod jwt;
pub mod oauth;
pub mod session;

pub use contract::{Claim, Common, Context, CredentialMethod, Precedence, Verdict, Verified};

use crate::credentials::{CredentialError, RawCredentials};
use crate::env::{ConfigError, Env};
use crate::store::port::AuthStore;

/// One step of the loop: what a configured method made of the request.
// A transient value moved once per request: boxing the large variant would allocate on every
// request instead.
#[allow(clippy::large_enum_variant)]
#[derive(Debug)]
pub enum Step {
    /// The request carries none of its credential.
    Absent,
    /// It claimed the request and answered; the credential's fingerprint is kept for logs.
    Answered {
        /// The answer.
        verdict: Verdict,
        /// A short hash of the credential.
        fingerprint: String,
    },
    /// It claimed an unusable credential.
    Invalid(CredentialError),
}

/// Declares the methods: the name users write in `BETTER_AUTH_METHODS`, the module, and the
/// type. Generates [`MethodName`], [`MethodSettings`] and [`ConfiguredMethod`].
macro_rules! credential_methods {
    ($($(#[$doc:meta])* $variant:ident = $name:literal $(| $alias:literal)*, $module:ident :: $ty:ident;)*) => {
        /// A way a request can prove who it is (`BETTER_AUTH_METHODS`).
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum MethodName {
            $($(#[$doc])* $variant,)*
        }

        impl MethodName {
            /// Every method.
            pub const ALL: &'static [MethodName] = &[$(Self::$variant),*];

            /// The name used in `BETTER_AUTH_METHODS`, logs and the authorizer context.
            pub fn as_str(self) -> &'static str {
                match self { $(Self::$variant => $name,)* }
            }

            /// Parses a name (lower-case) as written in `BETTER_AUTH_METHODS`.
            pub fn parse(name: &str) -> Option<Self> {
                match name {
                    $($name $(| $alias)* => Some(Self::$variant),)*
                    _ => None,
                }
            }

            /// Whether the method recognises bearer values by shape or prefix.
            pub fn owns_bearer_values(self) -> bool {
                match self {
                    $(Self::$variant => <$module::$ty as CredentialMethod>::OWNS_BEARER_VALUES,)*
                }
            }

            /// Where the method stands in the order.
            pub fn precedence(self) -> Precedence {
                match self {
                    $(Self::$variant => <$module::$ty as CredentialMethod>::PRECEDENCE,)*
                }
            }
        }

        /// Every method's settings, parsed once at cold start.
        #[derive(Debug, Clone)]
        pub struct MethodSettings {
            $(#[doc = concat!("Settings of `", $name, "`.")]
            pub $module: <$module::$ty as CredentialMethod>::Settings,)*
        }

        impl MethodSettings {
            /// Parses every method's settings; `order` is the configured methods.
            pub fn parse(
                env: &Env<'_>,
                common: &Common<'_>,
                order: &[MethodName],
            ) -> Result<Self, ConfigError> {
                Ok(Self {
                    $($module: <$module::$ty as CredentialMethod>::settings(
                        env,
                        common,
                        order.contains(&MethodName::$variant),
                    )?,)*
                })
            }
        }

        /// A method built from its settings, ready to claim and verify.
        #[derive(Debug)]
        pub enum ConfiguredMethod {
            $($(#[$doc])* $variant($module::$ty),)*
        }

        impl ConfiguredMethod {
            /// Builds the method `name` from its settings.
            pub fn build(name: MethodName, settings: &MethodSettings) -> Result<Self, ConfigError> {
                Ok(match name {
                    $(MethodName::$variant => Self::$variant($module::$ty::new(&settings.$module)?),)*
                })
            }

            /// Whether a bearer value is this method's by shape or prefix (no I/O).
            pub fn owns_bearer(&self, value: &str) -> bool {
                match self { $(Self::$variant(method) => method.owns_bearer(value),)* }
            }

            /// The headers this method reads besides `Authorization` and `Cookie`.
            pub fn extra_headers(&self) -> &[String] {
                match self { $(Self::$variant(method) => method.extra_headers(),)* }
            }

            /// The method's name.
            pub fn name(&self) -> MethodName {
                match self { $(Self::$variant(_) => MethodName::$variant,)* }
            }

            /// Claims and, when claimed, verifies.
            pub async fn step<S: AuthStore>(
                &self,
                request: &RawCredentials<'_>,
                context: &Context<'_, S>,
            ) -> Step {
                // Inlined per method (no extra future layer on the hot path).
                match self {
                    $(Self::$variant(method) => match method.claim(request, context) {
                        Claim::Absent => Step::Absent,
                        Claim::Invalid(error) => Step::Invalid(error),
                        Claim::Present(credential) => Step::Answered {
                            fingerprint: <$module::$ty as CredentialMethod>::fingerprint(&credential),
                            verdict: method.verify(&credential, context).await,
                        },
                    },)*
                }
            }
        }
    };
}

credential_methods! {
    /// The session token (bearer or signed cookie) looked up in the store. Always current.
    Session = "session", session::SessionMethod;
    /// A Better Auth JWT (`Authorization: Bearer <jws>`), verified with the jwt plugin's keys.
    Jwt = "jwt", jwt::JwtMethod;
    /// The cookie cache (`<prefix>.session_data`), verified with the secret; no lookup.
    CookieCache = "cookie-cache" | "cookie_cache", cookie_cache::CookieCacheMethod;
    /// A Better Auth API key (`x-api-key`), verified and counted in the `apikey` table.
    ApiKey = "api-key" | "api_key" | "apikey", api_key::ApiKeyMethod;
    /// An OAuth access token `@better-auth/oauth-provider` issued (`at+jwt`, or opaque with the
    /// configured prefix): the authorizer as a resource server.
    OAuth = "oauth", oauth::OAuthMethod;
}
