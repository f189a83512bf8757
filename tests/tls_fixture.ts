/**
 * Throwaway certificates for TLS tests, made with `openssl` in a temporary folder that is removed
 * as soon as the PEM strings are read. Two certificate authorities: `ca` issues the server leaf
 * (`localhost`, SAN DNS:localhost + IP:127.0.0.1) and the client leaf (CN `alice@localhost`, SAN
 * DNS:alice.localhost) and an intermediate CA that issues a third client leaf (CN
 * `bob@localhost`, its PEM followed by the intermediate's); `otherCa` issues a second client leaf,
 * for "unknown issuer" cases. Made once per process (EC P-256 keys, valid two days).
 * @module
 */

/** A certificate and its private key, PEM-encoded. */
export interface CertAndKey {
  /** The certificate (PEM). */
  cert: string;
  /** The private key (PEM, PKCS#8). */
  key: string;
}

/** Everything a TLS test needs. */
export interface TlsFixture {
  /** The test certificate authority's certificate (PEM). */
  ca: string;
  /** A second, unrelated certificate authority's certificate (PEM). */
  otherCa: string;
  /** Server leaf issued by `ca`: CN and SAN DNS `localhost`, SAN IP `127.0.0.1`. */
  server: CertAndKey;
  /** Client leaf issued by `ca`: CN `alice@localhost`, SAN DNS `alice.localhost`. */
  client: CertAndKey;
  /** Client leaf issued by `otherCa`: CN `mallory@localhost`. */
  otherClient: CertAndKey;
  /** Client leaf issued by an intermediate CA under `ca`; `cert` holds leaf + intermediate. */
  chainClient: CertAndKey;
}

let cached: Promise<TlsFixture> | undefined;

/** Returns the process-wide test certificates, making them on the first call. */
export function tlsFixture(): Promise<TlsFixture> {
  return cached ??= makeFixture();
}

async function openssl(dir: string, ...args: string[]): Promise<void> {
  const out = await new Deno.Command("openssl", {
    args,
    cwd: dir,
    stdout: "piped",
    stderr: "piped",
  })
    .output();
  if (!out.success) {
    throw new Error(
      `openssl ${args.join(" ")} failed: ${new TextDecoder().decode(out.stderr)}`,
    );
  }
}

const KEY_ARGS = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"];

async function makeCa(dir: string, name: string, subject: string): Promise<void> {
  await openssl(
    dir,
    "req",
    "-x509",
    ...KEY_ARGS,
    "-keyout",
    `${name}.key`,
    "-out",
    `${name}.crt`,
    "-days",
    "2",
    "-subj",
    subject,
    "-addext",
    "basicConstraints=critical,CA:TRUE",
    "-addext",
    "keyUsage=critical,keyCertSign,cRLSign",
  );
}

async function makeLeaf(
  dir: string,
  name: string,
  ca: string,
  subject: string,
  extensions: string,
): Promise<CertAndKey> {
  await openssl(
    dir,
    "req",
    ...KEY_ARGS,
    "-keyout",
    `${name}.key`,
    "-out",
    `${name}.csr`,
    "-subj",
    subject,
  );
  await Deno.writeTextFile(`${dir}/${name}.ext`, extensions);
  await openssl(
    dir,
    "x509",
    "-req",
    "-in",
    `${name}.csr`,
    "-CA",
    `${ca}.crt`,
    "-CAkey",
    `${ca}.key`,
    "-CAcreateserial",
    "-out",
    `${name}.crt`,
    "-days",
    "2",
    "-extfile",
    `${name}.ext`,
  );
  return {
    cert: await Deno.readTextFile(`${dir}/${name}.crt`),
    key: await Deno.readTextFile(`${dir}/${name}.key`),
  };
}

async function makeFixture(): Promise<TlsFixture> {
  const dir = await Deno.makeTempDir({ prefix: "lime_tls_" });
  try {
    await makeCa(dir, "ca", "/CN=LIME Test CA");
    await makeCa(dir, "other_ca", "/CN=Other Test CA");
    const leaf = "basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\n";
    const server = await makeLeaf(
      dir,
      "server",
      "ca",
      "/CN=localhost",
      `${leaf}extendedKeyUsage=serverAuth\nsubjectAltName=DNS:localhost,IP:127.0.0.1\n`,
    );
    const client = await makeLeaf(
      dir,
      "client",
      "ca",
      "/CN=alice@localhost",
      `${leaf}extendedKeyUsage=clientAuth\nsubjectAltName=DNS:alice.localhost\n`,
    );
    const otherClient = await makeLeaf(
      dir,
      "other_client",
      "other_ca",
      "/CN=mallory@localhost",
      `${leaf}extendedKeyUsage=clientAuth\n`,
    );
    const intermediate = await makeLeaf(
      dir,
      "intermediate",
      "ca",
      "/CN=LIME Intermediate CA",
      "basicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign,cRLSign\n",
    );
    const chainLeaf = await makeLeaf(
      dir,
      "chain_client",
      "intermediate",
      "/CN=bob@localhost",
      `${leaf}extendedKeyUsage=clientAuth\n`,
    );
    return {
      chainClient: { cert: chainLeaf.cert + intermediate.cert, key: chainLeaf.key },
      ca: await Deno.readTextFile(`${dir}/ca.crt`),
      otherCa: await Deno.readTextFile(`${dir}/other_ca.crt`),
      server,
      client,
      otherClient,
    };
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}
