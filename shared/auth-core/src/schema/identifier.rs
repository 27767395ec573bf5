//! Identifiers from configuration or the catalogue: validated, then quoted.

/// Why an identifier from configuration was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "\"{0}\" is not a valid identifier (letters, digits and _, starting with a letter or _, at most 63 bytes)"
)]
pub struct IdentifierError(pub String);

/// Accepts `[A-Za-z_][A-Za-z0-9_]*`, at most 63 bytes (PostgreSQL's limit).
pub fn validate_identifier(name: &str) -> Result<(), IdentifierError> {
    let mut bytes = name.bytes();
    let first_ok = bytes
        .next()
        .is_some_and(|b| b.is_ascii_alphabetic() || b == b'_');
    if first_ok && name.len() <= 63 && bytes.all(|b| b.is_ascii_alphanumeric() || b == b'_') {
        Ok(())
    } else {
        Err(IdentifierError(name.to_owned()))
    }
}

/// Quotes an identifier for SQL (`"user"`), doubling any `"` for good measure.
pub fn quote(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}
