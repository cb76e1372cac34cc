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
import { unlessNotFound } from './errors.js';
import { resourcePath } from './resource.js';
import type { RestClient } from './rest.js';

export class KubeVirtApi {
  constructor(private readonly rest: RestClient) {}

  private get<T>(plural: string, namespace: string, name: string): Promise<T | undefined> {
    return unlessNotFound(
      this.rest.get<T>(
        resourcePath({ group: kubevirtGroup, version: kubevirtVersion, plural, namespace }, name),
      ),
    );
  }

  getVM(namespace: string, name: string): Promise<VirtualMachine | undefined> {
    return this.get(kubevirtKinds.vm.plural, namespace, name);
  }

  getVMI(namespace: string, name: string): Promise<VirtualMachineInstance | undefined> {
    return this.get(kubevirtKinds.vmi.plural, namespace, name);
  }

  getMigration(namespace: string, name: string): Promise<VirtualMachineInstanceMigration | undefined> {
    return this.get(kubevirtKinds.vmim.plural, namespace, name);
  }
}
