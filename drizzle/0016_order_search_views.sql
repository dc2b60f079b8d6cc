-- Search: the words an order can be found by (buyer name, username, e-mail, order id, item numbers and part
-- names of its lines), folded in code at write time (lower case, no accents, Ł → l), one row per distinct word.
-- Byte order ("C") lets the primary key serve prefix search on every database.
CREATE TABLE "order_search_terms" (
  "account_id" bigint NOT NULL,
  "term" text COLLATE "C" NOT NULL,
  "order_id" bigint NOT NULL REFERENCES "orders"("id") ON DELETE CASCADE,
  PRIMARY KEY ("account_id", "term", "order_id")
);
--> statement-breakpoint
CREATE INDEX "order_search_terms_order_idx" ON "order_search_terms" USING btree ("order_id");
--> statement-breakpoint
-- buyer_sort was folded in code without the letters that have no accent to strip; fold those too, as the code now does.
UPDATE "orders" SET "buyer_sort" = replace(replace(replace(replace(
    translate("buyer_sort", 'łøđðħıŀŧ', 'loddhilt'), 'ß', 'ss'), 'æ', 'ae'), 'œ', 'oe'), 'þ', 'th')
  WHERE "buyer_sort" ~ '[łøđðħıŀŧßæœþ]';
--> statement-breakpoint
-- Orders stored before this migration: their words, folded in SQL the way the code folds them (each order's
-- next change writes them again from the code).
INSERT INTO "order_search_terms" ("account_id", "term", "order_id")
SELECT DISTINCT t.account_id, t.term, t.order_id FROM (
  SELECT o.account_id, o.id AS order_id, w AS term
    FROM "orders" o, regexp_split_to_table(o.buyer_sort, '[[:space:][:punct:]]+') AS w
    WHERE length(w) >= 2
  UNION ALL
  SELECT o.account_id, o.id, w
    FROM "orders" o, regexp_split_to_table(o.buyer_sort, '[[:space:]]+') AS w
    WHERE length(w) >= 2
  UNION ALL
  SELECT o.account_id, o.id, lower(x)
    FROM "orders" o, unnest(ARRAY[o.buyer_username, o.buyer_email, o.external_id]) AS x
    WHERE x IS NOT NULL AND x <> ''
  UNION ALL
  SELECT l.account_id, l.order_id, lower(x)
    FROM "order_lines" l, unnest(ARRAY[l.item_no, l.sku]) AS x
    WHERE l.removed_at IS NULL AND x IS NOT NULL AND x <> ''
  UNION ALL
  SELECT f.account_id, f.order_id, w
    FROM (
      SELECT l.account_id, l.order_id,
        translate(regexp_replace(normalize(lower(l.name), NFKD), '[\u0300-\u036f]', '', 'g'), 'łøđðħıŀŧ', 'loddhilt') AS name
      FROM "order_lines" l WHERE l.removed_at IS NULL
    ) f,
      LATERAL (
        SELECT regexp_split_to_table(f.name, '[[:space:][:punct:]]+') AS w
        UNION ALL SELECT regexp_split_to_table(f.name, '[[:space:]]+')
      ) ws
    WHERE length(w) >= 2
) t
WHERE length(t.term) <= 100
ON CONFLICT DO NOTHING;
--> statement-breakpoint
-- Saved views: a seller's own filter sets (the orders table's query string), per account.
CREATE TABLE "saved_views" (
  "id" bigint PRIMARY KEY GENERATED ALWAYS AS IDENTITY,
  "account_id" bigint NOT NULL REFERENCES "accounts"("id"),
  "name" text NOT NULL,
  "query" text NOT NULL DEFAULT '',
  "position" integer NOT NULL DEFAULT 0,
  "created_by" bigint REFERENCES "users"("id") ON DELETE SET NULL,
  "created_at" timestamp with time zone DEFAULT now() NOT NULL,
  "updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX "saved_views_account_name_key" ON "saved_views" USING btree ("account_id", lower("name"));
