//! The borrowed pass over the invocation's JSON text: the event's shape, the ARN the policy
//! names and the credential headers, everything else skipped unbuilt.

use std::borrow::Cow;
use std::fmt;

use auth_core::RawCredentials;
use auth_core::credentials::RequestLine;
use serde::Deserialize;
use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, Visitor};

use super::response::api_wildcard;

/// The invocation as the runtime hands it over: read in the runtime's one pass over the event's
/// bytes, keeping only what the decision needs (owned: the bytes do not outlive the pass), or
/// why the event is not an authorizer event.
///
/// The runtime deserializes before the handler runs, with no way to pass settings in: the
/// API-key header names come from [`configure`], called once at start-up.
#[derive(Debug)]
pub struct AuthorizerPayload(pub Result<AuthorizerEvent<'static>, EventError>);

static API_KEY_HEADERS: std::sync::OnceLock<Vec<String>> = std::sync::OnceLock::new();
static DPOP: std::sync::OnceLock<bool> = std::sync::OnceLock::new();

/// Sets, once at start-up, the headers that carry an API key (lower-case; empty unless the
/// `api-key` method is on), for [`AuthorizerPayload`]s. Until it is called none are collected
/// (an API key is then refused, never accepted).
pub fn configure(api_key_headers: &[String]) {
    let _ = API_KEY_HEADERS.set(api_key_headers.to_vec());
}

/// Sets, once at start-up, whether DPoP proofs are checked
/// ([`auth_core::Authenticator::reads_dpop`]): then the `DPoP` header and the request's method
/// and URL are collected too. Until it is called they are not (a DPoP-bound token is then
/// refused, never accepted).
pub fn configure_dpop(on: bool) {
    let _ = DPOP.set(on);
}

impl<'de> Deserialize<'de> for AuthorizerPayload {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let api_key_headers = API_KEY_HEADERS.get().map_or(&[][..], Vec::as_slice);
        let dpop = DPOP.get().copied().unwrap_or(false);
        let fields = EventSeed {
            api_key_headers,
            dpop,
        }
        .deserialize(deserializer)?;
        Ok(Self(
            AuthorizerEvent::from_fields(fields).map(AuthorizerEvent::into_owned),
        ))
    }
}

/// One authorizer event, reduced to what the decision reads: its shape, the ARN the policy
/// names, and the credentials. Every string borrows from the invocation's text (a copy only
/// when JSON escapes force one).
///
/// A REST REQUEST event carries some twenty headers twice (`headers` and `multiValueHeaders`)
/// and a large `requestContext`: building maps of them cost ~10 µs per event, more than the
/// decision itself. The parser walks the JSON once, keeps the `Authorization`, `Cookie` and
/// API-key headers, and skips everything else without building it.
#[derive(Debug)]
pub struct AuthorizerEvent<'a> {
    shape: Shape,
    /// REST: `methodArn`; HTTP API: `routeArn`.
    arn: Option<Cow<'a, str>>,
    /// HTTP API: `routeKey` (`GET /orders/{id}`), the route API Gateway matched.
    route_key: Option<Cow<'a, str>>,
    /// TOKEN: the one identity source (`authorizationToken`).
    token: Option<Cow<'a, str>>,
    /// REQUEST and HTTP API: the credential headers; HTTP API: the `cookies` array too.
    found: Found<'a>,
    /// REQUEST and HTTP API, when DPoP is on: the request's method, host and path.
    request: Option<Request<'a>>,
}

/// The request as the gateway saw it, for a DPoP proof's `htm` and `htu`.
#[derive(Debug)]
struct Request<'a> {
    method: Cow<'a, str>,
    domain_name: Cow<'a, str>,
    path: Cow<'a, str>,
}

/// Which of the three events API Gateway sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    /// REST API, TOKEN authorizer: one identity source in `authorizationToken`.
    Token,
    /// REST API (or HTTP API payload 1.0), REQUEST authorizer: headers and multi-value headers.
    Request,
    /// HTTP API payload 2.0: headers plus a separate `cookies` array; simple responses.
    HttpV2,
}

/// Credential values found among headers.
#[derive(Debug, Default)]
struct Found<'a> {
    authorization: Vec<Cow<'a, str>>,
    cookies: Vec<Cow<'a, str>>,
    api_keys: Vec<Cow<'a, str>>,
    dpop: Vec<Cow<'a, str>>,
}

impl<'a> Found<'a> {
    fn append(&mut self, other: Found<'a>) {
        self.authorization.extend(other.authorization);
        self.cookies.extend(other.cookies);
        self.api_keys.extend(other.api_keys);
        self.dpop.extend(other.dpop);
    }
}

/// An event we cannot read: answered with an error (API Gateway: 500), never an Allow.
#[derive(Debug, thiserror::Error)]
pub enum EventError {
    /// Neither `version: "2.0"` nor `type: "TOKEN" | "REQUEST"`.
    #[error("not an API Gateway authorizer event")]
    Unrecognised,
    /// The right marker but the wrong shape.
    #[error("malformed {kind} authorizer event: {message}")]
    Malformed {
        /// Which event.
        kind: &'static str,
        /// The parser's complaint.
        message: String,
    },
    /// A REST event without a usable `methodArn`.
    #[error("the event has no usable methodArn")]
    MethodArn,
}

impl<'a> AuthorizerEvent<'a> {
    /// Reads an event from its JSON text, keeping the values of the `Authorization` and
    /// `Cookie` headers and of `api_key_headers` (lower-case names; compared without case).
    pub fn parse(json: &'a str, api_key_headers: &[String]) -> Result<Self, EventError> {
        Self::parse_with(json, api_key_headers, false)
    }

    /// [`Self::parse`], also keeping (when `dpop`) the `DPoP` header values and the request's
    /// method, domain name and path (`requestContext`).
    pub fn parse_with(
        json: &'a str,
        api_key_headers: &[String],
        dpop: bool,
    ) -> Result<Self, EventError> {
        let mut deserializer = serde_json::Deserializer::from_str(json);
        let fields = EventSeed {
            api_key_headers,
            dpop,
        }
        .deserialize(&mut deserializer)
        .and_then(|fields| deserializer.end().map(|()| fields))
        .map_err(|e| EventError::Malformed {
            kind: "authorizer",
            message: e.to_string(),
        })?;
        Self::from_fields(fields)
    }

    fn from_fields(fields: EventFields<'a>) -> Result<Self, EventError> {
        let EventFields {
            version,
            kind,
            authorization_token,
            method_arn,
            route_arn,
            route_key,
            mut headers,
            multi_value_headers,
            cookies,
            request_context,
        } = fields;
        match (version.as_deref(), kind.as_deref()) {
            (Some("2.0"), _) => {
                headers.cookies.extend(cookies);
                Ok(Self {
                    shape: Shape::HttpV2,
                    arn: route_arn,
                    route_key,
                    token: None,
                    found: headers,
                    request: request_context.and_then(RequestContext::http_v2),
                })
            }
            (_, Some("TOKEN")) => Ok(Self {
                shape: Shape::Token,
                arn: method_arn,
                route_key: None,
                token: authorization_token,
                found: Found::default(),
                request: None,
            }),
            (_, Some("REQUEST")) => {
                headers.append(multi_value_headers);
                Ok(Self {
                    shape: Shape::Request,
                    arn: method_arn,
                    route_key: None,
                    token: None,
                    found: headers,
                    request: request_context.and_then(RequestContext::rest),
                })
            }
            _ => Err(EventError::Unrecognised),
        }
    }

    /// The same event, owning its strings.
    pub fn into_owned(self) -> AuthorizerEvent<'static> {
        let own = |v: Vec<Cow<'a, str>>| -> Vec<Cow<'static, str>> {
            v.into_iter().map(|c| Cow::Owned(c.into_owned())).collect()
        };
        let own_one = |c: Cow<'a, str>| -> Cow<'static, str> { Cow::Owned(c.into_owned()) };
        AuthorizerEvent {
            shape: self.shape,
            arn: self.arn.map(|c| Cow::Owned(c.into_owned())),
            route_key: self.route_key.map(|c| Cow::Owned(c.into_owned())),
            token: self.token.map(|c| Cow::Owned(c.into_owned())),
            found: Found {
                authorization: own(self.found.authorization),
                cookies: own(self.found.cookies),
                api_keys: own(self.found.api_keys),
                dpop: own(self.found.dpop),
            },
            request: self.request.map(|r| Request {
                method: own_one(r.method),
                domain_name: own_one(r.domain_name),
                path: own_one(r.path),
            }),
        }
    }

    /// The ARN the event names, as sent: REST `methodArn`, HTTP API `routeArn`.
    pub fn arn(&self) -> Option<&str> {
        self.arn.as_deref()
    }

    /// HTTP API: the route API Gateway matched (`routeKey`).
    pub fn route_key(&self) -> Option<&str> {
        self.route_key.as_deref()
    }

    /// Which event this is.
    pub fn shape(&self) -> Shape {
        self.shape
    }

    /// A short name for logs.
    pub fn kind(&self) -> &'static str {
        match self.shape {
            Shape::Token => "rest_token",
            Shape::Request => "rest_request",
            Shape::HttpV2 => "http_v2",
        }
    }

    /// The `Authorization`, `Cookie` and API key values the request carries.
    ///
    /// For TOKEN events the single identity source is the API key when `token_is_api_key` (the
    /// authorizer accepts API keys only), else read as an `Authorization` header when it starts
    /// with `Bearer`, as a `Cookie` header when it holds a `name=value` pair (whatever the session
    /// cookie is called), and as an `Authorization` header otherwise (then refused).
    pub fn credentials(&self, token_is_api_key: bool) -> RawCredentials<'_> {
        let mut raw = RawCredentials::default();
        if self.shape == Shape::Token {
            let value = self.token.as_deref().unwrap_or_default();
            if token_is_api_key {
                if !value.is_empty() {
                    raw.api_keys.push(value);
                }
            } else if !starts_with_bearer(value) && value.contains('=') {
                raw.cookies.push(value);
            } else if !value.is_empty() {
                raw.authorization.push(value);
            }
            return raw;
        }
        let found = &self.found;
        raw.authorization
            .extend(found.authorization.iter().map(Cow::as_ref));
        raw.cookies.extend(found.cookies.iter().map(Cow::as_ref));
        raw.api_keys.extend(found.api_keys.iter().map(Cow::as_ref));
        raw.dpop_proofs.extend(found.dpop.iter().map(Cow::as_ref));
        // The URL the client called, as the gateway reports it: `https://<domainName><path>`
        // (REST `requestContext.path`, HTTP API `requestContext.http.path`; the stage is in
        // both on the execute-api endpoint).
        raw.request = self.request.as_ref().map(|r| RequestLine {
            method: r.method.as_ref(),
            url: Cow::Owned(format!("https://{}{}", r.domain_name, r.path)),
        });
        raw
    }

    /// For REST events, the policy resource: the whole API and stage
    /// (`arn:aws:execute-api:region:account:api/stage/*/*`), so that API Gateway's cached result
    /// serves every route.
    pub fn policy_resource(&self) -> Result<String, EventError> {
        self.arn
            .as_deref()
            .and_then(api_wildcard)
            .ok_or(EventError::MethodArn)
    }
}

/// Whether a value starts with the `Bearer` scheme (any case) and a space.
fn starts_with_bearer(value: &str) -> bool {
    let bytes = value.trim_start().as_bytes();
    bytes.len() > 6
        && bytes[..6].eq_ignore_ascii_case(b"bearer")
        && matches!(bytes[6], b' ' | b'\t')
}

/// A JSON string, borrowed from the text unless escapes forced a copy.
#[derive(Deserialize)]
struct Text<'a>(#[serde(borrow)] Cow<'a, str>);

/// The top-level fields the decision reads, whatever the shape.
#[derive(Default)]
struct EventFields<'a> {
    version: Option<Cow<'a, str>>,
    kind: Option<Cow<'a, str>>,
    authorization_token: Option<Cow<'a, str>>,
    method_arn: Option<Cow<'a, str>>,
    route_arn: Option<Cow<'a, str>>,
    route_key: Option<Cow<'a, str>>,
    headers: Found<'a>,
    multi_value_headers: Found<'a>,
    cookies: Vec<Cow<'a, str>>,
    request_context: Option<RequestContext<'a>>,
}

/// The `requestContext` fields a DPoP proof is checked against (read only when DPoP is on).
#[derive(Deserialize)]
struct RequestContext<'a> {
    #[serde(borrow, rename = "domainName", default)]
    domain_name: Option<Cow<'a, str>>,
    /// REST (and HTTP API payload 1.0): the path with the stage.
    #[serde(borrow, default)]
    path: Option<Cow<'a, str>>,
    /// REST: the method.
    #[serde(borrow, rename = "httpMethod", default)]
    http_method: Option<Cow<'a, str>>,
    /// HTTP API payload 2.0: `{method, path}`.
    #[serde(borrow, default)]
    http: Option<HttpContext<'a>>,
}

#[derive(Deserialize)]
struct HttpContext<'a> {
    #[serde(borrow, default)]
    method: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    path: Option<Cow<'a, str>>,
}

impl<'a> RequestContext<'a> {
    fn rest(self) -> Option<Request<'a>> {
        Some(Request {
            method: self.http_method?,
            domain_name: self.domain_name?,
            path: self.path?,
        })
    }

    fn http_v2(self) -> Option<Request<'a>> {
        let http = self.http?;
        Some(Request {
            method: http.method?,
            domain_name: self.domain_name?,
            path: http.path?,
        })
    }
}

/// Reads the event object: the fields above, every other field skipped unbuilt.
struct EventSeed<'h> {
    api_key_headers: &'h [String],
    /// Whether the `DPoP` header and `requestContext` are read.
    dpop: bool,
}

impl<'de> DeserializeSeed<'de> for EventSeed<'_> {
    type Value = EventFields<'de>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for EventSeed<'_> {
    type Value = EventFields<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an API Gateway authorizer event (a JSON object)")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut fields = EventFields::default();
        let text = |value: Option<Text<'de>>| value.map(|t| t.0);
        while let Some(Text(key)) = map.next_key::<Text<'de>>()? {
            match key.as_ref() {
                "version" => fields.version = text(map.next_value()?),
                "type" => fields.kind = text(map.next_value()?),
                "authorizationToken" => fields.authorization_token = text(map.next_value()?),
                "methodArn" => fields.method_arn = text(map.next_value()?),
                "routeArn" => fields.route_arn = text(map.next_value()?),
                "routeKey" => fields.route_key = text(map.next_value()?),
                "headers" => map.next_value_seed(HeadersSeed {
                    api_key_headers: self.api_key_headers,
                    dpop: self.dpop,
                    multi: false,
                    into: &mut fields.headers,
                })?,
                "multiValueHeaders" => map.next_value_seed(HeadersSeed {
                    api_key_headers: self.api_key_headers,
                    dpop: self.dpop,
                    multi: true,
                    into: &mut fields.multi_value_headers,
                })?,
                "requestContext" if self.dpop => fields.request_context = map.next_value()?,
                "cookies" => {
                    let cookies: Option<Vec<Text<'de>>> = map.next_value()?;
                    fields.cookies = cookies.into_iter().flatten().map(|t| t.0).collect();
                }
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(fields)
    }
}

/// Which credential a header carries, by its name (compared without case).
#[derive(Clone, Copy)]
enum HeaderKind {
    Authorization,
    Cookie,
    ApiKey,
    Dpop,
}

fn header_kind(name: &str, api_key_headers: &[String], dpop: bool) -> Option<HeaderKind> {
    if name.eq_ignore_ascii_case("authorization") {
        Some(HeaderKind::Authorization)
    } else if name.eq_ignore_ascii_case("cookie") {
        Some(HeaderKind::Cookie)
    } else if api_key_headers.iter().any(|h| name.eq_ignore_ascii_case(h)) {
        Some(HeaderKind::ApiKey)
    } else if dpop && name.eq_ignore_ascii_case("dpop") {
        Some(HeaderKind::Dpop)
    } else {
        None
    }
}

/// Reads a header map (`null`, `{name: value}`, or `{name: [values]}` when `multi`) into
/// `into`, keeping only the credential headers.
struct HeadersSeed<'h, 'f, 'de> {
    api_key_headers: &'h [String],
    dpop: bool,
    multi: bool,
    into: &'f mut Found<'de>,
}

impl<'de> DeserializeSeed<'de> for HeadersSeed<'_, '_, 'de> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_option(self)
    }
}

impl<'de> Visitor<'de> for HeadersSeed<'_, '_, 'de> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a map of headers or null")
    }

    fn visit_none<E: de::Error>(self) -> Result<(), E> {
        Ok(())
    }

    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        Ok(())
    }

    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_map(self)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        while let Some(Text(name)) = map.next_key::<Text<'de>>()? {
            let Some(kind) = header_kind(&name, self.api_key_headers, self.dpop) else {
                map.next_value::<IgnoredAny>()?;
                continue;
            };
            let into = match kind {
                HeaderKind::Authorization => &mut self.into.authorization,
                HeaderKind::Cookie => &mut self.into.cookies,
                HeaderKind::ApiKey => &mut self.into.api_keys,
                HeaderKind::Dpop => &mut self.into.dpop,
            };
            if self.multi {
                let values: Option<Vec<Option<Text<'de>>>> = map.next_value()?;
                into.extend(values.into_iter().flatten().flatten().map(|t| t.0));
            } else if let Some(Text(value)) = map.next_value::<Option<Text<'de>>>()? {
                into.push(value);
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recognises_each_event_shape() {
        let parse = |json: &str| AuthorizerEvent::parse(json, &[]).map(|e| e.kind());
        assert_eq!(
            parse(r#"{"type": "TOKEN", "authorizationToken": "Bearer x", "methodArn": "arn:aws:execute-api:r:1:a/s/GET/"}"#).expect("token"),
            "rest_token"
        );
        assert!(matches!(
            parse(r#"{"hello": "world"}"#),
            Err(EventError::Unrecognised)
        ));
        for malformed in [
            r#"{"type": "REQUEST", "headers": 5}"#,
            r#"{"type": "REQUEST", "multiValueHeaders": {"cookie": "not a list"}}"#,
            r#"{"version": "2.0", "cookies": [1]}"#,
            r#"[1, 2]"#,
            r#"{"type": "TOKEN"} trailing"#,
        ] {
            assert!(
                matches!(parse(malformed), Err(EventError::Malformed { .. })),
                "{malformed}"
            );
        }
    }

    #[test]
    fn a_token_events_one_source_is_read_for_what_it_is() {
        let json_of = |value: &str| {
            serde_json::json!({
                "type": "TOKEN", "authorizationToken": value,
                "methodArn": "arn:aws:execute-api:r:1:a/s/GET/",
            })
            .to_string()
        };
        for (value, authorization, cookies) in [
            ("Bearer abc", 1, 0),
            ("bearer\tabc", 1, 0),
            ("better-auth.session_token=abc.sig", 0, 1),
            ("app_sid=abc.sig", 0, 1),
            ("abc", 1, 0),
            ("Bearé=x", 0, 1),
        ] {
            let json = json_of(value);
            let e = AuthorizerEvent::parse(&json, &[]).expect("token event");
            let raw = e.credentials(false);
            assert_eq!(
                (
                    raw.authorization.len(),
                    raw.cookies.len(),
                    raw.api_keys.len()
                ),
                (authorization, cookies, 0),
                "{value}"
            );
        }
        let json = json_of("the-key");
        let e = AuthorizerEvent::parse(&json, &[]).expect("token event");
        assert_eq!(e.credentials(true).api_keys, vec!["the-key"]);
    }

    #[test]
    fn with_dpop_the_proof_and_the_request_line_are_read_in_each_shape() {
        let rest = r#"{
            "type": "REQUEST", "methodArn": "arn:aws:execute-api:r:1:a/prod/GET/orders",
            "httpMethod": "GET", "path": "/orders",
            "headers": {"DPoP": "p1", "Authorization": "DPoP t"},
            "multiValueHeaders": {"dpop": ["p1"]},
            "requestContext": {"domainName": "api.example.com", "path": "/prod/orders",
                               "httpMethod": "GET", "stage": "prod", "identity": {"x": 1}}
        }"#;
        let e = AuthorizerEvent::parse_with(rest, &[], true).expect("rest event");
        let raw = e.credentials(false);
        assert_eq!(raw.dpop_proofs, vec!["p1", "p1"]);
        let line = raw.request.as_ref().expect("a request line");
        assert_eq!(
            (line.method, line.url.as_ref()),
            ("GET", "https://api.example.com/prod/orders")
        );
        let http = r#"{
            "version": "2.0", "routeArn": "arn:aws:execute-api:r:1:a/$default/POST/my/path",
            "headers": {"dpop": "p\u0032"},
            "requestContext": {"domainName": "id.execute-api.us-east-1.amazonaws.com",
                               "http": {"method": "POST", "path": "/my/path"}}
        }"#;
        let e = AuthorizerEvent::parse_with(http, &[], true).expect("http event");
        let raw = e.credentials(false);
        assert_eq!(raw.dpop_proofs, vec!["p2"], "escapes decoded");
        let line = raw.request.as_ref().expect("a request line");
        assert_eq!(
            (line.method, line.url.as_ref()),
            (
                "POST",
                "https://id.execute-api.us-east-1.amazonaws.com/my/path"
            )
        );
        // The owned copy the runtime keeps reads the same.
        let owned = AuthorizerEvent::parse_with(http, &[], true)
            .expect("http event")
            .into_owned();
        assert_eq!(owned.credentials(false).dpop_proofs, vec!["p2"]);
        // A context missing a field, and DPoP off: no request line, no proof.
        let partial = rest.replace(r#""domainName": "api.example.com", "#, "");
        let e = AuthorizerEvent::parse_with(&partial, &[], true).expect("rest event");
        assert!(e.credentials(false).request.is_none());
        let off = AuthorizerEvent::parse(rest, &[]).expect("rest event");
        let raw = off.credentials(false);
        assert!(raw.dpop_proofs.is_empty() && raw.request.is_none());
        // The runtime's path, once configured at start-up (no other test configures it).
        configure_dpop(true);
        let payload: AuthorizerPayload = serde_json::from_str(http).expect("a payload");
        let event = payload.0.expect("an authorizer event");
        let raw = event.credentials(false);
        assert_eq!(raw.dpop_proofs, vec!["p2"]);
        assert!(raw.request.is_some());
        // A TOKEN event never has one.
        let token = r#"{"type": "TOKEN", "authorizationToken": "DPoP t",
            "methodArn": "arn:aws:execute-api:r:1:a/s/GET/"}"#;
        let e = AuthorizerEvent::parse_with(token, &[], true).expect("token event");
        assert!(e.credentials(false).request.is_none());
    }

    #[test]
    fn api_key_headers_are_collected_in_any_case() {
        let json = r#"{
            "version": "2.0", "routeArn": "arn:aws:execute-api:r:1:a/s/GET/x",
            "headers": {"X-Api-Key": "k1", "x-other": "no", "authorization": "Bearer t"}
        }"#;
        let e = AuthorizerEvent::parse(json, &["x-api-key".to_owned()]).expect("http event");
        let raw = e.credentials(false);
        assert_eq!(raw.api_keys, vec!["k1"]);
        assert_eq!(raw.authorization, vec!["Bearer t"]);
        let without = AuthorizerEvent::parse(json, &[]).expect("http event");
        assert!(
            without.credentials(false).api_keys.is_empty(),
            "only when the method is on"
        );
    }

    #[test]
    fn headers_are_read_from_both_maps_escaped_or_not_and_the_rest_is_skipped() {
        let json = r#"{
            "type": "REQUEST", "methodArn": "arn:aws:execute-api:r:1:a/s/GET/x",
            "headers": {"Cookie": "a=\"q\"", "Host": "h", "AUTHORIZATION": null},
            "multiValueHeaders": {"cookie": ["b=2", null], "Accept": ["*/*"], "Authorization": null},
            "requestContext": {"deep": [{"nested": {"headers": {"cookie": "no"}}}]},
            "cookies": ["not=read"]
        }"#;
        let e = AuthorizerEvent::parse(json, &[]).expect("request event");
        let raw = e.credentials(false);
        assert_eq!(raw.cookies, vec!["a=\"q\"", "b=2"]);
        assert!(raw.authorization.is_empty() && raw.api_keys.is_empty());
        assert_eq!(
            e.policy_resource().expect("arn"),
            "arn:aws:execute-api:r:1:a/s/*/*"
        );
        let http = r#"{"version": "2.0", "cookies": ["x=1", "y=2"], "headers": null,
            "multiValueHeaders": {"cookie": ["ignored=1"]}}"#;
        let e = AuthorizerEvent::parse(http, &[]).expect("http event");
        assert_eq!(e.credentials(false).cookies, vec!["x=1", "y=2"]);
        assert!(matches!(e.policy_resource(), Err(EventError::MethodArn)));
    }
}
