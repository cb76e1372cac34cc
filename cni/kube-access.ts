// The plugin's way to the API server: the kubeconfig named by the network configuration (written by
// `spiderpool install`), and a deadline on every call so a hung API server cannot hang a CNI call.
import { existsSync } from 'node:fs';
import type { KubeConfig } from '@kubernetes/client-node';
import { loadKubeConfig } from '../kube/client.js';

/** Loads the kubeconfig, with an error that names the file. */
export function pluginKubeConfig(path: string): KubeConfig {
  if (!existsSync(path))
    throw new Error(`kubeconfig ${path} does not exist (is spiderpool installed on this node?)`);
  try {
    return loadKubeConfig(path);
  } catch (err) {
    throw new Error(`kubeconfig ${path}: ${(err as Error).message}`);
  }
}

export class DeadlineExceeded extends Error {
  constructor(what: string, ms: number) {
    super(`${what}: no answer within ${ms} ms`);
    this.name = 'DeadlineExceeded';
  }
}

/** Races `work` against a timer; the timer never keeps the process alive. */
export async function withDeadline<T>(work: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new DeadlineExceeded(what, ms)), ms);
    timer.unref?.();
  });
  try {
    return await Promise.race([work, expired]);
  } finally {
    clearTimeout(timer);
  }
}
