/**
 * `iotguard`: the device and operator CLI (docs/device.md § CLI). Run with
 * `npx iotguard …`, `npm run iotguard -- …` or `node --import tsx device/cli/main.ts …`.
 */
import { Command, CommanderError } from "commander";
import { useNativeSymmetric } from "../../platform/sodium-symmetric-backend";
import { deviceCommand } from "./commands/device";
import { operatorCommand } from "./commands/operator";
import { describeFailure, ExitCode } from "./exit-codes";

const VERSION: string = require("../../package.json").version;

export function buildProgram(): Command {
  const program = new Command("iotguard")
    .description("iotguard device SDK command line: enroll, join and talk to cluster peers over MQTT")
    .version(VERSION)
    .showHelpAfterError()
    .exitOverride()
    .configureOutput({ outputError: (text, write) => write(text) });
  program.addCommand(deviceCommand());
  program.addCommand(operatorCommand());
  for (const cmd of [program, ...program.commands, ...program.commands.flatMap((c) => c.commands)])
    cmd.exitOverride();
  return program;
}

/** Runs the CLI and returns its exit code (never throws). */
export async function main(argv: string[]): Promise<number> {
  try {
    await buildProgram().parseAsync(argv);
    return ExitCode.OK;
  } catch (error) {
    if (error instanceof CommanderError) {
      return error.code === "commander.helpDisplayed" ||
        error.code === "commander.version" ||
        error.code === "commander.help"
        ? ExitCode.OK
        : ExitCode.USAGE;
    }
    const failure = describeFailure(error);
    process.stderr.write(`${failure.line}\n`);
    return failure.exitCode;
  }
}

/** Runs the CLI on `process.argv` and sets the exit code. */
export function run(): void {
  // Devices that run Node use OpenSSL, and libsodium for ChaCha20-Poly1305 where its binding
  // loads, for the symmetric primitives: identical bytes, several times faster.
  useNativeSymmetric();
  main(process.argv).then(
    (code) => {
      process.exitCode = code;
    },
    (error: unknown) => {
      // main() maps every known failure to an exit code; anything else is a bug worth its stack.
      console.error(error);
      process.exitCode = 1;
    },
  );
}

if (require.main === module) run();
