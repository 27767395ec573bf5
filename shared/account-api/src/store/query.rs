//! `GET /users`' query, as validated values: which field, which operator, which value.

use auth_core::schema::{Kind, UserField};
use chrono::{DateTime, Utc};
use serde::Serialize;

use super::users::UserRecord;

/// How a text search or filter matches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operator {
    /// =
    Eq,
    /// <>
    Ne,
    /// <
    Lt,
    /// <=
    Lte,
    /// >
    Gt,
    /// >=
    Gte,
    /// substring, case-insensitive
    Contains,
    /// prefix, case-insensitive
    StartsWith,
    /// suffix, case-insensitive
    EndsWith,
}

impl Operator {
    /// Parses Better Auth's operator names.
    pub fn parse(name: &str) -> Option<Self> {
        Some(match name {
            "eq" => Self::Eq,
            "ne" => Self::Ne,
            "lt" => Self::Lt,
            "lte" => Self::Lte,
            "gt" => Self::Gt,
            "gte" => Self::Gte,
            "contains" => Self::Contains,
            "starts_with" => Self::StartsWith,
            "ends_with" => Self::EndsWith,
            _ => return None,
        })
    }

    /// A substring/prefix/suffix match.
    pub fn is_pattern(self) -> bool {
        matches!(self, Self::Contains | Self::StartsWith | Self::EndsWith)
    }

    /// Whether the operator applies to a field of this kind.
    pub fn applies_to(self, kind: Kind) -> bool {
        match self {
            Self::Contains | Self::StartsWith | Self::EndsWith => kind == Kind::Text,
            Self::Lt | Self::Lte | Self::Gt | Self::Gte => kind != Kind::Bool,
            Self::Eq | Self::Ne => true,
        }
    }

    pub(crate) fn sql(self) -> &'static str {
        match self {
            Self::Eq => "=",
            Self::Ne => "<>",
            Self::Lt => "<",
            Self::Lte => "<=",
            Self::Gt => ">",
            Self::Gte => ">=",
            Self::Contains | Self::StartsWith | Self::EndsWith => "ILIKE",
        }
    }

    pub(crate) fn pattern(self, value: &str) -> String {
        let escaped = value
            .replace('\\', "\\\\")
            .replace('%', "\\%")
            .replace('_', "\\_");
        match self {
            Self::StartsWith => format!("{escaped}%"),
            Self::EndsWith => format!("%{escaped}"),
            _ => format!("%{escaped}%"),
        }
    }
}

/// A typed value to compare a column with.
#[derive(Debug, Clone, PartialEq)]
pub enum FilterValue {
    /// text columns
    Text(String),
    /// boolean columns
    Bool(bool),
    /// timestamp columns
    Time(DateTime<Utc>),
}

/// One condition on a user field.
#[derive(Debug, Clone, PartialEq)]
pub struct Condition {
    /// The field.
    pub field: UserField,
    /// How to compare.
    pub operator: Operator,
    /// With what.
    pub value: FilterValue,
}

/// `GET /users`' query, already validated.
#[derive(Debug, Clone, PartialEq)]
pub struct UserQuery {
    /// At most this many.
    pub limit: i64,
    /// Skipping this many.
    pub offset: i64,
    /// searchValue / searchField / searchOperator.
    pub search: Option<Condition>,
    /// filterValue / filterField / filterOperator.
    pub filter: Option<Condition>,
    /// sortBy, and whether descending.
    pub sort: Option<(UserField, bool)>,
}

/// A page of users.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UserPage {
    /// The users.
    pub users: Vec<UserRecord>,
    /// How many match in all.
    pub total: i64,
    /// The limit applied.
    pub limit: i64,
    /// The offset applied.
    pub offset: i64,
}

/// Changes to a user (`PATCH /users/{id}`), already validated.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UserChanges {
    /// name
    pub name: Option<String>,
    /// image (Some(None) clears it)
    pub image: Option<Option<String>>,
    /// email, normalised
    pub email: Option<String>,
    /// emailVerified
    pub email_verified: Option<bool>,
}

impl UserChanges {
    /// Whether nothing would change.
    pub fn is_empty(&self) -> bool {
        self.name.is_none()
            && self.image.is_none()
            && self.email.is_none()
            && self.email_verified.is_none()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns_escape_wildcards() {
        assert_eq!(Operator::Contains.pattern("a%b_c\\"), "%a\\%b\\_c\\\\%");
        assert_eq!(Operator::StartsWith.pattern("ab"), "ab%");
        assert_eq!(Operator::EndsWith.pattern("ab"), "%ab");
    }

    #[test]
    fn operators_parse_better_auth_names_only() {
        for name in [
            "eq",
            "ne",
            "lt",
            "lte",
            "gt",
            "gte",
            "contains",
            "starts_with",
            "ends_with",
        ] {
            assert!(Operator::parse(name).is_some(), "{name}");
        }
        assert_eq!(Operator::parse("like"), None);
        assert_eq!(Operator::parse("EQ"), None);
    }

    #[test]
    fn operators_apply_to_kinds() {
        assert!(Operator::Contains.applies_to(Kind::Text));
        assert!(!Operator::Contains.applies_to(Kind::Bool));
        assert!(!Operator::Lt.applies_to(Kind::Bool));
        assert!(Operator::Gte.applies_to(Kind::Timestamp));
        assert!(Operator::Eq.applies_to(Kind::Bool));
    }
}
