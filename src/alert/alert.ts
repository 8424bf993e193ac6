/**
 * One detection alert, normalised from whichever shape it arrived in (bare `_source`, an
 * Elasticsearch hit, a search response, or a Kibana webhook body). Values are typed but NOT yet
 * trusted: every string here may have been written by the attacker. Grammar checks happen when
 * a Target is extracted (src/alert/target.ts).
 */
export interface Alert {
  /** `kibana.alert.uuid` (equals the hit's `_id`): the de-duplication key and Kibana's status key. */
  id: string;
  /** The index the alert lives in, when known (`_index` or derived from the space). */
  index: string | undefined;
  /** `@timestamp` as an ISO string (input may be ISO or epoch milliseconds). */
  timestamp: string;
  rule: {
    /** `kibana.alert.rule.rule_id`: the detection rule's stable id. */
    ruleId: string | undefined;
    /** `kibana.alert.rule.uuid`: the rule's saved-object id (Cases attachments need it). */
    uuid: string | undefined;
    name: string | undefined;
  };
  /** The source event, preferring `kibana.alert.original_event.*` over the rewritten top level. */
  event: {
    action: string | undefined;
    type: string[];
    category: string[];
  };
  host: {
    name: string | undefined;
    hostname: string | undefined;
    id: string | undefined;
    ip: string[];
    os: { type: string | undefined; family: string | undefined; name: string | undefined };
  };
  file: { path: string | undefined; name: string | undefined };
  /** The process that wrote the file (the installer), not the miner. */
  process: AlertProcess | undefined;
  user: { id: string | undefined; name: string | undefined };
  /** JSON path prefix of the alert document in the input (e.g. `alerts[2]`), for error messages. */
  source: string;
}

export interface AlertProcess {
  pid: number | undefined;
  entityId: string | undefined;
  executable: string | undefined;
  name: string | undefined;
  commandLine: string | undefined;
  parent: { pid: number | undefined; entityId: string | undefined; executable: string | undefined } | undefined;
}
