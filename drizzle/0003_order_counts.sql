CREATE TABLE "order_counts" (
	"account_id" bigint NOT NULL,
	"marketplace" text NOT NULL,
	"status" "order_status" NOT NULL,
	"n" bigint DEFAULT 0 NOT NULL,
	CONSTRAINT "order_counts_account_id_marketplace_status_pk" PRIMARY KEY("account_id","marketplace","status")
);
--> statement-breakpoint
ALTER TABLE "order_counts" ADD CONSTRAINT "order_counts_account_id_accounts_id_fk" FOREIGN KEY ("account_id") REFERENCES "public"."accounts"("id") ON DELETE no action ON UPDATE no action;