/** What a suite receives and returns. @module */
import type { Row, Series, SuiteName } from "./schema";

export interface SuiteContext {
  quick: boolean;
  /** Progress within the suite, 0..1, with a short label (shown on stderr). */
  progress(fraction: number, label: string): void;
  /** Records what was scaled down, skipped or odd. */
  note(text: string): void;
  /**
   * With `--profile`: a fresh directory for the CPU profiles of the processes a suite starts
   * (`node --cpu-prof`); undefined otherwise, and then suites profile nothing.
   */
  profileDir?: string;
  /** Adds a profile summary (Markdown, ./cpu-profile.ts) to the run's `<stem>-profile.md`. */
  profile(markdown: string): void;
}

export interface SuiteOutput {
  rows: Row[];
  series: Series[];
}

export interface Suite {
  name: SuiteName;
  /** One line for `--help` and the README. */
  description: string;
  run(ctx: SuiteContext): Promise<SuiteOutput>;
}
