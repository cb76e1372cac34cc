// SpiderMultusConfig -> its Multus NetworkAttachmentDefinition. The NAD is rendered by
// multus/render.ts, created with a controller ownerReference to the SpiderMultusConfig (the garbage
// collector deletes it with its owner; a Deleted event deletes it too, for clusters without one),
// and rewritten when the render changes. Unlike Spiderpool, which takes over a NAD of the same name
// it finds, a NAD this SpiderMultusConfig does not control is never written: a Warning Event on the
// SpiderMultusConfig says why its network is not applied.
import type { KubernetesObject } from '@kubernetes/client-node';
import { controllerReference, kinds, type SpiderMultusConfig } from '../../api/index.js';
import { describeApiError, isConflict, isNotFound } from '../../kube/errors.js';
import { resourcePath } from '../../kube/resource.js';
import type { RestClient } from '../../kube/rest.js';
import {
  controllingMultusConfig,
  type NetworkAttachmentDefinition,
  nadGroup,
  nadPlural,
  nadVersion,
  ownedBy,
} from '../../multus/ownership.js';
import { RenderError, type RenderedNad, renderNetworkAttachmentDefinition } from '../../multus/render.js';
import type { EventRecorder } from '../events/recorder.js';
import { type ResourceEvent, ResourceEventType } from '../framework/events.js';
import type { Logger } from '../observability/log.js';

export const multusConfigEventReasons = {
  notOwned: 'NetworkAttachmentDefinitionNotOwned',
  renderFailed: 'NetworkAttachmentDefinitionInvalid',
} as const;

const nadRef = (namespace: string) => ({
  group: nadGroup,
  version: nadVersion,
  plural: nadPlural,
  namespace,
});
const nadApiVersion = `${nadGroup}/${nadVersion}`;

/** The NAD as it should be stored: rendered content, on top of what the API server keeps. */
function desiredNad(rendered: RenderedNad, smc: SpiderMultusConfig, current?: NetworkAttachmentDefinition) {
  const others = (current?.metadata.ownerReferences ?? []).filter((r) => r.controller !== true);
  return {
    apiVersion: nadApiVersion,
    kind: 'NetworkAttachmentDefinition',
    metadata: {
      ...(current?.metadata ?? {}),
      name: rendered.name,
      namespace: rendered.namespace,
      annotations: rendered.annotations,
      ownerReferences: [...others, controllerReference(kinds.multusConfig.kind, smc)],
    },
    ...(rendered.config !== undefined ? { spec: { config: rendered.config } } : {}),
  };
}

/** True when `current` already carries what `rendered` says (annotations, config, owner). */
function upToDate(
  current: NetworkAttachmentDefinition,
  rendered: RenderedNad,
  smc: SpiderMultusConfig,
): boolean {
  return (
    ownedBy(current, smc) &&
    current.spec?.config === rendered.config &&
    JSON.stringify(current.metadata.annotations ?? {}) === JSON.stringify(rendered.annotations)
  );
}

export class MultusConfigController {
  constructor(
    private readonly deps: {
      rest: RestClient;
      recorder: EventRecorder;
      log: Logger;
      /** Throws when this replica may not write. */
      guard: (what: string) => void;
    },
  ) {}

  async reconcile(event: ResourceEvent): Promise<void> {
    const smc = event.object as SpiderMultusConfig;
    if (event.type === ResourceEventType.Deleted) return this.removeOwned(smc);
    if (smc.metadata.deletionTimestamp) return;
    let rendered: RenderedNad;
    try {
      rendered = renderNetworkAttachmentDefinition(smc);
    } catch (e) {
      if (!(e instanceof RenderError)) throw e;
      await this.warn(
        smc,
        multusConfigEventReasons.renderFailed,
        `cannot render its NetworkAttachmentDefinition: ${e.message}`,
      );
      return;
    }
    const path = resourcePath(nadRef(rendered.namespace), rendered.name);
    const current = await this.deps.rest.get<NetworkAttachmentDefinition>(path).catch((e: unknown) => {
      if (isNotFound(e)) return undefined;
      throw e;
    });
    if (current && !ownedBy(current, smc)) {
      const owner = controllingMultusConfig(current);
      const by = owner
        ? `SpiderMultusConfig ${owner}`
        : 'no SpiderMultusConfig (it was written by someone else)';
      await this.warn(
        smc,
        multusConfigEventReasons.notOwned,
        `NetworkAttachmentDefinition ${rendered.namespace}/${rendered.name} exists and is controlled by ${by}; it is left unchanged`,
      );
      return;
    }
    if (current && upToDate(current, rendered, smc)) return;
    const what = `${current ? 'update' : 'create'} NetworkAttachmentDefinition ${rendered.namespace}/${rendered.name}`;
    this.deps.guard(what);
    try {
      if (current) await this.deps.rest.request('PUT', path, { body: desiredNad(rendered, smc, current) });
      else
        await this.deps.rest.request('POST', resourcePath(nadRef(rendered.namespace)), {
          body: desiredNad(rendered, smc),
        });
    } catch (e) {
      // A concurrent writer: the next event (or the retry of this one) starts from a fresh read.
      if (isConflict(e)) throw e;
      throw new Error(`${what}: ${describeApiError(e)}`);
    }
    this.deps.log.info(`done: ${what}`, {
      controller: 'multusconfigs',
      object: `${smc.metadata.namespace}/${smc.metadata.name}`,
    });
  }

  /** After the SpiderMultusConfig is gone: its NAD goes too (only if this very object controlled it). */
  private async removeOwned(smc: SpiderMultusConfig): Promise<void> {
    let rendered: RenderedNad;
    try {
      rendered = renderNetworkAttachmentDefinition(smc);
    } catch {
      return;
    }
    const path = resourcePath(nadRef(rendered.namespace), rendered.name);
    const current = await this.deps.rest.get<NetworkAttachmentDefinition>(path).catch(() => undefined);
    if (!current || !ownedBy(current, smc)) return;
    this.deps.guard(`delete NetworkAttachmentDefinition ${rendered.namespace}/${rendered.name}`);
    await this.deps.rest
      .request('DELETE', path, {
        body: { apiVersion: 'v1', kind: 'DeleteOptions', preconditions: { uid: current.metadata.uid } },
      })
      .catch((e: unknown) => {
        if (!isNotFound(e) && !isConflict(e)) throw e;
      });
  }

  private async warn(smc: SpiderMultusConfig, reason: string, message: string): Promise<void> {
    this.deps.log.warn(message, {
      controller: 'multusconfigs',
      object: `${smc.metadata.namespace}/${smc.metadata.name}`,
    });
    await this.deps.recorder.record(smc as KubernetesObject, 'Warning', reason, message);
  }
}
