/**
 * Driving a `LimeClient` inside a test page (`globalThis.lime` is the bundle, `globalThis.state`
 * what the page keeps between `page.evaluate` calls). The functions given to `page.evaluate`
 * run in the browser: they may use only `lime`, `state` and their arguments.
 * @module
 */
import type { Page } from "playwright-core";
import type { LimeClient } from "../../web_client.ts";

/** What the test page exposes: the bundle's exports. */
declare const lime: typeof import("../../web_client.ts");

/** What the page keeps between `page.evaluate` calls. */
export interface PageState {
  /** The page's LimeClient. */
  client: LimeClient;
  /** Messages it received, in order. */
  messages: { id?: string; from?: string; content: unknown; resent?: string | null }[];
  /** Notifications it received, in order. */
  notifications: { id?: string; event: string; from?: string }[];
  /** Its status changes. */
  statuses: string[];
}
declare const state: PageState;

/** Who connects, and how. */
export interface ConnectOptions {
  /** `ws://…` */
  uri: string;
  /** `name@domain` */
  identity: string;
  /** The instance. */
  instance: string;
  /** Plain credentials; else `key`; else guest. */
  password?: string;
  /** Key credentials. */
  key?: string;
}

/** Starts a LimeClient in the page and waits until it is established; returns its node. */
export function connect(page: Page, options: ConnectOptions): Promise<string> {
  return page.evaluate(async ({ uri, identity, instance, password, key }) => {
    const credentials = password !== undefined
      ? lime.plainCredentials(password)
      : key !== undefined
      ? lime.keyCredentials(key)
      : lime.guestCredentials();
    const client = new lime.LimeClient({
      uri,
      identity,
      instance,
      credentials,
      // Quick to come back after a restart, quick to resend what the server could not route.
      reconnect: { initialDelay: 100, maxDelay: 400 },
      resend: { window: 300, maxResends: 20 },
    });
    state.messages = [];
    state.notifications = [];
    state.statuses = [];
    client.onMessage((m) =>
      state.messages.push({
        id: m.id,
        from: m.from,
        content: m.content,
        resent: m.metadata?.["#resentCount"],
      })
    );
    client.onNotification((n) =>
      state.notifications.push({ id: n.id, event: n.event, from: n.from })
    );
    client.onStatus((s) => state.statuses.push(s.state));
    state.client = client;
    await client.start();
    return client.node ?? "";
  }, options);
}

/** Waits in the page until `count` messages arrived. */
export async function waitForMessages(page: Page, count: number, ms = 10_000): Promise<void> {
  await page.waitForFunction((n) => state.messages.length >= n, count, { timeout: ms });
}
