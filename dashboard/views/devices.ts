/**
 * Devices: enroll (ID, key address, proof pasted or loaded from `iotguard device request` JSON),
 * search and page through the cluster's devices on the server (`GET /v1/devices`), revoke (after a
 * confirmation naming the device) and rotate a key. Each action goes through the REST API and
 * shows the transaction and block.
 */
import { h, replace } from "../dom";
import { clearErrors, type Field, field, receipt, showError } from "../forms";
import { hex, relative, time } from "../format";
import { describe, table, type View, type ViewContext } from "./view";

interface DeviceRow {
  deviceId: string;
  keyAddress: string;
  status: "active" | "revoked";
  keyVersion: number;
  enrolledBlock: number;
  joinedAt: number | null;
  memberUntil: number | null;
}

interface DevicePage {
  devices: DeviceRow[];
  nextCursor?: string;
  partial: boolean;
}

const PAGE = 50;

export function devicesView({ api }: ViewContext): View {
  // --- enroll -------------------------------------------------------------------------------
  const enrollFields: Field[] = [
    field(
      "enroll",
      "deviceId",
      "Device ID (64 hex digits)",
      h("input", { autocomplete: "off", spellcheck: "false", required: true }),
    ),
    field(
      "enroll",
      "keyAddress",
      "Key address (0x…)",
      h("input", { autocomplete: "off", spellcheck: "false", required: true }),
    ),
    field(
      "enroll",
      "proof",
      "Proof of possession (0x…, 65 bytes)",
      h("textarea", { rows: 2, spellcheck: "false", required: true }),
    ),
  ];
  const enrollError = h("p", { class: "form-error", role: "alert" });
  const enrollResult = h("div", { class: "result" });
  const upload = h("input", { type: "file", accept: ".json,application/json", id: "enroll-file" });
  upload.addEventListener("change", () => void loadRequestFile());
  const enrollForm = h(
    "form",
    { id: "enroll-form", method: "post", novalidate: true },
    ...enrollFields.map((f) => f.element),
    h(
      "div",
      { class: "field" },
      h("label", { for: "enroll-file" }, "…or load the JSON of `iotguard device request`"),
      upload,
    ),
    h("button", { type: "submit" }, "Enroll on chain"),
    enrollError,
    enrollResult,
  );
  enrollForm.addEventListener("submit", (event) => {
    event.preventDefault();
    void enroll();
  });

  async function loadRequestFile(): Promise<void> {
    const file = upload.files?.[0];
    if (!file) return;
    clearErrors(enrollFields, enrollError);
    try {
      const request = JSON.parse(await file.text()) as Record<string, unknown>;
      for (const f of enrollFields)
        f.input.value = typeof request[f.name] === "string" ? (request[f.name] as string) : "";
    } catch {
      replace(enrollError, "the file is not an enrollment request (JSON with deviceId, keyAddress, proof)");
    }
  }

  async function enroll(): Promise<void> {
    clearErrors(enrollFields, enrollError);
    replace(enrollResult, h("p", { class: "muted" }, "sending the transaction…"));
    const body = Object.fromEntries(enrollFields.map((f) => [f.name, f.input.value.trim()]));
    try {
      const result = await api.post<{ transactionHash: string; blockNumber: number }>("/v1/devices", body);
      replace(enrollResult, receipt(`Enrolled ${body.deviceId ?? ""}`, result));
      enrollForm.reset();
      await refresh();
    } catch (error) {
      replace(enrollResult);
      showError(enrollFields, enrollError, error);
    }
  }

  // --- rotate -------------------------------------------------------------------------------
  const rotateFields: Field[] = [
    field(
      "rotate",
      "keyAddress",
      "New key address (0x…)",
      h("input", { autocomplete: "off", spellcheck: "false", required: true }),
    ),
    field(
      "rotate",
      "proof",
      "Proof by the new key for the next key version",
      h("textarea", { rows: 2, spellcheck: "false", required: true }),
    ),
  ];
  const rotateTarget = h("code", { class: "hex" });
  const rotateError = h("p", { class: "form-error", role: "alert" });
  const rotateForm = h(
    "form",
    { id: "rotate-form", method: "dialog" },
    h("h3", {}, "Rotate the key of ", rotateTarget),
    ...rotateFields.map((f) => f.element),
    rotateError,
    h(
      "div",
      { class: "buttons" },
      h(
        "button",
        { type: "button", value: "cancel", class: "secondary", onclick: () => rotateDialog.close() },
        "Cancel",
      ),
      h("button", { type: "submit" }, "Rotate on chain"),
    ),
  );
  const rotateDialog = h("dialog", { id: "rotate-dialog" }, rotateForm);
  let rotating = "";
  rotateForm.addEventListener("submit", (event) => {
    event.preventDefault();
    void rotate();
  });

  async function rotate(): Promise<void> {
    clearErrors(rotateFields, rotateError);
    const body = Object.fromEntries(rotateFields.map((f) => [f.name, f.input.value.trim()]));
    try {
      const result = await api.post<{ transactionHash: string; blockNumber: number; keyVersion: number }>(
        `/v1/devices/${encodeURIComponent(rotating)}/rotate`,
        body,
      );
      rotateDialog.close();
      replace(actionResult, receipt(`Rotated ${rotating} to key version ${result.keyVersion}`, result));
      await refresh();
    } catch (error) {
      showError(rotateFields, rotateError, error);
    }
  }

  // --- revoke -------------------------------------------------------------------------------
  const revokeTarget = h("code", { class: "hex", id: "revoke-target" });
  const revokeError = h("p", { class: "form-error", role: "alert" });
  const revokeForm = h(
    "form",
    { id: "revoke-form", method: "dialog" },
    h("h3", {}, "Revoke a device"),
    h(
      "p",
      {},
      "Revoke device ",
      revokeTarget,
      "? This is permanent: its membership and sessions end and its ID is never enrolled again.",
    ),
    revokeError,
    h(
      "div",
      { class: "buttons" },
      h("button", { type: "button", class: "secondary", onclick: () => revokeDialog.close() }, "Cancel"),
      h("button", { type: "submit", class: "danger" }, "Revoke on chain"),
    ),
  );
  const revokeDialog = h("dialog", { id: "revoke-dialog" }, revokeForm);
  let revoking = "";
  revokeForm.addEventListener("submit", (event) => {
    event.preventDefault();
    void revoke();
  });

  async function revoke(): Promise<void> {
    replace(revokeError);
    try {
      const result = await api.post<{ transactionHash: string; blockNumber: number }>(
        `/v1/devices/${encodeURIComponent(revoking)}/revoke`,
      );
      revokeDialog.close();
      replace(actionResult, receipt(`Revoked ${revoking}`, result));
      await refresh();
    } catch (error) {
      replace(revokeError, describe(error));
    }
  }

  // --- list ---------------------------------------------------------------------------------
  const search = h("input", {
    id: "device-search",
    type: "search",
    placeholder: "hex of an ID or key address",
    autocomplete: "off",
    spellcheck: "false",
  });
  const statusFilter = h(
    "select",
    { id: "device-status" },
    h("option", { value: "" }, "all"),
    h("option", { value: "active" }, "active"),
    h("option", { value: "revoked" }, "revoked"),
  );
  const searchError = h("p", { class: "field-error", id: "device-search-error", role: "alert" });
  const listStatus = h("div", { class: "status" });
  const list = h("div", { id: "device-list" });
  const pageInfo = h("span", { class: "muted" });
  const first = h("button", { type: "button", class: "secondary", id: "devices-first" }, "First page");
  const next = h("button", { type: "button", class: "secondary", id: "devices-next" }, "Next page");
  const actionResult = h("div", { class: "result", id: "device-action-result" });
  let cursors: (string | undefined)[] = [undefined];
  let nextCursor: string | undefined;
  let searchTimer: ReturnType<typeof setTimeout> | undefined;

  const restart = () => {
    cursors = [undefined];
    void refresh();
  };
  search.addEventListener("input", () => {
    clearTimeout(searchTimer);
    searchTimer = setTimeout(restart, 200);
  });
  statusFilter.addEventListener("change", restart);
  first.addEventListener("click", restart);
  next.addEventListener("click", () => {
    if (!nextCursor) return;
    cursors.push(nextCursor);
    void refresh();
  });

  const actions = (d: DeviceRow) =>
    d.status === "active"
      ? h(
          "span",
          { class: "row-actions" },
          h(
            "button",
            {
              type: "button",
              class: "small danger",
              "data-action": "revoke",
              "data-device": d.deviceId,
              onclick: () => {
                revoking = d.deviceId;
                replace(revokeTarget, d.deviceId);
                replace(revokeError);
                revokeDialog.showModal();
              },
            },
            "Revoke",
          ),
          h(
            "button",
            {
              type: "button",
              class: "small secondary",
              "data-action": "rotate",
              "data-device": d.deviceId,
              onclick: () => {
                rotating = d.deviceId;
                replace(rotateTarget, d.deviceId);
                rotateForm.reset();
                clearErrors(rotateFields, rotateError);
                rotateDialog.showModal();
              },
            },
            "Rotate key",
          ),
        )
      : "";

  async function refresh(): Promise<void> {
    replace(searchError);
    const params = new URLSearchParams({ limit: String(PAGE) });
    if (search.value.trim()) params.set("query", search.value.trim());
    if (statusFilter.value) params.set("status", statusFilter.value);
    const cursor = cursors.at(-1);
    if (cursor) params.set("cursor", cursor);
    replace(listStatus, h("span", { class: "muted" }, "loading…"));
    try {
      {
        const page = await api.get<DevicePage>(`/v1/devices?${params.toString()}`);
        nextCursor = page.nextCursor;
        next.disabled = !nextCursor;
        first.disabled = cursors.length === 1;
        replace(
          pageInfo,
          `page ${cursors.length} · ${page.devices.length} shown${page.partial ? " · search continues on the next page" : ""}`,
        );
        const now = Date.now();
        replace(
          list,
          page.devices.length === 0
            ? h("p", { class: "muted" }, "no device matches")
            : table(
                [
                  "device ID",
                  "key address",
                  "status",
                  "key version",
                  "enrolled block",
                  "last join",
                  "member until",
                  "",
                ],
                page.devices.map((d) => [
                  hex(d.deviceId),
                  hex(d.keyAddress),
                  h("span", { class: d.status === "active" ? "ok" : "bad" }, d.status),
                  String(d.keyVersion),
                  String(d.enrolledBlock),
                  d.joinedAt === null
                    ? "—"
                    : h("span", { title: time(d.joinedAt) }, relative(d.joinedAt, now)),
                  d.memberUntil === null
                    ? "not a member"
                    : h(
                        "span",
                        { title: time(d.memberUntil), class: "member-until" },
                        relative(d.memberUntil, now),
                      ),
                  actions(d),
                ]),
                (i) => ({ "data-device": page.devices[i]!.deviceId }),
              ),
        );
      }
      replace(listStatus);
    } catch (error) {
      replace(listStatus);
      replace(searchError, describe(error));
    }
  }

  const element = h(
    "section",
    { id: "view-devices", "aria-labelledby": "h-devices" },
    h("h2", { id: "h-devices" }, "Devices"),
    h("details", { class: "panel", id: "enroll-panel" }, h("summary", {}, "Enroll a device"), enrollForm),
    h(
      "div",
      { class: "toolbar" },
      h("label", { for: "device-search" }, "Search"),
      search,
      h("label", { for: "device-status" }, "Status"),
      statusFilter,
      first,
      next,
      pageInfo,
    ),
    searchError,
    actionResult,
    listStatus,
    list,
    revokeDialog,
    rotateDialog,
  );
  return { id: "devices", title: "Devices", element, refresh };
}
