import assert from "node:assert/strict";
import { X509Certificate } from "node:crypto";
import { parseAuthorities, verifyChain } from "../src/transport/tcp_certificate.ts";
import { tlsFixture } from "./tls_fixture.ts";

const DAY = 24 * 60 * 60 * 1000;

Deno.test("verifyChain accepts a leaf issued by a configured CA", async () => {
  const f = await tlsFixture();
  const leaf = new X509Certificate(f.client.cert);
  assert.equal(verifyChain(leaf, [], parseAuthorities([f.otherCa, f.ca])), true);
});

Deno.test("verifyChain refuses a leaf from another CA, or outside its validity", async () => {
  const f = await tlsFixture();
  const authorities = parseAuthorities([f.ca]);
  assert.equal(verifyChain(new X509Certificate(f.otherClient.cert), [], authorities), false);
  const leaf = new X509Certificate(f.client.cert);
  assert.equal(verifyChain(leaf, [], authorities, Date.now() + 3 * DAY), false);
  assert.equal(verifyChain(leaf, [], authorities, Date.now() - 3 * DAY), false);
  assert.equal(verifyChain(leaf, [], []), false);
});

Deno.test("verifyChain follows the intermediates the peer sent", async () => {
  const f = await tlsFixture();
  const [leaf, intermediate] = parseAuthorities([f.chainClient.cert]);
  const authorities = parseAuthorities([f.ca]);
  assert.equal(verifyChain(leaf, [intermediate], authorities), true);
  assert.equal(verifyChain(leaf, [], authorities), false, "the intermediate is needed");
  // A leaf is no CA: it cannot stand in for an intermediate or an anchor.
  const client = new X509Certificate(f.client.cert);
  assert.equal(verifyChain(leaf, [client], authorities), false);
  assert.equal(verifyChain(leaf, [], [client]), false);
});

Deno.test("parseAuthorities reads every certificate of a PEM bundle", async () => {
  const f = await tlsFixture();
  assert.equal(parseAuthorities([f.ca + f.otherCa, f.ca]).length, 3);
  assert.equal(parseAuthorities(undefined).length, 0);
});
