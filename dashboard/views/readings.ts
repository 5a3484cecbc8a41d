/**
 * Telemetry readings of one device: the collector's latest readings as a table and its heart rate
 * and SpO2 as charts. The head proxies the collector (`GET /v1/telemetry/readings`), so the page
 * keeps `connect-src 'self'` and never sees the collector's token. Every value is shown as text.
 */
import { lineChart } from "../charts";
import { h, replace } from "../dom";
import { time } from "../format";
import { clearErrors, field, showError } from "../forms";
import { loading, table, type View, type ViewContext } from "./view";

interface ReadingRow {
  deviceTimeMs: number;
  heartRateBpm: number;
  spo2Percent: number;
  systolicMmHg: number;
  diastolicMmHg: number;
  temperatureCentiC: number;
  respiratoryRatePerMin: number;
}

/** The newest readings shown: one page of the collector's, which pages oldest first. */
const LATEST = 50;
/** Readings looked back over for the latest ones: the last day of device time. */
/** Recent windows of device time to look in, shortest first: 10 minutes, then a day. */
const WINDOWS_MS = [10 * 60_000, 24 * 3600_000] as const;
/** Pages of 1000 followed per window. */
const PAGES = 10;

export function readingsView({ api }: ViewContext): View {
  const status = h("div", { class: "status" });
  const known = h("datalist", { id: "readings-devices" });
  const device = field(
    "readings",
    "device",
    "Device ID",
    h("input", {
      type: "text",
      list: known.id,
      placeholder: "64 hex characters",
      autocomplete: "off",
      spellcheck: "false",
    }),
  );
  const formError = h("p", { class: "form-error", role: "alert" });
  const charts = h("div", { id: "readings-charts", class: "charts" });
  const rows = h("div", { id: "readings-table" });
  const form = h(
    "form",
    { id: "readings-form", class: "toolbar" },
    device.element,
    h("button", { type: "submit" }, "Show readings"),
    formError,
  );
  const element = h(
    "section",
    { id: "view-readings", "aria-labelledby": "h-readings" },
    h("h2", { id: "h-readings" }, "Readings"),
    form,
    known,
    status,
    charts,
    rows,
  );

  /**
   * The newest readings of a device. The collector pages oldest first, so look at a short recent
   * window first and follow its cursor (a device sending up to PAGES × 1000 readings per window),
   * then at the whole day if the short window is empty.
   */
  const latestReadings = async (deviceId: string): Promise<ReadingRow[]> => {
    for (const windowMs of WINDOWS_MS) {
      let newest: ReadingRow[] = [];
      let cursor: string | null = null;
      for (let page = 0; page < PAGES; page++) {
        const params: URLSearchParams = new URLSearchParams({
          device: deviceId,
          from: String(Date.now() - windowMs),
          limit: "1000",
          ...(cursor ? { cursor } : {}),
        });
        const body: { readings: ReadingRow[]; nextCursor?: string | null } = await api.get<{
          readings: ReadingRow[];
          nextCursor?: string | null;
        }>(`/v1/telemetry/readings?${params.toString()}`);
        newest = [...newest, ...body.readings].slice(-LATEST);
        cursor = body.nextCursor ?? null;
        if (!cursor) break;
      }
      if (newest.length > 0) return newest;
    }
    return [];
  };

  const show = async (deviceId: string): Promise<void> => {
    clearErrors([device], formError);
    let readings: ReadingRow[];
    try {
      readings = await latestReadings(deviceId);
    } catch (error) {
      showError([device], formError, error);
      replace(charts);
      replace(rows);
      return;
    }
    const latest = readings.slice(-LATEST);
    replace(
      charts,
      lineChart(
        "Heart rate",
        "bpm",
        latest.map((r) => r.heartRateBpm),
      ),
      lineChart(
        "SpO2",
        "%",
        latest.map((r) => r.spo2Percent),
      ),
    );
    replace(
      rows,
      latest.length === 0
        ? h("p", { class: "muted" }, "no reading from this device in the last 24 hours")
        : table(
            [
              "Device time",
              "Heart rate (bpm)",
              "SpO2 (%)",
              "Blood pressure (mmHg)",
              "Temperature (°C)",
              "Respiration (/min)",
            ],
            latest
              .slice()
              .reverse()
              .map((r) => [
                time(r.deviceTimeMs),
                String(r.heartRateBpm),
                String(r.spo2Percent),
                `${r.systolicMmHg}/${r.diastolicMmHg}`,
                (r.temperatureCentiC / 100).toFixed(2),
                String(r.respiratoryRatePerMin),
              ]),
          ),
    );
  };

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    void show(device.input.value.trim());
  });

  // The device list only suggests IDs; any ID can be typed.
  const refresh = () =>
    loading(status, async () => {
      const page = await api.get<{ devices: { deviceId: string }[] }>("/v1/devices?limit=200");
      replace(known, ...page.devices.map((d) => h("option", { value: d.deviceId })));
      if (device.input.value.trim() !== "") await show(device.input.value.trim());
    });
  return { id: "readings", title: "Readings", element, refresh };
}
