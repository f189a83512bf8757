/**
 * The client suite's table: each profile with its accounts, the logins it accepts (one per
 * scheme it has), and what the client should see; plus opening a client transport of each kind
 * (TCP, TCP+TLS, WebSocket) to a scripted server.
 * @module
 */
import {
  type Credentials,
  guestCredentials,
  keyCredentials,
  plainCredentials,
  transportCredentials,
} from "../../mod.ts";
import { TcpTransport } from "../../src/transport/tcp.ts";
import type { Transport } from "../../src/transport/transport.ts";
import { WebSocketTransport } from "../../src/transport/websocket.ts";
import { tlsFixture } from "../tls_fixture.ts";
import { limeCsharpProfile } from "./lime_csharp.ts";
import { limeGoProfile } from "./lime_go.ts";
import type { Profile } from "./profile.ts";
import type { ScriptedServer } from "./scripted_server.ts";

/** How the client connects. */
export type Via = "tcp" | "tls" | "ws";

/** Every way of connecting. */
export const VIAS: readonly Via[] = ["tcp", "tls", "ws"];

/** A login the profile accepts. */
export interface Login {
  /** What it shows (the scheme, and why the identity is what it is). */
  label: string;
  /** `name@domain`. */
  identity: string;
  /** The credentials. */
  credentials: Credentials;
  /** Only over TLS (the transport scheme needs the client certificate). */
  tlsOnly?: boolean;
}

/** A profile and what the suite does with it. */
export interface ProfileCase {
  /** A fresh profile. */
  profile: () => Profile;
  /** Logins, one per scheme the profile has. */
  logins: readonly Login[];
  /** Whether the server picks the instance (the `to` of `established` is not what was asked). */
  assignsInstance: boolean;
}

/** lime-go and lime-csharp / BLiP. */
export const PROFILE_CASES: readonly ProfileCase[] = [
  {
    profile: () => limeGoProfile({ passwords: { john: "mysecretpassword" } }),
    logins: [
      {
        label: "guest (UUID name)",
        identity: `${crypto.randomUUID()}@localhost`,
        credentials: guestCredentials(),
      },
      {
        label: "plain",
        identity: "john@localhost",
        credentials: plainCredentials("mysecretpassword"),
      },
    ],
    assignsInstance: true,
  },
  {
    profile: () =>
      limeCsharpProfile({ passwords: { alice: "s3cret" }, keys: { "echo-bot": "k3y-value" } }),
    logins: [
      { label: "guest", identity: "visitor@localhost", credentials: guestCredentials() },
      { label: "plain", identity: "alice@localhost", credentials: plainCredentials("s3cret") },
      { label: "key", identity: "echo-bot@localhost", credentials: keyCredentials("k3y-value") },
      {
        label: "transport (client certificate)",
        identity: "alice@localhost",
        credentials: transportCredentials(),
        tlsOnly: true,
      },
    ],
    assignsInstance: false,
  },
];

/** Opens a client transport to `server` over `via` (TLS trusts the test CA, shows alice's cert). */
export async function openTransport(server: ScriptedServer, via: Via): Promise<Transport> {
  if (via === "ws") {
    const transport = new WebSocketTransport();
    await transport.open(server.wsUri);
    return transport;
  }
  const f = await tlsFixture();
  const transport = new TcpTransport(
    via === "tls" ? { tls: { caCerts: [f.ca], cert: f.client.cert, key: f.client.key } } : {},
  );
  await transport.open(server.tcpUri);
  return transport;
}

/** The encryption to choose over `via` (TCP offers TLS; plain TCP declines it). */
export const encryptionFor = (via: Via): "none" | "tls" | undefined =>
  via === "tcp" ? "none" : via === "tls" ? "tls" : undefined;
