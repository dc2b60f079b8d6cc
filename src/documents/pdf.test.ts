import { describe, expect, it } from "vitest";
import { DOCUMENT_KINDS, optionsProblem, renderDocument } from "./index.ts";
import { createDoc, fitText, wrapText } from "./pdf.ts";
import { makeOrders, NO_PDFTOTEXT, PDFTOTEXT, pdfText, sender } from "./testing.ts";

async function textDoc(lines: string[]): Promise<Buffer> {
  const { doc, finish } = createDoc("t", "Orderhub tests");
  doc.addPage({ size: "A4", margin: 0 });
  lines.forEach((l, i) => {
    doc
      .font(i % 2 ? "bold" : "body")
      .fontSize(10)
      .text(l, 40, 40 + i * 16, { lineBreak: false });
  });
  return finish();
}

describe("text fitting", () => {
  it("cuts with an ellipsis and wraps at spaces within the width", async () => {
    const { doc, finish } = createDoc("t", "t");
    doc.fontSize(8);
    const name = "Plate, Modified 1 x 2 with Bar Handle on Side - Closed Ends";
    expect(fitText(doc, "Brick 2 x 4", 200)).toBe("Brick 2 x 4");
    const cut = fitText(doc, name, 100);
    expect(cut.endsWith("…")).toBe(true);
    expect(doc.widthOfString(cut)).toBeLessThanOrEqual(100);
    const two = wrapText(doc, name, 150, 2);
    expect(two).toHaveLength(2);
    expect(two.join(" ")).toBe(name);
    for (const l of two) expect(doc.widthOfString(l)).toBeLessThanOrEqual(150);
    const long = wrapText(doc, `${name} ${name}`, 150, 2);
    expect(long).toHaveLength(2);
    expect(long[1]!.endsWith("…")).toBe(true);
    expect(wrapText(doc, "Brick", 150, 2)).toEqual(["Brick"]);
    await finish();
  });
});

describe.skipIf(!PDFTOTEXT)(`fonts${PDFTOTEXT ? "" : ` (${NO_PDFTOTEXT})`}`, () => {
  it("text stays real text in every script, also in documents made after others", async () => {
    // The first document uses accented letters only (their base letters become subset components);
    // the next ones use the base letters and ligature candidates on their own.
    const names = [
      "Łukasz Żółć",
      "Zoë Ærøskøbing",
      "Дмитрий Иванов",
      "Γιώργος Παπαδόπουλος",
      "Façade Gdańsk Ñandú Győr",
    ];
    expect(pdfText(await textDoc(names), "font-1")).toContain("Γιώργος Παπαδόπουλος");
    for (const k of [2, 3]) {
      const text = pdfText(
        await textDoc([...names, "czols Marketplace Description", "minifigures office"]),
        `font-${k}`,
      );
      for (const n of [...names, "czols Marketplace Description", "minifigures office"])
        expect(text).toContain(n);
    }
  });
});

describe("documents", () => {
  it("names each kind's file and type, in the account's time zone", async () => {
    const orders = makeOrders(2, 2);
    const now = new Date("2026-06-30T22:15:09Z");
    const seen: string[] = [];
    for (const kind of DOCUMENT_KINDS) {
      const d = await renderDocument(kind, orders, {
        sender,
        settings: {},
        timeZone: "Europe/Luxembourg",
        now,
      });
      seen.push(`${d.fileName} ${d.contentType}`);
      if (d.contentType === "application/pdf") expect(d.body.subarray(0, 5).toString()).toBe("%PDF-");
    }
    expect(seen).toEqual([
      "orderhub-labels-20260701-001509.pdf application/pdf",
      "orderhub-pick-sheet-20260701-001509.pdf application/pdf",
      "orderhub-packing-slips-20260701-001509.pdf application/pdf",
      "orderhub-orders-20260701-001509.csv text/csv; charset=utf-8",
      "orderhub-order-lines-20260701-001509.csv text/csv; charset=utf-8",
    ]);
  });

  it("refuses a start position the layout does not have, naming the field", () => {
    expect(optionsProblem({ startAt: 14 }, { labelLayout: "a4-2x7" })).toBeNull();
    expect(optionsProblem({ startAt: 15 }, { labelLayout: "a4-2x7" })).toMatch(
      /^options\.startAt: the a4-2x7 layout has 14 positions/,
    );
    expect(optionsProblem({ startAt: 2 }, {})).toMatch(/4x6 layout has 1 position per page/);
    expect(optionsProblem({ layout: "letter-2x5", startAt: 10 }, { labelLayout: "4x6" })).toBeNull();
  });
});
