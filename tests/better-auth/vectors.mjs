// Prints the fixed vectors the Rust unit tests check against, made by Better Auth's own code.
// Run: node vectors.mjs (after npm ci). The output is pasted into shared/src/*.rs tests.
import { symmetricEncodeJWT } from "better-auth/crypto";
import { calculateJwkThumbprint, base64url } from "jose";
import { hkdf } from "@noble/hashes/hkdf.js";
import { sha256 } from "@noble/hashes/sha2.js";

const secret = "test-secret-0123456789abcdefghijklmnopqrstuvwxyz";
const salt = "better-auth-session";
const key = hkdf(sha256, new TextEncoder().encode(secret), new TextEncoder().encode(salt),
  new TextEncoder().encode("BetterAuth.js Generated Encryption Key"), 64);
const kid = await calculateJwkThumbprint({ kty: "oct", k: base64url.encode(key) }, "sha256");
const jwe = await symmetricEncodeJWT({ hello: "world" }, secret, salt, 60);
console.log(JSON.stringify({ kid, jwe }, null, 2));

// Cookie caches in the three strategies, written the way Better Auth's setCookieCache writes
// them (same functions, same argument order), at a fixed time.
import { signJWT } from "better-auth/crypto";
import { createHMAC } from "@better-auth/utils/hmac";
import { base64Url } from "@better-auth/utils/base64";

const at = Date.UTC(2026, 10, 22, 10, 0, 0);
Date.now = () => at;
const token = "Vq1mW3pKx9TzR2bLc8NdY4sFh6JgQ0aE";
const sessionData = {
  session: {
    id: "sess_vector", token, userId: "user_vector",
    expiresAt: new Date(at + 7 * 86400e3), createdAt: new Date(at), updatedAt: new Date(at),
    ipAddress: "", userAgent: "", impersonatedBy: null,
  },
  user: {
    id: "user_vector", name: "Vector", email: "vector@example.com", emailVerified: true,
    image: null, createdAt: new Date(at), updatedAt: new Date(at),
    role: "user", banned: false, banReason: null, banExpires: null,
  },
  updatedAt: at,
  version: "1",
};
const expiresAt = at + 300e3;
const compact = base64Url.encode(JSON.stringify({
  session: sessionData,
  expiresAt,
  signature: await createHMAC("SHA-256", "base64urlnopad").sign(secret, JSON.stringify({ ...sessionData, expiresAt })),
}), { padding: false });
const hs256 = await signJWT(sessionData, secret, 300);
const cacheJwe = await symmetricEncodeJWT(sessionData, secret, "better-auth-session", 300);
console.log(JSON.stringify({ token, at, compact, hs256, jwe: cacheJwe }, null, 2));
