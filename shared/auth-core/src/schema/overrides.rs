//! Explicit table and column names (`BETTER_AUTH_<MODEL>_TABLE`, `_FIELDS`), parsed next to the
//! schema that uses them. Anything unset is detected.

use std::collections::BTreeMap;

use super::fields::{BuildEach, ModelField, ModelSet, PerModel, VisitEach};
use super::identifier::validate_identifier;
use crate::env::{ConfigError, Env, Get, flag, invalid};

/// Explicit names for one model's table: anything unset is detected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableOverride<F: ModelField> {
    /// The table's name.
    pub table: Option<String>,
    /// Field → column.
    pub fields: BTreeMap<F, String>,
}

impl<F: ModelField> Default for TableOverride<F> {
    fn default() -> Self {
        Self {
            table: None,
            fields: BTreeMap::new(),
        }
    }
}

impl<F: ModelField> TableOverride<F> {
    pub(crate) fn candidates(&self) -> Vec<&str> {
        match &self.table {
            Some(table) => vec![table.as_str()],
            None => F::MODEL.default_tables().to_vec(),
        }
    }
}

/// [`ModelSet`] of [`TableOverride`]s: every model's explicit names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Overridden {}

impl PerModel for Overridden {
    type Of<F: ModelField> = TableOverride<F>;
}

/// Explicit names from configuration; anything unset is detected.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SchemaOverrides {
    /// The PostgreSQL schema (namespace); default: the connection's `current_schema()`.
    pub db_schema: Option<String>,
    /// Every model's table and field names (`BETTER_AUTH_<MODEL>_TABLE`, `_FIELDS`).
    pub tables: ModelSet<Overridden>,
    /// `BETTER_AUTH_CONTEXT_USER_FIELDS`: user columns to read for the context (each must
    /// exist); the plugin fields are read whenever they exist.
    pub context_user_fields: Vec<String>,
    /// `BETTER_AUTH_REQUIRE_ADMIN_COLUMNS`: fail (closed) when the user table shows no `banned`
    /// or `banExpires` column, e.g. because the database user may not read them.
    pub require_admin_columns: bool,
    /// Sessions live in secondary storage only: the database may have no session table (Better
    /// Auth's migrator does not create one then).
    pub session_table_optional: bool,
}

impl SchemaOverrides {
    /// The overrides of the model whose fields are `F`.
    pub fn table<F: ModelField>(&self) -> &TableOverride<F> {
        self.tables.get::<F>()
    }

    /// Table names worth asking `information_schema` about.
    pub fn candidate_tables(&self) -> Vec<String> {
        struct Candidates(Vec<String>);
        impl VisitEach<Overridden> for Candidates {
            fn visit<F: ModelField>(&mut self, entry: &TableOverride<F>) {
                self.0
                    .extend(entry.candidates().into_iter().map(str::to_owned));
            }
        }
        let mut names = Candidates(Vec::new());
        self.tables.visit(&mut names);
        names.0
    }
}

/// A configured identifier, validated.
pub(crate) fn identifier(var: &'static str, value: &str) -> Result<String, ConfigError> {
    let value = value.trim();
    validate_identifier(value).map_err(|e| invalid(var, e.to_string()))?;
    Ok(value.to_owned())
}

/// Parses every model's `BETTER_AUTH_<MODEL>_TABLE` and `_FIELDS`.
struct ParseEach<'a, 'b>(&'a Get<'b>);

impl BuildEach<Overridden> for ParseEach<'_, '_> {
    type Error = ConfigError;
    fn build<F: ModelField>(&mut self) -> Result<TableOverride<F>, ConfigError> {
        table_override(self.0)
    }
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
            tables: ModelSet::try_build(&mut ParseEach(get))?,
            context_user_fields: Vec::new(),
            require_admin_columns: flag(get, "BETTER_AUTH_REQUIRE_ADMIN_COLUMNS", false)?,
            session_table_optional: false,
        })
    }
}
