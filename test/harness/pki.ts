// Certificates and keys of a local control plane, made with openssl.
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface Pki {
  caCert: string;
  caKey: string;
  apiserverCert: string;
  apiserverKey: string;
  serviceAccountKey: string;
  serviceAccountPub: string;
}

function openssl(dir: string, args: string[]): void {
  execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
}

/** Signs `<name>.csr` with the CA in `dir`, with the extensions in `<name>.ext`, into `<name>.crt`. */
function signWithCa(dir: string, name: string): void {
  openssl(dir, [
    'x509',
    '-req',
    '-in',
    `${name}.csr`,
    '-CA',
    'ca.crt',
    '-CAkey',
    'ca.key',
    '-CAcreateserial',
    '-days',
    '3650',
    '-extfile',
    `${name}.ext`,
    '-out',
    `${name}.crt`,
  ]);
}

/**
 * Writes a CA, a kube-apiserver serving certificate signed by it and a service-account key pair into
 * `dir`; reuses files that already exist, so a restarted control plane keeps its identity. The
 * serving certificate is made again when `extraIps` (addresses besides 127.0.0.1 the API server
 * listens on) change.
 */
export function ensurePki(dir: string, extraIps: string[] = []): Pki {
  const pki: Pki = {
    caCert: join(dir, 'ca.crt'),
    caKey: join(dir, 'ca.key'),
    apiserverCert: join(dir, 'apiserver.crt'),
    apiserverKey: join(dir, 'apiserver.key'),
    serviceAccountKey: join(dir, 'sa.key'),
    serviceAccountPub: join(dir, 'sa.pub'),
  };
  if (!existsSync(pki.caCert)) {
    openssl(dir, [
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-days',
      '3650',
      '-subj',
      '/CN=spiderpool-ts-test-ca',
      '-keyout',
      'ca.key',
      '-out',
      'ca.crt',
    ]);
  }
  // Go clients refuse certificates without a SAN; 10.0.0.1 is the first address of the service range.
  const apiserverExt = `subjectAltName=IP:127.0.0.1,DNS:localhost,IP:10.0.0.1,DNS:kubernetes,DNS:kubernetes.default.svc${extraIps
    .map((ip) => `,IP:${ip}`)
    .join('')}\nextendedKeyUsage=serverAuth\n`;
  const extFile = join(dir, 'apiserver.ext');
  const sameSans = existsSync(extFile) && readFileSync(extFile, 'utf8') === apiserverExt;
  if (!existsSync(pki.apiserverCert) || !sameSans) {
    openssl(dir, [
      'req',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-subj',
      '/CN=kube-apiserver',
      '-keyout',
      'apiserver.key',
      '-out',
      'apiserver.csr',
    ]);
    writeFileSync(extFile, apiserverExt);
    signWithCa(dir, 'apiserver');
  }
  if (!existsSync(pki.serviceAccountKey)) {
    openssl(dir, ['genrsa', '-out', 'sa.key', '2048']);
    openssl(dir, ['rsa', '-in', 'sa.key', '-pubout', '-out', 'sa.pub']);
  }
  return pki;
}

/**
 * A serving certificate for 127.0.0.1 signed by the control plane's CA (in `dir`, next to it), for
 * webhooks the API server calls: `<name>.crt` and `<name>.key`, made once.
 */
export function ensureServingCert(dir: string, name: string): { cert: string; key: string } {
  const cert = join(dir, `${name}.crt`);
  const key = join(dir, `${name}.key`);
  if (!existsSync(cert)) {
    const req = ['req', '-newkey', 'rsa:2048', '-nodes', '-subj', `/CN=${name}`];
    openssl(dir, [...req, '-keyout', `${name}.key`, '-out', `${name}.csr`]);
    writeFileSync(
      join(dir, `${name}.ext`),
      'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n',
    );
    signWithCa(dir, name);
  }
  return { cert, key };
}
