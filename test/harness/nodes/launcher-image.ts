// The stand-in virt-launcher image of the test bed's real nodes, under the name virt-controller
// v1.6.0 puts in launcher pods when given no --launcher-image (`virt-launcher`, which kubelet and
// containerd read as docker.io/library/virt-launcher:latest). Built with the same code as `npm run
// image`, from Debian's busybox-static and scripts at the paths a launcher pod runs
// (pkg/virt-controller/services/template.go, serialconsolelog.go, pkg/container-disk): the compute
// container's /usr/bin/virt-launcher-monitor and the guest-console-log sidecar's /usr/bin/virt-tail
// stay up and end with exit 0 on SIGTERM within a second, as a launcher whose domain is gone exits,
// or with exit 1 on SIGUSR1 (`failedDomainSignal`), as a target launcher whose migration failed ends;
// for a containerDisk volume, the init container's /usr/bin/cp copies /usr/bin/container-disk into
// the pod, where the disk image's containers run it (`--no-op` exits at once, else it stays up). No
// QEMU. A containerDisk's own image is `containerDiskImage`: busybox alone, for that script to run in.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildOciArchive, type ImageBuild } from '../../../build/image.js';

export const launcherImage = { repository: 'docker.io/library/virt-launcher', tag: 'latest' } as const;

/** Paths a launcher pod's containers execute that stay up. */
export const launcherCommands = ['/usr/bin/virt-launcher-monitor', '/usr/bin/virt-tail'] as const;

/**
 * The signal that tells a stand-in launcher its domain failed (a failed or aborted migration's
 * target): it exits 1, so kubelet reports its pod Failed. SIGTERM ends it with exit 0 (Succeeded).
 */
export const failedDomainSignal = 'SIGUSR1';

/**
 * Stays up until SIGTERM or SIGINT (then exits 0) or `failedDomainSignal` (then exits 1). A shell
 * runs a trap only between commands, so it waits in one-second sleeps rather than one long one.
 */
export const stayUpScript = `#!/bin/busybox sh
trap 'exit 0' TERM INT
trap 'exit 1' ${failedDomainSignal.replace(/^SIG/, '')}
while :; do /bin/busybox sleep 1; done
`;

/** The containerDisk containers' program: `--no-op` (the pre-pull init container) exits, else it stays up. */
export const containerDiskScript = `#!/bin/busybox sh
case " $* " in *" --no-op "*) exit 0 ;; esac
${stayUpScript.split('\n').slice(1).join('\n')}`;

/** The init container's /usr/bin/cp. */
const cpScript = `#!/bin/busybox sh
exec /bin/busybox cp "$@"
`;

function script(dir: string, name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text, { mode: 0o755 });
  return path;
}

/** Writes the scripts into `dir` and builds the image's OCI archive there. */
export function buildLauncherImage(dir: string): ImageBuild {
  mkdirSync(dir, { recursive: true });
  const stayUp = script(dir, 'stay-up.sh', stayUpScript);
  return buildOciArchive({
    files: {
      '/bin/busybox': '/bin/busybox',
      ...Object.fromEntries(launcherCommands.map((path) => [path, stayUp])),
      '/usr/bin/container-disk': script(dir, 'container-disk.sh', containerDiskScript),
      '/usr/bin/cp': script(dir, 'cp.sh', cpScript),
    },
    withLibraries: false,
    entrypoint: ['/usr/bin/virt-launcher-monitor'],
    tag: launcherImage.tag,
    out: join(dir, 'virt-launcher.oci.tar'),
  });
}

/**
 * A stand-in containerDisk image tagged `tag` (import it under the disk's repository): busybox only,
 * which runs the container-disk script the launcher's init container copies into the pod.
 */
export function containerDiskImage(dir: string, tag: string): ImageBuild {
  return buildOciArchive({
    files: { '/bin/busybox': '/bin/busybox' },
    withLibraries: false,
    entrypoint: ['/bin/busybox', 'sleep', '2147483647'],
    tag,
    out: join(dir, `container-disk-${tag}.oci.tar`),
  });
}
