// Which rules run for which resource and operation: the webhook paths /mutate/<plural> and
// /validate/<plural> of the spiderpool.spidernet.io resources.
import { kinds } from '../../api/index.js';
import { type AdmissionRequest, type AdmissionResponse, allow, type Denial, deny } from './admission.js';
import { addFinalizerPatch, immutableSpecFields, terminatingObject } from './rules.js';

export type Review = (req: AdmissionRequest) => AdmissionResponse;

function validateUpdate(kind: string, immutable: string[]): Review {
  return (req) => {
    if (req.operation !== 'UPDATE' || !req.object || !req.oldObject) return allow(req.uid);
    const denial: Denial | undefined =
      terminatingObject(kind, req.object) ?? immutableSpecFields(req.oldObject, req.object, immutable);
    return denial ? deny(req.uid, denial) : allow(req.uid);
  };
}

const admitUnchanged: Review = (req) => allow(req.uid);

/** Route table: path → review function. */
export const reviews: Record<string, Review> = {
  [`/mutate/${kinds.ippool.plural}`]: (req) =>
    req.operation === 'CREATE' && req.object ? allow(req.uid, addFinalizerPatch(req.object)) : allow(req.uid),
  [`/validate/${kinds.ippool.plural}`]: validateUpdate(kinds.ippool.kind, ['subnet', 'ipVersion']),
  [`/mutate/${kinds.subnet.plural}`]: admitUnchanged,
  [`/validate/${kinds.subnet.plural}`]: validateUpdate(kinds.subnet.kind, ['subnet', 'ipVersion']),
  [`/mutate/${kinds.reservedip.plural}`]: admitUnchanged,
  [`/validate/${kinds.reservedip.plural}`]: validateUpdate(kinds.reservedip.kind, ['ipVersion']),
};
