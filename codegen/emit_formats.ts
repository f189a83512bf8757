/**
 * Emits `formats.generated.ts`: the regular expressions of the LIME value formats (node,
 * identity, media type, LIME URI, date-time) from `spec/formats.json`, with their fragments
 * expanded. `src/formats.ts` builds the fast predicates and the value classes parse with them.
 * @module
 */
import { VariableDeclarationKind } from "ts-morph";
import type { SpecModel } from "./spec_model.ts";
import { type GeneratedFile, header, lit, newSourceFile } from "./emit_util.ts";

/** Emits the formats file. */
export function emitFormats(spec: SpecModel): GeneratedFile {
  const sf = newSourceFile("formats.generated.ts");
  for (const [name, p] of Object.entries(spec.formats.patterns)) {
    sf.addVariableStatement({
      isExported: true,
      declarationKind: VariableDeclarationKind.Const,
      docs: [p.description],
      declarations: [{ name, type: "RegExp", initializer: `new RegExp(${lit(p.expanded)})` }],
    });
  }
  sf.addVariableStatement({
    isExported: true,
    declarationKind: VariableDeclarationKind.Const,
    docs: ["The pattern that checks each schema `format`."],
    declarations: [{
      name: "FORMAT_PATTERNS",
      type: "Readonly<Record<string, RegExp>>",
      initializer: `Object.freeze({\n${
        Object.entries(spec.formats.formats).map(([f, p]) => `  ${lit(f)}: ${p},`).join("\n")
      }\n})`,
    }],
  });
  return {
    name: "formats.generated.ts",
    text: header("emit_formats.ts", ["formats.json"], "Grammar of the LIME value formats.") +
      "// deno-lint-ignore-file no-control-regex -- the grammar refuses control characters.\n" +
      sf.getFullText(),
  };
}
