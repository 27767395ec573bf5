//! Detection as a pure function: `information_schema` rows and the overrides in, a layout out.

use std::collections::BTreeMap;

use super::fields::{BuildEach, Kind, Model, ModelField, ModelSet, SessionField, UserField};
use super::identifier::{quote, validate_identifier};
use super::layout::*;
use super::overrides::*;

/// `emailVerified` → `email_verified`.
pub fn snake_case(name: &str) -> String {
    let mut out = String::with_capacity(name.len() + 4);
    for ch in name.chars() {
        if ch.is_ascii_uppercase() {
            out.push('_');
            out.push(ch.to_ascii_lowercase());
        } else {
            out.push(ch);
        }
    }
    out
}

/// Resolves the layout from the columns `information_schema` listed for the candidate tables.
pub fn resolve(
    schema_name: &str,
    columns: &[ColumnInfo],
    overrides: &SchemaOverrides,
) -> Result<SchemaLayout, SchemaError> {
    let mut detect = Detect {
        db_schema: overrides.db_schema.as_deref(),
        schema_name,
        columns,
        overrides,
        errors: BTreeMap::new(),
    };
    // Every model's table, in registry order; why one does not fit is kept for the models
    // that must have one.
    let tables = match ModelSet::try_build(&mut detect) {
        Ok(tables) => tables,
        Err(never) => match never {},
    };
    let Some(user) = tables.user.clone() else {
        return Err(detect.take(Model::User));
    };
    if overrides.require_admin_columns {
        for field in [UserField::Banned, UserField::BanExpires] {
            if !user.has(field) {
                return Err(SchemaError::Required {
                    model: Model::User.as_str(),
                    table: user.name.clone(),
                    field: field.name(),
                    looked_for: quoted_list([field.name(), snake_case(field.name()).as_str()]),
                    variable: "BETTER_AUTH_REQUIRE_ADMIN_COLUMNS",
                    fields_variable: Model::User.fields_variable(),
                });
            }
        }
    }
    let user_context = context_columns(&user, columns, overrides)?;
    let session = match tables.session.clone() {
        Some(session) => Some(session),
        None => match detect.take(Model::Session) {
            SchemaError::MissingTable { .. } if overrides.session_table_optional => None,
            error => return Err(error),
        },
    };
    let revocation = match session
        .as_ref()
        .and_then(|s| s.column(SessionField::Revoked))
    {
        Some(column) => Revocation::Flag(column.clone()),
        None => Revocation::Delete,
    };
    // Every other model is optional: the account table only serves `GET /auth/accounts`, the
    // jwt plugin's keys JWT verification, API keys the `api-key` method (a table that does not
    // fit is reported then), and without the organization plugin's tables no session has an
    // active organization (a pointer alone grants nothing).
    Ok(SchemaLayout {
        db_schema: overrides.db_schema.clone(),
        organizations: organization_layout(&tables),
        user,
        session,
        tables,
        user_context,
        revocation,
    })
}

/// Resolves every model's table ([`ModelSet::try_build`]); never fails, but keeps why a table
/// does not fit.
struct Detect<'a> {
    db_schema: Option<&'a str>,
    schema_name: &'a str,
    columns: &'a [ColumnInfo],
    overrides: &'a SchemaOverrides,
    errors: BTreeMap<Model, SchemaError>,
}

impl BuildEach<Found> for Detect<'_> {
    type Error = std::convert::Infallible;
    fn build<F: ModelField>(&mut self) -> Result<Option<TableLayout<F>>, Self::Error> {
        let overrides = self.overrides.table::<F>();
        match resolve_table(self.db_schema, self.schema_name, self.columns, overrides) {
            Ok(table) => Ok(Some(table)),
            Err(error) => {
                self.errors.insert(F::MODEL, error);
                Ok(None)
            }
        }
    }
}

impl Detect<'_> {
    /// Why `model`'s table does not fit.
    fn take(&mut self, model: Model) -> SchemaError {
        self.errors
            .remove(&model)
            .unwrap_or_else(|| SchemaError::MissingTable {
                model: model.as_str(),
                schema: self.schema_name.to_owned(),
                looked_for: quoted_list(model.default_tables().iter().copied()),
                variable: model.table_variable(),
            })
    }
}

fn organization_layout(tables: &ModelSet<Found>) -> Option<OrganizationLayout> {
    Some(OrganizationLayout {
        organization: tables.organization.clone()?,
        member: tables.member.clone()?,
        teams: tables.team.clone().zip(tables.team_member.clone()),
    })
}

/// The user columns of the context fields: plugin fields when they exist, configured ones
/// always (camelCase or snake_case, like every field).
fn context_columns(
    user: &TableLayout<UserField>,
    columns: &[ColumnInfo],
    overrides: &SchemaOverrides,
) -> Result<Vec<(String, Column)>, SchemaError> {
    let mut found = Vec::new();
    let plugin = crate::identity::PLUGIN_USER_FIELDS
        .iter()
        .map(|f| (*f, false));
    let configured = overrides
        .context_user_fields
        .iter()
        .map(|f| (f.as_str(), true));
    for (field, required) in plugin.chain(configured) {
        let snake = snake_case(field);
        let column = [field, snake.as_str()].into_iter().find_map(|name| {
            columns
                .iter()
                .find(|c| c.table == user.name && c.column == name)
        });
        match column {
            Some(info) if validate_identifier(&info.column).is_ok() => found.push((
                field.to_owned(),
                Column {
                    name: info.column.clone(),
                    naive_timestamp: false,
                    cast: None,
                },
            )),
            _ if required => {
                return Err(SchemaError::MissingColumn {
                    model: Model::User.as_str(),
                    table: user.name.clone(),
                    field: "a BETTER_AUTH_CONTEXT_USER_FIELDS field",
                    looked_for: quoted_list([field, snake.as_str()]),
                    variable: "BETTER_AUTH_CONTEXT_USER_FIELDS",
                });
            }
            _ => {}
        }
    }
    Ok(found)
}

fn quoted_list<'a>(names: impl IntoIterator<Item = &'a str>) -> String {
    names
        .into_iter()
        .map(|n| format!("\"{n}\""))
        .collect::<Vec<_>>()
        .join(", ")
}

fn resolve_table<F: ModelField>(
    db_schema: Option<&str>,
    schema_name: &str,
    columns: &[ColumnInfo],
    overrides: &TableOverride<F>,
) -> Result<TableLayout<F>, SchemaError> {
    let model = F::MODEL;
    let candidates = overrides.candidates();
    let table = candidates
        .iter()
        .copied()
        .find(|t| columns.iter().any(|c| c.table == *t))
        .ok_or_else(|| SchemaError::MissingTable {
            model: model.as_str(),
            schema: schema_name.to_owned(),
            looked_for: quoted_list(candidates.iter().copied()),
            variable: model.table_variable(),
        })?;
    let present: Vec<&ColumnInfo> = columns.iter().filter(|c| c.table == table).collect();
    let mut resolved = BTreeMap::new();
    for &field in F::ALL {
        let looked_for: Vec<String> = match overrides.fields.get(&field) {
            Some(column) => vec![column.clone()],
            None => {
                let snake = snake_case(field.name());
                if snake == field.name() {
                    vec![snake]
                } else {
                    vec![field.name().to_owned(), snake]
                }
            }
        };
        let found = looked_for
            .iter()
            .find_map(|name| present.iter().find(|c| &c.column == name));
        let Some(info) = found else {
            // A field mapped explicitly must resolve: a typo must not silently drop a ban or
            // revocation column.
            if field.required() || overrides.fields.contains_key(&field) {
                return Err(SchemaError::MissingColumn {
                    model: model.as_str(),
                    table: table.to_owned(),
                    field: field.name(),
                    looked_for: quoted_list(looked_for.iter().map(String::as_str)),
                    variable: model.fields_variable(),
                });
            }
            continue;
        };
        let wrong_type = |expected| SchemaError::WrongType {
            model: model.as_str(),
            table: table.to_owned(),
            column: info.column.clone(),
            field: field.name(),
            found: info.data_type.clone(),
            expected,
        };
        let naive_timestamp = match field.kind() {
            Kind::Timestamp => match info.data_type.as_str() {
                "timestamp with time zone" => false,
                "timestamp without time zone" => true,
                _ => return Err(wrong_type("timestamptz or timestamp")),
            },
            Kind::Bool if info.data_type != "boolean" => return Err(wrong_type("boolean")),
            Kind::Integer
                if !matches!(
                    info.data_type.as_str(),
                    "integer" | "bigint" | "smallint" | "numeric" | "double precision" | "real"
                ) =>
            {
                return Err(wrong_type("a number"));
            }
            _ => false,
        };
        if validate_identifier(&info.column).is_err() {
            // A column we could not quote safely is treated as absent (only required ones fail).
            if field.required() {
                return Err(wrong_type("a plain identifier name"));
            }
            continue;
        }
        let cast = match info.data_type.as_str() {
            "uuid" => Some("uuid"),
            "integer" => Some("integer"),
            "bigint" => Some("bigint"),
            "smallint" => Some("smallint"),
            _ => None,
        };
        resolved.insert(
            field,
            Column {
                name: info.column.clone(),
                naive_timestamp,
                cast,
            },
        );
    }
    let qualified = match db_schema {
        Some(schema) => format!("{}.{}", quote(schema), quote(table)),
        None => quote(table),
    };
    Ok(TableLayout {
        name: table.to_owned(),
        qualified,
        columns: resolved,
    })
}
