import { describe, expect, it } from "vitest";
import { LABEL_LAYOUT_NAMES, LABEL_LAYOUTS, type LabelLayout, NO_ADDRESS, renderLabels } from "./labels.ts";
import { MESSAGES } from "./messages.ts";
import {
  decodeBarcodes,
  makeOrders,
  NO_PDFTOTEXT,
  NO_ZBAR,
  PDFTOTEXT,
  pageCount,
  pdfText,
  pdfTextIn,
  sender,
  ZBAR,
} from "./testing.ts";

const en = MESSAGES.en;

/** The box of a 1-based position on a sheet. */
function slot(layout: LabelLayout, position: number) {
  const s = LABEL_LAYOUTS[layout];
  const i = position - 1;
  const col = i % s.cols;
  const row = Math.floor(i / s.cols);
  return {
    x: s.left + col * (s.width + s.gapX),
    y: s.top + row * (s.height + s.gapY),
    w: s.width,
    h: s.height,
  };
}

describe("label layouts", () => {
  it("fit on their page: 4×6 thermal, A4 and Letter sheets of 2×7 and 2×5", () => {
    expect(LABEL_LAYOUT_NAMES).toEqual(["4x6", "a4-2x7", "a4-2x5", "letter-2x7", "letter-2x5"]);
    for (const name of LABEL_LAYOUT_NAMES) {
      const s = LABEL_LAYOUTS[name];
      const last = slot(name, s.cols * s.rows);
      expect(last.x + last.w, name).toBeLessThanOrEqual(s.page[0] + 0.01);
      expect(last.y + last.h, name).toBeLessThanOrEqual(s.page[1] + 0.01);
    }
  });
});

describe.skipIf(!PDFTOTEXT)(`labels PDF${PDFTOTEXT ? "" : ` (${NO_PDFTOTEXT})`}`, () => {
  it("4×6: one label per page with sender, recipient in any script, order, marketplace, counts, weight", async () => {
    const orders = makeOrders(5, 3);
    const text = pdfText(
      await renderLabels(orders, { layout: "4x6", startAt: 1, sender, messages: en }),
      "labels-4x6",
    );
    expect(pageCount(text)).toBe(5);
    const pages = text.split("\f");
    orders.forEach((o, i) => {
      const page = pages[i]!;
      expect(page).toContain(o.number);
      expect(page).toContain(o.buyerName!);
      expect(page).toContain(o.shippingAddress!.city!);
      expect(page).toContain("Brick Corner");
      expect(page).toContain(i % 2 ? "BrickOwl" : "BrickLink");
      const items = o.lines.reduce((n, l) => n + l.quantity, 0);
      expect(page).toContain(`3 lots · ${items} items · 121 g`);
      for (const other of orders) if (other !== o) expect(page).not.toContain(other.number);
    });
    for (const name of ["Łukasz Żółć", "Zoë Martin", "Ærøskøbing", "Дмитрий Иванов", "ул. Ленина 1"])
      expect(text).toContain(name);
    // Abroad, the country is named in capitals (and the return address names its own).
    expect(pages[0]).toContain("POLAND");
    expect(pages[0]).toContain("LUXEMBOURG");
    expect(pages[4]).toContain("Portland, OR 97201");
    expect(pages[4]).toContain("UNITED STATES");
  });

  for (const layout of ["a4-2x7", "a4-2x5", "letter-2x7", "letter-2x5"] as const) {
    it(`${layout}: starts at the position given, fills across then down, then onto new sheets`, async () => {
      const s = LABEL_LAYOUTS[layout];
      const per = s.cols * s.rows;
      const orders = makeOrders(per + 3, 2);
      const startAt = 4;
      const pdf = await renderLabels(orders, { layout, startAt, sender, messages: en });
      expect(pageCount(pdfText(pdf, `labels-${layout}`))).toBe(
        Math.ceil((orders.length + startAt - 1) / per),
      );
      for (let p = 1; p < startAt; p++)
        expect(pdfTextIn(pdf, `labels-${layout}`, 1, slot(layout, p)), `position ${p}`).toBe("");
      orders.forEach((o, i) => {
        const position = startAt + i;
        const page = Math.ceil(position / per);
        const box = slot(layout, ((position - 1) % per) + 1);
        const inside = pdfTextIn(pdf, `labels-${layout}`, page, box);
        expect(inside, `${o.number} at position ${position}`).toContain(o.number);
        expect(inside).toContain(o.buyerName!);
        expect(inside).toContain("From: Brick Corner");
      });
    });
  }

  it("a free-text address (BrickLink's only one) names its country abroad, with the ISO code; not at home", async () => {
    const [a, b, c] = makeOrders(3, 1);
    const freeText = (o: typeof a, full: string, countryCode: string) => ({
      ...o!,
      buyerName: full.split("\n")[0]!,
      shippingAddress: {
        ...o!.shippingAddress!,
        name: full.split("\n")[0]!,
        line1: null,
        city: null,
        postalCode: null,
        countryCode,
        full,
      },
    });
    const orders = [
      freeText(a, "Ana García\nCalle Mayor 5\n28013 Madrid", "ES"),
      freeText(b, "Дмитрий Иванов\nул. Ленина 1\n1000 София", "BG"),
      freeText(c, "Jean Muller\n5 rue Principale\nL-3750 Rumelange", "LU"),
    ];
    const pages = pdfText(
      await renderLabels(orders, { layout: "4x6", startAt: 1, sender, messages: en }),
      "labels-free-text",
    ).split("\f");
    expect(pages[0]).toContain("28013 Madrid");
    expect(pages[0]).toContain("SPAIN (ES)");
    expect(pages[0]!.match(/Ana García/g)).toHaveLength(1);
    expect(pages[1]).toContain("1000 София");
    expect(pages[1]).toContain("BULGARIA (BG)");
    // Domestic (the sender is in Luxembourg): neither the recipient nor the sender names the country.
    expect(pages[2]).toContain("L-3750 Rumelange");
    expect(pages[2]).not.toContain("LUXEMBOURG");
    // A sheet label has room for it too.
    const sheet = pdfText(
      await renderLabels(orders.slice(0, 1), { layout: "a4-2x7", startAt: 1, sender, messages: en }),
      "labels-free-text-sheet",
    );
    expect(sheet).toContain("SPAIN (ES)");
  });

  it("a structured address prints postcode and city in the destination's order", async () => {
    const [o] = makeOrders(1, 1);
    const fr = {
      ...o!,
      shippingAddress: { ...o!.shippingAddress!, city: "Lyon", postalCode: "69002", countryCode: "FR" },
    };
    const text = pdfText(
      await renderLabels([fr], { layout: "4x6", startAt: 1, sender, messages: en }),
      "labels-fr",
    );
    expect(text).toContain("69002 Lyon");
    expect(text).toContain("FRANCE (FR)");
  });

  it("a free-text address without the buyer's name is led by the name the marketplace gives beside it", async () => {
    const [o] = makeOrders(1, 1);
    const bare = {
      ...o!,
      shippingAddress: {
        ...o!.shippingAddress!,
        name: "Example Buyer",
        line1: null,
        city: null,
        postalCode: null,
        countryCode: "KR",
        full: "fake address",
      },
    };
    const text = pdfText(
      await renderLabels([bare], { layout: "4x6", startAt: 1, sender, messages: en }),
      "labels-kr",
    );
    expect(text).toMatch(/Example Buyer\s+fake address\s+SOUTH KOREA \(KR\)/);
  });

  it("an order without an address gets a label that says so", async () => {
    const [o] = makeOrders(1, 1);
    const text = pdfText(
      await renderLabels([{ ...o!, shippingAddress: null }], {
        layout: "4x6",
        startAt: 1,
        sender,
        messages: en,
      }),
      "labels-no-address",
    );
    expect(text).toContain(o!.buyerName!);
    expect(text).toContain(NO_ADDRESS);
    expect(text).toContain(o!.number);
  });

  it("a start position past the sheet's end goes to its last position", async () => {
    const orders = makeOrders(2, 1);
    const pdf = await renderLabels(orders, { layout: "a4-2x5", startAt: 99, sender, messages: en });
    expect(pdfTextIn(pdf, "labels-clamped", 1, slot("a4-2x5", 10))).toContain(orders[0]!.number);
    expect(pdfTextIn(pdf, "labels-clamped", 2, slot("a4-2x5", 1))).toContain(orders[1]!.number);
  });
});

describe.skipIf(!ZBAR)(`label barcodes${ZBAR ? "" : ` (${NO_ZBAR})`}`, () => {
  it("the Code 128 on a thermal label and on a small sheet label scans as the order number", async () => {
    const [o] = makeOrders(1, 2);
    expect(
      decodeBarcodes(
        await renderLabels([o!], { layout: "4x6", startAt: 1, sender, messages: en }),
        "barcode-4x6",
      ),
    ).toEqual([o!.number]);
    const sheet = makeOrders(4, 1);
    const found = decodeBarcodes(
      await renderLabels(sheet, { layout: "a4-2x7", startAt: 1, sender, messages: en }),
      "barcode-a4-2x7",
    );
    expect(found.sort()).toEqual(sheet.map((x) => x.number).sort());
  });
});
