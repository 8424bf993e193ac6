import { readSecret, type Config } from '../config/config.js';
import type { ExecResult } from '../transport/transport.js';

/**
 * POSTs a case as JSON to the configured webhook. The answer comes back in the transports'
 * result shape (exit 0 for 2xx) so the escalate step reads it like any other command.
 * Retries are the playbook step's (durable, with backoff), not hidden here.
 */
export async function postCase(config: Config, url: string, body: unknown, timeoutMs: number): Promise<ExecResult> {
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  for (const [name, ref] of Object.entries(config.escalation.webhook?.headers ?? {})) {
    headers[name] = await readSecret(config, ref, `escalation.webhook.headers.${name}`);
  }
  const startedAt = new Date();
  const response = await fetch(url, { method: 'POST', headers, body: JSON.stringify(body), signal: AbortSignal.timeout(timeoutMs) });
  const text = (await response.text()).slice(0, 64 * 1024);
  return {
    command: `POST ${url}`,
    exitCode: response.ok ? 0 : 1,
    signal: null,
    stdout: text,
    stderr: response.ok ? '' : `HTTP ${response.status} ${response.statusText}`,
    truncated: false,
    startedAt: startedAt.toISOString(),
    durationMs: Date.now() - startedAt.getTime(),
    timedOut: false,
    outcomeUnknown: false,
  };
}
