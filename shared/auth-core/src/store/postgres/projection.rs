//! One type that writes a SELECT (or RETURNING) list and reads the row back in the same order.
//!
//! Each column pushed returns a typed [`Slot`]; the statement's list is written from the same
//! pushes, so the order a row is decoded in can never drift from the order it was selected in.
//!
//! ```
//! use auth_core::store::postgres::projection::{Projection, Slot};
//! let mut p = Projection::default();
//! let one: Slot<i32> = p.expr("1");
//! let two: Slot<String> = p.expr("'two'");
//! assert_eq!(p.list(), "1, 'two'");
//! # let _ = (one, two);
//! ```

use std::marker::PhantomData;

use tokio_postgres::Row;
use tokio_postgres::types::FromSql;

use crate::schema::{ColumnInfo, ModelField, TableLayout};
use crate::store::port::StoreError;

/// The items of a SELECT list, in order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Projection {
    items: Vec<String>,
}

/// Where one pushed column is in the row, and the Rust type it is read as.
pub struct Slot<T> {
    index: usize,
    read_as: PhantomData<fn() -> T>,
}

impl<T> Clone for Slot<T> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<T> Copy for Slot<T> {}

impl<T> std::fmt::Debug for Slot<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Slot({})", self.index)
    }
}

impl Projection {
    /// A field of `table` (aliased `alias`): its column, or a typed NULL when the table lacks it.
    pub fn field<F: ModelField, T>(
        &mut self,
        table: &TableLayout<F>,
        alias: &str,
        field: F,
    ) -> Slot<T> {
        self.expr(table.select(alias, field))
    }

    /// Any SQL expression.
    pub fn expr<T>(&mut self, sql: impl Into<String>) -> Slot<T> {
        self.items.push(sql.into());
        Slot {
            index: self.items.len() - 1,
            read_as: PhantomData,
        }
    }

    /// `a, b, c`: the list, in the order the slots were made.
    pub fn list(&self) -> String {
        self.items.join(", ")
    }

    /// How many items.
    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// Whether nothing was pushed.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }
}

impl<T: for<'a> FromSql<'a>> Slot<T> {
    /// The slot's value in a row returned by a statement written from this slot's projection.
    pub fn read(self, row: &Row) -> Result<T, StoreError> {
        row.try_get(self.index)
            .map_err(|e| StoreError::Query(format!("unexpected column value: {e}")))
    }
}

/// The query that lists the candidate tables' columns (`$1` the schema or NULL, `$2` the table
/// names), and how to read its rows.
#[derive(Debug, Clone)]
pub struct ColumnListing {
    /// The statement.
    pub sql: String,
    table: Slot<String>,
    column: Slot<String>,
    data_type: Slot<String>,
    schema: Slot<String>,
}

impl Default for ColumnListing {
    fn default() -> Self {
        let mut p = Projection::default();
        let table = p.expr("table_name::text");
        let column = p.expr("column_name::text");
        let data_type = p.expr("data_type::text");
        let schema = p.expr("COALESCE($1::text, current_schema())::text");
        let sql = format!(
            "SELECT {} FROM information_schema.columns \
             WHERE table_schema = COALESCE($1::text, current_schema()) AND table_name = ANY($2::text[])",
            p.list()
        );
        Self {
            sql,
            table,
            column,
            data_type,
            schema,
        }
    }
}

impl ColumnListing {
    /// One row: the column, and the schema it was found in.
    pub fn decode(&self, row: &tokio_postgres::Row) -> Result<(ColumnInfo, String), StoreError> {
        Ok((
            ColumnInfo {
                table: self.table.read(row)?,
                column: self.column.read(row)?,
                data_type: self.data_type.read(row)?,
            },
            self.schema.read(row)?,
        ))
    }
}
