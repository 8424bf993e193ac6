import { TRUNCATION_MARKER } from './transport.js';

/**
 * Collects one output stream up to a byte cap. Everything past the cap is still read (so the
 * program never blocks on a full pipe or SSH window) but dropped, and the text ends with a marker.
 */
export class CappedOutput {
  readonly #capBytes: number;
  readonly #chunks: Buffer[] = [];
  #kept = 0;
  #truncated = false;

  constructor(capBytes: number) {
    if (!Number.isSafeInteger(capBytes) || capBytes < 0) throw new RangeError(`output cap must be a non-negative integer, got ${capBytes}`);
    this.#capBytes = capBytes;
  }

  push(chunk: Buffer): void {
    const room = this.#capBytes - this.#kept;
    if (chunk.length > room) this.#truncated = true;
    if (room <= 0) return;
    const kept = chunk.length > room ? chunk.subarray(0, room) : chunk;
    this.#chunks.push(kept);
    this.#kept += kept.length;
  }

  get truncated(): boolean {
    return this.#truncated;
  }

  text(): string {
    const bytes = Buffer.concat(this.#chunks, this.#kept);
    if (!this.#truncated) return bytes.toString('utf8');
    return bytes.subarray(0, completeUtf8Length(bytes)).toString('utf8') + TRUNCATION_MARKER;
  }
}

/** Length of `bytes` without a UTF-8 sequence the cap cut in half (so no U+FFFD is invented). */
function completeUtf8Length(bytes: Buffer): number {
  // A sequence is at most 4 bytes: look back for its lead byte.
  for (let back = 1; back <= Math.min(4, bytes.length); back += 1) {
    const byte = bytes[bytes.length - back] as number;
    if ((byte & 0xc0) === 0x80) continue;
    const needed = byte >= 0xf0 ? 4 : byte >= 0xe0 ? 3 : byte >= 0xc0 ? 2 : 1;
    return needed > back ? bytes.length - back : bytes.length;
  }
  return bytes.length;
}
