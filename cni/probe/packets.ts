// The frames of the two conflict probes, as bytes. Pure: building and recognising frames; the
// sockets live in linux.ts.
//
// IPv4 (RFC 5227 ARP probe): an ARP request from our MAC with sender address 0.0.0.0 for the
// candidate. Any ARP packet whose sender address is the candidate, from another MAC, is a conflict;
// so is another host's probe for the same address.
// IPv6 (RFC 4862 duplicate address detection): a neighbour solicitation from :: to the candidate's
// solicited-node multicast group. A neighbour advertisement for the candidate, or another host's
// solicitation from :: for it, is a conflict.
import { Address4, Address6 } from 'ip-address';

export const etherType = { arp: 0x0806, ipv6: 0x86dd } as const;
const icmpv6 = 58;
const neighborSolicitation = 135;
const neighborAdvertisement = 136;

export function macBytes(mac: string): Buffer {
  const parts = mac.split(':');
  if (parts.length !== 6 || parts.some((p) => !/^[0-9a-fA-F]{2}$/.test(p)))
    throw new Error(`not a MAC address: ${mac}`);
  return Buffer.from(parts.map((p) => Number.parseInt(p, 16)));
}

export function macString(bytes: Uint8Array): string {
  return [...bytes].map((b) => b.toString(16).padStart(2, '0')).join(':');
}

export function ipv4Bytes(address: string): Buffer {
  return Buffer.from(new Address4(address).toArray());
}

export function ipv6Bytes(address: string): Buffer {
  return Buffer.from(new Address6(address).toByteArray());
}

/** ff02::1:ffXX:XXXX, the group a host with `address` listens on for solicitations. */
export function solicitedNodeGroup(address: string): Buffer {
  const group = Buffer.from([0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0xff, 0, 0, 0]);
  ipv6Bytes(address).copy(group, 13, 13, 16);
  return group;
}

/** 33:33 followed by the low 32 bits of an IPv6 multicast address (RFC 2464). */
export function multicastMac(group: Uint8Array): Buffer {
  return Buffer.from([0x33, 0x33, group[12] ?? 0, group[13] ?? 0, group[14] ?? 0, group[15] ?? 0]);
}

function ethernet(dst: Uint8Array, src: Uint8Array, type: number, payload: Buffer): Buffer {
  const header = Buffer.alloc(14);
  header.set(dst, 0);
  header.set(src, 6);
  header.writeUInt16BE(type, 12);
  return Buffer.concat([header, payload]);
}

export function arpProbe(ourMac: Uint8Array, candidate: string): Buffer {
  const arp = Buffer.alloc(28);
  arp.writeUInt16BE(1, 0); // Ethernet
  arp.writeUInt16BE(0x0800, 2); // IPv4
  arp.writeUInt8(6, 4);
  arp.writeUInt8(4, 5);
  arp.writeUInt16BE(1, 6); // request
  arp.set(ourMac, 8);
  // sender address 0.0.0.0 (bytes 14-17) and target MAC zero (18-23): a probe, not an announcement
  arp.set(ipv4Bytes(candidate), 24);
  return ethernet(Buffer.alloc(6, 0xff), ourMac, etherType.arp, arp);
}

export interface ArpPacket {
  op: number;
  senderMac: string;
  senderIp: string;
  targetIp: string;
}

export function parseArp(frame: Uint8Array): ArpPacket | undefined {
  const b = Buffer.from(frame.buffer, frame.byteOffset, frame.byteLength);
  if (b.length < 42 || b.readUInt16BE(12) !== etherType.arp) return undefined;
  if (b.readUInt16BE(16) !== 0x0800 || b[18] !== 6 || b[19] !== 4) return undefined;
  return {
    op: b.readUInt16BE(20),
    senderMac: macString(b.subarray(22, 28)),
    senderIp: [...b.subarray(28, 32)].join('.'),
    targetIp: [...b.subarray(38, 42)].join('.'),
  };
}

/** Does this received frame show another host using (or probing for) `candidate`? */
export function isArpConflict(frame: Uint8Array, ourMac: string, candidate: string): boolean {
  const arp = parseArp(frame);
  if (!arp || arp.senderMac === ourMac.toLowerCase()) return false;
  if (arp.senderIp === candidate) return true;
  return arp.op === 1 && arp.senderIp === '0.0.0.0' && arp.targetIp === candidate;
}

/** The ICMPv6 checksum over the IPv6 pseudo-header and the message (RFC 4443 §2.3). */
export function icmpv6Checksum(src: Uint8Array, dst: Uint8Array, message: Uint8Array): number {
  const pseudo = Buffer.alloc(40);
  pseudo.set(src, 0);
  pseudo.set(dst, 16);
  pseudo.writeUInt32BE(message.length, 32);
  pseudo.writeUInt8(icmpv6, 39);
  const data = Buffer.concat([pseudo, message, message.length % 2 ? Buffer.alloc(1) : Buffer.alloc(0)]);
  let sum = 0;
  for (let i = 0; i < data.length; i += 2) sum += data.readUInt16BE(i);
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}

export function dadSolicitation(ourMac: Uint8Array, candidate: string): Buffer {
  const src = Buffer.alloc(16); // the unspecified address ::
  const dst = solicitedNodeGroup(candidate);
  const message = Buffer.alloc(24);
  message.writeUInt8(neighborSolicitation, 0);
  ipv6Bytes(candidate).copy(message, 8);
  message.writeUInt16BE(icmpv6Checksum(src, dst, message), 2);
  const ip = Buffer.alloc(40);
  ip.writeUInt32BE(0x60000000, 0); // version 6, no traffic class or flow label
  ip.writeUInt16BE(message.length, 4);
  ip.writeUInt8(icmpv6, 6);
  ip.writeUInt8(255, 7); // neighbour discovery requires hop limit 255
  ip.set(src, 8);
  ip.set(dst, 24);
  return ethernet(multicastMac(dst), ourMac, etherType.ipv6, Buffer.concat([ip, message]));
}

/** Does this received frame show another host holding (or claiming) `candidate`? */
export function isDadConflict(frame: Uint8Array, ourMac: string, candidate: string): boolean {
  const b = Buffer.from(frame.buffer, frame.byteOffset, frame.byteLength);
  if (b.length < 14 + 40 + 24 || b.readUInt16BE(12) !== etherType.ipv6) return false;
  if (macString(b.subarray(6, 12)) === ourMac.toLowerCase()) return false;
  if (b[14 + 6] !== icmpv6) return false;
  const type = b[54];
  const target = b.subarray(62, 78);
  if (!target.equals(ipv6Bytes(candidate))) return false;
  if (type === neighborAdvertisement) return true;
  const fromUnspecified = b.subarray(22, 38).equals(Buffer.alloc(16));
  return type === neighborSolicitation && fromUnspecified;
}
