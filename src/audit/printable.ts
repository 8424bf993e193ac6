/**
 * Control characters, C1 codes, bidi overrides and invisible marks, which would let a value from an
 * alert or a host (a command line, a file name, a reason) move the cursor, recolour or reorder what a
 * reviewer sees, and so forge a line of the timeline or hide one.
 */
const HIDDEN = /[\u0000-\u001f\u007f-\u009f\u00ad\u061c\u180e\u200b-\u200f\u2028-\u202e\u2060-\u206f\ufeff\ufff9-\ufffb]/gu;

const NAMED: Record<string, string> = { '\n': '\\n', '\r': '\\r', '\t': '\\t' };

/** The text with every hidden or moving character shown as an escape: one line, shown as it is. */
export function printable(text: string): string {
  return text.replace(HIDDEN, (char) => NAMED[char] ?? `\\u{${char.codePointAt(0)!.toString(16)}}`);
}

/** Printable and at most `max` characters, marking the cut. */
export function clip(text: string, max: number): string {
  const shown = printable(text);
  return shown.length > max ? `${shown.slice(0, max - 1)}…` : shown;
}
