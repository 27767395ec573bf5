//! Explicit table and column names (`BETTER_AUTH_<MODEL>_TABLE`, `_FIELDS`), parsed next to the
//! schema that uses them. Anything unset is detected.

use std::collections::BTreeMap;

use super::{ModelField, SchemaOverrides, TableOverride, validate_identifier};
use crate::env::{ConfigError, Env, Get, flag, invalid};

/// A configured identifier, validated.
pub(crate) fn identifier(var: &'static str, value: &str) -> Result<String, ConfigError> {
    let value = value.trim();
    validate_identifier(value).map_err(|e| invalid(var, e.to_string()))?;
    Ok(value.to_owned())
}

fn table_override<F: ModelField>(get: &Get<'_>) -> Result<TableOverride<F>, ConfigError> {
    let model = F::MODEL;
    let table_var = model.table_variable();
    let table = get(table_var)
        .map(|v| identifier(table_var, &v))
        .transpose()?;
    let var = model.fields_variable();
    let mut fields = BTreeMap::new();
    if let Some(raw) = get(var) {
        for pair in raw.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let (name, column) = pair
                .split_once('=')
                .ok_or_else(|| invalid(var, "expected field=column pairs separated by commas"))?;
            let name = name.trim();
            let field = F::parse(name).ok_or_else(|| {
                let known: Vec<&str> = F::ALL.iter().map(|f| f.name()).collect();
                invalid(
                    var,
                    format!(
                        "unknown {} field \"{name}\" (known: {})",
                        model.as_str(),
                        known.join(", ")
                    ),
                )
            })?;
            fields.insert(field, identifier(var, column)?);
        }
    }
    Ok(TableOverride { table, fields })
}

impl SchemaOverrides {
    /// Parses `BETTER_AUTH_DB_SCHEMA`, `BETTER_AUTH_<MODEL>_TABLE` / `_FIELDS` for every model and
    /// `BETTER_AUTH_REQUIRE_ADMIN_COLUMNS`.
    pub fn parse(env: &Env<'_>) -> Result<Self, ConfigError> {
        let get = |name: &str| env.get(name);
        let get: &Get<'_> = &get;
        Ok(SchemaOverrides {
            db_schema: get("BETTER_AUTH_DB_SCHEMA")
                .map(|v| identifier("BETTER_AUTH_DB_SCHEMA", &v))
                .transpose()?,
            user: table_override(get)?,
            session: table_override(get)?,
            account: table_override(get)?,
            jwks: table_override(get)?,
            api_key: table_override(get)?,
            organization: table_override(get)?,
            member: table_override(get)?,
            team: table_override(get)?,
            team_member: table_override(get)?,
            context_user_fields: Vec::new(),
            require_admin_columns: flag(get, "BETTER_AUTH_REQUIRE_ADMIN_COLUMNS", false)?,
            session_table_optional: false,
        })
    }
}
