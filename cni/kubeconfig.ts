// The API server a kubeconfig points at, read without loading @kubernetes/client-node (~40 ms of a
// ~25 ms process start otherwise): what a process needs to name its coordination scope, so a
// follower that leaves every API call to the leader never pays for the client library.
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';

interface KubeconfigDoc {
  'current-context'?: string;
  contexts?: Array<{ name?: string; context?: { cluster?: string } }>;
  clusters?: Array<{ name?: string; cluster?: { server?: string } }>;
}

export function kubeconfigServer(path: string): string {
  let doc: KubeconfigDoc;
  try {
    doc = parse(readFileSync(path, 'utf8')) as KubeconfigDoc;
  } catch (err) {
    throw new Error(`kubeconfig ${path}: ${(err as Error).message}`);
  }
  const context = doc?.contexts?.find((c) => c.name === doc['current-context'])?.context;
  const server = doc?.clusters?.find((c) => c.name === context?.cluster)?.cluster?.server;
  if (!server)
    throw new Error(
      `kubeconfig ${path}: no server for the current context ${JSON.stringify(doc?.['current-context'])}`,
    );
  return server;
}
