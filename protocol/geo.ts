/**
 * Positions in int32 micro-degrees and angular distance on the sphere (haversine formula).
 * Radii are uint32 micro-degrees of great-circle arc, so no Earth radius is needed.
 * @module
 */
import { ProtocolError } from "./errors";

/** A position in micro-degrees (1e-6 degree). */
export interface Position {
  /** Latitude, -90e6..90e6. */
  lat: number;
  /** Longitude, -180e6..180e6. */
  lon: number;
}

/** Latitude bound in micro-degrees. */
export const MAX_LAT_MICRODEG = 90_000_000;
/** Longitude bound in micro-degrees. */
export const MAX_LON_MICRODEG = 180_000_000;

const RAD_PER_MICRODEG = Math.PI / 180 / 1e6;

/** True when `p` has integer coordinates inside the valid ranges. */
export function isValidPosition(p: Position): boolean {
  return (
    Number.isInteger(p.lat) &&
    Number.isInteger(p.lon) &&
    Math.abs(p.lat) <= MAX_LAT_MICRODEG &&
    Math.abs(p.lon) <= MAX_LON_MICRODEG
  );
}

/**
 * Validate a decoded position.
 * @throws ProtocolError E_MALFORMED when out of range
 */
export function checkPosition(p: Position): Position {
  if (!isValidPosition(p)) throw new ProtocolError("E_MALFORMED", "position out of range");
  return p;
}

/**
 * Great-circle angle between two positions, in micro-degrees of arc (haversine formula,
 * numerically stable for small distances, clamped for antipodes).
 */
export function angularDistance(a: Position, b: Position): number {
  const phi1 = a.lat * RAD_PER_MICRODEG;
  const phi2 = b.lat * RAD_PER_MICRODEG;
  const dPhi = (b.lat - a.lat) * RAD_PER_MICRODEG;
  const dLambda = (b.lon - a.lon) * RAD_PER_MICRODEG;
  const h = Math.sin(dPhi / 2) ** 2 + Math.cos(phi1) * Math.cos(phi2) * Math.sin(dLambda / 2) ** 2;
  const theta = 2 * Math.asin(Math.sqrt(Math.min(1, Math.max(0, h))));
  return theta / RAD_PER_MICRODEG;
}

/**
 * True when `pos` lies within `radius` micro-degrees of arc from `centre` (boundary included).
 * @param centre - cluster centre
 * @param radius - uint32 micro-degrees of arc
 * @param pos - claimed device position
 */
export function withinRadius(centre: Position, radius: number, pos: Position): boolean {
  if (!isValidPosition(centre) || !isValidPosition(pos)) return false;
  if (!Number.isInteger(radius) || radius < 0 || radius > 0xffff_ffff)
    throw new RangeError("radius: expected uint32");
  return angularDistance(centre, pos) <= radius;
}
