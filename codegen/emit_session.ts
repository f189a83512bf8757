/**
 * Emits `session.generated.ts`: the session state machine as frozen tables (states, who sends
 * each, legal moves, envelope permissions by state, failure reasons). `src/session_machine.ts`
 * interprets them. The spec's descriptions become doc comments on the entries, not fields: no
 * code reads them, and they would weigh on the browser bundle.
 * @module
 */
import { VariableDeclarationKind } from "ts-morph";
import type { SpecModel } from "./spec_model.ts";
import { type GeneratedFile, header, lit, newSourceFile } from "./emit_util.ts";

/** A doc comment of `text` (ending the comment early is not possible). */
const doc = (text: string) => `/** ${text.replaceAll("*/", "*\\/")} */`;

/** Emits the session tables file. */
export function emitSession(spec: SpecModel): GeneratedFile {
  const s = spec.session;
  const sf = newSourceFile("session.generated.ts");
  sf.addImportDeclaration({
    isTypeOnly: true,
    moduleSpecifier: "./enums.generated.ts",
    namedImports: ["SessionState"],
  });
  sf.addImportDeclaration({
    isTypeOnly: true,
    moduleSpecifier: "../session_types.ts",
    namedImports: ["EnvelopePermission", "SessionFailure", "SessionMove", "SessionStateInfo"],
  });
  const add = (name: string, type: string, docs: string, initializer: string) =>
    sf.addVariableStatement({
      isExported: true,
      declarationKind: VariableDeclarationKind.Const,
      docs: [docs],
      declarations: [{ name, type, initializer }],
    });
  add("INITIAL_SESSION_STATE", "SessionState", "The state a session starts in.", lit(s.initial));
  add(
    "SESSION_STATES",
    "Readonly<Record<SessionState, SessionStateInfo>>",
    "Every session state: who sends it, whether it ends the session.",
    `Object.freeze({\n${
      Object.entries(s.states).map(([k, v]) =>
        `  ${doc(v.description)}\n  ${lit(k)}: Object.freeze({ sentBy: Object.freeze(${
          lit(v.sentBy)
        }) as readonly ("client" | "server")[], final: ${v.final} }),`
      ).join("\n")
    }\n})`,
  );
  add(
    "SESSION_MOVES",
    "readonly SessionMove[]",
    "Every legal move: from a state, the side that sends a session envelope with the new state.",
    `Object.freeze([\n${
      s.moves.map((m) =>
        `  ${doc(m.description)}\n  Object.freeze({ from: ${lit(m.from)}, to: ${lit(m.to)}, by: ${
          lit(m.by)
        }${m.optIn ? `, optIn: ${lit(m.optIn)}` : ""} }),`
      ).join("\n")
    }\n] as const)`,
  );
  add(
    "ENVELOPE_PERMISSIONS",
    'Readonly<Record<"message" | "notification" | "command", EnvelopePermission>>',
    "States in which messages, notifications and commands may be sent and received.",
    `Object.freeze({\n${
      Object.entries(s.envelopes).map(([k, v]) =>
        `  ${k}: Object.freeze({ send: Object.freeze(${
          lit(v.send)
        }) as readonly SessionState[], receive: Object.freeze(${
          lit(v.receive)
        }) as readonly SessionState[] }),`
      ).join("\n")
    }\n})`,
  );
  add(
    "SESSION_FAILURES",
    `Readonly<Record<${Object.keys(s.failures).map(lit).join(" | ")}, SessionFailure>>`,
    "The reason code of each way a session can fail.",
    `Object.freeze({\n${
      Object.entries(s.failures).map(([k, v]) =>
        `  ${doc(v.description)}\n  ${k}: Object.freeze({ code: ${v.code} }),`
      )
        .join("\n")
    }\n})`,
  );
  return {
    name: "session.generated.ts",
    text: header("emit_session.ts", ["session.json"], "Session state machine tables.") +
      sf.getFullText(),
  };
}
