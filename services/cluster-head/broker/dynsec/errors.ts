/** Failures of the head's administration of Mosquitto's dynamic-security plugin. */

export type BrokerAdminErrorCode =
  /** The admin connection is down (or never came up): nothing was sent. */
  | "E_BROKER_ADMIN_UNAVAILABLE"
  /** No response to a command within the timeout: it may or may not have been applied. */
  | "E_BROKER_ADMIN_TIMEOUT"
  /** The plugin answered a command with an error (e.g. "Client not found"). */
  | "E_BROKER_ADMIN_REFUSED"
  /** The admin credential file is missing, malformed or readable by others. */
  | "E_BROKER_ADMIN_CREDENTIAL";

/** A typed failure of a dynsec command; `command` names the command, never its arguments. */
export class BrokerAdminError extends Error {
  constructor(
    readonly code: BrokerAdminErrorCode,
    message: string,
    readonly command?: string,
  ) {
    super(message);
    this.name = "BrokerAdminError";
  }
}
