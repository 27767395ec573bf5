//! The reference reading of an authorizer event, on `serde_json::Value`, and the real pass's
//! reading in the same terms: shared by the differential test (`tests/differential.rs`) and
//! the fuzz target (`fuzz/fuzz_targets/event.rs`, which includes this file by path).
//!
//! The rules the reference applies are the ones the pass (`src/event/parse.rs`) and README
//! document; each is written down on the function that applies it ([`reference`] first).

use std::collections::HashMap;

use authorizer::event::{AuthorizerEvent, AuthorizerPayload, EventError, Shape, configure};
use serde::Deserialize;
use serde::de::{Deserializer, MapAccess, Visitor};
use serde_json::Value;
use serde_json::value::RawValue;

/// The API-key headers configured for the pass (lower-case, as `configure` takes them).
pub const API_KEY_HEADERS: [&str; 2] = ["x-api-key", "x-client-key"];

// ---------------------------------------------------------------------------------------------
// What a reading of an event comes to.
// ---------------------------------------------------------------------------------------------

/// How an event was read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Not a JSON object, or a field the pass reads holds the wrong type: the runtime fails the
    /// invocation (API Gateway: 500).
    Malformed,
    /// No authorizer event marker (`EventError::Unrecognised`: 500).
    Unrecognised,
    /// An authorizer event.
    Read(Reading),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reading {
    pub shape: Shape,
    pub arn: Option<String>,
    /// The credentials when TOKEN values are read as headers (`credentials(false)`).
    pub as_headers: Credentials,
    /// The credentials when a TOKEN value is the API key (`credentials(true)`).
    pub as_api_key: Credentials,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Credentials {
    pub authorization: Vec<String>,
    pub cookies: Vec<String>,
    pub api_keys: Vec<String>,
}

fn api_key_headers() -> Vec<String> {
    API_KEY_HEADERS.iter().map(|h| (*h).to_owned()).collect()
}

fn verdict_of(event: Result<AuthorizerEvent<'_>, EventError>) -> Verdict {
    let event = match event {
        Ok(event) => event,
        Err(EventError::Unrecognised) => return Verdict::Unrecognised,
        Err(EventError::Malformed { .. }) => return Verdict::Malformed,
        Err(e @ EventError::MethodArn) => panic!("parsing never checks the ARN: {e}"),
    };
    let owned = |raw: auth_core::RawCredentials<'_>| Credentials {
        authorization: raw.authorization.iter().map(|s| (*s).to_owned()).collect(),
        cookies: raw.cookies.iter().map(|s| (*s).to_owned()).collect(),
        api_keys: raw.api_keys.iter().map(|s| (*s).to_owned()).collect(),
    };
    Verdict::Read(Reading {
        shape: event.shape(),
        arn: event.arn().map(str::to_owned),
        as_headers: owned(event.credentials(false)),
        as_api_key: owned(event.credentials(true)),
    })
}

/// The real pass, as the Lambda runtime runs it (`lambda_runtime`'s `deserializer.rs`).
pub fn runtime_verdict(json: &[u8]) -> Verdict {
    configure(&api_key_headers());
    let deserializer = &mut serde_json::Deserializer::from_slice(json);
    match serde_path_to_error::deserialize::<_, AuthorizerPayload>(deserializer) {
        Ok(AuthorizerPayload(event)) => verdict_of(event),
        Err(_) => Verdict::Malformed,
    }
}

/// The real pass as `handler::handle_json` runs it.
pub fn parse_verdict(json: &str) -> Verdict {
    verdict_of(AuthorizerEvent::parse(json, &api_key_headers()))
}

// ---------------------------------------------------------------------------------------------
// The reference.
// ---------------------------------------------------------------------------------------------

/// A JSON object's entries in document order, duplicates kept (`serde_json::Map` keeps only
/// the last of each name).
struct Entries<V>(Vec<(String, V)>);

impl<'de, V: Deserialize<'de>> Deserialize<'de> for Entries<V> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct EntriesVisitor<V>(std::marker::PhantomData<V>);
        impl<'de, V: Deserialize<'de>> Visitor<'de> for EntriesVisitor<V> {
            type Value = Entries<V>;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Entries<V>, A::Error> {
                let mut entries = Vec::new();
                while let Some(entry) = map.next_entry::<String, V>()? {
                    entries.push(entry);
                }
                Ok(Entries(entries))
            }
        }
        deserializer.deserialize_map(EntriesVisitor(std::marker::PhantomData))
    }
}

/// A refusal while reading (the event is [`Verdict::Malformed`]).
struct Malformed;

/// A JSON value as a `serde_json::Value` (`Value` builds what it reads, so it is only used on
/// the values the rules look at; everything else stays unread text).
fn value(raw: &RawValue) -> Result<Value, Malformed> {
    serde_json::from_str(raw.get()).map_err(|_| Malformed)
}

/// A field read as a string: a JSON string, or `null` for none; any other type refuses the
/// event.
fn string_or_null(raw: &RawValue) -> Result<Option<String>, Malformed> {
    match value(raw)? {
        Value::Null => Ok(None),
        Value::String(s) => Ok(Some(s)),
        _ => Err(Malformed),
    }
}

#[derive(Clone, Copy)]
enum Kind {
    Authorization,
    Cookie,
    ApiKey,
}

/// Which credential a header carries: `Authorization`, `Cookie`, or one of the configured
/// API-key headers, the name compared without ASCII case (HTTP header names are ASCII tokens:
/// `K` (U+212A, Kelvin) is not `k`, `ı` is not `i`). Every other header is not read.
fn credential_kind(name: &str) -> Option<Kind> {
    let lower = name.to_ascii_lowercase();
    match lower.as_str() {
        "authorization" => Some(Kind::Authorization),
        "cookie" => Some(Kind::Cookie),
        other if API_KEY_HEADERS.contains(&other) => Some(Kind::ApiKey),
        _ => None,
    }
}

/// A header map (`headers` when `!multi`, `multiValueHeaders` when `multi`), its credential
/// values added to `found` in document order:
///
/// - the map is `null` (no headers) or an object; anything else refuses the event;
/// - a name that is no credential header is skipped, whatever its value (any JSON);
/// - `headers`: a credential header's value is a string (kept), or `null` (none); other types
///   refuse the event;
/// - `multiValueHeaders`: a credential header's value is `null`, or a list of strings (each
///   kept) and `null`s (skipped); other types refuse the event;
/// - a name given twice (exactly, or in another case) contributes each of its values: every
///   value is kept, none overrides another (auth-core refuses two *different* values).
fn read_headers(raw: &RawValue, multi: bool, found: &mut Credentials) -> Result<(), Malformed> {
    let map: Option<Entries<&RawValue>> = serde_json::from_str(raw.get()).map_err(|_| Malformed)?;
    for (name, raw) in map.map(|m| m.0).unwrap_or_default() {
        let Some(kind) = credential_kind(&name) else {
            continue;
        };
        let into = match kind {
            Kind::Authorization => &mut found.authorization,
            Kind::Cookie => &mut found.cookies,
            Kind::ApiKey => &mut found.api_keys,
        };
        match (multi, value(raw)?) {
            (_, Value::Null) => {}
            (false, Value::String(s)) => into.push(s),
            (true, Value::Array(items)) => {
                for item in items {
                    match item {
                        Value::Null => {}
                        Value::String(s) => into.push(s),
                        _ => return Err(Malformed),
                    }
                }
            }
            _ => return Err(Malformed),
        }
    }
    Ok(())
}

/// A TOKEN event's one identity source, read as the README says: as the API key when the
/// authorizer accepts API keys only (`token_is_api_key`); otherwise as an `Authorization`
/// header when it starts (after leading white space) with `Bearer` in any ASCII case and a space
/// or tab, as a `Cookie` header when it holds `=` (a `name=value` pair), and as an
/// `Authorization` header otherwise (refused later). An empty value is no credential.
fn token_credentials(token: Option<&str>, token_is_api_key: bool) -> Credentials {
    let mut found = Credentials::default();
    let token = token.unwrap_or("");
    if token.is_empty() {
        return found;
    }
    let trimmed = token.trim_start();
    let bearer = trimmed.len() > "bearer".len()
        && trimmed.as_bytes()[..6].eq_ignore_ascii_case(b"bearer")
        && [b' ', b'\t'].contains(&trimmed.as_bytes()[6]);
    if token_is_api_key {
        found.api_keys.push(token.to_owned());
    } else if !bearer && token.contains('=') {
        found.cookies.push(token.to_owned());
    } else {
        found.authorization.push(token.to_owned());
    }
    found
}

/// The reference reading of an event's JSON text:
///
/// 1. The event is a JSON object; anything else (not JSON, a list, …) refuses it.
/// 2. The fields read are named exactly (case matters; JSON escapes in names are decoded first):
///    `version`, `type`, `authorizationToken`, `methodArn`, `routeArn` (each a string, or
///    `null` for none), `headers`, `multiValueHeaders` (see [`read_headers`]) and `cookies` (a
///    list of strings, or `null` for none). A wrong type in any of them refuses the event,
///    whatever its shape. Every other field is skipped unread, however large or deep (it must
///    still be JSON).
/// 3. A field given twice: for the strings and `cookies`, the last occurrence counts (`null`
///    included), though every occurrence must have the right type; the header maps of every
///    occurrence all contribute.
/// 4. The shape: `version` exactly `"2.0"` → HTTP API 2.0 (whatever `type` says); otherwise
///    `type` exactly `"TOKEN"` → REST TOKEN, exactly `"REQUEST"` → REST REQUEST (or HTTP API
///    payload 1.0); otherwise not an authorizer event.
/// 5. REST TOKEN: the ARN is `methodArn`; the one credential is `authorizationToken`, read as
///    [`token_credentials`] says; headers are not read.
/// 6. REST REQUEST: the ARN is `methodArn`; the credentials are those of `headers`, then those
///    of `multiValueHeaders` (API Gateway sends each header in both: the values are all kept,
///    agreeing or not, and auth-core refuses two different ones); `cookies` is not read.
/// 7. HTTP API 2.0: the ARN is `routeArn`; the credentials are those of `headers` (API Gateway
///    joins repeated headers with commas), then the `cookies` list after any `Cookie` header's
///    value; `multiValueHeaders` is not read.
pub fn reference(json: &str) -> Verdict {
    match read(json) {
        Ok(verdict) => verdict,
        Err(Malformed) => Verdict::Malformed,
    }
}

fn read(json: &str) -> Result<Verdict, Malformed> {
    let fields: Entries<&RawValue> = serde_json::from_str(json).map_err(|_| Malformed)?;
    let mut strings: HashMap<&'static str, Option<String>> = HashMap::new();
    let (mut headers, mut multi) = (Credentials::default(), Credentials::default());
    let mut cookies = Vec::new();
    for (name, raw) in fields.0 {
        match name.as_str() {
            "version" => _ = strings.insert("version", string_or_null(raw)?),
            "type" => _ = strings.insert("type", string_or_null(raw)?),
            "authorizationToken" => _ = strings.insert("token", string_or_null(raw)?),
            "methodArn" => _ = strings.insert("methodArn", string_or_null(raw)?),
            "routeArn" => _ = strings.insert("routeArn", string_or_null(raw)?),
            "headers" => read_headers(raw, false, &mut headers)?,
            "multiValueHeaders" => read_headers(raw, true, &mut multi)?,
            "cookies" => {
                cookies = match value(raw)? {
                    Value::Null => Vec::new(),
                    Value::Array(items) => items
                        .into_iter()
                        .map(|item| match item {
                            Value::String(s) => Ok(s),
                            _ => Err(Malformed),
                        })
                        .collect::<Result<_, _>>()?,
                    _ => return Err(Malformed),
                }
            }
            _ => {}
        }
    }
    let get = |name: &str| strings.get(name).cloned().flatten();
    let reading = |shape, arn, as_headers: Credentials, as_api_key| {
        Ok(Verdict::Read(Reading {
            shape,
            arn,
            as_headers,
            as_api_key,
        }))
    };
    if get("version").as_deref() == Some("2.0") {
        headers.cookies.extend(cookies);
        return reading(Shape::HttpV2, get("routeArn"), headers.clone(), headers);
    }
    match get("type").as_deref() {
        Some("TOKEN") => {
            let token = get("token");
            reading(
                Shape::Token,
                get("methodArn"),
                token_credentials(token.as_deref(), false),
                token_credentials(token.as_deref(), true),
            )
        }
        Some("REQUEST") => {
            headers.authorization.extend(multi.authorization);
            headers.cookies.extend(multi.cookies);
            headers.api_keys.extend(multi.api_keys);
            reading(Shape::Request, get("methodArn"), headers.clone(), headers)
        }
        _ => Ok(Verdict::Unrecognised),
    }
}
