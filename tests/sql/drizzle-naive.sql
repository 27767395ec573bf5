-- The schema Better Auth's Drizzle generator emits for PostgreSQL (snake_case columns,
-- `timestamp` without time zone holding UTC), admin plugin on.
create table "user" ("id" text primary key, "name" text not null, "email" text not null unique,
  "email_verified" boolean default false not null, "image" text,
  "created_at" timestamp default now() not null, "updated_at" timestamp default now() not null,
  "role" text, "banned" boolean default false, "ban_reason" text, "ban_expires" timestamp);
create table "session" ("id" text primary key, "expires_at" timestamp not null, "token" text not null unique,
  "created_at" timestamp default now() not null, "updated_at" timestamp not null,
  "ip_address" text, "user_agent" text, "user_id" text not null references "user" ("id") on delete cascade,
  "impersonated_by" text);
create index "session_userId_idx" on "session" ("user_id");
