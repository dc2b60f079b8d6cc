CREATE TABLE "rate_limits" (
	"connection_id" bigint NOT NULL,
	"key" text NOT NULL,
	"window_start" timestamp with time zone,
	"used" integer DEFAULT 0 NOT NULL,
	"slots" jsonb,
	"tokens" double precision,
	"refilled_at" timestamp with time zone,
	"learned_limit" integer,
	"learned_rate" double precision,
	"blocked_until" timestamp with time zone,
	CONSTRAINT "rate_limits_connection_id_key_pk" PRIMARY KEY("connection_id","key")
);
--> statement-breakpoint
ALTER TABLE "rate_limits" ADD CONSTRAINT "rate_limits_connection_id_connections_id_fk" FOREIGN KEY ("connection_id") REFERENCES "public"."connections"("id") ON DELETE cascade ON UPDATE no action;
