// virt-api's admission of VirtualMachineInstanceMigrations, which the test bed does not run: the
// mutating part labels a new migration with its VMI (`kubevirt.io/vmi-name`) and adds the finalizer
// `kubevirt.io/migrationJobFinalize` (virt-controller removes it when the migration is final, which
// lets it see a deletion of a running migration as an abort request); the validating part refuses a
// migration of a VMI that is missing or final, whose LiveMigratable condition is False ("Cannot migrate
// VMI, Reason: InterfaceNotLiveMigratable, ..."), or that already has a migration in flight.
// Served over TLS with a certificate from the control plane's CA, registered with the API server as
// admission webhooks for kubevirt.io/v1 virtualmachineinstancemigrations CREATE.
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import {
  kubevirtGroup,
  kubevirtKinds,
  kubevirtLabels,
  kubevirtVersion,
  type VirtualMachineInstance,
  type VirtualMachineInstanceMigration,
} from '../../../api/index.js';
import { isNotFound } from '../../../kube/errors.js';
import type { RestClient } from '../../../kube/rest.js';

export const migrationFinalizer = 'kubevirt.io/migrationJobFinalize';

interface AdmissionReview {
  apiVersion: string;
  kind: string;
  request?: { uid: string; operation: string; object?: VirtualMachineInstanceMigration };
}

type Verdict = { allowed: true; patch?: unknown[] } | { allowed: false; message: string };

function escapeJsonPointer(key: string): string {
  return key.replace(/~/g, '~0').replace(/\//g, '~1');
}

/** The JSON patch virt-api's mutator applies to a new migration. */
export function mutateMigration(vmim: VirtualMachineInstanceMigration): unknown[] {
  const patch: unknown[] = [];
  const vmiName = vmim.spec?.vmiName ?? '';
  if (!vmim.metadata.labels) patch.push({ op: 'add', path: '/metadata/labels', value: {} });
  patch.push({
    op: 'add',
    path: `/metadata/labels/${escapeJsonPointer(kubevirtLabels.vmiName)}`,
    value: vmiName,
  });
  const finalizers = vmim.metadata.finalizers ?? [];
  if (!finalizers.includes(migrationFinalizer))
    patch.push({ op: 'add', path: '/metadata/finalizers', value: [...finalizers, migrationFinalizer] });
  return patch;
}

const final = (phase: string | undefined) => phase === 'Succeeded' || phase === 'Failed';

/** virt-api's create admission of a migration, against the VMI and migrations as they are now. */
export async function admitMigration(
  rest: RestClient,
  vmim: VirtualMachineInstanceMigration,
): Promise<Verdict> {
  const namespace = vmim.metadata.namespace ?? '';
  const vmiName = vmim.spec?.vmiName;
  if (!vmiName) return { allowed: false, message: 'spec.vmiName is required' };
  const base = `/apis/${kubevirtGroup}/${kubevirtVersion}/namespaces/${namespace}`;
  let vmi: VirtualMachineInstance;
  try {
    vmi = await rest.get<VirtualMachineInstance>(`${base}/${kubevirtKinds.vmi.plural}/${vmiName}`);
  } catch (err) {
    if (isNotFound(err))
      return { allowed: false, message: `the VMI "${namespace}/${vmiName}" does not exist` };
    throw err;
  }
  if (final(vmi.status?.phase))
    return { allowed: false, message: `Cannot migrate VMI in finalized state: ${vmi.status?.phase}` };
  const conditions = (vmi.status as { conditions?: Array<Record<string, string>> } | undefined)?.conditions;
  const notMigratable = conditions?.find((c) => c.type === 'LiveMigratable' && c.status === 'False');
  if (notMigratable)
    return {
      allowed: false,
      message: `Cannot migrate VMI, Reason: ${notMigratable.reason}, Message: ${notMigratable.message}`,
    };
  const others = await rest.get<{ items: VirtualMachineInstanceMigration[] }>(
    `${base}/${kubevirtKinds.vmim.plural}`,
    { query: { labelSelector: `${kubevirtLabels.vmiName}=${vmiName}` } },
  );
  const inFlight = others.items.find((m) => m.metadata.uid !== vmim.metadata.uid && !final(m.status?.phase));
  if (inFlight)
    return {
      allowed: false,
      message: `in-flight migration detected. Active migration job (${inFlight.metadata.uid}) is currently already in progress for VMI ${vmiName}.`,
    };
  return { allowed: true };
}

export interface MigrationWebhook {
  url(path: 'mutate' | 'validate'): string;
  close(): Promise<void>;
}

/** Serves both webhooks on 127.0.0.1 (a free port). */
export async function serveMigrationWebhook(
  rest: RestClient,
  tls: { cert: string; key: string },
  log: (line: string) => void,
): Promise<MigrationWebhook> {
  const server: Server = createServer(
    { cert: readFileSync(tls.cert), key: readFileSync(tls.key) },
    (req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        void (async () => {
          const review = JSON.parse(Buffer.concat(chunks).toString('utf8')) as AdmissionReview;
          const request = review.request;
          let verdict: Verdict = { allowed: true };
          if (request?.object && request.operation === 'CREATE') {
            verdict = req.url?.startsWith('/mutate')
              ? { allowed: true, patch: mutateMigration(request.object) }
              : await admitMigration(rest, request.object);
          }
          if (!verdict.allowed)
            log(`webhook: refused migration ${request?.object?.metadata.name}: ${verdict.message}`);
          const response = {
            uid: request?.uid,
            allowed: verdict.allowed,
            ...(!verdict.allowed
              ? { status: { code: 422, message: verdict.message, reason: 'Invalid' } }
              : {}),
            ...(verdict.allowed && verdict.patch
              ? {
                  patchType: 'JSONPatch',
                  patch: Buffer.from(JSON.stringify(verdict.patch)).toString('base64'),
                }
              : {}),
          };
          res.setHeader('Content-Type', 'application/json');
          res.end(JSON.stringify({ apiVersion: review.apiVersion, kind: review.kind, response }));
        })().catch((err: unknown) => {
          log(`webhook: ${(err as Error).message}`);
          res.statusCode = 500;
          res.end();
        });
      });
    },
  );
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  return {
    url: (path) => `https://127.0.0.1:${port}/${path}-vmim`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** Labels the agent's admission configurations with the process serving them. */
export const servingPidLabel = 'spiderpool-ts.test/node-agent-pid';

/** The admission configurations that send migration creates to the agent's webhook. */
export function webhookConfigurations(name: string, webhook: MigrationWebhook, caBundle: string) {
  const metadata = { name, labels: { [servingPidLabel]: String(process.pid) } };
  const common = {
    rules: [
      {
        apiGroups: [kubevirtGroup],
        apiVersions: [kubevirtVersion],
        operations: ['CREATE'],
        resources: [kubevirtKinds.vmim.plural],
      },
    ],
    sideEffects: 'None',
    admissionReviewVersions: ['v1'],
    failurePolicy: 'Fail',
    timeoutSeconds: 10,
  };
  return {
    mutating: {
      apiVersion: 'admissionregistration.k8s.io/v1',
      kind: 'MutatingWebhookConfiguration',
      metadata,
      webhooks: [
        {
          name: 'migration-create-mutator.kubevirt.io',
          clientConfig: { url: webhook.url('mutate'), caBundle },
          ...common,
        },
      ],
    },
    validating: {
      apiVersion: 'admissionregistration.k8s.io/v1',
      kind: 'ValidatingWebhookConfiguration',
      metadata,
      webhooks: [
        {
          name: 'migration-create-validator.kubevirt.io',
          clientConfig: { url: webhook.url('validate'), caBundle },
          ...common,
        },
      ],
    },
  };
}
