//! The caller wherever the function runs: the authorizer's context when API Gateway passed one,
//! else (opt-in) the request's own credential verified in place.

use auth_core::env::{ConfigError, Env};
use auth_core::{Authenticator, Config, Outcome, RawCredentials};
use lambda_http::http::{HeaderMap, header};
use lambda_http::request::RequestContext;
use lambda_http::{Request, RequestExt};

use crate::caller::Caller;
use crate::error::CallerError;

/// `true`: where no authorizer ran (`cargo lambda watch`, a Function URL, an ALB target), the
/// request's credential is verified in place with auth-core. Default `false`: no context, 401.
pub const VERIFY_WITHOUT_AUTHORIZER_VAR: &str = "AUTH_VERIFY_WITHOUT_AUTHORIZER";

/// Finds the caller of each request; built once per container.
pub struct Callers {
    verifier: Option<Authenticator>,
}

impl std::fmt::Debug for Callers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Callers")
            .field("verifies_in_place", &self.verifier.is_some())
            .finish()
    }
}

impl Callers {
    /// The authorizer's context only.
    pub fn context_only() -> Self {
        Self { verifier: None }
    }

    /// Verifying in place with `auth` where no authorizer ran.
    pub fn verifying(auth: Authenticator) -> Self {
        Self {
            verifier: Some(auth),
        }
    }

    /// From the environment: `AUTH_VERIFY_WITHOUT_AUTHORIZER=true` builds auth-core's
    /// validator from the same settings the authorizer reads (`DATABASE_URL`,
    /// `BETTER_AUTH_SECRET`, …); otherwise nothing is read or connected.
    pub fn from_env() -> Result<Self, ConfigError> {
        let verify = Env::read_process(|env| env.flag(VERIFY_WITHOUT_AUTHORIZER_VAR, false))?;
        if !verify {
            return Ok(Self::context_only());
        }
        let config = Config::from_env()?;
        Ok(Self::verifying(Authenticator::new(&config)?))
    }

    /// The caller of `request`: the authorizer's context when present (then the only source),
    /// else the request's credential verified in place when enabled, else 401.
    pub async fn caller(&self, request: &Request) -> Result<Caller, CallerError> {
        self.caller_of(request.request_context_ref(), request.headers())
            .await
    }

    /// [`Callers::caller`] from a request's parts (axum).
    pub async fn caller_of(
        &self,
        context: Option<&RequestContext>,
        headers: &HeaderMap,
    ) -> Result<Caller, CallerError> {
        // A REST event always has an `authorizer` object (empty when none ran); an authorizer
        // that ran left fields (a Lambda authorizer's context, a JWT's claims, IAM's identity).
        let has_context = context
            .and_then(RequestContext::authorizer)
            .is_some_and(|a| !a.fields.is_empty() || a.jwt.is_some() || a.iam.is_some());
        if has_context {
            return context
                .and_then(Caller::from_request_context)
                .ok_or(CallerError::Unauthenticated);
        }
        let Some(auth) = &self.verifier else {
            return Err(CallerError::Unauthenticated);
        };
        let raw =
            raw_credentials(headers, auth.extra_headers()).ok_or(CallerError::Unauthenticated)?;
        match auth.authenticate(&raw).await {
            Ok(verified) => Caller::from_authenticated(verified, auth.context_user_fields())
                .ok_or(CallerError::Unauthenticated),
            Err(error) => Err(match error.outcome() {
                Outcome::Unavailable => {
                    tracing::error!(reason = error.code(), "caller: verification unavailable");
                    CallerError::Unavailable
                }
                Outcome::Forbidden => CallerError::Forbidden {
                    reason: error.code(),
                },
                Outcome::Unauthenticated => CallerError::Unauthenticated,
            }),
        }
    }
}

/// The `Authorization`, `Cookie` and API-key header values; `None` when one is not text.
fn raw_credentials<'a>(
    headers: &'a HeaderMap,
    api_key_headers: &[String],
) -> Option<RawCredentials<'a>> {
    let mut raw = RawCredentials::default();
    let text = |v: &'a header::HeaderValue| std::str::from_utf8(v.as_bytes()).ok();
    for value in headers.get_all(header::AUTHORIZATION) {
        raw.authorization.push(text(value)?);
    }
    for value in headers.get_all(header::COOKIE) {
        raw.cookies.push(text(value)?);
    }
    for name in api_key_headers {
        for value in headers.get_all(name.as_str()) {
            raw.api_keys.push(text(value)?);
        }
    }
    Some(raw)
}
