/**
 * The `external` scheme: a token issued by a third party, sent as given, with its issuer.
 * @module
 */
import { type Credentials, stringField } from "./credentials.ts";

/** External credentials: the token (as is) and who issued it. */
export function externalCredentials(token: string, issuer: string): Credentials {
  return { scheme: "external", authentication: { token, issuer } };
}

/** The token and issuer of a received `external` authentication object, or undefined. */
export function readExternal(
  authentication: unknown,
): { token: string; issuer: string } | undefined {
  const token = stringField(authentication, "token");
  const issuer = stringField(authentication, "issuer");
  return token !== undefined && issuer !== undefined ? { token, issuer } : undefined;
}
