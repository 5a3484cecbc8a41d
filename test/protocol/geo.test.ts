import { describe, expect, it } from "vitest";
import { angularDistance, withinRadius } from "../../protocol";

describe("geo (haversine, micro-degrees)", () => {
  it("measures arcs on the equator and meridians exactly", () => {
    expect(angularDistance({ lat: 0, lon: 0 }, { lat: 0, lon: 1_000_000 })).toBeCloseTo(1_000_000, 3);
    expect(angularDistance({ lat: -45_000_000, lon: 10 }, { lat: 45_000_000, lon: 10 })).toBeCloseTo(
      90_000_000,
      3,
    );
    expect(angularDistance({ lat: 90_000_000, lon: 0 }, { lat: -90_000_000, lon: 0 })).toBeCloseTo(
      180_000_000,
      3,
    );
    expect(angularDistance({ lat: 0, lon: 0 }, { lat: 0, lon: 180_000_000 })).toBeCloseTo(180_000_000, 3);
  });

  it("handles the antimeridian and longitude shrinking with latitude", () => {
    expect(angularDistance({ lat: 0, lon: 179_999_000 }, { lat: 0, lon: -179_999_000 })).toBeCloseTo(
      2_000,
      3,
    );
    // At 60° latitude a degree of longitude is about half a degree of arc.
    const d = angularDistance({ lat: 60_000_000, lon: 0 }, { lat: 60_000_000, lon: 1_000_000 });
    expect(d).toBeGreaterThan(499_000);
    expect(d).toBeLessThan(501_000);
  });

  it("withinRadius includes the boundary and refuses invalid positions", () => {
    const c = { lat: 0, lon: 0 };
    expect(withinRadius(c, 1000, { lat: 0, lon: 1000 })).toBe(true);
    expect(withinRadius(c, 999, { lat: 0, lon: 1000 })).toBe(false);
    expect(withinRadius(c, 1000, { lat: 91_000_000, lon: 0 })).toBe(false);
    expect(() => withinRadius(c, -1, c)).toThrow(RangeError);
  });
});
