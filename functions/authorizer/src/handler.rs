//! The authorizer's decision for one event: Allow, Deny, `Unauthorized`, or an error.
//!
//! | outcome                          | REST (TOKEN / REQUEST)          | HTTP API 2.0 (simple)        |
//! |----------------------------------|---------------------------------|------------------------------|
//! | valid session or API key         | Allow policy, context           | `isAuthorized: true`, context|
//! | no / bad / unknown / expired     | error `Unauthorized` (401)      | `isAuthorized: false` (403)  |
//! | banned, unverified when required | Deny policy (403)               | `isAuthorized: false` (403)  |
//! | API key used up or rate limited  | Deny policy (403)               | `isAuthorized: false` (403)  |
//! | database down, unreadable event  | error (500), never an Allow     | error (500)                  |

use std::time::Instant;

use auth_core::access::policy::PolicyAnswer;
use auth_core::authorization::{RouteDecision, RouteRef};
use auth_core::{AuthError, Authenticated, Authenticator, Outcome};
use lambda_runtime::{Diagnostic, LambdaEvent};
use serde_json::Value;

use crate::event::{
    self, AuthorizerEvent, AuthorizerPayload, AuthorizerResponse, Context, Effect, EventError,
    Shape,
};

/// What the Lambda runtime reports when we do not answer with a policy.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum AuthorizerError {
    /// Exactly `Unauthorized`: API Gateway turns this message into a 401.
    #[error("Unauthorized")]
    Unauthorized,
    /// Anything else: API Gateway answers 500. Details go to the log, not to the caller.
    #[error("Internal error")]
    Internal,
}

impl From<AuthorizerError> for Diagnostic {
    fn from(error: AuthorizerError) -> Self {
        let error_type = match error {
            AuthorizerError::Unauthorized => "Unauthorized",
            AuthorizerError::Internal => "InternalError",
        };
        Diagnostic {
            error_type: error_type.to_owned(),
            error_message: error.to_string(),
        }
    }
}

/// Handles one authorizer invocation: the runtime hands over what the decision needs, read in
/// its one pass over the event's bytes ([`AuthorizerPayload`]); an event that does not fit is
/// an error (API Gateway answers 500), never an Allow.
pub fn handle(
    auth: &Authenticator,
    event: LambdaEvent<AuthorizerPayload>,
) -> impl Future<Output = Result<AuthorizerResponse, AuthorizerError>> + '_ {
    // Not `async`: one future fewer around the decision.
    answer(auth, event.payload.0)
}

/// [`handle`] for an event given as a JSON value (tests); the answer as the JSON API Gateway
/// receives.
pub async fn handle_json(
    auth: &Authenticator,
    event: LambdaEvent<Value>,
) -> Result<Value, AuthorizerError> {
    let json = event.payload.to_string();
    let parsed = AuthorizerEvent::parse_with(&json, auth.extra_headers(), auth.reads_dpop());
    let response = answer(auth, parsed).await?;
    serde_json::to_value(response).map_err(|_| AuthorizerError::Internal)
}

/// Decides and writes the decision's one line: its fields, and with `METRICS_ENABLED` the EMF
/// record (`emf`, whose dimensions are the line's `decision`, `method` and `reason`). The
/// X-Ray trace id and request id are added to every line by the log format (from the runtime's
/// invocation span).
async fn answer(
    auth: &Authenticator,
    event: Result<AuthorizerEvent<'_>, EventError>,
) -> Result<AuthorizerResponse, AuthorizerError> {
    let started = Instant::now();
    let metrics = auth.metrics();
    let event = event.map_err(|error| {
        let latency_us = elapsed_us(started);
        tracing::error!(
            decision = "error",
            reason = "bad_event",
            error = %error,
            latency_us,
            emf = metrics.decision(None, Some("bad_event"), latency_us),
            "authorizer event refused"
        );
        AuthorizerError::Internal
    })?;
    let attempt = auth.attempt(&event.credentials(auth.api_key_only())).await;
    let (result, token_fingerprint) = (attempt.result, attempt.fingerprint);
    let fp = token_fingerprint.as_deref().unwrap_or("-");
    // Who first; then, with AUTHORIZER_ROUTES, what this caller may do here.
    let route = match &result {
        Ok(ok) => route_decision(auth, &event, ok).await,
        Err(_) => Ok(None),
    };
    let latency_us = elapsed_us(started);
    let route = match route {
        Ok(route) => route,
        Err(error) => {
            if let Some(tally) = error.tally() {
                auth_core::telemetry::metrics::count(tally);
            }
            let reason = error.code();
            tracing::error!(
                decision = "error",
                event = event.kind(),
                reason,
                error = %error,
                token = fp,
                latency_us,
                emf = metrics.decision(None, Some(reason), latency_us),
            );
            return Err(AuthorizerError::Internal);
        }
    };
    match (&result, &route) {
        (
            Ok(ok),
            Some(RouteDecision {
                verdict: Err(refusal),
                ..
            }),
        ) => {
            let (reason, method) = (refusal.code(), ok.method.as_str());
            tracing::info!(
                decision = "deny",
                event = event.kind(),
                reason,
                principal = %ok.identity.principal(),
                method,
                token = fp,
                latency_us,
                emf = metrics.decision(Some(method), Some(reason), latency_us),
            );
        }
        (Ok(ok), _) => {
            let method = ok.method.as_str();
            tracing::info!(
                decision = "allow",
                event = event.kind(),
                principal = %ok.identity.principal(),
                session_id = ok.identity.session_id.as_deref().unwrap_or("-"),
                source = ok.source.as_str(),
                method,
                token = fp,
                latency_us,
                emf = metrics.decision(Some(method), None, latency_us),
            );
        }
        (Err(error), _) if error.outcome() == Outcome::Unavailable => {
            let reason = error.code();
            tracing::error!(
                decision = "error",
                event = event.kind(),
                reason,
                error = %error,
                token = fp,
                latency_us,
                emf = metrics.decision(None, Some(reason), latency_us),
            );
        }
        (Err(error), _) => {
            let reason = error.code();
            tracing::info!(
                decision = if error.outcome() == Outcome::Forbidden {
                    "deny"
                } else {
                    "unauthorized"
                },
                event = event.kind(),
                reason,
                user_id = error.user_id().unwrap_or("-"),
                token = fp,
                latency_us,
                emf = metrics.decision(None, Some(reason), latency_us),
            );
        }
    }
    match route {
        Some(route) => respond_by_route(&event, result, route, auth),
        None => respond(&event, result, auth),
    }
}

/// Microseconds since `started`.
fn elapsed_us(started: Instant) -> u64 {
    u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX)
}

/// With `AUTHORIZER_ROUTES`: the route this event is for and the caller's answer there (REST:
/// every rule's, for the policy).
async fn route_decision(
    auth: &Authenticator,
    event: &AuthorizerEvent<'_>,
    ok: &Authenticated,
) -> Result<Option<RouteDecision>, AuthError> {
    if auth.routes().is_none() {
        return Ok(None);
    }
    match event.shape() {
        Shape::HttpV2 => {
            // No routeKey (not an HTTP API event as API Gateway sends it): listed nowhere.
            let key = event.route_key().unwrap_or("");
            auth.decide_route(&ok.identity, RouteRef::Key(key), false)
                .await
        }
        Shape::Token | Shape::Request => {
            let Some(arn) = event.arn().and_then(event::method_arn) else {
                // Answered below as an unusable event (500), never an Allow.
                return Ok(Some(RouteDecision {
                    rule: None,
                    verdict: Err(auth_core::access::AccessRefusal::RouteNotListed),
                    every_rule: None,
                }));
            };
            let route = RouteRef::Path {
                method: arn.method,
                path: &arn.path,
            };
            auth.decide_route(&ok.identity, route, true).await
        }
    }
}

/// The answer under `AUTHORIZER_ROUTES`. REST: a policy listing every route the caller may
/// call, with explicit Denys where a wildcard would cover one they may not (cacheable per
/// token); HTTP API: `isAuthorized` for the route API Gateway matched.
fn respond_by_route(
    event: &AuthorizerEvent<'_>,
    result: Result<Authenticated, AuthError>,
    route: RouteDecision,
    auth: &Authenticator,
) -> Result<AuthorizerResponse, AuthorizerError> {
    let Ok(ok) = result else {
        return respond(event, result, auth);
    };
    let allowed_here = route.verdict.is_ok();
    let (source, method) = (ok.source.as_str(), ok.method.as_str());
    if event.shape() == Shape::HttpV2 {
        return Ok(if allowed_here {
            event::simple(
                true,
                Context::of(ok.identity, source, method, auth.context_user_fields()),
            )
        } else {
            event::simple(false, Context::default())
        });
    }
    let (Some(table), Some(arn), Some(every_rule)) = (
        auth.routes(),
        event.arn().and_then(event::method_arn),
        route.every_rule.as_deref(),
    ) else {
        tracing::error!("cannot build the policy resource");
        return Err(AuthorizerError::Internal);
    };
    let answer = table.answer(every_rule, &arn.stage_prefix, arn.suffix, allowed_here);
    let refused_after_all = match &answer {
        PolicyAnswer::Resources(resources) => resources.allow.is_empty(),
        PolicyAnswer::Statements(_) => false,
    };
    if allowed_here && refused_after_all {
        // The one-request policy cannot name a path holding `*` or `?` in an Allow (IAM would
        // read it as a pattern): refused after all, and said so next to the decision's line.
        tracing::info!(
            decision = "deny",
            event = event.kind(),
            reason = "wildcard_in_path",
            principal = %ok.identity.principal(),
        );
    }
    let principal = ok.identity.principal();
    // The context is the caller's even on a Deny here: API Gateway caches the whole answer, and
    // the routes this policy allows get it from the cache.
    let context = Context::of(ok.identity, source, method, auth.context_user_fields());
    let usage_key = usage_key(auth, &context);
    let response = match answer {
        PolicyAnswer::Statements(statements) => {
            event::policy_written(principal, &statements, context)
                .map_err(|_| AuthorizerError::Internal)?
        }
        PolicyAnswer::Resources(resources) => event::policy_of(
            principal,
            vec![
                (Effect::Allow, resources.allow),
                (Effect::Deny, resources.deny),
            ],
            context,
        ),
    };
    Ok(response.with_usage_identifier_key(usage_key))
}

/// `usageIdentifierKey` for REST usage plans (`API_GATEWAY_USAGE_IDENTIFIER`), when the caller
/// has the value.
fn usage_key(auth: &Authenticator, context: &Context) -> Option<String> {
    auth.usage_identifier()
        .and_then(|usage| usage.value(context))
}

/// Turns a decision into the response API Gateway expects for this event shape.
pub fn respond(
    event: &AuthorizerEvent<'_>,
    result: Result<Authenticated, AuthError>,
    auth: &Authenticator,
) -> Result<AuthorizerResponse, AuthorizerError> {
    let fields = auth.context_user_fields();
    let rest = event.shape() != Shape::HttpV2;
    match result {
        Ok(ok) => {
            let (source, method) = (ok.source.as_str(), ok.method.as_str());
            if rest {
                let resource = event.policy_resource().map_err(|error| {
                    tracing::error!(error = %error, "cannot build the policy resource");
                    AuthorizerError::Internal
                })?;
                let principal = ok.identity.principal();
                let context = Context::of(ok.identity, source, method, fields);
                let usage_key = usage_key(auth, &context);
                Ok(event::policy(principal, Effect::Allow, resource, context)
                    .with_usage_identifier_key(usage_key))
            } else {
                Ok(event::simple(
                    true,
                    Context::of(ok.identity, source, method, fields),
                ))
            }
        }
        Err(error) => match error.outcome() {
            Outcome::Unavailable => Err(AuthorizerError::Internal),
            Outcome::Unauthenticated if rest => Err(AuthorizerError::Unauthorized),
            Outcome::Forbidden if rest => {
                let resource = event
                    .policy_resource()
                    .map_err(|_| AuthorizerError::Internal)?;
                let principal = error.user_id().unwrap_or("unknown").to_owned();
                Ok(event::policy(
                    principal,
                    Effect::Deny,
                    resource,
                    Context::refusal(error.code()),
                ))
            }
            _ => Ok(event::simple(false, Context::default())),
        },
    }
}
