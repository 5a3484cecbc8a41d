/** Device SDK fixtures for integration tests: devices in temp data directories, event waiting. */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Device, type DeviceOptions, type RegistryAnchor } from "../device/sdk";
import { INSIDE, type TestHead } from "./head";

export { INSIDE } from "./head";
/** The machine's Mosquitto (127.0.0.1:1883), required by the device tests: they never skip. */
export { requireMachineMosquitto as requireMosquitto } from "./brokers";
export { waitUntil } from "./wait";

/**
 * A fresh temp data directory; inside `head`'s own temp directory when given, so the head's
 * destroy() deletes it too. Without a head, the caller removes it ({@link removeDir}).
 */
export function tempDeviceDir(head?: Pick<TestHead, "dir">): string {
  return mkdtempSync(join(head?.dir ?? tmpdir(), "iotguard-device-"));
}

export function removeDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
}

/** The registry `head` runs against: the device's trust anchor for that head. */
export function headRegistry(head: TestHead): RegistryAnchor {
  return { rpcUrl: head.context.config.rpcUrl, address: String(head.context.registry.target) };
}

/**
 * Opens a new device (reading its head from `head`'s registry), enrolls it through the head and
 * joins. Without `dataDir`, the device lives inside the head's temp directory: close the device
 * before the head's destroy() deletes it.
 */
export async function joinedDevice(
  head: TestHead,
  options: DeviceOptions & { dataDir?: string; topicPrefix?: string } = {},
): Promise<Device> {
  const device = await Device.open(options.dataDir ?? tempDeviceDir(head), {
    registry: headRegistry(head),
    ...options,
  });
  await device.init();
  const o = options.topicPrefix ? { topicPrefix: options.topicPrefix } : {};
  await device.enroll(head.url, head.adminToken, o);
  await device.join(head.url, { position: INSIDE, ...o });
  return device;
}

/** Two devices joined to `head` with the same options ({@link joinedDevice}), both connected. */
export async function connectedPair(
  head: TestHead,
  options: DeviceOptions & { topicPrefix?: string } = {},
): Promise<[Device, Device]> {
  const a = await joinedDevice(head, options);
  const b = await joinedDevice(head, options);
  await a.connect();
  await b.connect();
  return [a, b];
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
