/**
 * `dist/lime.web.js` in a real browser (Debian's chromium, driven by playwright-core) against
 * `deno task start`: two pages establish (plain, key, guest), exchange messages and receipts, run
 * commands; the server is restarted and the page's `LimeClient` reconnects and delivers what was
 * queued; refused input surfaces in the page as typed errors, and an invalid envelope from a
 * server as the same `ValidationError` as in Deno (its explainer loaded on demand).
 * @module
 */
import assert from "node:assert/strict";
import {
  buildBundle,
  Chromium,
  LimeServerProcess,
  openTestPage,
  StaticServer,
} from "./browser_helpers.ts";
import { connect, type PageState, waitForMessages } from "./page_client.ts";

/** What the test page exposes: the bundle's exports. */
declare const lime: typeof import("../../web_client.ts");

declare const state: PageState;

const ACCOUNTS = ["ann@localhost:ann-secret", "bob@localhost:bob-secret"];

Deno.test("lime.web.js in Chromium against deno task start", async (t) => {
  await using dist = await buildBundle();
  await using web = new StaticServer(dist.dir);
  await using browser = await Chromium.launch();
  // A data folder, so that the restarted server still knows bob's access key.
  const data = await Deno.makeTempDir({ prefix: "lime_data_" });
  let server = await LimeServerProcess.start({ accounts: ACCOUNTS, data });
  try {
    const errors: string[] = [];
    const ann = await openTestPage(browser, web.origin, errors);
    const bob = await openTestPage(browser, web.origin, errors);

    await t.step("LimeClient establishes with plain and key credentials in the page", async () => {
      assert.equal(
        await connect(ann, {
          uri: server.url,
          identity: "ann@localhost",
          instance: "page",
          password: "ann-secret",
        }),
        "ann@localhost/page",
      );
      // bob logs in with his password, gives himself an access key (a command), and comes back
      // with the key.
      await connect(bob, {
        uri: server.url,
        identity: "bob@localhost",
        instance: "page",
        password: "bob-secret",
      });
      await bob.evaluate(async () => {
        await state.client.mergeResource("/account", "application/vnd.lime.account+json", {
          accessKey: btoa("bob-key"),
          oldPassword: btoa("bob-secret"),
        });
        await state.client.close();
      });
      assert.equal(
        await connect(bob, {
          uri: server.url,
          identity: "bob@localhost",
          instance: "page",
          key: "bob-key",
        }),
        "bob@localhost/page",
      );
    });

    await t.step("ClientChannel establishes a guest session over WebSocketTransport", async () => {
      const result = await ann.evaluate(async (uri) => {
        const transport = new lime.WebSocketTransport();
        await transport.open(uri);
        const channel = new lime.ClientChannel(transport);
        await channel.establishSession({ identity: "guest-page@localhost", instance: "tab" });
        const node = channel.localNode;
        const ping = await channel.processCommand(new lime.Command("get", "/ping"));
        await channel.finish();
        const closed = await channel.closed;
        return { node, ping: ping.status, type: ping.type, closed: closed.state };
      }, server.url);
      assert.deepEqual(result, {
        node: "guest-page@localhost/tab",
        ping: "success",
        type: "application/vnd.lime.ping+json",
        closed: "finished",
      });
    });

    await t.step("LimeClient exchanges messages and receipts between two pages", async () => {
      await ann.evaluate(async () => {
        await state.client.sendMessage(
          new lime.Message("text/plain", "Hi Bob!", { id: "m1", to: "bob@localhost" }),
        );
      });
      await waitForMessages(bob, 1);
      assert.deepEqual(await bob.evaluate(() => state.messages), [
        { id: "m1", from: "ann@localhost/page", content: "Hi Bob!", resent: undefined },
      ]);
      // bob's client sent `received` on its own; he adds `consumed` and replies with JSON.
      await bob.evaluate(async () => {
        await state.client.sendNotification(
          new lime.Notification("consumed", { id: "m1", to: "ann@localhost/page" }),
        );
        await state.client.sendMessage(
          new lime.Message("application/json", { text: "Hi Ann!", n: 1 }, {
            id: "r1",
            to: "ann@localhost",
          }),
        );
      });
      await waitForMessages(ann, 1);
      await ann.waitForFunction(
        () => state.notifications.some((n) => n.id === "m1" && n.event === "consumed"),
        undefined,
        { timeout: 10_000 },
      );
      const seen = await ann.evaluate(() => ({
        messages: state.messages,
        receipts: state.notifications.filter((n) => n.id === "m1").map((n) => n.event),
      }));
      assert.deepEqual(seen.messages, [
        {
          id: "r1",
          from: "bob@localhost/page",
          content: { text: "Hi Ann!", n: 1 },
          resent: undefined,
        },
      ]);
      // A resend of m1 (its window is short here) would bring a second `received`: compare sets.
      assert.deepEqual([...new Set(seen.receipts)].sort(), ["consumed", "received"]);
    });

    await t.step("LimeClient runs commands: /ping, /presence, /account", async () => {
      const result = await ann.evaluate(async () => {
        const ping = await state.client.processCommand(new lime.Command("get", "/ping"));
        await state.client.setResource("/presence", "application/vnd.lime.presence+json", {
          status: "available",
          routingRule: "identity",
        });
        const presence = await state.client.getResource<{ status: string }>("/presence");
        const account = await state.client.getResource<{ identity?: string }>("/account");
        let missing: unknown;
        try {
          await state.client.getResource("/no-such-resource");
        } catch (error) {
          missing = {
            isCommandFailed: error instanceof lime.CommandFailedError,
            isLimeError: error instanceof lime.LimeError,
            code: (error as InstanceType<typeof lime.LimeError>).code,
          };
        }
        return { ping: ping.status, presence: presence.status, account, missing };
      });
      assert.equal(result.ping, "success");
      assert.equal(result.presence, "available");
      assert.equal(typeof result.account, "object");
      assert.deepEqual(result.missing, { isCommandFailed: true, isLimeError: true, code: 62 });
    });

    await t.step(
      "LimeClient reconnects after the server restarts and delivers what was queued",
      async () => {
        const port = server.port;
        await server.stop();
        await ann.waitForFunction(() => state.statuses.includes("reconnecting"), undefined, {
          timeout: 10_000,
        });
        // Sent while there is no server: they wait in the outbox.
        const queued = await ann.evaluate(async () => {
          const ids: string[] = [];
          for (let i = 1; i <= 5; i++) {
            const id = `q${i}`;
            ids.push(id);
            await state.client.sendMessage(
              new lime.Message("text/plain", `queued ${i}`, { id, to: "bob@localhost" }),
            );
          }
          return { ids, status: state.client.status.state };
        });
        assert.notEqual(queued.status, "established");
        const restartedAt = performance.now();
        server = await LimeServerProcess.start({ port, accounts: ACCOUNTS, data });
        await waitForMessages(bob, 6, 20_000);
        const delivered = await bob.evaluate(() => state.messages.slice(1).map((m) => m.id));
        console.log(
          `  queued messages delivered ${
            Math.round(performance.now() - restartedAt)
          } ms after the restart began (server start included)`,
        );
        assert.deepEqual([...delivered].sort(), queued.ids);
        // Established again on both sides, and no duplicate reached a handler.
        for (const page of [ann, bob]) {
          assert.equal(await page.evaluate(() => state.client.status.state), "established");
        }
        await new Promise((resolve) => setTimeout(resolve, 300));
        assert.equal(await bob.evaluate(() => state.messages.length), 6);
      },
    );

    await t.step(
      "LimeClient rejects refused credentials with a LimeError (failed session)",
      async () => {
        const result = await ann.evaluate(async (uri) => {
          const client = new lime.LimeClient({
            uri,
            identity: "ann@localhost",
            instance: "wrong",
            credentials: lime.plainCredentials("not the password"),
          });
          try {
            await client.start();
            return { established: true };
          } catch (error) {
            return {
              name: (error as Error).name,
              isLimeError: error instanceof lime.LimeError,
              code: (error as InstanceType<typeof lime.LimeError>).code,
              status: client.status.state,
            };
          } finally {
            await client.close();
          }
        }, server.url);
        assert.deepEqual(result, {
          name: "LimeError",
          isLimeError: true,
          code: 13,
          status: "closed",
        });
      },
    );

    await t.step(
      "ClientChannel reports the failed session the server answers bad input with",
      async () => {
        const result = await ann.evaluate(async (uri) => {
          const transport = new lime.WebSocketTransport();
          await transport.open(uri);
          const channel = new lime.ClientChannel(transport);
          await channel.establishSession({ identity: "guest-bad@localhost", instance: "tab" });
          // A text/plain message whose content is a number, and no id to answer it by: the
          // server fails the session with the reason of the offending field.
          await transport.send({ type: "text/plain", content: 42 } as never);
          const closed = await channel.closed;
          let sendError: unknown;
          try {
            await channel.sendMessage(new lime.Message("text/plain", "too late"));
          } catch (error) {
            sendError = {
              isChannelError: error instanceof lime.ChannelError,
              code: (error as InstanceType<typeof lime.ChannelError>).code,
            };
          }
          return { state: closed.state, reason: closed.reason?.code, sendError };
        }, server.url);
        assert.deepEqual(result, {
          state: "failed",
          reason: 23,
          sendError: { isChannelError: true, code: "invalid-state" },
        });
      },
    );

    await t.step(
      "WebSocketTransport fails with a ValidationError on a server's invalid failed session",
      async () => {
        // A scripted server: it answers `new` with a `failed` session without a reason (§14: a
        // `failed` session always carries one), which the page must refuse.
        await using fake = scriptedServer((socket, text) => {
          const envelope = JSON.parse(text);
          if (envelope.state === "new") {
            socket.send(JSON.stringify({ id: "s1", from: "server@fake/x", state: "failed" }));
          }
        });
        const requestsBefore = [...web.requests.keys()].filter((p) => p.includes("/codec-")).length;
        const result = await ann.evaluate(async (uri) => {
          const transport = new lime.WebSocketTransport();
          await transport.open(uri);
          const channel = new lime.ClientChannel(transport);
          let thrown: unknown;
          try {
            await channel.establishSession({ identity: "guest-x@fake", instance: "tab" });
          } catch (error) {
            thrown = error;
          }
          const closed = await transport.closed;
          const cause = closed.error?.cause;
          return {
            establishRejected: thrown instanceof Error,
            transportError: closed.error instanceof lime.TransportError,
            transportCode: closed.error?.code,
            isValidationError: cause instanceof lime.ValidationError,
            isLimeError: cause instanceof lime.LimeError,
            code: (cause as InstanceType<typeof lime.ValidationError>)?.code,
            path: (cause as InstanceType<typeof lime.ValidationError>)?.path,
            message: (cause as Error)?.message,
          };
        }, fake.url);
        assert.deepEqual(result, {
          establishRejected: true,
          transportError: true,
          transportCode: "invalid-envelope",
          isValidationError: true,
          isLimeError: true,
          code: 21,
          path: ["reason"],
          message:
            'Invalid session at reason: required when state is "failed": expected an object, ' +
            "got nothing (Code 21)",
        });
        // The explainer came as a chunk of its own, on demand.
        const requestsAfter = [...web.requests.keys()].filter((p) => p.includes("/codec-")).length;
        assert.equal(requestsBefore, 0);
        assert.equal(requestsAfter, 1);
      },
    );

    await t.step(
      "web.ts (lime.web.all.js) decodes and explains synchronously and runs a memory pair",
      async () => {
        const result = await bob.evaluate(async () => {
          const web: typeof import("../../web.ts") = await import(
            // A variable, so that the type checker does not look for the file.
            ["/dist", "lime.web.all.js"].join("/")
          );
          let explained: unknown;
          try {
            web.parseEnvelope('{"id":"1","to":"@","type":"text/plain","content":"hi"}');
          } catch (error) {
            const e = error as InstanceType<typeof web.ValidationError>;
            explained = {
              isValidationError: error instanceof web.ValidationError,
              code: e.code,
              path: e.path,
            };
          }
          const [a, b] = web.MemoryTransport.pair();
          await a.send(new web.Message("text/plain", "over memory", { id: "mem-1" }));
          let echoed: unknown;
          for await (const envelope of b) {
            echoed = envelope;
            break;
          }
          await a.close();
          await b.close();
          return { explained, echoed };
        });
        assert.deepEqual(result, {
          explained: { isValidationError: true, code: 26, path: ["to"] },
          echoed: { id: "mem-1", type: "text/plain", content: "over memory" },
        });
      },
    );

    await t.step("LimeClient finishes its session on close", async () => {
      for (const page of [ann, bob]) {
        assert.equal(
          await page.evaluate(async () => {
            await state.client.close();
            return state.client.status.state;
          }),
          "closed",
        );
      }
      assert.deepEqual(errors, []);
    });
  } finally {
    await server[Symbol.asyncDispose]();
    await Deno.remove(data, { recursive: true });
  }
});

/** A WebSocket server (subprotocol `lime`) that calls `onText` for every text it receives. */
function scriptedServer(
  onText: (socket: WebSocket, text: string) => void,
): { url: string } & AsyncDisposable {
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, (request) => {
    const { socket, response } = Deno.upgradeWebSocket(request, { protocol: "lime" });
    socket.onmessage = (event) => onText(socket, String(event.data));
    return response;
  });
  return {
    url: `ws://127.0.0.1:${server.addr.port}`,
    async [Symbol.asyncDispose]() {
      await server.shutdown();
    },
  };
}
