//! The contract every credential method fulfils: what it claims, what it answers, and what it
//! may use while verifying. Methods depend on this module, never on the registry that lists
//! them ([`super`]) nor on the loop that runs them ([`crate::authenticator`]).

use std::future::Future;

use crate::credentials::{
    Credential, CredentialError, CredentialSource, ExtractOptions, RawCredentials,
};
use crate::env::{ConfigError, Env};
use crate::error::AuthError;
use crate::identity::{Identity, Policy};
use crate::keys::JwksCache;
use crate::store::port::AuthStore;

/// What a method verified: who, and where the credential came from. The registry stamps the
/// method's name on it ([`crate::authenticator::Authenticated`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    /// Who.
    pub identity: Identity,
    /// Where the credential came from.
    pub source: CredentialSource,
}

/// What a method finds in a request.
#[derive(Debug)]
pub enum Claim<C> {
    /// The request carries no credential of this method.
    Absent,
    /// It carries one: verify it.
    Present(C),
    /// It carries one that is unusable: refused before any lookup.
    Invalid(CredentialError),
}

/// A method's answer about the credential it claimed.
#[derive(Debug)]
pub enum Verdict {
    /// Final: the caller, or why not.
    Decided(Result<Verified, AuthError>),
    /// Not this method's to decide after all (e.g. a cookie-cache miss): the next one decides.
    Pass(&'static str),
    /// The method could not answer (its store is down): the next one may; if none decides, this
    /// error stands. Never an allow.
    Unavailable(AuthError),
}

/// Where a method stands in the order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Precedence {
    /// Exclusive, and claims before the other exclusive methods whatever the configured order:
    /// its credential is a narrower shape of theirs (an `at+jwt` is a JWS `jwt` would refuse).
    ExclusiveFirst,
    /// Its credential, when present, decides alone, whatever the configured order.
    Exclusive,
    /// Tried in the configured order.
    Ordered,
}

impl Precedence {
    /// Whether its credential, when present, decides alone.
    pub fn is_exclusive(self) -> bool {
        self != Self::Ordered
    }
}

/// What every method may use while verifying: the store, the jwt plugin's keys, how session
/// tokens are found and the policy.
#[derive(Debug)]
pub struct Context<'a, S> {
    /// Sessions, bans and keys.
    pub store: &'a S,
    /// The jwt plugin's public keys (cached).
    pub keys: &'a JwksCache,
    /// How the session token is found and its signature checked.
    pub extract: &'a ExtractOptions,
    /// What a user must satisfy besides a valid credential.
    pub policy: Policy,
    /// The request's session token, extracted (signature checked) at most once per request
    /// however many methods claim it (`cookie-cache` and `session`).
    pub session_token: std::sync::OnceLock<Result<Credential, CredentialError>>,
    /// The request's bearer value belongs to another configured method by its shape or prefix
    /// ([`CredentialMethod::owns_bearer`]): the session token is then read from cookies only,
    /// so a method's bearer token is never refused as an unknown or unsigned session token.
    pub bearer_owned_elsewhere: bool,
}

/// The settings every method's own settings may depend on.
#[derive(Debug, Clone)]
pub struct Common<'a> {
    /// `BETTER_AUTH_URL`, as written.
    pub base_url: Option<&'a str>,
    /// The origin of `BETTER_AUTH_URL`.
    pub origin: Option<&'a str>,
    /// `BETTER_AUTH_CLOCK_SKEW_SECONDS`.
    pub leeway_seconds: i64,
    /// Every secret, current first.
    pub secrets: &'a [crate::signing::Secret],
    /// The cookie cache's names (`<prefix>.session_data`, renamed, `__Secure-` or not).
    pub cache_cookie_names: &'a [String],
    /// Opening a store connection (`DATABASE_CONNECT_TIMEOUT_MS`).
    pub connect_timeout: std::time::Duration,
    /// One store command (`DATABASE_STATEMENT_TIMEOUT_MS`).
    pub command_timeout: std::time::Duration,
}

/// One way of proving who a request is.
pub trait CredentialMethod: Sized + Send + Sync {
    /// Its settings, parsed from the environment next to the method.
    type Settings: std::fmt::Debug + Clone + Send + Sync;
    /// The credential it finds in a request (owned: claims are cheap, verification is not).
    type Credential: Send + Sync;
    /// Where it stands in the order.
    const PRECEDENCE: Precedence;
    /// Whether [`Self::owns_bearer`] can ever say yes (else no request pays to ask).
    const OWNS_BEARER_VALUES: bool = false;

    /// Parses this method's settings (always, so a bad value is reported even when the method
    /// is not configured; `configured` says whether it is).
    fn settings(
        env: &Env<'_>,
        common: &Common<'_>,
        configured: bool,
    ) -> Result<Self::Settings, ConfigError>;

    /// Builds the method from its settings. Does no I/O.
    fn new(settings: &Self::Settings) -> Result<Self, ConfigError>;

    /// Whether the request carries this method's credential. No I/O.
    fn claim<S: AuthStore>(
        &self,
        request: &RawCredentials<'_>,
        context: &Context<'_, S>,
    ) -> Claim<Self::Credential>;

    /// A short hash of the credential, for logs (never the credential).
    fn fingerprint(credential: &Self::Credential) -> String;

    /// Whether an `Authorization: Bearer` value is this method's by its shape or prefix alone
    /// (no I/O): a JWS for `jwt`, a configured prefix for an OAuth token. Two methods share
    /// the bearer slot this way; the session lookup leaves values another method owns.
    fn owns_bearer(&self, _value: &str) -> bool {
        false
    }

    /// The request headers (lower-case names) this method reads besides `Authorization` and
    /// `Cookie`, which event parsers must collect into [`RawCredentials::api_keys`].
    fn extra_headers(&self) -> &[String] {
        &[]
    }

    /// Decides, passes, or cannot answer.
    fn verify<S: AuthStore>(
        &self,
        credential: &Self::Credential,
        context: &Context<'_, S>,
    ) -> impl Future<Output = Verdict> + Send;
}
