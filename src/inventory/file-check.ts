import type { MessagePort } from "node:worker_threads";
import { Worker } from "node:worker_threads";
import { AppError, badRequest } from "../core/errors.ts";
import { type FileLot, MAX_LOT_QUANTITY, parseLotCsv, parseXml } from "./files.ts";

/** The largest file an import takes (the text, before JSON encoding). */
export const MAX_IMPORT_FILE_CHARS = 25 * 1024 * 1024;
/** Lines per staged batch: each batch is one short statement, so other requests get their turn. */
export const STAGE_BATCH = 500;
/** Smaller files are checked on the calling thread: a worker costs more than they take. */
const INLINE_CHARS = 256 * 1024;

/** The lot a line adds to: same item (any case), colour, condition and location. */
export function lotKey(l: {
  itemNo: string | null;
  colorId: string | null;
  condition: string;
  location: string | null;
}): string {
  return `${(l.itemNo ?? "").toLowerCase()}|${l.colorId ?? ""}|${l.condition}|${l.location ?? ""}`;
}

/** Lots of the account that a file adding `maxKeyTotal` to one lot could push past the limit. */
export type NearFull = (maxKeyTotal: number) => Promise<[key: string, quantity: number][]>;

export interface CheckedFile {
  total: number;
  /** JSON arrays of staged lines (seq, line, itemType, …), STAGE_BATCH lines each. */
  batches: string[];
}

function parseFile(format: "xml" | "csv", content: string): FileLot[] {
  return format === "xml" ? parseXml(content) : parseLotCsv(content);
}

/** The most one key gets from the file (to find the lots it could overflow). */
function maxKeyTotal(lots: FileLot[]): number {
  const totals = new Map<string, number>();
  let max = 0;
  for (const l of lots) {
    const k = lotKey(l);
    const t = (totals.get(k) ?? 0) + l.quantity;
    totals.set(k, t);
    if (t > max) max = t;
  }
  return max;
}

/** Refuses the file at the first line that would bring its lot past the largest quantity. */
function checkTotals(lots: FileLot[], existing: Map<string, number>): void {
  const totals = new Map(existing);
  for (const [i, l] of lots.entries()) {
    const k = lotKey(l);
    const t = (totals.get(k) ?? 0) + l.quantity;
    if (t > MAX_LOT_QUANTITY)
      throw badRequest(
        `${l.where ?? `lot ${i + 1}`}: the quantity brings the lot to more than ${MAX_LOT_QUANTITY}`,
        {
          where: l.where,
        },
      );
    totals.set(k, t);
  }
}

function toBatches(lots: FileLot[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < lots.length; i += STAGE_BATCH)
    out.push(
      JSON.stringify(
        lots.slice(i, i + STAGE_BATCH).map((l, j) => ({
          seq: i + j + 1,
          line: l.where ?? `lot ${i + j + 1}`,
          itemType: l.itemType,
          itemNo: l.itemNo,
          colorId: l.colorId,
          colorName: l.colorName,
          condition: l.condition,
          quantity: l.quantity,
          price: l.price,
          location: l.location,
          description: l.description,
        })),
      ),
    );
  return out;
}

type WorkerMessage =
  | { type: "parsed"; maxKeyTotal: number }
  | { type: "batch"; bytes: Uint8Array }
  | { type: "done"; total: number }
  | { type: "error"; status: number; code: string; message: string; details: unknown };

function errorMessage(err: unknown): WorkerMessage {
  if (err instanceof AppError)
    return { type: "error", status: err.status, code: err.code, message: err.message, details: err.details };
  return {
    type: "error",
    status: 500,
    code: "internal",
    message: err instanceof Error ? err.message : String(err),
    details: null,
  };
}

/** The worker thread's side: parse and check, ask for the lots near the limit, send the batches. */
export function runCheckWorker(port: MessagePort, data: { format: "xml" | "csv"; content: string }): void {
  let lots: FileLot[];
  try {
    lots = parseFile(data.format, data.content);
    port.postMessage({ type: "parsed", maxKeyTotal: maxKeyTotal(lots) } satisfies WorkerMessage);
  } catch (err) {
    port.postMessage(errorMessage(err));
    return;
  }
  port.once("message", (existing: [string, number][]) => {
    try {
      checkTotals(lots, new Map(existing));
      const encoder = new TextEncoder();
      for (const b of toBatches(lots)) {
        const bytes = encoder.encode(b);
        port.postMessage({ type: "batch", bytes } satisfies WorkerMessage, [bytes.buffer as ArrayBuffer]);
      }
      port.postMessage({ type: "done", total: lots.length } satisfies WorkerMessage);
    } catch (err) {
      port.postMessage(errorMessage(err));
    }
  });
}

/**
 * Parses and checks a whole file before anything is written: a bad line throws a 400 naming it.
 * Large files are parsed on a worker thread so the server keeps answering meanwhile.
 */
export async function checkFile(
  format: "xml" | "csv",
  content: string,
  nearFull: NearFull,
): Promise<CheckedFile> {
  if (content.length > MAX_IMPORT_FILE_CHARS)
    throw badRequest(`body.content: the file is larger than ${MAX_IMPORT_FILE_CHARS / 1024 / 1024} MB`, {
      field: "body.content",
    });
  if (content.length <= INLINE_CHARS) {
    const lots = parseFile(format, content);
    checkTotals(lots, new Map(await nearFull(maxKeyTotal(lots))));
    return { total: lots.length, batches: toBatches(lots) };
  }
  // The worker script stays in src/ (the build compiles only .ts); it loads this module, compiled or not.
  const here = import.meta.url;
  const worker = new Worker(new URL("../../src/inventory/check-worker.mjs", here), {
    workerData: { format, content, module: here },
  });
  const decoder = new TextDecoder();
  try {
    return await new Promise<CheckedFile>((resolve, reject) => {
      const batches: string[] = [];
      worker.on("error", reject);
      worker.on("exit", (code) => reject(new Error(`the file check stopped (exit code ${code})`)));
      worker.on("message", (m: WorkerMessage) => {
        if (m.type === "error")
          reject(
            m.status < 500 ? new AppError(m.status, m.code, m.message, m.details) : new Error(m.message),
          );
        else if (m.type === "parsed")
          nearFull(m.maxKeyTotal).then(
            (existing) => worker.postMessage(existing),
            (err) => reject(err),
          );
        else if (m.type === "batch") batches.push(decoder.decode(m.bytes));
        else resolve({ total: m.total, batches });
      });
    });
  } finally {
    await worker.terminate();
  }
}
