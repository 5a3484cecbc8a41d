/**
 * `iotguard operator …`: the operator's REST calls to the cluster head (token from a file):
 * enroll and revoke devices, and manage named operators (`add`, `remove`, `list`; `admin` scope).
 */
import { closeSync, constants, openSync, readFileSync, unlinkSync, writeSync } from "node:fs";
import { Command } from "commander";
import { DeviceError, HeadClient } from "../../sdk";
import { isDeviceIdHex } from "../../../transport/mqtt";
import { type CommonOptions, HEAD_CA_HELP, print, readHeadCa, readToken } from "../context";
import { describePending, type WaitFlags, waitForConfirmation, withWaitOptions } from "./confirmation-wait";

interface OperatorFlags extends CommonOptions {
  head: string;
  headCa?: string;
  tokenFile: string;
}

/** The client for `--head`, pinning `--head-ca` when given. */
function headOf(o: OperatorFlags): HeadClient {
  const ca = readHeadCa(o.headCa);
  return new HeadClient(o.head, ca === undefined ? {} : { ca });
}

function withOperator(cmd: Command): Command {
  return cmd
    .requiredOption(
      "--head <url>",
      "cluster head URL, e.g. https://head.example:8443 or http://127.0.0.1:8080",
    )
    .option("--head-ca <file>", HEAD_CA_HELP)
    .requiredOption(
      "--token-file <file>",
      "file holding the operator token (e.g. <head data dir>/admin-token)",
    )
    .option("--json", "print JSON lines instead of human text");
}

export function operatorCommand(): Command {
  const cmd = new Command("operator").description(
    "operator actions on the cluster head (enroll, revoke) and its operator accounts (add, remove, list)",
  );

  withWaitOptions(
    withOperator(
      cmd
        .command("enroll")
        .description(
          "enroll a device from the request it printed (`iotguard device request`); waits for the head's confirmations unless --no-wait",
        )
        .requiredOption("--request <file>", "the device's enrollment request (JSON)"),
    ),
  ).action(async (o: OperatorFlags & WaitFlags & { request: string }) => {
    let request: { deviceId: string; keyAddress: string; proof: string };
    try {
      request = JSON.parse(readFileSync(o.request, "utf8"));
    } catch (error) {
      throw new DeviceError(
        "E_BAD_ARGUMENT",
        `--request ${o.request}: not a JSON enrollment request (${(error as Error).message})`,
      );
    }
    const head = headOf(o);
    const receipt = await head.enroll(request, readToken(o.tokenFile), { wait: false });
    if (o.wait) await waitForConfirmation(head, request.deviceId, receipt.pending, "active", o);
    const pending = o.wait ? undefined : receipt.pending;
    print(
      o,
      pending
        ? `enrollment of ${request.deviceId} sent: ${describePending(pending)}`
        : `enrolled ${request.deviceId} in block ${receipt.blockNumber} (tx ${receipt.transactionHash})`,
      {
        event: pending ? "enrollment-pending" : "enrolled",
        deviceId: request.deviceId,
        transactionHash: receipt.transactionHash,
        blockNumber: receipt.blockNumber,
        ...(pending ? { pending } : {}),
      },
    );
  });

  withWaitOptions(
    withOperator(
      cmd
        .command("revoke")
        .description("revoke a device on chain; waits for the head's confirmations unless --no-wait")
        .argument("<deviceId>", "64-hex device ID"),
    ),
  ).action(async (deviceId: string, o: OperatorFlags & WaitFlags) => {
    const id = deviceId.toLowerCase().replace(/^0x/, "");
    if (!isDeviceIdHex(id)) throw new DeviceError("E_BAD_ARGUMENT", "deviceId: expected 64 hex characters");
    const head = headOf(o);
    const result = (await head.revoke(id, readToken(o.tokenFile), { wait: false })) as {
      pending?: Parameters<typeof describePending>[0];
    };
    if (o.wait) await waitForConfirmation(head, id, result.pending, "revoked", o);
    const pending = o.wait ? undefined : result.pending;
    print(o, pending ? `revocation of ${id} sent: ${describePending(pending)}` : `revoked ${id}`, {
      event: pending ? "revocation-pending" : "revoked",
      deviceId: id,
      result,
    });
  });

  withOperator(
    cmd
      .command("add")
      .description(
        "add a named operator (needs the admin scope); its token goes to a new file, mode 0600, never to the screen",
      )
      .argument("<name>", "lowercase letters, digits, '.', '_' or '-'")
      .requiredOption("--scopes <list>", "comma-separated: enroll (enroll and rotate), revoke, read, admin")
      .requiredOption(
        "--token-out <file>",
        "new file to write the operator's token to (refused when it exists)",
      ),
  ).action(async (name: string, o: OperatorFlags & { scopes: string; tokenOut: string }) => {
    const scopes = o.scopes
      .split(",")
      .map((s) => s.trim())
      .filter((s) => s.length > 0);
    const adminToken = readToken(o.tokenFile);
    // The file first: an operator whose token could not be stored would be of no use.
    let fd: number;
    try {
      fd = openSync(o.tokenOut, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, 0o600);
    } catch (error) {
      throw new DeviceError(
        "E_BAD_ARGUMENT",
        `--token-out ${o.tokenOut}: ${(error as NodeJS.ErrnoException).code ?? "cannot create"}`,
      );
    }
    let added: Awaited<ReturnType<HeadClient["addOperator"]>>;
    try {
      added = await headOf(o).addOperator(adminToken, name, scopes);
      writeSync(fd, `${added.token}\n`);
    } catch (error) {
      closeSync(fd);
      unlinkSync(o.tokenOut);
      throw error;
    }
    closeSync(fd);
    print(o, `added operator ${name} (${added.operator.scopes.join(", ")}); token in ${o.tokenOut}`, {
      event: "operator-added",
      name,
      scopes: added.operator.scopes,
      tokenFile: o.tokenOut,
    });
  });

  withOperator(
    cmd
      .command("remove")
      .description("remove a named operator (needs the admin scope)")
      .argument("<name>", "the operator"),
  ).action(async (name: string, o: OperatorFlags) => {
    await headOf(o).removeOperator(readToken(o.tokenFile), name);
    print(o, `removed operator ${name}`, { event: "operator-removed", name });
  });

  withOperator(
    cmd.command("list").description("the head's operators and their scopes (needs the admin scope)"),
  ).action(async (o: OperatorFlags) => {
    const operators = await headOf(o).operators(readToken(o.tokenFile));
    if (o.json) for (const op of operators) print(o, "", { event: "operator", ...op });
    else
      print(
        o,
        operators
          .map(
            (op) => `${op.name.padEnd(20)} ${op.scopes.join(",")}${op.bootstrap ? " (bootstrap token)" : ""}`,
          )
          .join("\n"),
        {},
      );
  });

  return cmd;
}
