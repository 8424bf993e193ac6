/**
 * The store's schema, as numbered migrations applied in order (those a store lacks, in one transaction).
 * Never edit a released migration: add the next one.
 */
export const MIGRATIONS: readonly string[] = [
  `
  CREATE TABLE runs (
    id TEXT PRIMARY KEY,
    alert_id TEXT NOT NULL,
    playbook_id TEXT NOT NULL,
    host TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('active', 'done', 'aborted', 'failed')),
    plan TEXT NOT NULL,
    plan_hash TEXT NOT NULL,
    playbook TEXT NOT NULL,
    snapshot TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    UNIQUE (alert_id, playbook_id)
  );
  CREATE INDEX runs_by_status ON runs (status);
  CREATE INDEX runs_by_host ON runs (host, status);

  -- What the machine asked for, committed with the transition that asked; done once acted upon.
  CREATE TABLE intents (
    id INTEGER PRIMARY KEY,
    run TEXT NOT NULL REFERENCES runs (id),
    type TEXT NOT NULL,
    params TEXT NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('pending', 'started', 'done')),
    created_at TEXT NOT NULL,
    started_at TEXT,
    done_at TEXT
  );
  CREATE INDEX intents_open ON intents (run, state) WHERE state != 'done';

  -- Absolute times at which an event is due (approval expiry, retry backoff): never XState timers.
  CREATE TABLE deadlines (
    id INTEGER PRIMARY KEY,
    run TEXT NOT NULL REFERENCES runs (id),
    step TEXT NOT NULL,
    event TEXT NOT NULL CHECK (event IN ('APPROVAL.EXPIRED', 'RETRY.DUE')),
    due_at INTEGER NOT NULL,
    fired_at TEXT
  );
  CREATE INDEX deadlines_due ON deadlines (due_at) WHERE fired_at IS NULL;

  CREATE TABLE approvals (
    id INTEGER PRIMARY KEY,
    run TEXT NOT NULL REFERENCES runs (id),
    step TEXT NOT NULL,
    step_hash TEXT NOT NULL,
    count INTEGER NOT NULL,
    roles TEXT NOT NULL,
    requested_at TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('pending', 'approved', 'denied', 'expired')),
    UNIQUE (run, step)
  );

  CREATE TABLE votes (
    approval INTEGER NOT NULL REFERENCES approvals (id),
    analyst TEXT NOT NULL,
    decision TEXT NOT NULL CHECK (decision IN ('approve', 'deny')),
    reason TEXT NOT NULL,
    step_hash TEXT NOT NULL,
    at TEXT NOT NULL,
    PRIMARY KEY (approval, analyst)
  );

  -- The audit trail: one hash chain over every record of every run, append-only.
  CREATE TABLE audit (
    seq INTEGER PRIMARY KEY,
    time TEXT NOT NULL,
    run TEXT NOT NULL,
    kind TEXT NOT NULL,
    actor TEXT NOT NULL,
    data TEXT NOT NULL,
    prev TEXT NOT NULL,
    hash TEXT NOT NULL
  );
  CREATE INDEX audit_by_run ON audit (run, seq);
  CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit BEGIN SELECT RAISE(ABORT, 'the audit trail is append-only'); END;
  CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit BEGIN SELECT RAISE(ABORT, 'the audit trail is append-only'); END;
  `,
  `
  -- Long strings of runs' plans (remote scripts, YARA rules), once each, referred to by sha256.
  CREATE TABLE blobs (
    hash TEXT PRIMARY KEY,
    text TEXT NOT NULL
  ) WITHOUT ROWID;
  `,
  `
  CREATE TABLE leases (
    run TEXT PRIMARY KEY REFERENCES runs (id),
    owner TEXT NOT NULL,
    hostname TEXT NOT NULL,
    pid INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
  ) WITHOUT ROWID;
  `,
  // Hosts have leases too (host:NAME beside the run ids): the key no longer references a run.
  `
  CREATE TABLE leases_keyed (
    run TEXT PRIMARY KEY,
    owner TEXT NOT NULL,
    hostname TEXT NOT NULL,
    pid INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
  ) WITHOUT ROWID;
  INSERT INTO leases_keyed SELECT run, owner, hostname, pid, expires_at FROM leases;
  DROP TABLE leases;
  ALTER TABLE leases_keyed RENAME TO leases;
  `,
  // Audit data keeps its long strings (the scripts each approval request and command record
  // carries) in blobs, as plans do; rows written before keep theirs inline (interned = 0). The
  // trail now depends on blobs, so they are append-only too.
  `
  ALTER TABLE audit ADD COLUMN interned INTEGER NOT NULL DEFAULT 0;
  CREATE TRIGGER blobs_no_update BEFORE UPDATE ON blobs BEGIN SELECT RAISE(ABORT, 'blobs are append-only: the audit trail refers to them'); END;
  CREATE TRIGGER blobs_no_delete BEFORE DELETE ON blobs BEGIN SELECT RAISE(ABORT, 'blobs are append-only: the audit trail refers to them'); END;
  `,
  // A run's open deadlines by run: closing one (a decision, a deadline that fired) scanned every
  // open deadline, and 10,000 approvals expiring together took a scan each.
  `
  CREATE INDEX deadlines_open_by_run ON deadlines (run, step, event) WHERE fired_at IS NULL;
  `,
  `
  -- The alerts that joined a run (each also an alert.joined audit record): looked up at each
  -- admission, instead of every record of the trail read at every start of soar serve.
  CREATE TABLE joined_alerts (
    alert TEXT PRIMARY KEY,
    run TEXT NOT NULL REFERENCES runs (id)
  ) WITHOUT ROWID;
  INSERT OR IGNORE INTO joined_alerts (alert, run) SELECT data ->> '$.alert', run FROM audit WHERE kind = 'alert.joined' ORDER BY seq;
  `,
];
