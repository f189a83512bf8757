/**
 * Emits `reasons.generated.ts`: the `ReasonCode` name → code object and the reason table.
 * @module
 */
import { VariableDeclarationKind } from "ts-morph";
import type { SpecModel } from "./spec_model.ts";
import { type GeneratedFile, header, lit, newSourceFile } from "./emit_util.ts";

/** Emits the reasons file. */
export function emitReasons(spec: SpecModel): GeneratedFile {
  const sf = newSourceFile("reasons.generated.ts");
  sf.addVariableStatement({
    isExported: true,
    declarationKind: VariableDeclarationKind.Const,
    docs: ["LIME reason codes by constant name."],
    declarations: [{
      name: "ReasonCode",
      type: `{ ${spec.reasons.map((r) => `readonly ${r.name}: ${r.code}`).join("; ")} }`,
      initializer: `Object.freeze({\n${
        spec.reasons.map((r) => `  /** ${r.description}. */\n  ${r.name}: ${r.code},`).join("\n")
      }\n} as const)`,
    }],
  });
  sf.addTypeAlias({
    isExported: true,
    name: "ReasonCode",
    docs: ["A known LIME reason code."],
    type: "typeof ReasonCode[keyof typeof ReasonCode]",
  });
  sf.addInterface({
    isExported: true,
    name: "ReasonInfo",
    docs: ["One row of the reason table."],
    properties: [
      { name: "code", type: "number", isReadonly: true, docs: ["The code."] },
      { name: "name", type: "string", isReadonly: true, docs: ["The constant name."] },
      {
        name: "description",
        type: "string",
        isReadonly: true,
        docs: ["The standard description."],
      },
    ],
  });
  sf.addVariableStatement({
    isExported: true,
    declarationKind: VariableDeclarationKind.Const,
    docs: ["The reason table in code order; two names may share a code."],
    declarations: [{
      name: "REASONS",
      type: "readonly ReasonInfo[]",
      initializer: `Object.freeze([\n${
        spec.reasons.map((r) =>
          `  { code: ${r.code}, name: ${lit(r.name)}, description: ${lit(r.description)} },`
        )
          .join("\n")
      }\n])`,
    }],
  });
  return {
    name: "reasons.generated.ts",
    text: header("emit_reasons.ts", ["reasons.json"], "LIME reason codes.") + sf.getFullText(),
  };
}

/**
 * Emits `reason_codes.generated.ts`: one constant per reason name, for code that needs a few
 * codes and must stay small (a bundler keeps only the constants used; the `ReasonCode` object
 * comes whole).
 */
export function emitReasonCodes(spec: SpecModel): GeneratedFile {
  const sf = newSourceFile("reason_codes.generated.ts");
  for (const reason of spec.reasons) {
    sf.addVariableStatement({
      isExported: true,
      declarationKind: VariableDeclarationKind.Const,
      docs: [`${reason.description} (\`ReasonCode.${reason.name}\`).`],
      declarations: [{ name: reason.name, initializer: `${reason.code} as const` }],
    });
  }
  return {
    name: "reason_codes.generated.ts",
    text: header("emit_reasons.ts", ["reasons.json"], "LIME reason codes, one constant each.") +
      sf.getFullText(),
  };
}
