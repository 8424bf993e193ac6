import { ACTIONS } from '../../actions/registry.js';
import { auditKey } from '../../audit/key.js';
import { readSecret, type Config } from '../../config/config.js';
import { SoarError } from '../../errors.js';
import { createLogger } from '../../log.js';
import { loadPlaybook } from '../../playbook/load.js';
import { startService } from '../../server/service.js';
import { EXIT, parseCommandArgs, wholeNumber, type CliCommand } from '../command.js';
import { DEFAULT_PLAYBOOK } from '../defaults.js';
import { openSession } from '../session.js';

/** Shorter shared secrets can be guessed by whoever can reach the port. */
const MIN_SECRET_CHARS = 16;
/** How long a shutdown waits for runs under way to reach a committed point (they resume on the next start either way). */
const DEFAULT_GRACE_MS = 30_000;

export const serveCommand: CliCommand = {
  name: 'serve',
  help: `Usage: soar serve [--config FILE] [--playbook FILE] [--store FILE] [--host ADDRESS] [--port N]
                  [--grace SECONDS]

Listens for alerts and analysts' decisions (server.listen in the config, default 127.0.0.1:8787):
  POST /api/alerts                           Kibana webhook bodies (any intake shape), with the
                                             header x-soar-secret: <server.intake_secret>
  GET  /api/runs, /api/runs/RUN              runs; one run with its pending approvals and commands
  POST /api/runs/RUN/steps/STEP/approve|deny  {"reason": "...", "stepHash": "..."} with
                                             Authorization: Bearer <token> (approvers.NAME.token_sha256)
  GET  /api/runs/RUN/audit                   the run's audit report and records (JSON)
  GET  /healthz
One incident per host and unit: an alert about a unit a host's active run responds to joins that
run (alert.joined in its trail); one about another unit gets its own run, held until the host's
earlier runs end. At most server.max_concurrent_runs runs are driven at once; server.queue_limit more
wait, beyond that intake answers 429 with Retry-After. Active runs in the store are taken up at
start. SIGTERM or SIGINT: stop accepting, let runs under way reach a committed point, exit.

Options:
  --config FILE       inventory and settings (default: $SOAR_CONFIG, else ./soar.yaml)
  --playbook FILE     playbook YAML (default: the bundled mining-service playbook)
  --store FILE        the SQLite store (default: the config's store, $SOAR_STORE, else ./soar.db)
  --host ADDRESS      listen here instead of server.listen.host
  --port N            listen on this port instead of server.listen.port
  --grace SECONDS     how long shutdown waits for runs under way (default 30)

Example:
  SOAR_INTAKE_SECRET=… soar serve --config /etc/soar/soar.yaml
`,
  async run(args, io) {
    const { values } = parseCommandArgs(
      args,
      { config: { type: 'string' }, playbook: { type: 'string' }, store: { type: 'string' }, host: { type: 'string' }, port: { type: 'string' }, grace: { type: 'string' } },
      { min: 0, max: 0 },
    );
    const port = values.port === undefined ? undefined : wholeNumber(values.port, '--port', { max: 65535 });
    const graceMs = values.grace === undefined ? DEFAULT_GRACE_MS : wholeNumber(values.grace, '--grace', { max: 3600 }) * 1000;
    const logger = createLogger({ level: process.env.SOAR_LOG_LEVEL || 'info' });
    const session = await openSession({ config: values.config, store: values.store });
    try {
      const { config, runtime } = session;
      const intakeSecret = await intakeSecretOf(config);
      const playbook = await loadPlaybook(values.playbook ?? DEFAULT_PLAYBOOK, ACTIONS);
      if (!Object.values(config.approvers).some((approver) => approver.token_sha256 !== undefined)) {
        io.stderr('soar serve: no approver has a token_sha256: nobody can decide over HTTP (runs wait at their gates until soar approve)\n');
      }
      const listen = { host: values.host ?? config.server.listen.host, port: port ?? config.server.listen.port };
      const service = await startService({ config, runtime, playbook, intakeSecret, auditKey: await auditKey(config), logger, listen });
      io.stderr(`soar serve: listening on ${service.url} (playbook ${playbook.id}, store ${runtime.store.file})\n`);
      const signal = await shutdownSignal();
      io.stderr(`soar serve: stopping (${signal}): no new requests; waiting up to ${graceMs / 1000}s for runs under way\n`);
      const settled = await service.stop(graceMs);
      if (!settled) io.stderr('soar serve: some runs were still under way; they resume from the store on the next start\n');
      return EXIT.ok;
    } finally {
      await session.close();
    }
  },
};

/** The first SIGTERM or SIGINT; a second one gets node's default (exit at once). */
function shutdownSignal(): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    const stop = (signal: NodeJS.Signals) => {
      process.off('SIGTERM', stop);
      process.off('SIGINT', stop);
      resolve(signal);
    };
    process.on('SIGTERM', stop);
    process.on('SIGINT', stop);
  });
}

async function intakeSecretOf(config: Config): Promise<string> {
  if (!config.server.intake_secret) {
    throw new SoarError('INTAKE_SECRET_MISSING', 'server.intake_secret is not set: name an env variable or file holding the secret Kibana sends in x-soar-secret (openssl rand -hex 32)');
  }
  const secret = await readSecret(config, config.server.intake_secret, 'server.intake_secret');
  if (secret.length < MIN_SECRET_CHARS) {
    throw new SoarError('INTAKE_SECRET_WEAK', `server.intake_secret has ${secret.length} characters, at least ${MIN_SECRET_CHARS} are needed: generate one with \`openssl rand -hex 32\``);
  }
  return secret;
}
