/**
 * Emits `registry.generated.ts`: the document registry (media type → name, JSON or string, fast
 * check), the authentication registry (scheme → check) and the envelope kinds (tell-apart key,
 * check); the reason code of each envelope field is in `explain.generated.ts`, with its only user. It imports neither the explainer (its table,
 * `EXPLAINERS`, is in `explain.generated.ts`, so a program that never explains a failure, like
 * the browser client bundle, does not load it) nor zod (`validators.generated.ts`).
 * @module
 */
import { VariableDeclarationKind } from "ts-morph";
import type { SpecModel } from "./spec_model.ts";
import { type GeneratedFile, header, ident, lit, newSourceFile } from "./emit_util.ts";

/** Emits the registry file. */
export function emitRegistry(spec: SpecModel): GeneratedFile {
  const sf = newSourceFile("registry.generated.ts");
  const names = new Set<string>([
    ...spec.documents.map((d) => d.name),
    ...Object.values(spec.schemes),
    ...spec.kinds.map((k) => k.definition),
  ]);
  const sorted = [...names].sort();
  sf.addImportDeclaration({
    isTypeOnly: true,
    moduleSpecifier: "../document_types.ts",
    namedImports: [
      "AuthenticationEntry",
      "Check",
      "DocumentEntry",
      "EnvelopeKindEntry",
    ],
  });
  sf.addImportDeclaration({
    moduleSpecifier: "./checks.generated.ts",
    namedImports: sorted.map((n) => `check${ident(n)}`),
  });

  // One row per document type, made into entries by `documentTypes`: the entries written out
  // (media type twice, the property names each time) were the registry's largest part of the
  // browser bundle.
  const docs = spec.documents.map((d) =>
    `  [${lit(d.name)}, ${lit(d.mediaType)}, ${d.json}, check${ident(d.name)}],`
  );
  sf.addFunction({
    name: "documentTypes",
    docs: [
      "The document registry from its rows (name, media type, JSON or not, check), keyed by the lowercase media type.",
    ],
    parameters: [{ name: "rows", type: "readonly (readonly [string, string, boolean, Check])[]" }],
    returnType: "ReadonlyMap<string, DocumentEntry>",
    statements: [
      "return new Map(rows.map(([name, mediaType, json, check]) => [",
      "  mediaType.toLowerCase(),",
      "  Object.freeze({ name, mediaType, json, check }),",
      "]));",
    ],
  });
  sf.addVariableStatement({
    isExported: true,
    declarationKind: VariableDeclarationKind.Const,
    docs: ["Registered document types by lowercase media type."],
    declarations: [{
      name: "DOCUMENT_TYPES",
      type: "ReadonlyMap<string, DocumentEntry>",
      initializer: `/* @__PURE__ */ documentTypes([\n${docs.join("\n")}\n])`,
    }],
  });
  const schemes = Object.entries(spec.schemes).map(([scheme, def]) =>
    `  [${lit(scheme)}, Object.freeze({ scheme: ${lit(scheme)}, name: ${lit(def)}, check: check${
      ident(def)
    } })],`
  );
  sf.addVariableStatement({
    isExported: true,
    declarationKind: VariableDeclarationKind.Const,
    docs: ["The authentication object of each scheme."],
    declarations: [{
      name: "AUTHENTICATION_TYPES",
      type: "ReadonlyMap<string, AuthenticationEntry>",
      initializer: `new Map<string, AuthenticationEntry>([\n${schemes.join("\n")}\n])`,
    }],
  });
  const kinds = spec.kinds.map((k) =>
    `  Object.freeze({ kind: ${lit(k.kind)}, key: ${lit(k.key)}, name: ${
      lit(k.definition)
    }, check: check${ident(k.definition)} }),`
  );
  sf.addVariableStatement({
    isExported: true,
    declarationKind: VariableDeclarationKind.Const,
    docs: ["Envelope kinds in the order their keys are tested (lime-protocol §1.6)."],
    declarations: [{
      name: "ENVELOPE_KINDS",
      type: "readonly EnvelopeKindEntry[]",
      initializer: `Object.freeze([\n${kinds.join("\n")}\n])`,
    }],
  });
  sf.addFunction({
    isExported: true,
    name: "envelopeKindOf",
    docs: [
      "The kind of an envelope object, by the first kind key it has (null values count); undefined if none.",
    ],
    parameters: [{ name: "value", type: "object" }],
    returnType: "EnvelopeKindEntry | undefined",
    statements: [
      ...spec.kinds.map((k, i) => `if (${lit(k.key)} in value) return ENVELOPE_KINDS[${i}];`),
      "return undefined;",
    ],
  });
  const files = ["envelopes.json", "authentication.json", "documents/*.json"];
  return {
    name: "registry.generated.ts",
    text: header("emit_registry.ts", files, "Document, authentication and envelope registries.") +
      sf.getFullText(),
  };
}
