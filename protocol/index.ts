/**
 * iotguard protocol core: identities, join, session grants and the M2M channel.
 * Pure: bytes, time and randomness in; bytes and typed results out. See docs/protocol.md.
 * @module
 */
export { ERROR_CODES, ERROR_CODE_LIST, type ErrorCode, ProtocolError, errorCodeFromWire, isProtocolError } from "./errors";
export {
  AeadSuite,
  Defaults,
  FRAME_OVERHEAD,
  JoinSuite,
  Label,
  MAX_FRAME_PLAINTEXT,
  MAX_MESSAGES_PER_KEY,
  MessageSize,
  MessageType,
  PROTOCOL_VERSION,
  REPLAY_WINDOW,
  Role,
  Size,
} from "./constants";
export { equalBytes, fromHex, peekType, toHex } from "./bytes";
export { type RandomSource, systemRandom } from "./crypto/random";
export { addressOfPublicKey } from "./crypto/address";
export { type Identity, generateIdentity, identityFromSecretKey } from "./identity";
export { type Position, angularDistance, withinRadius } from "./geo";
export {
  type JoinChallenge,
  type JoinRequest,
  type JoinResponse,
  decodeJoinChallenge,
  decodeJoinRequest,
  decodeJoinResponse,
} from "./join/codec";
export {
  type AcceptJoinContext,
  type AcceptJoinResult,
  type ChallengeRecord,
  ChallengeState,
  type ClusterInfo,
  type DeviceRecord,
  type Membership,
  acceptJoin,
  issueChallenge,
} from "./join/head";
export { type DeviceJoinState, JoinPhase, type StartJoinOptions, finishJoin, startJoin } from "./join/device";
export {
  type Grant,
  type GrantRequest,
  type GrantWarning,
  type SessionRequest,
  decodeGrant,
  decodeGrantRequest,
  decodeGrantWarning,
  decodeSessionRequest,
} from "./grant/codec";
export { type GrantIssued, type GrantRefused, type IssueGrantContext, type MemberRecord, grantReplayKey, issueGrant } from "./grant/head";
export {
  type GrantedSession,
  type PendingGrant,
  acceptGrant,
  acceptGrantWarning,
  createGrantRequest,
  createSessionRequest,
} from "./grant/member";
export { type Frame, decodeFrame } from "./channel/frame";
export { type Channel, ChannelReceiver, ChannelSender, ChannelState, type CreateChannelOptions, createChannel } from "./channel/session";
export { SequenceReservation, type SequenceReservationStore } from "./channel/sequence";
