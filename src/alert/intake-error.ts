import { SoarError } from '../errors.js';

/** Input that is not a usable alert: `field` is the JSON path of what is missing or malformed. */
export class AlertIntakeError extends SoarError {
  constructor(field: string, message: string) {
    super('ALERT_INVALID', `${field}: ${message}`, { field });
  }
}
