/**
 * The envelope codec: bytes or text → validated, typed envelope, and envelope → compact JSON.
 *
 * Decoding runs the fast checks generated from the spec; only when one fails does the generated
 * explainer run, to say where and why (the first problem only: it stops where the check stopped,
 * so a rejection costs no more than the check), with the reason code the spec gives that field.
 * zod is not on this path: the zod schemas are generated for users (`validators.generated.ts`).
 *
 * Loading this module installs the explainer for the fast path in `codec_core.ts` (which the
 * transports use), so every `ValidationError` is explained synchronously from then on.
 * @module
 */
import { setEnvelopeExplainer } from "./codec_core.ts";
import { explainEnvelope } from "./envelope_explain.ts";

setEnvelopeExplainer(explainEnvelope);

export { formatPath, parseEnvelope, serializeEnvelope, validateEnvelope } from "./codec_core.ts";
