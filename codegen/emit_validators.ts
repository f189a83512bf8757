/**
 * Emits `validators.generated.ts`: a zod schema value per named schema (`<Name>Schema`) and the
 * tables of them by media type, scheme and envelope kind. They are public API for users who want
 * zod schemas; the runtime decides validity with the fast checks and explains failures with the
 * generated explainer, so the decode path never loads zod.
 * @module
 */
import { type SourceFile, VariableDeclarationKind } from "ts-morph";
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
      const max = schema.maxLength === undefined ? "" : `.max(${schema.maxLength})`;
      return f ? `z.string()${max}.refine(${f[0]}, { message: ${lit(f[1])} })` : `z.string()${max}`;
    }
    case "integer":
      return schema.minimum === undefined ? "z.int()" : `z.int().min(${schema.minimum})`;
    case "number":
      return "z.number()";
    case "boolean":
      return "z.boolean()";
    case "array":
      return `z.array(${schema.items ? zod(schema.items, spec) : "z.unknown()"})${
        maxItems(schema)
      }`;
    case "object": {
      if (schema.properties) return objectSchema(schema, spec);
      const keyMax = schema.propertyNames?.maxLength;
      const key = keyMax === undefined ? "z.string()" : `z.string().max(${keyMax})`;
      const record = schema.additionalProperties && Object.keys(schema.additionalProperties).length
        ? `z.record(${key}, ${zod(schema.additionalProperties, spec)}.nullable())`
        : `z.record(${key}, z.unknown())`;
      // A size check that runs even when entries failed (`when`), so that the count is reported
      // whichever entry comes first: the fast check and the explainer stop at the cap.
      return schema.maxProperties === undefined ? record : `${record}.refine(
        (r) => hasAtMostEntries(r, ${schema.maxProperties}),
        { message: ${
        lit(`Too big: expected at most ${schema.maxProperties} entries`)
      }, when: whenObject },
      )`;
    }
    default:
      return "z.unknown()";
  }
}

function maxItems(schema: Schema): string {
  return schema.maxItems === undefined ? "" : `.max(${schema.maxItems})`;
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
      fields.push(
        `${lit(key)}: z.array(z.unknown())${maxItems(prop)}${isRequired ? "" : ".nullish()"}`,
      );
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

/**
 * The zod schemas by media type, scheme and envelope kind: the zod side of the registry (which
 * holds the fast checks and explainers, and does not import zod).
 */
function addTables(sf: SourceFile, spec: SpecModel): void {
  const docs = spec.documents.map((d) =>
    `  [${lit(d.mediaType.toLowerCase())}, ${ident(d.name)}Schema],`
  );
  sf.addVariableStatement({
    isExported: true,
    declarationKind: VariableDeclarationKind.Const,
    docs: ["zod schema of each registered document type, by lowercase media type."],
    declarations: [{
      name: "DOCUMENT_SCHEMAS",
      type: "ReadonlyMap<string, z.ZodType>",
      initializer: `new Map<string, z.ZodType>([\n${docs.join("\n")}\n])`,
    }],
  });
  const schemes = Object.entries(spec.schemes).map(([scheme, def]) =>
    `  [${lit(scheme)}, ${ident(def)}Schema],`
  );
  sf.addVariableStatement({
    isExported: true,
    declarationKind: VariableDeclarationKind.Const,
    docs: ["zod schema of the authentication object of each scheme."],
    declarations: [{
      name: "AUTHENTICATION_SCHEMAS",
      type: "ReadonlyMap<string, z.ZodType>",
      initializer: `new Map<string, z.ZodType>([\n${schemes.join("\n")}\n])`,
    }],
  });
  const kinds = spec.kinds.map((k) => `  ${k.kind}: ${ident(k.definition)}Schema,`);
  sf.addVariableStatement({
    isExported: true,
    declarationKind: VariableDeclarationKind.Const,
    docs: ["zod schema of each envelope kind."],
    declarations: [{
      name: "ENVELOPE_SCHEMAS",
      type: "Readonly<Record<string, z.ZodType>>",
      initializer: `Object.freeze({\n${kinds.join("\n")}\n})`,
    }],
  });
}

/** Emits the validators file. */
export function emitValidators(spec: SpecModel): GeneratedFile {
  const sf = newSourceFile("validators.generated.ts");
  sf.addImportDeclaration({ moduleSpecifier: ZOD_SPECIFIER, namedImports: ["z"] });
  sf.addImportDeclaration({
    moduleSpecifier: "../formats.ts",
    namedImports: Object.values(FORMAT_REFINES).map(([f]) => f).sort(),
  });
  const initializers = [...spec.schemas.values()].map((schema) => zod(schema, spec)).join("\n");
  const refineHelpers = [
    "hasAtMostEntries",
    "refineAuthentication",
    "refineDocument",
    "refineDocuments",
    "refineRequiredUnless",
    "refineRequiredWhen",
    "whenObject",
  ];
  sf.addImportDeclaration({
    moduleSpecifier: "../document_refine.ts",
    namedImports: refineHelpers.filter((name) => new RegExp(`\\b${name}\\b`).test(initializers)),
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
  addTables(sf, spec);
  const files = ["envelopes.json", "authentication.json", "enums.json", "documents/*.json"];
  const text = header("emit_validators.ts", files, "zod validators of envelopes and documents.") +
    sf.getFullText();
  return { name: "validators.generated.ts", text };
}
