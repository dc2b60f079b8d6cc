DROP INDEX "orders_account_buyer_idx";--> statement-breakpoint
DROP INDEX "orders_account_number_idx";--> statement-breakpoint
CREATE INDEX "orders_account_buyer_c_idx" ON "orders" USING btree ("account_id",("buyer_sort" collate "C"),"id");--> statement-breakpoint
CREATE INDEX "orders_account_number_c_idx" ON "orders" USING btree ("account_id",(lower("number") collate "C"),"id");--> statement-breakpoint
CREATE INDEX "orders_account_external_idx" ON "orders" USING btree ("account_id","external_id");