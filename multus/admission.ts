// The admission rules of SpiderMultusConfig and SpiderCoordinator that the CRD's CEL rules cannot
// make: annotations, JSON strings, the NAD another SpiderMultusConfig already owns, and the
// defaults Spiderpool's mutating webhook sets (pkg/multuscniconfig/multusconfig_mutate.go,
// multusconfig_validate.go; pkg/coordinatormanager). Pure: the operator's webhook
// (operator/webhook/handlers.ts) reads the existing NAD and turns answers into responses.
import { type CoordinatorSpec, multusConfigAnnotations, type SpiderMultusConfig } from '../api/index.js';
import { type FieldError, invalid } from '../ipam/validation/field-error.js';
import { RenderError, renderNetworkAttachmentDefinition, supportedCniVersions } from './render.js';

/** One JSON patch operation, the shape admission responses carry. */
export type DefaultOp = { op: 'add'; path: string; value: unknown } | { op: 'remove'; path: string };

const annotationsField = 'metadata.annotations';
// RFC 1123 subdomain, as k8s.io/apimachinery IsDNS1123Subdomain checks it.
const dns1123Subdomain = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

/**
 * What Spiderpool's mutating webhook sets that the CRD defaults do not: a custom network gets no
 * coordinator (its config is the user's whole conflist), and a manual-mode vlan without vlanID
 * gets 0.
 */
export function multusConfigDefaults(smc: SpiderMultusConfig): DefaultOp[] {
  const spec = smc.spec;
  if (!spec) return [];
  const ops: DefaultOp[] = [];
  if ((spec.cniType ?? 'custom') === 'custom') {
    if (spec.enableCoordinator !== false)
      ops.push({ op: 'add', path: '/spec/enableCoordinator', value: false });
    if (spec.coordinator) ops.push({ op: 'remove', path: '/spec/coordinator' });
  }
  if (spec.cniType === 'vlan' && spec.vlan && (spec.vlan.vlanMode ?? 'manual') === 'manual') {
    if (spec.vlan.vlanID === undefined) ops.push({ op: 'add', path: '/spec/vlan/vlanID', value: 0 });
  }
  return ops;
}

/** SpiderCoordinator: Spiderpool requires podCIDRType; its installer writes `auto`, as this does. */
export function coordinatorDefaults(spec: CoordinatorSpec | undefined): DefaultOp[] {
  if (!spec) return [{ op: 'add', path: '/spec', value: { podCIDRType: 'auto' } }];
  return spec.podCIDRType ? [] : [{ op: 'add', path: '/spec/podCIDRType', value: 'auto' }];
}

/** The owner of an existing NAD, as far as the rules care. */
export interface ExistingNad {
  /** Name of the SpiderMultusConfig that controls it, if one does. */
  ownerMultusConfig?: string;
}

function checkAnnotations(
  smc: SpiderMultusConfig,
  old: SpiderMultusConfig | undefined,
): FieldError | undefined {
  const annotations = smc.metadata.annotations ?? {};
  const crName = annotations[multusConfigAnnotations.crName];
  const field = `${annotationsField}[${multusConfigAnnotations.crName}]`;
  if (old) {
    const before = old.metadata.annotations?.[multusConfigAnnotations.crName];
    if (before !== crName && (before !== undefined || crName !== undefined))
      return invalid(
        field,
        crName ?? null,
        `the NetworkAttachmentDefinition name cannot change (it was ${before ?? old.metadata.name})`,
      );
  }
  if (crName !== undefined && (crName.length > 253 || !dns1123Subdomain.test(crName)))
    return invalid(field, crName, 'must be a DNS-1123 subdomain, the name of a NetworkAttachmentDefinition');
  const version = annotations[multusConfigAnnotations.cniVersion];
  if (version !== undefined && !(supportedCniVersions as readonly string[]).includes(version))
    return invalid(
      `${annotationsField}[${multusConfigAnnotations.cniVersion}]`,
      version,
      `unsupported CNI version; supported: ${supportedCniVersions.join(', ')}`,
    );
  return undefined;
}

function checkChained(smc: SpiderMultusConfig): FieldError | undefined {
  for (const [i, text] of (smc.spec?.chainCNIJsonData ?? []).entries()) {
    let plugin: unknown;
    try {
      plugin = JSON.parse(text);
    } catch {
      return invalid(`spec.chainCNIJsonData[${i}]`, text, 'not valid JSON');
    }
    const type = (plugin as { type?: unknown } | null)?.type;
    if (typeof type !== 'string' || type === '')
      return invalid(`spec.chainCNIJsonData[${i}]`, text, 'a CNI plugin config needs a "type"');
  }
  return undefined;
}

/**
 * CREATE and UPDATE of a SpiderMultusConfig: its annotations, its JSON strings, that it renders,
 * and that the NAD it would own is not another SpiderMultusConfig's.
 */
export function validateMultusConfig(
  smc: SpiderMultusConfig,
  old: SpiderMultusConfig | undefined,
  existing: ExistingNad | undefined,
): FieldError | undefined {
  const problem = checkAnnotations(smc, old) ?? checkChained(smc);
  if (problem) return problem;
  try {
    renderNetworkAttachmentDefinition(smc);
  } catch (e) {
    if (!(e instanceof RenderError)) throw e;
    const detail = e.message.slice(e.field.length + 2);
    return detail.startsWith('required')
      ? { field: e.field, type: 'Required', detail }
      : invalid(e.field, e.value ?? null, detail);
  }
  if (existing?.ownerMultusConfig && existing.ownerMultusConfig !== smc.metadata.name) {
    const nad = smc.metadata.annotations?.[multusConfigAnnotations.crName] ?? smc.metadata.name;
    return {
      field: annotationsField,
      type: 'Forbidden',
      detail: `the NetworkAttachmentDefinition ${smc.metadata.namespace}/${nad} already exists and is managed by SpiderMultusConfig ${smc.metadata.namespace}/${existing.ownerMultusConfig}`,
    };
  }
  return undefined;
}
