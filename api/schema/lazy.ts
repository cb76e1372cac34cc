// Schemas built on first use. A TypeBox schema costs CPU to build (cloning, for Pick, Partial and
// Omit), which the CNI plugin would pay at every process start for inputs that a function compiled
// ahead of time checks without it (cni/protocol/validate.ts): those schemas are built only to name
// what failed.
import type { TSchema } from '@sinclair/typebox';

/** A schema built on its first use, then kept. */
export function lazySchema<T extends TSchema>(build: () => T): () => T {
  let schema: T | undefined;
  return () => {
    schema ??= build();
    return schema;
  };
}
