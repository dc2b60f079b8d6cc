-- The order counts move only for rows whose account, marketplace or status changed, and every
-- statement touches its count rows in one fixed order. An update that changes no status (details
-- arriving for a listed order, a note, a hold) then locks no count row at all, and concurrent syncs
-- of one account's stores no longer deadlock on them.
CREATE OR REPLACE FUNCTION orderhub_order_counts_add() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO order_counts (account_id, marketplace, status, n)
    SELECT account_id, marketplace, status, count(*) FROM orderhub_new GROUP BY 1, 2, 3 ORDER BY 1, 2, 3
  ON CONFLICT (account_id, marketplace, status) DO UPDATE SET n = order_counts.n + excluded.n;
  RETURN NULL;
END $$;
--> statement-breakpoint
CREATE OR REPLACE FUNCTION orderhub_order_counts_move() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO order_counts (account_id, marketplace, status, n)
    SELECT account_id, marketplace, status, sum(n)::bigint FROM (
      SELECT o.account_id, o.marketplace, o.status, -1 AS n
        FROM orderhub_old o JOIN orderhub_new w ON w.id = o.id
        WHERE (o.account_id, o.marketplace, o.status) IS DISTINCT FROM (w.account_id, w.marketplace, w.status)
      UNION ALL
      SELECT w.account_id, w.marketplace, w.status, 1 AS n
        FROM orderhub_old o JOIN orderhub_new w ON w.id = o.id
        WHERE (o.account_id, o.marketplace, o.status) IS DISTINCT FROM (w.account_id, w.marketplace, w.status)
    ) moved
    GROUP BY 1, 2, 3 HAVING sum(n) <> 0 ORDER BY 1, 2, 3
  ON CONFLICT (account_id, marketplace, status) DO UPDATE SET n = order_counts.n + excluded.n;
  RETURN NULL;
END $$;
