/**
 * A real headless Chromium for the dashboard's tests, screenshots and benchmark: Debian's
 * `chromium` driven by playwright-core. The flags keep it off the network (no background
 * requests, updates, sync or QUIC: the machines here have no internet, and those connections are
 * refused many at a time) and every launch gets a new empty profile (`--user-data-dir`), deleted
 * on close.
 */
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type BrowserContext, chromium, type Page } from "playwright-core";

/** Where Debian installs Chromium (`apt-get install chromium`); `IOTGUARD_CHROMIUM` overrides it. */
export const CHROMIUM_PATH = process.env.IOTGUARD_CHROMIUM ?? "/usr/bin/chromium";

/** The launch flags (docs/operations.md § Dashboard lists them too). */
export const CHROMIUM_FLAGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
] as const;

export interface TestBrowser {
  /** The browser's one context, on the new profile (the dashboard keeps nothing in it: no storage, no cookies). */
  context: BrowserContext;
  /** A new tab, sized like a laptop or like a phone. */
  newPage(options?: { phone?: boolean }): Promise<Page>;
  close(): Promise<void>;
}

/** Viewports of the screenshots and tests. */
export const LAPTOP = { width: 1280, height: 860 } as const;
export const PHONE = { width: 390, height: 844 } as const;

/**
 * Launches headless Chromium with its own new, empty profile directory (Playwright takes the
 * profile as `launchPersistentContext`'s directory, its form of `--user-data-dir`).
 * @throws Error saying how to install Chromium when it is not there (tests fail, never skip)
 */
export async function launchBrowser(): Promise<TestBrowser> {
  if (!existsSync(CHROMIUM_PATH))
    throw new Error(
      `no Chromium at ${CHROMIUM_PATH}: install it with \`sudo apt-get update && sudo apt-get install -y chromium\` ` +
        "(or point IOTGUARD_CHROMIUM at a Chromium binary)",
    );
  const profile = mkdtempSync(join(tmpdir(), "iotguard-chromium-"));
  let context: BrowserContext;
  try {
    context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM_PATH,
      headless: true,
      args: [...CHROMIUM_FLAGS],
      viewport: LAPTOP,
    });
  } catch (error) {
    rmSync(profile, { recursive: true, force: true });
    throw error;
  }
  return {
    context,
    async newPage({ phone = false } = {}) {
      const page = await context.newPage();
      await page.setViewportSize(phone ? PHONE : LAPTOP);
      return page;
    },
    async close() {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}
