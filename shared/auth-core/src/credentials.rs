//! Finding the Better Auth session token in a request: pure functions, no I/O.
//!
//! The edges (the authorizer's event shapes, `lambda_http` requests) collect the raw
//! `Authorization` and `Cookie` header values into [`RawCredentials`]; [`extract`] turns them
//! into a verified [`Credential`] or a [`CredentialError`], before any database query.
//!
//! Precedence: when an `Authorization` header is present it decides alone and the cookies are not
//! read (Better Auth's bearer plugin also prefers the bearer token). Unlike Better Auth, which
//! silently falls back to the cookie when the bearer value is unusable, we refuse: an unusable
//! `Authorization` header is a client error, not a reason to try something else.

use std::borrow::Cow;

use percent_encoding::percent_decode_str;

use crate::signing::{self, Secret, SignatureError};

/// Longest `Authorization` header value we read.
pub const MAX_AUTHORIZATION_LEN: usize = 8 * 1024;
/// Longest value of one session cookie (a signed 255-character token is 300 bytes encoded).
pub const MAX_SESSION_COOKIE_LEN: usize = 512;
/// Longest session token (Better Auth's are 32 characters).
pub const MAX_TOKEN_LEN: usize = 255;
/// Most `Cookie` header values (or HTTP API `cookies` entries) we look through.
pub const MAX_COOKIE_VALUES: usize = 64;
/// Longest `Cookie` header value we look through.
pub const MAX_COOKIE_HEADER_LEN: usize = 16 * 1024;

/// The raw values an edge found in a request.
#[derive(Debug, Default, Clone)]
pub struct RawCredentials<'a> {
    /// Every `Authorization` header value (usually zero or one).
    pub authorization: Vec<&'a str>,
    /// Every `Cookie` header value, and every entry of an HTTP API `cookies` array.
    pub cookies: Vec<&'a str>,
    /// Every value of the API key headers (`x-api-key`; collected only when the `api-key`
    /// method is on: see [`crate::Authenticator::extra_headers`]).
    pub api_keys: Vec<&'a str>,
    /// Every `DPoP` header value (collected only when DPoP is on: see
    /// [`crate::Authenticator::reads_dpop`]).
    pub dpop_proofs: Vec<&'a str>,
    /// The request's method and URL as the gateway saw them, which a DPoP proof must name
    /// (`None` where unknown: a REST TOKEN authorizer's event).
    pub request: Option<RequestLine<'a>>,
}

/// A request's method and URL (`https://<host><path>`, query and fragment left out).
#[derive(Debug, Clone)]
pub struct RequestLine<'a> {
    /// `GET`, `POST`, ...
    pub method: &'a str,
    /// `https://api.example.com/prod/orders`.
    pub url: Cow<'a, str>,
}

/// How the session cookie is named: `<prefix>.session_token` (or Better Auth's
/// `advanced.cookies.session_token.name`), with `__Secure-` when Better Auth uses secure cookies.
#[derive(Debug, Clone)]
pub struct CookieNames {
    plain: String,
    secure: String,
    /// Better Auth's `useSecureCookies` as configured or derived; `None`: unknown, both names
    /// are read (and two different values refused).
    secure_only: Option<bool>,
}

impl CookieNames {
    /// Names for a Better Auth `advanced.cookiePrefix` (`better-auth` by default), either form.
    pub fn new(prefix: &str) -> Self {
        Self::named(&format!("{prefix}.session_token"), None)
    }

    /// Names for a cookie called `name` (without `__Secure-`). With `secure` known, only the
    /// name Better Auth reads is read: `__Secure-<name>` when true, `<name>` when false.
    pub fn named(name: &str, secure: Option<bool>) -> Self {
        Self {
            plain: name.to_owned(),
            secure: format!("{SECURE_PREFIX}{name}"),
            secure_only: secure,
        }
    }

    /// The cookie name without `__Secure-`.
    pub fn plain(&self) -> &str {
        &self.plain
    }

    /// The cookie name with `__Secure-`.
    pub fn secure(&self) -> &str {
        &self.secure
    }

    fn matches(&self, name: &str) -> bool {
        match self.secure_only {
            None => name == self.plain || name == self.secure,
            Some(true) => name == self.secure,
            Some(false) => name == self.plain,
        }
    }
}

/// What Better Auth prepends to its cookie names with secure cookies.
pub const SECURE_PREFIX: &str = "__Secure-";

/// What the extraction needs to know besides the request.
#[derive(Debug, Clone)]
pub struct ExtractOptions {
    /// The secret that signs session cookies.
    pub secret: Secret,
    /// The session cookie's names.
    pub cookie_names: CookieNames,
    /// Mirrors the bearer plugin's `requireSignature`: refuse unsigned bearer tokens.
    pub require_signature: bool,
}

/// Where a token came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CredentialSource {
    /// `Authorization: Bearer <token>`.
    BearerRaw,
    /// `Authorization: Bearer <token>.<signature>`.
    BearerSigned,
    /// The signed session cookie.
    Cookie,
    /// `Authorization: Bearer <jwt>` (the jwt plugin's token).
    BearerJwt,
    /// An API key header (`x-api-key`).
    ApiKey,
    /// `Authorization: Bearer <OAuth access token>` (`@better-auth/oauth-provider`).
    OAuth,
}

impl CredentialSource {
    /// A short name for logs and the authorizer context.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::BearerRaw => "bearer",
            Self::BearerSigned => "bearer_signed",
            Self::Cookie => "cookie",
            Self::BearerJwt => "bearer_jwt",
            Self::ApiKey => "api_key",
            Self::OAuth => "oauth",
        }
    }
}

/// A session token that passed every check that needs no database.
#[derive(Clone, PartialEq, Eq)]
pub struct Credential {
    /// The session token, as stored in the `session.token` column.
    pub token: String,
    /// Where it came from.
    pub source: CredentialSource,
}

impl std::fmt::Debug for Credential {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credential")
            .field("token", &crate::telemetry::fingerprint(&self.token))
            .field("source", &self.source)
            .finish()
    }
}

/// Why no usable token was found. Every variant means "unauthenticated".
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum CredentialError {
    /// Neither an `Authorization` header nor a session cookie.
    #[error("no credentials")]
    Missing,
    /// The `Authorization` header is not `Bearer <value>`.
    #[error("the Authorization scheme is not Bearer")]
    WrongScheme,
    /// `Bearer` with nothing after it.
    #[error("the bearer value is empty")]
    Empty,
    /// A value longer than we read.
    #[error("the credential is too long")]
    TooLong,
    /// A token with characters Better Auth never puts in a token, or bad percent-encoding.
    #[error("the token is malformed")]
    Malformed,
    /// Several different `Authorization` headers or session cookies.
    #[error("the request carries conflicting credentials")]
    Conflicting,
    /// An unsigned bearer token while signatures are required.
    #[error("the bearer token is not signed")]
    Unsigned,
    /// A signed value whose signature is missing, malformed or wrong.
    #[error("the signature is invalid: {0}")]
    Signature(#[from] SignatureError),
}

impl CredentialError {
    /// A stable short code for logs.
    pub fn code(self) -> &'static str {
        match self {
            Self::Missing => "missing_credentials",
            Self::WrongScheme => "wrong_scheme",
            Self::Empty => "empty_credentials",
            Self::TooLong => "credentials_too_long",
            Self::Malformed => "malformed_token",
            Self::Conflicting => "conflicting_credentials",
            Self::Unsigned => "unsigned_bearer",
            Self::Signature(SignatureError::Mismatch) => "bad_signature",
            Self::Signature(_) => "malformed_signature",
        }
    }
}

/// Finds and verifies the session token in a request. No I/O.
pub fn extract(
    raw: &RawCredentials<'_>,
    options: &ExtractOptions,
) -> Result<Credential, CredentialError> {
    if let Some(header) = single_authorization(&raw.authorization)? {
        return from_authorization(header, options);
    }
    from_cookies(&raw.cookies, options)
}

/// [`extract`] from the cookies alone: the bearer value belongs to another method.
pub fn extract_from_cookies(
    raw: &RawCredentials<'_>,
    options: &ExtractOptions,
) -> Result<Credential, CredentialError> {
    from_cookies(&raw.cookies, options)
}

/// The request's single bearer value, when its `Authorization` header is a well-formed bearer
/// header; `None` otherwise (no header, another scheme, conflicting headers). Verifies nothing.
pub fn bearer<'a>(raw: &RawCredentials<'a>) -> Option<&'a str> {
    let header = single_authorization(&raw.authorization).ok()??;
    bearer_value(header).ok()
}

/// The value after `DPoP ` (scheme case-insensitive) when the request's single `Authorization`
/// header uses the DPoP scheme (RFC 9449 §7.1); `None` otherwise. Verifies nothing.
pub fn dpop_bound<'a>(raw: &RawCredentials<'a>) -> Option<&'a str> {
    let header = single_authorization(&raw.authorization).ok()??;
    if header.len() > MAX_AUTHORIZATION_LEN {
        return None;
    }
    let (scheme, value) = header.split_once([' ', '\t'])?;
    let value = value.trim();
    (scheme.eq_ignore_ascii_case("dpop") && !value.is_empty()).then_some(value)
}

/// The bearer value when the request's `Authorization` header carries a JWS-shaped token (three
/// base64url segments with a JSON header), else `None`. Verifies nothing.
pub fn bearer_jws<'a>(raw: &RawCredentials<'a>) -> Result<Option<&'a str>, CredentialError> {
    let Some(header) = single_authorization(&raw.authorization)? else {
        return Ok(None);
    };
    let value = bearer_value(header)?;
    Ok(crate::jose::looks_like_jws(value).then_some(value))
}

fn single_authorization<'a>(values: &[&'a str]) -> Result<Option<&'a str>, CredentialError> {
    let mut found: Option<&str> = None;
    for value in values {
        let value = value.trim();
        match found {
            Some(previous) if previous != value => return Err(CredentialError::Conflicting),
            _ => found = Some(value),
        }
    }
    Ok(found)
}

/// The value after `Bearer ` (scheme case-insensitive), trimmed, or why there is none.
pub fn bearer_value(header: &str) -> Result<&str, CredentialError> {
    if header.len() > MAX_AUTHORIZATION_LEN {
        return Err(CredentialError::TooLong);
    }
    let header = header.trim();
    let scheme_ok = header
        .get(..6)
        .is_some_and(|scheme| scheme.eq_ignore_ascii_case("bearer"));
    if !scheme_ok {
        return Err(CredentialError::WrongScheme);
    }
    let rest = &header[6..];
    if rest.is_empty() {
        return Err(CredentialError::Empty);
    }
    if !rest.starts_with([' ', '\t']) {
        return Err(CredentialError::WrongScheme);
    }
    let value = rest.trim();
    if value.is_empty() {
        return Err(CredentialError::Empty);
    }
    Ok(value)
}

fn from_authorization(
    header: &str,
    options: &ExtractOptions,
) -> Result<Credential, CredentialError> {
    let value = bearer_value(header)?;
    if value.len() > MAX_SESSION_COOKIE_LEN {
        return Err(CredentialError::TooLong);
    }
    if value.contains('.') {
        let decoded = percent_decode(value)?;
        let token = signing::verify(&options.secret, &decoded)?;
        let token = checked_token(token)?;
        return Ok(Credential {
            token,
            source: CredentialSource::BearerSigned,
        });
    }
    if options.require_signature {
        return Err(CredentialError::Unsigned);
    }
    Ok(Credential {
        token: checked_token(value)?,
        source: CredentialSource::BearerRaw,
    })
}

fn from_cookies(cookies: &[&str], options: &ExtractOptions) -> Result<Credential, CredentialError> {
    if cookies.len() > MAX_COOKIE_VALUES {
        return Err(CredentialError::TooLong);
    }
    let mut found: Option<&str> = None;
    for header in cookies {
        if header.len() > MAX_COOKIE_HEADER_LEN {
            return Err(CredentialError::TooLong);
        }
        for (name, value) in cookie_pairs(header) {
            if !options.cookie_names.matches(name) {
                continue;
            }
            match found {
                Some(previous) if previous != value => return Err(CredentialError::Conflicting),
                _ => found = Some(value),
            }
        }
    }
    let Some(value) = found else {
        return Err(CredentialError::Missing);
    };
    if value.is_empty() {
        return Err(CredentialError::Empty);
    }
    if value.len() > MAX_SESSION_COOKIE_LEN {
        return Err(CredentialError::TooLong);
    }
    let decoded = percent_decode(value)?;
    let token = signing::verify(&options.secret, &decoded)?;
    Ok(Credential {
        token: checked_token(token)?,
        source: CredentialSource::Cookie,
    })
}

/// The cookie cache's names: `<prefix>.session_data` (or `name`), with `__Secure-`, without, or
/// both when `secure` is unknown. Distinct: a name listed twice would see each chunk twice and
/// refuse it as a duplicate (issue 27 F7).
pub fn cache_cookie_names(name: &str, secure: Option<bool>) -> Vec<String> {
    let plain = name.to_owned();
    let secure_name = format!("{SECURE_PREFIX}{plain}");
    match secure {
        None => vec![plain, secure_name],
        Some(true) => vec![secure_name],
        Some(false) => vec![plain],
    }
}

/// The cookie cache value, reassembled from its chunks (`<name>.0`, `<name>.1`, ...) when Better
/// Auth split it, percent-decoded. `None` when absent, or when it is malformed, conflicting or
/// too large (the caller then falls back to the session lookup).
pub fn cookie_cache_value(cookies: &[&str], names: &[String]) -> Option<String> {
    const MAX_CHUNKS: usize = 100;
    if cookies.len() > MAX_COOKIE_VALUES {
        return None;
    }
    let mut whole: Option<&str> = None;
    let mut chunks: Vec<(usize, &str)> = Vec::new();
    for header in cookies {
        if header.len() > MAX_COOKIE_HEADER_LEN {
            return None;
        }
        for (name, value) in cookie_pairs(header) {
            for base in names {
                if name == base {
                    if whole.is_some_and(|previous| previous != value) {
                        return None;
                    }
                    whole = Some(value);
                } else if let Some(index) = name
                    .strip_prefix(base.as_str())
                    .and_then(|rest| rest.strip_prefix('.'))
                {
                    // Better Auth's parseCookieChunkIndex: a canonical non-negative integer.
                    let parsed: usize = index.parse().ok()?;
                    if parsed.to_string() != index || chunks.len() >= MAX_CHUNKS {
                        return None;
                    }
                    if chunks.iter().any(|(i, _)| *i == parsed) {
                        return None;
                    }
                    chunks.push((parsed, value));
                }
            }
        }
    }
    let joined = match whole {
        Some(value) => value.to_owned(),
        None if chunks.is_empty() => return None,
        None => {
            chunks.sort_by_key(|(i, _)| *i);
            chunks.iter().map(|(_, v)| *v).collect()
        }
    };
    let decoded = percent_decode(&joined).ok()?;
    (!decoded.is_empty() && decoded.len() <= crate::session_data::MAX_CACHE_LEN)
        .then(|| decoded.into_owned())
}

/// Splits one `Cookie` header value into `(name, value)` pairs the way Better Auth's parser does:
/// `;`-separated, names and values trimmed, one pair of surrounding double quotes removed.
/// Values are returned still percent-encoded.
pub fn cookie_pairs(header: &str) -> impl Iterator<Item = (&str, &str)> {
    header.split(';').filter_map(|pair| {
        let (name, value) = pair.split_once('=')?;
        let value = value.trim();
        let value = value
            .strip_prefix('"')
            .and_then(|v| v.strip_suffix('"'))
            .unwrap_or(value);
        Some((name.trim(), value))
    })
}

/// Decodes `%XX` sequences exactly once. Invalid UTF-8 after decoding is malformed.
fn percent_decode(value: &str) -> Result<Cow<'_, str>, CredentialError> {
    percent_decode_str(value)
        .decode_utf8()
        .map_err(|_| CredentialError::Malformed)
}

/// Better Auth tokens are `[A-Za-z0-9]` (32 by default); custom generators may add `-` and `_`.
fn checked_token(token: &str) -> Result<String, CredentialError> {
    if token.is_empty() {
        return Err(CredentialError::Empty);
    }
    if token.len() > MAX_TOKEN_LEN {
        return Err(CredentialError::TooLong);
    }
    if !token
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    {
        return Err(CredentialError::Malformed);
    }
    Ok(token.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::signing::{sign, sign_cookie_value};

    const SECRET: &str = "test-secret-0123456789abcdefghijklmnopqrstuvwxyz";
    const TOKEN: &str = "16wdRQ2r5xE3DyCPTsx4SQXF5yuasMk1";
    const COOKIE: &str =
        "16wdRQ2r5xE3DyCPTsx4SQXF5yuasMk1.VS5WcWfwGEwqP3xhIbTqcHlTRflHAkoAJqKxkJh3Eew%3D";

    fn options() -> ExtractOptions {
        ExtractOptions {
            secret: Secret::new(SECRET),
            cookie_names: CookieNames::new("better-auth"),
            require_signature: false,
        }
    }

    fn bearer(value: &str) -> Result<Credential, CredentialError> {
        let header = format!("Bearer {value}");
        extract(
            &RawCredentials {
                authorization: vec![&header],
                cookies: vec![],
                api_keys: vec![],
                ..Default::default()
            },
            &options(),
        )
    }

    fn cookie(header: &str) -> Result<Credential, CredentialError> {
        extract(
            &RawCredentials {
                authorization: vec![],
                cookies: vec![header],
                api_keys: vec![],
                ..Default::default()
            },
            &options(),
        )
    }

    fn token_of(result: Result<Credential, CredentialError>) -> String {
        result.expect("a credential").token
    }

    #[test]
    fn cookie_cache_chunks_are_reassembled_in_order() {
        let names = cache_cookie_names("better-auth.session_data", None);
        assert_eq!(
            cookie_cache_value(&["better-auth.session_data=abc"], &names).as_deref(),
            Some("abc")
        );
        assert_eq!(
            cookie_cache_value(
                &[
                    "better-auth.session_data.1=def; x=1",
                    "__Secure-better-auth.session_data.0=abc"
                ],
                &names
            )
            .as_deref(),
            Some("abcdef")
        );
        assert_eq!(
            cookie_cache_value(&["better-auth.session_token=abc"], &names),
            None
        );
        for bad in [
            "better-auth.session_data.01=a",
            "better-auth.session_data.x=a",
            "better-auth.session_data.0=a; better-auth.session_data.0=b",
            "better-auth.session_data=a; better-auth.session_data=b",
        ] {
            assert_eq!(cookie_cache_value(&[bad], &names), None, "{bad}");
        }
    }

    #[test]
    fn a_chunked_cookie_cache_is_reassembled_when_secure_mode_is_known() {
        // Issue 27 F7: with secure mode known both names were the same, so every chunk was
        // seen twice and refused as a duplicate.
        for (secure, name) in [
            (true, "__Secure-better-auth.session_data"),
            (false, "better-auth.session_data"),
        ] {
            let names = cache_cookie_names("better-auth.session_data", Some(secure));
            let header = format!("{name}.1=def; {name}.0=abc");
            assert_eq!(
                cookie_cache_value(&[header.as_str()], &names).as_deref(),
                Some("abcdef"),
                "{name}"
            );
            let whole = format!("{name}=abc");
            assert_eq!(
                cookie_cache_value(&[whole.as_str()], &names).as_deref(),
                Some("abc")
            );
        }
        // The other form is not read once the mode is known.
        let names = cache_cookie_names("better-auth.session_data", Some(true));
        assert_eq!(
            cookie_cache_value(&["better-auth.session_data.0=abc"], &names),
            None
        );
    }

    #[test]
    fn bearer_raw_signed_and_percent_encoded() {
        assert_eq!(
            bearer(TOKEN).expect("raw").source,
            CredentialSource::BearerRaw
        );
        assert_eq!(token_of(bearer(TOKEN)), TOKEN);
        let signed = sign(&Secret::new(SECRET), TOKEN);
        assert_eq!(
            bearer(&signed).expect("signed").source,
            CredentialSource::BearerSigned
        );
        assert_eq!(token_of(bearer(&signed)), TOKEN);
        assert_eq!(token_of(bearer(COOKIE)), TOKEN);
    }

    #[test]
    fn bearer_scheme_is_case_insensitive_and_must_be_bearer() {
        for header in [format!("bearer {TOKEN}"), format!("BEARER  {TOKEN} ")] {
            let raw = RawCredentials {
                authorization: vec![&header],
                cookies: vec![],
                api_keys: vec![],
                ..Default::default()
            };
            assert_eq!(token_of(extract(&raw, &options())), TOKEN);
        }
        for (header, error) in [
            (format!("Basic {TOKEN}"), CredentialError::WrongScheme),
            (format!("Bearer{TOKEN}"), CredentialError::WrongScheme),
            (TOKEN.to_owned(), CredentialError::WrongScheme),
            ("Bearer".to_owned(), CredentialError::Empty),
            ("Bearer    ".to_owned(), CredentialError::Empty),
            ("".to_owned(), CredentialError::WrongScheme),
        ] {
            let raw = RawCredentials {
                authorization: vec![&header],
                cookies: vec![],
                api_keys: vec![],
                ..Default::default()
            };
            assert_eq!(extract(&raw, &options()), Err(error), "{header:?}");
        }
    }

    #[test]
    fn require_signature_refuses_unsigned_bearer_tokens() {
        let mut opts = options();
        opts.require_signature = true;
        let unsigned = format!("Bearer {TOKEN}");
        let signed = format!("Bearer {COOKIE}");
        let raw = |h: &'static str| RawCredentials {
            authorization: vec![h],
            cookies: vec![],
            api_keys: vec![],
            ..Default::default()
        };
        let unsigned: &'static str = Box::leak(unsigned.into_boxed_str());
        let signed: &'static str = Box::leak(signed.into_boxed_str());
        assert_eq!(
            extract(&raw(unsigned), &opts),
            Err(CredentialError::Unsigned)
        );
        assert_eq!(token_of(extract(&raw(signed), &opts)), TOKEN);
    }

    #[test]
    fn bearer_refuses_bad_signatures_and_bad_characters() {
        let wrong = sign(
            &Secret::new("another-secret-0123456789abcdefghijklmn"),
            TOKEN,
        );
        assert_eq!(
            bearer(&wrong),
            Err(CredentialError::Signature(SignatureError::Mismatch))
        );
        assert_eq!(
            bearer(&format!("{TOKEN}.short")),
            Err(CredentialError::Signature(SignatureError::Malformed))
        );
        assert_eq!(
            bearer("abc'; drop table session;--"),
            Err(CredentialError::Malformed)
        );
        assert_eq!(bearer("abc%27--"), Err(CredentialError::Malformed));
        assert_eq!(bearer("héllo"), Err(CredentialError::Malformed));
        assert_eq!(bearer(&"a".repeat(600)), Err(CredentialError::TooLong));
        assert_eq!(bearer(&"a".repeat(256)), Err(CredentialError::TooLong));
        assert_eq!(token_of(bearer(&"a".repeat(255))), "a".repeat(255));
    }

    #[test]
    fn signed_bearer_with_bad_percent_encoding_is_malformed() {
        assert_eq!(
            bearer(&format!("{TOKEN}.%FF%FE")),
            Err(CredentialError::Malformed)
        );
    }

    #[test]
    fn cookie_plain_secure_and_custom_prefix() {
        assert_eq!(
            cookie(&format!("better-auth.session_token={COOKIE}"))
                .expect("cookie")
                .source,
            CredentialSource::Cookie
        );
        assert_eq!(
            token_of(cookie(&format!(
                "a=b; __Secure-better-auth.session_token={COOKIE}; c=d"
            ))),
            TOKEN
        );
        assert_eq!(
            token_of(cookie(&format!("better-auth.session_token=\"{COOKIE}\""))),
            TOKEN
        );
        let mut opts = options();
        opts.cookie_names = CookieNames::new("myapp");
        let header = format!("myapp.session_token={COOKIE}");
        let raw = RawCredentials {
            authorization: vec![],
            cookies: vec![&header],
            api_keys: vec![],
            ..Default::default()
        };
        assert_eq!(token_of(extract(&raw, &opts)), TOKEN);
        // The default name is not read when a custom prefix is configured.
        let header = format!("better-auth.session_token={COOKIE}");
        let raw = RawCredentials {
            authorization: vec![],
            cookies: vec![&header],
            api_keys: vec![],
            ..Default::default()
        };
        assert_eq!(extract(&raw, &opts), Err(CredentialError::Missing));
    }

    #[test]
    fn cookie_without_or_with_wrong_signature_is_refused() {
        assert_eq!(
            cookie(&format!("better-auth.session_token={TOKEN}")),
            Err(CredentialError::Signature(SignatureError::Missing))
        );
        let other = sign_cookie_value(
            &Secret::new("another-secret-0123456789abcdefghijklmn"),
            TOKEN,
        );
        assert_eq!(
            cookie(&format!("better-auth.session_token={other}")),
            Err(CredentialError::Signature(SignatureError::Mismatch))
        );
        assert_eq!(
            cookie("better-auth.session_token="),
            Err(CredentialError::Empty)
        );
    }

    #[test]
    fn cookie_is_percent_decoded_exactly_once() {
        // Encoded twice: after one decoding the signature still reads `%3D`, which is malformed.
        let twice = COOKIE.replace('%', "%25");
        assert_eq!(
            cookie(&format!("better-auth.session_token={twice}")),
            Err(CredentialError::Signature(SignatureError::Malformed))
        );
    }

    #[test]
    fn several_different_session_cookies_are_refused() {
        let other = sign_cookie_value(&Secret::new(SECRET), "Xdifferenttoken0000000000000000X");
        assert_eq!(
            cookie(&format!(
                "better-auth.session_token={COOKIE}; __Secure-better-auth.session_token={other}"
            )),
            Err(CredentialError::Conflicting)
        );
        let header_a = format!("better-auth.session_token={COOKIE}");
        let header_b = format!("better-auth.session_token={other}");
        let raw = RawCredentials {
            authorization: vec![],
            cookies: vec![&header_a, &header_b],
            api_keys: vec![],
            ..Default::default()
        };
        assert_eq!(extract(&raw, &options()), Err(CredentialError::Conflicting));
        // The same cookie twice is not a conflict.
        assert_eq!(token_of(cookie(&format!("{header_a}; {header_a}"))), TOKEN);
    }

    #[test]
    fn bearer_wins_over_cookie_and_decides_alone() {
        let cookie_header = format!("better-auth.session_token={COOKIE}");
        let other = "Xdifferenttoken0000000000000000X";
        let header = format!("Bearer {other}");
        let raw = RawCredentials {
            authorization: vec![&header],
            cookies: vec![&cookie_header],
            api_keys: vec![],
            ..Default::default()
        };
        assert_eq!(token_of(extract(&raw, &options())), other);
        let bad = "Basic dXNlcjpwYXNz".to_owned();
        let raw = RawCredentials {
            authorization: vec![&bad],
            cookies: vec![&cookie_header],
            api_keys: vec![],
            ..Default::default()
        };
        assert_eq!(extract(&raw, &options()), Err(CredentialError::WrongScheme));
    }

    #[test]
    fn conflicting_authorization_headers_are_refused() {
        let a = format!("Bearer {TOKEN}");
        let b = "Bearer Xdifferenttoken0000000000000000X".to_owned();
        let raw = RawCredentials {
            authorization: vec![&a, &b],
            cookies: vec![],
            api_keys: vec![],
            ..Default::default()
        };
        assert_eq!(extract(&raw, &options()), Err(CredentialError::Conflicting));
        let raw = RawCredentials {
            authorization: vec![&a, &a],
            cookies: vec![],
            api_keys: vec![],
            ..Default::default()
        };
        assert_eq!(token_of(extract(&raw, &options())), TOKEN);
    }

    #[test]
    fn nothing_is_missing_and_oversized_cookie_headers_are_refused() {
        assert_eq!(
            extract(&RawCredentials::default(), &options()),
            Err(CredentialError::Missing)
        );
        assert_eq!(cookie("theme=dark; lang=en"), Err(CredentialError::Missing));
        assert_eq!(cookie("no pairs at all"), Err(CredentialError::Missing));
        let huge = format!("x={}", "y".repeat(MAX_COOKIE_HEADER_LEN));
        assert_eq!(cookie(&huge), Err(CredentialError::TooLong));
        let long_value = format!("better-auth.session_token={}", "a".repeat(600));
        assert_eq!(cookie(&long_value), Err(CredentialError::TooLong));
    }

    #[test]
    fn debug_shows_a_fingerprint_not_the_token() {
        let credential = bearer(TOKEN).expect("raw");
        assert!(!format!("{credential:?}").contains(TOKEN));
    }
}
