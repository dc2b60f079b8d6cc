-- Keep order_counts in step with orders, one aggregate per statement (bulk inserts stay cheap).
CREATE FUNCTION orderhub_order_counts_add() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO order_counts (account_id, marketplace, status, n)
    SELECT account_id, marketplace, status, count(*) FROM orderhub_new GROUP BY 1, 2, 3
  ON CONFLICT (account_id, marketplace, status) DO UPDATE SET n = order_counts.n + excluded.n;
  RETURN NULL;
END $$;
--> statement-breakpoint
CREATE FUNCTION orderhub_order_counts_remove() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  UPDATE order_counts c SET n = c.n - d.n
    FROM (SELECT account_id, marketplace, status, count(*) AS n FROM orderhub_old GROUP BY 1, 2, 3) d
    WHERE c.account_id = d.account_id AND c.marketplace = d.marketplace AND c.status = d.status;
  RETURN NULL;
END $$;
--> statement-breakpoint
CREATE FUNCTION orderhub_order_counts_move() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  UPDATE order_counts c SET n = c.n - d.n
    FROM (SELECT account_id, marketplace, status, count(*) AS n FROM orderhub_old GROUP BY 1, 2, 3) d
    WHERE c.account_id = d.account_id AND c.marketplace = d.marketplace AND c.status = d.status;
  INSERT INTO order_counts (account_id, marketplace, status, n)
    SELECT account_id, marketplace, status, count(*) FROM orderhub_new GROUP BY 1, 2, 3
  ON CONFLICT (account_id, marketplace, status) DO UPDATE SET n = order_counts.n + excluded.n;
  RETURN NULL;
END $$;
--> statement-breakpoint
CREATE TRIGGER orders_counts_insert AFTER INSERT ON orders REFERENCING NEW TABLE AS orderhub_new
  FOR EACH STATEMENT EXECUTE FUNCTION orderhub_order_counts_add();
--> statement-breakpoint
CREATE TRIGGER orders_counts_delete AFTER DELETE ON orders REFERENCING OLD TABLE AS orderhub_old
  FOR EACH STATEMENT EXECUTE FUNCTION orderhub_order_counts_remove();
--> statement-breakpoint
CREATE TRIGGER orders_counts_update AFTER UPDATE ON orders REFERENCING OLD TABLE AS orderhub_old NEW TABLE AS orderhub_new
  FOR EACH STATEMENT EXECUTE FUNCTION orderhub_order_counts_move();
--> statement-breakpoint
INSERT INTO order_counts (account_id, marketplace, status, n)
  SELECT account_id, marketplace, status, count(*) FROM orders GROUP BY 1, 2, 3
ON CONFLICT (account_id, marketplace, status) DO UPDATE SET n = excluded.n;
