/**
 * Who may write into whose inbox on the embedded broker. The envelope must name the publisher
 * itself; a session request, or a grant forwarded by M2, may go to any current member (that is how
 * sessions start); channel frames only to a peer the sender holds a live session with.
 */
import { MessageType } from "../../../protocol";
import { decodeEnvelope } from "../../../transport/mqtt";

export interface PublishPolicyDeps {
  isMember(deviceId: string): boolean;
  haveSession(a: string, b: string): boolean;
}

const SESSION_SETUP_TYPES: ReadonlySet<number> = new Set([MessageType.SESSION_REQUEST, MessageType.GRANT]);
const FRAME_TYPES: ReadonlySet<number> = new Set([MessageType.FRAME_I2R, MessageType.FRAME_R2I]);

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
  if (SESSION_SETUP_TYPES.has(envelope.type)) return true;
  if (FRAME_TYPES.has(envelope.type)) return deps.haveSession(from, to);
  return false;
}
