// Puts the operator together: configuration → clients, metrics, Events, the webhook certificate and
// server, health endpoints, the operator's controllers, and leader election that starts and stops
// them. Returns a handle whose `stop()` shuts everything down gracefully (no process exit).
import { isIPv6 } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { group, kinds, type SpiderIPPool, type SpiderSubnet, version } from '../api/index.js';
import { objectNames } from '../api/install/names.js';
import { loadKubeConfig } from '../kube/client.js';
import { unlessNotFound } from '../kube/errors.js';
import { resourcePath } from '../kube/resource.js';
import { RestClient } from '../kube/rest.js';
import {
  controllingMultusConfig,
  type NetworkAttachmentDefinition,
  nadGroup,
  nadPlural,
  nadVersion,
} from '../multus/ownership.js';
import type { OperatorConfig } from './config/index.js';
import type { WebhookTarget } from './controllers/webhook-configurations.js';
import { EventRecorder } from './events/recorder.js';
import { Backoff } from './framework/backoff.js';
import { LeaderElector } from './leader/elector.js';
import { HttpEndpoints } from './observability/http.js';
import type { Logger } from './observability/log.js';
import { OperatorMetrics } from './observability/metrics.js';
import { SpiderpoolOperator, type SpiderpoolOperatorOptions } from './spiderpool-operator.js';
import { servingIdentity } from './webhook/certs.js';
import { makeReviews } from './webhook/handlers.js';
import { WebhookServer } from './webhook/server.js';
import { type CertBundle, CertificateSource } from './webhook/tls-secret.js';

// The names are the installation's (api/install/names.ts), so RBAC resourceNames and manifests match.
export const leaseName = objectNames.leaderLease;
export const webhookServiceName = objectNames.webhookService;
export const webhookSecretName = objectNames.webhookTlsSecret;
export const component = objectNames.operatorDeployment;

export type OperatorFactory = (opts: SpiderpoolOperatorOptions) => SpiderpoolOperator;

export interface RunOptions {
  log: Logger;
  /** Another operator class built on SpiderpoolOperator (tests add their own controllers). */
  createOperator?: OperatorFactory;
  /** How often the certificate Secret is re-read (renewals by other replicas), default 60 s. */
  certificatePollMs?: number;
}

export interface RunningOperator {
  readonly operator: SpiderpoolOperator;
  readonly metrics: OperatorMetrics;
  readonly ports: { webhook: number; metrics: number; health: number };
  isLeader(): boolean;
  stop(): Promise<void>;
}

export async function runOperator(config: OperatorConfig, run: RunOptions): Promise<RunningOperator> {
  const log = run.log;
  const kubeConfig = loadKubeConfig(config.kubeconfig);
  const rest = new RestClient(kubeConfig);
  const metrics = new OperatorMetrics();
  const recorder = new EventRecorder({ rest, component, host: config.identity, log, metrics });

  let bundle: CertBundle | undefined;
  let urlBase: string | undefined;
  const certs = certificateSource(config, rest, log);
  const webhookTarget = (): WebhookTarget | undefined =>
    bundle ? { caBundleB64: Buffer.from(bundle.caBundle).toString('base64'), urlBase } : undefined;

  const operator = (run.createOperator ?? ((o) => new SpiderpoolOperator(o)))({
    kubeConfig,
    kubeconfigPath: config.kubeconfig,
    log,
    metrics,
    concurrency: config.workers,
    ipam: config.ipam,
    recorder,
    webhookTarget,
    installNamespace: config.namespace,
    noAddressAfterMs: config.noAddressAfterMs,
  });

  let elector: LeaderElector | undefined;
  const webhook = admissionServer(config, rest, log, metrics);
  const http = healthEndpoints(config, metrics, log, {
    leading: () => (elector ? elector.isLeader : undefined),
    webhookListening: () => webhook.listening,
    synced: () => operator.hasSynced,
  });
  // Health first: a replica waiting for the API server is alive, only not ready.
  await http.start();

  let stopping = false;
  bundle = await loadCertificate(certs, log);
  await webhook.start(bundle);
  if (config.webhookUrlHost) {
    const host = isIPv6(config.webhookUrlHost) ? `[${config.webhookUrlHost}]` : config.webhookUrlHost;
    urlBase = `https://${host}:${webhook.port}`;
  }

  const poll = pollCertificate(certs, run.certificatePollMs ?? 60_000, log, (fresh) => {
    if (stopping || !bundle || (fresh.cert === bundle.cert && fresh.caBundle === bundle.caBundle)) return;
    bundle = fresh;
    webhook.updateCertificate(fresh);
    log.info('webhook certificate reloaded');
    operator.refreshWebhookConfigurations();
  });

  await operator.start();
  elector = await startLeading({ config, rest, operator, metrics, recorder, log });

  return {
    operator,
    metrics,
    ports: { webhook: webhook.port, ...http.ports },
    isLeader: () => (elector ? elector.isLeader : true),
    async stop() {
      stopping = true;
      clearInterval(poll);
      // The leader stops its controllers before it releases the Lease.
      await elector?.stop();
      await operator.stop();
      metrics.leader.set(0);
      await webhook.stop();
      await http.stop();
      rest.close();
      log.info('operator stopped');
    },
  };
}

/** The webhook's serving certificate: the installation's Secret, or the user's when conf.yml names one. */
function certificateSource(config: OperatorConfig, rest: RestClient, log: Logger): CertificateSource {
  return new CertificateSource({
    rest,
    namespace: config.namespace,
    secretName: config.webhookTlsSecret ?? webhookSecretName,
    userProvided: config.webhookTlsSecret !== undefined,
    identity: servingIdentity(
      webhookServiceName,
      config.namespace,
      config.webhookUrlHost ? [config.webhookUrlHost] : [],
    ),
    log,
  });
}

/** The admission webhook's server, with the reads of the cluster its reviews make. */
function admissionServer(
  config: OperatorConfig,
  rest: RestClient,
  log: Logger,
  metrics: OperatorMetrics,
): WebhookServer {
  const listOf = async <T>(plural: string): Promise<T[]> =>
    (await rest.get<{ items?: T[] }>(resourcePath({ group, version, plural }))).items ?? [];
  return new WebhookServer({
    port: config.webhookPort,
    host: config.bindAddress,
    reviews: makeReviews({
      ipam: config.ipam,
      listPools: () => listOf<SpiderIPPool>(kinds.ippool.plural),
      listSubnets: () => listOf<SpiderSubnet>(kinds.subnet.plural),
      getNad: async (namespace, name) => {
        const ref = { group: nadGroup, version: nadVersion, plural: nadPlural, namespace };
        // No such NAD, or no NAD CRD at all: nothing to conflict with.
        const nad = await unlessNotFound(rest.get<NetworkAttachmentDefinition>(resourcePath(ref, name)));
        return nad ? { ownerMultusConfig: controllingMultusConfig(nad) } : undefined;
      },
    }),
    log,
    metrics,
  });
}

/**
 * Re-reads the certificate Secret every `pollMs` (renewals by other replicas) and hands each read to
 * `loaded`; returns the timer, which does not keep the process alive.
 */
function pollCertificate(
  certs: CertificateSource,
  pollMs: number,
  log: Logger,
  loaded: (fresh: CertBundle) => void,
): NodeJS.Timeout {
  const poll = setInterval(() => {
    certs
      .load()
      .then(loaded, (err: unknown) => log.warn('re-reading the webhook certificate failed', { error: err }));
  }, pollMs);
  poll.unref();
  return poll;
}

/** Loads the webhook's serving certificate, retrying with backoff until the API server gives it. */
async function loadCertificate(certs: CertificateSource, log: Logger): Promise<CertBundle> {
  const backoff = new Backoff({ initialMs: 500, maxMs: 30_000 });
  for (;;) {
    try {
      return await certs.load();
    } catch (err) {
      const delay = backoff.next();
      log.error('loading the webhook certificate failed; retrying', { retryInMs: delay, error: err });
      await sleep(delay);
    }
  }
}

/** /healthz and /readyz (and /metrics): alive while waiting for the API server, ready once serving. */
function healthEndpoints(
  config: OperatorConfig,
  metrics: OperatorMetrics,
  log: Logger,
  state: { leading: () => boolean | undefined; webhookListening: () => boolean; synced: () => boolean },
): HttpEndpoints {
  return new HttpEndpoints({
    host: config.bindAddress,
    metricsPort: config.metricsPort,
    healthPort: config.healthPort,
    metrics,
    log,
    healthz: () => {
      const leading = state.leading();
      return {
        ok: true,
        detail: `ok (${leading === undefined ? 'no leader election' : leading ? 'leader' : 'follower'})`,
      };
    },
    readyz: () => {
      if (!state.webhookListening()) return { ok: false, detail: 'webhook server not listening yet' };
      if (state.leading() === false) return { ok: true, detail: 'ready (follower)' };
      return state.synced()
        ? { ok: true, detail: 'ready (watches synced)' }
        : { ok: false, detail: 'watches not synced yet' };
    },
  });
}

interface LeadingParts {
  config: OperatorConfig;
  rest: RestClient;
  operator: SpiderpoolOperator;
  metrics: OperatorMetrics;
  recorder: EventRecorder;
  log: Logger;
}

/**
 * Runs the controllers while this replica holds the Lease (with --leader-elect), else at once.
 * Returns the elector, if any.
 */
async function startLeading(p: LeadingParts): Promise<LeaderElector | undefined> {
  const { config, operator, metrics } = p;
  if (!config.leaderElect) {
    metrics.leader.set(1);
    await operator.activate();
    return undefined;
  }
  const elector = new LeaderElector({
    rest: p.rest,
    namespace: config.namespace,
    name: leaseName,
    identity: config.identity,
    leaseDurationMs: config.leaseDurationMs,
    renewDeadlineMs: config.renewDeadlineMs,
    retryPeriodMs: config.retryPeriodMs,
    log: p.log,
    onStartedLeading: async () => {
      metrics.leader.set(1);
      await operator.activate();
      void recordLeaderEvent(p.rest, p.recorder, config, 'became leader');
    },
    onStoppedLeading: async () => {
      metrics.leader.set(0);
      await operator.deactivate();
    },
  });
  elector.start();
  return elector;
}

/** A LeaderElection Event on the Lease, as client-go's elector records one. */
async function recordLeaderEvent(
  rest: RestClient,
  recorder: EventRecorder,
  config: OperatorConfig,
  what: string,
): Promise<void> {
  try {
    const lease = await rest.get<{ metadata: { uid: string; resourceVersion: string } }>(
      `/apis/coordination.k8s.io/v1/namespaces/${config.namespace}/leases/${leaseName}`,
    );
    await recorder.record(
      {
        apiVersion: 'coordination.k8s.io/v1',
        kind: 'Lease',
        metadata: { name: leaseName, namespace: config.namespace, uid: lease.metadata.uid },
      },
      'Normal',
      'LeaderElection',
      `${config.identity} ${what}`,
    );
  } catch {
    // An Event is informational; the election itself already succeeded.
  }
}
