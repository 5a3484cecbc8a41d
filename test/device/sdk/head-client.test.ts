/**
 * HeadClient.grant reads `POST /v1/sessions` answers with the protocol's session-answer codec.
 * A real HTTP server stands in for the head and answers fixed bytes.
 */
import { readFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { HeadClient } from "../../../device/sdk/head-client";
import { concatBytes, fromHex, toHex } from "../../../protocol/bytes";
import { MessageSize } from "../../../protocol/constants";
import { SessionAnswerSize } from "../../../protocol/grant/session-answer";

const VECTORS = JSON.parse(
  readFileSync(path.join(__dirname, "../../protocol/vectors/iotguard-v2.json"), "utf8"),
) as Record<string, string>;
const TO_RESPONDER = fromHex(VECTORS.grantToResponder as string);
const TO_INITIATOR = fromHex(VECTORS.grantToInitiator as string);
/** A GrantWarning (E_REVOKED) from test/protocol/grant/session-answer.test.ts. */
const WARNING = fromHex(
  "021309a357e0dae7a37c0e09ac8ac53ba330d6000001a3185c53e8eb1c6e9c60c145de2bb693c48dbc7658",
);

/** What the stand-in head answers next: body and optional outcome header. */
let next: { body: Uint8Array; outcome?: string } = { body: new Uint8Array() };
let server: Server;
let client: HeadClient;

beforeAll(async () => {
  server = createServer((req, res) => {
    req.resume();
    req.on("end", () => {
      if (next.outcome !== undefined) res.setHeader("x-iotguard-outcome", next.outcome);
      res.setHeader("content-type", "application/octet-stream");
      res.end(Buffer.from(next.body));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  client = new HeadClient(`http://127.0.0.1:${(server.address() as AddressInfo).port}`);
});

afterAll(async () => {
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

async function answer(body: Uint8Array, outcome?: string) {
  next = outcome === undefined ? { body } : { body, outcome };
  return client.grant(new Uint8Array(MessageSize.GRANT_REQUEST));
}

describe("HeadClient.grant", () => {
  it("returns the responder's Grant and the initiator's from a grant answer", async () => {
    const got = await answer(concatBytes(TO_RESPONDER, TO_INITIATOR), "grant");
    expect(got.kind).toBe("grant");
    if (got.kind !== "grant") return;
    expect(toHex(got.toResponder)).toBe(VECTORS.grantToResponder);
    expect(toHex(got.toInitiator)).toBe(VECTORS.grantToInitiator);
  });

  it("returns the GrantWarning of a warning answer", async () => {
    expect(await answer(WARNING, "warning")).toEqual({ kind: "warning", warning: WARNING });
  });

  it("reads the answer from its bytes when the outcome header is missing", async () => {
    expect((await answer(concatBytes(TO_RESPONDER, TO_INITIATOR))).kind).toBe("grant");
    expect((await answer(WARNING)).kind).toBe("warning");
  });

  it("refuses 144 bytes that are not the responder's and the initiator's Grant of one session", async () => {
    const malformed = { code: "E_HEAD_REFUSED", headCode: "E_MALFORMED" };
    await expect(answer(new Uint8Array(SessionAnswerSize.GRANT), "grant")).rejects.toMatchObject(malformed);
    await expect(answer(concatBytes(TO_INITIATOR, TO_RESPONDER), "grant")).rejects.toMatchObject(malformed);
    const otherSession = TO_INITIATOR.slice();
    otherSession[4] = (otherSession[4] as number) ^ 1;
    await expect(answer(concatBytes(TO_RESPONDER, otherSession), "grant")).rejects.toMatchObject(malformed);
  });

  it("refuses an answer whose outcome header contradicts its bytes", async () => {
    const malformed = { code: "E_HEAD_REFUSED", headCode: "E_MALFORMED" };
    await expect(answer(WARNING, "grant")).rejects.toMatchObject(malformed);
    await expect(answer(concatBytes(TO_RESPONDER, TO_INITIATOR), "warning")).rejects.toMatchObject(malformed);
    await expect(answer(WARNING, "granted")).rejects.toMatchObject(malformed);
  });

  it("refuses a truncated answer", async () => {
    await expect(
      answer(concatBytes(TO_RESPONDER, TO_INITIATOR).subarray(0, SessionAnswerSize.GRANT - 1), "grant"),
    ).rejects.toMatchObject({
      code: "E_HEAD_REFUSED",
      headCode: "E_MALFORMED",
    });
    await expect(answer(WARNING.subarray(0, 42), "warning")).rejects.toMatchObject({
      code: "E_HEAD_REFUSED",
    });
  });
});
