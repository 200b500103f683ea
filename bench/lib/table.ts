/** A plain-text table for benchmark results (column widths by display width, CJK-aware). */

function displayWidth(s: string): number {
  let w = 0;
  for (const ch of s) {
    const cp = ch.codePointAt(0)!;
    // East Asian wide/fullwidth ranges take two terminal columns.
    w += (cp >= 0x1100 && cp <= 0x115f) || (cp >= 0x2e80 && cp <= 0xa4cf) || (cp >= 0xac00 && cp <= 0xd7a3) || (cp >= 0xf900 && cp <= 0xfaff) || (cp >= 0xfe30 && cp <= 0xfe4f) || (cp >= 0xff00 && cp <= 0xff60) || (cp >= 0xffe0 && cp <= 0xffe6) ? 2 : 1;
  }
  return w;
}

export type Align = 'left' | 'right';

export function formatTable(headers: string[], rows: string[][], align: Align[] = []): string {
  const widths = headers.map((h, i) => Math.max(displayWidth(h), ...rows.map((r) => displayWidth(r[i] ?? ''))));
  const cell = (s: string, i: number) => {
    const pad = ' '.repeat(widths[i]! - displayWidth(s));
    return (align[i] ?? 'left') === 'right' ? pad + s : s + pad;
  };
  const line = (cells: string[]) => `| ${cells.map(cell).join(' | ')} |`;
  const rule = `|${widths.map((w, i) => ((align[i] ?? 'left') === 'right' ? `${'-'.repeat(w + 1)}:` : `:${'-'.repeat(w + 1)}`)).join('|')}|`;
  return [line(headers), rule, ...rows.map((r) => line(headers.map((_, i) => r[i] ?? '')))].join('\n');
}

export function printTable(headers: string[], rows: string[][], align: Align[] = []): void {
  process.stdout.write(formatTable(headers, rows, align) + '\n');
}

export const fmt = {
  int: (n: number) => Math.round(n).toLocaleString('en-US'),
  /** autocannon's latency histogram holds whole milliseconds; averages get one decimal. */
  ms: (n: number) => (Number.isInteger(n) ? String(n) : n.toFixed(1)),
  ratio: (n: number) => `${n.toFixed(2)}×`,
};
