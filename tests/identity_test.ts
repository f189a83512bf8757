import assert from "node:assert/strict";
import { Identity } from "../src/identity.ts";
import { Node } from "../src/node.ts";

// §2.1 parsing rows: input → [name, domain]
const valid: [string, string | undefined, string | undefined][] = [
  ["name@domain.com", "name", "domain.com"],
  ["name", "name", undefined],
  ["@domain", undefined, "domain"],
  ["jesse@breakingbad.com", "jesse", "breakingbad.com"],
  ["Jesse@BreakingBad.COM", "Jesse", "BreakingBad.COM"],
  ["5511999999999@wa.gw.msging.net", "5511999999999", "wa.gw.msging.net"],
  ["abc%40xyz.com@tunnel.msging.net", "abc%40xyz.com", "tunnel.msging.net"],
  ["josé@exemplo.com.br", "josé", "exemplo.com.br"],
  // rule 5: what follows a `/` is the instance, ignored by Identity
  ["name@domain.com/instance", "name", "domain.com"],
  ["name@domain.com/", "name", "domain.com"],
  ["a@b/c/d", "a", "b"],
  ["a@b/c@d", "a", "b"],
  ["@domain/instance", undefined, "domain"],
  ["skyler/bedroom", "skyler", undefined],
];

for (const [input, name, domain] of valid) {
  Deno.test(`Identity.parse reads ${JSON.stringify(input)}`, () => {
    const identity = Identity.parse(input);
    assert.equal(identity.name, name);
    assert.equal(identity.domain, domain);
    assert.ok(Identity.tryParse(input)?.equals(identity));
  });
}

const invalid: [string, string][] = [
  ["", 'Invalid identity "": the string is empty'],
  ["@", 'Invalid identity "@": an identity needs a name or a domain'],
  ["@/instance", 'Invalid identity "@/instance": an identity needs a name or a domain'],
  ["/instance", 'Invalid identity "/instance": an identity needs a name or a domain'],
  ["name@", 'Invalid identity "name@": a domain must follow "@"'],
  ["name@/instance", 'Invalid identity "name@/instance": a domain must follow "@"'],
  ["a@b@c", 'Invalid identity "a@b@c": the domain must not contain "@"'],
  [
    " ",
    'Invalid identity " ": whitespace and control characters are not allowed (U+0020 at index 0)',
  ],
  [
    "john doe@x",
    'Invalid identity "john doe@x": whitespace and control characters are not allowed (U+0020 at index 4)',
  ],
  [
    "a@b\u0000",
    'Invalid identity "a@b\\u0000": whitespace and control characters are not allowed (U+0000 at index 3)',
  ],
];

for (const [input, message] of invalid) {
  Deno.test(`Identity.parse rejects ${JSON.stringify(input)}`, () => {
    assert.throws(() => Identity.parse(input), { name: "SyntaxError", message });
    assert.equal(Identity.tryParse(input), undefined);
  });
}

Deno.test("Identity.parse rejects blank strings of any whitespace", () => {
  for (const input of ["\t", "\n", "  ", "\u00a0", "\u2028", "\ufeff", "a@b\r\n"]) {
    assert.throws(() => Identity.parse(input), SyntaxError, JSON.stringify(input));
  }
});

Deno.test("Identity.parse throws TypeError for a non-string", () => {
  for (const value of [null, undefined, 42, {}, [], true]) {
    assert.throws(() => Identity.parse(value as unknown as string), TypeError);
  }
  assert.throws(() => Identity.parse(null as unknown as string), {
    message: "Cannot parse an identity from null: expected a string",
  });
});

Deno.test("Identity.tryParse returns undefined for non-strings and never throws", () => {
  for (const value of [null, undefined, 42, {}, [], Symbol("x"), "@", ""]) {
    assert.equal(Identity.tryParse(value), undefined);
  }
});

Deno.test("Identity.toString formats name@domain, name alone and @domain", () => {
  assert.equal(new Identity("name", "domain.com").toString(), "name@domain.com");
  assert.equal(new Identity("name").toString(), "name");
  assert.equal(new Identity("name", "").toString(), "name");
  assert.equal(new Identity(undefined, "domain.com").toString(), "@domain.com");
  assert.equal(new Identity("", "domain.com").toString(), "@domain.com");
  assert.equal(`${new Identity("a", "b")}`, "a@b");
});

Deno.test("Identity.toString round-trips through parse", () => {
  for (const input of ["name@domain.com", "name", "@domain", "Jesse@BreakingBad.COM", "josé@x"]) {
    assert.equal(Identity.parse(input).toString(), input);
    assert.equal(Identity.parse(Identity.parse(input).toString()).toString(), input);
  }
  assert.equal(Identity.parse("a@b/c/d").toString(), "a@b");
});

Deno.test("Identity.toJSON writes a JSON string", () => {
  const identity = Identity.parse("john@localhost");
  assert.equal(identity.toJSON(), "john@localhost");
  assert.equal(JSON.stringify({ identity }), '{"identity":"john@localhost"}');
  assert.equal(JSON.stringify(Identity.parse("@localhost")), '"@localhost"');
});

Deno.test("Identity.equals ignores case", () => {
  const identity = Identity.parse("Jesse@BreakingBad.com");
  assert.ok(identity.equals(Identity.parse("jesse@breakingbad.COM")));
  assert.ok(identity.equals("JESSE@BREAKINGBAD.COM"));
  assert.ok(new Identity("NAME").equals(new Identity("name")));
  assert.ok(!identity.equals("walter@breakingbad.com"));
  assert.ok(!identity.equals("jesse@breakingbad.org"));
});

Deno.test("Identity.equals matches an absent part only with an absent part", () => {
  assert.ok(!new Identity("name").equals(new Identity("name", "domain")));
  assert.ok(!new Identity("name", "domain").equals(new Identity("name")));
  assert.ok(!new Identity(undefined, "domain").equals(new Identity("domain")));
  assert.ok(!new Identity(undefined, "domain").equals("domain"));
  assert.ok(new Identity(undefined, "domain").equals("@domain"));
  assert.ok(new Identity("name", "").equals(new Identity("name")));
});

Deno.test("Identity.equals ignores an instance in a string, like lime-csharp", () => {
  assert.ok(Identity.parse("a@b").equals("a@b/c"));
});

Deno.test("Identity.equals is false for null, undefined, invalid strings and other objects", () => {
  const identity = Identity.parse("a@b");
  assert.ok(identity.equals(identity));
  assert.ok(!identity.equals(null));
  assert.ok(!identity.equals(undefined));
  assert.ok(!identity.equals("@"));
  assert.ok(!identity.equals(""));
  assert.ok(!identity.equals(Node.parse("a@b/c") as unknown as Identity));
  assert.ok(!identity.equals({ name: "a", domain: "b" } as unknown as Identity));
});

Deno.test("Identity constructor treats null and empty parts as absent", () => {
  const identity = new Identity(null as unknown as string, "domain");
  assert.equal(identity.name, undefined);
  assert.equal(new Identity("", "domain").name, undefined);
  assert.equal(new Identity("name", "").domain, undefined);
});

Deno.test("Identity constructor rejects invalid parts", () => {
  assert.throws(() => new Identity("a@b", "c"), {
    name: "RangeError",
    message:
      'Invalid identity name "a@b": "@", "/", whitespace and control characters are not allowed',
  });
  assert.throws(() => new Identity("a", "b/c"), RangeError);
  assert.throws(() => new Identity("a b", "c"), RangeError);
  assert.throws(() => new Identity("a", "c\n"), RangeError);
  assert.throws(() => new Identity(), {
    name: "RangeError",
    message: "Invalid identity: an identity needs a name or a domain",
  });
  assert.throws(() => new Identity("", ""), RangeError);
  assert.throws(() => new Identity(1 as unknown as string, "b"), TypeError);
});

Deno.test("Identity.toNode adds an instance", () => {
  const identity = Identity.parse("gale@breakingbad.com");
  const node = identity.toNode("lab");
  assert.ok(node instanceof Node);
  assert.equal(node.toString(), "gale@breakingbad.com/lab");
  assert.equal(identity.toNode().toString(), "gale@breakingbad.com");
  assert.equal(identity.toNode().instance, undefined);
  assert.equal(identity.toNode("").toString(), "gale@breakingbad.com/");
  assert.ok(node.identity.equals(identity));
});

Deno.test("Identity is immutable", () => {
  const identity = Identity.parse("a@b");
  assert.ok(Object.isFrozen(identity));
  assert.throws(() => {
    (identity as { name?: string }).name = "x";
  }, TypeError);
  assert.equal(identity.toString(), "a@b");
});
