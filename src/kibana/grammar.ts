/** Names Kibana and Elasticsearch accept, checked before they go into a URL path or a request body. */

/** A Kibana space id. */
export const KIBANA_SPACE = /^[a-z0-9_-]{1,100}$/;

/** An Elasticsearch index name (alerts live in dotted, hidden indices such as .internal.alerts-…). */
export const INDEX_NAME = /^[a-z0-9._-][a-z0-9._*-]{0,254}$/;

/** A saved object id as Kibana returns it for a case (a UUID in practice). */
export const SAVED_OBJECT_ID = /^[A-Za-z0-9_-]{1,128}$/;

/** The reasons Kibana (9.2 and later) predefines for closing detection alerts. */
export const CLOSE_REASONS = ['false_positive', 'duplicate', 'true_positive', 'benign_positive', 'automated_closure', 'other'] as const;
export type CloseReason = (typeof CLOSE_REASONS)[number];
