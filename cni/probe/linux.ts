// The system calls of the probes, through Bun's FFI to libc: enter a network namespace, open a
// packet socket on an interface, send a frame, wait for frames. Only the compiled plugin (Bun) runs
// this; it blocks the calling thread while it waits, so it runs in a short-lived child process
// (`spiderpool probe`) that nothing else needs, and setns(2) moves that process alone into the pod.
import { openSync } from 'node:fs';

// Linux ABI numbers from the kernel's uapi headers (socket, sockios, if, if_packet, sched, poll, errno).
const abi = {
  AF_PACKET: 17,
  SOCK_RAW: 3,
  SOCK_CLOEXEC: 0o2000000,
  CLONE_NEWNET: 0x40000000,
  SIOCGIFFLAGS: 0x8913,
  SIOCSIFFLAGS: 0x8914,
  SIOCGIFHWADDR: 0x8927,
  SIOCGIFINDEX: 0x8933,
  IFF_UP: 0x1,
  SOL_PACKET: 263,
  PACKET_ADD_MEMBERSHIP: 1,
  PACKET_MR_ALLMULTI: 2,
  POLLIN: 0x1,
  MSG_DONTWAIT: 0x40,
  EINTR: 4,
} as const;

type Ffi = typeof import('bun:ffi');

function htons(v: number): number {
  return ((v & 0xff) << 8) | ((v >> 8) & 0xff);
}

export class SystemCallError extends Error {
  constructor(call: string, errno: number) {
    super(`${call} failed: errno ${errno}`);
    this.name = 'SystemCallError';
  }
}

export interface PacketSocket {
  mac: Buffer;
  send(frame: Buffer): void;
  /** The next frame within `ms`, or undefined when none came. */
  receive(ms: number): Buffer | undefined;
  close(): void;
}

export class Libc {
  private constructor(
    private readonly ffi: Ffi,
    private readonly libc: ReturnType<typeof openLibc>,
  ) {}

  static async load(): Promise<Libc> {
    if (!('Bun' in globalThis)) throw new Error('conflict probes need the compiled plugin (Bun), not Node');
    const ffi = await import('bun:ffi');
    return new Libc(ffi, openLibc(ffi));
  }

  private errno(): number {
    return this.ffi.read.i32(this.libc.symbols.__errno_location() as never);
  }

  private check(call: string, result: number): number {
    if (result < 0) throw new SystemCallError(call, this.errno());
    return result;
  }

  /** Moves this process (its only JS thread) into the network namespace at `path`. */
  enterNetns(path: string): void {
    const fd = openSync(path, 'r');
    this.check(`setns(${path})`, this.libc.symbols.setns(fd, abi.CLONE_NEWNET));
  }

  private ifreq(ifname: string): Buffer {
    const req = Buffer.alloc(40);
    req.write(ifname, 0, 15, 'utf8');
    return req;
  }

  /** A packet socket bound to `ifname` for one ether type; brings the interface up if it is down. */
  openPacketSocket(ifname: string, etherType: number, allMulticast: boolean): PacketSocket {
    const { symbols } = this.libc;
    const { ptr } = this.ffi;
    const fd = this.check(
      'socket(AF_PACKET)',
      symbols.socket(abi.AF_PACKET, abi.SOCK_RAW | abi.SOCK_CLOEXEC, htons(etherType)),
    );
    try {
      const req = this.ifreq(ifname);
      this.check(`ioctl(SIOCGIFINDEX, ${ifname})`, symbols.ioctl(fd, abi.SIOCGIFINDEX, ptr(req)));
      const ifindex = req.readInt32LE(16);
      const hw = this.ifreq(ifname);
      this.check(`ioctl(SIOCGIFHWADDR, ${ifname})`, symbols.ioctl(fd, abi.SIOCGIFHWADDR, ptr(hw)));
      const mac = Buffer.from(hw.subarray(18, 24));
      const flags = this.ifreq(ifname);
      this.check(`ioctl(SIOCGIFFLAGS, ${ifname})`, symbols.ioctl(fd, abi.SIOCGIFFLAGS, ptr(flags)));
      if (!(flags.readUInt16LE(16) & abi.IFF_UP)) {
        // A main plugin calls IPAM before it sets the link up (macvlan does); a probe needs it up.
        flags.writeUInt16LE(flags.readUInt16LE(16) | abi.IFF_UP, 16);
        this.check(`ioctl(SIOCSIFFLAGS, ${ifname})`, symbols.ioctl(fd, abi.SIOCSIFFLAGS, ptr(flags)));
      }
      const address = Buffer.alloc(20); // struct sockaddr_ll
      address.writeUInt16LE(abi.AF_PACKET, 0);
      address.writeUInt16LE(htons(etherType), 2);
      address.writeInt32LE(ifindex, 4);
      this.check(`bind(${ifname})`, symbols.bind(fd, ptr(address), address.length));
      if (allMulticast) {
        // Neighbour advertisements to ff02::1 must reach us even if the interface filters multicast.
        const mreq = Buffer.alloc(16); // struct packet_mreq
        mreq.writeInt32LE(ifindex, 0);
        mreq.writeUInt16LE(abi.PACKET_MR_ALLMULTI, 4);
        this.check(
          'setsockopt(PACKET_ADD_MEMBERSHIP)',
          symbols.setsockopt(fd, abi.SOL_PACKET, abi.PACKET_ADD_MEMBERSHIP, ptr(mreq), mreq.length),
        );
      }
      return this.packetSocket(fd, ifindex, mac);
    } catch (err) {
      symbols.close(fd);
      throw err;
    }
  }

  private packetSocket(fd: number, ifindex: number, mac: Buffer): PacketSocket {
    const { symbols } = this.libc;
    const { ptr } = this.ffi;
    const buffer = Buffer.alloc(2048);
    const pollfd = Buffer.alloc(8); // struct pollfd
    return {
      mac,
      send: (frame) => {
        const to = Buffer.alloc(20);
        to.writeUInt16LE(abi.AF_PACKET, 0);
        to.writeUInt16LE(htons(frame.readUInt16BE(12)), 2);
        to.writeInt32LE(ifindex, 4);
        to.writeUInt8(6, 11);
        frame.copy(to, 12, 0, 6);
        this.check('sendto', Number(symbols.sendto(fd, ptr(frame), frame.length, 0, ptr(to), to.length)));
      },
      receive: (ms) => {
        const deadline = performance.now() + ms;
        for (;;) {
          const left = Math.max(0, Math.ceil(deadline - performance.now()));
          pollfd.writeInt32LE(fd, 0);
          pollfd.writeInt16LE(abi.POLLIN, 4);
          pollfd.writeInt16LE(0, 6);
          const ready = symbols.poll(ptr(pollfd), 1, left);
          if (ready < 0) {
            if (this.errno() === abi.EINTR) continue;
            throw new SystemCallError('poll', this.errno());
          }
          if (ready === 0) return undefined;
          const n = Number(symbols.recv(fd, ptr(buffer), buffer.length, abi.MSG_DONTWAIT));
          if (n > 0) return Buffer.from(buffer.subarray(0, n));
          if (performance.now() >= deadline) return undefined;
        }
      },
      close: () => {
        symbols.close(fd);
      },
    };
  }
}

function openLibc(ffi: Ffi) {
  return ffi.dlopen('libc.so.6', {
    __errno_location: { args: [], returns: 'ptr' },
    setns: { args: ['i32', 'i32'], returns: 'i32' },
    socket: { args: ['i32', 'i32', 'i32'], returns: 'i32' },
    bind: { args: ['i32', 'ptr', 'u32'], returns: 'i32' },
    ioctl: { args: ['i32', 'u64', 'ptr'], returns: 'i32' },
    setsockopt: { args: ['i32', 'i32', 'i32', 'ptr', 'u32'], returns: 'i32' },
    sendto: { args: ['i32', 'ptr', 'u64', 'i32', 'ptr', 'u32'], returns: 'i64' },
    poll: { args: ['ptr', 'u64', 'i32'], returns: 'i32' },
    recv: { args: ['i32', 'ptr', 'u64', 'i32'], returns: 'i64' },
    close: { args: ['i32'], returns: 'i32' },
  });
}
