import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { contextLogger, createLogger, SECRET_WORDS, type Logger } from '../../../src/log.js';

/** A real pino destination: every line the logger writes, parsed as the JSON it must be. */
function capture(level = 'trace'): { logger: Logger; lines: () => Array<Record<string, unknown>>; text: () => string } {
  const written: string[] = [];
  const logger = createLogger({ level, destination: { write: (line: string) => void written.push(line) } });
  return { logger, lines: () => written.map((line) => JSON.parse(line) as Record<string, unknown>), text: () => written.join('') };
}

describe('the operational log', () => {
  it('writes ECS documents with the run, step and host each line is about', () => {
    const { logger, lines } = capture();
    contextLogger(contextLogger(logger, { run: 'run-e421fd51e7f41a7e' }), { step: 'kill', host: 'web-01' }).warn({ attempt: 2 }, 'retrying kill');
    const [line] = lines();
    expect(line).toMatchObject({
      'log.level': 'warn',
      message: 'retrying kill',
      'ecs.version': expect.any(String),
      'service.name': 'soar',
      'soar.run': 'run-e421fd51e7f41a7e',
      'soar.step': 'kill',
      'soar.host': 'web-01',
      attempt: 2,
    });
    expect(Date.parse(line!['@timestamp'] as string)).not.toBeNaN();
  });

  it('errors become ECS error fields', () => {
    const { logger, lines } = capture();
    logger.error({ err: new Error('channel open failure') }, 'exec failed');
    expect(lines()[0]).toMatchObject({ error: { type: 'Error', message: 'channel open failure', stack_trace: expect.stringContaining('Error: channel open failure') } });
  });

  it('takes its level from SOAR_LOG_LEVEL and refuses a level it does not know', () => {
    const saved = process.env.SOAR_LOG_LEVEL;
    try {
      process.env.SOAR_LOG_LEVEL = 'warn';
      const written: string[] = [];
      const logger = createLogger({ destination: { write: (line: string) => void written.push(line) } });
      logger.info('not shown');
      logger.warn('shown');
      expect(written.map((line) => (JSON.parse(line) as { message: string }).message)).toEqual(['shown']);
      process.env.SOAR_LOG_LEVEL = 'loud';
      expect(() => createLogger()).toThrow(expect.objectContaining({ code: 'LOG_LEVEL_INVALID' }));
    } finally {
      if (saved === undefined) delete process.env.SOAR_LOG_LEVEL;
      else process.env.SOAR_LOG_LEVEL = saved;
    }
  });

  it('redacts what soar handles: key passphrases, webhook headers, Kibana API keys', () => {
    const { logger, text, lines } = capture();
    logger.info({ host: { identity_file: 'id_ed25519', passphrase: 'hunter2-passphrase' } }, 'connecting');
    logger.info({ webhook: { url: 'https://soc.example/hooks/soar', headers: { Authorization: 'ApiKey c29hcjpzM2NyM3Q=', 'X-Custom': 'custom-header-value' } } }, 'posting case');
    logger.info({ request: { headers: { authorization: 'Bearer eyJhbGciOi.token' } }, token: 'ghp_abcdef123456' }, 'kibana');
    for (const secret of ['hunter2-passphrase', 'c29hcjpzM2NyM3Q=', 'custom-header-value', 'eyJhbGciOi.token', 'ghp_abcdef123456']) expect(text()).not.toContain(secret);
    expect(lines()[1]).toMatchObject({ webhook: { url: 'https://soc.example/hooks/soar', headers: { Authorization: '[REDACTED]' } } });
  });

  it('a secret under any key naming one, in any case and at any depth, never reaches the output', () => {
    const safeKey = fc.stringMatching(/^[a-z][a-z0-9_]{0,11}$/).filter((key) => !SECRET_WORDS.some((word) => key.includes(word)) && key !== 'headers');
    const secretKey = fc
      .tuple(fc.constantFrom(...SECRET_WORDS, 'headers'), fc.constantFrom('', 'client', 'X-Api-', 'webhook_'), fc.boolean())
      .map(([word, prefix, upper]) => (word === 'headers' ? word : `${prefix}${upper ? word.toUpperCase() : word}`));
    fc.assert(
      fc.property(fc.array(safeKey, { maxLength: 8 }), secretKey, fc.stringMatching(/^[A-Za-z0-9+/=]{12,40}$/), fc.boolean(), (path, key, value, nested) => {
        const secret = `S3CRET-${value}`;
        const leaf = key === 'headers' ? { 'X-Soc-Header': secret } : nested ? { inner: [secret] } : secret;
        const object = path.reduceRight<Record<string, unknown>>((inner, step) => ({ [step]: inner }), { [key]: leaf });
        const { logger, text } = capture();
        logger.info(object, 'event');
        contextLogger(logger, { run: 'run-1' }).child({ context: object }).error('with context');
        expect(text()).not.toContain(secret);
        expect(text().match(/\[REDACTED\]/g)).toHaveLength(2);
      }),
      { seed: 20_261_123, numRuns: 300 },
    );
  });
});
