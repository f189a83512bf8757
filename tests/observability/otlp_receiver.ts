/**
 * A small OTLP/HTTP receiver (JSON protocol) for the tests: `Deno.serve` on 127.0.0.1, port 0,
 * taking `/v1/traces`, `/v1/metrics` and `/v1/logs` and keeping the spans and the latest metric
 * points by name and attributes (Deno's exporter sends cumulative sums, so the latest is the
 * total). The environment to give a process so that Deno's exporter sends here:
 * {@link OtlpReceiver.env}.
 * @module
 */

/** An OTLP attribute value. */
type AnyValue = {
  stringValue?: string;
  intValue?: string | number;
  doubleValue?: number;
  boolValue?: boolean;
};

/** A received span. */
export interface ReceivedSpan {
  /** `service.name` of the process that sent it. */
  service: string;
  /** Instrumentation scope. */
  scope: string;
  traceId: string;
  spanId: string;
  parentSpanId: string;
  name: string;
  kind: number;
  attributes: Record<string, unknown>;
}

/** A received metric point (the latest of its name and attributes). */
export interface ReceivedPoint {
  service: string;
  name: string;
  attributes: Record<string, unknown>;
  /** Sum or gauge value; a histogram's count. */
  value: number;
}

function valueOf(value: AnyValue | undefined): unknown {
  if (!value) return undefined;
  if (value.stringValue !== undefined) return value.stringValue;
  if (value.intValue !== undefined) return Number(value.intValue);
  if (value.doubleValue !== undefined) return value.doubleValue;
  return value.boolValue;
}

function attributesOf(list: { key: string; value: AnyValue }[] | undefined) {
  return Object.fromEntries((list ?? []).map(({ key, value }) => [key, valueOf(value)]));
}

// deno-lint-ignore no-explicit-any
type Json = any;

/** The receiver. */
export class OtlpReceiver implements AsyncDisposable {
  /** Every span received. */
  readonly spans: ReceivedSpan[] = [];
  /** The latest point per service, metric name and attributes. */
  readonly points = new Map<string, ReceivedPoint>();
  /** Requests received, by path. */
  readonly requests = new Map<string, number>();
  readonly #server: Deno.HttpServer<Deno.NetAddr>;

  constructor() {
    this.#server = Deno.serve(
      { hostname: "127.0.0.1", port: 0, onListen: () => {} },
      async (request) => {
        const path = new URL(request.url).pathname;
        this.requests.set(path, (this.requests.get(path) ?? 0) + 1);
        const body: Json = await request.json().catch(() => ({}));
        if (path === "/v1/traces") this.#traces(body);
        if (path === "/v1/metrics") this.#metrics(body);
        return Response.json({});
      },
    );
  }

  /** `http://127.0.0.1:PORT`. */
  get endpoint(): string {
    return `http://127.0.0.1:${this.#server.addr.port}`;
  }

  /** The environment for Deno's exporter to send here, quickly, as JSON. */
  env(service: string): Record<string, string> {
    return {
      OTEL_DENO: "true",
      OTEL_EXPORTER_OTLP_PROTOCOL: "http/json",
      OTEL_EXPORTER_OTLP_ENDPOINT: this.endpoint,
      OTEL_METRIC_EXPORT_INTERVAL: "200",
      OTEL_BSP_SCHEDULE_DELAY: "100",
      OTEL_SERVICE_NAME: service,
      OTEL_DENO_CONSOLE: "ignore",
    };
  }

  #traces(body: Json): void {
    for (const resource of body.resourceSpans ?? []) {
      const service = String(attributesOf(resource.resource?.attributes)["service.name"]);
      for (const scope of resource.scopeSpans ?? []) {
        for (const span of scope.spans ?? []) {
          this.spans.push({
            service,
            scope: scope.scope?.name ?? "",
            traceId: span.traceId,
            spanId: span.spanId,
            parentSpanId: span.parentSpanId ?? "",
            name: span.name,
            kind: span.kind,
            attributes: attributesOf(span.attributes),
          });
        }
      }
    }
  }

  #metrics(body: Json): void {
    for (const resource of body.resourceMetrics ?? []) {
      const service = String(attributesOf(resource.resource?.attributes)["service.name"]);
      for (const scope of resource.scopeMetrics ?? []) {
        for (const metric of scope.metrics ?? []) {
          const data = metric.sum ?? metric.gauge ?? metric.histogram;
          for (const point of data?.dataPoints ?? []) {
            const attributes = attributesOf(point.attributes);
            const value = metric.histogram
              ? Number(point.count)
              : Number(point.asInt ?? point.asDouble ?? 0);
            const key = `${service} ${metric.name} ${
              JSON.stringify(Object.entries(attributes).sort())
            }`;
            this.points.set(key, { service, name: metric.name, attributes, value });
          }
        }
      }
    }
  }

  /** The latest points of `name` from `service` whose attributes include `match`. */
  pointsOf(service: string, name: string, match: Record<string, unknown> = {}): ReceivedPoint[] {
    return [...this.points.values()].filter((point) =>
      point.service === service && point.name === name &&
      Object.entries(match).every(([key, value]) => point.attributes[key] === value)
    );
  }

  /** The sum of the latest points of `name` from `service` matching `match`. */
  total(service: string, name: string, match: Record<string, unknown> = {}): number {
    return this.pointsOf(service, name, match).reduce((sum, point) => sum + point.value, 0);
  }

  /** Waits (polling every 50 ms, at most `timeout` ms) until `ready()` holds. */
  async until(ready: () => boolean, what: string, timeout = 10_000): Promise<void> {
    const end = Date.now() + timeout;
    while (!ready()) {
      if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }

  /** Stops listening. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.#server.shutdown();
  }
}
