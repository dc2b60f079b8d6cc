-- Every component of an order's total as the marketplace itemises it (shipping, insurance, extra
-- charges, credits, coupons, tax added or included), so the detail and the packing slip add up.
-- Orders stored before this keep [] and are shown from their stored sums until they next change.
ALTER TABLE "orders" ADD COLUMN "charges" jsonb DEFAULT '[]'::jsonb NOT NULL;
