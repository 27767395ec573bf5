//! How an `oauth` token was presented, and DPoP (RFC 9449): a sender-constrained token
//! (`cnf.jkt`) is accepted only as `Authorization: DPoP` with one proof for this request
//! ([`crate::jose::dpop`]), used once ([`crate::store::dpop_replay`]).

use chrono::{DateTime, Utc};

use crate::error::AuthError;
use crate::identity::Refusal;
use crate::jose;
use crate::jose::dpop::{Proof, ProofError, ProofRequest};
use crate::methods::contract::Verified;
use crate::session_jwt::TokenError;
use crate::store::dpop_replay::ProofReplayStore;

/// DPoP checking: how old a proof may be, and where proof ids are recorded.
#[derive(Debug)]
pub(super) struct Dpop {
    pub(super) max_age_seconds: i64,
    pub(super) replay: ProofReplayStore,
}

/// How the token came.
#[derive(Debug)]
pub(super) enum Presented {
    /// `Authorization: Bearer`.
    Bearer,
    /// `Authorization: DPoP`, with what its proof is checked against.
    Dpop(DpopPresentation),
}

/// A token presented under the DPoP scheme.
#[derive(Debug)]
pub(super) struct DpopPresentation {
    /// The token as presented (its `ath` is hashed over this).
    pub(super) token: String,
    /// Every `DPoP` header value.
    pub(super) proofs: Vec<String>,
    /// The request's method and URL, when the event says.
    pub(super) request: Option<(String, String)>,
}

/// The key a `cnf` confirmation binds the token to: `Ok(None)` without one, `Ok(Some(jkt))`
/// for DPoP, `Err` for a confirmation we cannot check (mTLS `x5t#S256`, garbage): never a
/// plain bearer token.
pub(super) fn bound_key(cnf: Option<&serde_json::Value>) -> Result<Option<String>, ()> {
    match cnf {
        None | Some(serde_json::Value::Null) => Ok(None),
        Some(value) => value
            .get("jkt")
            .and_then(serde_json::Value::as_str)
            .filter(|jkt| !jkt.is_empty())
            .map(|jkt| Some(jkt.to_owned()))
            .ok_or(()),
    }
}

/// Whether the token's binding (`jkt`: its confirmation key, if any) holds for how it was
/// presented at `now`; for a DPoP-bound token, the proof checked but for its one-time use,
/// which [`spend`] records once everything else passed. No I/O.
pub(super) fn binding<'d>(
    dpop: Option<&'d Dpop>,
    jkt: Option<&str>,
    presented: &Presented,
    user_id: Option<&str>,
    now: DateTime<Utc>,
) -> Result<Option<(Proof, &'d Dpop)>, AuthError> {
    let refused = |reason| AuthError::Refused {
        reason,
        user_id: user_id.map(str::to_owned),
    };
    let (jkt, presentation) = match (jkt, presented) {
        (None, Presented::Bearer) => return Ok(None),
        (None, Presented::Dpop(_)) => return Err(refused(Refusal::DpopNotBound)),
        (Some(_), Presented::Bearer) => return Err(refused(Refusal::DpopRequired)),
        (Some(jkt), Presented::Dpop(presentation)) => (jkt, presentation),
    };
    let Some(dpop) = dpop else {
        return Err(refused(Refusal::DpopRequired));
    };
    let (method, url) = presentation
        .request
        .as_ref()
        .ok_or_else(|| refused(Refusal::DpopNoRequest))?;
    // One proof per request (RFC 9449 §4.3): different values are refused. Equal ones are
    // one header seen twice (a REST event carries each in `headers` and
    // `multiValueHeaders`).
    let proof = match presentation.proofs.split_first() {
        None => return Err(refused(Refusal::DpopRequired)),
        Some((first, rest)) if rest.iter().all(|p| p == first) => first,
        Some(_) => return Err(TokenError::Dpop(ProofError::Several).into()),
    };
    jose::dpop::verify_proof(
        proof,
        &ProofRequest {
            method,
            url,
            access_token: &presentation.token,
            expected_jkt: jkt,
            now: now.timestamp(),
            max_age_seconds: dpop.max_age_seconds,
        },
    )
    .map(|proof| Some((proof, dpop)))
    .map_err(|e| TokenError::Dpop(e).into())
}

/// Records the proof's id: the caller stands when it was never seen, is refused when it
/// was (a replay), and cannot be answered when Redis cannot (never an allow).
pub(super) async fn spend(
    dpop: &Dpop,
    proof: &Proof,
    verified: Verified,
) -> Result<Verified, AuthError> {
    // Until the proof's acceptance ends; none left (the store was slow): too old now.
    let ttl_ms = u64::try_from(proof.expires_at_ms - Utc::now().timestamp_millis())
        .ok()
        .filter(|ms| *ms > 0)
        .ok_or(TokenError::Dpop(ProofError::Age))?;
    let ttl = std::time::Duration::from_millis(ttl_ms);
    match dpop.replay.reserve(&proof.replay_key, ttl).await? {
        true => Ok(verified),
        false => Err(AuthError::Refused {
            reason: Refusal::DpopReplayed,
            user_id: verified.identity.user_id.clone(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn dpop() -> Dpop {
        Dpop {
            max_age_seconds: 300,
            // Never reached: `binding` does no I/O.
            replay: ProofReplayStore::new(
                "TEST",
                "redis://127.0.0.1:1",
                "",
                Duration::from_millis(10),
                Duration::from_millis(10),
            )
            .expect("a URL"),
        }
    }

    fn code(result: Result<Option<(Proof, &Dpop)>, AuthError>) -> &'static str {
        match result {
            Ok(None) => "bearer",
            Ok(Some(_)) => "proof",
            Err(error) => error.code(),
        }
    }

    fn presented(proofs: &[&str], request: bool) -> Presented {
        Presented::Dpop(DpopPresentation {
            token: "bao_t".into(),
            proofs: proofs.iter().map(|p| (*p).to_owned()).collect(),
            request: request.then(|| ("GET".into(), "https://api.example.com/x".into())),
        })
    }

    #[test]
    fn the_binding_decides_by_scheme_before_any_proof() {
        let on = dpop();
        let now = Utc::now();
        let bearer = Presented::Bearer;
        assert_eq!(code(binding(Some(&on), None, &bearer, None, now)), "bearer");
        assert_eq!(
            code(binding(
                Some(&on),
                None,
                &presented(&["p"], true),
                None,
                now
            )),
            "dpop_token_not_bound"
        );
        assert_eq!(
            code(binding(Some(&on), Some("jkt"), &bearer, None, now)),
            "dpop_proof_required"
        );
        assert_eq!(
            code(binding(
                None,
                Some("jkt"),
                &presented(&["p"], true),
                None,
                now
            )),
            "dpop_proof_required",
            "DPoP off"
        );
        assert_eq!(
            code(binding(
                Some(&on),
                Some("jkt"),
                &presented(&["p"], false),
                None,
                now
            )),
            "dpop_request_unknown"
        );
        assert_eq!(
            code(binding(
                Some(&on),
                Some("jkt"),
                &presented(&[], true),
                None,
                now
            )),
            "dpop_proof_required"
        );
        assert_eq!(
            code(binding(
                Some(&on),
                Some("jkt"),
                &presented(&["a", "b"], true),
                None,
                now
            )),
            "dpop_proof_several"
        );
        // The same value twice is one proof (then checked: this one is no JWS).
        assert_eq!(
            code(binding(
                Some(&on),
                Some("jkt"),
                &presented(&["a", "a"], true),
                None,
                now
            )),
            "dpop_proof_malformed"
        );
    }

    #[test]
    fn only_a_jkt_confirmation_binds() {
        use serde_json::json;
        assert_eq!(bound_key(None), Ok(None));
        assert_eq!(bound_key(Some(&json!(null))), Ok(None));
        assert_eq!(bound_key(Some(&json!({"jkt": "k"}))), Ok(Some("k".into())));
        for unusable in [
            json!({}),
            json!({"x5t#S256": "t"}),
            json!({"jkt": ""}),
            json!("k"),
        ] {
            assert_eq!(bound_key(Some(&unusable)), Err(()), "{unusable}");
        }
    }
}
