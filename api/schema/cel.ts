// CEL rules (`x-kubernetes-validations`) for what the API server can check without other objects:
// CIDR form, address family, addresses and ranges inside the subnet, gateway and routes, and the
// immutable `subnet` and `ipVersion`. Cross-object rules (overlap between pools, allocated addresses
// that must stay) belong to the operator's webhooks.
//
// The IP/CIDR library (`isIP`, `ip`, `isCIDR`, `cidr`, `containsIP`, `family`, `masked`) is usable in
// CRD rules from Kubernetes 1.31. Every rule that reads a field guards on that field being well
// formed, so one bad value produces one error, from the rule about that value. Messages name the
// field and, through messageExpression, the offending value.
import { Type } from '@sinclair/typebox';
import type { ValidationRule } from './crd-schema.js';

/** Limits that keep the API server's CEL cost estimates within bounds (unbounded lists are refused). */
export const celLimits = {
  /** Longest textual IP address (an IPv6 address with an embedded IPv4 tail is 45 characters). */
  address: 45,
  /** CIDR: an address, `/`, a prefix length. */
  cidr: 49,
  /** `first-last`. */
  range: 91,
  /** Entries in `ips` / `excludeIPs`; the webhook merges entries into ranges, so real pools stay short. */
  ranges: 4096,
  routes: 256,
} as const;

// CEL text for one entry `r` of an address list: a single address or `first-last`. Written with
// indexOf/substring rather than split(), whose estimated cost (a list as long as the string) would
// exceed the API server's budget for a list of thousands of entries.
const first = (r: string) => `${r}.substring(0, ${r}.indexOf('-'))`;
const last = (r: string) => `${r}.substring(${r}.indexOf('-') + 1)`;
const isRange = (r: string) => `(${r}.indexOf('-') > 0 && isIP(${first(r)}) && isIP(${last(r)}))`;
/** True when `r` is well formed and `ok(address)` holds for its one or two addresses. */
const everyAddress = (r: string, ok: (address: string) => string) =>
  `(isIP(${r}) ? ${ok(r)} : (${isRange(r)} && ${ok(first(r))} && ${ok(last(r))}))`;
/** True for a malformed entry (reported by the entry's own rule) or when `ok` holds for its addresses. */
const malformedOr = (r: string, ok: (address: string) => string) =>
  `(!(isIP(${r}) || ${isRange(r)}) || ${everyAddress(r, ok)})`;

/** An IP address or range `first-last`, one entry of `ips`, `excludeIPs` or a reserved IP list. */
export const AddressOrRangeSchema = Type.String({
  maxLength: celLimits.range,
  'x-kubernetes-validations': [
    {
      rule: `isIP(self) || ${isRange('self')}`,
      message: 'must be an IP address or a range first-last, e.g. 172.18.40.10 or 172.18.40.10-172.18.40.20',
      messageExpression:
        "self + ' is not an IP address or a range first-last, e.g. 172.18.40.10-172.18.40.20'",
    },
  ] satisfies ValidationRule[],
});

/** `subnet`: a network in canonical CIDR form (as Go's net.IPNet.String() prints it), immutable. */
export function subnetField(description: string) {
  return Type.String({
    description,
    maxLength: celLimits.cidr,
    'x-kubernetes-validations': [
      {
        rule: 'isCIDR(self) && string(cidr(self).masked()) == self',
        message: 'must be a network in canonical CIDR form, e.g. 172.18.40.0/24',
        messageExpression:
          "self + ' is not a network in canonical CIDR form, e.g. 172.18.40.0/24 or fd00:18::/64'",
      },
      { rule: 'self == oldSelf', message: 'is immutable', reason: 'FieldValueForbidden' },
    ] satisfies ValidationRule[],
  });
}

/** `ipVersion`: 4 or 6, never changed once set (removal is caught by the spec rules). */
export function ipVersionField() {
  return Type.Unsafe<4 | 6>({
    type: 'integer',
    format: 'int64',
    enum: [4, 6],
    description: 'IP version of the addresses, 4 or 6; filled from the subnet when left out',
    'x-kubernetes-validations': [
      { rule: 'self == oldSelf', message: 'is immutable', reason: 'FieldValueForbidden' },
    ] satisfies ValidationRule[],
  });
}

/** A route whose `dst` is a CIDR and `gw` an address (the spec rules relate both to the subnet). */
export const ValidatedRouteSchema = Type.Object(
  {
    dst: cidrField('destination CIDR'),
    gw: addressField('next hop, inside the subnet'),
  },
  { description: 'a route added to the pod for addresses of this pool' },
);

/** `gateway` and route `gw`: one IP address. */
export function addressField(description: string) {
  return Type.String({
    description,
    maxLength: celLimits.address,
    'x-kubernetes-validations': [
      {
        rule: 'isIP(self)',
        message: 'must be an IP address',
        messageExpression: "self + ' is not an IP address'",
      },
    ] satisfies ValidationRule[],
  });
}

/** Route `dst`: a CIDR. */
export function cidrField(description: string) {
  return Type.String({
    description,
    maxLength: celLimits.cidr,
    'x-kubernetes-validations': [
      {
        rule: 'isCIDR(self)',
        message: 'must be a CIDR, e.g. 10.0.0.0/16',
        messageExpression: "self + ' is not a CIDR, e.g. 10.0.0.0/16'",
      },
    ] satisfies ValidationRule[],
  });
}

// Expressions over the spec object (`self` is the spec).
const subnetOk = 'isCIDR(self.subnet)';
const inSubnet = (address: string) => `cidr(self.subnet).containsIP(${address})`;
const rangeInSubnet = (r: string) => malformedOr(r, inSubnet);

/**
 * A spec-level check that is skipped when the spec did not change. The API server evaluates spec
 * rules on every write, status writes included, where they tripled the cost of a pool status PUT
 * (measured: 200 ranges, 15 -> 35 ms); with this guard an unchanged spec costs one comparison. Only
 * the rules that loop over lists carry it: for the others the comparison would cost more.
 */
function unlessUnchanged(rule: ValidationRule): ValidationRule {
  return {
    ...rule,
    rule: `(oldSelf.hasValue() && oldSelf.value() == self) || (${rule.rule})`,
    optionalOldSelf: true,
  };
}

function rangesInsideSubnet(field: 'ips' | 'excludeIPs'): ValidationRule {
  return unlessUnchanged({
    rule: `!${subnetOk} || !has(self.${field}) || self.${field}.all(r, ${rangeInSubnet('r')})`,
    message: `spec.${field}: every address and range must lie inside spec.subnet`,
    messageExpression: `'spec.${field}: every address and range must lie inside spec.subnet ' + self.subnet`,
    fieldPath: `.${field}`,
    reason: 'FieldValueInvalid',
  });
}

/**
 * Rules on a spec with `subnet`, `ipVersion`, `ips`, `excludeIPs`, `gateway` and `routes`
 * (SpiderIPPool and SpiderSubnet), placed on the spec object because they relate its fields.
 */
export function subnetSpecRules(): ValidationRule[] {
  return [
    {
      rule: `!has(self.ipVersion) || !${subnetOk} || cidr(self.subnet).ip().family() == self.ipVersion`,
      message: 'spec.ipVersion must be the address family of spec.subnet',
      messageExpression:
        "'spec.ipVersion ' + (self.ipVersion == 4 ? '4' : '6') + ' does not match the family of spec.subnet ' + self.subnet",
      fieldPath: '.ipVersion',
      reason: 'FieldValueInvalid',
    },
    {
      rule: '!has(oldSelf.ipVersion) || has(self.ipVersion)',
      message: 'spec.ipVersion is immutable: it cannot be removed once set',
      fieldPath: '.ipVersion',
      reason: 'FieldValueForbidden',
    },
    rangesInsideSubnet('ips'),
    rangesInsideSubnet('excludeIPs'),
    {
      rule: `!has(self.gateway) || !${subnetOk} || !isIP(self.gateway) || ${inSubnet('self.gateway')}`,
      message: 'spec.gateway must lie inside spec.subnet',
      messageExpression: "'spec.gateway ' + self.gateway + ' is not inside spec.subnet ' + self.subnet",
      fieldPath: '.gateway',
      reason: 'FieldValueInvalid',
    },
    unlessUnchanged({
      rule: `!has(self.routes) || !${subnetOk} || self.routes.all(r, !isIP(r.gw) || ${inSubnet('r.gw')})`,
      message: 'spec.routes: every gw must lie inside spec.subnet',
      messageExpression: "'spec.routes: every gw must lie inside spec.subnet ' + self.subnet",
      fieldPath: '.routes',
      reason: 'FieldValueInvalid',
    }),
    unlessUnchanged({
      rule: `!has(self.routes) || !${subnetOk} || self.routes.all(r, !isCIDR(r.dst) || (cidr(r.dst).ip().family() == cidr(self.subnet).ip().family() && cidr(r.dst).prefixLength() > 0))`,
      message:
        'spec.routes: every dst must be a CIDR of the family of spec.subnet and not a default route (use spec.gateway)',
      fieldPath: '.routes',
      reason: 'FieldValueInvalid',
    }),
  ];
}

/**
 * The fields SpiderIPPool and SpiderSubnet share, with the same meaning and checks; `text` holds
 * their descriptions.
 */
export function subnetSpecProperties(text: {
  subnet: string;
  ips: string;
  excludeIPs: string;
  gateway: string;
}) {
  return {
    ipVersion: Type.Optional(ipVersionField()),
    subnet: subnetField(text.subnet),
    ips: Type.Optional(
      Type.Array(AddressOrRangeSchema, { description: text.ips, maxItems: celLimits.ranges }),
    ),
    excludeIPs: Type.Optional(
      Type.Array(AddressOrRangeSchema, { description: text.excludeIPs, maxItems: celLimits.ranges }),
    ),
    gateway: Type.Optional(addressField(text.gateway)),
    routes: Type.Optional(Type.Array(ValidatedRouteSchema, { maxItems: celLimits.routes })),
  };
}

/** Rules on SpiderReservedIP's spec: every address of the family `ipVersion` names. */
export function reservedIPSpecRules(): ValidationRule[] {
  const familyOk = (r: string) => malformedOr(r, (a) => `ip(${a}).family() == self.ipVersion`);
  return [
    unlessUnchanged({
      rule: `!has(self.ipVersion) || !has(self.ips) || self.ips.all(r, ${familyOk('r')})`,
      message: 'spec.ips must all be addresses of the family spec.ipVersion names',
      messageExpression:
        "'spec.ips must all be IPv' + (self.ipVersion == 4 ? '4' : '6') + ' addresses, as spec.ipVersion says'",
      fieldPath: '.ips',
      reason: 'FieldValueInvalid',
    }),
    {
      rule: '!has(oldSelf.ipVersion) || has(self.ipVersion)',
      message: 'spec.ipVersion is immutable: it cannot be removed once set',
      fieldPath: '.ipVersion',
      reason: 'FieldValueForbidden',
    },
  ];
}
