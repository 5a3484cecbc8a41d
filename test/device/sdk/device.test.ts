/**
 * Device.open's choice of the symmetric backend: a device's channel frames are sealed by
 * node:crypto with libsodium's ChaCha20-Poly1305 (the same bytes as @noble, several times faster)
 * unless the application says otherwise. Modules are per test file, so the process starts on the
 * protocol's @noble default here.
 */
import { describe, expect, it } from "vitest";
import { Device } from "../../../device/sdk";
import { nativeSymmetricBackend } from "../../../platform/sodium-symmetric-backend";
import { symmetric } from "../../../protocol/crypto/backend";
import { removeDir, tempDeviceDir } from "../../../testkit/device";

describe("Device.open and the symmetric backend", () => {
  it("keeps the process's backend with nativeCrypto: false, and switches to the native one by default", async () => {
    const dir = tempDeviceDir();
    try {
      expect(symmetric().name).toBe("noble");
      await (await Device.open(dir, { nativeCrypto: false })).close();
      expect(symmetric().name).toBe("noble");
      await (await Device.open(dir)).close();
      // node:crypto+libsodium here; node:crypto alone where the libsodium binding does not load.
      expect(symmetric().name).toBe(nativeSymmetricBackend().backend.name);
      expect(symmetric().name).not.toBe("noble");
    } finally {
      removeDir(dir);
    }
  });
});
