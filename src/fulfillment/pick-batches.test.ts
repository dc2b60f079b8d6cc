import { describe, expect, it } from "vitest";
import { bricklinkManifest } from "../marketplaces/bricklink/manifest.ts";
import { brickowlManifest } from "../marketplaces/brickowl/manifest.ts";
import { itemImageOrigins, walkingOrder } from "./pick-batches.ts";

const item = (location: string | null, itemNo: string, colorName = "Red", condition = "new") => ({
  location,
  itemNo,
  name: itemNo,
  colorName,
  condition,
});

describe("walking order", () => {
  it("bins in natural order, case ignored, no bin last; then item, colour, condition", () => {
    const sorted = walkingOrder([
      item(null, "3001"),
      item("A-10", "3001"),
      item("a-2", "3003"),
      item("A-2", "3001", "Red", "used"),
      item("A-2", "3001", "Black"),
      item("A-2", "3001"),
      item("B-1", "3001"),
    ]);
    expect(sorted.map((i) => `${i.location} ${i.itemNo} ${i.colorName} ${i.condition}`)).toEqual([
      "A-2 3001 Black new",
      "A-2 3001 Red new",
      "A-2 3001 Red used",
      "a-2 3003 Red new",
      "A-10 3001 Red new",
      "B-1 3001 Red new",
      "null 3001 Red new",
    ]);
  });
});

describe("item pictures, by each marketplace's rule", () => {
  const bl = bricklinkManifest.itemImage!.url;
  const bo = brickowlManifest.itemImage!.url;
  it("BrickLink: built from type, colour and number (colour 0 where the type has none)", () => {
    expect(bl({ itemType: "part", itemNo: "3001", colorId: "5", extra: {} })).toBe(
      "https://img.bricklink.com/ItemImage/PN/5/3001.png",
    );
    expect(bl({ itemType: "minifig", itemNo: "sw0001a", colorId: null, extra: {} })).toBe(
      "https://img.bricklink.com/ItemImage/MN/0/sw0001a.png",
    );
    expect(bl({ itemType: "set", itemNo: "6932-1", colorId: "0", extra: {} })).toBe(
      "https://img.bricklink.com/ItemImage/SN/0/6932-1.png",
    );
    expect(bl({ itemType: "unsorted_lot", itemNo: "x", colorId: null, extra: {} })).toBeNull();
  });
  it("BrickOwl: the picture its order item carries, only from its own image host", () => {
    const image =
      "https://img.brickowl.com/files/image_cache/small/lego-black-tile-1-x-2-with-groove-3069-30-487300-38.png";
    expect(bo({ itemType: "part", itemNo: "3069", colorId: "38", extra: { image } })).toBe(image);
    expect(
      bo({ itemType: "part", itemNo: "3069", colorId: "38", extra: { image: "https://evil.example/x.png" } }),
    ).toBeNull();
    expect(bo({ itemType: "part", itemNo: "3069", colorId: "38", extra: {} })).toBeNull();
  });
  it("the UI's content policy allows exactly the manifests' picture origins", () => {
    expect(itemImageOrigins().sort()).toEqual(["https://img.bricklink.com", "https://img.brickowl.com"]);
  });
});
