//! Reading settings: the environment (or a map, in tests) as every crate and function reads it,
//! and the one error a bad setting becomes. The bottom layer: it imports nothing of this crate.
//!
//! Empty values count as unset; a value that is set but unusable is an error naming the
//! variable (`DATABASE_IAM_AUTH=ture` stops the function, it does not mean false). Values
//! themselves (URLs, secrets) never appear in an error.

use std::str::FromStr;
use std::time::Duration;

/// A setting that is missing or cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    /// A required variable is not set.
    #[error("{0} is required but not set")]
    Missing(&'static str),
    /// A variable is set to something unusable.
    #[error("{var} is invalid: {reason}")]
    Invalid {
        /// The variable.
        var: &'static str,
        /// Why (never the value of a secret).
        reason: String,
    },
}

/// A [`ConfigError::Invalid`] for `var`.
pub fn invalid(var: &'static str, reason: impl Into<String>) -> ConfigError {
    ConfigError::Invalid {
        var,
        reason: reason.into(),
    }
}

pub(crate) type Get<'a> = dyn Fn(&str) -> Option<String> + 'a;

/// The environment (or a map, in tests) as settings read it: empty values count as unset, and
/// every parse error names its variable.
pub struct Env<'a> {
    lookup: &'a dyn Fn(&str) -> Option<String>,
}

impl std::fmt::Debug for Env<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Env")
    }
}

impl<'a> Env<'a> {
    /// Reads through `lookup` (the process environment: [`Env::read_process`]).
    pub fn new(lookup: &'a dyn Fn(&str) -> Option<String>) -> Self {
        Self { lookup }
    }

    /// Runs `read` on the process environment: the one way every crate and function reads it.
    pub fn read_process<T>(read: impl FnOnce(&Env<'_>) -> T) -> T {
        let lookup = |name: &str| std::env::var(name).ok();
        read(&Env::new(&lookup))
    }

    /// The value, trimmed; [`ConfigError::Missing`] when unset or blank.
    pub fn required(&self, var: &'static str) -> Result<String, ConfigError> {
        self.get(var)
            .map(|v| v.trim().to_owned())
            .ok_or(ConfigError::Missing(var))
    }

    /// The value as set, blank or not.
    pub fn raw(&self, name: &str) -> Option<String> {
        (self.lookup)(name)
    }

    /// The value, when set and not blank.
    pub fn get(&self, name: &str) -> Option<String> {
        (self.lookup)(name).filter(|v| !v.trim().is_empty())
    }

    /// `true`/`false` (also 1/0, yes/no, on/off).
    pub fn flag(&self, var: &'static str, default: bool) -> Result<bool, ConfigError> {
        flag(&|name| self.get(name), var, default)
    }

    /// A whole number within bounds.
    pub fn number<T: FromStr + PartialOrd + Copy + std::fmt::Display>(
        &self,
        var: &'static str,
        default: T,
        min: T,
        max: T,
    ) -> Result<T, ConfigError> {
        number(&|name| self.get(name), var, default, min, max)
    }

    /// Milliseconds within bounds.
    pub fn millis(
        &self,
        var: &'static str,
        default: u64,
        min: u64,
        max: u64,
    ) -> Result<Duration, ConfigError> {
        millis(&|name| self.get(name), var, default, min, max)
    }
}

pub(crate) fn flag(get: &Get<'_>, var: &'static str, default: bool) -> Result<bool, ConfigError> {
    match get(var).map(|v| v.trim().to_ascii_lowercase()) {
        None => Ok(default),
        Some(v) if ["1", "true", "yes", "on"].contains(&v.as_str()) => Ok(true),
        Some(v) if ["0", "false", "no", "off"].contains(&v.as_str()) => Ok(false),
        Some(_) => Err(invalid(var, "expected true or false")),
    }
}

pub(crate) fn number<T: FromStr + PartialOrd + Copy + std::fmt::Display>(
    get: &Get<'_>,
    var: &'static str,
    default: T,
    min: T,
    max: T,
) -> Result<T, ConfigError> {
    let Some(raw) = get(var) else {
        return Ok(default);
    };
    match raw.trim().parse::<T>() {
        Ok(v) if v >= min && v <= max => Ok(v),
        _ => Err(invalid(
            var,
            format!("expected a whole number from {min} to {max}"),
        )),
    }
}

pub(crate) fn millis(
    get: &Get<'_>,
    var: &'static str,
    default: u64,
    min: u64,
    max: u64,
) -> Result<Duration, ConfigError> {
    number(get, var, default, min, max).map(Duration::from_millis)
}
