/**
 * Emits `types.generated.ts`: TypeScript types of the envelopes, authentication objects and
 * documents, rendered by quicktype-core from the spec's JSON Schemas. Enumerations are imported
 * from `enums.generated.ts` instead of being rendered again, and `any` becomes `unknown`.
 * @module
 */
import { FetchingJSONSchemaStore, InputData, JSONSchemaInput, quicktype } from "quicktype-core";
import { SyntaxKind } from "ts-morph";
import { capsNote, refName, type Schema, type SpecModel } from "./spec_model.ts";
import { type GeneratedFile, header, newSourceFile } from "./emit_util.ts";

const ROOT = "QuicktypeRoot";

const pascal = (s: string) => s[0].toUpperCase() + s.slice(1);

/** A schema's description followed by its size caps, if any. */
function describe(schema: Schema): string | undefined {
  const caps = capsNote(schema);
  if (!caps) return schema.description;
  return schema.description ? `${schema.description} ${caps}` : caps;
}

/**
 * The schema as quicktype should see it: no formats, closed objects, documents as unknown, and
 * inline enumerations hoisted into `hoisted` under `<Owner><Property>` names.
 */
function forQuicktype(
  schema: Schema,
  owner: string,
  hoisted: Map<string, Record<string, unknown>>,
): Record<string, unknown> {
  if (schema.enum && owner.includes(".")) {
    const name = owner.split(".").map(pascal).join("");
    hoisted.set(name, { type: "string", enum: schema.enum, description: schema.description });
    return { $ref: `#/definitions/${name}` };
  }
  if (schema["x-lime-document"]) return { description: schema.description };
  if (schema["x-lime-documents"]) {
    return { type: "array", items: {}, description: schema.description };
  }
  if (schema["x-lime-authentication"]) {
    return { type: "object", additionalProperties: {}, description: schema.description };
  }
  if (schema.$ref) return { $ref: schema.$ref };
  const out: Record<string, unknown> = {};
  if (schema.type) out.type = schema.type;
  const description = describe(schema);
  if (description) out.description = description;
  if (schema.enum) out.enum = schema.enum;
  if (schema.items) out.items = forQuicktype(schema.items, owner, hoisted);
  if (schema.type === "object") {
    if (schema.properties) {
      out.properties = Object.fromEntries(
        Object.entries(schema.properties).map((
          [k, v],
        ) => [k, forQuicktype(v, `${owner}.${k}`, hoisted)]),
      );
      if (schema.required) out.required = schema.required;
      out.additionalProperties = false;
    } else {
      out.additionalProperties = schema.additionalProperties
        ? forQuicktype(schema.additionalProperties, owner, hoisted)
        : {};
    }
  }
  return out;
}

/** Emits the types file. */
export async function emitTypes(spec: SpecModel): Promise<GeneratedFile> {
  const hoisted = new Map<string, Record<string, unknown>>();
  const definitions = Object.fromEntries(
    [...spec.schemas].map(([n, s]) => [n, forQuicktype(s, n, hoisted)]),
  );
  for (const [name, schema] of hoisted) {
    if (name in definitions) throw new Error(`Hoisted enum name ${name} clashes with a spec name`);
    definitions[name] = schema;
  }
  const enumNames = new Set(Object.keys(spec.enums));
  const topLevel = [...spec.schemas].filter(([n, s]) => !enumNames.has(n) && s.type !== "string")
    .map(([n]) => n);
  // One root that references every named schema, so that quicktype resolves each reference once
  // and names every type after its definition; the root itself is dropped below.
  const root = {
    type: "object",
    properties: Object.fromEntries(topLevel.map((n) => [n, { $ref: `#/definitions/${n}` }])),
    required: topLevel,
    additionalProperties: false,
    definitions,
  };
  const input = new JSONSchemaInput(new FetchingJSONSchemaStore());
  await input.addSource({ name: ROOT, schema: JSON.stringify(root) });
  const inputData = new InputData();
  inputData.addInput(input);
  const result = await quicktype({
    inputData,
    lang: "typescript",
    rendererOptions: {
      "just-types": "true",
      "prefer-unions": "true",
      "acronym-style": "original" as never,
    },
    inferEnums: false,
    combineClasses: false,
    alphabetizeProperties: false,
  });

  const sf = newSourceFile("types.generated.ts");
  sf.addStatements(result.lines.join("\n"));
  const declared = new Set([...sf.getInterfaces(), ...sf.getTypeAliases()].map((d) => d.getName()));
  for (const [name, schema] of spec.schemas) {
    if (declared.has(name) || enumNames.has(name)) continue;
    let type = "string";
    if (schema.$ref) type = refName(schema.$ref);
    else if (schema.additionalProperties?.type === "string") type = "Record<string, string | null>";
    else if (schema.type === "object") type = "Record<string, unknown>";
    sf.addTypeAlias({ isExported: true, name, type, docs: [describe(schema) ?? name] });
  }
  for (const node of sf.getDescendantsOfKind(SyntaxKind.AnyKeyword).reverse()) {
    node.replaceWithText("unknown");
  }
  sf.getInterfaceOrThrow(ROOT).remove();
  const usedEnums = new Set<string>();
  for (const alias of sf.getTypeAliases()) {
    if (enumNames.has(alias.getName())) {
      usedEnums.add(alias.getName());
      alias.remove();
    }
  }
  for (const decl of [...sf.getInterfaces(), ...sf.getTypeAliases()]) {
    decl.setIsExported(true);
    if (decl.getJsDocs().length === 0) {
      const d = spec.schemas.get(decl.getName())?.description ?? `The ${decl.getName()} shape.`;
      decl.addJsDoc(d);
    }
  }
  for (const i of sf.getInterfaces()) {
    for (const p of i.getProperties()) {
      if (p.getJsDocs().length === 0) p.addJsDoc(`The ${p.getName()} property.`);
    }
  }
  if (usedEnums.size) {
    sf.insertImportDeclaration(0, {
      isTypeOnly: true,
      moduleSpecifier: "./enums.generated.ts",
      namedImports: [...usedEnums].sort(),
    });
  }
  const files = ["envelopes.json", "authentication.json", "enums.json", "documents/*.json"];
  return {
    name: "types.generated.ts",
    text: header("emit_types.ts (quicktype-core)", files, "Types of envelopes and documents.") +
      "// deno-lint-ignore-file no-empty-interface\n" + sf.getFullText(),
  };
}
