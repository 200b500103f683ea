/** Spreadsheet apps execute cells starting with = + - @ (or tab/CR): prefix them with a quote. */
export function csvSafe(v: unknown): string {
  const s = v === null || v === undefined ? '' : String(v);
  return /^[=+\-@\t\r]/.test(s) ? `'${s}` : s;
}
