-- Better Auth with renamed models and fields (modelName: "users" / "user_sessions", snake_case
-- `fields`) and generateId: "uuid", admin plugin on.
create table "users" ("id" uuid not null primary key, "name" text not null, "email" text not null unique,
  "email_verified" boolean not null, "image" text,
  "created_at" timestamptz default CURRENT_TIMESTAMP not null, "updated_at" timestamptz default CURRENT_TIMESTAMP not null,
  "role" text, "banned" boolean, "ban_reason" text, "ban_expires" timestamptz);
create table "user_sessions" ("id" uuid not null primary key, "expires_at" timestamptz not null, "token" text not null unique,
  "created_at" timestamptz default CURRENT_TIMESTAMP not null, "updated_at" timestamptz not null,
  "ip_address" text, "user_agent" text, "user_id" uuid not null references "users" ("id") on delete cascade,
  "impersonated_by" text);
create index "user_sessions_user_id_idx" on "user_sessions" ("user_id");
