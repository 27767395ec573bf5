//! Better Auth's `role(statements).authorize(request, connector)` (`better-auth/plugins/access`),
//! rule for rule.
//!
//! - For each requested resource, the role's allowed actions for it. A resource the role does
//!   not list fails the whole request under `AND` and is skipped under `OR`; a resource listed
//!   with no actions is known, and authorizes nothing.
//! - Per resource, every requested action (`AND`, the default) or any one (`OR`: the object form
//!   `{"actions": [...], "connector": "OR"}`); an empty action list never authorizes.
//! - Success when `AND` held for every resource (and there was one), or under `OR` when any
//!   resource was authorized. An empty request authorizes nothing.

use std::collections::HashMap;

use serde::Deserialize;
use serde::de::{Deserializer, MapAccess, Visitor};

/// How the parts of a request combine: all of them (`AND`, Better Auth's default) or any.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Deserialize)]
pub enum Connector {
    /// Every part must be authorized.
    #[default]
    #[serde(rename = "AND")]
    And,
    /// One authorized part is enough.
    #[serde(rename = "OR")]
    Or,
}

/// What a role (or an API key) may do: resource → allowed actions.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Statements(HashMap<String, Vec<String>>);

impl Statements {
    /// From `(resource, actions)` pairs; a repeated resource keeps its last list (as a
    /// JavaScript object literal does).
    pub fn new<R, A>(entries: impl IntoIterator<Item = (R, A)>) -> Self
    where
        R: Into<String>,
        A: IntoIterator,
        A::Item: Into<String>,
    {
        Self(
            entries
                .into_iter()
                .map(|(r, a)| (r.into(), a.into_iter().map(Into::into).collect()))
                .collect(),
        )
    }

    /// Parses `{"resource": ["action", …]}` (an API key's `permissions`, an `organizationRole`
    /// row's `permission`). Anything else is an error: such a key grants nothing.
    pub fn from_json(text: &str) -> Result<Self, serde_json::Error> {
        serde_json::from_str::<HashMap<String, Vec<String>>>(text).map(Self)
    }

    /// The actions allowed on `resource`, `None` when the resource is not listed.
    pub fn actions(&self, resource: &str) -> Option<&[String]> {
        self.0.get(resource).map(Vec::as_slice)
    }

    /// Every `(resource, actions)` pair, in no particular order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &[String])> {
        self.0.iter().map(|(r, a)| (r.as_str(), a.as_slice()))
    }

    /// Adds `actions` to `resource`, keeping each action once (how the organization plugin
    /// merges a dynamic role into the static one of the same name).
    pub fn merge(&mut self, resource: &str, actions: &[String]) {
        let list = self.0.entry(resource.to_owned()).or_default();
        for action in actions {
            if !list.contains(action) {
                list.push(action.clone());
            }
        }
    }

    /// Better Auth's `role.authorize(request, connector).success`.
    pub fn authorize(&self, request: &PermissionRequest, connector: Connector) -> bool {
        let mut any_authorized = false;
        for (resource, wanted) in &request.0 {
            let Some(allowed) = self.actions(resource) else {
                if connector == Connector::And {
                    return false;
                }
                continue;
            };
            let authorized = wanted.is_authorized_by(allowed);
            match (authorized, connector) {
                (true, Connector::Or) => return true,
                (false, Connector::And) => return false,
                (true, Connector::And) => any_authorized = true,
                (false, Connector::Or) => {}
            }
        }
        any_authorized
    }
}

/// The actions asked of one resource, and how they combine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActionRequest {
    /// The actions.
    pub actions: Vec<String>,
    /// All of them (`AND`, the list form) or any (`OR`).
    pub connector: Connector,
}

impl ActionRequest {
    fn is_authorized_by(&self, allowed: &[String]) -> bool {
        if self.actions.is_empty() {
            return false;
        }
        let has = |action: &String| allowed.contains(action);
        match self.connector {
            Connector::And => self.actions.iter().all(has),
            Connector::Or => self.actions.iter().any(has),
        }
    }
}

/// A permission request as Better Auth takes it: `{"order": ["read"], "invoice": {"actions":
/// ["create", "update"], "connector": "OR"}}`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PermissionRequest(Vec<(String, ActionRequest)>);

impl PermissionRequest {
    /// From `(resource, actions)` pairs, each resource's actions all required.
    pub fn all_of<R, A>(entries: impl IntoIterator<Item = (R, A)>) -> Self
    where
        R: Into<String>,
        A: IntoIterator,
        A::Item: Into<String>,
    {
        Self(
            entries
                .into_iter()
                .map(|(r, a)| {
                    let actions = a.into_iter().map(Into::into).collect();
                    (
                        r.into(),
                        ActionRequest {
                            actions,
                            connector: Connector::And,
                        },
                    )
                })
                .collect(),
        )
    }

    /// The requested resources, in order.
    pub fn resources(&self) -> impl Iterator<Item = (&str, &ActionRequest)> {
        self.0.iter().map(|(r, a)| (r.as_str(), a))
    }

    /// Whether the request names no resource (it then authorizes nothing).
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl<'de> Deserialize<'de> for PermissionRequest {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct RequestVisitor;
        impl<'de> Visitor<'de> for RequestVisitor {
            type Value = PermissionRequest;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(r#"an object {"resource": ["action", …]}"#)
            }
            fn visit_map<M: MapAccess<'de>>(self, mut map: M) -> Result<Self::Value, M::Error> {
                let mut entries: Vec<(String, ActionRequest)> = Vec::new();
                while let Some(resource) = map.next_key::<String>()? {
                    let wanted: ActionsForm = map.next_value()?;
                    let wanted = wanted.into_request();
                    // A repeated key keeps its last value, as JSON.parse does.
                    entries.retain(|(r, _)| *r != resource);
                    entries.push((resource, wanted));
                }
                Ok(PermissionRequest(entries))
            }
        }
        deserializer.deserialize_map(RequestVisitor)
    }
}

/// The two forms Better Auth accepts for one resource's actions.
#[derive(Deserialize)]
#[serde(untagged)]
enum ActionsForm {
    List(Vec<String>),
    Object {
        actions: Vec<String>,
        #[serde(default)]
        connector: Option<Connector>,
    },
}

impl ActionsForm {
    fn into_request(self) -> ActionRequest {
        match self {
            Self::List(actions) => ActionRequest {
                actions,
                connector: Connector::And,
            },
            Self::Object { actions, connector } => ActionRequest {
                actions,
                connector: connector.unwrap_or_default(),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn role(pairs: &[(&str, &[&str])]) -> Statements {
        Statements::new(pairs.iter().map(|(r, a)| (*r, a.iter().copied())))
    }

    fn request(json: &str) -> PermissionRequest {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn and_needs_every_resource_and_action() {
        let r = role(&[("user", &["list", "ban"]), ("order", &["read"])]);
        assert!(r.authorize(&request(r#"{"user":["list"]}"#), Connector::And));
        assert!(r.authorize(
            &request(r#"{"user":["list","ban"],"order":["read"]}"#),
            Connector::And
        ));
        assert!(!r.authorize(&request(r#"{"user":["list","get"]}"#), Connector::And));
        assert!(!r.authorize(
            &request(r#"{"user":["list"],"invoice":["read"]}"#),
            Connector::And
        ));
        assert!(!r.authorize(&request(r#"{}"#), Connector::And));
        assert!(!r.authorize(&request(r#"{"user":[]}"#), Connector::And));
    }

    #[test]
    fn or_skips_unknown_resources_and_needs_one() {
        let r = role(&[("user", &["list"])]);
        assert!(r.authorize(
            &request(r#"{"invoice":["read"],"user":["list"]}"#),
            Connector::Or
        ));
        assert!(!r.authorize(&request(r#"{"invoice":["read"]}"#), Connector::Or));
        // Under OR between resources, each resource's own actions are still all required.
        assert!(!r.authorize(&request(r#"{"user":["list","ban"]}"#), Connector::Or));
        assert!(r.authorize(
            &request(r#"{"user":{"actions":["list","ban"],"connector":"OR"}}"#),
            Connector::And
        ));
    }

    #[test]
    fn a_listed_resource_with_no_actions_is_known_and_grants_nothing() {
        let r = role(&[("user", &[]), ("session", &["list"])]);
        assert!(!r.authorize(
            &request(r#"{"user":["list"],"session":["list"]}"#),
            Connector::And
        ));
        assert!(r.authorize(
            &request(r#"{"user":["list"],"session":["list"]}"#),
            Connector::Or
        ));
    }

    #[test]
    fn merge_keeps_each_action_once() {
        let mut r = role(&[("invoice", &["read"])]);
        r.merge("invoice", &["read".into(), "create".into()]);
        r.merge("report", &["read".into()]);
        assert_eq!(r.actions("invoice").unwrap(), ["read", "create"]);
        assert_eq!(r.actions("report").unwrap(), ["read"]);
    }

    #[test]
    fn only_a_map_of_lists_is_a_statement() {
        assert!(Statements::from_json(r#"{"a":["b"]}"#).is_ok());
        for bad in [r#"["a"]"#, r#"{"a":"b"}"#, r#"{"a":[1]}"#, "null", ""] {
            assert!(Statements::from_json(bad).is_err(), "{bad}");
        }
    }
}
