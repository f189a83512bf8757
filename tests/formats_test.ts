import assert from "node:assert/strict";
import {
  isDateTimeString,
  isIdentityString,
  isLimeUriString,
  isMediaTypeString,
  isNodeString,
} from "../src/formats.ts";
import { Identity } from "../src/identity.ts";
import { isPingUri, LimeUri } from "../src/lime_uri.ts";
import { isJsonMediaType, MediaType } from "../src/media_type.ts";
import { Node } from "../src/node.ts";
import { DATE_TIME_PATTERN, NODE_PATTERN } from "../src/generated/formats.generated.ts";
import { mulberry32 } from "./prng.ts";

Deno.test("isNodeString accepts node strings", () => {
  for (
    const input of [
      "name@domain.com/instance",
      "name@domain.com",
      "name@domain.com/",
      "@domain",
      "name",
      "a@b/c/d",
      "skyler/bedroom",
    ]
  ) {
    assert.equal(isNodeString(input), true, input);
  }
});

Deno.test("isNodeString refuses invalid strings", () => {
  for (const input of ["", "@", "/x", "@/x", "a@", "a@b@c", " ", "a b", "a@b/c d", "a\u0000"]) {
    assert.equal(isNodeString(input), false, JSON.stringify(input));
  }
});

Deno.test("isIdentityString accepts identities and ignores an instance", () => {
  assert.equal(isIdentityString("john@localhost"), true);
  assert.equal(isIdentityString("@localhost"), true);
  assert.equal(isIdentityString("john"), true);
  assert.equal(isIdentityString("john@localhost/home"), true);
  assert.equal(isIdentityString("@"), false);
  assert.equal(isIdentityString(""), false);
  assert.equal(isIdentityString("john @localhost"), false);
});

Deno.test("isMediaTypeString accepts media types with parameters", () => {
  assert.equal(isMediaTypeString("text/plain"), true);
  assert.equal(isMediaTypeString("application/vnd.lime.collection+json"), true);
  assert.equal(isMediaTypeString("text/plain; charset=utf-8"), true);
  assert.equal(isMediaTypeString("text"), false);
  assert.equal(isMediaTypeString("a/b/c"), false);
  assert.equal(isMediaTypeString(""), false);
  assert.equal(isMediaTypeString("text/ plain"), false);
});

Deno.test("isLimeUriString accepts lime and relative URIs only", () => {
  assert.equal(isLimeUriString("/presence"), true);
  assert.equal(isLimeUriString("/contacts?take=3"), true);
  assert.equal(isLimeUriString("lime://name@domain/path?query"), true);
  assert.equal(isLimeUriString("/contacts/john%40domain.com"), true);
  assert.equal(isLimeUriString("http://server@limeprotocol.org/presence"), false);
  assert.equal(isLimeUriString("\\x"), false);
  assert.equal(isLimeUriString(""), false);
});

Deno.test("isDateTimeString accepts ISO-8601 dates and date-times", () => {
  for (
    const input of [
      "2014-12-26",
      "2014-12-26T12:00:00Z",
      "2014-12-26T12:00:00.123Z",
      "2014-12-26T12:00:00.0000000-03:00",
      "2014-12-26T12:00:00+0300",
      "2014-12-26T12:00Z",
      "2014-12-26 12:00:00",
      "2014-12-26t12:00:00z",
    ]
  ) {
    assert.equal(isDateTimeString(input), true, input);
  }
});

Deno.test("isDateTimeString refuses other strings", () => {
  for (
    const input of [
      "",
      "1",
      "now",
      "Fri, 26 Dec 2014 12:00:00 GMT",
      "2014-13-26",
      "2014-12-26T25:00:00Z",
      "2014-12-26T12:00:00Z ",
      "12/26/2014",
      "2014-12-26T",
    ]
  ) {
    assert.equal(isDateTimeString(input), false, JSON.stringify(input));
  }
});

Deno.test("format predicates are false for non-strings", () => {
  for (const value of [undefined, null, 1, {}, [], true]) {
    const v = value as unknown as string;
    assert.equal(isNodeString(v), false);
    assert.equal(isIdentityString(v), false);
    assert.equal(isMediaTypeString(v), false);
    assert.equal(isLimeUriString(v), false);
    assert.equal(isDateTimeString(v), false);
  }
});

// ------------------------------------------------------------------------------------------------
// Property-style agreement: predicate(s) ⇔ tryParse(s) !== undefined, on seeded random strings.

// deno-fmt-ignore
const TOKENS = [
  "a",
  "b",
  "Z",
  "x1",
  "é",
  "ü",
  "中",
  "😀",
  "\ud800",
  "json",
  "JSON",
  "text",
  "plain",
  "ping",
  "lime",
  "@",
  "@",
  "/",
  "/",
  "/",
  "+",
  ";",
  " ",
  "\t",
  "\n",
  "\u0000",
  "\u007f",
  "\u0085",
  "\u00a0",
  "\u2028",
  "\u200b",
  ":",
  "%",
  "%4",
  "%41",
  "%zz",
  "?",
  "#",
  "=",
  "&",
  ".",
  "-",
  "_",
  "~",
  "\\",
  '"',
  "<",
  "[",
  "]",
  "{",
  "'",
  "$",
  "!",
  "*",
  "(",
  ",",
  "0",
  "9",
];
const PREFIXES = ["", "", "", "/", "lime://", "lime://a@b", "LIME://c/", "http://", "a/", "@"];

function randomString(random: () => number): string {
  let s = PREFIXES[Math.floor(random() * PREFIXES.length)];
  const length = Math.floor(random() * 9);
  for (let i = 0; i < length; i++) s += TOKENS[Math.floor(random() * TOKENS.length)];
  return s;
}

function randomStrings(seed: number, count: number): string[] {
  const random = mulberry32(seed);
  return Array.from({ length: count }, () => randomString(random));
}

interface Tally {
  valid: number;
  invalid: number;
}

function agree(
  inputs: string[],
  predicate: (s: string) => boolean,
  parse: (s: string) => unknown,
): Tally {
  const tally = { valid: 0, invalid: 0 };
  for (const input of inputs) {
    const parsed = parse(input);
    assert.equal(predicate(input), parsed !== undefined, `disagree on ${JSON.stringify(input)}`);
    if (parsed === undefined) tally.invalid++;
    else tally.valid++;
  }
  return tally;
}

function assertBothKinds(tally: Tally, count: number): void {
  assert.ok(tally.valid > count / 20, `too few valid strings: ${JSON.stringify(tally)}`);
  assert.ok(tally.invalid > count / 20, `too few invalid strings: ${JSON.stringify(tally)}`);
}

const COUNT = 5000;

Deno.test("isNodeString agrees with Node.tryParse on generated strings", () => {
  const inputs = randomStrings(1, COUNT);
  assertBothKinds(agree(inputs, isNodeString, Node.tryParse), COUNT);
  for (const input of inputs) {
    const node = Node.tryParse(input);
    if (node === undefined) continue;
    assert.equal(node.toString(), input);
    assert.ok(Node.parse(node.toString()).equals(node));
    assert.ok(Identity.parse(input).equals(node.identity));
  }
});

Deno.test("isIdentityString agrees with Identity.tryParse on generated strings", () => {
  const inputs = randomStrings(2, COUNT);
  assertBothKinds(agree(inputs, isIdentityString, Identity.tryParse), COUNT);
  for (const input of inputs) {
    const identity = Identity.tryParse(input);
    if (identity === undefined) continue;
    assert.ok(Identity.parse(identity.toString()).equals(identity));
  }
});

Deno.test("isMediaTypeString agrees with MediaType.tryParse on generated strings", () => {
  const random = mulberry32(3);
  // deno-fmt-ignore
  const pieces = [
    "a", "b", "vnd.lime", "plain", "json", "JSON", "Json", "x-y", "é", "1", "+", "+", "+json",
    "/", ";", " ", "\t", "\u0000", "",
  ];
  const piece = () => {
    let s = "";
    for (let n = 1 + Math.floor(random() * 2); n > 0; n--) {
      s += pieces[Math.floor(random() * pieces.length)];
    }
    return s;
  };
  const inputs = randomStrings(4, COUNT).concat(
    // Plus as many shaped like type/subtype[+suffix][;params] to reach the interesting cases.
    Array.from(
      { length: COUNT },
      () => `${piece()}/${piece()}${random() < 0.3 ? `;${randomString(random)}` : ""}`,
    ),
  );
  assertBothKinds(agree(inputs, isMediaTypeString, MediaType.tryParse), COUNT);
  let json = 0;
  for (const input of inputs) {
    const mediaType = MediaType.tryParse(input);
    assert.equal(isJsonMediaType(input), mediaType?.isJson ?? false, JSON.stringify(input));
    if (mediaType?.isJson) json++;
    if (mediaType === undefined) continue;
    assert.ok(MediaType.parse(mediaType.toString()).equals(mediaType));
    assert.equal(MediaType.parse(mediaType.toString()).toString(), mediaType.toString());
  }
  assert.ok(json > COUNT / 50, `too few JSON media types: ${json}`);
});

Deno.test("isLimeUriString agrees with LimeUri.tryParse on generated strings", () => {
  const inputs = randomStrings(5, COUNT);
  assertBothKinds(agree(inputs, isLimeUriString, LimeUri.tryParse), COUNT);
  for (const input of inputs) {
    const uri = LimeUri.tryParse(input);
    assert.equal(isPingUri(input), uri?.path.toLowerCase() === "/ping", JSON.stringify(input));
    if (uri === undefined) continue;
    assert.equal(LimeUri.parse(uri.toString()).toString(), uri.toString());
    assert.ok(LimeUri.parse(uri.toString()).equals(uri));
  }
});

Deno.test("isPingUri agrees with LimeUri.path on generated ping-like strings", () => {
  const random = mulberry32(6);
  const around = ["", "/", "//", "?", "#", "x", " ", "%41", "\\"];
  const pick = (list: string[]) => list[Math.floor(random() * list.length)];
  let pings = 0;
  for (let i = 0; i < COUNT; i++) {
    const input = pick(["", "lime://a@b", "lime://b", "http://a"]) + pick(["", "/"]) +
      pick(["ping", "PING", "Ping", "pin"]) + pick(around) + pick(around);
    const expected = LimeUri.tryParse(input)?.path.toLowerCase() === "/ping";
    assert.equal(isPingUri(input), expected, JSON.stringify(input));
    if (expected) pings++;
  }
  assert.ok(pings > COUNT / 20, `too few pings: ${pings}`);
});

Deno.test("format predicates never throw on generated strings", () => {
  for (const input of randomStrings(7, COUNT)) {
    isNodeString(input);
    isIdentityString(input);
    isMediaTypeString(input);
    isLimeUriString(input);
    isDateTimeString(input);
    assert.equal(Node.tryParse(input)?.toString() ?? null, isNodeString(input) ? input : null);
  }
});

// ------------------------------------------------------------------------------------------------
// The fast paths (the cache of valid node strings, the plain ISO date-time) answer exactly what
// the regular expressions (and Date.parse) answer.

Deno.test("isNodeString answers like NODE_PATTERN on repeated and colliding strings", () => {
  const random = mulberry32(11);
  const names = ["joao", "maria", "5531988776655", "bot-x", "a", ""];
  const domains = ["msging.net", "limeprotocol.org", "b", ""];
  const inputs: string[] = [...randomStrings(12, COUNT)];
  for (let i = 0; i < COUNT; i++) {
    const node = `${names[i % names.length]}@${domains[i % domains.length]}/${
      Math.floor(random() * 50)
    }`;
    // The same string, then variants of it: one character changed (the cache samples five).
    inputs.push(node);
    const at = Math.floor(random() * node.length);
    for (const c of [" ", "@", "/", "x", "\u0000", "\u00a0"]) {
      inputs.push(node.slice(0, at) + c + node.slice(at + 1));
    }
  }
  for (let round = 0; round < 3; round++) {
    for (const input of inputs) {
      assert.equal(isNodeString(input), NODE_PATTERN.test(input), JSON.stringify(input));
      assert.equal(isIdentityString(input), NODE_PATTERN.test(input), JSON.stringify(input));
    }
  }
});

Deno.test("isNodeString refuses an invalid string in the slot of a valid one", () => {
  // Same length, same characters at the five sampled positions (0, 2, 4, 6, 8 of 9).
  assert.equal(isNodeString("abcdefghi"), true);
  assert.equal(isNodeString("abcdefghi"), true);
  assert.equal(isNodeString("a cdefghi"), false);
  assert.equal(isNodeString("a@c@efghi"), false);
  assert.equal(isNodeString("abcdefghi"), true);
  const long = `${"n".repeat(200)}@d`;
  assert.equal(isNodeString(long), true);
  assert.equal(isNodeString(`${long} `), false);
});

Deno.test("isDateTimeString answers like DATE_TIME_PATTERN and Date.parse", () => {
  const reference = (v: string) => DATE_TIME_PATTERN.test(v) && !Number.isNaN(Date.parse(v));
  const random = mulberry32(13);
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)];
  const two = (max: number) => String(Math.floor(random() * max)).padStart(2, "0");
  const inputs = [
    "2014-12-26",
    "2014-12-26T12:00:00.0000000-03:00",
    "2024-02-29T23:59:59.999Z",
    "2023-02-29T00:00:00Z",
    "2024-04-31",
    "2024-00-10",
    "2024-01-00",
    "2024-01-01T24:00:00Z",
    "2024-01-01T24:00Z",
    "2024-01-01T23:60Z",
    "2024-01-01T23:59:60Z",
    "2024-01-01T12:00:00.Z",
    "2024-01-01T12:00:00.1234567890Z",
    "2024-01-01T12:00+24:00",
    "2024-01-01T12:00+23:60",
    "0000-01-01T00:00:00Z",
    "9999-12-31T23:59:59.999+23:59",
  ];
  for (let i = 0; i < 20 * COUNT; i++) {
    let s = `${pick(["0000", "1970", "2024", "9999", "12345", "99"])}-${two(14)}-${two(33)}`;
    if (random() < 0.9) {
      s += `${pick(["T", "T", "t", " ", "X"])}${two(26)}:${two(62)}`;
      if (random() < 0.8) s += `:${two(63)}`;
      if (random() < 0.5) s += pick([".", ".1", ".123", ".1234567", ".123456789", ".1234567890"]);
      s += pick(["", "Z", "z", "+00:00", "-03:00", `+${two(26)}:${two(62)}`, "+0300", "+03", "-"]);
    }
    inputs.push(s);
  }
  let valid = 0;
  for (const input of inputs) {
    const expected = reference(input);
    assert.equal(isDateTimeString(input), expected, input);
    if (expected) valid++;
  }
  assert.ok(valid > inputs.length / 4 && valid < inputs.length * 3 / 4, `${valid} valid`);
});
