// Probes one interface for other hosts using the candidate addresses: ARP for IPv4, duplicate
// address detection for IPv6, `tries` times with `timeoutMs` of listening each (Spiderpool: 3 and
// 100 ms). Silence means free.
import { isIP } from 'node:net';
import type { Libc } from './linux.js';
import { arpProbe, dadSolicitation, etherType, isArpConflict, isDadConflict, macString } from './packets.js';

export interface ProbeOptions {
  tries: number;
  timeoutMs: number;
}

export const probeDefaults: ProbeOptions = { tries: 3, timeoutMs: 100 };

export interface ProbeResult {
  address: string;
  conflict: boolean;
  /** The MAC address of the host that answered. */
  mac?: string;
}

export function probeAddress(libc: Libc, ifname: string, address: string, opts: ProbeOptions): ProbeResult {
  const family = isIP(address);
  if (family === 0) throw new Error(`not an IP address: ${JSON.stringify(address)}`);
  const v4 = family === 4;
  const socket = libc.openPacketSocket(ifname, v4 ? etherType.arp : etherType.ipv6, !v4);
  try {
    const ourMac = macString(socket.mac);
    const frame = v4 ? arpProbe(socket.mac, address) : dadSolicitation(socket.mac, address);
    const conflicting = v4 ? isArpConflict : isDadConflict;
    for (let attempt = 0; attempt < opts.tries; attempt++) {
      socket.send(frame);
      const deadline = performance.now() + opts.timeoutMs;
      for (;;) {
        const left = deadline - performance.now();
        if (left <= 0) break;
        const received = socket.receive(left);
        if (!received) break;
        if (conflicting(received, ourMac, address))
          return { address, conflict: true, mac: macString(received.subarray(6, 12)) };
      }
    }
    return { address, conflict: false };
  } finally {
    socket.close();
  }
}
