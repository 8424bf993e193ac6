import { sha256Hex } from '../canonical-json.js';
import type { KibanaExchange } from '../kibana/client.js';
import type { KibanaRequest } from '../kibana/escalation.js';
import type { ExecResult } from '../transport/transport.js';

/** How much of any output goes into an audit record as text; the sha256 covers all of it. */
const AUDIT_OUTPUT_CHARS = 16 * 1024;

/** Output as the trail keeps it: its sha256, and its text up to a cap. */
export function auditOutput(text: string): { sha256: string; text: string; cut: boolean } {
  return { sha256: sha256Hex(text), text: text.slice(0, AUDIT_OUTPUT_CHARS), cut: text.length > AUDIT_OUTPUT_CHARS };
}

/** A command's result as the trail keeps it. */
export function auditResult(result: ExecResult) {
  const { stdout, stderr, ...rest } = result;
  return { ...rest, stdout: auditOutput(stdout), stderr: auditOutput(stderr) };
}

/** One exchange with Kibana as the trail keeps it: bodies and answers hashed and clipped, no credentials. */
export function auditExchange(step: string, request: KibanaRequest, exchange: KibanaExchange) {
  const common = { step, request, path: exchange.path, attempt: exchange.attempt };
  switch (exchange.phase) {
    case 'sending':
      return { ...common, ...(exchange.body === undefined ? {} : { body: auditOutput(JSON.stringify(exchange.body)) }) };
    case 'returned':
      return { ...common, status: exchange.status, durationMs: exchange.durationMs, answer: auditOutput(exchange.text) };
    case 'failed':
      return { ...common, message: exchange.message, durationMs: exchange.durationMs };
  }
}
