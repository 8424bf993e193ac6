// soar's analyst console: polls soar serve's API and lets an analyst decide pending approvals.
// Every value from the server reaches the page as text (text nodes, textContent): alert data is
// hostile, so nothing here ever parses server data as HTML.
'use strict';

const POLL_MS = 2000;
/** Incidents listed at most: the newest; a busy service holds thousands. */
const RUNS_SHOWN = 500;
const TOKEN_KEY = 'soar.token';

const $ = (selector) => document.querySelector(selector);
let selectedRun;
/** What the rendered approval cards show: they are rebuilt only when it changes, so a reason being typed survives polls. */
let renderedApprovals = '';
let polling = false;
/** The selected run's audit export, the seq of its last record then, and when it was fetched. */
let shownAudit;
/** The answer to the last decision sent from this page, shown again when its card is rebuilt. */
let lastDecision;

/** An element with text children; attributes are set as attribute values, never parsed. */
function h(tag, attributes, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes ?? {})) {
    if (value === undefined || value === false) continue;
    if (name === 'class') node.className = value;
    else node.setAttribute(name, value === true ? '' : String(value));
  }
  for (const child of children.flat(Infinity)) {
    if (child === undefined || child === null || child === false) continue;
    node.append(child instanceof Node ? child : String(child));
  }
  return node;
}

class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

async function api(path, init = {}) {
  const token = sessionStorage.getItem(TOKEN_KEY);
  if (!token) throw new ApiError(401, 'NO_TOKEN', 'paste your API token above');
  const headers = { authorization: `Bearer ${token}`, ...(init.body ? { 'content-type': 'application/json' } : {}) };
  const response = await fetch(path, { ...init, headers, cache: 'no-store' });
  const body = await response.json().catch(() => undefined);
  if (!response.ok) {
    const error = body && body.error;
    throw new ApiError(response.status, error ? error.code : `HTTP_${response.status}`, error ? error.message : `soar answered ${response.status}`);
  }
  return body;
}

const describeError = (error) => (error instanceof ApiError ? `${error.status} ${error.code}: ${error.message}` : `cannot reach soar: ${error.message}`);

function showBanner(text) {
  $('#banner').textContent = text ?? '';
}

/** A machine state value ({isolate: 'approval'}) as isolate.approval. */
function stateName(value) {
  if (typeof value === 'string') return value;
  if (value && typeof value === 'object') return Object.entries(value).map(([key, inner]) => `${key}.${stateName(inner)}`).join(', ');
  return String(value ?? '');
}

const statusBadge = (status) => h('span', { class: `status status-${String(status).replace(/[^a-z]/g, '')}` }, status);

function renderRuns(runs, total) {
  const body = $('#runs tbody');
  body.replaceChildren(
    ...runs.map((run) =>
      h(
        'tr',
        { 'data-run': run.run, 'aria-selected': run.run === selectedRun ? 'true' : 'false', tabindex: 0 },
        h('td', { class: 'mono' }, run.run),
        h('td', {}, run.host),
        h('td', {}, run.unit),
        h('td', {}, statusBadge(run.status)),
        h('td', { class: 'mono' }, stateName(run.state)),
        h('td', {}, run.pending.length > 0 ? `approval: ${run.pending.join(', ')}` : ''),
      ),
    ),
  );
  $('#no-runs').hidden = runs.length > 0;
  $('#runs-shown').hidden = total <= runs.length;
  $('#runs-shown').textContent = `The newest ${runs.length} of ${total} incidents.`;
}

const isScript = (argv) => argv[0] === 'sh' && argv[1] === '-c' && argv.length >= 4;

/** argv with a `sh -c` script shown by its name (<triage.sh>) instead of its text. */
const shownArgv = (argv) => (isScript(argv) ? ['sh', '-c', `<${String(argv[3]).replace(/^soar-/, '')}.sh>`, ...argv.slice(4)] : argv);

/** A command as the host will run it: each argv element on its own, a `sh -c` script by name with its text folded. */
function commandView(planned) {
  const parts = [h('div', {}, planned.purpose, h('span', { class: 'muted' }, ` (${planned.where})`))];
  if (planned.where === 'http') parts.push(h('pre', {}, `${planned.request.method} ${planned.request.url}`));
  if (planned.command) {
    const argv = planned.command.argv;
    parts.push(h('div', { class: 'argv', 'aria-label': 'argv' }, shownArgv(argv).map((arg) => h('code', {}, arg))));
    if (isScript(argv)) parts.push(h('details', {}, h('summary', {}, `script ${argv[3]}`), h('pre', {}, argv[2])));
  }
  return h('li', { class: 'command' }, parts);
}

function approvalCard(runId, approval) {
  const reason = h('textarea', { name: 'reason', required: true, placeholder: 'why (required, goes into the audit trail)', 'aria-label': `reason for ${approval.step}` });
  const shown = lastDecision && lastDecision.run === runId && lastDecision.step === approval.step ? lastDecision.text : undefined;
  const result = h('p', { class: shown ? 'result ok' : 'result', role: 'status' }, shown);
  const decide = async (decision, buttons) => {
    if (reason.value.trim() === '') {
      result.className = 'result error';
      result.textContent = 'say why: a reason is required to approve or deny';
      return;
    }
    buttons.forEach((button) => (button.disabled = true));
    try {
      const outcome = await api(`/api/runs/${encodeURIComponent(runId)}/steps/${encodeURIComponent(approval.step)}/${decision}`, {
        method: 'POST',
        body: JSON.stringify({ reason: reason.value, stepHash: approval.stepHash }),
      });
      lastDecision = { run: runId, step: approval.step, text: `${decision === 'approve' ? 'approved' : 'denied'} by ${outcome.analyst}: ${outcome.outcome}` };
      result.className = 'result ok';
      result.textContent = lastDecision.text;
      void poll();
    } catch (error) {
      result.className = 'result error';
      result.textContent = describeError(error);
      buttons.forEach((button) => (button.disabled = false));
    }
  };
  const approve = h('button', { type: 'button', class: 'approve' }, 'Approve');
  const deny = h('button', { type: 'button', class: 'deny' }, 'Deny');
  approve.addEventListener('click', () => decide('approve', [approve, deny]));
  deny.addEventListener('click', () => decide('deny', [approve, deny]));
  const votes = approval.votes ?? [];
  return h(
    'div',
    { class: 'approval', 'data-step': approval.step },
    h('h3', {}, `Step ${approval.step}`),
    h('p', {}, approval.summary),
    h(
      'dl',
      {},
      h('dt', {}, 'needs'),
      h('dd', {}, `${approval.count} of ${approval.roles.join(' or ') || 'any approver'}`),
      h('dt', {}, 'expires'),
      h('dd', {}, approval.expiresAt),
      h('dt', {}, 'step hash'),
      h('dd', { class: 'mono step-hash' }, approval.stepHash),
      votes.length > 0 && [h('dt', {}, 'votes'), h('dd', {}, votes.map((vote) => `${vote.analyst}: ${vote.decision} ("${vote.reason}")`).join('; '))],
    ),
    h('h3', {}, 'Commands it will run'),
    h('ol', { class: 'commands' }, approval.commands.map(commandView)),
    reason,
    h('div', { class: 'buttons' }, approve, deny),
    result,
  );
}

function renderApprovals(runId, pending) {
  const key = JSON.stringify([runId, pending.map((approval) => [approval.step, approval.stepHash, approval.votes])]);
  if (key === renderedApprovals) return;
  renderedApprovals = key;
  const cards = pending.map((approval) => approvalCard(runId, approval));
  $('#approvals').replaceChildren(...(cards.length > 0 ? cards : [h('p', { class: 'muted' }, 'None: nothing waits for a decision.')]));
}

const facts = (pairs) => h('dl', {}, pairs.filter(([, value]) => value !== undefined && value !== '').map(([name, value]) => [h('dt', {}, name), h('dd', {}, value)]));

const table = (headings, rows, attributes = {}) =>
  h('table', attributes, h('thead', {}, h('tr', {}, headings.map((heading) => h('th', {}, heading)))), h('tbody', {}, rows.map((cells) => h('tr', {}, cells.map((cell) => h('td', {}, cell ?? ''))))));

/** Triage's verdict and what it read on the host, and the alert's own account of who wrote the unit. */
function renderEvidence(detail, records) {
  const parts = [];
  const triage = detail.results.triage;
  if (triage) {
    const evidence = triage.evidence ?? {};
    const systemd = evidence.systemd ?? {};
    parts.push(h('h3', {}, 'Triage verdict: ', h('span', { class: 'verdict' }, triage.outcome)));
    parts.push(h('p', { class: 'reasons' }, evidence.reasons ?? triage.summary));
    parts.push(facts([['unit', evidence.unit], ['load state', systemd.loadState], ['active', [systemd.activeState, systemd.subState].filter(Boolean).join(' / ')], ['ExecStart', systemd.execStart], ['main pid', systemd.mainPid], ['restarts', systemd.restarts], ['pools in config', (evidence.pools ?? []).join(', ')]]));
    const processes = evidence.processes ?? [];
    if (processes.length > 0) {
      parts.push(h('h3', {}, 'Processes'));
      parts.push(table(['pid', 'user', 'name', 'executable', 'sha256', 'command line'], processes.map((p) => [p.pid, p.user, p.comm, p.exe, h('span', { class: 'mono' }, p.sha256), h('span', { class: 'mono' }, p.cmdline)]), { class: 'processes' }));
    }
    const connections = evidence.poolConnections ?? [];
    if (connections.length > 0) {
      parts.push(h('h3', {}, 'Pool connections'));
      parts.push(table(['local', 'peer', 'processes'], connections.map((c) => [c.local, c.peer, c.processes.map((p) => `${p.name}[${p.pid}]`).join(', ')]), { class: 'pool-connections' }));
    }
    const files = [evidence.fragment, evidence.hint, ...(evidence.dropins ?? []), ...(evidence.copies ?? []), ...(evidence.binaries ?? [])].filter((file) => file && file.exists);
    if (files.length > 0) {
      parts.push(h('h3', {}, 'Files'));
      parts.push(table(['path', 'sha256', 'package'], files.map((file) => [file.path, h('span', { class: 'mono' }, file.sha256), file.package ? `${file.package}${file.packageModified ? ' (modified)' : ''}` : 'none']), { class: 'files' }));
    }
  } else {
    parts.push(h('p', { class: 'muted' }, 'Triage has not reported yet.'));
  }
  const started = records.find((record) => record.kind === 'run.started');
  const writer = started && started.data.target && started.data.target.writer;
  if (writer) {
    parts.push(h('h3', {}, 'Process that wrote the unit (from the alert)'));
    parts.push(h('div', { class: 'alert-writer' }, facts([['pid', writer.pid], ['executable', writer.executable], ['command line', writer.commandLine]])));
  }
  const results = Object.entries(detail.results);
  if (results.length > 0) {
    parts.push(h('h3', {}, 'Step results'));
    parts.push(table(['step', 'outcome', 'changed', 'summary'], results.map(([step, result]) => [step, result.outcome, result.changed ? 'yes' : 'no', result.summary]), { class: 'results' }));
  }
  $('#evidence').replaceChildren(...parts);
}

/** One line per audit record, short: the full export is GET /api/runs/:id/audit. */
function recordText(record) {
  const data = record.data ?? {};
  switch (record.kind) {
    case 'command.sent':
      return `$ ${shownArgv(data.argv ?? []).join(' ')}`;
    case 'command.returned':
      return `${data.purpose}: exit ${data.result ? data.result.exitCode : '?'}`;
    case 'step.result':
      return `${data.outcome}: ${data.summary}`;
    case 'step.failed':
      return `FAILED (${data.code}): ${data.message}`;
    case 'approval.requested':
      return `approval requested: ${data.count} of ${(data.roles ?? []).join(' or ')}`;
    case 'approval.granted':
      return `APPROVED: "${data.reason}"`;
    case 'approval.denied':
      return `DENIED: "${data.reason}"`;
    case 'approval.refused':
      return `decision REFUSED: ${data.why}`;
    case 'transition':
      return `${data.event ? data.event.type : ''} → ${stateName(data.to)}`;
    case 'run.finished':
      return `run finished: ${data.status}`;
    default:
      return record.kind;
  }
}

function renderAudit(audit, checked) {
  const { verdict } = audit.chain;
  const chain = $('#chain');
  if (verdict.ok) {
    chain.className = 'ok';
    chain.textContent = `Audit chain verifies: ${verdict.count} records${verdict.anchored ? ', head anchored' : ''}${audit.chain.keyed ? ', HMAC-keyed' : ''} (checked ${checked.toLocaleTimeString()}).`;
  } else {
    chain.className = 'error';
    chain.textContent = `Audit chain DOES NOT VERIFY at record ${verdict.seq} (${verdict.problem}): ${verdict.message}`;
  }
  $('#timeline tbody').replaceChildren(
    ...audit.records.map((record) => h('tr', {}, h('td', {}, record.seq), h('td', { class: 'mono' }, record.time), h('td', {}, record.actor), h('td', {}, record.data && record.data.step), h('td', {}, recordText(record)))),
  );
}

async function renderDetail(runId) {
  const detail = await api(`/api/runs/${encodeURIComponent(runId)}`);
  if (runId !== selectedRun) return;
  // The export verifies the whole trail on the server: asked for again only when this run has new records.
  if (shownAudit?.runId !== runId || shownAudit.lastSeq !== detail.lastSeq) {
    const audit = await api(`/api/runs/${encodeURIComponent(runId)}/audit`);
    if (runId !== selectedRun) return;
    shownAudit = { runId, lastSeq: detail.lastSeq, audit, checked: new Date() };
  }
  const { audit, checked } = shownAudit;
  $('#detail').hidden = false;
  $('#run-id').textContent = detail.runId;
  $('#run-status').replaceWith(Object.assign(statusBadge(detail.status), { id: 'run-status' }));
  const escalation = detail.escalation;
  $('#run-facts').replaceWith(
    Object.assign(
      facts([
        ['host', detail.host],
        ['unit', detail.unit],
        ['state', stateName(detail.state)],
        ['plan hash', detail.planHash],
        ['escalation', escalation ? `${escalation.reason} at ${escalation.step}${escalation.detail ? ` (${escalation.detail})` : ''}` : undefined],
        ['case', detail.case ? detail.case.title : undefined],
        ['joined alerts', (detail.joined ?? []).map((joined) => joined.alert).join(', ')],
        ['held behind', detail.heldBehind ? `${detail.heldBehind}: acts on the host once that run has ended` : undefined],
      ]),
      { id: 'run-facts' },
    ),
  );
  renderApprovals(runId, detail.pending);
  renderEvidence(detail, audit.records);
  renderAudit(audit, checked);
}

async function poll() {
  if (polling || !sessionStorage.getItem(TOKEN_KEY)) return;
  polling = true;
  try {
    const { runs, total } = await api(`/api/runs?limit=${RUNS_SHOWN}`);
    renderRuns(runs, total);
    if (selectedRun !== undefined) await renderDetail(selectedRun);
    $('#updated').textContent = `updated ${new Date().toLocaleTimeString()}`;
    showBanner('');
  } catch (error) {
    showBanner(describeError(error));
  } finally {
    polling = false;
  }
}

function select(runId) {
  selectedRun = runId;
  renderedApprovals = '';
  for (const row of document.querySelectorAll('#runs tbody tr')) row.setAttribute('aria-selected', row.dataset.run === runId ? 'true' : 'false');
  void poll();
}

function showTokenState() {
  const has = Boolean(sessionStorage.getItem(TOKEN_KEY));
  $('#token-form').hidden = has;
  $('#forget').hidden = !has;
  $('#whoami').textContent = has ? 'token set for this tab' : '';
}

$('#token-form').addEventListener('submit', (event) => {
  event.preventDefault();
  sessionStorage.setItem(TOKEN_KEY, $('#token').value.trim());
  $('#token').value = '';
  showTokenState();
  void poll();
});
$('#forget').addEventListener('click', () => {
  sessionStorage.removeItem(TOKEN_KEY);
  showTokenState();
});
$('#runs tbody').addEventListener('click', (event) => {
  const row = event.target.closest('tr[data-run]');
  if (row) select(row.dataset.run);
});
$('#runs tbody').addEventListener('keydown', (event) => {
  const row = event.target.closest('tr[data-run]');
  if (row && event.key === 'Enter') select(row.dataset.run);
});

showTokenState();
void poll();
setInterval(poll, POLL_MS);
