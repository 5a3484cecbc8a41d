/**
 * The head's choice of crypto backends (`--crypto-backend`), process-wide. `node` puts the
 * symmetric primitives on node:crypto (OpenSSL) and the curve on libsecp256k1; `noble` keeps both
 * on pure JavaScript. All give identical bytes (tests cross-check them), so the choice is speed
 * only. Where the libsecp256k1 binding does not load, the curve stays on @noble and the log says so.
 */
import type { Logger } from "pino";
import { nativeCurveBackend } from "../../platform/native-curve-backend";
import { nodeSymmetricBackend } from "../../platform/node-symmetric-backend";
import { nobleBackend, nobleCurveBackend, useCurveBackend, useSymmetricBackend } from "../../protocol";

export function useCryptoBackends(
  choice: "node" | "noble",
  logger: Logger,
): { symmetric: string; curve: string } {
  if (choice === "noble") {
    useSymmetricBackend(nobleBackend);
    useCurveBackend(nobleCurveBackend);
    return { symmetric: nobleBackend.name, curve: nobleCurveBackend.name };
  }
  useSymmetricBackend(nodeSymmetricBackend);
  try {
    const native = nativeCurveBackend();
    useCurveBackend(native);
    return { symmetric: nodeSymmetricBackend.name, curve: native.name };
  } catch (error) {
    logger.warn(
      { code: (error as { code?: string }).code },
      "libsecp256k1 unavailable: curve stays on @noble",
    );
    useCurveBackend(nobleCurveBackend);
    return { symmetric: nodeSymmetricBackend.name, curve: nobleCurveBackend.name };
  }
}
