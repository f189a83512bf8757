/**
 * Amplification: small requests for large answers. What the server answers a session's requests
 * counts against the session's (and its identity's and address's) byte rate, so 30 sessions from
 * one address reading their 1 MiB rosters as fast as they can are slowed down, and a bystander's
 * `/ping` stays fast. (Found by the review of the hardening: before, the bystander's p99 was
 * 115–193 ms.)
 */
import { TestServer } from "../server_test_helpers.ts";
import { rawGuest } from "../../tools/attack/wire.ts";
import { Bystander, type RawPeer } from "./security_helpers.ts";

Deno.test({
  name:
    "amplification: 30 sessions from one address reading their 1 MiB rosters do not starve a bystander",
  async fn() {
    // Rates are shaped per session and per identity, by what a session sends: a 50-byte
    // `get /contacts` of a full guest roster (1,000 contacts, 1 MiB, within quotas) costs the
    // server a 1 MiB response, and one address may hold 1,000 sessions of as many guest
    // identities. Measured: bystander /ping p50 72 ms, p99 193 ms (limit 100 ms).
    await using t = await TestServer.start();
    const peers: RawPeer[] = [];
    try {
      for (let p = 0; p < 30; p++) {
        // Accounts: a guest's roster is held to 64 KiB.
        await t.addAccount(`amp${p}@localhost`, "pw");
        const peer = await rawGuest(t.server.tcpAddress!, "127.0.0.2", `amp${p}@localhost/a`, "pw");
        peers.push(peer);
        let batch = "";
        for (let i = 0; i < 250; i++) {
          batch += JSON.stringify({
            id: `s${i}`,
            method: "set",
            uri: "/contacts",
            type: "application/vnd.lime.contact+json",
            resource: { identity: `c${i}@localhost`, name: "n".repeat(3900) },
          });
        }
        peer.write(batch);
        for (let i = 0; i < 250; i++) await peer.next(10_000);
      }
      const bystander = (await Bystander.start(t)).run();
      const started = performance.now();
      const response = 985_000; // bytes of one roster response
      await Promise.all(peers.map(async (peer, p) => {
        let unread = 0;
        let n = 0;
        peer.socket.removeAllListeners("data");
        peer.socket.on("data", (chunk: Uint8Array) => unread += chunk.length);
        // Two requests in flight, the next one for every response read: never a backlog.
        for (let i = 0; i < 2; i++) {
          peer.write(`{"id":"g${p}-${n++}","method":"get","uri":"/contacts"}`);
        }
        while (performance.now() - started < 3000 && !peer.closed) {
          while (unread >= response) {
            unread -= response;
            peer.write(`{"id":"g${p}-${n++}","method":"get","uri":"/contacts"}`);
          }
          await new Promise((resolve) => setTimeout(resolve, 1));
        }
      }));
      await bystander.stop("30 guests reading their rosters");
    } finally {
      await Promise.all(peers.map((peer) => peer.close()));
    }
  },
});
