// This node's attachment records: one small JSON file per (container, interface) of a network,
// under `<state_dir>/<network>/`. ADD writes one before it asks for addresses (so a process killed
// afterwards still leaves the pod and its UID behind) and completes it with the answer; DEL removes
// it; GC compares the folder with the runtime's list of attachments still in use. Each file is
// replaced atomically, so a reader never sees half of one.
import { mkdirSync, readdirSync, readFileSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import { type Static, Type } from '@sinclair/typebox';
import { writeFileAtomic } from '../install/atomic.js';
import * as checks from '../protocol/checks.generated.js';
import { CniError, ErrorCode } from '../protocol/errors.js';
import { checkedProblems, lazySchema } from '../protocol/validate.js';

/** An attachment record's schema, built only to name what failed (checks.generated.ts decides). */
export const attachmentRecordSchema = lazySchema(() =>
  Type.Object({
    containerId: Type.String({ minLength: 1 }),
    ifname: Type.String({ minLength: 1 }),
    network: Type.String({ minLength: 1 }),
    pod: Type.Object({
      namespace: Type.String({ minLength: 1 }),
      name: Type.String({ minLength: 1 }),
      uid: Type.Optional(Type.String({ minLength: 1 })),
    }),
    /** `adding` until ADD has its answer, then `added`. */
    state: Type.Union([Type.Literal('adding'), Type.Literal('added')]),
    /** Who holds the addresses (from the answer): `<namespace>/<identity name>`, and whether it is static. */
    identity: Type.Optional(Type.Object({ key: Type.String(), static: Type.Boolean() })),
    /** Addresses with prefix length, from the answer. */
    addresses: Type.Optional(Type.Array(Type.String())),
    /** The pools of the pod's addresses, from the answer: where a release finds its records. */
    pools: Type.Optional(Type.Array(Type.String())),
    /** When the record was last written (ISO 8601). */
    time: Type.String(),
  }),
);

export type AttachmentRecord = Static<ReturnType<typeof attachmentRecordSchema>>;
export type PodRef = AttachmentRecord['pod'];

/**
 * The file of one attachment. A container ID never contains `:` (CNI allows letters, digits, `_`,
 * `.` and `-`), so `<containerId>:<ifname>` names every pair apart.
 */
export function attachmentFile(stateDir: string, containerId: string, ifname: string): string {
  return join(stateDir, `${containerId}:${ifname}.json`);
}

/**
 * Not flushed to disk: two flushes per ADD would cost every pod start the disk's latency, and a
 * record lost to a power loss is only a hint lost (DEL has CNI_ARGS and the pool records, and the
 * operator reclaims what no pod explains).
 */
export function writeAttachment(stateDir: string, record: AttachmentRecord): void {
  try {
    mkdirSync(stateDir, { recursive: true, mode: 0o700 });
    writeFileAtomic(
      attachmentFile(stateDir, record.containerId, record.ifname),
      `${JSON.stringify(record)}\n`,
      0o600,
      { durable: false },
    );
  } catch (err) {
    throw stateDirError(stateDir, err);
  }
}

/**
 * A folder that cannot be written or read (state_dir names a file, a read-only mount) is the
 * configuration's problem or the node's, not a bug: an I/O error object naming the key and the path.
 */
function stateDirError(stateDir: string, err: unknown): CniError {
  return new CniError(ErrorCode.ioFailure, `ipam.state_dir: ${stateDir}: ${(err as Error).message}`);
}

function parseRecord(text: string, file: string): AttachmentRecord {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new Error(`attachment record ${file}: not valid JSON: ${(err as Error).message}`);
  }
  const problems = checkedProblems(checks.attachmentRecord, attachmentRecordSchema, value);
  if (problems) throw new Error(`attachment record ${file}: ${problems}`);
  return value as AttachmentRecord;
}

/** The record of one attachment, or undefined when there is none. */
export function readAttachment(
  stateDir: string,
  containerId: string,
  ifname: string,
): AttachmentRecord | undefined {
  const file = attachmentFile(stateDir, containerId, ifname);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  return parseRecord(text, file);
}

/** Removes one attachment's record; a missing one is fine (DEL is idempotent). */
export function removeAttachment(stateDir: string, containerId: string, ifname: string): void {
  try {
    unlinkSync(attachmentFile(stateDir, containerId, ifname));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw stateDirError(stateDir, err);
  }
}

export interface AttachmentListing {
  records: AttachmentRecord[];
  /** Files that could not be read, with why (GC reports them and carries on). */
  unreadable: string[];
}

/** Every record of a network's folder; temporary files of writes in progress are skipped. */
export function listAttachments(stateDir: string): AttachmentListing {
  let names: string[];
  try {
    names = readdirSync(stateDir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { records: [], unreadable: [] };
    throw stateDirError(stateDir, err);
  }
  const listing: AttachmentListing = { records: [], unreadable: [] };
  for (const name of names.sort()) {
    if (name.startsWith('.') || !name.endsWith('.json')) continue;
    const file = join(stateDir, name);
    try {
      listing.records.push(parseRecord(readFileSync(file, 'utf8'), file));
    } catch (err) {
      // A file that vanished between the listing and the read was removed by a DEL: not a problem.
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') continue;
      listing.unreadable.push((err as Error).message);
    }
  }
  return listing;
}
