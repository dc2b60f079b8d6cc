CREATE TABLE "pick_batches" (
	"id" bigint PRIMARY KEY GENERATED ALWAYS AS IDENTITY (sequence name "pick_batches_id_seq" INCREMENT BY 1 MINVALUE 1 MAXVALUE 9223372036854775807 START WITH 1 CACHE 1),
	"account_id" bigint NOT NULL,
	"name" text NOT NULL,
	"state" text DEFAULT 'open' NOT NULL,
	"created_by" bigint,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "pick_batches_state_check" CHECK ("pick_batches"."state" in ('open', 'done'))
);
--> statement-breakpoint
CREATE TABLE "pick_batch_orders" (
	"batch_id" bigint NOT NULL,
	"order_id" bigint NOT NULL,
	"account_id" bigint NOT NULL,
	"tote" text NOT NULL,
	"position" integer NOT NULL,
	"added_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "pick_batch_orders_batch_id_order_id_pk" PRIMARY KEY("batch_id","order_id")
);
--> statement-breakpoint
CREATE TABLE "pick_batch_items" (
	"id" bigint PRIMARY KEY GENERATED ALWAYS AS IDENTITY (sequence name "pick_batch_items_id_seq" INCREMENT BY 1 MINVALUE 1 MAXVALUE 9223372036854775807 START WITH 1 CACHE 1),
	"account_id" bigint NOT NULL,
	"batch_id" bigint NOT NULL,
	"key" text NOT NULL,
	"lot_id" bigint,
	"location" text,
	"item_type" text NOT NULL,
	"item_no" text,
	"color_id" text,
	"color_name" text,
	"condition" text NOT NULL,
	"name" text NOT NULL,
	"marketplace" text NOT NULL,
	"image" text,
	"quantity" integer NOT NULL,
	"walk" integer DEFAULT 0 NOT NULL,
	"breakdown" jsonb DEFAULT '[]'::jsonb NOT NULL,
	"state" text DEFAULT 'open' NOT NULL,
	"found_qty" integer,
	"claimed_by" bigint,
	"claimed_at" timestamp with time zone,
	"done_by" bigint,
	"done_at" timestamp with time zone,
	"version" integer DEFAULT 0 NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "pick_batch_items_state_check" CHECK ("pick_batch_items"."state" in ('open', 'picked', 'short'))
);
--> statement-breakpoint
CREATE TABLE "pick_shortages" (
	"id" bigint PRIMARY KEY GENERATED ALWAYS AS IDENTITY (sequence name "pick_shortages_id_seq" INCREMENT BY 1 MINVALUE 1 MAXVALUE 9223372036854775807 START WITH 1 CACHE 1),
	"account_id" bigint NOT NULL,
	"batch_id" bigint NOT NULL,
	"item_id" bigint NOT NULL,
	"lot_id" bigint,
	"order_id" bigint NOT NULL,
	"order_line_id" bigint NOT NULL,
	"quantity" integer NOT NULL,
	"user_id" bigint,
	"note" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "pick_shortages_quantity_positive" CHECK ("pick_shortages"."quantity" > 0)
);
--> statement-breakpoint
ALTER TABLE "pick_batches" ADD CONSTRAINT "pick_batches_account_id_accounts_id_fk" FOREIGN KEY ("account_id") REFERENCES "public"."accounts"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "pick_batches" ADD CONSTRAINT "pick_batches_created_by_users_id_fk" FOREIGN KEY ("created_by") REFERENCES "public"."users"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "pick_batch_orders" ADD CONSTRAINT "pick_batch_orders_batch_id_pick_batches_id_fk" FOREIGN KEY ("batch_id") REFERENCES "public"."pick_batches"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "pick_batch_orders" ADD CONSTRAINT "pick_batch_orders_order_id_orders_id_fk" FOREIGN KEY ("order_id") REFERENCES "public"."orders"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "pick_batch_orders" ADD CONSTRAINT "pick_batch_orders_account_id_accounts_id_fk" FOREIGN KEY ("account_id") REFERENCES "public"."accounts"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "pick_batch_items" ADD CONSTRAINT "pick_batch_items_account_id_accounts_id_fk" FOREIGN KEY ("account_id") REFERENCES "public"."accounts"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "pick_batch_items" ADD CONSTRAINT "pick_batch_items_batch_id_pick_batches_id_fk" FOREIGN KEY ("batch_id") REFERENCES "public"."pick_batches"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "pick_batch_items" ADD CONSTRAINT "pick_batch_items_lot_id_inventory_lots_id_fk" FOREIGN KEY ("lot_id") REFERENCES "public"."inventory_lots"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "pick_batch_items" ADD CONSTRAINT "pick_batch_items_claimed_by_users_id_fk" FOREIGN KEY ("claimed_by") REFERENCES "public"."users"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "pick_batch_items" ADD CONSTRAINT "pick_batch_items_done_by_users_id_fk" FOREIGN KEY ("done_by") REFERENCES "public"."users"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "pick_shortages" ADD CONSTRAINT "pick_shortages_account_id_accounts_id_fk" FOREIGN KEY ("account_id") REFERENCES "public"."accounts"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "pick_shortages" ADD CONSTRAINT "pick_shortages_batch_id_pick_batches_id_fk" FOREIGN KEY ("batch_id") REFERENCES "public"."pick_batches"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "pick_shortages" ADD CONSTRAINT "pick_shortages_item_id_pick_batch_items_id_fk" FOREIGN KEY ("item_id") REFERENCES "public"."pick_batch_items"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "pick_shortages" ADD CONSTRAINT "pick_shortages_lot_id_inventory_lots_id_fk" FOREIGN KEY ("lot_id") REFERENCES "public"."inventory_lots"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "pick_shortages" ADD CONSTRAINT "pick_shortages_order_id_orders_id_fk" FOREIGN KEY ("order_id") REFERENCES "public"."orders"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "pick_shortages" ADD CONSTRAINT "pick_shortages_order_line_id_order_lines_id_fk" FOREIGN KEY ("order_line_id") REFERENCES "public"."order_lines"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "pick_shortages" ADD CONSTRAINT "pick_shortages_user_id_users_id_fk" FOREIGN KEY ("user_id") REFERENCES "public"."users"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
CREATE UNIQUE INDEX "pick_batches_account_open_name_key" ON "pick_batches" USING btree ("account_id",lower("name")) WHERE "pick_batches"."state" = 'open';--> statement-breakpoint
CREATE INDEX "pick_batches_account_idx" ON "pick_batches" USING btree ("account_id","created_at");--> statement-breakpoint
CREATE INDEX "pick_batch_orders_order_idx" ON "pick_batch_orders" USING btree ("order_id");--> statement-breakpoint
CREATE UNIQUE INDEX "pick_batch_items_batch_key" ON "pick_batch_items" USING btree ("batch_id","key");--> statement-breakpoint
CREATE INDEX "pick_batch_items_batch_walk_idx" ON "pick_batch_items" USING btree ("batch_id","walk");--> statement-breakpoint
CREATE INDEX "pick_shortages_lot_idx" ON "pick_shortages" USING btree ("lot_id");--> statement-breakpoint
CREATE INDEX "pick_shortages_order_idx" ON "pick_shortages" USING btree ("order_id");
