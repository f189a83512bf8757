/**
 * Emits `validators.generated.ts`: a zod schema value per named schema (`<Name>Schema`). These
 * explain why a value is invalid (issue paths and messages); the fast checks decide validity.
 * @module
 */
import { VariableDeclarationKind } from "ts-morph";
import type { Schema, SpecModel } from "./spec_model.ts";
import { refName } from "./spec_model.ts";
import { type GeneratedFile, header, ident, lit, newSourceFile } from "./emit_util.ts";

/** The zod specifier used by generated code: full, so `src/` loads without an import map. */
export const ZOD_SPECIFIER = "npm:zod@4.6.7";

const FORMAT_REFINES: Record<string, [string, string]> = {
  "node": ["isNodeString", "Invalid node (name@domain/instance)"],
  "identity": ["isIdentityString", "Invalid identity (name@domain)"],
  "lime-uri": ["isLimeUriString", "Invalid LIME URI"],
  "media-type": ["isMediaTypeString", "Invalid media type (type/subtype)"],
  "date-time": ["isDateTimeString", "Invalid date"],
};

function zod(schema: Schema, spec: SpecModel): string {
  if (schema.$ref) return `${ident(refName(schema.$ref))}Schema`;
  if (schema.enum) return `z.enum([${schema.enum.map(lit).join(", ")}])`;
  switch (schema.type) {
    case "string": {
      const f = schema.format ? FORMAT_REFINES[schema.format] : undefined;
      return f ? `z.string().refine(${f[0]}, { message: ${lit(f[1])} })` : "z.string()";
    }
    case "integer":
      return schema.minimum === undefined ? "z.int()" : `z.int().min(${schema.minimum})`;
    case "number":
      return "z.number()";
    case "boolean":
      return "z.boolean()";
    case "array":
      return `z.array(${schema.items ? zod(schema.items, spec) : "z.unknown()"})`;
    case "object":
      if (schema.properties) return objectSchema(schema, spec);
      return schema.additionalProperties && Object.keys(schema.additionalProperties).length
        ? `z.record(z.string(), ${zod(schema.additionalProperties, spec)}.nullable())`
        : "z.record(z.string(), z.unknown())";
    default:
      return "z.unknown()";
  }
}

function objectSchema(schema: Schema, spec: SpecModel): string {
  const required = new Set(schema.required ?? []);
  const fields: string[] = [];
  const refines: string[] = [];
  for (const [key, prop] of Object.entries(schema.properties ?? {})) {
    const isRequired = required.has(key);
    if (prop["x-lime-document"]) {
      fields.push(`${lit(key)}: z.unknown().optional()`);
      refines.push(
        `refineDocument(o, ctx, ${lit(key)}, ${lit(prop["x-lime-document"])}, ${isRequired});`,
      );
      continue;
    }
    if (prop["x-lime-documents"]) {
      fields.push(`${lit(key)}: z.array(z.unknown())${isRequired ? "" : ".nullish()"}`);
      refines.push(`refineDocuments(o, ctx, ${lit(key)}, ${lit(prop["x-lime-documents"])});`);
      continue;
    }
    if (prop["x-lime-authentication"]) {
      fields.push(`${lit(key)}: z.unknown().optional()`);
      refines.push(
        `refineAuthentication(o, ctx, ${lit(key)}, ${lit(prop["x-lime-authentication"])});`,
      );
      continue;
    }
    for (const [k, v] of Object.entries(prop["x-lime-required-when"] ?? {})) {
      refines.push(`refineRequiredWhen(o, ctx, ${lit(key)}, ${lit(k)}, ${lit(v)});`);
    }
    if (prop["x-lime-required-unless"]) {
      refines.push(
        `refineRequiredUnless(o, ctx, ${lit(key)}, ${lit(prop["x-lime-required-unless"])});`,
      );
    }
    fields.push(`${lit(key)}: ${zod(prop, spec)}${isRequired ? "" : ".nullish()"}`);
  }
  const base = `z.looseObject({\n${fields.map((f) => `  ${f},`).join("\n")}\n})`;
  if (!refines.length) return base;
  return `${base}.superRefine((o, ctx) => {\n${refines.map((r) => `  ${r}`).join("\n")}\n})`;
}

/** Emits the validators file. */
export function emitValidators(spec: SpecModel): GeneratedFile {
  const sf = newSourceFile("validators.generated.ts");
  sf.addImportDeclaration({ moduleSpecifier: ZOD_SPECIFIER, namedImports: ["z"] });
  sf.addImportDeclaration({
    moduleSpecifier: "../formats.ts",
    namedImports: Object.values(FORMAT_REFINES).map(([f]) => f).sort(),
  });
  sf.addImportDeclaration({
    moduleSpecifier: "../document_refine.ts",
    namedImports: [
      "refineAuthentication",
      "refineDocument",
      "refineDocuments",
      "refineRequiredUnless",
      "refineRequiredWhen",
    ],
  });
  for (const [name, schema] of spec.schemas) {
    sf.addVariableStatement({
      isExported: true,
      declarationKind: VariableDeclarationKind.Const,
      docs: [`zod schema of ${name}: ${schema.description ?? name}`],
      declarations: [{
        name: `${ident(name)}Schema`,
        type: "z.ZodType",
        initializer: zod(schema, spec),
      }],
    });
  }
  const files = ["envelopes.json", "authentication.json", "enums.json", "documents/*.json"];
  const text = header("emit_validators.ts", files, "zod validators of envelopes and documents.") +
    sf.getFullText();
  return { name: "validators.generated.ts", text };
}
