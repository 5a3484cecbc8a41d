/**
 * Reads a vitals data set (CSV, data/README.md) into readings for `device publish`.
 * Columns are found by header name (the field table's `column` names, plus an optional `patient`;
 * any other column, such as `timestamp`, is ignored), so the file may order or extend them. Every
 * row is checked against the reading schema before anything is sent; a bad file changes nothing.
 */
import { readFileSync } from "node:fs";
import { isTelemetryError, READING_FIELDS, type Reading, validateReading } from "../../../telemetry";
import { DeviceError } from "../../sdk";

export interface Dataset {
  /** The rows of the chosen patient, in file order. */
  readings: Reading[];
  /** The patient whose rows were taken, or undefined when the file has no `patient` column. */
  patient: string | undefined;
  /** Every patient in the file, in order of first appearance. */
  patients: string[];
}

function bad(file: string, where: string, why: string): DeviceError {
  return new DeviceError("E_BAD_ARGUMENT", `--dataset ${file}${where}: ${why}`);
}

/**
 * Parses `text` (the contents of `file`) and keeps the rows of `patient` (default: the first
 * patient in the file; all rows when the file has no `patient` column).
 * @throws DeviceError E_BAD_ARGUMENT naming the line and column (never a value)
 */
export function parseDataset(text: string, file: string, patient?: string): Dataset {
  const lines = text.split(/\r?\n/);
  while (lines.length > 0 && lines[lines.length - 1] === "") lines.pop();
  const header = (lines[0] ?? "").split(",").map((c) => c.trim());
  const columnOf = (name: string) => header.indexOf(name);
  const missing = READING_FIELDS.filter((f) => columnOf(f.column) < 0).map((f) => f.column);
  if (missing.length > 0) throw bad(file, " line 1", `missing column(s) ${missing.join(", ")}`);
  const patientColumn = columnOf("patient");
  if (patient !== undefined && patientColumn < 0)
    throw bad(file, "", "--patient given but no patient column");
  const patients: string[] = [];
  const readings: Reading[] = [];
  let chosen = patient;
  for (let i = 1; i < lines.length; i++) {
    const cells = (lines[i] as string).split(",");
    if (cells.length !== header.length)
      throw bad(file, ` line ${i + 1}`, `${cells.length} cells, the header has ${header.length}`);
    if (patientColumn >= 0) {
      const who = (cells[patientColumn] as string).trim();
      if (!patients.includes(who)) patients.push(who);
      chosen ??= who;
      if (who !== chosen) continue;
    }
    const reading = {} as Record<keyof Reading, number>;
    for (const f of READING_FIELDS) {
      const cell = (cells[columnOf(f.column)] as string).trim();
      const value = /^-?\d+$/.test(cell) ? Number(cell) : Number.NaN;
      if (!Number.isSafeInteger(value)) throw bad(file, ` line ${i + 1}`, `${f.column} is not an integer`);
      reading[f.name] = value;
    }
    try {
      readings.push(validateReading(reading));
    } catch (error) {
      if (!isTelemetryError(error)) throw error;
      throw bad(file, ` line ${i + 1}`, error.message);
    }
  }
  if (patient !== undefined && !patients.includes(patient))
    throw bad(
      file,
      "",
      `no rows for patient ${JSON.stringify(patient)} (the file has ${patients.join(", ")})`,
    );
  if (readings.length === 0) throw bad(file, "", "no readings");
  for (let i = 1; i < readings.length; i++)
    if ((readings[i] as Reading).deviceTimeMs <= (readings[i - 1] as Reading).deviceTimeMs)
      throw bad(
        file,
        "",
        `device_time_ms must increase within a patient's rows (row ${i + 1} of ${chosen ?? "the file"})`,
      );
  return { readings, patient: chosen, patients };
}

/**
 * Reads and parses the data-set file.
 * @throws DeviceError E_BAD_ARGUMENT when it cannot be read or parsed
 */
export function readDataset(file: string, patient?: string): Dataset {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (error) {
    throw bad(file, "", (error as NodeJS.ErrnoException).code ?? "unreadable");
  }
  return parseDataset(text, file, patient);
}

/**
 * The `n`-th reading of the replay: with `--loop` the data set repeats, shifted in time by its own
 * span plus one interval per pass, so device time keeps increasing.
 */
export function replayReading(readings: readonly Reading[], n: number): Reading {
  const pass = Math.floor(n / readings.length);
  const r = readings[n % readings.length] as Reading;
  if (pass === 0) return r;
  const first = (readings[0] as Reading).deviceTimeMs;
  const last = (readings[readings.length - 1] as Reading).deviceTimeMs;
  const step = readings.length > 1 ? (last - first) / (readings.length - 1) : 1000;
  const period = last - first + Math.max(1, Math.round(step));
  return { ...r, deviceTimeMs: r.deviceTimeMs + pass * period };
}
