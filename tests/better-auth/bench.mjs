// Better Auth's own `auth.api.getSession` against the benchmark database: the peer a user would
// otherwise call. Run by `make bench` (bench/src/better_auth.rs), one process per core at the
// saturating concurrency. Configured by environment:
//
//   DATABASE_URL        the benchmark database (required)
//   BETTER_AUTH_SECRET  the secret its cookies are signed with (required)
//   COOKIES_FILE        one signed session cookie value per line (required)
//   OPS                 getSession calls to measure (default 5000)
//   WARMUP              unmeasured calls first (default 500)
//   CONCURRENCY         calls in flight at once (default 1); also the pool size
//   START_AT            epoch milliseconds to start measuring at (lines up several processes)
//
// Prints one JSON line: {"latencies_us": [...], "started_ms": N, "ended_ms": N, "wrong": N}.
import { readFileSync } from "node:fs";
import { betterAuth } from "better-auth";
import { admin, bearer } from "better-auth/plugins";
import pg from "pg";

const env = process.env;
for (const name of ["DATABASE_URL", "BETTER_AUTH_SECRET", "COOKIES_FILE"]) {
  if (!env[name]) {
    console.error(`${name} is required`);
    process.exit(2);
  }
}
const ops = Number(env.OPS || 5000);
const warmup = Number(env.WARMUP || 500);
const concurrency = Number(env.CONCURRENCY || 1);
const cookies = readFileSync(env.COOKIES_FILE, "utf8").split("\n").filter(Boolean);

// The same defaults a Better Auth app has (admin and bearer plugins as in the tests' server);
// the session is 7 days old at most, so getSession never refreshes it (no writes).
const auth = betterAuth({
  database: new pg.Pool({ connectionString: env.DATABASE_URL, max: concurrency }),
  secret: env.BETTER_AUTH_SECRET,
  baseURL: "http://127.0.0.1:3000",
  emailAndPassword: { enabled: true },
  plugins: [bearer(), admin()],
  logger: { level: "error" },
  telemetry: { enabled: false },
});

let wrong = 0;
async function one(i) {
  const headers = new Headers({ cookie: `better-auth.session_token=${cookies[i % cookies.length]}` });
  const started = process.hrtime.bigint();
  const result = await auth.api.getSession({ headers });
  const took = Number(process.hrtime.bigint() - started) / 1000;
  if (!result || !result.user || !result.session) wrong++;
  return took;
}

async function run(count, offset, latencies) {
  let next = 0;
  const worker = async () => {
    while (next < count) {
      const i = next++;
      const took = await one(offset + i);
      if (latencies) latencies.push(took);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
}

await run(warmup, 0, null);
wrong = 0;
const startAt = Number(env.START_AT || 0);
while (Date.now() < startAt) await new Promise((r) => setTimeout(r, 1));
const latencies = [];
const startedMs = performance.timeOrigin + performance.now();
await run(ops, warmup, latencies);
const endedMs = performance.timeOrigin + performance.now();
// Large output to a pipe is written asynchronously: exit only once it is all out.
process.stdout.write(JSON.stringify({ latencies_us: latencies, started_ms: startedMs, ended_ms: endedMs, wrong }) + "\n", () =>
  process.exit(0),
);
