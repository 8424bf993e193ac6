/**
 * Every error soar raises on purpose is a SoarError: a stable `code` for scripts and tests,
 * a message that tells the user what to do, and optionally the input field it is about.
 */
export class SoarError extends Error {
  readonly code: string;
  /** JSON path of the offending input (e.g. `_source.host.name`), when the error is about one. */
  readonly field: string | undefined;
  /** Whether trying the same thing again later may succeed. */
  readonly retryable: boolean;

  constructor(
    code: string,
    message: string,
    options: { field?: string; retryable?: boolean; cause?: unknown } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.field = options.field;
    this.retryable = options.retryable ?? false;
  }

  toJSON(): { code: string; message: string; field?: string } {
    return { code: this.code, message: this.message, ...(this.field ? { field: this.field } : {}) };
  }
}

export function isSoarError(value: unknown): value is SoarError {
  return value instanceof SoarError;
}

/** An input value (alert field, config entry, playbook param) that fails its grammar. */
export class InvalidFieldError extends SoarError {
  constructor(field: string, message: string) {
    super('INVALID_FIELD', `${field}: ${message}`, { field });
  }
}
