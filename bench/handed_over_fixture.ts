/**
 * What `handed_over_bench.ts` and `handed_over_loop.ts` share: two sessions on a channel stub
 * whose transport reports `queued` bytes still held, and 1,024 routed messages with UUID ids as
 * JSON texts. `handOver(i)` parses the i-th (modulo 1,024) as the server would, counts 200 bytes
 * sent and hands it to the target; `parseOnly(i)` does the same parse alone.
 * @module
 */
import type { ServerChannel } from "../src/channel/server_channel.ts";
import type { Envelope } from "../src/envelope.ts";
import type { ServerSession } from "../src/server/server_session.ts";

/** The fixture's two calls. */
export interface HandedOverFixture {
  /** Parses message `i`, counts it sent and records it as handed to the target session. */
  handOver(i: number): void;
  /** Parses message `i` and nothing more (the baseline). */
  parseOnly(i: number): void;
}

/** Builds the fixture on `Session` (this checkout's class, or another's loaded by URL). */
export function handedOverFixture(
  Session: typeof ServerSession,
  queued: number,
): HandedOverFixture {
  let sent = 0;
  const channel = {
    transport: {
      get sentBytes() {
        return sent;
      },
      get queuedBytes() {
        return queued;
      },
    },
  } as unknown as ServerChannel;
  const sender = new Session(channel, "alice@localhost/home", "member", "plain");
  const target = new Session(channel, "bob@localhost/home", "member", "plain");
  const texts = Array.from(
    { length: 1024 },
    (_, i) =>
      `{"id":"${crypto.randomUUID()}","to":"bob@localhost/home","type":"text/plain",` +
      `"content":"message ${i}"}`,
  );
  return {
    handOver(i) {
      const message = JSON.parse(texts[i & 1023]) as Envelope;
      sent += 200;
      target.handedOver(sender, message);
    },
    parseOnly(i) {
      const message = JSON.parse(texts[i & 1023]) as Envelope;
      sent += 200;
      if (message.id === "") throw new Error("unreachable");
    },
  };
}
