//! Every rule's answer for a kind of caller, and the REST policy document it makes, worked out
//! once and reused: callers the rules cannot tell apart (the same role list, the same
//! `adminUserIds` membership, the same credential delegation, no organization rule in play)
//! get the same answers, so a request pays a hash lookup instead of deciding every rule and
//! writing every ARN again.

use std::num::NonZeroUsize;
use std::sync::{Arc, Mutex};

use lru::LruCache;

use crate::identity::{Delegation, Identity};

/// How many kinds of caller one container keeps.
const CAPACITY: usize = 256;

/// What the rules can tell a caller by, when no organization rule is in play.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(super) struct CallerKind {
    /// A user is behind the credential (a machine principal has no user-level permissions).
    user: bool,
    admin_user_id: bool,
    role: Option<String>,
    /// How far the credential carries the user's power.
    delegated: DelegationKind,
}

/// [`Delegation`], owned: what the rules can tell a credential by.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum DelegationKind {
    /// The user's own credential.
    Full,
    /// Delegated by a user, with these permissions.
    Permissions(Option<String>),
    /// An organization's own credential (a machine principal), with these permissions.
    Organization(Option<String>),
    /// An OAuth token with these scopes (sorted, deduplicated), for a user or not.
    Scopes {
        scopes: Vec<String>,
        user_bound: bool,
    },
}

impl CallerKind {
    pub(super) fn of(caller: &Identity, admin_user_id: bool) -> Self {
        Self {
            user: caller.user_id.is_some(),
            admin_user_id,
            role: caller.role.clone(),
            delegated: match caller.grant.delegation() {
                Delegation::Full => DelegationKind::Full,
                Delegation::Permissions(own) => DelegationKind::Permissions(own.map(str::to_owned)),
                Delegation::Organization(own) => {
                    DelegationKind::Organization(own.map(str::to_owned))
                }
                Delegation::Scopes(grant) => {
                    let mut scopes: Vec<String> = grant.scopes().map(str::to_owned).collect();
                    scopes.sort_unstable();
                    scopes.dedup();
                    DelegationKind::Scopes {
                        scopes,
                        user_bound: grant.user_bound,
                    }
                }
            },
        }
    }
}

/// Every rule's answer for one kind of caller, and its policy document once written.
#[derive(Debug)]
pub struct Decided {
    /// `allowed[rule]`.
    pub allowed: Vec<bool>,
    /// The rules it allows, and those whose pattern needs an explicit Deny.
    pub(super) allow: Vec<usize>,
    pub(super) deny: Vec<usize>,
    /// The statements (JSON) for the stage they were last written for.
    pub(super) rendered: Mutex<Option<Rendered>>,
}

/// A policy's statements, written out for one stage (`None`: too large to send whole).
#[derive(Debug, Clone)]
pub(super) struct Rendered {
    pub(super) stage_prefix: String,
    pub(super) statements: Option<Arc<str>>,
}

impl Decided {
    pub(super) fn new(allowed: Vec<bool>, allow: Vec<usize>, deny: Vec<usize>) -> Self {
        Self {
            allowed,
            allow,
            deny,
            rendered: Mutex::new(None),
        }
    }
}

/// The answers per kind of caller (LRU-bounded).
#[derive(Debug)]
pub(super) struct DecisionCache {
    entries: Mutex<LruCache<CallerKind, Arc<Decided>>>,
}

impl DecisionCache {
    pub(super) fn new() -> Self {
        let capacity = NonZeroUsize::new(CAPACITY).unwrap_or(NonZeroUsize::MIN);
        Self {
            entries: Mutex::new(LruCache::new(capacity)),
        }
    }

    pub(super) fn get(&self, kind: &CallerKind) -> Option<Arc<Decided>> {
        self.entries.lock().ok()?.get(kind).cloned()
    }

    pub(super) fn put(&self, kind: CallerKind, decided: Arc<Decided>) {
        if let Ok(mut entries) = self.entries.lock() {
            entries.put(kind, decided);
        }
    }
}

impl Clone for DecisionCache {
    /// A fresh, empty cache.
    fn clone(&self) -> Self {
        Self::new()
    }
}
