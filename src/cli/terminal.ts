/**
 * What `lime` needs from its process: output lines, the environment, whether it runs on a
 * terminal, stdin, a password prompt that does not echo, and Ctrl-C. {@link denoIo} is the real
 * one; everything else in `src/cli/` goes through {@link CliIo}.
 * @module
 */
import { CliError, ExitCode } from "./exit_codes.ts";

/** The process, as the commands see it. */
export interface CliIo {
  /** Writes a line to stdout. */
  out(line: string): void;
  /** Writes a line to stderr. */
  err(line: string): void;
  /** An environment variable. */
  env(name: string): string | undefined;
  /** Forgets an environment variable (a password, once read). */
  forgetEnv(name: string): void;
  /** Whether stdin is a terminal (a password can be asked for). */
  readonly stdinIsTerminal: boolean;
  /** Whether stdout is a terminal (colors, indented JSON). */
  readonly stdoutIsTerminal: boolean;
  /** All of stdin as text, at most `maxBytes`. */
  readStdin(maxBytes: number): Promise<string>;
  /** Asks for a secret on the terminal without echoing it. */
  promptHidden(question: string): Promise<string>;
  /** Calls `handler` on Ctrl-C (SIGINT) until the returned function is called. */
  onInterrupt(handler: () => void): () => void;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

function writeAll(stream: { writeSync(p: Uint8Array): number }, text: string): void {
  let bytes = encoder.encode(text);
  while (bytes.length > 0) bytes = bytes.subarray(stream.writeSync(bytes));
}

async function readStdin(maxBytes: number): Promise<string> {
  const parts: Uint8Array[] = [];
  let length = 0;
  for await (const chunk of Deno.stdin.readable) {
    length += chunk.length;
    if (length > maxBytes) {
      throw new CliError(ExitCode.USAGE, `stdin holds more than ${maxBytes} bytes`);
    }
    parts.push(chunk);
  }
  const all = new Uint8Array(length);
  let at = 0;
  for (const part of parts) {
    all.set(part, at);
    at += part.length;
  }
  return decoder.decode(all);
}

/** Reads one line from the terminal in raw mode: no echo; backspace, Enter, Ctrl-C, Ctrl-D. */
async function promptHidden(question: string): Promise<string> {
  const bytes: number[] = [];
  const buffer = new Uint8Array(256);
  // Raw (no echo) before the question: whatever is typed after seeing it is never echoed.
  Deno.stdin.setRaw(true);
  try {
    writeAll(Deno.stderr, question);
    for (;;) {
      const n = await Deno.stdin.read(buffer);
      if (n === null) break;
      for (const byte of buffer.subarray(0, n)) {
        if (byte === 0x0d || byte === 0x0a) return decoder.decode(new Uint8Array(bytes));
        if (byte === 0x03) throw new CliError(ExitCode.INTERRUPTED, "interrupted");
        if (byte === 0x04 && bytes.length === 0) return "";
        if (byte === 0x7f || byte === 0x08) {
          // Remove one character: its UTF-8 continuation bytes, then its lead byte.
          while (bytes.length > 0 && (bytes[bytes.length - 1] & 0xc0) === 0x80) bytes.pop();
          bytes.pop();
        } else if (byte >= 0x20 || byte === 0x09) {
          bytes.push(byte);
        }
      }
    }
    return decoder.decode(new Uint8Array(bytes));
  } finally {
    Deno.stdin.setRaw(false);
    writeAll(Deno.stderr, "\n");
  }
}

/** The real process. */
export function denoIo(): CliIo {
  return {
    out: (line) => writeAll(Deno.stdout, `${line}\n`),
    err: (line) => writeAll(Deno.stderr, `${line}\n`),
    env: (name) => Deno.env.get(name),
    forgetEnv: (name) => Deno.env.delete(name),
    stdinIsTerminal: Deno.stdin.isTerminal(),
    stdoutIsTerminal: Deno.stdout.isTerminal(),
    readStdin,
    promptHidden,
    onInterrupt(handler) {
      Deno.addSignalListener("SIGINT", handler);
      return () => Deno.removeSignalListener("SIGINT", handler);
    },
  };
}
