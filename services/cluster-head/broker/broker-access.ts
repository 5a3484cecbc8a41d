/**
 * How the use cases tell the broker who may do what. The embedded broker asks the head live on
 * every packet, so it needs nothing ({@link LIVE_BROKER_ACCESS}); an administered Mosquitto must be
 * told at join, grant and end (dynsec/dynsec-access.ts). Join and grant wrap their durable write in
 * the broker change, so a member or session exists on both sides or on neither.
 */
import type { Membership } from "../../../protocol";

export interface BrokerAccess {
  /**
   * Gives the member its broker client and ACLs, then runs `record` (which stores the membership).
   * If `record` fails the broker change is undone; if the broker refuses, `record` never runs.
   * @throws HeadError E_BROKER_ADMIN_UNAVAILABLE (retryable) when the broker could not be told
   */
  admitMember<T>(membership: Membership, record: () => Promise<T>): Promise<T>;
  /**
   * Lets the two members write frames into each other's inbox, then runs `record` (which stores
   * the grant); undone if `record` fails.
   * @throws HeadError E_BROKER_ADMIN_UNAVAILABLE (retryable) when the broker could not be told
   */
  grantSession<T>(
    initiator: string,
    responder: string,
    expiresAt: number,
    record: () => Promise<T>,
  ): Promise<T>;
  /**
   * The device's membership ended (revoked, re-keyed, expired, replaced): its client goes (and is
   * disconnected), and so do its peers' rights to its inbox. Never throws: what cannot be applied
   * now is repaired by the next reconciliation.
   */
  membershipEnded(deviceId: string, peers: readonly string[]): Promise<void>;
}

/** For a broker that checks every packet against the head's state itself. */
export const LIVE_BROKER_ACCESS: BrokerAccess = {
  admitMember: (_membership, record) => record(),
  grantSession: (_initiator, _responder, _expiresAt, record) => record(),
  membershipEnded: async () => {},
};
