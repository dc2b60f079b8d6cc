-- Orders stored from the marketplace's order list alone ("summary rows"): number, buyer, date, status
-- and total are there, lines and address come when the details are fetched. 'complete' for every
-- order stored before, 'pending' while details wait, 'unavailable' where the marketplace gives none.
ALTER TABLE "orders" ADD COLUMN "details" text DEFAULT 'complete' NOT NULL;
--> statement-breakpoint
ALTER TABLE "orders" ADD CONSTRAINT "orders_details_check" CHECK ("details" in ('complete', 'pending', 'unavailable'));
--> statement-breakpoint
CREATE INDEX "orders_details_backlog_idx" ON "orders" USING btree ("connection_id","ordered_at") WHERE "details" = 'pending';
