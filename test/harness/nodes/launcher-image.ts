// The stand-in virt-launcher image of the test bed's real nodes, under the name virt-controller
// v1.6.0 puts in launcher pods when given no --launcher-image (`virt-launcher`, which kubelet and
// containerd read as docker.io/library/virt-launcher:latest). Built with the same code as `npm run
// image`, from Debian's busybox-static and two scripts at the paths a launcher pod runs: the compute
// container's /usr/bin/virt-launcher-monitor and the guest-console-log sidecar's /usr/bin/virt-tail
// (pkg/virt-controller/services/template.go and serialconsolelog.go). They stay up and end with
// exit 0 on SIGTERM within a second, as a launcher whose domain is gone exits; no QEMU, no disk
// image (the VMs of these tests have no containerDisk, so no container-disk init containers run).
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildOciArchive, type ImageBuild } from '../../../build/image.js';

export const launcherImage = { repository: 'docker.io/library/virt-launcher', tag: 'latest' } as const;

/** Paths a launcher pod's containers execute. */
export const launcherCommands = ['/usr/bin/virt-launcher-monitor', '/usr/bin/virt-tail'] as const;

/**
 * Stays up until SIGTERM or SIGINT, then exits 0. A shell runs a trap only between commands, so it
 * waits in one-second sleeps rather than one long one.
 */
export const stayUpScript = `#!/bin/busybox sh
trap 'exit 0' TERM INT
while :; do /bin/busybox sleep 1; done
`;

/** Writes the scripts into `dir` and builds the image's OCI archive there. */
export function buildLauncherImage(dir: string): ImageBuild {
  mkdirSync(dir, { recursive: true });
  const script = join(dir, 'stay-up.sh');
  writeFileSync(script, stayUpScript, { mode: 0o755 });
  return buildOciArchive({
    files: {
      '/bin/busybox': '/bin/busybox',
      ...Object.fromEntries(launcherCommands.map((path) => [path, script])),
    },
    withLibraries: false,
    entrypoint: ['/usr/bin/virt-launcher-monitor'],
    tag: launcherImage.tag,
    out: join(dir, 'virt-launcher.oci.tar'),
  });
}
