#!/usr/bin/env node
// Prints BETTER_AUTH_ACCESS_CONTROL for a Better Auth app, read from the app's own
// access-control module (the file that calls createAccessControl and defines the roles), so
// nobody copies roles by hand.
//
//   node tools/export-access-control.mjs ./src/permissions.mjs [--admin-user-ids id1,id2] [--dynamic-access-control | --no-dynamic]
//
// The module's exports it reads (each optional; what is absent takes Better Auth's default on
// the Rust side):
//   roles                  the admin plugin's roles ({ name: ac.newRole(...) })
//   ac | statements        the admin plugin's createAccessControl (or its statements): every
//                          role is checked against it at start-up
//   defaultRole, adminRoles, adminUserIds
//   organizationRoles      the organization plugin's roles
//   dynamicAccessControl   true when the organization plugin has dynamicAccessControl enabled
//                          (or pass --dynamic-access-control; --no-dynamic forces it off)
//   organizationAc | organizationStatements
//   creatorRole
// A TypeScript module needs a loader (`node --import tsx tools/export-access-control.mjs
// ./permissions.ts`) or its compiled .js.
import { pathToFileURL } from "node:url";
import { resolve } from "node:path";

const args = process.argv.slice(2);
const modulePath = args.find((a) => !a.startsWith("--"));
if (!modulePath) {
  console.error("usage: export-access-control.mjs <module> [--admin-user-ids id1,id2] [--dynamic-access-control | --no-dynamic]");
  process.exit(2);
}
const flag = (name) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
};

const app = await import(pathToFileURL(resolve(modulePath)).href);

const statementsOf = (name, role) => {
  const statements = role?.statements;
  if (!statements || typeof statements !== "object") {
    throw new Error(`role "${name}" is not a Better Auth role (ac.newRole(...)): no statements`);
  }
  const out = {};
  for (const [resource, actions] of Object.entries(statements)) {
    if (!Array.isArray(actions) || actions.some((a) => typeof a !== "string")) {
      throw new Error(`role "${name}": ${resource} is not a list of actions`);
    }
    out[resource] = [...actions];
  }
  return out;
};
const rolesOf = (roles) =>
  roles && Object.fromEntries(Object.entries(roles).map(([name, role]) => [name, statementsOf(name, role)]));

const document = {};
const set = (key, value) => {
  if (value !== undefined && value !== null) document[key] = value;
};
set("roles", rolesOf(app.roles));
set("statements", app.statements ?? app.ac?.statements);
set("defaultRole", app.defaultRole);
set("adminRoles", app.adminRoles);
const adminUserIds = flag("--admin-user-ids");
set("adminUserIds", adminUserIds !== undefined ? adminUserIds.split(",").filter(Boolean) : app.adminUserIds);
set("organizationRoles", rolesOf(app.organizationRoles));
set("organizationStatements", app.organizationStatements ?? app.organizationAc?.statements);
set("creatorRole", app.creatorRole);
set("dynamicAccessControl", app.dynamicAccessControl === true ? true : undefined);
if (args.includes("--dynamic-access-control")) document.dynamicAccessControl = true;
if (args.includes("--no-dynamic")) document.dynamicAccessControl = false;
if (Object.keys(document).length === 0) {
  console.error(`${modulePath} exports none of: roles, ac, statements, organizationRoles, …`);
  process.exit(1);
}
process.stdout.write(JSON.stringify(document) + "\n");
