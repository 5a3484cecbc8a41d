/**
 * Suite `wire`: bytes on the wire, counted from real protocol runs (not from the constants):
 * channel frame overhead, MQTT PUBLISH size of a frame in a peer's inbox, and the bytes of one
 * join and one session grant per member, against EDHOC (101 B) and DTLS 1.3 with raw public keys
 * (894 B) as fixed references.
 * @module
 */
import { encodeEnvelope } from "../../transport/mqtt/envelope";
import { inboxTopic } from "../../transport/mqtt/topics";
import { row } from "../lib/measure";
import { pureSessionPair } from "../lib/pure-session";
import type { Row, Series } from "../lib/schema";
import type { Suite } from "../lib/suite";

/** Reference handshake sizes (the comparison figures). */
export const EDHOC_BYTES = 101;
export const DTLS13_RPK_BYTES = 894;
export const FRAME_SIZES = [0, 16, 64, 256, 1024, 4096] as const;

/** Size of an MQTT 3.1.1 PUBLISH packet (§3.3): fixed header, remaining length, topic, packet id. */
export function mqttPublishBytes(topic: string, payloadBytes: number, qos: 0 | 1): number {
  const remaining = 2 + Buffer.byteLength(topic) + (qos > 0 ? 2 : 0) + payloadBytes;
  const varint = remaining < 128 ? 1 : remaining < 16_384 ? 2 : remaining < 2_097_152 ? 3 : 4;
  return 1 + varint + remaining;
}

export const wireSuite: Suite = {
  name: "wire",
  description: "bytes per frame, per MQTT publish, and per member for join + grant vs EDHOC and DTLS 1.3 RPK",
  async run(ctx) {
    const rows: Row[] = [];
    const { initiator, responder, wire } = pureSessionPair();
    const topic = inboxTopic("iotguard", 1, "ab".repeat(32));
    const points: Series["points"] = [];
    let maxOverhead = 0;
    for (const size of FRAME_SIZES) {
      const frame = initiator.sender.seal(new Uint8Array(size), Date.now());
      responder.receiver.open(frame, Date.now()); // the frame is a real, valid one
      const overhead = frame.length - size;
      maxOverhead = Math.max(maxOverhead, overhead);
      const envelope = encodeEnvelope(new Uint8Array(32), frame);
      points.push({ x: size, y: frame.length, group: "iotguard frame" });
      points.push({
        x: size,
        y: mqttPublishBytes(topic, envelope.length, 1),
        group: "MQTT PUBLISH (QoS 1, inbox envelope)",
      });
      points.push({
        x: size,
        y: mqttPublishBytes(topic, size, 1),
        group: "MQTT PUBLISH plaintext (same topic)",
      });
    }
    ctx.progress(0.5, "frames");
    rows.push(
      row("wire", {
        case: "frame-overhead",
        unit: "B",
        better: "lower",
        value: maxOverhead,
        goal: { text: "≤ 32 B per frame", on: "value", op: "<=", target: 32 },
        note: "15 B header (version, direction, suite, short session id, seq) + 16 B tag; same for every payload size",
      }),
    );
    const frame256 = initiator.sender.seal(new Uint8Array(256), Date.now());
    const enveloped = encodeEnvelope(new Uint8Array(32), frame256).length;
    rows.push(
      row("wire", {
        case: "mqtt-publish-256B/encrypted",
        unit: "B",
        better: "lower",
        value: mqttPublishBytes(topic, enveloped, 1),
        baseline: { case: "mqtt-publish-256B/plaintext", value: mqttPublishBytes(topic, 256, 1) },
        note: `QoS 1 PUBLISH to a ${topic.length}-char inbox topic; the frame adds 31 B and the sender envelope 32 B`,
      }),
    );

    const join = wire.joinChallenge + wire.joinRequest + wire.joinResponse;
    const grantTotal =
      wire.sessionRequest + wire.grantRequest + wire.grantsToResponder + wire.grantToInitiator;
    const grantPerMember = grantTotal / 2;
    rows.push(
      row("wire", {
        case: "join-bytes-per-member",
        unit: "B",
        better: "lower",
        value: join,
        baseline: { case: "EDHOC (reference)", value: EDHOC_BYTES },
        note: `challenge ${wire.joinChallenge} + request ${wire.joinRequest} + response ${wire.joinResponse}; protocol bytes, without HTTP`,
      }),
    );
    rows.push(
      row("wire", {
        case: "grant-bytes-per-member",
        unit: "B",
        better: "lower",
        value: grantPerMember,
        note: `(session request ${wire.sessionRequest} + grant request ${wire.grantRequest} + two grants ${wire.grantsToResponder} + forwarded grant ${wire.grantToInitiator}) / 2 members`,
      }),
    );
    rows.push(
      row("wire", {
        case: "join+grant-bytes-per-member",
        unit: "B",
        better: "lower",
        value: join + grantPerMember,
        baseline: { case: "DTLS 1.3 RPK (reference)", value: DTLS13_RPK_BYTES },
        goal: { text: "≤ 400 B per member for join + grant", on: "value", op: "<=", target: 400 },
      }),
    );
    rows.push(
      row("wire", {
        case: "join+grant-bytes-per-member/vs-EDHOC",
        unit: "B",
        better: "lower",
        value: join + grantPerMember,
        baseline: { case: "EDHOC (reference)", value: EDHOC_BYTES },
      }),
    );
    ctx.progress(1, "handshakes");
    const series: Series[] = [
      {
        suite: "wire",
        name: "wire-frame-bytes",
        title: "Bytes on the wire per message vs payload size",
        kind: "line",
        x: { label: "payload (bytes)", scale: "linear" },
        y: { label: "bytes", scale: "linear" },
        points,
      },
      {
        suite: "wire",
        name: "wire-handshake-bytes",
        title: "Handshake bytes per member",
        kind: "bar",
        x: { label: "protocol", scale: "band" },
        y: { label: "bytes", scale: "linear" },
        points: [
          { x: "iotguard join", y: join, group: "iotguard" },
          { x: "iotguard join + grant", y: join + grantPerMember, group: "iotguard" },
          { x: "EDHOC", y: EDHOC_BYTES, group: "reference" },
          { x: "DTLS 1.3 RPK", y: DTLS13_RPK_BYTES, group: "reference" },
        ],
      },
    ];
    return { rows, series };
  },
};
