//! Request validation: bodies and query strings become typed, checked values before any query.
//! Every refusal is a 400 with a Better-Auth-style code; nothing here does I/O.

use auth_core::schema::{Kind, ModelField, UserField};
use chrono::{DateTime, Duration, Utc};
use serde::Deserialize;

use crate::http::ApiError;
use crate::store::query::{Condition, FilterValue, Operator, UserChanges, UserQuery};

/// A normalised email address (trimmed, lower-cased, plausibly shaped).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Email(String);

impl Email {
    /// Lower-cases and checks an email address.
    pub fn parse(email: &str) -> Result<Self, ApiError> {
        let email = email.trim().to_lowercase();
        let valid = email.len() <= 254
            && !email.chars().any(|c| {
                c.is_whitespace() || c.is_control() || matches!(c, '<' | '>' | '"' | ',' | ';')
            })
            && email.split_once('@').is_some_and(|(local, domain)| {
                !local.is_empty()
                    && local.len() <= 64
                    && !domain.contains('@')
                    && domain.contains('.')
                    && !domain.starts_with('.')
                    && !domain.ends_with('.')
                    && !domain.contains("..")
            });
        if valid {
            Ok(Self(email))
        } else {
            Err(ApiError::BadRequest {
                code: "INVALID_EMAIL",
                message: "Invalid email".into(),
            })
        }
    }

    /// The address.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The address, owned.
    pub fn into_string(self) -> String {
        self.0
    }
}

/// Longest search or filter value.
pub const MAX_QUERY_VALUE: usize = 256;

fn integer(
    query: &dyn Fn(&str) -> Option<String>,
    name: &'static str,
    default: i64,
    max: i64,
) -> Result<i64, ApiError> {
    match query(name) {
        None => Ok(default),
        Some(v) => v
            .parse::<i64>()
            .ok()
            .filter(|n| (0..=max).contains(n))
            .ok_or_else(|| {
                ApiError::invalid(format!("{name} must be a whole number from 0 to {max}"))
            }),
    }
}

fn listable(param: &'static str, value: Option<String>) -> Result<Option<UserField>, ApiError> {
    match value {
        None => Ok(None),
        Some(v) => UserField::parse(&v).map(Some).ok_or_else(|| {
            let names: Vec<&str> = UserField::ALL.iter().map(|f| f.name()).collect();
            ApiError::invalid(format!("{param} must be one of {}", names.join(", ")))
        }),
    }
}

impl UserQuery {
    /// Parses `GET /users`' query string (`query` returns a parameter's first value).
    pub fn parse(query: &dyn Fn(&str) -> Option<String>, max_limit: i64) -> Result<Self, ApiError> {
        let limit = integer(query, "limit", 100.min(max_limit), max_limit)?;
        let offset = integer(query, "offset", 0, i64::from(i32::MAX))?;
        let search = match query("searchValue") {
            None => None,
            Some(value) => {
                if value.chars().count() > MAX_QUERY_VALUE {
                    return Err(ApiError::invalid("searchValue is too long"));
                }
                let field = match query("searchField").as_deref() {
                    None | Some("email") => UserField::Email,
                    Some("name") => UserField::Name,
                    Some(_) => return Err(ApiError::invalid("searchField must be email or name")),
                };
                let operator = match query("searchOperator").as_deref() {
                    None | Some("contains") => Operator::Contains,
                    Some("starts_with") => Operator::StartsWith,
                    Some("ends_with") => Operator::EndsWith,
                    Some(_) => {
                        return Err(ApiError::invalid(
                            "searchOperator must be contains, starts_with or ends_with",
                        ));
                    }
                };
                Some(Condition {
                    field,
                    operator,
                    value: FilterValue::Text(value),
                })
            }
        };
        let filter = match listable("filterField", query("filterField"))? {
            None => None,
            Some(field) => Some(filter(query, field)?),
        };
        let sort = match listable("sortBy", query("sortBy"))? {
            None => None,
            Some(field) => {
                let descending = match query("sortDirection").as_deref() {
                    None | Some("asc") => false,
                    Some("desc") => true,
                    Some(_) => return Err(ApiError::invalid("sortDirection must be asc or desc")),
                };
                Some((field, descending))
            }
        };
        Ok(Self {
            limit,
            offset,
            search,
            filter,
            sort,
        })
    }
}

fn filter(query: &dyn Fn(&str) -> Option<String>, field: UserField) -> Result<Condition, ApiError> {
    let name = field.name();
    let raw = query("filterValue")
        .ok_or_else(|| ApiError::invalid("filterValue is required with filterField"))?;
    if raw.chars().count() > MAX_QUERY_VALUE {
        return Err(ApiError::invalid("filterValue is too long"));
    }
    let operator_name = query("filterOperator").unwrap_or_else(|| "eq".into());
    let operator = Operator::parse(&operator_name).ok_or_else(|| {
        ApiError::invalid(
            "filterOperator must be eq, ne, lt, lte, gt, gte, contains, starts_with or ends_with",
        )
    })?;
    let value = match field.kind() {
        Kind::Bool => match raw.as_str() {
            "true" => FilterValue::Bool(true),
            "false" => FilterValue::Bool(false),
            _ => {
                return Err(ApiError::invalid(format!(
                    "filterValue for {name} must be true or false"
                )));
            }
        },
        Kind::Timestamp => FilterValue::Time(raw.parse::<DateTime<Utc>>().map_err(|_| {
            ApiError::invalid(format!(
                "filterValue for {name} must be an ISO 8601 date-time"
            ))
        })?),
        Kind::Text => FilterValue::Text(raw),
        // No user field is a number.
        Kind::Integer => return Err(ApiError::invalid(format!("{name} cannot be filtered"))),
    };
    if !operator.applies_to(field.kind()) {
        return Err(ApiError::invalid(format!(
            "filterOperator {operator_name} does not apply to {name}"
        )));
    }
    Ok(Condition {
        field,
        operator,
        value,
    })
}

/// `PATCH /users/{id}`' body.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct UserPatch {
    name: Option<String>,
    #[serde(default, deserialize_with = "present")]
    image: Option<Option<String>>,
    email: Option<String>,
    email_verified: Option<bool>,
}

/// Distinguishes `"image": null` (clear it) from no `image` at all.
fn present<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Option<String>>, D::Error> {
    Option::<String>::deserialize(d).map(Some)
}

impl UserPatch {
    /// Whether the patch touches what only an admin may change (`email`, `emailVerified`).
    pub fn needs_admin(&self) -> bool {
        self.email.is_some() || self.email_verified.is_some()
    }

    /// The checked changes; 400 when a value is unusable or nothing would change.
    pub fn into_changes(self) -> Result<UserChanges, ApiError> {
        let name = match self.name {
            Some(name) => {
                let name = name.trim().to_owned();
                if name.is_empty() || name.chars().count() > 255 {
                    return Err(ApiError::invalid("name must be 1 to 255 characters"));
                }
                Some(name)
            }
            None => None,
        };
        if let Some(Some(image)) = &self.image
            && (image.len() > 2048
                || !(image.starts_with("https://") || image.starts_with("http://")))
        {
            return Err(ApiError::invalid(
                "image must be an http(s) URL of at most 2048 characters, or null",
            ));
        }
        let changes = UserChanges {
            name,
            image: self.image,
            email: self
                .email
                .as_deref()
                .map(Email::parse)
                .transpose()?
                .map(Email::into_string),
            email_verified: self.email_verified,
        };
        if changes.is_empty() {
            return Err(ApiError::invalid(
                "nothing to change: send name, image, email or emailVerified",
            ));
        }
        Ok(changes)
    }
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum Roles {
    One(String),
    Many(Vec<String>),
}

/// `PUT /users/{id}/role`' body: `{role: string | string[]}`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RoleRequest {
    role: Roles,
}

impl RoleRequest {
    /// The role list, deduplicated, each one among `assignable`, joined with commas as Better
    /// Auth stores it.
    pub fn into_role(self, assignable: &[String]) -> Result<String, ApiError> {
        let roles: Vec<String> = match self.role {
            Roles::One(r) => r.split(',').map(|s| s.trim().to_owned()).collect(),
            Roles::Many(list) => list.into_iter().map(|s| s.trim().to_owned()).collect(),
        };
        let mut unique: Vec<String> = Vec::new();
        for role in roles {
            if !assignable.contains(&role) {
                return Err(ApiError::BadRequest {
                    code: "INVALID_ROLE",
                    message: format!("role must be among: {}", assignable.join(", ")),
                });
            }
            if !unique.contains(&role) {
                unique.push(role);
            }
        }
        if unique.is_empty() {
            return Err(ApiError::invalid("role must name at least one role"));
        }
        Ok(unique.join(","))
    }
}

/// The longest timed ban: 100 years (longer is a permanent ban: omit banExpiresIn).
pub const MAX_BAN_SECONDS: i64 = 100 * 365 * 24 * 3600;

/// `POST /users/{id}/ban`' body (may be empty).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct BanRequest {
    ban_reason: Option<String>,
    ban_expires_in: Option<i64>,
}

/// A checked ban.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ban {
    /// The reason (`No reason` when none was given, as Better Auth stores it).
    pub reason: String,
    /// When it ends; `None` is permanent.
    pub until: Option<DateTime<Utc>>,
}

impl BanRequest {
    /// The checked ban, timed from `now`.
    pub fn into_ban(self, now: DateTime<Utc>) -> Result<Ban, ApiError> {
        let reason = match self.ban_reason.map(|r| r.trim().to_owned()) {
            Some(r) if r.chars().count() > 1000 => {
                return Err(ApiError::invalid(
                    "banReason must be at most 1000 characters",
                ));
            }
            Some(r) if !r.is_empty() => r,
            _ => "No reason".to_owned(),
        };
        let until = match self.ban_expires_in {
            None => None,
            Some(s) if (1..=MAX_BAN_SECONDS).contains(&s) => Some(now + Duration::seconds(s)),
            Some(_) => {
                return Err(ApiError::invalid(format!(
                    "banExpiresIn must be 1 to {MAX_BAN_SECONDS} seconds"
                )));
            }
        };
        Ok(Ban { reason, until })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_are_normalised_or_refused() {
        assert_eq!(
            Email::parse(" Person@Example.COM ").map(Email::into_string),
            Ok("person@example.com".to_owned())
        );
        for bad in [
            "",
            "a",
            "a@b",
            "@b.com",
            "a@@b.com",
            "a b@c.com",
            "a@b..com",
            "a@.com",
            "<a@b.com>",
            &format!("{}@b.com", "a".repeat(65)),
        ] {
            assert!(Email::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn roles_are_checked_and_deduplicated() {
        let assignable = vec!["admin".to_owned(), "user".to_owned()];
        let role: RoleRequest =
            serde_json::from_str(r#"{"role":"user, admin,user"}"#).expect("json");
        assert_eq!(role.into_role(&assignable), Ok("user,admin".to_owned()));
        let role: RoleRequest = serde_json::from_str(r#"{"role":["owner"]}"#).expect("json");
        assert!(role.into_role(&assignable).is_err());
    }

    #[test]
    fn bans_are_bounded() {
        let now = Utc::now();
        let ban = BanRequest::default().into_ban(now).expect("ban");
        assert_eq!(ban.reason, "No reason");
        assert_eq!(ban.until, None);
        let timed: BanRequest = serde_json::from_str(r#"{"banExpiresIn": 60}"#).expect("json");
        assert_eq!(
            timed.into_ban(now).expect("ban").until,
            Some(now + Duration::seconds(60))
        );
        let too_long: BanRequest =
            serde_json::from_str(&format!(r#"{{"banExpiresIn": {}}}"#, MAX_BAN_SECONDS + 1))
                .expect("json");
        assert!(too_long.into_ban(now).is_err());
    }

    #[test]
    fn user_queries_parse_typed_fields() {
        let params = [
            ("filterField", "banned"),
            ("filterValue", "true"),
            ("sortBy", "createdAt"),
            ("sortDirection", "desc"),
        ];
        let lookup = |name: &str| {
            params
                .iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| (*v).to_owned())
        };
        let query = UserQuery::parse(&lookup, 500).expect("valid");
        assert_eq!(query.sort, Some((UserField::CreatedAt, true)));
        assert_eq!(
            query.filter,
            Some(Condition {
                field: UserField::Banned,
                operator: Operator::Eq,
                value: FilterValue::Bool(true)
            })
        );
        let bad = |name: &str| (name == "sortBy").then(|| "password".to_owned());
        assert!(UserQuery::parse(&bad, 500).is_err());
        let wrong_op = |name: &str| match name {
            "filterField" => Some("banned".to_owned()),
            "filterValue" => Some("true".to_owned()),
            "filterOperator" => Some("lt".to_owned()),
            _ => None,
        };
        assert!(UserQuery::parse(&wrong_op, 500).is_err());
    }
}
