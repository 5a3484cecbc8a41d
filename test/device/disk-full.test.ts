/**
 * A real full disk under a device: its data directory on a small tmpfs that the test fills to the
 * last byte while it sends. Sends that need a new sequence reservation fail with E_STORAGE alone;
 * once space returns the device sends again without a restart; and across a restart after that,
 * no sequence number (so no AEAD nonce) is ever used twice on the wire. Needs root to mount the
 * tmpfs (CI runs as root); elsewhere it fails saying so.
 */
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Device } from "../../device/sdk";
import { DeviceError } from "../../device/sdk/errors";
import { MessageType } from "../../protocol/constants";
import { decodeEnvelope } from "../../transport/mqtt/envelope";
import { startTestChain, type TestChain } from "../../testkit/chain";
import { headRegistry, joinedDevice, waitUntil } from "../../testkit/device";
import { startTestHead, type TestHead } from "../../testkit/head";
import { fillDisk, type Filler, requireRootToMount } from "../helpers/fill-disk";

/** Envelope sender (32) + version, type, suite (3) + short session ID (4) + sequence number (8). */
const SEQ_OFFSET = 32 + 3 + 4;
/** A reservation every 4 numbers: the full disk is met within a few sends. */
const SEQUENCE_BLOCK = 4n;

describe("a device on a full disk (tmpfs)", () => {
  const root = mkdtempSync(join(tmpdir(), "iotguard-device-disk-full-"));
  const mount = join(root, "mnt");
  const senderDir = join(mount, "sender");
  let mounted = false;
  let chain: TestChain;
  let head: TestHead;
  let sender: Device;
  let receiver: Device;
  let filler: Filler | undefined;
  /** (short session ID, direction, sequence number) → times seen on the wire to the receiver. */
  const nonces = new Map<string, number>();
  const received = new Set<string>();
  let sent = 0;

  beforeAll(async () => {
    requireRootToMount("test/device/disk-full.test.ts");
    mkdirSync(mount);
    execFileSync("mount", ["-t", "tmpfs", "-o", "size=8m,mode=0700", "tmpfs", mount]);
    mounted = true;
    chain = await startTestChain();
    head = await startTestHead(chain, { clusterId: "21" });
    sender = await joinedDevice(head, { dataDir: senderDir, sequenceBlock: SEQUENCE_BLOCK });
    receiver = await joinedDevice(head);
    receiver.on("message", (m) => received.add(new TextDecoder().decode(m.data)));
    head.broker.embedded!.broker.on("publish", ((packet: { topic: string; payload: Buffer }) => {
      if (!packet.topic.endsWith(`${receiver.deviceId}/inbox`)) return;
      const { type } = decodeEnvelope(packet.payload);
      if (type !== MessageType.FRAME_I2R && type !== MessageType.FRAME_R2I) return;
      const key = `${packet.payload.subarray(32 + 3, SEQ_OFFSET).toString("hex")}/${type}/${packet.payload.readBigUInt64BE(SEQ_OFFSET)}`;
      nonces.set(key, (nonces.get(key) ?? 0) + 1);
    }) as never);
    await receiver.connect();
    await sender.connect();
  }, 90_000);
  afterAll(async () => {
    filler?.release();
    await sender?.close().catch(() => undefined);
    await receiver?.close().catch(() => undefined);
    await head?.destroy();
    await chain?.stop();
    if (mounted) execFileSync("umount", [mount]);
    rmSync(root, { recursive: true, force: true });
  });

  async function send(n: number): Promise<void> {
    for (let i = 0; i < n; i++) {
      const text = `m${sent++}`;
      await sender.send(receiver.deviceId, text);
    }
  }

  it("sends while there is space", async () => {
    await send(12);
    await waitUntil(() => received.size === 12, "the first messages");
  });

  it("refuses to send with E_STORAGE alone once a reservation cannot be written, reusing nothing", async () => {
    filler = fillDisk(mount);
    const codes: string[] = [];
    // The log's last page has room for a few reservations: send until one cannot be written,
    // then a few more.
    for (let i = 0; i < 5000 && codes.length < 5; i++) {
      try {
        await send(1);
      } catch (error) {
        codes.push(error instanceof DeviceError ? error.code : `not a DeviceError: ${String(error)}`);
      }
    }
    expect(codes.length).toBe(5);
    expect(new Set(codes)).toEqual(new Set(["E_STORAGE"]));
  });

  it("sends again once space returns, without a restart", async () => {
    filler!.release();
    filler = undefined;
    await send(12);
  });

  it("never reuses a sequence number across a restart after the full disk", async () => {
    await sender.close();
    sender = await Device.open(senderDir, { registry: headRegistry(head), sequenceBlock: SEQUENCE_BLOCK });
    await sender.connect();
    await send(12);
    const before = sent;
    await waitUntil(() => received.has(`m${before - 1}`), "the last message after the restart");
    const reused = [...nonces.entries()].filter(([, n]) => n > 1).map(([key]) => key);
    console.info(`device disk full: ${nonces.size} frames on the wire, reused nonces ${reused.length}`);
    expect(reused).toEqual([]);
  });
});
