import assert from "node:assert/strict";
import { Identity } from "../src/identity.ts";
import { isPingUri, LimeUri } from "../src/lime_uri.ts";

// input → [toString, isRelative, path, query, owner]
const valid: [string, string, boolean, string, string | undefined, string | undefined][] = [
  ["/presence", "/presence", true, "/presence", undefined, undefined],
  ["/contacts?take=3", "/contacts?take=3", true, "/contacts", "take=3", undefined],
  [
    "lime://name@domain/path?query",
    "lime://name@domain/path?query",
    false,
    "/path",
    "query",
    "name@domain",
  ],
  [
    "lime://server@limeprotocol.org/presence",
    "lime://server@limeprotocol.org/presence",
    false,
    "/presence",
    undefined,
    "server@limeprotocol.org",
  ],
  [
    "lime://msging.net/accounts/john%40x.com",
    "lime://msging.net/accounts/john%40x.com",
    false,
    "/accounts/john%40x.com",
    undefined,
    "@msging.net",
  ],
  ["LIME://Name@Domain/Path", "LIME://Name@Domain/Path", false, "/Path", undefined, "Name@Domain"],
  ["lime://name@domain", "lime://name@domain", false, "/", undefined, "name@domain"],
  ["lime://name@domain/", "lime://name@domain", false, "/", undefined, "name@domain"],
  [
    "/contacts/john%40domain.com",
    "/contacts/john%40domain.com",
    true,
    "/contacts/john%40domain.com",
    undefined,
    undefined,
  ],
  ["/presence/", "/presence", true, "/presence", undefined, undefined],
  ["/presence///", "/presence", true, "/presence", undefined, undefined],
  ["/", "/", true, "/", undefined, undefined],
  ["/contacts?", "/contacts?", true, "/contacts", "", undefined],
  ["/contacts?x=/", "/contacts?x=", true, "/contacts", "x=", undefined],
  [
    "/lists/1/recipients?$take=20",
    "/lists/1/recipients?$take=20",
    true,
    "/lists/1/recipients",
    "$take=20",
    undefined,
  ],
  [
    "/groups/g@x.com/members",
    "/groups/g@x.com/members",
    true,
    "/groups/g@x.com/members",
    undefined,
    undefined,
  ],
  ["/x?ids[]=1&a=b", "/x?ids[]=1&a=b", true, "/x", "ids[]=1&a=b", undefined],
  ["/x#frag", "/x#frag", true, "/x", undefined, undefined],
  ["/x?q#frag", "/x?q#frag", true, "/x", "q", undefined],
  ["presence", "presence", true, "presence", undefined, undefined],
  ["a/b:c", "a/b:c", true, "a/b:c", undefined, undefined],
  ["?take=3", "?take=3", true, "", "take=3", undefined],
  ["/café/ação", "/café/ação", true, "/café/ação", undefined, undefined],
];

for (const [input, text, isRelative, path, query, owner] of valid) {
  Deno.test(`LimeUri.parse reads ${JSON.stringify(input)}`, () => {
    const uri = LimeUri.parse(input);
    assert.equal(uri.toString(), text);
    assert.equal(uri.isRelative, isRelative);
    assert.equal(uri.path, path);
    assert.equal(uri.query, query);
    assert.equal(uri.owner?.toString(), owner);
    assert.ok(LimeUri.tryParse(input)?.equals(uri));
  });
}

const invalid: [string, string][] = [
  ["", "the string is empty"],
  ["http://server@limeprotocol.org/presence", 'invalid URI scheme "http", expected "lime"'],
  ["urn:x", 'invalid URI scheme "urn", expected "lime"'],
  ["a:b", 'invalid URI scheme "a", expected "lime"'],
  ["\\x", "character U+005C at index 0 must be percent-encoded"],
  ["/a\\b", "character U+005C at index 2 must be percent-encoded"],
  [" ", "character U+0020 at index 0 must be percent-encoded"],
  ["/my contacts", "character U+0020 at index 3 must be percent-encoded"],
  ["/x\n", "character U+000A at index 2 must be percent-encoded"],
  ["/a<b>", "character U+003C at index 2 must be percent-encoded"],
  ["/a{b}", "character U+007B at index 2 must be percent-encoded"],
  ['/"x"', "character U+0022 at index 1 must be percent-encoded"],
  ["/100%", '"%" at index 4 does not start a %XX escape'],
  ["/a%zz", '"%" at index 2 does not start a %XX escape'],
  ["lime:x", 'expected "lime://" followed by an authority'],
  ["lime:///x", 'expected "lime://" followed by an authority'],
  ["lime://", 'expected "lime://" followed by an authority'],
  ["lime://a@b:5000/x", "the authority must be [name@]domain (no port, no IP literal)"],
  ["lime://a@b@c/x", "the authority must be [name@]domain (no port, no IP literal)"],
  ["lime://@b/x", "the authority must be [name@]domain (no port, no IP literal)"],
  ["lime://[::1]/x", "the authority must be [name@]domain (no port, no IP literal)"],
  ["//server/presence", 'a relative URI must not start with "//"'],
  ["//", 'a relative URI must not start with "//"'],
  ["1a:b", 'the first path segment must not contain ":"'],
  ["/a[0]", '"[" and "]" must be percent-encoded in a path'],
  ["lime://a@b/x]", '"[" and "]" must be percent-encoded in a path'],
  ["/a#b#c", '"#" must be percent-encoded inside a fragment'],
];

for (const [input, reason] of invalid) {
  Deno.test(`LimeUri.parse rejects ${JSON.stringify(input)}`, () => {
    assert.throws(() => LimeUri.parse(input), {
      name: "SyntaxError",
      message: `Invalid URI ${JSON.stringify(input)}: ${reason}`,
    });
    assert.equal(LimeUri.tryParse(input), undefined);
  });
}

Deno.test("LimeUri.parse throws TypeError for a non-string", () => {
  for (const value of [null, undefined, 1, {}, []]) {
    assert.throws(() => LimeUri.parse(value as unknown as string), TypeError);
    assert.equal(LimeUri.tryParse(value), undefined);
  }
});

Deno.test("LimeUri.toString trims trailing slashes and otherwise keeps the string", () => {
  assert.equal(LimeUri.parse("/contacts/").toString(), "/contacts");
  assert.equal(LimeUri.parse("/Contacts/John%40X.com").toString(), "/Contacts/John%40X.com");
  assert.equal(`${LimeUri.parse("lime://a@b/x/")}`, "lime://a@b/x");
});

Deno.test("LimeUri.toString round-trips through parse", () => {
  for (const [input, text] of valid) {
    const uri = LimeUri.parse(input);
    assert.equal(LimeUri.parse(uri.toString()).toString(), text);
    assert.ok(LimeUri.parse(uri.toString()).equals(uri));
  }
});

Deno.test("LimeUri.toJSON writes a JSON string", () => {
  const uri = LimeUri.parse("/presence/");
  assert.equal(uri.toJSON(), "/presence");
  assert.equal(JSON.stringify({ uri }), '{"uri":"/presence"}');
});

Deno.test("LimeUri.equals compares the strings ignoring case", () => {
  assert.ok(LimeUri.parse("/Presence").equals(LimeUri.parse("/presence")));
  assert.ok(LimeUri.parse("/presence/").equals("/PRESENCE"));
  assert.ok(LimeUri.parse("lime://A@B/x").equals("lime://a@b/X"));
  assert.ok(!LimeUri.parse("/presence").equals("/contacts"));
  assert.ok(!LimeUri.parse("/a%40b").equals("/a@b"));
  assert.ok(!LimeUri.parse("/presence").equals("lime://a@b/presence"));
  assert.ok(!LimeUri.parse("/contacts?take=3").equals("/contacts"));
});

Deno.test("LimeUri.equals is false for null, undefined and invalid strings", () => {
  const uri = LimeUri.parse("/presence");
  assert.ok(uri.equals(uri));
  assert.ok(!uri.equals(null));
  assert.ok(!uri.equals(undefined));
  assert.ok(!uri.equals("\\presence"));
  assert.ok(!uri.equals({ path: "/presence" } as unknown as LimeUri));
});

Deno.test("LimeUri.toAbsolute puts the owner identity in the authority", () => {
  const owner = Identity.parse("jesse@breakingbad.com");
  assert.equal(
    LimeUri.parse("/presence").toAbsolute(owner).toString(),
    "lime://jesse@breakingbad.com/presence",
  );
  const absolute = LimeUri.parse("/contacts?take=3").toAbsolute("jesse@breakingbad.com/home");
  assert.equal(absolute.toString(), "lime://jesse@breakingbad.com/contacts?take=3");
  assert.equal(absolute.isRelative, false);
  assert.equal(absolute.path, "/contacts");
  assert.equal(absolute.query, "take=3");
  assert.ok(absolute.owner?.equals(owner));
  assert.equal(LimeUri.parse("presence").toAbsolute(owner).toString(), `lime://${owner}/presence`);
  assert.equal(LimeUri.parse("?x=1").toAbsolute(owner).toString(), `lime://${owner}/?x=1`);
  assert.equal(LimeUri.parse("/").toAbsolute(owner).toString(), `lime://${owner}`);
  assert.equal(
    LimeUri.parse("/accounts").toAbsolute("@msging.net").toString(),
    "lime://msging.net/accounts",
  );
});

Deno.test("LimeUri.toAbsolute returns an absolute URI unchanged", () => {
  const uri = LimeUri.parse("lime://a@b/presence");
  assert.equal(uri.toAbsolute("c@d"), uri);
});

Deno.test("LimeUri.toAbsolute rejects owners that cannot be an authority", () => {
  const uri = LimeUri.parse("/presence");
  assert.throws(() => uri.toAbsolute("name"), {
    name: "RangeError",
    message: 'Invalid URI owner "name": the owner needs a domain',
  });
  assert.throws(() => uri.toAbsolute("a:b@c"), {
    name: "RangeError",
    message: 'Invalid URI owner "a:b@c": not a valid URI authority',
  });
  assert.throws(() => uri.toAbsolute("@"), SyntaxError);
  assert.throws(() => uri.toAbsolute(7 as unknown as string), TypeError);
});

Deno.test("LimeUri is immutable", () => {
  const uri = LimeUri.parse("/presence");
  assert.ok(Object.isFrozen(uri));
  assert.throws(() => {
    (uri as { isRelative: boolean }).isRelative = false;
  }, TypeError);
});

const pings: [string, boolean][] = [
  ["/ping", true],
  ["/PING", true],
  ["/Ping/", true],
  ["/ping?x=1", true],
  ["/ping#f", true],
  ["lime://golang@limeprotocol.org/ping", true],
  ["lime://a@b/ping?x", true],
  ["LIME://a@b/PING/", true],
  ["/pings", false],
  ["/ping/x", false],
  ["/ping/?x", false],
  ["/x/ping", false],
  ["ping", false],
  ["\\ping", false],
  ["/ping x", false],
  ["http://a@b/ping", false],
  ["lime://a@b", false],
  ["/presence", false],
  ["", false],
];

for (const [input, expected] of pings) {
  Deno.test(`isPingUri(${JSON.stringify(input)}) is ${expected}`, () => {
    assert.equal(isPingUri(input), expected);
    assert.equal(LimeUri.tryParse(input)?.path.toLowerCase() === "/ping", expected);
  });
}

Deno.test("isPingUri is false for a non-string", () => {
  assert.equal(isPingUri(undefined as unknown as string), false);
});
