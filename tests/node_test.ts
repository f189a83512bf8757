import assert from "node:assert/strict";
import { Identity } from "../src/identity.ts";
import { Node } from "../src/node.ts";

// §2.2 table (with the lime-go reading of `name/instance`), plus spec test vectors.
const valid: [string, string | undefined, string | undefined, string | undefined][] = [
  ["name@domain.com/instance", "name", "domain.com", "instance"],
  ["name@domain.com", "name", "domain.com", undefined],
  ["name@domain.com/", "name", "domain.com", ""],
  ["@domain", undefined, "domain", undefined],
  ["@domain/instance", undefined, "domain", "instance"],
  ["name", "name", undefined, undefined],
  ["a@b/c/d", "a", "b", "c/d"],
  ["a@b/c@d", "a", "b", "c@d"],
  ["skyler/bedroom", "skyler", undefined, "bedroom"],
  ["skyler/", "skyler", undefined, ""],
  ["skyler/a/b", "skyler", undefined, "a/b"],
  ["jesse@breakingbad.com/home", "jesse", "breakingbad.com", "home"],
  ["postmaster@localhost/server1", "postmaster", "localhost", "server1"],
  ["golang@limeprotocol.org/default", "golang", "limeprotocol.org", "default"],
  ["josé@exemplo.com.br/café", "josé", "exemplo.com.br", "café"],
  ["a:b&c'd<e>f\"g@domain", "a:b&c'd<e>f\"g", "domain", undefined],
];

for (const [input, name, domain, instance] of valid) {
  Deno.test(`Node.parse reads ${JSON.stringify(input)}`, () => {
    const node = Node.parse(input);
    assert.equal(node.name, name);
    assert.equal(node.domain, domain);
    assert.equal(node.instance, instance);
    assert.equal(node.toString(), input);
    assert.ok(Node.tryParse(input)?.equals(node));
  });
}

const invalid: [string, string][] = [
  ["@", 'Invalid node "@": a node needs a name or a domain'],
  ["", 'Invalid node "": the string is empty'],
  ["/instance", 'Invalid node "/instance": a node needs a name or a domain'],
  ["@/instance", 'Invalid node "@/instance": a node needs a name or a domain'],
  ["name@", 'Invalid node "name@": a domain must follow "@"'],
  ["name@/instance", 'Invalid node "name@/instance": a domain must follow "@"'],
  ["a@b@c", 'Invalid node "a@b@c": the domain must not contain "@"'],
  ["@b@c/d", 'Invalid node "@b@c/d": the domain must not contain "@"'],
  [" ", 'Invalid node " ": whitespace and control characters are not allowed (U+0020 at index 0)'],
  [
    "a@b/my phone",
    'Invalid node "a@b/my phone": whitespace and control characters are not allowed (U+0020 at index 6)',
  ],
  [
    " a@b",
    'Invalid node " a@b": whitespace and control characters are not allowed (U+0020 at index 0)',
  ],
  [
    "a@b\u007f",
    'Invalid node "a@b\u007f": whitespace and control characters are not allowed (U+007F at index 3)',
  ],
];

for (const [input, message] of invalid) {
  Deno.test(`Node.parse rejects ${JSON.stringify(input)}`, () => {
    assert.throws(() => Node.parse(input), { name: "SyntaxError", message });
    assert.equal(Node.tryParse(input), undefined);
  });
}

Deno.test("Node.parse rejects blank strings and control characters", () => {
  for (
    const input of ["\t", "\r\n", "\u00a0", "\u3000", "a@b/c\u0000", "a\u0085@b", "a@b/\u2029"]
  ) {
    assert.throws(() => Node.parse(input), SyntaxError, JSON.stringify(input));
  }
});

Deno.test("Node.parse cuts long inputs in its error message", () => {
  const input = `${"x".repeat(100)}@`;
  assert.throws(() => Node.parse(input), {
    message: `Invalid node "${"x".repeat(64)}…": a domain must follow "@"`,
  });
});

Deno.test("Node.parse throws TypeError for a non-string", () => {
  for (const value of [null, undefined, 1, {}, [], Identity.parse("a@b")]) {
    assert.throws(() => Node.parse(value as unknown as string), TypeError);
  }
  assert.throws(() => Node.parse(1 as unknown as string), {
    message: "Cannot parse a node from a number: expected a string",
  });
});

Deno.test("Node.tryParse returns undefined for non-strings and never throws", () => {
  for (const value of [null, undefined, 1, {}, [], "", "@", " "]) {
    assert.equal(Node.tryParse(value), undefined);
  }
});

Deno.test("Node.from returns a node unchanged and parses a string", () => {
  const node = Node.parse("a@b/c");
  assert.equal(Node.from(node), node);
  assert.ok(Node.from("A@B/C").equals(node));
  assert.throws(() => Node.from("@"), SyntaxError);
  assert.throws(() => Node.from(42 as unknown as string), TypeError);
});

Deno.test("Node.toString keeps an empty instance as a trailing slash", () => {
  assert.equal(new Node("name", "domain.com", "").toString(), "name@domain.com/");
  assert.equal(new Node("name", "domain.com").toString(), "name@domain.com");
  assert.equal(new Node("name", undefined, "x").toString(), "name/x");
  assert.equal(new Node(undefined, "domain", "x").toString(), "@domain/x");
  assert.equal(new Node("name").toString(), "name");
});

Deno.test("Node.toString round-trips through parse", () => {
  for (const [input] of valid) {
    const node = Node.parse(input);
    assert.equal(Node.parse(node.toString()).toString(), input);
    assert.ok(Node.parse(node.toString()).equals(node));
  }
});

Deno.test("Node.toJSON writes a JSON string", () => {
  const node = Node.parse("jesse@breakingbad.com/home");
  assert.equal(node.toJSON(), "jesse@breakingbad.com/home");
  assert.equal(JSON.stringify({ from: node }), '{"from":"jesse@breakingbad.com/home"}');
  assert.equal(JSON.stringify(Node.parse("a@b/")), '"a@b/"');
});

Deno.test("Node.identity drops the instance", () => {
  const node = Node.parse("a@b/c/d");
  assert.ok(node.identity instanceof Identity);
  assert.equal(node.identity.toString(), "a@b");
  assert.equal(node.toIdentity().toString(), "a@b");
  assert.equal(Node.parse("skyler/bedroom").identity.toString(), "skyler");
  assert.equal(Node.parse("@domain/x").identity.toString(), "@domain");
  assert.ok(node.identity.equals(Identity.parse("A@B")));
});

Deno.test("Node.isComplete needs name, domain and instance", () => {
  assert.equal(Node.parse("name@domain.com/instance").isComplete, true);
  assert.equal(Node.parse("name@domain.com").isComplete, false);
  assert.equal(Node.parse("name@domain.com/").isComplete, false);
  assert.equal(Node.parse("@domain/instance").isComplete, false);
  assert.equal(Node.parse("skyler/bedroom").isComplete, false);
  assert.equal(Node.parse("name").isComplete, false);
});

Deno.test("Node.equals ignores case, the instance included", () => {
  const node = Node.parse("Gale@BreakingBad.com/Lab");
  assert.ok(node.equals(Node.parse("gale@breakingbad.com/lab")));
  assert.ok(node.equals("GALE@BREAKINGBAD.COM/LAB"));
  assert.ok(!node.equals("gale@breakingbad.com/home"));
  assert.ok(!node.equals("gale@breakingbad.com"));
  assert.ok(Node.parse("a@b/c/d").equals("A@B/C/D"));
});

Deno.test("Node.equals matches an absent instance only with an absent instance", () => {
  assert.ok(!Node.parse("a@b").equals("a@b/"));
  assert.ok(!Node.parse("a@b/").equals("a@b"));
  assert.ok(Node.parse("a@b/").equals("a@b/"));
  assert.ok(!Node.parse("name").equals("@name"));
  assert.ok(!Node.parse("skyler/bedroom").equals("skyler@bedroom"));
});

Deno.test("Node.equals is false for an identity with the same text", () => {
  const node = Node.parse("a@b");
  assert.ok(!node.equals(Identity.parse("a@b") as unknown as Node));
  assert.ok(!Identity.parse("a@b").equals(node as unknown as Identity));
  assert.ok(node.identity.equals(Identity.parse("a@b")));
});

Deno.test("Node.equals is false for null, undefined and invalid strings", () => {
  const node = Node.parse("a@b/c");
  assert.ok(node.equals(node));
  assert.ok(!node.equals(null));
  assert.ok(!node.equals(undefined));
  assert.ok(!node.equals("@"));
  assert.ok(!node.equals("a@b/c d"));
});

Deno.test("Node constructor validates its parts", () => {
  assert.throws(() => new Node("a/b", "c"), {
    name: "RangeError",
    message: 'Invalid node name "a/b": "@", "/", whitespace and control characters are not allowed',
  });
  assert.throws(() => new Node("a", "b@c"), RangeError);
  assert.throws(() => new Node("a", "b", "c d"), {
    name: "RangeError",
    message: 'Invalid node instance "c d": whitespace and control characters are not allowed',
  });
  assert.throws(() => new Node(undefined, undefined, "x"), {
    name: "RangeError",
    message: "Invalid node: a node needs a name or a domain",
  });
  assert.throws(() => new Node("a", "b", 3 as unknown as string), TypeError);
  assert.equal(new Node("a", "b", "c/d@e").instance, "c/d@e");
  assert.equal(new Node("", "b").name, undefined);
});

Deno.test("Node is immutable", () => {
  const node = Node.parse("a@b/c");
  assert.ok(Object.isFrozen(node));
  assert.throws(() => {
    (node as { instance?: string }).instance = "x";
  }, TypeError);
  assert.equal(node.toString(), "a@b/c");
});
