import { readFileSync } from 'node:fs';
import type { FastifyInstance } from 'fastify';
import { SoarError } from '../errors.js';
import { consoleFile } from '../paths.js';

/** The console's page or script is not beside this module (a build that did not copy them). */
export class ConsoleMissingError extends SoarError {
  constructor(file: string, cause: unknown) {
    super('CONSOLE_MISSING', `the analyst console's ${file} is missing (${consoleFile(file).pathname}): rebuild soar (npm run build copies src/console into dist)`, { cause });
  }
}

// The page runs only its own script and talks only to soar: injected markup could neither run nor load anything.
const PAGE_HEADERS = {
  'content-security-policy': "default-src 'none'; script-src 'self'; style-src 'unsafe-inline'; connect-src 'self'; img-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'cache-control': 'no-store',
};

function readConsoleFile(name: string): string {
  try {
    return readFileSync(consoleFile(name), 'utf8');
  } catch (error) {
    throw new ConsoleMissingError(name, error);
  }
}

/**
 * Serves the analyst console (a static page and its script, read once here) at /console. The page
 * holds no data: everything it shows comes from the API with the analyst's own token.
 */
export function registerConsole(app: FastifyInstance): void {
  const page = readConsoleFile('index.html');
  const script = readConsoleFile('console.js');
  // Browsers ask for it; an empty answer keeps the console's log free of 404s.
  app.get('/favicon.ico', async (_request, reply) => reply.code(204).send());
  app.get('/', async (_request, reply) => reply.redirect('/console'));
  app.get('/console', async (_request, reply) => reply.headers(PAGE_HEADERS).type('text/html; charset=utf-8').send(page));
  app.get('/console/console.js', async (_request, reply) => reply.headers(PAGE_HEADERS).type('text/javascript; charset=utf-8').send(script));
}
