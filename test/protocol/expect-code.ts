import { expect } from "vitest";
import { ProtocolError } from "../../protocol";

/** Assert that `f` throws a ProtocolError with `code`. */
export function expectCode(f: () => unknown, code: string): void {
  let thrown: unknown;
  try {
    f();
  } catch (e) {
    thrown = e;
  }
  expect(thrown, `expected ${code}`).toBeInstanceOf(ProtocolError);
  expect((thrown as ProtocolError).code).toBe(code);
}

/** Async variant. */
export async function expectCodeAsync(p: Promise<unknown>, code: string): Promise<void> {
  let thrown: unknown;
  try {
    await p;
  } catch (e) {
    thrown = e;
  }
  expect(thrown, `expected ${code}`).toBeInstanceOf(ProtocolError);
  expect((thrown as ProtocolError).code).toBe(code);
}
