// The stage `npm run demo` plays on: the user's installation on two real nodes of the test bed
// (containerd, kubelet and kube-proxy each; the image of `npm run image` imported, the manifests of
// `npm run synth` applied unchanged with kubectl), KubeVirt's virt-controller, and the node agent as
// virt-handler only: kubelet starts the launcher pods, and the CNI chain containerd calls (the
// Multus stand-in in front, docs/testbed.md) makes their networks. `close()` stops everything it
// started, at most once (also from a signal handler).
import { join } from 'node:path';
import type { KubeConfig } from '@kubernetes/client-node';
import { kubeConfig } from '../test/harness/clients.js';
import type { ControlPlane } from '../test/harness/control-plane.js';
import { Installation } from '../test/harness/installation.js';
import { NodeAgent } from '../test/harness/node-agent/index.js';
import { containerDiskImage } from '../test/harness/nodes/launcher-image.js';

export interface NodesStageOptions {
  say: (line: string) => void;
  /** Multus's cluster network (`namespace/name`), a NetworkAttachmentDefinition the demo makes. */
  clusterNetwork: string;
}

export class NodesStage {
  installation: Installation | undefined;
  agent: NodeAgent | undefined;
  private closing: Promise<void> | undefined;
  /** The installation being started, so a close() meanwhile (Ctrl-C) waits for it and stops it. */
  private starting: Promise<Installation> | undefined;

  get admin(): KubeConfig {
    return kubeConfig('admin', this.controlPlane);
  }

  get controlPlane(): ControlPlane {
    if (!this.installation) throw new Error('the control plane is not running');
    return this.installation.cp;
  }

  async start(o: NodesStageOptions): Promise<void> {
    o.say(
      'building the plugin, the operator and their image (npm run image), starting the control plane with KubeVirt virt-controller and two nodes (containerd, kubelet, kube-proxy)',
    );
    const started = Date.now();
    this.starting = Installation.start('demo', {
      nodes: 2,
      kubevirt: { clusterNetwork: o.clusterNetwork },
      log: (line) => o.say(`  ${line}`),
    });
    this.installation = await this.starting;
    if (this.closing) return;
    o.say(`  up in ${((Date.now() - started) / 1000).toFixed(1)} s; the image imported into both nodes`);
    o.say('kubectl apply -f <what npm run synth wrote>, then the node DaemonSet and the operator rolled out');
    await this.installation.applyManifests();
    o.say(
      `starting the node agent as virt-handler of ${this.controlPlane.kubevirtNodes.join(' and ')} (kubelet is real)`,
    );
    this.agent = await NodeAgent.start({
      controlPlane: this.controlPlane,
      kubelet: false,
      dir: join(this.installation.work, 'agent'),
    });
  }

  /**
   * Stand-ins for containerDisk images (`repository:tag`), imported into every node: the nodes have
   * no registry to pull from.
   */
  async importContainerDisks(images: string[]): Promise<void> {
    const dir = join(this.installation?.work ?? '', 'disks');
    for (const image of images) {
      const at = image.lastIndexOf(':');
      const archive = containerDiskImage(dir, image.slice(at + 1));
      await this.controlPlane.importImage(archive.archive, image.slice(0, at));
    }
  }

  /** Stops the agent and the installation (nodes, containers, control plane); safe to call twice. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      await this.agent?.stop().catch(() => undefined);
      const installation = this.installation ?? (await this.starting?.catch(() => undefined));
      await installation?.stop().catch(() => undefined);
    })();
    return this.closing;
  }
}
