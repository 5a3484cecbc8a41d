/**
 * A real full disk under the head: its data directory on a small tmpfs that the test fills to the
 * last byte. While it is full a request that cannot write is refused with E_STORAGE and no grant
 * is answered that was not stored; once space returns the head serves again without a restart,
 * and every grant it answered survives a restart (its request replayed after it is E_REPLAY). Needs root to
 * mount the tmpfs (CI runs as root); elsewhere it fails saying so.
 */
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Membership } from "../../../protocol/membership";
import { startTestChain, type TestChain } from "../../../testkit/chain";
import { startTestHead, type TestHead } from "../../../testkit/head";
import { fillDisk, type Filler, requireRootToMount } from "../../helpers/fill-disk";
import { enrolled, errorCode, joined, requestSession } from "../../helpers/member-client";

const TMPFS_SIZE = "16m";

describe("the head on a full disk (tmpfs)", () => {
  const root = mkdtempSync(join(tmpdir(), "iotguard-disk-full-"));
  const mount = join(root, "mnt");
  let mounted = false;
  let chain: TestChain;
  let head: TestHead;
  const stopped: TestHead[] = [];
  let ma: Membership;
  let mb: Membership;
  let filler: Filler | undefined;
  /** GrantRequests answered with a grant while the disk was full: each must have been stored. */
  const grantedWhileFull: Uint8Array[] = [];

  beforeAll(async () => {
    requireRootToMount("test/services/cluster-head/disk-full.test.ts");
    mkdirSync(mount);
    execFileSync("mount", ["-t", "tmpfs", "-o", `size=${TMPFS_SIZE},mode=0700`, "tmpfs", mount]);
    mounted = true;
    chain = await startTestChain();
    head = await startTestHead(chain, { dataDir: join(mount, "head") });
    const [a, b] = [await enrolled(head), await enrolled(head)];
    [ma, mb] = [await joined(head, a), await joined(head, b)];
  }, 60_000);
  afterAll(async () => {
    filler?.release();
    await head?.destroy();
    for (const old of stopped) await old.destroy().catch(() => undefined);
    await chain?.stop();
    if (mounted) execFileSync("umount", [mount]);
    rmSync(root, { recursive: true, force: true });
  });

  it("refuses grants with E_STORAGE alone while the disk is full (those answered fitted in pages already allocated)", async () => {
    filler = fillDisk(mount);
    // The first grants may still fit in pages level had already allocated; once those are used,
    // every grant is refused. Ask until five in a row are refused (or 40 attempts).
    const codes: string[] = [];
    let refusedInARow = 0;
    for (let i = 0; i < 40 && refusedInARow < 5; i++) {
      const { response, forward } = await requestSession(head, ma, mb);
      if (response.status === 200) {
        grantedWhileFull.push(forward.message);
        refusedInARow = 0;
      } else {
        codes.push(await errorCode(response));
        refusedInARow++;
      }
    }
    // The disk really was full for these requests, and the refusal has one clear code.
    expect(refusedInARow).toBe(5);
    expect(new Set(codes)).toEqual(new Set(["E_STORAGE"]));
    const challenge = await head.post("/v1/join/challenge");
    expect(challenge.status).toBe(200); // stateless: costs no disk
  });

  it("serves again once space returns, without a restart", async () => {
    filler!.release();
    filler = undefined;
    const { response } = await requestSession(head, ma, mb);
    expect(response.status, await response.clone().text()).toBe(200);
  });

  it("keeps every grant it answered, during and after the full disk: each replayed after a restart is E_REPLAY", async () => {
    const { response, forward } = await requestSession(head, ma, mb);
    expect(response.status).toBe(200);
    const dataDir = head.dataDir;
    await head.stop();
    stopped.push(head);
    head = await startTestHead(chain, { dataDir, adminToken: head.adminToken });
    for (const message of [...grantedWhileFull, forward.message]) {
      const replay = await head.post("/v1/sessions", message);
      expect([replay.status, await errorCode(replay)]).toEqual([409, "E_REPLAY"]);
    }
  });
});
