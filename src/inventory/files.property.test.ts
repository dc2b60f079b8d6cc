import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { AppError } from "../core/errors.ts";
import { type FileLot, MAX_LOT_QUANTITY, parseLotCsv, parseXml } from "./files.ts";

/**
 * Random mutations of valid BrickLink mass-upload XML and of Orderhub's inventory CSV: each file
 * either reads as valid lots or is refused with a 400 naming the line, element or field — never
 * another exception, never a NaN or out-of-range quantity or price.
 * ORDERHUB_PROPERTY_RUNS raises the number of cases (long mode).
 */
const RUNS = Number(process.env.ORDERHUB_PROPERTY_RUNS) || 500;

const ITEM_TYPES = ["part", "set", "minifig", "book", "gear", "catalog", "instruction", "original_box"];

function expectValidLot(l: FileLot, label: string) {
  expect(ITEM_TYPES, label).toContain(l.itemType);
  expect(typeof l.itemNo === "string" && l.itemNo.length > 0, label).toBe(true);
  expect(["new", "used"], label).toContain(l.condition);
  expect(Number.isSafeInteger(l.quantity) && l.quantity >= 0 && l.quantity <= MAX_LOT_QUANTITY, label).toBe(
    true,
  );
  if (l.price !== null) expect(Number.isSafeInteger(l.price) && l.price >= 0, label).toBe(true);
  if (l.colorId !== null) expect(l.colorId, label).toMatch(/^\d+$/);
  for (const t of [l.itemNo, l.colorId, l.colorName, l.location, l.description])
    if (t !== null) expect(t.includes("\u0000"), `${label}: NUL kept`).toBe(false);
}

/** A refusal must be our 400 and must say where: the item, the line, the element or the field. */
const NAMED =
  /^(ITEM \d+: (ITEMTYPE|ITEMID|CONDITION|COLOR|QTY|PRICE|REMARKS|DESCRIPTION|has no elements)|line \d+: [a-z_]+|the file is not well-formed XML( at line \d+(, column \d+)?)?: |the file has no <INVENTORY> element|the file lists no <ITEM>|the CSV cannot be read: .*line \d+|the CSV has no rows|the CSV has no "(item_no|quantity)" column)/;

function check(parse: (t: string) => FileLot[], text: string) {
  const label = `file ${JSON.stringify(text.slice(0, 400))}`;
  let lots: FileLot[];
  try {
    lots = parse(text);
  } catch (err) {
    const why = `${label} → ${err instanceof Error ? `${err.name}: ${err.message}` : String(err)}`;
    expect(err instanceof AppError, why).toBe(true);
    expect((err as AppError).status, why).toBe(400);
    expect((err as AppError).message, why).toMatch(NAMED);
    return;
  }
  expect(lots.length, label).toBeGreaterThan(0);
  for (const l of lots) expectValidLot(l, label);
}

/** Values that break numbers, encodings and lengths. */
const nasty = fc.oneof(
  fc.constantFrom(
    "",
    " ",
    "-1",
    "1.5",
    "NaN",
    "Infinity",
    "1e9",
    "0x1F",
    "99999999999999999999",
    "2147483648",
    "4294967296",
    "12,50",
    "0.12345",
    "-0.01",
    "١٢",
    "\u0000",
    "a\u0000b",
    "\uFFFD\uFFFD",
    "Ã¤Ã¶Ã¼",
    "Łukasz Żółć 🧱",
    "<",
    "&amp;",
    "&#0;",
    "&bogus;",
    '"',
    "\r\n",
    ",",
  ),
  fc.string({ maxLength: 12 }),
  fc.string({ unit: "binary", maxLength: 12 }),
  fc.integer().map(String),
  fc.double().map(String),
  fc.nat(30).map((n) => "9".repeat(n + 10)),
  fc.constant("x".repeat(10_000)),
);

// ---------------------------------------------------------------- XML

type Element = [tag: string, value: string];
const XML_TAGS = ["ITEMTYPE", "ITEMID", "COLOR", "QTY", "PRICE", "CONDITION", "REMARKS", "DESCRIPTION"];
const validItem = fc.record({
  type: fc.constantFrom("P", "S", "M", "B", "G", "C", "I", "O", "p"),
  no: fc.constantFrom("3001", "3001pr0001", "sw0001a", "75192-1", "973c01"),
  color: fc.option(fc.integer({ min: 0, max: 250 }).map(String), { nil: undefined }),
  qty: fc.integer({ min: 0, max: 10_000 }).map(String),
  price: fc.option(fc.constantFrom("0.01", "1", "12.3456", "0.125", "100.5"), { nil: undefined }),
  cond: fc.constantFrom("N", "U", "n"),
  remarks: fc.option(fc.constantFrom("A-12", "drawer 5 &amp; 6", "Bin &lt;3&gt;", "Ærøskøbing"), {
    nil: undefined,
  }),
});
const itemElements = validItem.map((i): Element[] =>
  [
    ["ITEMTYPE", i.type],
    ["ITEMID", i.no],
    ["COLOR", i.color],
    ["QTY", i.qty],
    ["PRICE", i.price],
    ["CONDITION", i.cond],
    ["REMARKS", i.remarks],
  ].filter((e): e is Element => e[1] !== undefined),
);

const escapeXml = (s: string) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
const toXml = (items: Element[][]) =>
  `<?xml version="1.0" encoding="UTF-8"?>\n<INVENTORY>\n${items
    .map((els) => `<ITEM>${els.map(([t, v]) => `<${t}>${v}</${t}>`).join("")}</ITEM>`)
    .join("\n")}\n</INVENTORY>\n`;

type XmlMutation = (items: Element[][], a: number, b: number, v: string) => void;
const xmlMutations: Record<string, XmlMutation> = {
  dropElement: (items, a, b) => items[a % items.length]!.splice(b % 8, 1),
  duplicateElement: (items, a, b) => {
    const it = items[a % items.length]!;
    const e = it[b % it.length];
    if (e) it.push([e[0], e[1]]);
  },
  garbleValue: (items, a, b, v) => {
    const it = items[a % items.length]!;
    const e = it[b % it.length];
    if (e) e[1] = escapeXml(v);
  },
  rawValue: (items, a, b, v) => {
    const it = items[a % items.length]!;
    const e = it[b % it.length];
    if (e) e[1] = v;
  },
  setField: (items, a, b, v) => {
    items[a % items.length]!.push([XML_TAGS[b % XML_TAGS.length]!, escapeXml(v)]);
  },
  nestElement: (items, a, b) => {
    const it = items[a % items.length]!;
    const e = it[b % it.length];
    if (e) e[1] = `<X>${e[1]}</X>`;
  },
  unknownElement: (items, a, _b, v) => items[a % items.length]!.push(["BOGUS", escapeXml(v)]),
  dropItem: (items, a) => items.splice(a % items.length, 1),
  duplicateItem: (items, a) => items.push(items[a % items.length]!.map(([t, v]) => [t, v])),
  emptyItem: (items, a) => items.splice(a % items.length, 1, []),
};

type TextMutation = (text: string, a: number, v: string) => string;
const textMutations: Record<string, TextMutation> = {
  truncate: (t, a) => t.slice(0, a % (t.length + 1)),
  insert: (t, a, v) => {
    const i = a % (t.length + 1);
    return t.slice(0, i) + v + t.slice(i);
  },
  deleteRange: (t, a) => {
    const i = a % (t.length + 1);
    return t.slice(0, i) + t.slice(i + 1 + (a % 13));
  },
  latin1AsUtf8: (t) => Buffer.from(t, "utf8").toString("latin1"),
  utf16: (t) => Buffer.from(t, "utf16le").toString("utf8"),
  bom: (t) => `\uFEFF${t}`,
  crlf: (t) => t.replace(/\n/g, "\r\n"),
  nothing: (t) => t,
};

describe("BrickLink mass-upload XML import", () => {
  it("a valid file reads back every item", { timeout: 600_000 }, () => {
    fc.assert(
      fc.property(fc.array(itemElements, { minLength: 1, maxLength: 5 }), (items) => {
        const lots = parseXml(toXml(items));
        expect(lots).toHaveLength(items.length);
        for (const l of lots) expectValidLot(l, "valid file");
      }),
      { numRuns: Math.ceil(RUNS / 5) },
    );
  });

  it("a mutated file reads as valid lots or is refused naming the item, element or line", {
    timeout: 600_000,
  }, () => {
    fc.assert(
      fc.property(
        fc.array(itemElements, { minLength: 1, maxLength: 4 }),
        fc.array(fc.tuple(fc.constantFrom(...Object.keys(xmlMutations)), fc.nat(), fc.nat(), nasty), {
          minLength: 1,
          maxLength: 4,
        }),
        fc.constantFrom(...Object.keys(textMutations)),
        fc.nat(),
        nasty,
        (items, steps, textStep, at, v) => {
          for (const [m, a, b, value] of steps) if (items.length) xmlMutations[m]!(items, a, b, value);
          check(parseXml, textMutations[textStep]!(toXml(items), at, v));
        },
      ),
      { numRuns: RUNS },
    );
  });

  it("anything at all is read or refused with a 400", { timeout: 600_000 }, () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 200 }), (t) => check(parseXml, t)),
      { numRuns: Math.ceil(RUNS / 5) },
    );
  });
});

// ---------------------------------------------------------------- CSV

const CSV_COLUMNS = [
  "item_type",
  "item_no",
  "color_id",
  "color",
  "condition",
  "quantity",
  "price",
  "location",
];
const csvRow = fc.record({
  item_type: fc.constantFrom("part", "set", "minifig", ""),
  item_no: fc.constantFrom("3001", "3001pr0001", "sw0001a", "75192-1"),
  color_id: fc.constantFrom("5", "11", "0", ""),
  color: fc.constantFrom("Red", "Black", "Trans-Clear", ""),
  condition: fc.constantFrom("new", "used", "NEW", ""),
  quantity: fc.integer({ min: 0, max: 10_000 }).map(String),
  price: fc.constantFrom("0.25", "1", "12.3456", ""),
  location: fc.constantFrom("Q-1", "drawer, 5", 'bin "A"', ""),
});

const quote = (s: string) => (/[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s);
const toCsv = (cols: string[], rows: string[][]) =>
  `${[cols, ...rows].map((r) => r.map(quote).join(",")).join("\r\n")}\r\n`;

type CsvMutation = (cols: string[], rows: string[][], a: number, b: number, v: string) => void;
const csvMutations: Record<string, CsvMutation> = {
  dropColumn: (cols, rows, a) => {
    const i = a % cols.length;
    cols.splice(i, 1);
    for (const r of rows) r.splice(i, 1);
  },
  duplicateColumn: (cols, rows, a) => {
    const i = a % cols.length;
    cols.push(cols[i]!);
    for (const r of rows) r.push(r[i] ?? "");
  },
  unknownColumn: (cols, rows, _a, _b, v) => {
    cols.push(`extra_${cols.length}`);
    for (const r of rows) r.push(v);
  },
  garbleCell: (_cols, rows, a, b, v) => {
    const r = rows[a % rows.length];
    if (r?.length) r[b % r.length] = v;
  },
  dropCell: (_cols, rows, a, b) => {
    const r = rows[a % rows.length];
    if (r?.length) r.splice(b % r.length, 1);
  },
  extraCell: (_cols, rows, a, _b, v) => rows[a % rows.length]?.push(v),
  dropRow: (_cols, rows, a) => rows.splice(a % rows.length, 1),
  duplicateRow: (_cols, rows, a) => {
    const r = rows[a % rows.length];
    if (r) rows.push([...r]);
  },
  renameColumn: (cols, _rows, a, _b, v) => {
    cols[a % cols.length] = v;
  },
};

describe("inventory CSV import", () => {
  it("a valid file reads back every row", { timeout: 600_000 }, () => {
    fc.assert(
      fc.property(fc.array(csvRow, { minLength: 1, maxLength: 5 }), (rows) => {
        const lots = parseLotCsv(
          toCsv(
            CSV_COLUMNS,
            rows.map((r) => CSV_COLUMNS.map((c) => r[c as keyof typeof r])),
          ),
        );
        expect(lots).toHaveLength(rows.length);
        for (const l of lots) expectValidLot(l, "valid file");
      }),
      { numRuns: Math.ceil(RUNS / 5) },
    );
  });

  it("a mutated file reads as valid lots or is refused naming the line or column", {
    timeout: 600_000,
  }, () => {
    fc.assert(
      fc.property(
        fc.array(csvRow, { minLength: 1, maxLength: 4 }),
        fc.array(fc.tuple(fc.constantFrom(...Object.keys(csvMutations)), fc.nat(), fc.nat(), nasty), {
          minLength: 1,
          maxLength: 4,
        }),
        fc.constantFrom(...Object.keys(textMutations)),
        fc.nat(),
        nasty,
        (records, steps, textStep, at, v) => {
          const cols = [...CSV_COLUMNS];
          const rows = records.map((r) => CSV_COLUMNS.map((c) => r[c as keyof typeof r]));
          for (const [m, a, b, value] of steps)
            if (cols.length && rows.length) csvMutations[m]!(cols, rows, a, b, value);
          check(parseLotCsv, textMutations[textStep]!(toCsv(cols, rows), at, v));
        },
      ),
      { numRuns: RUNS },
    );
  });

  it("anything at all is read or refused with a 400", { timeout: 600_000 }, () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 200 }), (t) => check(parseLotCsv, t)),
      { numRuns: Math.ceil(RUNS / 5) },
    );
  });
});
