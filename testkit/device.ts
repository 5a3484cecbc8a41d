/** Device SDK fixtures for integration tests: devices in temp data directories, event waiting. */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { connect as tcpConnect } from "node:net";
import { Device, type DeviceOptions, type RegistryAnchor } from "../device/sdk";
import type { TestHead } from "./head";

/** A position inside the test head's cluster (centre 0,0, radius 2,000,000 µdeg). */
export const INSIDE = { lat: 500_000, lon: -300_000 } as const;

const MOSQUITTO_HINT =
  "start it with `mosquitto -d -c /etc/mosquitto/mosquitto.conf` (install with `apt-get install mosquitto`); the device tests never skip";

/** Throws with a how-to-start message when the machine's Mosquitto (127.0.0.1:1883) is unreachable. */
export async function requireMosquitto(): Promise<void> {
  const ok = await new Promise<boolean>((resolve) => {
    const socket = tcpConnect({ host: "127.0.0.1", port: 1883 });
    const done = (v: boolean) => {
      socket.destroy();
      resolve(v);
    };
    socket.setTimeout(1000, () => done(false));
    socket.once("connect", () => done(true));
    socket.once("error", () => done(false));
  });
  if (!ok) throw new Error(`Mosquitto is not reachable on 127.0.0.1:1883: ${MOSQUITTO_HINT}`);
}

/** A fresh temp data directory. */
export function tempDeviceDir(): string {
  return mkdtempSync(join(tmpdir(), "iotguard-device-"));
}

export function removeDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
}

/** The registry `head` runs against: the device's trust anchor for that head. */
export function headRegistry(head: TestHead): RegistryAnchor {
  return { rpcUrl: head.context.config.rpcUrl, address: String(head.context.registry.target) };
}

/** Opens a new device (reading its head from `head`'s registry), enrolls it through the head and joins. */
export async function joinedDevice(
  head: TestHead,
  options: DeviceOptions & { dataDir?: string; topicPrefix?: string } = {},
): Promise<Device> {
  const device = await Device.open(options.dataDir ?? tempDeviceDir(), { registry: headRegistry(head), ...options });
  await device.init();
  const o = options.topicPrefix ? { topicPrefix: options.topicPrefix } : {};
  await device.enroll(head.url, head.adminToken, o);
  await device.join(head.url, { position: INSIDE, ...o });
  return device;
}

/**
 * Resolves with the first `event` payload for which `match` holds; rejects after `timeoutMs`
 * naming the event (never a fixed sleep).
 */
export function nextEvent<T>(
  emitter: { on(e: string, l: (arg: T) => void): unknown; off(e: string, l: (arg: T) => void): unknown },
  event: string,
  match: (arg: T) => boolean = () => true,
  timeoutMs = 10_000,
): Promise<T> {
  return new Promise((resolve, reject) => {
    const listener = (arg: T) => {
      if (!match(arg)) return;
      clearTimeout(timer);
      emitter.off(event, listener);
      resolve(arg);
    };
    const timer = setTimeout(() => {
      emitter.off(event, listener);
      reject(new Error(`timed out waiting for ${event}`));
    }, timeoutMs);
    emitter.on(event, listener);
  });
}

/** Polls `cond` every 10 ms until true; throws naming `what` after `timeoutMs`. */
export async function waitUntil(cond: () => boolean | Promise<boolean>, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}
