import assert from "node:assert/strict";
import { decideSession, isFinalSessionState, type SessionInput } from "../src/session_machine.ts";
import { type SessionState, SessionStateValues } from "../src/generated/enums.generated.ts";
import type { SessionRole } from "../src/session_types.ts";

// The oracle, written from lime-protocol.md §3.1, §4.1–4.3 and §6.1 (not from spec/session.json):
// [state before, session state sent, side that sends it].
const LEGAL_SESSION_MOVES: [SessionState, SessionState, SessionRole][] = [
  ["new", "new", "client"],
  ["new", "negotiating", "server"],
  ["negotiating", "negotiating", "client"],
  ["negotiating", "negotiating", "server"],
  ["new", "authenticating", "server"],
  ["negotiating", "authenticating", "server"],
  ["authenticating", "authenticating", "client"],
  ["authenticating", "authenticating", "server"],
  ["authenticating", "established", "server"],
  ["established", "finishing", "client"],
  ["established", "finished", "server"],
  ["finishing", "finished", "server"],
  ["new", "failed", "server"],
  ["negotiating", "failed", "server"],
  ["authenticating", "failed", "server"],
  ["established", "failed", "server"],
  ["finishing", "failed", "server"],
];
const OPT_IN_MOVES: [SessionState, SessionState, SessionRole][] = [
  ["new", "established", "server"],
  ["negotiating", "established", "server"],
];
const SEND_STATES: SessionState[] = ["established"];
const RECEIVE_STATES: SessionState[] = ["established", "finishing"];

const roles: SessionRole[] = ["client", "server"];
const directions = ["send", "receive"] as const;
const inputs: SessionInput[] = [
  { kind: "message" },
  { kind: "notification" },
  { kind: "command" },
  ...SessionStateValues.map((state) => ({ kind: "session" as const, state })),
];

let cells = 0;
for (const role of roles) {
  for (const state of SessionStateValues) {
    for (const direction of directions) {
      for (const input of inputs) {
        const label = input.kind === "session" ? `session:${input.state}` : input.kind;
        cells++;
        Deno.test(`decideSession ${role} in "${state}" ${direction}s ${label}`, () => {
          const sender = direction === "send" ? role : role === "client" ? "server" : "client";
          for (const optIn of [false, true]) {
            const d = decideSession(role, state, direction, input, {
              establishWithoutAuthentication: optIn,
            });
            let expected: SessionState | undefined;
            if (input.kind === "session") {
              const moves = optIn ? [...LEGAL_SESSION_MOVES, ...OPT_IN_MOVES] : LEGAL_SESSION_MOVES;
              const legal = moves.some(([from, to, by]) =>
                from === state && to === input.state && by === sender
              );
              expected = legal ? input.state : undefined;
            } else {
              const states = direction === "send" ? SEND_STATES : RECEIVE_STATES;
              expected = states.includes(state) ? state : undefined;
            }
            if (expected !== undefined) {
              assert.deepEqual(d, { allowed: true, state: expected });
            } else {
              assert.equal(d.allowed, false);
              assert.equal(d.state, state);
              if (!d.allowed) {
                assert.equal(d.reason.code, 15);
                assert.match(d.reason.description!, new RegExp(`session state is "${state}"`));
              }
            }
          }
        });
      }
    }
  }
}

Deno.test("decideSession covers every cell (2 roles × 7 states × 2 directions × 10 inputs)", () => {
  assert.equal(cells, 2 * 7 * 2 * 10);
});

Deno.test("decideSession names the state in a refusal", () => {
  const d = decideSession("client", "new", "send", { kind: "message" });
  assert.deepEqual(d, {
    allowed: false,
    state: "new",
    reason: { code: 15, description: 'Cannot send a message: session state is "new"' },
  });
});

Deno.test("isFinalSessionState is true only for finished and failed", () => {
  assert.deepEqual(SessionStateValues.filter(isFinalSessionState), ["finished", "failed"]);
});

Deno.test("decideSession refuses states named like Object.prototype members: its move index answers only the table's moves", () => {
  const names = ["constructor", "__proto__", "toString", "hasOwnProperty", "valueOf"];
  for (const role of ["client", "server"] as const) {
    for (const direction of ["send", "receive"] as const) {
      for (const from of [...names, "new", "established"]) {
        for (const to of [...names, "new"]) {
          if (from === "new" && to === "new") continue;
          const d = decideSession(role, from as SessionState, direction, {
            kind: "session",
            state: to as SessionState,
          });
          assert.equal(d.allowed, false, `${role} ${direction} ${from} -> ${to}`);
        }
      }
    }
  }
});

Deno.test("decideSession refuses states and roles that are not strings, as its table scan did", () => {
  const boxed = (text: string) => new String(text) as unknown as SessionState;
  const toString = (text: string) => ({ toString: () => text }) as unknown as SessionState;
  for (const make of [boxed, toString, (text: string) => [text] as unknown as SessionState]) {
    assert.equal(
      decideSession("client", make("new"), "send", { kind: "session", state: "new" }).allowed,
      false,
    );
    assert.equal(
      decideSession("client", "new", "send", { kind: "session", state: make("new") }).allowed,
      false,
    );
    assert.equal(
      decideSession(make("client") as unknown as SessionRole, "new", "send", {
        kind: "session",
        state: "new",
      }).allowed,
      false,
    );
  }
  assert.equal(
    decideSession("client", "new", "send", { kind: "session", state: "new" }).allowed,
    true,
  );
});
