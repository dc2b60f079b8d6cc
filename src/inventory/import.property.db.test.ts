import { count, eq, sum } from "drizzle-orm";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { seedAccount, type TestApi, testApi } from "../../test/helpers/http.ts";
import { importFileAndWait } from "../../test/helpers/imports.ts";
import { inventoryLedger, inventoryLots } from "../db/schema.ts";
import { MAX_LOT_QUANTITY } from "./files.ts";

/**
 * A file import through the API is all or nothing: whatever line is bad, and wherever it sits,
 * a refused file leaves no lot and no ledger row behind, and an accepted one adds exactly its
 * quantities. ORDERHUB_PROPERTY_RUNS raises the number of cases (long mode).
 */
const RUNS = Math.max(10, Math.ceil((Number(process.env.ORDERHUB_PROPERTY_RUNS) || 400) / 10));

let api: TestApi;
let token: string;
let accountId: number;

beforeAll(async () => {
  api = await testApi();
  const a = await seedAccount(api, `import-${Date.now()}`);
  token = a.tokens.owner;
  accountId = a.account.id;
});
afterAll(async () => {
  await api?.close();
});

async function state() {
  const [lots] = await api.ctx.db
    .select({ n: count(), q: sum(inventoryLots.quantity) })
    .from(inventoryLots)
    .where(eq(inventoryLots.accountId, accountId));
  const [ledger] = await api.ctx.db
    .select({ n: count() })
    .from(inventoryLedger)
    .where(eq(inventoryLedger.accountId, accountId));
  return { lots: lots!.n, quantity: Number(lots!.q ?? 0), ledger: ledger!.n };
}

interface Line {
  itemNo: string;
  color: string;
  qty: string;
  price: string;
  location: string;
}

const goodLine = fc.record({
  itemNo: fc.constantFrom("3001", "3002", "3003", "3004"),
  color: fc.constantFrom("5", "11", ""),
  qty: fc.integer({ min: 0, max: 50 }).map(String),
  price: fc.constantFrom("0.25", "1", ""),
  location: fc.constantFrom("A-1", "B-2", ""),
});

/** Ways to spoil one line; some are only found while writing (the lot would overflow). */
const spoil = fc.constantFrom<[string, (l: Line) => Line]>(
  ["negative quantity", (l) => ({ ...l, qty: "-3" })],
  ["quantity not a number", (l) => ({ ...l, qty: "many" })],
  ["quantity too large", (l) => ({ ...l, qty: "99999999999" })],
  ["quantity that overflows the lot", (l) => ({ ...l, qty: String(MAX_LOT_QUANTITY) })],
  ["price with five decimals", (l) => ({ ...l, price: "0.12345" })],
  ["negative price", (l) => ({ ...l, price: "-1" })],
  ["colour that is not an id", (l) => ({ ...l, color: "red" })],
  ["missing item", (l) => ({ ...l, itemNo: "" })],
  ["NUL in the location", (l) => ({ ...l, location: "A\u0000B" })],
);

const esc = (s: string) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;");
const asXml = (lines: Line[]) =>
  `<INVENTORY>${lines
    .map(
      (l) =>
        `<ITEM><ITEMTYPE>P</ITEMTYPE><ITEMID>${esc(l.itemNo)}</ITEMID>${l.color ? `<COLOR>${l.color}</COLOR>` : ""}<QTY>${l.qty}</QTY>${l.price ? `<PRICE>${l.price}</PRICE>` : ""}<CONDITION>N</CONDITION>${l.location ? `<REMARKS>${esc(l.location)}</REMARKS>` : ""}</ITEM>`,
    )
    .join("")}</INVENTORY>`;
const asCsv = (lines: Line[]) =>
  `item_no,color_id,condition,quantity,price,location\r\n${lines
    .map((l) => [l.itemNo, l.color, "new", l.qty, l.price, l.location].join(","))
    .join("\r\n")}\r\n`;

async function importFile(format: "xml" | "csv", content: string) {
  const out = await importFileAndWait(api, token, { format, content, name: "property.file" });
  return { ...out, json: () => JSON.parse(out.body) };
}

describe("inventory file import through the API is all or nothing", () => {
  it("a file with one spoilt line anywhere leaves no lot and no ledger row; a clean one adds its quantities", {
    timeout: 600_000,
  }, async () => {
    // Some stock first, so an overflow can come from a lot that already exists.
    const first = await importFile(
      "csv",
      asCsv([{ itemNo: "3001", color: "5", qty: "10", price: "", location: "A-1" }]),
    );
    expect(first.statusCode, first.body).toBe(202);
    expect(first.job?.state).toBe("completed");
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom<"xml" | "csv">("xml", "csv"),
        fc.array(goodLine, { minLength: 1, maxLength: 12 }),
        fc.option(fc.tuple(fc.nat(), spoil), { freq: 4 }),
        async (format, lines, spoilt) => {
          const file: Line[] = [...lines];
          let what = "clean";
          if (spoilt) {
            const [at, [name, f]] = spoilt;
            const i = at % file.length;
            file[i] = f(file[i]!);
            what = `${name} on line ${i + 1}`;
          }
          const before = await state();
          const res = await importFile(format, format === "xml" ? asXml(file) : asCsv(file));
          const after = await state();
          const label = `${format}, ${what}: ${res.statusCode} ${res.body.slice(0, 300)}`;
          expect(res.statusCode, label).toBeLessThan(500);
          if (res.statusCode === 202) {
            expect(res.job?.state, label).toBe("completed");
            const added = file.reduce((n, l) => n + Number(l.qty), 0);
            expect(after.quantity - before.quantity, label).toBe(added);
            expect(after.ledger - before.ledger, label).toBe(file.length);
          } else {
            expect(res.statusCode, label).toBe(400);
            const body = res.json() as { error: { code: string; message: string } };
            expect(body.error.message, label).toMatch(/^(ITEM \d+|line \d+|body\.content): /);
            expect(after, label).toEqual(before);
          }
        },
      ),
      { numRuns: RUNS },
    );
  });

  it("a file that overflows a lot only on its last line writes nothing", async () => {
    const before = await state();
    const lines: Line[] = Array.from({ length: 30 }, (_, i) => ({
      itemNo: `9${i}`,
      color: "1",
      qty: "1",
      price: "",
      location: "Z",
    }));
    lines.push({ itemNo: "90", color: "1", qty: String(MAX_LOT_QUANTITY), price: "", location: "Z" });
    const res = await importFile("csv", asCsv(lines));
    expect(res.statusCode, res.body).toBe(400);
    expect(res.json().error.message).toMatch(/^line 32: /);
    expect(await state()).toEqual(before);
  });
});
