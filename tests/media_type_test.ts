import assert from "node:assert/strict";
import { isJsonMediaType, MediaType } from "../src/media_type.ts";

// §2.5 rows: input → [type, subtype, suffix, toString, isJson]
const valid: [string, string, string, string | undefined, string, boolean][] = [
  ["text/plain", "text", "plain", undefined, "text/plain", false],
  ["application/json", "application", "json", undefined, "application/json", true],
  [
    "application/vnd.lime.collection+json",
    "application",
    "vnd.lime.collection",
    "json",
    "application/vnd.lime.collection+json",
    true,
  ],
  [
    "application/vnd.lime.identity",
    "application",
    "vnd.lime.identity",
    undefined,
    "application/vnd.lime.identity",
    false,
  ],
  ["image/png", "image", "png", undefined, "image/png", false],
  ["application/x+json", "application", "x", "json", "application/x+json", true],
  ["text/plain; charset=utf-8", "text", "plain", undefined, "text/plain", false],
  ["text/plain;charset=utf-8", "text", "plain", undefined, "text/plain", false],
  ["text/plain ; charset=utf-8", "text", "plain", undefined, "text/plain", false],
  ["application/json; charset=utf-8", "application", "json", undefined, "application/json", true],
  ["text/plain;", "text", "plain", undefined, "text/plain", false],
  ["text/unknown", "text", "unknown", undefined, "text/unknown", false],
  ["Application/JSON", "Application", "JSON", undefined, "Application/JSON", true],
  [
    "application/vnd.lime.ping+JSON",
    "application",
    "vnd.lime.ping",
    "JSON",
    "application/vnd.lime.ping+JSON",
    true,
  ],
  ["application/json+zip", "application", "json", "zip", "application/json+zip", true],
  ["a/b+c+d", "a", "b", "c+d", "a/b+c+d", false],
  ["a/b+c+json", "a", "b", "c+json", "a/b+c+json", false],
  ["application/jsonx", "application", "jsonx", undefined, "application/jsonx", false],
];

for (const [input, type, subtype, suffix, text, json] of valid) {
  Deno.test(`MediaType.parse reads ${JSON.stringify(input)}`, () => {
    const mediaType = MediaType.parse(input);
    assert.equal(mediaType.type, type);
    assert.equal(mediaType.subtype, subtype);
    assert.equal(mediaType.suffix, suffix);
    assert.equal(mediaType.toString(), text);
    assert.equal(mediaType.isJson, json);
    assert.equal(isJsonMediaType(input), json);
    assert.ok(MediaType.tryParse(input)?.equals(mediaType));
  });
}

const invalid: [string, string][] = [
  ["", "the string is empty"],
  ["text", 'expected exactly one "/" between type and subtype'],
  ["a/b/c", 'expected exactly one "/" between type and subtype'],
  ["text/plain/; charset=utf-8", 'expected exactly one "/" between type and subtype'],
  ["/plain", "the type is empty"],
  ["text/", "the subtype is empty"],
  ["text/+json", "the subtype is empty"],
  ["a/b+", 'a suffix must follow "+"'],
  ["a+b/c", 'the type must not contain "+"'],
  [" text/plain", "whitespace and control characters are not allowed (U+0020 at index 0)"],
  ["text/ plain", "whitespace and control characters are not allowed (U+0020 at index 5)"],
  ["text/plain ", "whitespace and control characters are not allowed (U+0020 at index 10)"],
  ["text/plain\n", "whitespace and control characters are not allowed (U+000A at index 10)"],
  ["text/plain;\u0000", "control characters are not allowed in parameters"],
  [";charset=utf-8", 'expected exactly one "/" between type and subtype'],
];

for (const [input, reason] of invalid) {
  Deno.test(`MediaType.parse rejects ${JSON.stringify(input)}`, () => {
    assert.throws(() => MediaType.parse(input), {
      name: "SyntaxError",
      message: `Invalid media type ${JSON.stringify(input)}: ${reason}`,
    });
    assert.equal(MediaType.tryParse(input), undefined);
    assert.equal(isJsonMediaType(input), false);
  });
}

Deno.test("MediaType.parse throws TypeError for a non-string", () => {
  for (const value of [null, undefined, 1, {}, []]) {
    assert.throws(() => MediaType.parse(value as unknown as string), TypeError);
    assert.equal(MediaType.tryParse(value), undefined);
    assert.equal(isJsonMediaType(value as unknown as string), false);
  }
});

Deno.test("MediaType.parse keeps case as written", () => {
  assert.equal(MediaType.parse("Text/Plain").toString(), "Text/Plain");
});

Deno.test("MediaType.equals ignores case", () => {
  const mediaType = MediaType.parse("application/vnd.lime.collection+json");
  assert.ok(mediaType.equals(MediaType.parse("APPLICATION/VND.LIME.COLLECTION+JSON")));
  assert.ok(mediaType.equals("Application/Vnd.Lime.Collection+Json"));
  assert.ok(MediaType.parse("text/plain").equals("TEXT/PLAIN"));
});

Deno.test("MediaType.equals ignores parameters", () => {
  assert.ok(MediaType.parse("text/plain; charset=utf-8").equals("text/plain"));
  assert.ok(MediaType.parse("text/plain").equals("text/plain;charset=us-ascii"));
});

Deno.test("MediaType.equals matches an absent suffix only with an absent suffix", () => {
  assert.ok(!MediaType.parse("application/x").equals("application/x+json"));
  assert.ok(!MediaType.parse("application/x+json").equals("application/x"));
  assert.ok(!MediaType.parse("application/json").equals("application/x+json"));
});

Deno.test("MediaType.equals is false for null, undefined, invalid strings and other types", () => {
  const mediaType = MediaType.parse("text/plain");
  assert.ok(mediaType.equals(mediaType));
  assert.ok(!mediaType.equals(null));
  assert.ok(!mediaType.equals(undefined));
  assert.ok(!mediaType.equals("text"));
  assert.ok(!mediaType.equals("text/html"));
  assert.ok(!mediaType.equals("image/plain"));
  assert.ok(!mediaType.equals({ type: "text", subtype: "plain" } as unknown as MediaType));
});

Deno.test("MediaType.toString round-trips through parse", () => {
  for (const [input, , , , text] of valid) {
    const mediaType = MediaType.parse(input);
    assert.equal(MediaType.parse(mediaType.toString()).toString(), text);
    assert.ok(MediaType.parse(mediaType.toString()).equals(mediaType));
  }
});

Deno.test("MediaType.toJSON writes a JSON string", () => {
  const mediaType = MediaType.parse("application/vnd.lime.presence+json; charset=utf-8");
  assert.equal(mediaType.toJSON(), "application/vnd.lime.presence+json");
  assert.equal(
    JSON.stringify({ type: mediaType }),
    '{"type":"application/vnd.lime.presence+json"}',
  );
});

Deno.test("MediaType.isJson is true for a json suffix or subtype only", () => {
  assert.equal(MediaType.parse("application/json").isJson, true);
  assert.equal(MediaType.parse("application/x+json").isJson, true);
  assert.equal(MediaType.parse("application/vnd.lime.identity").isJson, false);
  assert.equal(MediaType.parse("text/plain").isJson, false);
  assert.equal(MediaType.parse("image/png").isJson, false);
  assert.equal(MediaType.parse("text/json").isJson, true);
  assert.equal(MediaType.parse("application/vnd.json.x").isJson, false);
});

Deno.test("MediaType constants are text/plain and application/json", () => {
  assert.equal(MediaType.TEXT_PLAIN.toString(), "text/plain");
  assert.equal(MediaType.TEXT_PLAIN.isJson, false);
  assert.equal(MediaType.APPLICATION_JSON.toString(), "application/json");
  assert.equal(MediaType.APPLICATION_JSON.isJson, true);
  assert.ok(Object.isFrozen(MediaType.TEXT_PLAIN));
  assert.ok(MediaType.APPLICATION_JSON.equals("application/json; charset=utf-8"));
});

Deno.test("MediaType constructor validates its parts", () => {
  assert.equal(new MediaType("application", "x", "json").toString(), "application/x+json");
  assert.equal(new MediaType("application", "x", "").suffix, undefined);
  assert.throws(() => new MediaType("", "plain"), {
    name: "RangeError",
    message: "Invalid media type: the type and the subtype are required",
  });
  assert.throws(() => new MediaType("text", ""), RangeError);
  assert.throws(() => new MediaType("text/x", "plain"), {
    name: "RangeError",
    message:
      'Invalid media type type "text/x": "/", "+", ";", whitespace and control characters are not allowed',
  });
  assert.throws(() => new MediaType("text", "a+b"), RangeError);
  assert.throws(() => new MediaType("text", "plain", "a;b"), RangeError);
  assert.throws(() => new MediaType(1 as unknown as string, "plain"), TypeError);
});

Deno.test("isJsonMediaType agrees with MediaType.isJson", () => {
  const inputs = [
    "application/json",
    "APPLICATION/JSON",
    "application/x+json",
    "application/x+Json;a=b",
    "application/json+x",
    "application/x+jsonx",
    "application/xjson",
    "application/x+c+json",
    "json/plain",
    "application/json/x",
    "application/json ",
    "application/json ;x",
    "+json",
    "a/+json",
  ];
  for (const input of inputs) {
    assert.equal(
      isJsonMediaType(input),
      MediaType.tryParse(input)?.isJson ?? false,
      JSON.stringify(input),
    );
  }
});
