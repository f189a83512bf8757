/**
 * Emits `enums.generated.ts`: for every enumeration a frozen `as const` object (PascalCase keys)
 * and a string-literal union type of its wire values.
 * @module
 */
import { VariableDeclarationKind } from "ts-morph";
import type { SpecModel } from "./spec_model.ts";
import { type GeneratedFile, header, lit, newSourceFile } from "./emit_util.ts";

function pascal(value: string): string {
  return value.replace(/(^|[-_ ])(\w)/g, (_, __, c: string) => c.toUpperCase()).replace(
    /^\w/,
    (c) => c.toUpperCase(),
  );
}

/** Emits the enums file. */
export function emitEnums(spec: SpecModel): GeneratedFile {
  const sf = newSourceFile("enums.generated.ts");
  for (const [name, e] of Object.entries(spec.enums)) {
    const members = e.values.map((v) => {
      const doc = v.obsolete
        ? `${v.description} @deprecated Obsolete; should not be sent.`
        : v.description;
      return `  /** ${doc} */\n  ${pascal(v.value)}: ${lit(v.value)},`;
    });
    sf.addVariableStatement({
      isExported: true,
      declarationKind: VariableDeclarationKind.Const,
      docs: [e.description],
      declarations: [{
        name,
        type: `{ ${
          e.values.map((v) => `readonly ${pascal(v.value)}: ${lit(v.value)}`).join("; ")
        } }`,
        initializer: `Object.freeze({\n${members.join("\n")}\n} as const)`,
      }],
    });
    sf.addTypeAlias({
      isExported: true,
      name,
      docs: [`${e.description} Wire values: ${e.values.map((v) => `\`${v.value}\``).join(", ")}.`],
      type: e.values.map((v) => lit(v.value)).join(" | "),
    });
    sf.addVariableStatement({
      isExported: true,
      declarationKind: VariableDeclarationKind.Const,
      docs: [`Every wire value of {@link ${name}}, in spec order.`],
      declarations: [{
        name: `${name}Values`,
        type: `readonly ${name}[]`,
        initializer: `Object.freeze([${e.values.map((v) => lit(v.value)).join(", ")}])`,
      }],
    });
  }
  return {
    name: "enums.generated.ts",
    text: header("emit_enums.ts", ["enums.json"], "LIME wire enumerations.") + sf.getFullText(),
  };
}
