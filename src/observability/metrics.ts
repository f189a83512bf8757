/**
 * The server's and the client's OpenTelemetry instruments, from `@opentelemetry/api`'s global
 * meter provider (Deno's built-in exporter registers one with `OTEL_DENO=true`; without a
 * provider every instrument is the API's no-op, a few nanoseconds a call). Names, units and
 * attributes are listed in README's "Logs, metrics and traces".
 *
 * The instruments are made once, when this module is first loaded: a meter provider registered
 * later than that (other than Deno's, which exists before any module runs) is not seen.
 * @module
 */
import {
  type Attributes,
  type Counter,
  type Histogram,
  metrics,
  type ObservableGauge,
  type UpDownCounter,
} from "npm:@opentelemetry/api@1.10.0";

const meter = metrics.getMeter("lime");

/** One frozen attribute set per key, so hot paths pass the same object each time. */
export function attributeCache<K extends string | number>(
  make: (key: K) => Attributes,
): (key: K) => Attributes {
  const cache = new Map<K, Attributes>();
  return (key) => {
    let attributes = cache.get(key);
    if (attributes === undefined) {
      attributes = Object.freeze(make(key));
      if (cache.size < 256) cache.set(key, attributes);
    }
    return attributes;
  };
}

/** `{ "lime.envelope.kind": kind }`, shared. */
export const kindAttributes: (kind: string) => Attributes = attributeCache((kind) => ({
  "lime.envelope.kind": kind,
}));

/** Established sessions now, by `lime.transport` and `lime.scheme`. */
export const sessionsGauge: UpDownCounter = meter.createUpDownCounter("lime.server.sessions", {
  description: "Sessions established now",
  unit: "{session}",
});

/** Sessions established, by `lime.transport` and `lime.scheme`. */
export const establishmentsCounter: Counter = meter.createCounter(
  "lime.server.session.establishments",
  { description: "Sessions established", unit: "{session}" },
);

/** Sessions refused, by `lime.reason.code` and `lime.transport`. */
export const refusalsCounter: Counter = meter.createCounter("lime.server.session.refusals", {
  description: "Sessions refused (failed before established)",
  unit: "{session}",
});

/**
 * Envelopes counted by kind in plain numbers, read by an observable counter at each collection:
 * an increment on the routing path costs what adding to a field costs, with or without an
 * exporter (an instrument's `add` costs about 0.7 µs with Deno's).
 */
export class KindTally {
  /** Messages. */
  message = 0;
  /** Notifications. */
  notification = 0;
  /** Commands. */
  command = 0;

  /** Reports the tally as `name` (an observable counter of `unit`). */
  constructor(name: string, description: string) {
    meter.createObservableCounter(name, { description, unit: "{envelope}" }).addCallback(
      (result) => {
        if (this.message) result.observe(this.message, kindAttributes("message"));
        if (this.notification) {
          result.observe(this.notification, kindAttributes("notification"));
        }
        if (this.command) result.observe(this.command, kindAttributes("command"));
      },
    );
  }
}

/** Envelopes received from established sessions (`lime.server.envelopes.in`), by kind. */
export const envelopesIn: KindTally = new KindTally(
  "lime.server.envelopes.in",
  "Envelopes received from established sessions",
);

/** Envelopes the server handed to its sessions (`lime.server.envelopes.out`), by kind. */
export const envelopesOut: KindTally = new KindTally(
  "lime.server.envelopes.out",
  "Envelopes sent to established sessions",
);

/** Envelopes routed to a node or an identity (`lime.server.envelopes.routed`), by kind. */
export const envelopesRouted: KindTally = new KindTally(
  "lime.server.envelopes.routed",
  "Envelopes routed to a node or an identity, here or through the engine",
);

/** Failures the server answered (`failed` notifications, failure responses), by `lime.reason.code`. */
export const failuresCounter: Counter = meter.createCounter("lime.server.failures", {
  description: "Envelopes answered with a failure",
  unit: "{envelope}",
});

/** Command round trips, by `lime.command.method`, `lime.command.status`, `lime.side`. */
export const commandDuration: Histogram = meter.createHistogram("lime.command.duration", {
  description: "Command round trip (client) or processing (server) time",
  unit: "s",
});

/** HTTP API requests, by `http.route` and `http.response.status_code`. */
export const httpRequestsCounter: Counter = meter.createCounter("lime.http.requests", {
  description: "Requests to the HTTP API",
  unit: "{request}",
});

/** Webhook delivery attempts, by `lime.webhook.outcome` (`delivered`, `retry`, `failed`). */
export const webhookDeliveriesCounter: Counter = meter.createCounter("lime.webhook.deliveries", {
  description: "Webhook delivery attempts by outcome",
  unit: "{attempt}",
});

/** Sessions closed for not reading, and envelopes refused over a rate (`lime.action`). */
export const guardActionsCounter: Counter = meter.createCounter("lime.server.guard.actions", {
  description: "Slow-reader closes and rate/quota refusals",
  unit: "{action}",
});

/** `{ "lime.reason.code": code }`, shared. */
export const reasonAttributes: (code: number) => Attributes = attributeCache((code) => ({
  "lime.reason.code": code,
}));

/**
 * Observes the bytes waiting in the send queues of what `sources` returns, at each collection
 * (nothing is counted between collections). Returns a function that stops observing.
 */
export function observeQueuedBytes(
  sources: () => Iterable<{ readonly queuedBytes?: number }>,
): () => void {
  const gauge: ObservableGauge = meter.createObservableGauge("lime.server.queued_bytes", {
    description: "Bytes accepted for sending that peers have not taken yet",
    unit: "By",
  });
  const callback = (result: { observe(value: number): void }) => {
    let total = 0;
    for (const source of sources()) total += source.queuedBytes ?? 0;
    result.observe(total);
  };
  gauge.addCallback(callback);
  return () => gauge.removeCallback(callback);
}
