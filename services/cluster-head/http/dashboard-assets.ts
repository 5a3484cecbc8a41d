/**
 * The operator dashboard's static files (sources in dashboard/, browser TypeScript and CSS). From
 * the build (dist/), they are the files `npm run build` bundled into dist/dashboard/; from the
 * TypeScript sources (tsx, vitest) they are bundled in memory with esbuild, a development
 * dependency, the first time they are asked for, so the page is never older than its sources.
 */
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { packageRoot } from "../../../platform/package-root";

/** The dashboard's files by name (`index.html`, `main.js`, `styles.css`). */
export type DashboardFiles = ReadonlyMap<string, { body: Buffer; type: string }>;

/** The files the page is made of, and their content types. */
export const DASHBOARD_FILES = {
  "index.html": "text/html; charset=utf-8",
  "main.js": "text/javascript; charset=utf-8",
  "styles.css": "text/css; charset=utf-8",
} as const;

const RUNNING_FROM_SOURCE = __filename.endsWith(".ts");

/**
 * Bundles and minifies dashboard/ with esbuild (no source maps, no CDN: everything in two files).
 * @param root - the package root (the folder holding dashboard/)
 * @param esbuild - the esbuild module (a development dependency: passed in so production never loads it)
 */
export function bundleDashboard(root: string, esbuild: typeof import("esbuild")): DashboardFiles {
  const source = join(root, "dashboard");
  const result = esbuild.buildSync({
    entryPoints: [join(source, "main.ts"), join(source, "styles.css")],
    bundle: true,
    minify: true,
    format: "iife",
    target: ["es2020", "chrome100", "firefox100", "safari15"],
    outdir: "/",
    write: false,
    legalComments: "none",
    logLevel: "silent",
  });
  const files = new Map<string, { body: Buffer; type: string }>();
  for (const file of result.outputFiles) {
    const name = file.path.replace(/^.*[\\/]/, "");
    files.set(name, { body: Buffer.from(file.contents), type: typeOf(name) });
  }
  files.set("index.html", { body: readFileSync(join(source, "index.html")), type: typeOf("index.html") });
  return files;
}

let cached: DashboardFiles | undefined;

/**
 * The dashboard's files for this head: bundled from the sources when running from them, else
 * read from dist/dashboard/.
 * @throws Error naming `npm run build` when the built files are missing
 */
export function dashboardFiles(): DashboardFiles {
  if (cached) return cached;
  const root = packageRoot(__dirname, join(__dirname, "..", "..", ".."));
  if (RUNNING_FROM_SOURCE) {
    cached = bundleDashboard(root, require("esbuild") as typeof import("esbuild"));
    return cached;
  }
  const built = join(__dirname, "..", "..", "..", "dashboard");
  if (!existsSync(join(built, "index.html")))
    throw new Error(`the dashboard is not built at ${built}: run \`npm run build\``);
  cached = new Map(
    Object.keys(DASHBOARD_FILES).map((name) => [
      name,
      { body: readFileSync(join(built, name)), type: typeOf(name) },
    ]),
  );
  return cached;
}

function typeOf(name: string): string {
  return DASHBOARD_FILES[name as keyof typeof DASHBOARD_FILES] ?? "application/octet-stream";
}
