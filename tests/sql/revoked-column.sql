-- The seeds' variant: sessions in "user_sessions" with a custom "revoked" flag, no admin plugin.
create table "user" ("id" text not null primary key, "name" text not null, "email" text not null unique,
  "emailVerified" boolean not null, "image" text,
  "createdAt" timestamptz default CURRENT_TIMESTAMP not null, "updatedAt" timestamptz default CURRENT_TIMESTAMP not null);
create table "user_sessions" ("id" text not null primary key, "expiresAt" timestamptz not null, "token" text not null unique,
  "createdAt" timestamptz default CURRENT_TIMESTAMP not null, "updatedAt" timestamptz not null,
  "ipAddress" text, "userAgent" text, "userId" text not null references "user" ("id") on delete cascade,
  "revoked" boolean not null default false);
