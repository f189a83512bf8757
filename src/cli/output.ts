/**
 * How `lime` prints: data on stdout (JSON lines with `--json`, else lines for people, colored on a
 * terminal), status and errors on stderr.
 * @module
 */
import { serializeEnvelope } from "../codec_core.ts";
import {
  type Command,
  type Envelope,
  envelopeKind,
  type Message,
  type Notification,
  type Session,
} from "../envelope.ts";
import type { ColorChoice } from "./args.ts";
import type { CliIo } from "./terminal.ts";

const STYLES = {
  dim: "2",
  bold: "1",
  red: "31",
  green: "32",
  yellow: "33",
  blue: "34",
  magenta: "35",
  cyan: "36",
} as const;

/** An ANSI style. */
export type Style = keyof typeof STYLES;

/** Whether to color: `always`, `never`, or on a terminal unless `NO_COLOR` is set. */
export function useColor(choice: ColorChoice, io: CliIo): boolean {
  if (choice !== "auto") return choice === "always";
  return io.stdoutIsTerminal && !io.env("NO_COLOR");
}

const KIND_STYLE: Record<string, Style> = {
  message: "green",
  notification: "yellow",
  command: "cyan",
  session: "magenta",
};

/** One value on one line: strings as they are (quoted when they hold line breaks), else JSON. */
function inline(value: unknown): string {
  if (typeof value === "string") return /[\r\n\t]/.test(value) ? JSON.stringify(value) : value;
  return value === undefined ? "" : JSON.stringify(value);
}

/** Prints for `lime`'s commands. */
export class Printer {
  readonly #io: CliIo;
  readonly #color: boolean;
  /** Whether envelopes are printed as JSON lines. */
  readonly json: boolean;

  /** A printer over `io`. */
  constructor(io: CliIo, options: { json: boolean; color: boolean }) {
    this.#io = io;
    this.json = options.json;
    this.#color = options.color && !options.json;
  }

  /** `text` in `style` when coloring. */
  paint(style: Style, text: string): string {
    return this.#color ? `\x1b[${STYLES[style]}m${text}\x1b[0m` : text;
  }

  /** A line of data (stdout). */
  data(line: string): void {
    this.#io.out(line);
  }

  /** A status line for people (stderr). */
  status(line: string): void {
    this.#io.err(this.paint("dim", line));
  }

  /** An error line (stderr). */
  error(message: string): void {
    this.#io.err(`${this.paint("red", "error:")} ${message}`);
  }

  /** An envelope as one JSON line, as on the wire (stdout). */
  envelopeJson(envelope: Envelope): void {
    this.#io.out(serializeEnvelope(envelope));
  }

  /** A JSON value: indented on a terminal, compact otherwise; strings as they are. */
  value(value: unknown): void {
    if (typeof value === "string") {
      this.#io.out(value);
      return;
    }
    this.#io.out(JSON.stringify(value, null, this.#io.stdoutIsTerminal ? 2 : undefined));
  }

  /** A received envelope, as `lime watch` prints it: a JSON line, or one line for people. */
  received(envelope: Envelope, at: Date = new Date()): void {
    if (this.json) {
      this.envelopeJson(envelope);
      return;
    }
    const kind = envelopeKind(envelope);
    const time = this.paint("dim", at.toTimeString().slice(0, 8));
    const from = envelope.from ? this.paint("bold", envelope.from) : "-";
    const to = envelope.to ? ` → ${envelope.to}` : "";
    const id = envelope.id ? this.paint("dim", ` id ${envelope.id}`) : "";
    const head = `${time} ${this.paint(KIND_STYLE[kind], kind.padEnd(12))} ${from}${to}`;
    this.#io.out(`${head}  ${this.#details(kind, envelope)}${id}`);
  }

  #details(kind: string, envelope: Envelope): string {
    switch (kind) {
      case "message": {
        const message = envelope as Message;
        return `${this.paint("dim", message.type)}  ${inline(message.content)}`;
      }
      case "notification": {
        const notification = envelope as Notification;
        const reason = notification.reason
          ? `  ${notification.reason.description ?? ""} (reason ${notification.reason.code})`
          : "";
        const style = notification.event === "failed" ? "red" : "yellow";
        return `${this.paint(style, notification.event)}${reason}`;
      }
      case "command": {
        const command = envelope as Command;
        const status = command.status ? ` ${command.status}` : "";
        const resource = command.resource === undefined ? "" : `  ${inline(command.resource)}`;
        return `${command.method} ${command.uri ?? ""}${status}${resource}`;
      }
      default: {
        const session = envelope as Session;
        const reason = session.reason
          ? `  ${session.reason.description ?? ""} (reason ${session.reason.code})`
          : "";
        return `${session.state}${reason}`;
      }
    }
  }
}
