// The real Better Auth server the Rust tests compare against. Configured entirely by environment:
//
//   DATABASE_URL          PostgreSQL URL (required)
//   DB_SCHEMA             PostgreSQL schema to use (search_path); the tests give each server its own
//   BETTER_AUTH_SECRET    the secret (required)
//   BA_PROFILE            default | renamed | drizzle | noadmin   (see profiles below)
//   SECURE_COOKIES=1      advanced.useSecureCookies (cookies named __Secure-…)
//   COOKIE_PREFIX         advanced.cookiePrefix
//   SESSION_EXPIRES_IN    session.expiresIn in seconds (default 7 days)
//   SESSION_UPDATE_AGE    session.updateAge in seconds (default 1 day)
//   JWT_ALG               the jwt plugin's key algorithm: EdDSA (default), ES256, ES512, PS256, RS256
//   COOKIE_CACHE          session.cookieCache strategy: compact | jwt | jwe (default: off)
//   COOKIE_CACHE_MAX_AGE  session.cookieCache.maxAge in seconds (default 300)
//   COOKIE_CACHE_VERSION  session.cookieCache.version (default "1")
//   COOKIE_CACHE_PLUGIN=1 jwt({ sessionCookieCache: true }): the jwt plugin signs the cache
//   PORT                  port to listen on, 0 (default) for any free one
//   BA_REDIS_URL             secondaryStorage: @better-auth/redis-storage on this Redis (sessions in Redis)
//   BA_REDIS_PREFIX          its keyPrefix (default "better-auth:")
//   STORE_SESSION_IN_DATABASE=1     session.storeSessionInDatabase
//   PRESERVE_SESSION_IN_DATABASE=1  session.preserveSessionInDatabase
//   SESSION_COOKIE_NAME   advanced.cookies.session_token.name (the session cookie renamed)
//   MULTI_SESSION=1       the multi-session plugin
//   USER_PLUGINS=1        the anonymous and username plugins, and an app field user.plan
//                         (additionalFields, default "free")
//   ORGANIZATION=1        the organization plugin with teams enabled (invitations need no email:
//                         the tests accept them by id)
//   OAUTH_PROVIDER=1      @better-auth/oauth-provider (same jwt-plugin keys), its base URL and
//                         <base URL>/other-api seeded as resources (so access tokens asked for a
//                         resource are at+jwt; opaque ones carry the prefix "bao_"), plus a test-only route
//                         POST /test/oauth/client (auth.api.adminCreateOAuthClient with the body, as the signed-in caller)
//   LEGACY_OAUTH=1        Better Auth 1.6's legacy OAuth provider (oidcProvider from better-auth/plugins:
//                         tables oauthApplication, oauthAccessToken with a plain-text accessToken); 1.6 only
//   API_KEYS=1            the api-key plugin (@better-auth/api-key, defaults), plus two test-only
//                         routes calling its server-only endpoints: POST /test/api-keys
//                         (auth.api.createApiKey with the JSON body) and POST /test/api-keys/verify
//                         (auth.api.verifyApiKey with the JSON body: { key, configId? })
//   API_KEY_CONFIGS       with API_KEYS=1: the plugin's configuration array, as JSON (e.g.
//                         [{"configId":"default"},{"configId":"org","references":"organization"}])
//                         instead of its defaults
//   ACCESS_CONTROL=1      the admin and organization plugins with the app's own roles from
//                         access-control.mjs (organization on, dynamicAccessControl enabled),
//                         ADMIN_USER_IDS (comma-separated) as adminUserIds; plus a test-only route
//                         POST /test/access/authorize {role, permissions, connector, organization?}
//                         answering Better Auth's own role(...).authorize(permissions, connector)
//                         for each comma-separated role (the connector the endpoints do not take);
//                         asPlugin, organizationId and batches: see authorizeEach below
//   SERIAL_IDS=1          advanced.database.generateId: "serial" (integer ids: organization N and
//                         user N share the number N)
//
// It creates its schema with Better Auth's own migrator, listens on 127.0.0.1 and prints one JSON
// line {"port": N, "betterAuth": "<version>"} on stdout when ready.
import http from "node:http";
import { readFileSync } from "node:fs";
import { betterAuth } from "better-auth";
import { admin, anonymous, bearer, jwt, multiSession, organization, username } from "better-auth/plugins";
import { getMigrations } from "better-auth/db/migration";
import { toNodeHandler } from "better-auth/node";
import pg from "pg";
import { Redis } from "ioredis";
import { redisStorage } from "@better-auth/redis-storage";
import { apiKey } from "@better-auth/api-key";

// Naive `timestamp` columns (the drizzle profile) receive node-pg's local wall clock: keep it UTC.
process.env.TZ = "UTC";

const env = process.env;
const required = (name) => {
  if (!env[name]) {
    console.error(`${name} is required`);
    process.exit(2);
  }
  return env[name];
};
const profile = env.BA_PROFILE || "default";
const schema = env.DB_SCHEMA;
if (schema && !/^[a-z_][a-z0-9_]*$/.test(schema)) {
  console.error("DB_SCHEMA must be a plain identifier");
  process.exit(2);
}
const pool = new pg.Pool({
  connectionString: required("DATABASE_URL"),
  options: schema ? `-c search_path=${schema}` : undefined,
  max: 4,
});

const snake = (names) => Object.fromEntries(names.map((n) => [n, n.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`)]));
const snakeUser = snake(["emailVerified", "createdAt", "updatedAt"]);
const snakeSession = snake(["expiresAt", "createdAt", "updatedAt", "ipAddress", "userAgent", "userId"]);
const snakeAdmin = {
  user: { fields: snake(["banReason", "banExpires"]) },
  session: { fields: snake(["impersonatedBy"]) },
};

const keyPairs = {
  EdDSA: { alg: "EdDSA", crv: "Ed25519" },
  ES256: { alg: "ES256", crv: "P-256" },
  ES512: { alg: "ES512", crv: "P-521" },
  PS256: { alg: "PS256", modulusLength: 2048 },
  RS256: { alg: "RS256", modulusLength: 2048 },
};
function jwtOptions() {
  const alg = env.JWT_ALG || "EdDSA";
  if (!keyPairs[alg]) {
    console.error(`unknown JWT_ALG ${alg}`);
    process.exit(2);
  }
  return { jwks: { keyPairConfig: keyPairs[alg] }, sessionCookieCache: env.COOKIE_CACHE_PLUGIN === "1" };
}

const server = http.createServer();
await new Promise((resolve) => server.listen(Number(env.PORT || 0), "127.0.0.1", resolve));
const port = server.address().port;

const options = {
  database: pool,
  secret: required("BETTER_AUTH_SECRET"),
  baseURL: env.BETTER_AUTH_URL || `http://127.0.0.1:${port}`,
  emailAndPassword: { enabled: true, autoSignIn: true },
  session: {
    expiresIn: Number(env.SESSION_EXPIRES_IN || 60 * 60 * 24 * 7),
    updateAge: Number(env.SESSION_UPDATE_AGE || 60 * 60 * 24),
    ...(env.COOKIE_CACHE
      ? {
          cookieCache: {
            enabled: true,
            strategy: env.COOKIE_CACHE,
            maxAge: Number(env.COOKIE_CACHE_MAX_AGE || 300),
            ...(env.COOKIE_CACHE_VERSION ? { version: env.COOKIE_CACHE_VERSION } : {}),
          },
        }
      : {}),
  },
  advanced: {
    useSecureCookies: env.SECURE_COOKIES === "1",
    ...(env.COOKIE_PREFIX ? { cookiePrefix: env.COOKIE_PREFIX } : {}),
    ...(env.SESSION_COOKIE_NAME ? { cookies: { session_token: { name: env.SESSION_COOKIE_NAME } } } : {}),
  },
  plugins: [bearer(), jwt(jwtOptions())],
  logger: { level: "error" },
};
const accessControl = env.ACCESS_CONTROL === "1" ? await import("./access-control.mjs") : null;
// Imported only with the app's roles (the organization plugin's own hasPermission and parseRoles,
// for the test-only route below).
const organizationPlugin = accessControl ? await import("better-auth/plugins/organization") : null;
if (profile !== "noadmin") {
  const adminOptions = profile === "default" ? {} : { schema: snakeAdmin };
  if (accessControl) {
    Object.assign(adminOptions, {
      ac: accessControl.ac,
      roles: accessControl.roles,
      defaultRole: accessControl.defaultRole,
      adminRoles: accessControl.adminRoles,
      adminUserIds: env.ADMIN_USER_IDS ? env.ADMIN_USER_IDS.split(",") : [],
    });
  }
  options.plugins.push(admin(adminOptions));
}
if (profile === "renamed") {
  options.user = { modelName: "users", fields: snakeUser };
  options.session = { ...options.session, modelName: "user_sessions", fields: snakeSession };
  options.advanced.database = { generateId: "uuid" };
} else if (profile === "drizzle") {
  options.user = { fields: snakeUser };
  options.session = { ...options.session, fields: snakeSession };
} else if (profile !== "default" && profile !== "noadmin") {
  console.error(`unknown BA_PROFILE ${profile}`);
  process.exit(2);
}

if (env.USER_PLUGINS === "1") {
  options.plugins.push(anonymous(), username());
  options.user = {
    ...options.user,
    additionalFields: { plan: { type: "string", required: false, defaultValue: "free", input: false } },
  };
}
if (env.MULTI_SESSION === "1") {
  options.plugins.push(multiSession());
}
if (env.API_KEYS === "1") {
  options.plugins.push(env.API_KEY_CONFIGS ? apiKey(JSON.parse(env.API_KEY_CONFIGS)) : apiKey());
}
if (env.SERIAL_IDS === "1") {
  options.advanced.database = { ...options.advanced.database, generateId: "serial" };
}
if (env.LEGACY_OAUTH === "1") {
  // Imported only when asked for: 1.7 no longer ships it.
  const { oidcProvider } = await import("better-auth/plugins");
  options.plugins.push(oidcProvider({ loginPage: "/login" }));
}
if (env.OAUTH_PROVIDER === "1") {
  // Imported only when asked for: only the 1.7 harness installs it.
  const { oauthProvider } = await import("@better-auth/oauth-provider");
  options.plugins.push(
    oauthProvider({
      loginPage: "/login",
      consentPage: "/consent",
      scopes: ["openid", "profile", "email", "offline_access", "read", "write"],
      // A second registered resource: a token for it is not one for the first.
      resources: [options.baseURL, `${options.baseURL}/other-api`],
      // Opaque access tokens (issued without a resource) carry a prefix the authorizer
      // recognises them by (BETTER_AUTH_OAUTH_OPAQUE_PREFIX).
      prefix: { opaqueAccessToken: "bao_" },
      enforcePerClientResources: false,
      // The test harness lets any signed-in user register machine clients.
      clientPrivileges: () => true,
    }),
  );
}
const organizationOptions = accessControl && {
  teams: { enabled: true },
  ac: accessControl.organizationAc,
  roles: accessControl.organizationRoles,
  creatorRole: accessControl.creatorRole,
  dynamicAccessControl: { enabled: true },
};
if (accessControl) {
  options.plugins.push(organization(organizationOptions));
} else if (env.ORGANIZATION === "1") {
  options.plugins.push(organization({ teams: { enabled: true } }));
}

let redis;
if (env.BA_REDIS_URL) {
  redis = new Redis(env.BA_REDIS_URL);
  options.secondaryStorage = redisStorage({
    client: redis,
    ...(env.BA_REDIS_PREFIX !== undefined ? { keyPrefix: env.BA_REDIS_PREFIX } : {}),
  });
  options.session.storeSessionInDatabase = env.STORE_SESSION_IN_DATABASE === "1";
  options.session.preserveSessionInDatabase = env.PRESERVE_SESSION_IN_DATABASE === "1";
}

const auth = betterAuth(options);
const { runMigrations } = await getMigrations(auth.options);
await runMigrations();

const handler = toNodeHandler(auth);
const readJson = (req) =>
  new Promise((resolve, reject) => {
    let body = "";
    req.on("data", (chunk) => (body += chunk));
    req.on("end", () => {
      try {
        resolve(JSON.parse(body || "{}"));
      } catch (e) {
        reject(e);
      }
    });
  });
const answer = (res, status, value) =>
  res.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify(value));
// The plugins' server-only endpoints, for the tests (never in a real deployment).
//
// With `asPlugin: true` the role is read as the plugin's hasPermission reads it: the admin
// plugin's `role || defaultRole || "user"` split on "," as is (admin/has-permission.mjs), the
// organization plugin's list trimmed by its own parseRoles. With `organizationId` (organization,
// no top-level connector) the answer is the organization plugin's own exported hasPermission,
// the organization's dynamic roles merged in (the endpoint's body schema refuses the object form
// {actions, connector}; the function takes it). An array body is a batch: an array of answers.
const authorizeEach = async ({ role, permissions, connector, organization: inOrganization, organizationId, asPlugin }) => {
  if (inOrganization && organizationId !== undefined && (connector ?? "AND") === "AND") {
    const context = await auth.$context;
    const success = await organizationPlugin.hasPermission(
      { role: String(role ?? ""), options: organizationOptions, permissions, organizationId },
      { context },
    );
    return { success };
  }
  const table = inOrganization ? accessControl.organizationRoles : accessControl.roles;
  let names = String(role).split(",");
  if (asPlugin && inOrganization) names = organizationPlugin.parseRoles(String(role ?? "")).split(",");
  if (asPlugin && !inOrganization) names = String(role || accessControl.defaultRole || "user").split(",");
  return { success: names.some((name) => table[name]?.authorize(permissions, connector)?.success === true) };
};
const testRoutes = {
  "/test/access/authorize":
    accessControl &&
    (async (body) => (Array.isArray(body) ? Promise.all(body.map(authorizeEach)) : authorizeEach(body))),
  "/test/api-keys": env.API_KEYS === "1" && ((body) => auth.api.createApiKey({ body })),
  "/test/api-keys/verify": env.API_KEYS === "1" && ((body) => auth.api.verifyApiKey({ body })),
  "/test/oauth/client":
    env.OAUTH_PROVIDER === "1" && ((body, headers) => auth.api.adminCreateOAuthClient({ body, headers })),
};
server.on("request", (req, res) => {
  if (req.url === "/health") {
    res.writeHead(200, { "content-type": "text/plain" }).end("ok");
    return;
  }
  const route = req.method === "POST" && testRoutes[req.url];
  if (route) {
    readJson(req)
      .then((body) => route(body, new Headers(Object.entries(req.headers))))
      .then((value) => answer(res, 200, value))
      .catch((error) =>
        answer(res, error?.statusCode || 500, {
          error: String(error?.message || error),
          code: error?.body?.code,
          detail: error?.body,
        }),
      );
    return;
  }
  handler(req, res);
});
const stop = () =>
  server.close(() =>
    pool
      .end()
      .then(() => redis?.quit())
      .finally(() => process.exit(0)),
  );
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
// Which Better Auth answered (resolved from this file's directory: the symlinked 1.6 harness
// resolves its own).
const betterAuthVersion = JSON.parse(
  readFileSync(new URL("./node_modules/better-auth/package.json", import.meta.url), "utf8"),
).version;
console.log(JSON.stringify({ port, betterAuth: betterAuthVersion }));
