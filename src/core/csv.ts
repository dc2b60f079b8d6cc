import { stringify } from "csv-stringify/sync";

/** A cell a spreadsheet would run as a formula: =, +, -, @, tab, CR or LF first. */
const FORMULA_START = /^[=+\-@\t\r\n]/;
/** Numbers stay numbers ("-2.50" is a credit, not a formula). */
const PLAIN_NUMBER = /^-?\d+(\.\d+)?$/;

/** Text a spreadsheet would run as a formula is kept as text behind a leading `'`. */
export function neutralise(cell: string | null | undefined): string {
  if (cell === null || cell === undefined) return "";
  return FORMULA_START.test(cell) && !PLAIN_NUMBER.test(cell) ? `'${cell}` : cell;
}

/** The cell as it was before `neutralise`: our own exports import back unchanged. */
export function restoreNeutralised(cell: string): string {
  return /^'[=+\-@\t\r\n]/.test(cell) && !PLAIN_NUMBER.test(cell.slice(1)) ? cell.slice(1) : cell;
}

/**
 * RFC 4180 CSV with CRLF rows, as every CSV Orderhub writes: each text cell neutralised, and any
 * cell holding a CR or LF on its own quoted too (csv-stringify quotes only the whole CRLF pair), so
 * a line break in a buyer's name can never start a row of its own.
 */
export function writeCsv(rows: (string | null | undefined)[][]): string {
  return stringify(
    rows.map((r) => r.map(neutralise)),
    { record_delimiter: "\r\n", quoted_match: /[\r\n]/ },
  );
}
