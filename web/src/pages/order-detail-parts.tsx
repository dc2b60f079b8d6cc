import type { LineLot, Money, OrderDetail } from "../api.ts";
import { CopyButton } from "../components/ui.tsx";
import { marketplaceName } from "../format.ts";

/** Ship-to as a label prints it (country named when abroad); "Copy address" copies the same lines. */
export function ShipTo({ order }: { order: OrderDetail }) {
  const a = order.shippingAddress;
  const lines = order.shipTo?.lines ?? (a ? a.full.split(/\r?\n/) : []);
  const text = order.shipTo?.text ?? a?.full ?? "";
  return (
    <>
      <h3>Ship to {a ? <CopyButton text={text} label="Copy address" /> : null}</h3>
      <p className="address">{a ? lines.join("\n") : "No shipping address on the order"}</p>
    </>
  );
}

const money = (m: Money) => `${m.display} ${m.currency}`;

/**
 * Subtotal, every component the marketplace charged, the difference where its figures do not add
 * up (as its own, labelled line), the total, and what is already inside it (VAT in the prices).
 */
export function Charges({ order }: { order: OrderDetail }) {
  const c = order.charges;
  if (!c) {
    const t = order.totals;
    return (
      <section className="totals" aria-label="Totals">
        <div>
          <span>Subtotal</span>
          <span className="num">{money(t.subtotal)}</span>
        </div>
        <div className="grand">
          <span>Total</span>
          <span className="num">{money(t.grandTotal)}</span>
        </div>
      </section>
    );
  }
  return (
    <section className="totals" aria-label="Totals">
      <div>
        <span>Subtotal</span>
        <span className="num">{money(c.subtotal)}</span>
      </div>
      {c.rows.map((r, i) => (
        <div
          // biome-ignore lint/suspicious/noArrayIndexKey: two charges may share kind and label
          key={i}
          className={r.kind === "difference" ? "charge-difference" : undefined}
          title={
            r.kind === "difference"
              ? "The marketplace's own figures do not add up to its total by this much"
              : undefined
          }
        >
          <span>{r.label}</span>
          <span className="num">{money(r)}</span>
        </div>
      ))}
      <div className="grand">
        <span>Total</span>
        <span className="num">{money(c.grandTotal)}</span>
      </div>
      {c.included.map((r, i) => (
        // biome-ignore lint/suspicious/noArrayIndexKey: two included taxes may share a label
        <div key={i} className="muted charge-included">
          <span>{r.label}</span>
          <span className="num">{money(r)}</span>
        </div>
      ))}
    </section>
  );
}

/** Under the item: the lot it was matched to (Orderhub's number), then that lot's id on each marketplace. */
export function LotCell({
  line,
  marketplace,
}: {
  line: { lot?: LineLot | null; marketplaceLotId?: string | null };
  marketplace: string;
}) {
  const lot = line.lot;
  if (!lot) {
    return (
      <span className="lot-ref muted" title="Not matched to a stock lot: link it in Inventory">
        Lot: not matched
        {line.marketplaceLotId ? ` · ${marketplaceName(marketplace)} ${line.marketplaceLotId}` : ""}
      </span>
    );
  }
  const seen = new Map<string, number>();
  for (const l of lot.listings) seen.set(l.marketplace, (seen.get(l.marketplace) ?? 0) + 1);
  return (
    <span className="lot-ref">
      <span title="Orderhub lot">Lot #{lot.id}</span>
      {lot.listings.map((l) => (
        <span key={`${l.connectionId}:${l.externalId}`} className="muted">
          {" · "}
          {marketplaceName(l.marketplace)}
          {(seen.get(l.marketplace) ?? 0) > 1 ? ` (${l.connectionName})` : ""}{" "}
          <span className="mono">{l.externalId}</span>
        </span>
      ))}
    </span>
  );
}
