/**
 * iotguard protocol core: identities, join, session grants and the M2M channel.
 * Pure: bytes, time and randomness in; bytes and typed results out. See docs/protocol.md.
 * @module
 */

export { equalBytes, fromHex, peekType, toHex } from "./bytes";
export { decodeFrame, type Frame } from "./channel/frame";
export { SequenceReservation, type SequenceReservationStore, type StoredSequence } from "./channel/sequence";
export { SlabAllocator } from "./channel/slab";
export {
  type Channel,
  ChannelReceiver,
  ChannelSender,
  ChannelState,
  type CreateChannelOptions,
  createChannel,
} from "./channel/session";
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
export { addressOfPublicKey } from "./crypto/address";
export { type RandomSource, systemRandom } from "./crypto/random";
export {
  ERROR_CODE_LIST,
  ERROR_CODES,
  type ErrorCode,
  errorCodeFromWire,
  isProtocolError,
  ProtocolError,
} from "./errors";
export { angularDistance, type Position, withinRadius } from "./geo";
export {
  decodeGrant,
  decodeGrantRequest,
  decodeGrantWarning,
  decodeSessionRequest,
  type Grant,
  type GrantRequest,
  type GrantWarning,
  type SessionRequest,
} from "./grant/codec";
export {
  type GrantIssued,
  type GrantRefused,
  grantReplayKey,
  type IssueGrantContext,
  issueGrant,
  type MemberRecord,
} from "./grant/head";
export { type MemberMacKeys, memberMacKeys, wipeMemberMacKeys } from "./grant/keys";
export {
  acceptGrant,
  acceptGrantWarning,
  createGrantRequest,
  createSessionRequest,
  type GrantedSession,
  type PendingGrant,
} from "./grant/member";
export {
  decodeSessionAnswer,
  encodeSessionAnswer,
  type SessionAnswer,
  SessionAnswerKind,
  SessionAnswerSize,
} from "./grant/session-answer";
export { generateIdentity, type Identity, identityFromSecretKey } from "./identity";
export {
  type ClassicJoinRequest,
  type ClassicJoinResponse,
  decodeJoinChallenge,
  decodeJoinRequest,
  decodeJoinResponse,
  type HybridJoinRequest,
  type HybridJoinResponse,
  type JoinChallenge,
  type JoinRequest,
  type JoinResponse,
} from "./join/codec";
export { type DeviceJoinState, finishJoin, JoinPhase, type StartJoinOptions, startJoin } from "./join/device";
export {
  type AcceptJoinContext,
  type AcceptJoinResult,
  acceptJoin,
  type ChallengeRecord,
  ChallengeState,
  type ClusterInfo,
  type DeviceCandidate,
  type DeviceRecord,
  issueChallenge,
  MAX_TAG_CANDIDATES,
} from "./join/head";
export {
  DEFAULT_JOIN_SUITES,
  JOIN_SUITE_NAMES,
  type JoinSuiteName,
  joinSuiteName,
  parseJoinSuites,
} from "./join/suites";
export type { Membership } from "./membership";
export { brokerPassword } from "./broker-credential";
export { nobleBackend, type SymmetricBackend, useSymmetricBackend } from "./crypto/backend";
export { type CurveBackend, curve, nobleCurveBackend, useCurveBackend } from "./crypto/curve-backend";
export { signEnrollmentProof, verifyEnrollmentProof } from "./enrollment";
export {
  CHALLENGE_KEY_SIZE,
  issueStatelessChallenge,
  openStatelessChallenge,
} from "./join/stateless-challenge";
export { type HeadNotice, NoticeKind, openHeadNotice, sealHeadNotice } from "./notice";
export { deviceTag } from "./device-tag";
