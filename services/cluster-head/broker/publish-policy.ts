/**
 * Who may write into whose inbox on the embedded broker. A device writes into a peer's inbox only
 * channel frames, only to a current member it holds a live session with, and the envelope must name
 * the publisher itself. Session set-up (SessionRequest, the Grant M2 forwards) never goes there
 * directly: the device publishes it to its own set-up topic and the head relays it
 * (request-relay.ts; docs/mqtt.md § Session set-up through the head), so a broker whose ACLs see
 * only topics (Mosquitto's dynamic security) can enforce the same rule.
 */
import { MessageType } from "../../../protocol";
import { decodeEnvelope } from "../../../transport/mqtt";

export interface PublishPolicyDeps {
  isMember(deviceId: string): boolean;
  haveSession(a: string, b: string): boolean;
}

const FRAME_TYPES: ReadonlySet<number> = new Set([MessageType.FRAME_I2R, MessageType.FRAME_R2I]);

/**
 * Decides a device's publish into `to`'s inbox. `false` means the embedded broker acknowledges and
 * drops it (counted in `droppedPublishes`).
 */
export function mayPublishToInbox(
  deps: PublishPolicyDeps,
  from: string,
  to: string,
  payload: Uint8Array,
): boolean {
  if (from === to || !deps.isMember(to)) return false;
  let envelope: ReturnType<typeof decodeEnvelope>;
  try {
    envelope = decodeEnvelope(payload);
  } catch {
    return false;
  }
  if (envelope.senderId !== from) return false;
  return FRAME_TYPES.has(envelope.type) && deps.haveSession(from, to);
}
