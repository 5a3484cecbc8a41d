/**
 * Ethereum-style addresses: last 20 bytes of keccak256(X || Y) of the uncompressed key.
 * The on-chain DeviceRegistry stores only this address for devices and cluster heads.
 * @module
 */
import { abytes } from "../bytes";
import { ProtocolError } from "../errors";
import { curve } from "./curve-backend";
import { keccak256 } from "./hash";

/**
 * Address of a 65-byte uncompressed SEC1 point (0x04 || X || Y).
 * @throws RangeError when the input is not 65 bytes starting with 0x04
 */
export function addressOfPoint(uncompressed: Uint8Array): Uint8Array {
  abytes(uncompressed, 65, "uncompressedPublicKey");
  if (uncompressed[0] !== 4) throw new RangeError("uncompressedPublicKey: expected 0x04 prefix");
  return keccak256(uncompressed.subarray(1)).slice(12);
}

/**
 * Address of a SEC1 public key (33-byte compressed or 65-byte uncompressed).
 * @throws ProtocolError E_MALFORMED when the bytes are not a point on the curve
 */
export function addressOfPublicKey(publicKey: Uint8Array): Uint8Array {
  abytes(publicKey, undefined, "publicKey");
  const uncompressed = curve().convertPoint(publicKey, false);
  if (uncompressed === undefined) throw new ProtocolError("E_MALFORMED", "invalid public key");
  return addressOfPoint(uncompressed);
}
