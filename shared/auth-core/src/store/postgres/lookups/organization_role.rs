//! The organization plugin's dynamic roles (`organizationRole`, `dynamicAccessControl`).

use tokio_postgres::Row;

use super::super::projection::{Projection, Slot};
use crate::schema::{OrganizationRoleField, SchemaLayout};
use crate::store::port::{OrganizationRoleRow, StoreError};

/// An organization's roles by its id (`$1`): `role` and `permission`, as stored.
#[derive(Debug, Clone)]
pub struct OrganizationRoleLookup {
    /// The statement.
    pub sql: String,
    role: Slot<String>,
    permission: Slot<String>,
}

impl OrganizationRoleLookup {
    /// Writes the statement, or `None` without an `organizationRole` table.
    pub fn new(layout: &SchemaLayout) -> Option<Self> {
        let r = layout.table::<OrganizationRoleField>()?;
        let mut p = Projection::default();
        let role = p.field(r, "r", OrganizationRoleField::Role);
        let permission = p.field(r, "r", OrganizationRoleField::Permission);
        let sql = format!(
            "SELECT {} FROM {} AS r WHERE {}",
            p.list(),
            r.sql_name(),
            r.eq_param("r", OrganizationRoleField::OrganizationId, 1),
        );
        Some(Self {
            sql,
            role,
            permission,
        })
    }

    /// Reads a row of [`Self::sql`].
    pub fn decode(&self, row: &Row) -> Result<OrganizationRoleRow, StoreError> {
        Ok(OrganizationRoleRow {
            role: self.role.read(row)?,
            permission: self.permission.read(row)?,
        })
    }
}
