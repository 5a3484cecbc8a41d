/** `iotguard operator …`: the operator's REST calls to the cluster head (token from a file). */
import { readFileSync } from "node:fs";
import { Command } from "commander";
import { DeviceError } from "../../sdk/errors";
import { HeadClient } from "../../sdk/head-client";
import { isDeviceIdHex } from "../../../transport/mqtt/topics";
import { type CommonOptions, print, readToken } from "../context";

interface OperatorFlags extends CommonOptions {
  head: string;
  tokenFile: string;
}

function withOperator(cmd: Command): Command {
  return cmd
    .requiredOption("--head <url>", "cluster head URL, e.g. http://127.0.0.1:8080")
    .requiredOption("--token-file <file>", "file holding the operator token (e.g. <head data dir>/admin-token)")
    .option("--json", "print JSON lines instead of human text");
}

export function operatorCommand(): Command {
  const cmd = new Command("operator").description("operator actions on the cluster head (enroll, revoke)");

  withOperator(
    cmd
      .command("enroll")
      .description("enroll a device from the request it printed (`iotguard device request`)")
      .requiredOption("--request <file>", "the device's enrollment request (JSON)"),
  ).action(async (o: OperatorFlags & { request: string }) => {
    let request: { deviceId: string; keyAddress: string; proof: string };
    try {
      request = JSON.parse(readFileSync(o.request, "utf8"));
    } catch (error) {
      throw new DeviceError("E_BAD_ARGUMENT", `--request ${o.request}: not a JSON enrollment request (${(error as Error).message})`);
    }
    const receipt = await new HeadClient(o.head).enroll(request, readToken(o.tokenFile));
    print(o, `enrolled ${request.deviceId} in block ${receipt.blockNumber} (tx ${receipt.transactionHash})`, {
      event: "enrolled",
      deviceId: request.deviceId,
      ...receipt,
    });
  });

  withOperator(cmd.command("revoke").description("revoke a device on chain").argument("<deviceId>", "64-hex device ID")).action(
    async (deviceId: string, o: OperatorFlags) => {
      const id = deviceId.toLowerCase().replace(/^0x/, "");
      if (!isDeviceIdHex(id)) throw new DeviceError("E_BAD_ARGUMENT", "deviceId: expected 64 hex characters");
      const result = await new HeadClient(o.head).revoke(id, readToken(o.tokenFile));
      print(o, `revoked ${id}`, { event: "revoked", deviceId: id, result });
    },
  );

  return cmd;
}
