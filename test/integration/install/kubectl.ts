// kubectl against a test control plane: the tool users install with. It sends manifests as they are
// written; client-node's typed CustomResourceDefinition calls would drop `x-kubernetes-validations`
// under `properties` (its serializer expects camelCase model fields), so CRDs are applied with it.
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { group, kinds } from '../../../api/index.js';
import { kubectlBinary } from '../../harness/binaries.js';

const run = promisify(execFile);
let binary: string | undefined;

export interface KubectlResult {
  stdout: string;
  stderr: string;
}

/** Runs kubectl; rejects with kubectl's stderr in the message when it exits non-zero. */
export async function kubectl(kubeconfig: string, args: string[]): Promise<KubectlResult> {
  try {
    binary ??= kubectlBinary();
    return await run(binary, ['--kubeconfig', kubeconfig, ...args], { maxBuffer: 16 << 20 });
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    throw new Error(`kubectl ${args.join(' ')}: ${e.stderr?.trim() || e.message}`);
  }
}

/** Server-side apply of files or folders, taking over fields other managers set. */
export function apply(kubeconfig: string, paths: string[], extra: string[] = []): Promise<KubectlResult> {
  return kubectl(kubeconfig, [
    'apply',
    '--server-side',
    '--force-conflicts',
    '--field-manager=spiderpool-ts-install-test',
    ...paths.flatMap((p) => ['-f', p]),
    ...extra,
  ]);
}

export const repoCrdsDir = join(process.cwd(), 'crds');

/** Fully qualified, so that another group's kind of the same name cannot make them ambiguous. */
const served = Object.values(kinds).map((k) => `${k.plural}.${group}`);

/** Applies crds/ and waits until the API server serves every CRD. Never deletes them (shared). */
export async function ensureRepoCrds(kubeconfig: string): Promise<void> {
  await apply(kubeconfig, [repoCrdsDir]);
  await kubectl(kubeconfig, ['wait', '--for=condition=Established', '--timeout=60s', '-f', repoCrdsDir]);
  // A just-established CRD answers 429 until its watch cache is ready; kubectl waits that out, so
  // clients without retries (client-node) find the resources served afterwards.
  await kubectl(kubeconfig, ['get', served.join(','), '-A']);
}

export const fixture = (name: string) => join(process.cwd(), 'test/integration/install/fixtures', name);
