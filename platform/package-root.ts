/**
 * The folder of iotguard's own package.json, found the same way from the TypeScript sources
 * (`services/cluster-head/`) and from the build output (`dist/services/cluster-head/`). The build
 * writes `dist/package.json` without a name (it only carries the version the sources read two
 * folders up), so the first package.json with a name is the package's.
 */
import { readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";

/**
 * Walks up from `from` to the first folder whose package.json has a `name`.
 * @param from a folder inside the package, usually `__dirname`
 * @param fallback returned when no such folder exists above `from`
 * @returns that folder's absolute path, or `fallback`
 */
export function packageRoot(from: string, fallback: string): string {
  for (let dir = resolve(from); ; dir = dirname(dir)) {
    try {
      const json = JSON.parse(readFileSync(join(dir, "package.json"), "utf8")) as { name?: unknown };
      if (typeof json.name === "string" && json.name.length > 0) return dir;
    } catch {
      // No package.json here, or not JSON: keep walking up.
    }
    if (dirname(dir) === dir) return fallback;
  }
}
