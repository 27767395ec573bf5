//! DPoP (RFC 9449) against the real `@better-auth/oauth-provider` (1.7.5): tokens the provider
//! binds to a key (a `DPoP` proof on the token request: `cnf.jkt` in an `at+jwt`, the
//! `confirmation` column of an opaque token) are accepted only as `Authorization: DPoP` with a
//! proof for this request, once; the provider's own resource endpoint (`/oauth2/userinfo`, its
//! `enforceDpopBinding`) is the oracle for the same presentations.

use auth_core::Authenticator;
use serde_json::{Value, json};
use test_support::dpop::DpopKey;
use test_support::events::{Shape, event, with_header};
use test_support::redis::TestRedis;

use super::common::Ours;
use super::oauth_resource_server::{Provider, field};

/// The REST REQUEST fixture's request, as the proof must name it.
const REST_URL: &str = "https://api.example.com/request";
/// The HTTP API fixture's request (`requestContext.domainName` + `http.path`, method `POST`).
const HTTP_URL: &str = "https://id.execute-api.us-east-1.amazonaws.com/my/path";

/// A REST REQUEST or HTTP API event carrying `authorization` and, when given, a `DPoP` proof.
fn dpop_event(shape: Shape, authorization: &str, proof: Option<&str>) -> Value {
    let mut e = event(shape, Some(authorization), None);
    if shape == Shape::RestRequest {
        e["requestContext"]["domainName"] = json!("api.example.com");
    }
    match proof {
        Some(proof) => with_header(shape, e, "DPoP", proof),
        None => e,
    }
}

/// The request each shape's fixture stands for.
fn request_of(shape: Shape) -> (&'static str, &'static str) {
    match shape {
        Shape::HttpV2 => ("POST", HTTP_URL),
        _ => ("GET", REST_URL),
    }
}

async fn decide(p: &Provider, auth: &Authenticator, e: Value) -> Ours {
    p.ctx.ours_for(auth, e).await
}

/// Why `auth` refuses `authorization` with `proofs` for `GET REST_URL` (`request` false: the
/// request line unknown, as in a TOKEN event): the reason the authorizer logs.
async fn reason(
    auth: &Authenticator,
    authorization: &str,
    proofs: &[&str],
    request: bool,
) -> &'static str {
    let raw = auth_core::RawCredentials {
        authorization: vec![authorization],
        dpop_proofs: proofs.to_vec(),
        request: request.then(|| auth_core::credentials::RequestLine {
            method: "GET",
            url: REST_URL.into(),
        }),
        ..Default::default()
    };
    match auth.authenticate(&raw).await {
        Ok(_) => "allowed",
        Err(error) => error.code(),
    }
}

/// The provider's resource endpoint for the same presentation: 401 is a refusal (an active
/// token without `openid` answers 400: the binding held).
async fn userinfo(p: &Provider, authorization: &str, proof: Option<&str>) -> bool {
    let mut headers = vec![("authorization", authorization)];
    if let Some(proof) = proof {
        headers.push(("dpop", proof));
    }
    let (status, body) = p
        .ctx
        .ba
        .get_with_headers("/oauth2/userinfo", &headers)
        .await;
    assert!(matches!(status, 200 | 400 | 401), "{status} {body}");
    status != 401
}

#[tokio::test]
async fn a_dpop_bound_token_passes_with_one_proof_for_this_request() {
    let p = Provider::start().await;
    let redis = TestRedis::new();
    let with_dpop = [
        ("BETTER_AUTH_OAUTH_DPOP", "true"),
        ("BETTER_AUTH_OAUTH_DPOP_REDIS_URL", redis.url.as_str()),
        (
            "BETTER_AUTH_SECONDARY_STORAGE_PREFIX",
            redis.prefix.as_str(),
        ),
    ];
    let ours = p.ours(&with_dpop);
    let client_key = DpopKey::new();
    let token_url = format!("{}/oauth2/token", p.issuer);
    let bind = |proof: String| vec![("DPoP".to_owned(), proof)];

    // The provider binds both kinds of token to the key of the token request's proof.
    let mut bound = Vec::new();
    for resource in [Some(p.base_url.as_str()), None] {
        let headers = bind(client_key.proof("POST", &token_url, None));
        let headers: Vec<(&str, &str)> = headers
            .iter()
            .map(|(n, v)| (n.as_str(), v.as_str()))
            .collect();
        let issued = p.authorize_with("openid read", resource, &headers).await;
        assert_eq!(issued["token_type"], json!("DPoP"), "{issued}");
        bound.push(field(&issued, "access_token"));
    }
    assert!(bound[0].split('.').count() == 3 && bound[1].starts_with("bao_"));

    for token in &bound {
        let scheme = format!("DPoP {token}");
        for shape in [Shape::RestRequest, Shape::HttpV2] {
            let (method, url) = request_of(shape);
            let proof = client_key.proof(method, url, Some(token));
            let allowed = decide(&p, &ours, dpop_event(shape, &scheme, Some(&proof))).await;
            match &allowed {
                Ours::Allow(context) => {
                    assert_eq!(context["authMethod"], json!("oauth"), "{context}")
                }
                other => panic!("a valid proof in {shape:?}: {other:?}"),
            }
            // The same proof again: a replay.
            assert_eq!(
                decide(&p, &ours, dpop_event(shape, &scheme, Some(&proof))).await,
                Ours::Refused,
                "a replayed proof in {shape:?}"
            );
            let refused = [
                (
                    "as a bearer token",
                    dpop_event(
                        shape,
                        &format!("Bearer {token}"),
                        Some(&client_key.proof(method, url, Some(token))),
                    ),
                ),
                ("without a proof", dpop_event(shape, &scheme, None)),
                (
                    "with a proof for another URL",
                    dpop_event(
                        shape,
                        &scheme,
                        Some(&client_key.proof(method, &format!("{url}/other"), Some(token))),
                    ),
                ),
                (
                    "with a proof for another method",
                    dpop_event(
                        shape,
                        &scheme,
                        Some(&client_key.proof("DELETE", url, Some(token))),
                    ),
                ),
                (
                    "with a proof for another token",
                    dpop_event(
                        shape,
                        &scheme,
                        Some(&client_key.proof(method, url, Some("another-token"))),
                    ),
                ),
                (
                    "with a proof by another key",
                    dpop_event(
                        shape,
                        &scheme,
                        Some(&DpopKey::new().proof(method, url, Some(token))),
                    ),
                ),
                (
                    "with a proof without ath",
                    dpop_event(shape, &scheme, Some(&client_key.proof(method, url, None))),
                ),
            ];
            for (case, e) in refused {
                assert_eq!(
                    decide(&p, &ours, e).await,
                    Ours::Refused,
                    "{case} in {shape:?}"
                );
            }
        }
        // Two different proofs, even both valid: REST sends the last in `headers`, all in
        // `multiValueHeaders`.
        let (first, second) = (
            client_key.proof("GET", REST_URL, Some(token)),
            client_key.proof("GET", REST_URL, Some(token)),
        );
        let mut two = dpop_event(Shape::RestRequest, &scheme, Some(&second));
        two["multiValueHeaders"]["DPoP"] = json!([first, second]);
        assert_eq!(decide(&p, &ours, two).await, Ours::Refused, "two proofs");
        // Why each is refused, as the authorizer logs it.
        let fresh = || client_key.proof("GET", REST_URL, Some(token));
        let spent = fresh();
        assert_eq!(reason(&ours, &scheme, &[&spent], true).await, "allowed");
        for (case, authorization, proofs, request, expected) in [
            (
                "replayed",
                scheme.clone(),
                vec![spent.clone()],
                true,
                "dpop_proof_replayed",
            ),
            (
                "as bearer",
                format!("Bearer {token}"),
                vec![fresh()],
                true,
                "dpop_proof_required",
            ),
            (
                "no proof",
                scheme.clone(),
                vec![],
                true,
                "dpop_proof_required",
            ),
            (
                "no request line",
                scheme.clone(),
                vec![fresh()],
                false,
                "dpop_request_unknown",
            ),
            (
                "two proofs",
                scheme.clone(),
                vec![fresh(), fresh()],
                true,
                "dpop_proof_several",
            ),
            (
                "another URL",
                scheme.clone(),
                vec![client_key.proof("GET", HTTP_URL, Some(token))],
                true,
                "dpop_proof_url",
            ),
            (
                "another key",
                scheme.clone(),
                vec![DpopKey::new().proof("GET", REST_URL, Some(token))],
                true,
                "dpop_proof_key_mismatch",
            ),
        ] {
            let proofs: Vec<&str> = proofs.iter().map(String::as_str).collect();
            assert_eq!(
                reason(&ours, &authorization, &proofs, request).await,
                expected,
                "{case}"
            );
        }
        // A TOKEN authorizer sees no method or URL: no proof can be checked.
        let token_event = event(Shape::RestToken, Some(&scheme), None);
        assert_eq!(decide(&p, &ours, token_event).await, Ours::Refused, "TOKEN");
        // Without DPoP configured, a bound token is refused even with a good proof.
        let plain = p.ours(&[]);
        let proof = client_key.proof("GET", REST_URL, Some(token));
        assert_eq!(
            decide(
                &p,
                &plain,
                dpop_event(Shape::RestRequest, &scheme, Some(&proof))
            )
            .await,
            Ours::Refused,
            "DPoP off"
        );
    }

    // The provider's own resource endpoint decides the same presentations the same way.
    let opaque = &bound[1];
    let userinfo_url = format!("{}/oauth2/userinfo", p.issuer);
    let scheme = format!("DPoP {opaque}");
    let proof = client_key.proof("GET", &userinfo_url, Some(opaque));
    assert!(userinfo(&p, &scheme, Some(&proof)).await, "theirs: valid");
    assert!(
        !userinfo(&p, &scheme, Some(&proof)).await,
        "theirs: replayed"
    );
    assert!(!userinfo(&p, &scheme, None).await, "theirs: no proof");
    let bearer = format!("Bearer {opaque}");
    let fresh = client_key.proof("GET", &userinfo_url, Some(opaque));
    assert!(
        !userinfo(&p, &bearer, Some(&fresh)).await,
        "theirs: as bearer"
    );
    for (case, proof) in [
        (
            "another URL",
            client_key.proof("GET", &format!("{userinfo_url}/other"), Some(opaque)),
        ),
        (
            "another method",
            client_key.proof("DELETE", &userinfo_url, Some(opaque)),
        ),
        (
            "another token",
            client_key.proof("GET", &userinfo_url, Some("another-token")),
        ),
        (
            "another key",
            DpopKey::new().proof("GET", &userinfo_url, Some(opaque)),
        ),
        ("without ath", client_key.proof("GET", &userinfo_url, None)),
    ] {
        assert!(!userinfo(&p, &scheme, Some(&proof)).await, "theirs: {case}");
    }

    // An unbound token: accepted as a bearer token, refused under the DPoP scheme (as the
    // provider refuses it).
    let unbound = field(&p.authorize("openid read", None).await, "access_token");
    let proof = client_key.proof("GET", REST_URL, Some(&unbound));
    assert!(matches!(
        decide(
            &p,
            &ours,
            dpop_event(Shape::RestRequest, &format!("Bearer {unbound}"), None)
        )
        .await,
        Ours::Allow(_)
    ));
    assert_eq!(
        decide(
            &p,
            &ours,
            dpop_event(Shape::RestRequest, &format!("DPoP {unbound}"), Some(&proof))
        )
        .await,
        Ours::Refused
    );
    assert_eq!(
        reason(&ours, &format!("DPoP {unbound}"), &[&proof], true).await,
        "dpop_token_not_bound"
    );
    let proof = client_key.proof("GET", &userinfo_url, Some(&unbound));
    assert!(
        !userinfo(&p, &format!("DPoP {unbound}"), Some(&proof)).await,
        "theirs: unbound"
    );

    // Redis cannot record the proof: an error, never an allow.
    let unreachable = p.ours(&[
        ("BETTER_AUTH_OAUTH_DPOP", "true"),
        ("BETTER_AUTH_OAUTH_DPOP_REDIS_URL", "redis://127.0.0.1:1"),
    ]);
    let proof = client_key.proof("GET", REST_URL, Some(opaque));
    assert_eq!(
        decide(
            &p,
            &unreachable,
            dpop_event(Shape::RestRequest, &scheme, Some(&proof))
        )
        .await,
        Ours::Error
    );
}
