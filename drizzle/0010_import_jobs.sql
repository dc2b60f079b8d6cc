CREATE TABLE "import_jobs" (
	"id" bigint PRIMARY KEY GENERATED ALWAYS AS IDENTITY (sequence name "import_jobs_id_seq" INCREMENT BY 1 MINVALUE 1 MAXVALUE 9223372036854775807 START WITH 1 CACHE 1),
	"account_id" bigint NOT NULL,
	"user_id" bigint,
	"kind" text NOT NULL,
	"name" text NOT NULL,
	"state" text DEFAULT 'queued' NOT NULL,
	"total" integer DEFAULT 0 NOT NULL,
	"done" integer DEFAULT 0 NOT NULL,
	"created" integer DEFAULT 0 NOT NULL,
	"added" integer DEFAULT 0 NOT NULL,
	"error" text,
	"cancel_requested" boolean DEFAULT false NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"started_at" timestamp with time zone,
	"finished_at" timestamp with time zone
);
--> statement-breakpoint
CREATE TABLE "import_job_lines" (
	"job_id" bigint NOT NULL,
	"seq" integer NOT NULL,
	"line" text NOT NULL,
	"item_type" text NOT NULL,
	"item_no" text NOT NULL,
	"color_id" text,
	"color_name" text,
	"condition" text NOT NULL,
	"quantity" integer NOT NULL,
	"price" bigint,
	"location" text,
	"description" text,
	CONSTRAINT "import_job_lines_job_id_seq_pk" PRIMARY KEY("job_id","seq")
);
--> statement-breakpoint
CREATE TABLE "import_job_created_lots" (
	"job_id" bigint NOT NULL,
	"lot_id" bigint NOT NULL,
	CONSTRAINT "import_job_created_lots_job_id_lot_id_pk" PRIMARY KEY("job_id","lot_id")
);
--> statement-breakpoint
ALTER TABLE "import_jobs" ADD CONSTRAINT "import_jobs_account_id_accounts_id_fk" FOREIGN KEY ("account_id") REFERENCES "public"."accounts"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "import_jobs" ADD CONSTRAINT "import_jobs_user_id_users_id_fk" FOREIGN KEY ("user_id") REFERENCES "public"."users"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "import_job_lines" ADD CONSTRAINT "import_job_lines_job_id_import_jobs_id_fk" FOREIGN KEY ("job_id") REFERENCES "public"."import_jobs"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "import_job_created_lots" ADD CONSTRAINT "import_job_created_lots_job_id_import_jobs_id_fk" FOREIGN KEY ("job_id") REFERENCES "public"."import_jobs"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "import_jobs_account_idx" ON "import_jobs" USING btree ("account_id","created_at");--> statement-breakpoint
CREATE INDEX "inventory_lots_import_key_idx" ON "inventory_lots" USING btree ("account_id",lower("item_no"),coalesce("color_id", ''),"condition",coalesce("location", ''));
