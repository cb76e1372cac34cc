// AdmissionReview v1: what the API server sends to a webhook and what it expects back.
import type { KubernetesObject } from '@kubernetes/client-node';

export type Operation = 'CREATE' | 'UPDATE' | 'DELETE' | 'CONNECT';

export interface AdmissionRequest {
  uid: string;
  kind?: { group: string; version: string; kind: string };
  resource?: { group: string; version: string; resource: string };
  subResource?: string;
  name?: string;
  namespace?: string;
  operation: Operation;
  userInfo?: { username?: string };
  object?: KubernetesObject | null;
  oldObject?: KubernetesObject | null;
  dryRun?: boolean;
}

export interface AdmissionReview {
  apiVersion: string;
  kind: string;
  request?: AdmissionRequest;
  response?: AdmissionResponse;
}

export interface AdmissionResponse {
  uid: string;
  allowed: boolean;
  status?: { code: number; reason?: string; message: string };
  patchType?: 'JSONPatch';
  patch?: string;
  warnings?: string[];
}

export type PatchOp =
  | { op: 'add' | 'replace' | 'test'; path: string; value: unknown }
  | { op: 'remove'; path: string };

/** A refusal that names the field, in the API server's own style ("spec.subnet: Invalid value: ..."). */
export interface Denial {
  field: string;
  message: string;
  /** 403 Forbidden for state rules (terminating), 422 Invalid for bad values. */
  code: 403 | 422;
}

export function describeDenial(d: Denial): string {
  return `${d.field}: ${d.message}`;
}

/** Parses a request body into an AdmissionRequest, or says why it is not one. */
export function parseReview(body: unknown): AdmissionRequest {
  const review = body as Partial<AdmissionReview> | null;
  if (!review || typeof review !== 'object') throw new Error('body is not a JSON object');
  if (review.apiVersion !== 'admission.k8s.io/v1' || review.kind !== 'AdmissionReview')
    throw new Error(
      `expected an admission.k8s.io/v1 AdmissionReview, got ${review.apiVersion}/${review.kind}`,
    );
  const req = review.request;
  if (!req || typeof req.uid !== 'string' || !req.uid) throw new Error('AdmissionReview has no request.uid');
  return req;
}

export function reviewResponse(response: AdmissionResponse): AdmissionReview {
  return { apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', response };
}

export function allow(uid: string, patch: PatchOp[] = []): AdmissionResponse {
  if (patch.length === 0) return { uid, allowed: true };
  return {
    uid,
    allowed: true,
    patchType: 'JSONPatch',
    patch: Buffer.from(JSON.stringify(patch)).toString('base64'),
  };
}

export function deny(uid: string, denial: Denial): AdmissionResponse {
  return {
    uid,
    allowed: false,
    status: {
      code: denial.code,
      reason: denial.code === 403 ? 'Forbidden' : 'Invalid',
      message: describeDenial(denial),
    },
  };
}
