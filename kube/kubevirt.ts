// Reads of KubeVirt objects (kubevirt.io/v1). A missing KubeVirt installation (no such resource)
// reads as "not found", so clusters without KubeVirt work unchanged.
import {
  kubevirtGroup,
  kubevirtKinds,
  kubevirtVersion,
  type VirtualMachine,
  type VirtualMachineInstance,
  type VirtualMachineInstanceMigration,
} from '../api/index.js';
import { isNotFound } from './errors.js';
import { resourcePath } from './resource.js';
import type { RestClient } from './rest.js';

async function orUndefined<T>(read: Promise<unknown>): Promise<T | undefined> {
  try {
    return (await read) as T;
  } catch (err) {
    if (isNotFound(err)) return undefined;
    throw err;
  }
}

export class KubeVirtApi {
  constructor(private readonly rest: RestClient) {}

  private get(plural: string, namespace: string, name: string) {
    return this.rest.get(
      resourcePath({ group: kubevirtGroup, version: kubevirtVersion, plural, namespace }, name),
    );
  }

  getVM(namespace: string, name: string): Promise<VirtualMachine | undefined> {
    return orUndefined(this.get(kubevirtKinds.vm.plural, namespace, name));
  }

  getVMI(namespace: string, name: string): Promise<VirtualMachineInstance | undefined> {
    return orUndefined(this.get(kubevirtKinds.vmi.plural, namespace, name));
  }

  getMigration(namespace: string, name: string): Promise<VirtualMachineInstanceMigration | undefined> {
    return orUndefined(this.get(kubevirtKinds.vmim.plural, namespace, name));
  }
}
