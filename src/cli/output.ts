/** Plain-text tables and key/value blocks for people; `--json` prints the same data as JSON for scripts. */

export interface Output {
  json: boolean;
  /** stdout: the result. */
  out(text: string): void;
  /** stderr: progress and warnings (never mixed into the JSON on stdout). */
  note(text: string): void;
}

export function consoleOutput(json: boolean): Output {
  return {
    json,
    out: (text) => process.stdout.write(text.endsWith('\n') ? text : `${text}\n`),
    note: (text) => process.stderr.write(text.endsWith('\n') ? text : `${text}\n`),
  };
}

export function printJson(output: Output, value: unknown): void {
  output.out(JSON.stringify(value, null, 2));
}

/** `2026-11-25 14:28:14Z`: seconds are enough to find a verification. */
export function formatTime(iso: string | undefined): string {
  if (!iso) return '-';
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return iso;
  return `${date.toISOString().slice(0, 10)} ${date.toISOString().slice(11, 19)}Z`;
}

/** `3h12m`, `45s`: how long ago, for the "started" column. */
export function formatAge(iso: string | undefined, now = Date.now()): string {
  if (!iso) return '';
  let seconds = Math.max(0, Math.round((now - Date.parse(iso)) / 1000));
  const days = Math.floor(seconds / 86_400);
  seconds -= days * 86_400;
  const hours = Math.floor(seconds / 3_600);
  seconds -= hours * 3_600;
  const minutes = Math.floor(seconds / 60);
  seconds -= minutes * 60;
  if (days) return `${days}d${hours}h`;
  if (hours) return `${hours}h${minutes}m`;
  if (minutes) return `${minutes}m${seconds}s`;
  return `${seconds}s`;
}

export function table(headers: string[], rows: string[][]): string {
  const widths = headers.map((header, column) => Math.max(header.length, ...rows.map((row) => (row[column] ?? '').length)));
  const line = (cells: string[]) =>
    cells
      .map((cell, column) => (column === cells.length - 1 ? cell : cell.padEnd(widths[column])))
      .join('  ')
      .trimEnd();
  return [line(headers), ...rows.map(line)].join('\n');
}

/** `Label   value` lines; entries without a value are left out. */
export function keyValues(entries: Array<[string, string | number | undefined | null]>): string {
  const shown = entries.filter(
    (entry): entry is [string, string | number] => entry[1] !== undefined && entry[1] !== null && entry[1] !== '',
  );
  const width = Math.max(...shown.map(([label]) => label.length));
  return shown.map(([label, value]) => `${label.padEnd(width)}  ${value}`).join('\n');
}
