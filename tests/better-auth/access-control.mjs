// The test app's access control, written as a Better Auth app writes it (the file that calls
// createAccessControl and defines the roles). server.mjs uses it with ACCESS_CONTROL=1, and
// tools/export-access-control.mjs exports it for the Rust side: the tests compare the two.
//
// Chosen to catch a role-name shortcut: `admin` may NOT ban, `support` may list and ban,
// `auditor` reads reports, `user` (the default role) has app statements; the organization has
// an `accountant` role beside custom owner/admin/member roles.
import { createAccessControl } from "better-auth/plugins/access";
import { defaultStatements as adminStatements } from "better-auth/plugins/admin/access";
import { defaultStatements as organizationDefaults } from "better-auth/plugins/organization/access";

export const statements = {
  ...adminStatements,
  order: ["read", "create", "delete", "refund"],
  report: ["read", "export"],
};
export const ac = createAccessControl(statements);

export const roles = {
  admin: ac.newRole({
    user: ["create", "list", "set-role", "get", "update"],
    session: ["list", "revoke"],
    order: ["read", "create", "delete"],
    report: ["read"],
  }),
  support: ac.newRole({
    user: ["list", "ban", "get"],
    session: ["list", "revoke"],
    order: ["read", "refund"],
  }),
  auditor: ac.newRole({ report: ["read", "export"], order: ["read"] }),
  user: ac.newRole({ order: ["read", "create"], user: [], session: [] }),
};

export const defaultRole = "user";
export const adminRoles = ["admin"];

export const organizationStatements = {
  ...organizationDefaults,
  invoice: ["create", "read", "delete"],
  project: ["read", "update"],
};
export const organizationAc = createAccessControl(organizationStatements);

export const organizationRoles = {
  owner: organizationAc.newRole({
    organization: ["update", "delete"],
    member: ["create", "update", "delete"],
    invitation: ["create", "cancel"],
    team: ["create", "update", "delete"],
    ac: ["create", "read", "update", "delete"],
    invoice: ["create", "read", "delete"],
    project: ["read", "update"],
  }),
  admin: organizationAc.newRole({
    member: ["create", "update", "delete"],
    invitation: ["create", "cancel"],
    ac: ["create", "read", "update", "delete"],
    invoice: ["create", "read"],
    project: ["read", "update"],
  }),
  member: organizationAc.newRole({ ac: ["read"], invoice: ["read"], project: ["read"] }),
  accountant: organizationAc.newRole({ invoice: ["create", "read"], project: [] }),
};
export const creatorRole = "owner";
// server.mjs enables the organization plugin's dynamicAccessControl with these roles.
export const dynamicAccessControl = true;
