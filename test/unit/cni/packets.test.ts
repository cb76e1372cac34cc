import {
  arpProbe,
  dadSolicitation,
  icmpv6Checksum,
  isArpConflict,
  isDadConflict,
  macBytes,
  multicastMac,
  parseArp,
  solicitedNodeGroup,
} from '../../../cni/probe/packets.js';

const ours = '02:00:00:00:00:01';
const theirs = '02:00:00:00:00:02';

/** An ARP packet as another host would send it. */
function arp(op: number, senderMac: string, senderIp: string, targetIp: string): Buffer {
  const frame = arpProbe(macBytes(senderMac), targetIp);
  frame.writeUInt16BE(op, 20);
  Buffer.from(senderIp.split('.').map(Number)).copy(frame, 28);
  return frame;
}

test('the ARP probe is a broadcast request from 0.0.0.0 for the candidate (RFC 5227)', () => {
  const frame = arpProbe(macBytes(ours), '198.18.0.5');
  expect(frame.length).toBe(42);
  expect(frame.subarray(0, 6).toString('hex')).toBe('ffffffffffff');
  expect(frame.readUInt16BE(12)).toBe(0x0806);
  expect(parseArp(frame)).toEqual({ op: 1, senderMac: ours, senderIp: '0.0.0.0', targetIp: '198.18.0.5' });
  expect(frame.subarray(32, 38).toString('hex')).toBe('000000000000');
});

test('ARP: a host using the address, or probing for it, conflicts; we and other addresses do not', () => {
  expect(isArpConflict(arp(2, theirs, '198.18.0.5', '0.0.0.0'), ours, '198.18.0.5')).toBe(true);
  expect(isArpConflict(arp(1, theirs, '198.18.0.5', '198.18.0.9'), ours, '198.18.0.5')).toBe(true);
  expect(isArpConflict(arp(1, theirs, '0.0.0.0', '198.18.0.5'), ours, '198.18.0.5')).toBe(true);
  expect(isArpConflict(arpProbe(macBytes(ours), '198.18.0.5'), ours, '198.18.0.5')).toBe(false);
  expect(isArpConflict(arp(2, theirs, '198.18.0.6', '198.18.0.1'), ours, '198.18.0.5')).toBe(false);
  expect(isArpConflict(arp(1, theirs, '0.0.0.0', '198.18.0.6'), ours, '198.18.0.5')).toBe(false);
  expect(isArpConflict(Buffer.alloc(60), ours, '198.18.0.5')).toBe(false);
});

test('the solicited-node group and its MAC carry the low 24 and 32 bits', () => {
  const group = solicitedNodeGroup('fd00::1:2345:6789');
  expect(group.toString('hex')).toBe('ff0200000000000000000001ff456789');
  expect(multicastMac(group).toString('hex')).toBe('3333ff456789');
});

test('the DAD solicitation comes from :: with hop limit 255 and a valid ICMPv6 checksum', () => {
  const frame = dadSolicitation(macBytes(ours), 'fd00::5');
  expect(frame.subarray(0, 6).toString('hex')).toBe('3333ff000005');
  expect(frame.readUInt16BE(12)).toBe(0x86dd);
  expect(frame[14 + 6]).toBe(58);
  expect(frame[14 + 7]).toBe(255);
  expect(frame.subarray(22, 38).equals(Buffer.alloc(16))).toBe(true);
  const message = frame.subarray(54);
  expect(message[0]).toBe(135);
  // Summing a message together with its checksum gives zero.
  expect(icmpv6Checksum(frame.subarray(22, 38), frame.subarray(38, 54), message)).toBe(0);
});

/** A neighbour advertisement for `target` from another host, reusing the solicitation's layout. */
function advertisement(from: string, target: string): Buffer {
  const frame = dadSolicitation(macBytes(from), target);
  frame[54] = 136;
  return frame;
}

test('DAD: an advertisement or another DAD probe for the address conflicts; ours and others do not', () => {
  expect(isDadConflict(advertisement(theirs, 'fd00::5'), ours, 'fd00::5')).toBe(true);
  expect(isDadConflict(dadSolicitation(macBytes(theirs), 'fd00::5'), ours, 'fd00::5')).toBe(true);
  expect(isDadConflict(dadSolicitation(macBytes(ours), 'fd00::5'), ours, 'fd00::5')).toBe(false);
  expect(isDadConflict(advertisement(theirs, 'fd00::6'), ours, 'fd00::5')).toBe(false);
  const solicitationFromAddress = dadSolicitation(macBytes(theirs), 'fd00::5');
  solicitationFromAddress[37] = 1; // source fd00::... is not ::, an ordinary address resolution
  expect(isDadConflict(solicitationFromAddress, ours, 'fd00::5')).toBe(false);
});

test('MAC parsing refuses malformed input', () => {
  expect(() => macBytes('02:00:00:00:00')).toThrow('not a MAC address');
  expect(macBytes('AA:bb:00:00:00:01').toString('hex')).toBe('aabb00000001');
});

test('ADD probes only when enabled, and never for a KubeVirt migration target', async () => {
  const { shouldProbeForConflicts } = await import('../../../cni/probe/client.js');
  expect([
    shouldProbeForConflicts(true, false),
    shouldProbeForConflicts(true, true),
    shouldProbeForConflicts(false, false),
  ]).toEqual([true, false, false]);
});
