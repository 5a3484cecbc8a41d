import { execFile } from "node:child_process";
import { resolve } from "node:path";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";

const run = promisify(execFile);

describe("npm start (scripts/story.ts)", () => {
  it("tells the whole story and exits 0", async () => {
    const { stdout } = await run(process.execPath, ["--import", "tsx", "scripts/story.ts"], {
      cwd: resolve(__dirname, "../.."),
      env: { ...process.env, HARDHAT_NETWORK: "" },
      timeout: 90_000,
    });
    const steps = stdout.split("\n").filter(Boolean);
    const expected: [string, RegExp][] = [
      ["chain", /✓ chain +hardhat node on http:\/\/127\.0\.0\.1:\d+/],
      ["deploy", /✓ deploy +DeviceRegistry at 0x[0-9a-fA-F]{40}/],
      ["head", /✓ head +cluster 1 headed by 0x/],
      ["dashboard", /✓ dashboard +http:\/\/127\.0\.0\.1:\d+\/dashboard\/ \(operator token in .*\)/],
      ["enroll m1", /✓ enroll +m1 .* on chain: tx 0x/],
      ["enroll m2", /✓ enroll +m2 .* on chain: tx 0x/],
      ["wrong head", /⊘ wrong head +m1 sent to .* the chain names .* refused with E_HEAD_MISMATCH/],
      [
        "join m1",
        /✓ join +m1 mutually authenticated with the head, hybrid ML-KEM-768 \+ ECDH join \(post-quantum\)/,
      ],
      [
        "join m2",
        /✓ join +m2 mutually authenticated with the head, hybrid ML-KEM-768 \+ ECDH join \(post-quantum\)/,
      ],
      ["grant", /✓ grant +m1 asked m2, the head verified both/],
      ["m1 → m2", /✓ message +m1 → m2 "hello m2, this is m1"/],
      ["m2 → m1", /✓ message +m2 → m1 "hi m1, m2 here"/],
      [
        "intruder at the broker",
        /⊘ intruder +unenrolled device .* refused by the broker \(E_BROKER_REFUSED\)/,
      ],
      ["intruder warning", /⊘ intruder +.*warned m2: E_NOT_MEMBER/],
      ["tampered", /⊘ tampered/],
      ["replayed", /⊘ replayed/],
      ["collector", /✓ collector +[0-9a-f]{8}… joined cluster 1 as an ordinary member/],
      [
        "telemetry",
        /✓ telemetry +the sensor sent 200 readings of data\/vitals\.csv in 8 frames; its session was re-keyed [1-9]\d* time\(s\) on the way; the collector acknowledged all 200/,
      ],
      ["readings", /✓ readings +200 rows in the database over \d+ min: heart rate mean \d+\.\d bpm/],
      ["revoked", /✓ revoke +m1 revoked on chain/],
      ["refused after revocation", /⊘ revoke +m1 tries to join again: refused with E_REVOKED/],
      ["done", /✓ done +everything stopped cleanly/],
    ];
    for (const [name, pattern] of expected)
      expect(
        steps.some((l) => pattern.test(l)),
        `${name}\n${stdout}`,
      ).toBe(true);
    for (const step of steps) expect(step).toMatch(/^\[ *\d+\.\ds\] [✓⊘] .*\(\d+ ms\)$/);
  }, 120_000);

  it("`--broker mosquitto` tells the same story on a private Mosquitto with dynamic security over TLS", async () => {
    const { stdout } = await run(
      process.execPath,
      ["--import", "tsx", "scripts/story.ts", "--broker", "mosquitto"],
      {
        cwd: resolve(__dirname, "../.."),
        env: { ...process.env, HARDHAT_NETWORK: "" },
        timeout: 90_000,
      },
    );
    const steps = stdout.split("\n").filter(Boolean);
    const expected: [string, RegExp][] = [
      [
        "broker",
        /✓ broker +private Mosquitto \(pid \d+\) on mqtts:\/\/127\.0\.0\.1:\d+: TLS only, dynamic security/,
      ],
      ["head", /✓ head +cluster 1 headed by 0x.* MQTT mqtts:\/\/127\.0\.0\.1:\d+/],
      [
        "dynsec",
        /✓ dynsec +the head created broker clients iotguard-head-1, m1, m2 .*default access denies publishClientSend, publishClientReceive, subscribe/,
      ],
      ["m1 → m2", /✓ message +m1 → m2 "hello m2, this is m1"/],
      ["m2 → m1", /✓ message +m2 → m1 "hi m1, m2 here"/],
      [
        "intruder at the broker",
        /⊘ intruder +unenrolled device .* refused by the broker \(E_BROKER_REFUSED\)/,
      ],
      ["intruder warning", /⊘ intruder +.*warned m2: E_NOT_MEMBER/],
      ["tampered", /⊘ tampered/],
      ["replayed", /⊘ replayed/],
      ["collector", /✓ collector +[0-9a-f]{8}… joined cluster 1 as an ordinary member/],
      [
        "telemetry",
        /✓ telemetry +the sensor sent 200 readings of data\/vitals\.csv in 8 frames; its session was re-keyed [1-9]\d* time\(s\) on the way; the collector acknowledged all 200/,
      ],
      ["readings", /✓ readings +200 rows in the database over \d+ min: heart rate mean \d+\.\d bpm/],
      ["refused after revocation", /⊘ revoke +m1 tries to join again: refused with E_REVOKED/],
      ["done", /✓ done +everything stopped cleanly/],
    ];
    for (const [name, pattern] of expected)
      expect(
        steps.some((l) => pattern.test(l)),
        `${name}\n${stdout}`,
      ).toBe(true);
  }, 120_000);

  it("`--broker mosquitto` without Mosquitto installed says how to install it and exits 1", async () => {
    const outcome = await run(
      process.execPath,
      ["--import", "tsx", "scripts/story.ts", "--broker", "mosquitto"],
      {
        cwd: resolve(__dirname, "../.."),
        env: { ...process.env, PATH: "/nonexistent" },
        timeout: 60_000,
      },
    ).then(
      () => ({ code: 0, stderr: "" }),
      (error: { code: number; stderr: string }) => error,
    );
    expect(outcome.code).toBe(1);
    expect(outcome.stderr).toMatch(/mosquitto not found; .*apt-get install mosquitto mosquitto-clients/);
  }, 60_000);
});
