//! Routes as API Gateway writes them (`GET /orders/{id}`, `ANY /reports/{proxy+}`), and which
//! one a request is routed to.
//!
//! Precedence, as API Gateway picks: the path first, segment by segment from the left (an
//! exact segment over a `{param}` over a greedy `{proxy+}`), then a method over `ANY`.

use std::cmp::Ordering;

/// An HTTP method a route names, or `ANY`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RouteMethod {
    /// Every method.
    Any,
    /// One method, upper-case as API Gateway writes it.
    Only(&'static str),
}

const METHODS: [&str; 7] = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"];

impl RouteMethod {
    fn parse(text: &str) -> Option<Self> {
        if text == "ANY" {
            return Some(Self::Any);
        }
        METHODS.iter().find(|m| **m == text).map(|m| Self::Only(m))
    }

    /// `*` for `ANY`, else the method: how an IAM resource names it.
    pub fn as_resource(self) -> &'static str {
        match self {
            Self::Any => "*",
            Self::Only(method) => method,
        }
    }

    fn admits(self, method: &str) -> bool {
        match self {
            Self::Any => true,
            Self::Only(m) => m == method,
        }
    }
}

/// One path segment of a route.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Segment {
    /// Exactly this text.
    Literal(String),
    /// `{name}`: any one segment.
    Param,
    /// `{name+}` (last only): one or more segments.
    Greedy,
}

impl Segment {
    fn rank(&self) -> u8 {
        match self {
            Self::Literal(_) => 2,
            Self::Param => 1,
            Self::Greedy => 0,
        }
    }
}

/// A route: `METHOD /path`, as written in API Gateway (a REST resource and method, an HTTP
/// API route key).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RouteTemplate {
    method: RouteMethod,
    segments: Vec<Segment>,
    key: String,
}

/// Why a route is not one API Gateway would accept.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("route \"{route}\": {reason}")]
pub struct BadRoute {
    /// The route as written.
    pub route: String,
    /// What is wrong.
    pub reason: &'static str,
}

impl RouteTemplate {
    /// Parses `METHOD /path` (method upper-case: `GET`…`OPTIONS` or `ANY`; segments
    /// `[A-Za-z0-9-._~:@!$&'()+,;=%]`, `{name}`, or a last `{name+}`).
    pub fn parse(route: &str) -> Result<Self, BadRoute> {
        let bad = |reason| BadRoute {
            route: route.to_owned(),
            reason,
        };
        let (method, path) = route
            .split_once(' ')
            .ok_or_else(|| bad("expected \"METHOD /path\""))?;
        let method = RouteMethod::parse(method).ok_or_else(|| {
            bad("the method is not GET, POST, PUT, PATCH, DELETE, HEAD, OPTIONS or ANY")
        })?;
        let rest = path
            .strip_prefix('/')
            .ok_or_else(|| bad("the path must start with /"))?;
        let mut segments = Vec::new();
        if !rest.is_empty() {
            let parts: Vec<&str> = rest.split('/').collect();
            for (i, part) in parts.iter().enumerate() {
                let segment =
                    if let Some(name) = part.strip_prefix('{').and_then(|p| p.strip_suffix('}')) {
                        let (name, greedy) = match name.strip_suffix('+') {
                            Some(name) => (name, true),
                            None => (name, false),
                        };
                        if name.is_empty()
                            || !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
                        {
                            return Err(bad("a path parameter is {name} or {name+}"));
                        }
                        if greedy && i + 1 != parts.len() {
                            return Err(bad("a greedy {name+} must be the last segment"));
                        }
                        if greedy {
                            Segment::Greedy
                        } else {
                            Segment::Param
                        }
                    } else {
                        let allowed =
                            |b: u8| b.is_ascii_alphanumeric() || b"-._~:@!$&'()+,;=%".contains(&b);
                        if part.is_empty() {
                            return Err(bad("empty path segment (// or a trailing /)"));
                        }
                        if !part.bytes().all(allowed) {
                            return Err(bad(
                                "a path segment has a character API Gateway does not allow",
                            ));
                        }
                        Segment::Literal((*part).to_owned())
                    };
                segments.push(segment);
            }
        }
        Ok(Self {
            method,
            segments,
            key: route.to_owned(),
        })
    }

    /// The route as written (an HTTP API's `routeKey`).
    pub fn key(&self) -> &str {
        &self.key
    }

    /// The method.
    pub fn method(&self) -> RouteMethod {
        self.method
    }

    /// The segments.
    pub fn segments(&self) -> &[Segment] {
        &self.segments
    }

    /// Whether a request `method` on `path` (segments without the leading `/`) takes this
    /// route when no other does.
    pub fn matches(&self, method: &str, path: &[&str]) -> bool {
        if !self.method.admits(method) {
            return false;
        }
        let mut i = 0;
        for segment in &self.segments {
            match segment {
                Segment::Greedy => {
                    return path.len() > i && path[i..].iter().all(|s| !s.is_empty());
                }
                Segment::Param => {
                    if path.get(i).is_none_or(|s| s.is_empty()) {
                        return false;
                    }
                }
                Segment::Literal(text) => {
                    if path.get(i) != Some(&text.as_str()) {
                        return false;
                    }
                }
            }
            i += 1;
        }
        i == path.len()
    }

    /// API Gateway's order between two routes that both take a request: `Greater` when
    /// `self` wins.
    pub fn precedence(&self, other: &Self) -> Ordering {
        let ranks = |t: &Self| t.segments.iter().map(Segment::rank).collect::<Vec<_>>();
        let by_path = ranks(self).cmp(&ranks(other));
        let exact = |t: &Self| matches!(t.method, RouteMethod::Only(_));
        by_path.then(exact(self).cmp(&exact(other)))
    }

    /// The IAM resource suffix after `stage/`: `GET/orders/*` (each parameter a `*`).
    pub fn resource_suffix(&self) -> String {
        let mut out = String::from(self.method.as_resource());
        out.push('/');
        let parts: Vec<&str> = self
            .segments
            .iter()
            .map(|s| match s {
                Segment::Literal(text) => text.as_str(),
                Segment::Param | Segment::Greedy => "*",
            })
            .collect();
        out.push_str(&parts.join("/"));
        out
    }
}

/// Splits a request path (`/orders/1`) into segments; `/` has none.
pub fn path_segments(path: &str) -> Vec<&str> {
    let rest = path.strip_prefix('/').unwrap_or(path);
    if rest.is_empty() {
        Vec::new()
    } else {
        rest.split('/').collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(route: &str) -> RouteTemplate {
        RouteTemplate::parse(route).unwrap()
    }

    #[test]
    fn routes_parse_as_api_gateway_writes_them() {
        assert_eq!(t("GET /orders/{id}").resource_suffix(), "GET/orders/*");
        assert_eq!(t("ANY /reports/{proxy+}").resource_suffix(), "*/reports/*");
        assert_eq!(t("GET /").resource_suffix(), "GET/");
        for bad in [
            "GET",
            "get /x",
            "FETCH /x",
            "GET x",
            "GET /x/",
            "GET //x",
            "GET /{proxy+}/x",
            "GET /{}",
            "GET /{a-b}",
            "GET /x*",
            "GET /a b",
        ] {
            assert!(RouteTemplate::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn matching_takes_one_segment_per_param_and_one_or_more_for_greedy() {
        let p = |s| path_segments(s);
        assert!(t("GET /orders/{id}").matches("GET", &p("/orders/1")));
        assert!(!t("GET /orders/{id}").matches("GET", &p("/orders/1/audit")));
        assert!(!t("GET /orders/{id}").matches("POST", &p("/orders/1")));
        assert!(t("ANY /r/{proxy+}").matches("DELETE", &p("/r/a/b")));
        assert!(!t("ANY /r/{proxy+}").matches("GET", &p("/r")));
        assert!(t("GET /").matches("GET", &p("/")));
        assert!(!t("GET /").matches("GET", &p("/x")));
    }

    #[test]
    fn precedence_is_path_first_then_method() {
        use Ordering::Greater;
        assert_eq!(t("GET /a/b").precedence(&t("GET /a/{x}")), Greater);
        assert_eq!(t("ANY /a/{x}").precedence(&t("GET /a/{proxy+}")), Greater);
        assert_eq!(t("GET /a/{x}").precedence(&t("ANY /a/{x}")), Greater);
        assert_eq!(t("ANY /a/b/{x}").precedence(&t("GET /a/{x}/c")), Greater);
    }
}
