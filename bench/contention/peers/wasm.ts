/**
 * The slice of the WebAssembly JS API the wasm peers use, typed here because the project
 * compiles without the DOM library (Node's own typings declare only part of it).
 *
 * Owns: nothing.
 */
export interface WasmMemory {
  readonly buffer: ArrayBuffer | SharedArrayBuffer;
  grow(pages: number): number;
}
export interface WasmGlobal {
  value: number;
}
export type WasmModule = object;
export interface WasmInstance {
  readonly exports: Record<string, unknown>;
}
interface WasmApi {
  Memory: new (d: { initial: number; maximum: number; shared: boolean }) => WasmMemory;
  Module: new (bytes: Uint8Array) => WasmModule;
  Instance: new (m: WasmModule, imports: Record<string, Record<string, unknown>>) => WasmInstance;
}
export const Wasm = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;
