import { z } from "zod";
import { addressSchema } from "../core/order.ts";
import { linesCsv, ordersCsv } from "./csv.ts";
import { LABEL_LAYOUT_NAMES, type LabelLayout, renderLabels } from "./labels.ts";
import type { DocOrder, Sender } from "./model.ts";
import { renderPackingSlips } from "./packing-slip.ts";
import type { Paper } from "./pdf.ts";
import { renderPickSheet } from "./pick-sheet.ts";
import { documentFileName } from "./text.ts";

export const DOCUMENT_KINDS = ["labels", "pick-sheet", "packing-slips", "csv-orders", "csv-lines"] as const;
export type DocumentKind = (typeof DOCUMENT_KINDS)[number];

export const documentOptionsSchema = z
  .object({
    layout: z.enum(LABEL_LAYOUT_NAMES as [LabelLayout, ...LabelLayout[]]).optional(),
    startAt: z.number().int().min(1, "is the first free position on the sheet, from 1").max(100).optional(),
    paper: z.enum(["a4", "letter"]).optional(),
  })
  .strict();
export type DocumentOptions = z.infer<typeof documentOptionsSchema>;

/** The account's document settings (accounts.settings.documents). */
export const documentSettingsSchema = z
  .object({
    storeName: z.string().trim().min(1).max(100).optional(),
    email: z.email().max(200).nullable().optional(),
    returnAddress: addressSchema.nullable().optional(),
    paper: z.enum(["a4", "letter"]).optional(),
    labelLayout: z.enum(LABEL_LAYOUT_NAMES as [LabelLayout, ...LabelLayout[]]).optional(),
  })
  .strict();
export type DocumentSettings = z.infer<typeof documentSettingsSchema>;

const FILES: Record<DocumentKind, { name: string; ext: string; type: string }> = {
  labels: { name: "labels", ext: "pdf", type: "application/pdf" },
  "pick-sheet": { name: "pick-sheet", ext: "pdf", type: "application/pdf" },
  "packing-slips": { name: "packing-slips", ext: "pdf", type: "application/pdf" },
  "csv-orders": { name: "orders", ext: "csv", type: "text/csv; charset=utf-8" },
  "csv-lines": { name: "order-lines", ext: "csv", type: "text/csv; charset=utf-8" },
};

export interface RenderedDocument {
  fileName: string;
  contentType: string;
  body: Buffer;
}

/** Renders one document for the orders (pure: data in, bytes out). */
export async function renderDocument(
  kind: DocumentKind,
  orders: DocOrder[],
  ctx: { sender: Sender; settings: DocumentSettings; timeZone: string; now: Date },
  options: DocumentOptions = {},
): Promise<RenderedDocument> {
  const paper: Paper = options.paper ?? ctx.settings.paper ?? "a4";
  let body: Buffer;
  switch (kind) {
    case "labels":
      body = await renderLabels(orders, {
        layout: options.layout ?? ctx.settings.labelLayout ?? "4x6",
        startAt: options.startAt ?? 1,
        sender: ctx.sender,
      });
      break;
    case "pick-sheet":
      body = await renderPickSheet(orders, {
        paper,
        sender: ctx.sender,
        timeZone: ctx.timeZone,
        generatedAt: ctx.now,
      });
      break;
    case "packing-slips":
      body = await renderPackingSlips(orders, { paper, sender: ctx.sender, timeZone: ctx.timeZone });
      break;
    case "csv-orders":
      body = ordersCsv(orders);
      break;
    case "csv-lines":
      body = linesCsv(orders);
      break;
  }
  const f = FILES[kind];
  return { fileName: documentFileName(f.name, f.ext, ctx.now, ctx.timeZone), contentType: f.type, body };
}
