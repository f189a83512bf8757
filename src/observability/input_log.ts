/**
 * The server channels' reports of invalid input, as log records of `["lime","server","input"]`
 * (LogTape; silent until the application configures a sink): a dropped invalid notification is
 * a `warning`; other invalid input is `info` when answered and the session goes on, `warning`
 * when it fails the session. Who sent it and why, never the input itself. Importing this module
 * installs it into {@link inputReports}; `lime_server.ts` does.
 * @module
 */
import { inputReports } from "../channel/input_reports.ts";
import { inputLog } from "./log.ts";

inputReports.current = {
  dropped: (input) =>
    inputLog.warning("Dropped an invalid {kind}{quotedId} from {who}: {problem}", () => ({
      kind: input.kind,
      quotedId: input.id ? ` "${input.id}"` : "",
      who: [input.node, input.remote && `(${input.remote})`].filter(Boolean).join(" ") ||
        "a peer",
      ...(input.id ? { id: input.id } : {}),
      ...(input.node ? { node: input.node } : {}),
      ...(input.remote ? { remote: input.remote } : {}),
      problem: input.problem,
    })),
  bad: (input) => {
    const properties = () => ({
      category: input.category,
      code: input.code,
      remote: input.remote ?? "unknown",
      ...(input.node ? { node: input.node } : {}),
      fatal: input.fatal,
    });
    const message = "Bad input ({category}) from {remote}, answered with {code}";
    if (input.fatal) inputLog.warning(message, properties);
    else inputLog.info(message, properties);
  },
};
