// The test bed's stand-in for Multus on real nodes: a CNI meta plugin that containerd calls from the
// node's CNI configuration (nodes/config.ts `multusConflist`), delegating as delegation.ts describes.
// Multus itself cannot be built here (every github.com/k8snetworkplumbingwg/multus-cni/v4 version
// answers 403 from the Go module proxy), so this plays its documented delegation, not its code.
//
// ADD: reads the pod (CNI_ARGS names it) with the node's kubeconfig, attaches eth0 from the pod's
// default network or the configuration's `clusterNetwork`, then each network of the pod's
// `k8s.v1.cni.cncf.io/networks`, each delegate found in `binDir`; writes the pod's network-status;
// prints the default network's result. What was attached is kept in `cniDir`, so DEL runs the same
// delegates in reverse order even when the pod is gone. CHECK succeeds; VERSION answers.
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { KubeConfig, type V1Pod } from '@kubernetes/client-node';
import { multusAnnotations } from '../../../api/index.js';
import { parseCniArgs } from '../../../cni/protocol/args.js';
import { CniError, ErrorCode, toErrorObject } from '../../../cni/protocol/errors.js';
import { versionInfo } from '../../../cni/protocol/versions.js';
import { contentTypes, RestClient } from '../../../kube/rest.js';
import {
  type Attachment,
  addAttachment,
  type DelegateEnv,
  delAttachment,
  networkStatus,
  planAttachments,
  readNetwork,
  type SandboxRef,
} from './delegation.js';
import { type MetaPluginConf, parseMetaConf } from './meta-conf.js';

interface Call {
  command: string;
  conf: MetaPluginConf;
  sandbox: SandboxRef;
}

function env(name: string): string {
  const value = process.env[name];
  if (!value) throw new CniError(ErrorCode.invalidEnvironment, `${name} is not set`);
  return value;
}

function readCall(stdin: string): Call {
  const conf = parseMetaConf(stdin);
  const args = parseCniArgs(process.env.CNI_ARGS);
  if (!args.podNamespace || !args.podName)
    throw new CniError(
      ErrorCode.invalidEnvironment,
      'CNI_ARGS: K8S_POD_NAMESPACE and K8S_POD_NAME are required',
    );
  return {
    command: env('CNI_COMMAND'),
    conf,
    sandbox: {
      namespace: args.podNamespace,
      podName: args.podName,
      podUid: args.podUid ?? '',
      containerId: env('CNI_CONTAINERID'),
      netnsPath: process.env.CNI_NETNS ?? '',
    },
  };
}

function delegateEnv(conf: MetaPluginConf): DelegateEnv {
  return { cniPath: [conf.binDir ?? '/opt/cni/bin'], localise: (c) => c };
}

const cachePath = (conf: MetaPluginConf, containerId: string) =>
  join(conf.cniDir ?? '/var/lib/cni/multus', `${containerId}.json`);

function rest(conf: MetaPluginConf): RestClient {
  const kc = new KubeConfig();
  kc.loadFromFile(conf.kubeconfig);
  return new RestClient(kc, 20_000);
}

async function add({ conf, sandbox }: Call): Promise<Record<string, unknown>> {
  const api = rest(conf);
  try {
    const pod = await api.get<V1Pod>(`/api/v1/namespaces/${sandbox.namespace}/pods/${sandbox.podName}`);
    if (sandbox.podUid && pod.metadata?.uid !== sandbox.podUid)
      throw new CniError(
        ErrorCode.tryAgainLater,
        `pod ${sandbox.namespace}/${sandbox.podName} has UID ${pod.metadata?.uid}, not ${sandbox.podUid}`,
      );
    const plans = planAttachments(pod, {
      multusNamespace: conf.multusNamespace ?? 'kube-system',
      ...(conf.clusterNetwork ? { clusterDefaultNetwork: conf.clusterNetwork } : {}),
    });
    const delegates = delegateEnv(conf);
    const attachments: Attachment[] = [];
    const keep = () => {
      mkdirSync(conf.cniDir ?? '/var/lib/cni/multus', { recursive: true });
      writeFileSync(cachePath(conf, sandbox.containerId), JSON.stringify(attachments));
    };
    try {
      for (const plan of plans) {
        const network = await readNetwork(api, plan);
        attachments.push(await addAttachment(delegates, sandbox, plan, network));
        keep();
      }
    } catch (err) {
      // A failed ADD leaves nothing behind: what was attached is deleted, newest first.
      for (const done of attachments.reverse()) await delAttachment(delegates, sandbox, done).catch(() => {});
      rmSync(cachePath(conf, sandbox.containerId), { force: true });
      throw err;
    }
    const statuses = attachments.map(networkStatus);
    await api.request('PATCH', `/api/v1/namespaces/${sandbox.namespace}/pods/${sandbox.podName}`, {
      contentType: contentTypes.mergePatch,
      body: {
        metadata: { annotations: { [multusAnnotations.networkStatus]: JSON.stringify(statuses, null, 2) } },
      },
    });
    const primary = attachments.find((a) => a.plan.isDefault) ?? attachments[0];
    return { ...(primary?.result ?? {}), cniVersion: conf.cniVersion };
  } finally {
    api.close();
  }
}

async function del({ conf, sandbox }: Call): Promise<void> {
  const file = cachePath(conf, sandbox.containerId);
  let attachments: Attachment[];
  try {
    attachments = JSON.parse(readFileSync(file, 'utf8')) as Attachment[];
  } catch {
    return; // nothing attached for this sandbox (or already deleted): DEL is idempotent
  }
  const delegates = delegateEnv(conf);
  const errors: string[] = [];
  for (const attachment of [...attachments].reverse())
    await delAttachment(delegates, sandbox, attachment).catch((err: Error) => errors.push(err.message));
  if (errors.length > 0) throw new CniError(ErrorCode.ioFailure, errors.join('; '));
  rmSync(file, { force: true });
}

async function main(): Promise<number> {
  const stdin = readFileSync(0, 'utf8');
  const command = process.env.CNI_COMMAND;
  let version = '1.0.0';
  try {
    if (command === 'VERSION') {
      process.stdout.write(JSON.stringify(versionInfo()));
      return 0;
    }
    const call = readCall(stdin);
    version = call.conf.cniVersion;
    if (call.command === 'ADD') process.stdout.write(JSON.stringify(await add(call)));
    else if (call.command === 'DEL') await del(call);
    else if (call.command !== 'CHECK')
      throw new CniError(ErrorCode.invalidEnvironment, `CNI_COMMAND: ${call.command} is not supported`);
    return 0;
  } catch (err) {
    process.stdout.write(JSON.stringify(toErrorObject(err, version)));
    return 1;
  }
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`${String(err)}\n`);
    process.exitCode = 1;
  },
);
