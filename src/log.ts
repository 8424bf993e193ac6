import { createRequire as requireFrom } from 'node:module';
import type { DestinationStream, Logger as PinoLogger } from 'pino';
import { SoarError } from './errors.js';
import { soarVersion } from './paths.js';

type LogFn = { (object: object, message?: string): void; (message: string): void };

/** What soar logs through: pino's calling convention, at the levels soar uses. */
export interface Logger {
  error: LogFn;
  warn: LogFn;
  info: LogFn;
  debug: LogFn;
  child(bindings: Record<string, unknown>): Logger;
}

/**
 * Words that make a key secret wherever it appears, in any case and at any depth (`passphrase`,
 * `clientSecret`, `X-Api-Token`): its value, and everything under it, is replaced. A `headers`
 * object (webhook, Kibana) has every value replaced.
 */
export const SECRET_WORDS = ['password', 'passphrase', 'secret', 'token', 'authorization', 'cookie', 'apikey', 'api_key', 'privatekey', 'private_key'] as const;

const LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
/** pino's numbers for the levels: a line is written when its level's number is at least the logger's. */
const LEVEL_VALUES: Record<(typeof LEVELS)[number], number> = { fatal: 60, error: 50, warn: 40, info: 30, debug: 20, trace: 10, silent: Number.POSITIVE_INFINITY };

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

/**
 * soar's operational log: ECS JSON lines (Elastic ingests them as they are), secrets redacted.
 * pino and the ECS format are loaded with the first line the level lets through: a command that
 * logs nothing (most runs, at warn) starts without them.
 */
export function createLogger(options: LoggerOptions = {}): Logger {
  const level = levelFrom(options.level);
  let pinoLogger: PinoLogger | undefined;
  const root = (): PinoLogger => (pinoLogger ??= ecsPino(level, options.destination));
  return lazyLogger(LEVEL_VALUES[level], root);
}

/** A logger for code that was given none: writes nothing, loads nothing. */
export const silentLogger: Logger = lazyLogger(LEVEL_VALUES.silent, () => ecsPino('silent', undefined));

/** Calls at a level below `threshold` return at once; the others go to the pino logger `real` makes (once). */
function lazyLogger(threshold: number, real: () => PinoLogger): Logger {
  let made: PinoLogger | undefined;
  const target = (): PinoLogger => (made ??= real());
  const at =
    (name: 'error' | 'warn' | 'info' | 'debug'): LogFn =>
    (...args: [object | string, string?]) => {
      if (LEVEL_VALUES[name] < threshold) return;
      (target()[name] as (...line: unknown[]) => void)(...args);
    };
  return {
    error: at('error'),
    warn: at('warn'),
    info: at('info'),
    debug: at('debug'),
    // Child bindings skip pino's log formatter (serialised once, at creation): redacted on the way in.
    child: (bindings) => lazyLogger(threshold, () => target().child(redacted(bindings) as Record<string, unknown>)),
  };
}

function ecsPino(level: (typeof LEVELS)[number], destination: DestinationStream | undefined): PinoLogger {
  const require = requireFrom(import.meta.url);
  const { pino } = require('pino') as typeof import('pino');
  const { ecsFormat } = require('@elastic/ecs-pino-format') as typeof import('@elastic/ecs-pino-format');
  const ecs = ecsFormat({ serviceName: 'soar', serviceVersion: soarVersion(), convertErr: true, apmIntegration: false });
  const { log } = ecs.formatters as Required<NonNullable<typeof ecs.formatters>>;
  return pino(
    {
      ...ecs,
      level,
      // Redaction by key, before ECS shapes the line.
      formatters: { ...ecs.formatters, log: (object) => log(redacted(object) as typeof object) },
    },
    destination ?? pino.destination({ fd: 2, sync: true }),
  );
}

/** A child logger whose every line carries the run, step and host it is about. */
export function contextLogger(logger: Logger, context: LogContext): Logger {
  const bindings: Record<string, string> = {};
  for (const [key, value] of Object.entries(context)) if (value !== undefined) bindings[`soar.${key}`] = value;
  return logger.child(bindings);
}
