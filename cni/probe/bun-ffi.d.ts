// The part of Bun's `bun:ffi` module the probes use (Bun's own type package is not a dependency).
declare module 'bun:ffi' {
  export type FFITypeName = 'i32' | 'u32' | 'i64' | 'u64' | 'ptr' | 'void';
  export interface FFIFunction {
    args: FFITypeName[];
    returns: FFITypeName;
  }
  export type Pointer = number & { __pointer__: null };
  export function dlopen<F extends Record<string, FFIFunction>>(
    path: string,
    symbols: F,
  ): {
    symbols: { [K in keyof F]: (...args: Array<number | bigint | Pointer | null>) => number };
    close(): void;
  };
  export function ptr(view: ArrayBufferView | ArrayBufferLike, byteOffset?: number): Pointer;
  export const read: { i32(pointer: Pointer, byteOffset?: number): number };
}
