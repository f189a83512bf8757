/**
 * Emits `checks.generated.ts`: one fast boolean check per named schema, straight-line code
 * compiled from the same spec as the explainer and the zod validators (or, for schemas with many
 * properties, a table of field checks walked once over the object's keys). The codec runs these
 * on every envelope and runs the explainer (`emit_explain.ts`) only to explain a failure. Size caps
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

/**
 * The function `e` (a check expression of `x`) amounts to when it is one call of a one-argument
 * check that refuses what is not its type: `checkX(x)`, or a string format (the format
 * predicates test `typeof` themselves).
 */
function unaryCheck(e: string): string | undefined {
  const format = /^\(typeof x === "string" && (\w+)\(x\)\)$/.exec(e);
  if (format && Object.values(FORMAT_CHECKS).includes(format[1])) return format[1];
  return /^(check\w+)\(x\)$/.exec(e)?.[1];
}

/** Format checks that live in `document_check.ts` (they consult the registry first). */
const DOCUMENT_CHECK_FORMATS = new Set(["isMediaTypeFast"]);

/** The shared field checks (in `document_check.ts`) of the field tables, by expression. */
const PLAIN_FIELD: Record<string, string> = {
  'typeof x === "string"': "isString",
  'typeof x === "boolean"': "isBoolean",
  "Number.isFinite(x)": "isFiniteNumber",
  "Number.isSafeInteger(x)": "isSafeInteger",
};

/**
 * Object schemas with at least this many properties are checked through a field table, one pass
 * over the keys the object has (`checkFields`), instead of one read per property of the schema.
 * Objects with many optional properties carry few of them, and JSON.parse gives them many hidden
 * classes, so each named read of an absent property went through a megamorphic inline cache
 * (Contact: 33 reads for the 5 to 9 fields a contact has). Smaller schemas (Message,
 * Notification: few shapes, every property usually there) read faster by name.
 */
const TABLE_MIN_PROPERTIES = 12;

class CheckCompiler {
  /** The check functions; `param` is `o` for object checks (narrowed by their first test). */
  readonly functions: {
    name: string;
    body: string[];
    docs: string;
    exported: boolean;
    param?: string;
  }[] = [];
  /** Field tables (property → field check name), emitted before the functions. */
  readonly tables: { name: string; entries: [string, string][] }[] = [];
  readonly fieldChecks = new Map<string, { name: string; uses: string }>();
  constructor(private readonly spec: SpecModel) {}

  /** The name of a field check for `e` (an expression of `x` and `o`), shared by expression. */
  fieldCheck(e: string, suggested: string): string {
    const plain = PLAIN_FIELD[e] ?? unaryCheck(e);
    if (plain) return plain;
    let found = this.fieldChecks.get(e);
    if (!found) {
      // A minimum names the check by what it checks; others are named by their first field.
      const minimum = /^\(Number\.isSafeInteger\(x\) && \(x as number\) >= (\d+)\)$/.exec(e);
      const name = minimum ? `integerAtLeast${minimum[1]}` : suggested;
      found = { name, uses: e };
      this.fieldChecks.set(e, found);
    }
    return found.name;
  }

  /** Emits the check of a large object schema through a field table; returns its name suffix. */
  tableObject(schema: Schema, name: string, exported: boolean): string {
    const fn = ident(name);
    const required = new Set(schema.required ?? []);
    const entries: [string, string][] = [];
    const after: string[] = [];
    for (const [key, prop] of Object.entries(schema.properties ?? {})) {
      const e = this.expr(prop, "x", `${name}_${key}`);
      const field = `${fn[0].toLowerCase()}${fn.slice(1)}${
        ident(key[0].toUpperCase() + key.slice(1))
      }`;
      entries.push([key, this.fieldCheck(e, field)]);
      if (required.has(key)) after.push(`o[${lit(key)}] != null`);
      const unless = prop["x-lime-required-unless"];
      if (unless) after.push(`(o[${lit(key)}] != null || o[${lit(unless)}] != null)`);
      for (const [k, v] of Object.entries(prop["x-lime-required-when"] ?? {})) {
        after.push(`(o[${lit(key)}] != null || o[${lit(k)}] !== ${lit(v)})`);
      }
    }
    this.tables.push({ name: `${fn}Fields`, entries });
    const body = after.length
      ? [`if (!checkFields(o, ${fn}Fields)) return false;`, `return ${after.join(" && ")};`]
      : [`return checkFields(o, ${fn}Fields);`];
    this.functions.push({ name: fn, body, docs: schema.description ?? name, exported, param: "o" });
    return fn;
  }

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
    if (Object.keys(schema.properties ?? {}).length >= TABLE_MIN_PROPERTIES) {
      return this.tableObject(schema, name, exported);
    }
    const fn = ident(name);
    const body = ["if (!isPlainObject(o)) return false;"];
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
      const unary = PLAIN_FIELD[e] ?? unaryCheck(e);
      if (unary && !unless && !prop["x-lime-required-when"]) {
        const optional = PLAIN_OPTIONAL[e];
        plain.push(
          required.has(key)
            ? `required(o[${lit(key)}], ${unary})`
            : optional
            ? `${optional}(o[${lit(key)}])`
            : `optional(o[${lit(key)}], ${unary})`,
        );
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
    this.functions.push({ name: fn, body, docs: schema.description ?? name, exported, param: "o" });
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

/**
 * The field table declarations, smaller tables first. A table that holds every entry of a smaller
 * one (Account and Contact hold ContactDocument's) is built on it and lists only the rest.
 */
function emitTables(tables: { name: string; entries: [string, string][] }[]): string[] {
  const sorted = [...tables].sort((a, b) => a.entries.length - b.entries.length);
  return sorted.map((table, i) => {
    const own = new Map(table.entries);
    let base: (typeof table) | undefined;
    for (const other of sorted.slice(0, i)) {
      if (
        other.entries.length < table.entries.length &&
        other.entries.every(([k, check]) => own.get(k) === check) &&
        other.entries.length > (base?.entries.length ?? 0)
      ) base = other;
    }
    const inBase = new Set(base?.entries.map(([k]) => k));
    const fields = table.entries.filter(([k]) => !inBase.has(k))
      .map(([k, check]) => `${/^[A-Za-z_$][\w$]*$/.test(k) ? k : lit(k)}: ${check}`);
    return `const ${table.name}: FieldTable = /* @__PURE__ */ fieldTable({ ${fields.join(", ")} }${
      base ? `, ${base.name}` : ""
    });`;
  });
}

/** Emits the checks file. */
export function emitChecks(spec: SpecModel): GeneratedFile {
  const compiler = new CheckCompiler(spec);
  for (const [name, schema] of spec.schemas) compiler.named(name, schema);
  const sf = newSourceFile("checks.generated.ts");
  // Import only the helpers the spec's checks call: which ones depends on the spec.
  const fieldChecks = [...compiler.fieldChecks.values()].map(({ name, uses }) =>
    `const ${name} = (x: unknown${
      /\bo\[/.test(uses) ? ", o: Record<string, unknown>" : ""
    }): boolean => ${uses};`
  );
  const tables = emitTables(compiler.tables);
  const bodies = [...compiler.functions.map((f) => f.body.join("\n")), ...tables]
    .join("\n") + fieldChecks.join("\n");
  const used = (name: string) => new RegExp(`\\b${name}\\b`).test(bodies);
  const formatImports = Object.values(FORMAT_CHECKS).filter((f) => !DOCUMENT_CHECK_FORMATS.has(f));
  const documentImports = [
    "checkAuthentication",
    "checkDocument",
    "checkDocuments",
    "isMapOf",
    "isPlainObject",
    "isStringMap",
    ...Object.values(PLAIN_OPTIONAL),
    ...Object.values(PLAIN_FIELD),
    "optional",
    "required",
    ...DOCUMENT_CHECK_FORMATS,
    "checkFields",
    "fieldTable",
  ];
  const enums = Object.keys(spec.enums).filter((n) => used(`${n}Values`));
  sf.addImportDeclaration({
    moduleSpecifier: "../formats.ts",
    namedImports: formatImports.filter(used).sort(),
  });
  sf.addImportDeclaration({
    moduleSpecifier: "../document_check.ts",
    namedImports: [
      ...documentImports.filter(used),
      ...(compiler.tables.length ? ["type FieldTable"] : []),
    ].sort(),
  });
  sf.addImportDeclaration({
    moduleSpecifier: "./enums.generated.ts",
    namedImports: enums.map((n) => `${n}Values as ${n}List`).sort(),
  });
  for (const name of enums) {
    sf.addStatements(`const ${name}Values: ReadonlySet<string> = new Set(${name}List);`);
  }
  sf.addStatements([...fieldChecks, ...tables]);
  for (const f of compiler.functions) {
    sf.addFunction({
      isExported: f.exported,
      name: `check${f.name}`,
      docs: [`Whether a value is a valid ${f.name}: ${f.docs}`],
      parameters: [{ name: f.param ?? "v", type: "unknown" }],
      returnType: "boolean",
      statements: f.body,
    });
  }
  const files = ["envelopes.json", "authentication.json", "enums.json", "documents/*.json"];
  const text = header("emit_checks.ts", files, "Fast validity checks of envelopes and documents.") +
    sf.getFullText();
  return { name: "checks.generated.ts", text };
}
