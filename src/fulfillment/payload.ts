import type { ShipmentLine } from "../marketplaces/types.ts";

/** One marketplace call of a fulfilment push; a push runs its steps in order and remembers progress. */
export type Step =
  | {
      op: "shipment";
      carrier: string | null;
      trackingNumber: string | null;
      trackingUrl: string | null;
      shippedAt: string;
      /** The lines of this parcel (marketplaces that ship by line); absent or null for the whole order. */
      lines?: ShipmentLine[] | null;
    }
  | { op: "status"; rawStatus: string }
  /** A message the marketplace offers when an order ships (its shipments port lists them). */
  | { op: "extra"; id: string }
  /** Rows queued before extras existed: the same as `{ op: "extra", id: "drive_thru" }`. */
  | { op: "drive_thru" };

export interface FulfilmentPayload {
  action: "ship" | "status";
  marketplace: string;
  externalOrderId: string;
  number: string;
  steps: Step[];
  /** Steps already done (a retry continues from here). */
  done: number;
  /** The last attempt may have been applied: read back before repeating it. */
  ambiguous?: boolean;
  combinedWith?: string[];
  /** An automation rule asked for it: its landing does not run status rules again (no loops). */
  ruleId?: number;
  /** What the marketplace answered to the shipment step (its shipment id, where it gives one). */
  receipt?: { externalShipmentId: string | null };
}

export const FULFILMENT_KIND = "fulfilment";
