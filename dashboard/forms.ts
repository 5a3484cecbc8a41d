/**
 * Form helpers: labelled fields with an error slot each, and the API's typed error shown next to
 * the field it concerns (as text), or under the form when it names none.
 */
import { ApiError } from "./api";
import { h, replace } from "./dom";
import { describe } from "./views/view";

export interface Field {
  name: string;
  input: HTMLInputElement | HTMLTextAreaElement;
  error: HTMLElement;
  element: HTMLElement;
}

export function field(
  form: string,
  name: string,
  label: string,
  input: HTMLInputElement | HTMLTextAreaElement,
): Field {
  const id = `${form}-${name}`;
  input.id = id;
  input.name = name;
  const error = h("p", { class: "field-error", id: `${id}-error`, role: "alert", "aria-live": "polite" });
  input.setAttribute("aria-describedby", error.id);
  return {
    name,
    input,
    error,
    element: h("div", { class: "field" }, h("label", { for: id }, label), input, error),
  };
}

/** Which field an error concerns: the one its message names, else by its code. */
const FIELD_OF_CODE: Record<string, string> = {
  E_BAD_PROOF: "proof",
  E_ALREADY_ENROLLED: "deviceId",
  E_NOT_FOUND: "deviceId",
  E_REVOKED: "deviceId",
  E_WRONG_CLUSTER: "deviceId",
};

/** Clears every error slot of `fields` and `formError`. */
export function clearErrors(fields: Field[], formError: HTMLElement): void {
  for (const f of fields) {
    replace(f.error);
    f.input.removeAttribute("aria-invalid");
  }
  replace(formError);
}

/** Shows `error` next to its field (or in `formError`). */
export function showError(fields: Field[], formError: HTMLElement, error: unknown): void {
  const name = error instanceof ApiError ? (error.field ?? FIELD_OF_CODE[error.code]) : undefined;
  const target = fields.find((f) => f.name === name);
  if (target) {
    replace(target.error, describe(error));
    target.input.setAttribute("aria-invalid", "true");
    target.input.focus();
  } else replace(formError, describe(error));
}

/** A transaction's hash and block as the operator sees them after an action. */
export function receipt(
  what: string,
  result: { transactionHash?: unknown; blockNumber?: unknown },
): HTMLElement {
  return h(
    "p",
    { class: "receipt", role: "status" },
    `${what} · transaction `,
    h("code", { class: "tx" }, String(result.transactionHash)),
    ` · block ${String(result.blockNumber)}`,
  );
}
