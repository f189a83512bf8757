/**
 * Emits `explain.generated.ts`: for every named schema, a function that says why a value fails
 * its fast check (`checks.generated.ts`): the first problem (JSON path and message), or undefined
 * exactly when the check accepts the value. It walks what the check walks and stops at the first
 * problem, so explaining a rejected envelope costs no more than rejecting it did; the codec uses
 * it instead of zod. Fields come first, then the cross-field rules (documents typed by a sibling,
 * authentication by scheme, required-unless/when), in the order the zod validators report them.
 * @module
 */
import { VariableDeclarationKind } from "ts-morph";
import type { Schema, SpecModel } from "./spec_model.ts";
import { refName, resolveShape } from "./spec_model.ts";
import { type GeneratedFile, header, ident, lit, newSourceFile } from "./emit_util.ts";
import { capArgs } from "./emit_checks.ts";

/** Per format: the test the fast check runs, what to call a valid value, and a describer. */
const FORMATS: Record<string, { test: string; what: string; describe?: string }> = {
  "node": {
    test: "isNodeString",
    what: "a node (name@domain/instance)",
    describe: "describeNodeProblem",
  },
  "identity": {
    test: "isIdentityString",
    what: "an identity (name@domain)",
    describe: "describeIdentityProblem",
  },
  "lime-uri": { test: "isLimeUriString", what: "a LIME URI", describe: "describeLimeUriProblem" },
  "media-type": {
    test: "isMediaTypeFast",
    what: "a media type (type/subtype)",
    describe: "describeMediaTypeProblem",
  },
  "date-time": { test: "isDateTimeString", what: "a date-time (ISO 8601)" },
};

/** Where each helper the generated code may call lives. */
const HELPERS: Record<string, string[]> = {
  "../formats.ts": [
    "describeLimeUriProblem",
    "describeMediaTypeProblem",
    "describeNodeProblem",
    "isDateTimeString",
    "isIdentityString",
    "isLimeUriString",
    "isNodeString",
  ],
  "../document_check.ts": ["isMediaTypeFast", "isPlainObject"],
  "../document_explain.ts": [
    "at",
    "describeIdentityProblem",
    "expected",
    "explainArray",
    "explainAuthenticationField",
    "explainBoolean",
    "explainDocumentField",
    "explainDocumentsField",
    "explainFormat",
    "explainInteger",
    "explainMapOf",
    "explainNumber",
    "explainObject",
    "explainOneOf",
    "explainRequiredUnless",
    "explainRequiredWhen",
    "explainString",
    "explainStringMap",
    "missing",
  ],
};

class ExplainCompiler {
  readonly functions: { name: string; body: string[]; docs: string; exported: boolean }[] = [];
  readonly formats = new Map<string, { name: string; body: string; docs: string }>();
  constructor(private readonly spec: SpecModel) {}

  /** What a valid value is, for the message of a missing required one. */
  what(schema: Schema): string {
    if (schema["x-lime-document"]) return "a document";
    if (schema.$ref) {
      const name = refName(schema.$ref);
      if (name in this.spec.enums) return this.what(this.spec.schemas.get(name)!);
      return this.what(resolveShape(schema, this.spec.schemas));
    }
    if (schema.enum) return `one of ${schema.enum.map((e) => lit(e)).join(", ")}`;
    switch (schema.type) {
      case "string":
        return schema.format ? FORMATS[schema.format].what : "a string";
      case "integer":
        return "an integer";
      case "number":
        return "a number";
      case "boolean":
        return "a boolean";
      case "array":
        return "an array";
      case "object":
        return "an object";
      default:
        return "a value";
    }
  }

  /** The name of the (emitted once) explainer of a string format. */
  format(format: string): string {
    const name = `explainFormat${
      format.split("-").map((w) => w[0].toUpperCase() + w.slice(1)).join("")
    }`;
    if (!this.formats.has(name)) {
      const f = FORMATS[format];
      this.formats.set(name, {
        name,
        docs: `Why a value is not ${f.what}.`,
        body: `return explainFormat(v, ${f.test}, ${lit(f.what)}${
          f.describe ? `, ${f.describe}` : ""
        });`,
      });
    }
    return name;
  }

  /** An expression (issue or undefined) explaining `x` against `schema`, as its check does. */
  expr(schema: Schema, x: string, where: string): string {
    if (schema["x-lime-documents"]) {
      // The array itself; its items are a cross-field rule (they depend on the sibling type).
      return `explainArray(${x}, undefined${capArgs([schema.maxItems])})`;
    }
    if (schema.$ref) {
      const name = refName(schema.$ref);
      return name in this.spec.enums
        ? `explainOneOf(${x}, ${name}Values)`
        : `explain${ident(name)}(${x})`;
    }
    if (schema.enum) return `explainOneOf(${x}, [${schema.enum.map((e) => lit(e)).join(", ")}])`;
    switch (schema.type) {
      case "string": {
        if (!schema.format) return `explainString(${x}${capArgs([schema.maxLength])})`;
        if (schema.maxLength === undefined) return `${this.format(schema.format)}(${x})`;
        const f = FORMATS[schema.format];
        return `explainFormat(${x}, ${f.test}, ${lit(f.what)}, ${
          f.describe ?? "undefined"
        }, ${schema.maxLength})`;
      }
      case "integer":
        return `explainInteger(${x}${capArgs([schema.minimum])})`;
      case "number":
        return `explainNumber(${x})`;
      case "boolean":
        return `explainBoolean(${x})`;
      case "array": {
        const item = schema.items
          ? `(i) => ${this.expr(schema.items, "i", `${where}[]`)}`
          : "undefined";
        return `explainArray(${x}, ${item}${capArgs([schema.maxItems])})`;
      }
      case "object": {
        if (schema.properties) return `explain${this.object(schema, where, false)}(${x})`;
        const values = schema.additionalProperties;
        const caps = [schema.maxProperties, schema.propertyNames?.maxLength];
        // The same split as the checks: the string map helper, the generic map, any object.
        if (values?.type === "string" && !values.format && !values.enum) {
          return `explainStringMap(${x}${capArgs([...caps, values.maxLength])})`;
        }
        return (values && Object.keys(values).length) || capArgs(caps)
          ? `explainMapOf(${x}, (i) => ${
            values ? this.expr(values, "i", `${where}{}`) : "undefined"
          }${capArgs(caps)})`
          : `explainObject(${x})`;
      }
      default:
        return "undefined";
    }
  }

  /** Emits the explainer of an object schema; returns its name suffix. */
  object(schema: Schema, name: string, exported: boolean): string {
    const fn = ident(name);
    const body = ['if (!isPlainObject(v)) return expected("an object", v);'];
    const properties = Object.entries(schema.properties ?? {});
    if (properties.length) {
      body.push("const o = v;", "let found: ExplainedIssue | undefined;");
    }
    const required = new Set(schema.required ?? []);
    const rules: string[] = [];
    for (const [key, prop] of properties) {
      const k = lit(key);
      if (prop["x-lime-document"]) {
        rules.push(
          `explainDocumentField(o, ${k}, ${lit(prop["x-lime-document"])}, ${required.has(key)})`,
        );
        continue;
      }
      if (prop["x-lime-authentication"]) {
        rules.push(`explainAuthenticationField(o, ${k}, ${lit(prop["x-lime-authentication"])})`);
        continue;
      }
      if (prop["x-lime-documents"]) {
        rules.push(`explainDocumentsField(o, ${k}, ${lit(prop["x-lime-documents"])})`);
      }
      for (const [other, value] of Object.entries(prop["x-lime-required-when"] ?? {})) {
        rules.push(
          `explainRequiredWhen(o, ${k}, ${lit(other)}, ${lit(value)}, ${lit(this.what(prop))})`,
        );
      }
      if (prop["x-lime-required-unless"]) {
        rules.push(
          `explainRequiredUnless(o, ${k}, ${lit(prop["x-lime-required-unless"])}, ${
            lit(this.what(prop))
          })`,
        );
      }
      const e = this.expr(prop, "x", `${name}_${key}`);
      body.push([
        `{\n  const x = o[${k}];`,
        required.has(key)
          ? `  if (x == null) return at(${k}, missing(${
            lit(this.what(prop))
          }, x));\n  if ((found = ${e})) return at(${k}, found);`
          : `  if (x != null && (found = ${e})) return at(${k}, found);`,
        "}",
      ].join("\n"));
    }
    for (const rule of rules) body.push(`if ((found = ${rule})) return found;`);
    body.push("return undefined;");
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

/** Emits the explainer file. */
export function emitExplain(spec: SpecModel): GeneratedFile {
  const compiler = new ExplainCompiler(spec);
  for (const [name, schema] of spec.schemas) compiler.named(name, schema);
  const sf = newSourceFile("explain.generated.ts");
  // Import only the helpers the spec's explainers call: which ones depends on the spec.
  const formats = [...compiler.formats.values()].sort((a, b) => a.name.localeCompare(b.name));
  const bodies = [
    ...compiler.functions.map((f) => f.body.join("\n")),
    ...formats.map((f) => f.body),
  ]
    .join("\n");
  const used = (name: string) => new RegExp(`\\b${name}\\b`).test(bodies);
  sf.addImportDeclaration({
    isTypeOnly: true,
    moduleSpecifier: "../document_types.ts",
    namedImports: ["Explain", "ExplainedIssue", "FieldReasons"],
  });
  for (const [module, names] of Object.entries(HELPERS)) {
    const imported = names.filter(used);
    if (imported.length) {
      sf.addImportDeclaration({ moduleSpecifier: module, namedImports: imported.sort() });
    }
  }
  const enums = Object.keys(spec.enums).filter((n) => used(`${n}Values`)).sort();
  if (enums.length) {
    sf.addImportDeclaration({
      moduleSpecifier: "./enums.generated.ts",
      namedImports: enums.map((n) => `${n}Values`),
    });
  }
  for (const f of formats) {
    sf.addFunction({
      name: f.name,
      docs: [f.docs],
      parameters: [{ name: "v", type: "unknown" }],
      returnType: "ExplainedIssue | undefined",
      statements: [f.body],
    });
  }
  for (const f of compiler.functions) {
    sf.addFunction({
      isExported: f.exported,
      name: `explain${f.name}`,
      docs: [
        `Why a value is not a valid ${f.name} (the first problem; undefined when valid): ${f.docs}`,
      ],
      parameters: [{ name: "v", type: "unknown" }],
      returnType: "ExplainedIssue | undefined",
      statements: f.body,
    });
  }
  // The explainer of every registry entry (document types, authentication schemes, envelope
  // kinds), by the entry's `name`: the registry itself does not import the explainer.
  const registered = [
    ...new Set([
      ...spec.documents.map((d) => d.name),
      ...Object.values(spec.schemes),
      ...spec.kinds.map((k) => k.definition),
    ]),
  ].sort();
  sf.addVariableStatement({
    isExported: true,
    declarationKind: VariableDeclarationKind.Const,
    docs: [
      "The explainer of each registry entry (document type, authentication scheme, envelope kind) by its `name`.",
    ],
    declarations: [{
      name: "EXPLAINERS",
      type: "Readonly<Record<string, Explain>>",
      initializer: `Object.freeze({\n${
        registered.map((n) => `  ${lit(n)}: explain${ident(n)},`).join("\n")
      }\n})`,
    }],
  });
  const reasons = spec.kinds.map((k) => {
    const props = spec.schemas.get(k.definition)!.properties ?? {};
    const entries = Object.entries(props)
      .filter(([, p]) => p["x-lime-reason"] !== undefined || p["x-lime-reason-empty"] !== undefined)
      .map(([key, p]) => {
        const invalid = p["x-lime-reason"] ?? 21;
        return `${lit(key)}: { invalid: ${invalid}, empty: ${
          p["x-lime-reason-empty"] ?? invalid
        } }`;
      });
    return `  ${k.kind}: Object.freeze({ ${entries.join(", ")} }),`;
  });
  // Only explaining a failure reads the field reason codes: here they stay out of what a
  // program that never explains (the browser client bundle) loads at once.
  sf.addVariableStatement({
    isExported: true,
    declarationKind: VariableDeclarationKind.Const,
    docs: [
      "Reason code of an invalid (or missing) envelope field, by kind and field; other fields give 21.",
    ],
    declarations: [{
      name: "FIELD_REASONS",
      type: "Readonly<Record<string, FieldReasons>>",
      initializer: `Object.freeze({\n${reasons.join("\n")}\n})`,
    }],
  });
  const files = ["envelopes.json", "authentication.json", "enums.json", "documents/*.json"];
  const text = header(
    "emit_explain.ts",
    files,
    "Explanations of invalid envelopes and documents: the first problem, found where the fast checks stop.",
  ) + sf.getFullText();
  return { name: "explain.generated.ts", text };
}
