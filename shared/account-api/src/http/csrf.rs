//! The CSRF checks of cookie-authenticated state-changing requests.

use lambda_http::Request;
use lambda_http::http::header;

use super::error::*;
use super::settings::*;

/// Whether `origin` (`scheme://host[:port]`) is one of `trusted`: exact, or a pattern with `*`
/// standing for any run of characters within the host (`https://*.example.com`).
pub(crate) fn origin_matches(origin: &str, trusted: &[String]) -> bool {
    trusted.iter().any(|pattern| match pattern.split_once('*') {
        None => pattern.eq_ignore_ascii_case(origin),
        Some((prefix, suffix)) => {
            origin.len() >= prefix.len() + suffix.len()
                && origin[..prefix.len()].eq_ignore_ascii_case(prefix)
                && origin[origin.len() - suffix.len()..].eq_ignore_ascii_case(suffix)
                && !origin[prefix.len()..origin.len() - suffix.len()].contains(['/', ':'])
        }
    })
}

/// The origin (`scheme://host[:port]`) of a URL such as a `Referer`.
pub(crate) fn origin_of_url(url: &str) -> Option<String> {
    let (scheme, rest) = url.split_once("://")?;
    let host = rest.split(['/', '?', '#']).next()?;
    (!host.is_empty()).then(|| format!("{scheme}://{host}"))
}

/// The CSRF checks of a state-changing request authenticated by the session cookie, as Better
/// Auth's origin check does them: the request comes from a trusted origin (`Origin`, else
/// `Sec-Fetch-Site: same-origin`, else the `Referer`'s origin), and it is not a "simple"
/// request a page could send without a preflight (`application/json`, even with no body).
pub fn check_cross_site(request: &Request, settings: &ApiSettings) -> Result<(), ApiError> {
    let headers = request.headers();
    let text = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let trusted = match text("origin") {
        Some("null") | Some("") => false,
        Some(origin) => origin_matches(origin, &settings.trusted_origins),
        None if text("sec-fetch-site") == Some("same-origin") => true,
        None => text("referer")
            .and_then(origin_of_url)
            .is_some_and(|origin| origin_matches(&origin, &settings.trusted_origins)),
    };
    if !trusted {
        let missing = text("origin").is_none_or(|o| o == "null")
            && text("referer").is_none()
            && text("sec-fetch-site").is_none();
        return Err(if missing {
            ApiError::Forbidden {
                code: "MISSING_OR_NULL_ORIGIN",
                message: "Missing or null Origin",
            }
        } else {
            ApiError::Forbidden {
                code: "INVALID_ORIGIN",
                message: "Invalid origin",
            }
        });
    }
    if !is_json_content_type(request) {
        return Err(ApiError::UnsupportedMediaType);
    }
    Ok(())
}

pub(crate) fn is_json_content_type(request: &Request) -> bool {
    request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(|v| {
            v.split(';')
                .next()
                .unwrap_or_default()
                .trim()
                .to_ascii_lowercase()
        })
        .is_some_and(|v| {
            v == "application/json" || (v.starts_with("application/") && v.ends_with("+json"))
        })
}
