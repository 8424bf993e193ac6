import { ecsFormat } from '@elastic/ecs-pino-format';
import { pino, type DestinationStream, type Logger } from 'pino';
import { SoarError } from './errors.js';
import { soarVersion } from './paths.js';

export type { Logger };

/**
 * Words that make a key secret wherever it appears, in any case and at any depth (`passphrase`,
 * `clientSecret`, `X-Api-Token`): its value, and everything under it, is replaced. A `headers`
 * object (webhook, Kibana) has every value replaced.
 */
export const SECRET_WORDS = ['password', 'passphrase', 'secret', 'token', 'authorization', 'cookie', 'apikey', 'api_key', 'privatekey', 'private_key'] as const;

const LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

const REDACTED = '[REDACTED]';

const isSecretKey = (key: string) => SECRET_WORDS.some((word) => key.toLowerCase().includes(word));

const isPlainObject = (value: unknown): value is Record<string, unknown> =>
  value !== null && typeof value === 'object' && (Object.getPrototypeOf(value) === Object.prototype || Object.getPrototypeOf(value) === null);

/** A copy with every secret replaced; errors and other class instances pass as they are (ECS converts errors). */
function redacted(value: unknown, seen = new WeakSet<object>()): unknown {
  if (Array.isArray(value) || isPlainObject(value)) {
    if (seen.has(value)) return '[Circular]';
    seen.add(value);
  }
  if (Array.isArray(value)) return value.map((item) => redacted(item, seen));
  if (!isPlainObject(value)) return value;
  const copy: Record<string, unknown> = {};
  for (const [key, inner] of Object.entries(value)) {
    if (isSecretKey(key)) copy[key] = REDACTED;
    else if (key.toLowerCase() === 'headers' && isPlainObject(inner)) copy[key] = Object.fromEntries(Object.keys(inner).map((name) => [name, REDACTED]));
    else copy[key] = redacted(inner, seen);
  }
  return copy;
}

export interface LoggerOptions {
  /** Default: $SOAR_LOG_LEVEL, else info. */
  level?: string;
  /** Default: standard error (soar's standard output is for results). */
  destination?: DestinationStream;
}

/** What a log line is about; ECS has no fields for these, so they live under `soar.`. */
export interface LogContext {
  run?: string;
  step?: string;
  host?: string;
}

function levelFrom(option: string | undefined): (typeof LEVELS)[number] {
  const level = option ?? (process.env.SOAR_LOG_LEVEL || 'info');
  if (!(LEVELS as readonly string[]).includes(level)) {
    throw new SoarError('LOG_LEVEL_INVALID', `log level "${level}" (SOAR_LOG_LEVEL) is not one of ${LEVELS.join(', ')}`);
  }
  return level as (typeof LEVELS)[number];
}

/** soar's operational log: ECS JSON lines (Elastic ingests them as they are), secrets redacted. */
export function createLogger(options: LoggerOptions = {}): Logger {
  const ecs = ecsFormat({ serviceName: 'soar', serviceVersion: soarVersion(), convertErr: true, apmIntegration: false });
  const { log } = ecs.formatters as Required<NonNullable<typeof ecs.formatters>>;
  const logger = pino(
    {
      ...ecs,
      level: levelFrom(options.level),
      // Redaction by key, before ECS shapes the line.
      formatters: { ...ecs.formatters, log: (object) => log(redacted(object) as typeof object) },
    },
    options.destination ?? pino.destination({ fd: 2, sync: true }),
  );
  // Child bindings skip the log formatter (serialised once, at creation): redact them on the way in.
  const child = logger.child;
  logger.child = function (this: Logger, bindings, childOptions) {
    return child.call(this, redacted(bindings) as typeof bindings, childOptions);
  } as typeof logger.child;
  return logger;
}

/** A child logger whose every line carries the run, step and host it is about. */
export function contextLogger(logger: Logger, context: LogContext): Logger {
  const bindings: Record<string, string> = {};
  for (const [key, value] of Object.entries(context)) if (value !== undefined) bindings[`soar.${key}`] = value;
  return logger.child(bindings);
}
