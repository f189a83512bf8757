/**
 * The resource helpers of every channel (`getResource`, `setResource`, …): each sends one command
 * request through `processCommand` and returns the response's resource, or throws a
 * {@link CommandFailedError} carrying the response's reason.
 * @module
 */
import { Command } from "../envelope.ts";
import { LimeError, type Reason } from "../errors.ts";
import type { CommandMethod } from "../generated/enums.generated.ts";
import type { NodeLike } from "../envelope.ts";
import type { TimeoutOptions } from "./channel_options.ts";

/** A command answered with a status other than `success`. */
export class CommandFailedError extends LimeError {
  /** The response. */
  readonly response: Command;

  /** Wraps a failure response (code 1 "An invalid command response was received" without reason). */
  constructor(response: Command) {
    const reason: Reason = response.reason ??
      { code: 1, description: "An invalid command response was received" };
    super(reason);
    this.name = "CommandFailedError";
    this.response = response;
  }
}

/** Options of a resource helper. */
export interface ResourceOptions extends TimeoutOptions {
  /** The node the request goes to; absent means the server the channel talks to. */
  to?: NodeLike;
  /** Envelope metadata. */
  metadata?: Record<string, string>;
}

/** The helpers, over an abstract `processCommand`. */
export abstract class ResourceCommands {
  /** Sends a request and resolves with its response. */
  abstract processCommand(request: Command, options?: TimeoutOptions): Promise<Command>;

  /** `get` a resource; resolves with the response's resource. */
  getResource<T = unknown>(uri: string, options?: ResourceOptions): Promise<T> {
    return this.#run<T>("get", uri, undefined, undefined, options);
  }

  /** `set` a resource of media type `type`. */
  setResource<T = unknown>(
    uri: string,
    type: string,
    resource: unknown,
    options?: ResourceOptions,
  ): Promise<T> {
    return this.#run<T>("set", uri, type, resource, options);
  }

  /** `merge` into a resource. */
  mergeResource<T = unknown>(
    uri: string,
    type: string,
    resource: unknown,
    options?: ResourceOptions,
  ): Promise<T> {
    return this.#run<T>("merge", uri, type, resource, options);
  }

  /** `delete` a resource. */
  deleteResource<T = unknown>(uri: string, options?: ResourceOptions): Promise<T> {
    return this.#run<T>("delete", uri, undefined, undefined, options);
  }

  /** `subscribe` to a resource's changes. */
  subscribeResource<T = unknown>(uri: string, options?: ResourceOptions): Promise<T> {
    return this.#run<T>("subscribe", uri, undefined, undefined, options);
  }

  /** `unsubscribe` from a resource. */
  unsubscribeResource<T = unknown>(uri: string, options?: ResourceOptions): Promise<T> {
    return this.#run<T>("unsubscribe", uri, undefined, undefined, options);
  }

  /** `observe`: tell the peer a resource changed (to the given value). */
  observeResource<T = unknown>(
    uri: string,
    type: string,
    resource: unknown,
    options?: ResourceOptions,
  ): Promise<T> {
    return this.#run<T>("observe", uri, type, resource, options);
  }

  async #run<T>(
    method: CommandMethod,
    uri: string,
    type: string | undefined,
    resource: unknown,
    options: ResourceOptions = {},
  ): Promise<T> {
    const request = new Command(method, uri, {
      ...(type !== undefined ? { type, resource } : {}),
      ...(options.to !== undefined ? { to: options.to } : {}),
      ...(options.metadata ? { metadata: options.metadata } : {}),
    });
    const response = await this.processCommand(request, options);
    if (response.status !== "success") throw new CommandFailedError(response);
    return response.resource as T;
  }
}
