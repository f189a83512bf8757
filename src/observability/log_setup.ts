/**
 * What `deno task start` configures LogTape with: one line per record on stderr, human-readable
 * (colored on a TTY) or JSON lines (`--log-format=json`: the message is the template, e.g.
 * `Session refused from {remote} ...`, with the values under `properties`), from `--log-level` up, for the
 * `["lime"]` categories (and LogTape's own warnings). Lines are written synchronously, so none is
 * lost when the process exits right after.
 * @module
 */
import {
  configureSync,
  getAnsiColorFormatter,
  getJsonLinesFormatter,
  getTextFormatter,
  type LogLevel,
  type LogRecord,
  type TextFormatter,
} from "npm:@logtape/logtape@2.4.2";

/** `--log-format`. */
export type LogFormat = "text" | "json";

/** `--log-level`. */
export type ServerLogLevel = "debug" | "info" | "warning" | "error";

/** The `--log-level` values. */
export const LOG_LEVELS: readonly ServerLogLevel[] = ["debug", "info", "warning", "error"];

/** How the server's logs are written. */
export interface LogSetup {
  /** `text` (default) or `json`. */
  format: LogFormat;
  /** The lowest level written. */
  level: ServerLogLevel;
  /** Where lines go. Default: stderr. */
  write?: (line: string) => void;
  /** Whether text lines get ANSI colors. Default: whether stderr is a terminal. */
  color?: boolean;
}

function stderrWriter(): (line: string) => void {
  const encoder = new TextEncoder();
  return (line) => {
    let bytes = encoder.encode(line);
    while (bytes.length > 0) bytes = bytes.subarray(Deno.stderr.writeSync(bytes));
  };
}

/** Configures LogTape for the server (replacing any earlier configuration). */
export function setupServerLogs(setup: LogSetup): void {
  const color = setup.color ?? Deno.stderr.isTerminal();
  const formatter: TextFormatter = setup.format === "json"
    ? getJsonLinesFormatter({ message: "template" })
    : color
    ? getAnsiColorFormatter({ value: "bare", category: "." })
    : getTextFormatter({ value: "bare", category: "." });
  const write = setup.write ?? stderrWriter();
  const sink = (record: LogRecord) => write(formatter(record));
  configureSync({
    reset: true,
    sinks: { server: sink },
    loggers: [
      { category: ["lime"], sinks: ["server"], lowestLevel: setup.level as LogLevel },
      { category: ["logtape", "meta"], sinks: ["server"], lowestLevel: "warning" },
    ],
  });
}
