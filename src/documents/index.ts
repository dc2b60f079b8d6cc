import { z } from "zod";
import type { Address } from "../core/order.ts";
import { linesCsv, ordersCsv } from "./csv.ts";
import { LABEL_LAYOUT_NAMES, LABEL_LAYOUTS, type LabelLayout, renderLabels } from "./labels.ts";
import {
  DEFAULT_DOCUMENT_LANGUAGE,
  DOCUMENT_LANGUAGES,
  type DocumentLanguage,
  messagesFor,
} from "./messages.ts";
import type { DocOrder, Sender } from "./model.ts";
import { renderPackingSlips } from "./packing-slip.ts";
import type { Paper } from "./pdf.ts";
import { renderPickSheet } from "./pick-sheet.ts";
import { addressLines, documentFileName } from "./text.ts";

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

/** The language a document is printed in: English, German or French. */
export const documentLanguageSchema = z.enum(DOCUMENT_LANGUAGES, {
  error: `must be one of ${DOCUMENT_LANGUAGES.join(", ")}`,
});

const text = (max: number) => z.string().trim().max(max).nullable().optional();

/** A return address as a seller types it: any of the parts, `full` made from them when not given. */
export const returnAddressSchema = z
  .object({
    name: text(200),
    company: text(200),
    line1: text(200),
    line2: text(200),
    line3: text(200),
    city: text(100),
    region: text(100),
    postalCode: text(20),
    countryCode: z
      .string()
      .trim()
      .toUpperCase()
      .regex(/^[A-Z]{2}$/, "must be a two-letter ISO country code such as LU")
      .nullable()
      .optional(),
    phone: text(50),
    full: text(1000),
  })
  .strict()
  .refine((a) => Boolean(a.full || a.line1 || a.city), "give at least line1 and city (or full)")
  .transform((a): Address => {
    const address: Address = {
      name: a.name || null,
      company: a.company || null,
      line1: a.line1 || null,
      line2: a.line2 || null,
      line3: a.line3 || null,
      city: a.city || null,
      region: a.region || null,
      postalCode: a.postalCode || null,
      countryCode: a.countryCode || null,
      phone: a.phone || null,
      full: "",
    };
    return { ...address, full: a.full || addressLines(address, address.countryCode).join("\n") };
  });

/** The account's document settings (accounts.settings.documents). */
export const documentSettingsSchema = z
  .object({
    storeName: z.string().trim().min(1).max(100).optional(),
    email: z.email().max(200).nullable().optional(),
    returnAddress: returnAddressSchema.nullable().optional(),
    paper: z.enum(["a4", "letter"]).optional(),
    /** The language labels, pick sheets and packing slips are printed in; English when unset. */
    language: documentLanguageSchema.optional(),
    labelLayout: z.enum(LABEL_LAYOUT_NAMES as [LabelLayout, ...LabelLayout[]]).optional(),
    /** The first free position on the sheet in the printer, used when a print does not say. */
    labelStartAt: z
      .number()
      .int()
      .min(1, "is the first free position on the sheet, from 1")
      .max(100)
      .optional(),
  })
  .strict()
  .superRefine((s, ctx) => {
    const layout = s.labelLayout ?? "4x6";
    const positions = LABEL_LAYOUTS[layout].cols * LABEL_LAYOUTS[layout].rows;
    if (s.labelStartAt !== undefined && s.labelStartAt > positions)
      ctx.addIssue({
        code: "custom",
        path: ["labelStartAt"],
        message: `the ${layout} layout has ${positions} position${positions === 1 ? "" : "s"} per page; give 1 to ${positions}`,
      });
  });
export type DocumentSettings = z.infer<typeof documentSettingsSchema>;

/** An account's document settings from its settings column; defaults where unset or unreadable. */
export function documentSettingsOf(accountSettings: unknown): DocumentSettings {
  const s = (accountSettings as { documents?: unknown } | null)?.documents;
  const parsed = documentSettingsSchema.safeParse(s ?? {});
  return parsed.success ? parsed.data : {};
}

/** What is wrong with the options for this account's defaults, naming the field; null when nothing. */
export function optionsProblem(options: DocumentOptions, settings: DocumentSettings): string | null {
  const layout = options.layout ?? settings.labelLayout ?? "4x6";
  const { cols, rows } = LABEL_LAYOUTS[layout];
  const positions = cols * rows;
  if (options.startAt !== undefined && options.startAt > positions)
    return `options.startAt: the ${layout} layout has ${positions} position${positions === 1 ? "" : "s"} per page; give 1 to ${positions}`;
  return null;
}

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
  ctx: {
    sender: Sender;
    settings: DocumentSettings;
    timeZone: string;
    now: Date;
    /** This print's language, over the account's setting. */
    language?: DocumentLanguage;
  },
  options: DocumentOptions = {},
): Promise<RenderedDocument> {
  const paper: Paper = options.paper ?? ctx.settings.paper ?? "a4";
  const messages = messagesFor(ctx.language ?? ctx.settings.language ?? DEFAULT_DOCUMENT_LANGUAGE);
  let body: Buffer;
  switch (kind) {
    case "labels":
      body = await renderLabels(orders, {
        layout: options.layout ?? ctx.settings.labelLayout ?? "4x6",
        startAt: options.startAt ?? ctx.settings.labelStartAt ?? 1,
        sender: ctx.sender,
        messages,
      });
      break;
    case "pick-sheet":
      body = await renderPickSheet(orders, {
        paper,
        sender: ctx.sender,
        timeZone: ctx.timeZone,
        generatedAt: ctx.now,
        messages,
      });
      break;
    case "packing-slips":
      body = await renderPackingSlips(orders, {
        paper,
        sender: ctx.sender,
        timeZone: ctx.timeZone,
        messages,
      });
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
