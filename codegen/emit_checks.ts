/**
 * Emits `checks.generated.ts`: one fast boolean check per named schema, straight-line code
 * compiled from the same spec as the explainer and the zod validators. The codec runs these on
 * every envelope and runs the explainer (`emit_explain.ts`) only to explain a failure. Size caps
 * (`maxLength`, `maxItems`, `maxProperties`, `propertyNames.maxLength`) are checked in the same
 * pass: map entries are counted in the loop that checks them.
 * @module
 */
import type { Schema, SpecModel } from "./spec_model.ts";
import { refName } from "./spec_model.ts";
import { type GeneratedFile, header, ident, lit, newSourceFile } from "./emit_util.ts";

const FORMAT_CHECKS: Record<string, string> = {
  "node": "isNodeString",
  "identity": "isIdentityString",
  "lime-uri": "isLimeUriString",
  "media-type": "isMediaTypeFast",
  "date-time": "isDateTimeString",
};

/**
 * Trailing arguments for optional numeric caps: absent caps in the middle become `Infinity`,
 * absent caps at the end are left out. Shared with the explainer emitter.
 */
export function capArgs(caps: (number | undefined)[]): string {
  let end = caps.length;
  while (end > 0 && caps[end - 1] === undefined) end--;
  return caps.slice(0, end).map((c) => `, ${c ?? "Infinity"}`).join("");
}

/** The helpers (in `document_check.ts`) for an optional field of a plain type, by its check. */
const PLAIN_OPTIONAL: Record<string, string> = {
  'typeof x === "string"': "optString",
  'typeof x === "boolean"': "optBoolean",
  "Number.isFinite(x)": "optNumber",
  "Number.isSafeInteger(x)": "optInteger",
};

/** Format checks that live in `document_check.ts` (they consult the registry first). */
const DOCUMENT_CHECK_FORMATS = new Set(["isMediaTypeFast"]);

class CheckCompiler {
  readonly functions: { name: string; body: string[]; docs: string; exported: boolean }[] = [];
  constructor(private readonly spec: SpecModel) {}

  /** A boolean expression that checks `x` against `schema`; `o` is the enclosing object. */
  expr(schema: Schema, x: string, where: string): string {
    if (schema["x-lime-document"]) {
      return `checkDocument(o[${lit(schema["x-lime-document"])}], ${x})`;
    }
    if (schema["x-lime-documents"]) {
      const max = schema.maxItems === undefined ? "" : ` && ${x}.length <= ${schema.maxItems}`;
      return `Array.isArray(${x})${max} && checkDocuments(o[${
        lit(schema["x-lime-documents"])
      }], ${x})`;
    }
    if (schema["x-lime-authentication"]) {
      return `checkAuthentication(o[${lit(schema["x-lime-authentication"])}], ${x})`;
    }
    if (schema.$ref) {
      const name = refName(schema.$ref);
      return name in this.spec.enums
        ? `${name}Values.has(${x} as string)`
        : `check${ident(name)}(${x})`;
    }
    if (schema.enum) return `(${schema.enum.map((e) => `${x} === ${lit(e)}`).join(" || ")})`;
    switch (schema.type) {
      case "string": {
        const format = schema.format ? FORMAT_CHECKS[schema.format] : undefined;
        const max = schema.maxLength === undefined
          ? ""
          : ` && (${x} as string).length <= ${schema.maxLength}`;
        return format || max
          ? `(typeof ${x} === "string"${max}${format ? ` && ${format}(${x})` : ""})`
          : `typeof ${x} === "string"`;
      }
      case "integer":
        return schema.minimum === undefined
          ? `Number.isSafeInteger(${x})`
          : `(Number.isSafeInteger(${x}) && (${x} as number) >= ${schema.minimum})`;
      case "number":
        return `Number.isFinite(${x})`;
      case "boolean":
        return `typeof ${x} === "boolean"`;
      case "array": {
        const max = schema.maxItems === undefined
          ? ""
          : ` && (${x} as unknown[]).length <= ${schema.maxItems}`;
        return schema.items
          ? `(Array.isArray(${x})${max} && (${x} as unknown[]).every((i) => ${
            this.expr(schema.items, "i", `${where}[]`)
          }))`
          : `(Array.isArray(${x})${max})`;
      }
      case "object": {
        if (schema.properties) return `check${this.object(schema, `${where}`, false)}(${x})`;
        const values = schema.additionalProperties;
        const caps = [schema.maxProperties, schema.propertyNames?.maxLength];
        // The common string map (metadata, extras) gets a closure-free helper that counts the
        // entries and checks key and value lengths in its one loop.
        if (values?.type === "string" && !values.format && !values.enum) {
          return `isStringMap(${x}${capArgs([...caps, values.maxLength])})`;
        }
        return (values && Object.keys(values).length) || capArgs(caps)
          ? `isMapOf(${x}, (i) => ${values ? this.expr(values, "i", `${where}{}`) : "true"}${
            capArgs(caps)
          })`
          : `isPlainObject(${x})`;
      }
      default:
        return "true";
    }
  }

  /** Emits the check function of an object schema; returns its name suffix. */
  object(schema: Schema, name: string, exported: boolean): string {
    const fn = ident(name);
    const body = [
      'if (typeof v !== "object" || v === null || Array.isArray(v)) return false;',
    ];
    if (Object.keys(schema.properties ?? {}).length) {
      body.push("const o = v as Record<string, unknown>;");
    }
    const required = new Set(schema.required ?? []);
    // Optional fields of a plain type go through one tiny helper each, chained in one test: the
    // same work once V8 inlines them, in a third of the code (the browser bundle's budget).
    const plain: string[] = [];
    const flushPlain = () => {
      if (plain.length) body.push(`if (!(${plain.join(" && ")})) return false;`);
      plain.length = 0;
    };
    for (const [key, prop] of Object.entries(schema.properties ?? {})) {
      const e = this.expr(prop, "x", `${name}_${key}`);
      const unless = prop["x-lime-required-unless"];
      const helper = PLAIN_OPTIONAL[e];
      if (
        helper && !required.has(key) && !unless && !prop["x-lime-required-when"]
      ) {
        plain.push(`${helper}(o[${lit(key)}])`);
        continue;
      }
      flushPlain();
      body.push([
        `{\n  const x = o[${lit(key)}];`,
        required.has(key)
          ? `  if (x == null || !(${e})) return false;`
          : `  if (x != null && !(${e})) return false;`,
        ...(unless ? [`  if (x == null && o[${lit(unless)}] == null) return false;`] : []),
        ...Object.entries(prop["x-lime-required-when"] ?? {}).map(([k, v]) =>
          `  if (x == null && o[${lit(k)}] === ${lit(v)}) return false;`
        ),
        "}",
      ].join("\n"));
    }
    flushPlain();
    body.push("return true;");
    this.functions.push({ name: fn, body, docs: schema.description ?? name, exported });
    return fn;
  }

  named(name: string, schema: Schema): void {
    if (name in this.spec.enums) return;
    if (schema.type === "object" && schema.properties) {
      this.object(schema, name, true);
      return;
    }
    this.functions.push({
      name: ident(name),
      body: [`return ${this.expr(schema, "v", name)};`],
      docs: schema.description ?? name,
      exported: true,
    });
  }
}

/** Emits the checks file. */
export function emitChecks(spec: SpecModel): GeneratedFile {
  const compiler = new CheckCompiler(spec);
  for (const [name, schema] of spec.schemas) compiler.named(name, schema);
  const sf = newSourceFile("checks.generated.ts");
  // Import only the helpers the spec's checks call: which ones depends on the spec.
  const bodies = compiler.functions.map((f) => f.body.join("\n")).join("\n");
  const used = (name: string) => bodies.includes(`${name}(`) || bodies.includes(`${name}.`);
  const formatImports = Object.values(FORMAT_CHECKS).filter((f) => !DOCUMENT_CHECK_FORMATS.has(f));
  const documentImports = [
    "checkAuthentication",
    "checkDocument",
    "checkDocuments",
    "isMapOf",
    "isPlainObject",
    "isStringMap",
    ...Object.values(PLAIN_OPTIONAL),
    ...DOCUMENT_CHECK_FORMATS,
  ];
  const enums = Object.keys(spec.enums).filter((n) => used(`${n}Values`));
  sf.addImportDeclaration({
    moduleSpecifier: "../formats.ts",
    namedImports: formatImports.filter(used).sort(),
  });
  sf.addImportDeclaration({
    moduleSpecifier: "../document_check.ts",
    namedImports: documentImports.filter(used).sort(),
  });
  sf.addImportDeclaration({
    moduleSpecifier: "./enums.generated.ts",
    namedImports: enums.map((n) => `${n}Values as ${n}List`).sort(),
  });
  for (const name of enums) {
    sf.addStatements(`const ${name}Values: ReadonlySet<string> = new Set(${name}List);`);
  }
  for (const f of compiler.functions) {
    sf.addFunction({
      isExported: f.exported,
      name: `check${f.name}`,
      docs: [`Whether a value is a valid ${f.name}: ${f.docs}`],
      parameters: [{ name: "v", type: "unknown" }],
      returnType: "boolean",
      statements: f.body,
    });
  }
  const files = ["envelopes.json", "authentication.json", "enums.json", "documents/*.json"];
  const text = header("emit_checks.ts", files, "Fast validity checks of envelopes and documents.") +
    sf.getFullText();
  return { name: "checks.generated.ts", text };
}
