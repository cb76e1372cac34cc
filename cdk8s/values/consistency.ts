// Rules between values that the schema cannot express: a default pool needs its family enabled and
// a well-formed subnet that holds its ranges and gateway; NetworkAttachmentDefinitions need unique
// names. Checked at synth time so a mistake names the key, not a manifest the API server refuses.
import { Address4, Address6 } from 'ip-address';
import type { Values } from './schema.js';

type Address = Address4 | Address6;

function parse(text: string, family: 4 | 6): Address | undefined {
  const valid = family === 4 ? Address4.isValid(text) : Address6.isValid(text);
  if (!valid) return undefined;
  return family === 4 ? new Address4(text) : new Address6(text);
}

function poolProblems(values: Values, family: 4 | 6): string[] {
  const p = values.clusterDefaultPool;
  const v = family === 4 ? 'ipv4' : 'ipv6';
  const install = family === 4 ? p.installIPv4IPPool : p.installIPv6IPPool;
  if (!install) return [];
  const key = (name: string) => `clusterDefaultPool.${v}${name}`;
  const problems: string[] = [];
  const enabled = family === 4 ? values.ipam.enableIPv4 : values.ipam.enableIPv6;
  if (!enabled)
    problems.push(
      `clusterDefaultPool.install${v === 'ipv4' ? 'IPv4' : 'IPv6'}IPPool needs ipam.enableIPv${family}=true`,
    );

  const subnetText = family === 4 ? p.ipv4Subnet : p.ipv6Subnet;
  const subnet = subnetText.includes('/') ? parse(subnetText, family) : undefined;
  if (!subnet) {
    problems.push(`${key('Subnet')}: "${subnetText}" is not an IPv${family} CIDR`);
    return problems;
  }
  const canonical = `${subnet.startAddress().correctForm()}/${subnet.subnetMask}`;
  if (canonical !== subnetText) {
    problems.push(`${key('Subnet')}: "${subnetText}" is not in canonical form; write ${canonical}`);
  }
  const inside = (text: string) => {
    const a = parse(text, family);
    return a !== undefined && !text.includes('/') && a.isInSubnet(subnet);
  };
  const ranges = family === 4 ? p.ipv4IPRanges : p.ipv6IPRanges;
  if (ranges.length === 0)
    problems.push(`${key('IPRanges')}: a default pool needs at least one address or range`);
  for (const range of ranges) {
    if (!range.split('-').every(inside) || range.split('-').length > 2) {
      problems.push(
        `${key('IPRanges')}: "${range}" is not an address or range first-last inside ${subnetText}`,
      );
    }
  }
  const gateway = family === 4 ? p.ipv4Gateway : p.ipv6Gateway;
  if (gateway && !inside(gateway))
    problems.push(`${key('Gateway')}: "${gateway}" is not an address inside ${subnetText}`);
  return problems;
}

function networkProblems(values: Values): string[] {
  const seen = new Set<string>();
  const problems: string[] = [];
  values.multus.networkAttachmentDefinitions.forEach((n, i) => {
    const id = `${n.namespace}/${n.name}`;
    if (seen.has(id)) problems.push(`multus.networkAttachmentDefinitions[${i}]: ${id} is defined twice`);
    seen.add(id);
  });
  return problems;
}

/** Every inconsistency between values, one line each, naming the keys and values. */
export function consistencyProblems(values: Values): string[] {
  return [...poolProblems(values, 4), ...poolProblems(values, 6), ...networkProblems(values)];
}
