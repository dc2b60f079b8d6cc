ALTER TABLE "listings" ADD COLUMN "stock_baseline_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "listings" ADD COLUMN "stock_baseline_order_id" bigint;--> statement-breakpoint
ALTER TABLE "inventory_lots" ADD COLUMN "flag_reason" text;--> statement-breakpoint
ALTER TABLE "inventory_lots" ADD COLUMN "flagged_at" timestamp with time zone;--> statement-breakpoint
CREATE INDEX "inventory_lots_flagged_idx" ON "inventory_lots" USING btree ("account_id","flagged_at") WHERE "flagged_at" is not null;
