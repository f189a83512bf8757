/**
 * `/ping`: answers `get` with the ping document (`type` and `resource` both present, §12).
 * @module
 */
import { PING_MEDIA_TYPE } from "../../channel/modules/reply_ping.ts";
import type { ResourceHandler } from "./resource.ts";

/** The ping resource. */
export const pingResource: ResourceHandler = {
  methods: ["get"],
  handle: () => ({ type: PING_MEDIA_TYPE, resource: {} }),
};
