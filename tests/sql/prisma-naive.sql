-- The schema Better Auth's Prisma generator gives (camelCase columns, `timestamp(3)` without
-- time zone holding UTC), admin plugin on. Also what Better Auth's own migrator made before 1.3.11.
create table "user" ("id" text not null primary key, "name" text not null, "email" text not null unique,
  "emailVerified" boolean not null default false, "image" text,
  "createdAt" timestamp(3) not null default CURRENT_TIMESTAMP, "updatedAt" timestamp(3) not null default CURRENT_TIMESTAMP,
  "role" text, "banned" boolean default false, "banReason" text, "banExpires" timestamp(3));
create table "session" ("id" text not null primary key, "expiresAt" timestamp(3) not null, "token" text not null unique,
  "createdAt" timestamp(3) not null default CURRENT_TIMESTAMP, "updatedAt" timestamp(3) not null,
  "ipAddress" text, "userAgent" text, "userId" text not null references "user" ("id") on delete cascade,
  "impersonatedBy" text);
