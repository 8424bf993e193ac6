/**
 * Renders an untrusted value for a message, a reason or a report: JSON-escaped, with every
 * invisible or direction-changing character spelled out, so that what an analyst reads is what
 * the alert holds. Long values are cut, saying how long they were.
 */
const INVISIBLE =
  /[\u007f-\u009f\u00ad\u061c\u115f\u1160\u180e\u200b-\u200f\u2028-\u202e\u2060-\u206f\u3164\ufeff\ufff9-\ufffb]/g;

/** Whether text reads the same shown raw as rendered: no control, invisible or direction characters. */
export function isVisibleText(text: string): boolean {
  return !/[\u0000-\u001f]/.test(text) && text.search(INVISIBLE) === -1;
}

export function renderValue(value: unknown, maxLength = 120): string {
  const isText = typeof value === 'string';
  const text = isText ? value : jsonText(value);
  const characters = Array.from(text);
  const cut = characters.length > maxLength;
  const shown = cut ? characters.slice(0, maxLength).join('') : text;
  const rendered = (isText ? JSON.stringify(shown) : shown).replace(INVISIBLE, escapeCharacter);
  return cut ? `${rendered}… (${characters.length} characters)` : rendered;
}

/** JSON text of any value; what JSON cannot show (cycles, bigint) is named by its type. */
function jsonText(value: unknown): string {
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return `(${typeof value})`;
  }
}

function escapeCharacter(character: string): string {
  return `\\u${character.charCodeAt(0).toString(16).padStart(4, '0')}`;
}
