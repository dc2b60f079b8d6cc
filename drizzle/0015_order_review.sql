-- An order a marketplace reported as moving backwards (an older status than the one Orderhub holds) is flagged for review.
ALTER TABLE "orders" ADD COLUMN "needs_review" boolean DEFAULT false NOT NULL;--> statement-breakpoint
ALTER TABLE "orders" ADD COLUMN "review" jsonb;--> statement-breakpoint
CREATE INDEX "orders_account_review_idx" ON "orders" USING btree ("account_id","ordered_at") WHERE "orders"."needs_review";--> statement-breakpoint
-- Timeline events are ordered by when Orderhub learnt them ("at"); the marketplace's own time for the event goes beside it.
ALTER TABLE "order_events" ADD COLUMN "marketplace_at" timestamp with time zone;--> statement-breakpoint
UPDATE "order_events" SET "marketplace_at" = "at", "at" = "created_at" WHERE "kind" IN ('created', 'status_changed') AND "source" LIKE 'marketplace:%';
