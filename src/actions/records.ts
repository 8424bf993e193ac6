/**
 * Reads what a remote action script printed: NUL-terminated `key=value` records (see
 * remote/prelude.sh). Keys may repeat; order is kept.
 */
export class Records {
  readonly entries: ReadonlyArray<readonly [string, string]>;

  constructor(stdout: string) {
    const entries: Array<readonly [string, string]> = [];
    for (const record of stdout.split('\0')) {
      if (record === '') continue;
      const equals = record.indexOf('=');
      if (equals <= 0) continue;
      entries.push([record.slice(0, equals), record.slice(equals + 1)]);
    }
    this.entries = entries;
  }

  /** The last value written under a key. */
  get(key: string): string | undefined {
    for (let index = this.entries.length - 1; index >= 0; index -= 1) {
      const [name, value] = this.entries[index]!;
      if (name === key) return value;
    }
    return undefined;
  }

  all(key: string): string[] {
    return this.entries.filter(([name]) => name === key).map(([, value]) => value);
  }

  has(key: string): boolean {
    return this.entries.some(([name]) => name === key);
  }

  /** Entries whose key starts with a prefix, the prefix removed. */
  under(prefix: string): Record<string, string> {
    const found: Record<string, string> = {};
    for (const [name, value] of this.entries) if (name.startsWith(prefix)) found[name.slice(prefix.length)] = value;
    return found;
  }

  /**
   * Records that each describe one thing: a `head` record starts a group, and the records after it
   * whose keys start with `prefix` (until the next head) are its fields, keyed without the prefix.
   * A field written twice keeps its last value.
   */
  groups(head: string, prefix = `${head}.`): Array<{ value: string; fields: Record<string, string> }> {
    const found: Array<{ value: string; fields: Record<string, string> }> = [];
    for (const [name, value] of this.entries) {
      if (name === head) found.push({ value, fields: {} });
      else if (name.startsWith(prefix)) {
        const current = found.at(-1);
        if (current) current.fields[name.slice(prefix.length)] = value;
      }
    }
    return found;
  }

  /** The script ran to its last line (`done=1`). */
  get complete(): boolean {
    return this.get('done') === '1';
  }
}
