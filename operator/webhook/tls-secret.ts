// Where the webhook's certificate comes from: either a Secret the operator manages itself (created
// on first start, shared by every replica, renewed before it expires) or a Secret the user provides
// (never written). Replicas may race to create or renew the Secret; every write is guarded (create
// fails on an existing Secret, updates carry the resourceVersion), and the loser adopts the winner's.
import { isAlreadyExists, isConflict, isNotFound } from '../../kube/errors.js';
import { resourcePath } from '../../kube/resource.js';
import type { RestClient } from '../../kube/rest.js';
import type { Logger } from '../observability/log.js';
import {
  certFacts,
  createCA,
  isConsistent,
  issueServing,
  type KeyPairPem,
  renewalReason,
  type ServingIdentity,
} from './certs.js';

export interface CertBundle {
  cert: string;
  key: string;
  /** PEM of every CA a client should trust (the current one first, then a retiring one). */
  caBundle: string;
}

interface Secret {
  apiVersion?: string;
  kind?: string;
  metadata: { name: string; namespace?: string; resourceVersion?: string };
  type?: string;
  data?: Record<string, string>;
}

const b64 = (s: string) => Buffer.from(s).toString('base64');
const unb64 = (s: string | undefined) => (s ? Buffer.from(s, 'base64').toString('utf8') : undefined);

/** Splits a PEM bundle into its certificates. */
export function splitPem(bundle: string): string[] {
  return (
    bundle.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g)?.map((c) => `${c}\n`) ?? []
  );
}

export interface CertificateSourceOptions {
  rest: RestClient;
  namespace: string;
  secretName: string;
  /** True for a Secret the user provides: read it, never write it. */
  userProvided: boolean;
  identity: ServingIdentity;
  log: Logger;
  now?: () => Date;
}

export class CertificateSource {
  constructor(private readonly opts: CertificateSourceOptions) {}

  private get path(): string {
    return resourcePath(
      { group: '', version: 'v1', plural: 'secrets', namespace: this.opts.namespace },
      this.opts.secretName,
    );
  }

  private get name(): string {
    return `${this.opts.namespace}/${this.opts.secretName}`;
  }

  /** The current certificate, creating or renewing it first when this replica manages it. */
  async load(): Promise<CertBundle> {
    for (let attempt = 0; ; attempt++) {
      const secret = await this.read();
      if (this.opts.userProvided) return this.fromUserSecret(secret);
      try {
        return await this.ensureManaged(secret);
      } catch (err) {
        // Another replica created or renewed it in between: read theirs.
        if ((isAlreadyExists(err) || isConflict(err)) && attempt < 5) continue;
        throw err;
      }
    }
  }

  private async read(): Promise<Secret | undefined> {
    try {
      return await this.opts.rest.get<Secret>(this.path);
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  }

  private fromUserSecret(secret: Secret | undefined): CertBundle {
    if (!secret) throw new Error(`webhook TLS Secret ${this.name} does not exist`);
    const get = (key: string) => {
      const v = unb64(secret.data?.[key]);
      if (!v) throw new Error(`webhook TLS Secret ${this.name}: key ${key} is missing or empty`);
      return v;
    };
    const bundle = { cert: get('tls.crt'), key: get('tls.key'), caBundle: get('ca.crt') };
    if (!splitPem(bundle.caBundle).some((ca) => isConsistent(bundle, ca)))
      throw new Error(
        `webhook TLS Secret ${this.name}: tls.crt is not signed by ca.crt or does not match tls.key`,
      );
    return bundle;
  }

  private async ensureManaged(secret: Secret | undefined): Promise<CertBundle> {
    const now = this.opts.now?.() ?? new Date();
    const data = secret?.data ?? {};
    const caCerts = splitPem(unb64(data['ca.crt']) ?? '');
    const current = caCerts[0];
    const caKey = unb64(data['ca.key']);
    const serving: KeyPairPem = { cert: unb64(data['tls.crt']) ?? '', key: unb64(data['tls.key']) ?? '' };

    let ca: KeyPairPem | undefined = current && caKey ? { cert: current, key: caKey } : undefined;
    let retiring: string[] = [];
    const caReason = ca ? renewalReason(certFacts(ca.cert), now.getTime()) : 'there is none';
    if (caReason) {
      this.opts.log.info('creating the webhook CA', { secret: this.name, reason: caReason });
      // Clients keep trusting the old CA until it expires, so certificates it signed stay valid.
      retiring = ca && certFacts(ca.cert).notAfter > now.getTime() ? [ca.cert] : [];
      ca = createCA('spiderpool-operator-webhook-ca', now);
    } else {
      retiring = caCerts.slice(1).filter((c) => certFacts(c).notAfter > now.getTime());
    }
    const caBundle = splitPem([ca?.cert ?? '', ...retiring].join('\n')).join('');
    const servingReason =
      caReason ??
      (serving.cert && ca && isConsistent(serving, ca.cert)
        ? renewalReason(certFacts(serving.cert), now.getTime(), this.opts.identity)
        : 'it is missing or not signed by the current CA');
    if (!servingReason && ca) return { ...serving, caBundle };

    this.opts.log.info('issuing the webhook serving certificate', {
      secret: this.name,
      reason: servingReason,
    });
    const fresh = issueServing(ca as KeyPairPem, this.opts.identity, now);
    const body: Secret = {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: {
        name: this.opts.secretName,
        namespace: this.opts.namespace,
        ...(secret?.metadata.resourceVersion ? { resourceVersion: secret.metadata.resourceVersion } : {}),
      },
      type: 'kubernetes.io/tls',
      data: {
        'tls.crt': b64(fresh.cert),
        'tls.key': b64(fresh.key),
        'ca.crt': b64(caBundle),
        'ca.key': b64((ca as KeyPairPem).key),
      },
    };
    if (secret) await this.opts.rest.request('PUT', this.path, { body });
    else
      await this.opts.rest.request(
        'POST',
        resourcePath({ group: '', version: 'v1', plural: 'secrets', namespace: this.opts.namespace }),
        { body },
      );
    return { ...fresh, caBundle };
  }
}
