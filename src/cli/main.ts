/**
 * `lime`, the command-line client: `deno task lime …`, or installed with
 *
 * ```sh
 * deno install -g -n lime --allow-net \
 *   --allow-env=LIME_SERVER,LIME_IDENTITY,LIME_PASSWORD,NO_COLOR src/cli/main.ts
 * ```
 *
 * `lime --help` lists the commands; `exit_codes.ts` the exit codes.
 * @module
 */
import { runCli } from "./cli.ts";
import { denoIo } from "./terminal.ts";

if (import.meta.main) Deno.exit(await runCli(Deno.args, denoIo()));
