/**
 * zig-gpa: Zig's GeneralPurposeAllocator(.{ .thread_safe = true }) compiled to threaded
 * WebAssembly (bench/contention/peers/zig/gpa.zig, built by `npm run lab -- build-peers`),
 * driven from JS the way sabmalloc is: the allocator a user gets by compiling a
 * multithreaded native allocator to wasm.
 *
 * Thread-safety model (the peer's, documented in the report): one futex mutex inside the
 * GPA serialises every malloc and free; the wasm globals that hold its state live in the
 * shared linear memory, so every thread's instance drives the same allocator.
 *
 * Owns, per thread: one WebAssembly.Instance over the run's shared WebAssembly.Memory and
 * its stack. The main thread's instance runs heap_init and uses the linker's stack; worker
 * w sets the instance's exported __stack_pointer to the top of stack slot w, a region the
 * module reserves per thread, so no two threads ever share a stack.
 *
 * Invariants: the memory is created at its final size (initial = maximum pages), so its
 * SharedArrayBuffer never changes and every view covers every block. The compiled module
 * is cached per thread (compiling it is the expensive part; instantiating is cheap).
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Wasm, type WasmGlobal, type WasmMemory, type WasmModule } from '../peers/wasm.js';
import type { AllocatorAdapter, AllocatorSnapshot, AllocatorSpec, HeapInstance, HeapSizing, MemorySample } from './types.js';

const PAGE = 65_536;
const MIB = 1 << 20;
/** the module's own pages (data, bss with the per-thread stacks, linker stack): --initial-memory */
export const ZIG_MODULE_INITIAL_BYTES = 16 * MIB;
const MAX_PAGES = 65_536;
/** stack slots the module reserves (MAX_THREADS in gpa.zig) */
const STACK_SLOTS = 160;

interface ZigExports {
  heap_init(): number;
  stack_top(slot: number): number;
  malloc(n: number): number;
  free(p: number): void;
  usable_size(p: number): number;
  stat_live_blocks(): number;
  stat_live_bytes(): number;
  stat_page_bytes(): number;
  stat_peak_page_bytes(): number;
  __stack_pointer: WasmGlobal;
}

/** The Zig peers by allocator id: wasm file name under bench/contention/peers/zig/. */
export const ZIG_PEERS: Record<string, string> = { 'zig-gpa': 'gpa.wasm' };

/**
 * Where a Zig peer's committed module lives (source tree; the lab runs from dist/ too).
 * SABMALLOC_ZIG_PEER_DIR names another directory (a fresh build elsewhere, or an empty one
 * to see the suite without the peer).
 */
export function zigWasmPath(id: string): string {
  const file = ZIG_PEERS[id];
  if (!file) throw new Error(`no Zig peer "${id}"`);
  const dir = process.env.SABMALLOC_ZIG_PEER_DIR;
  if (dir) return path.join(dir, file);
  const candidates = [new URL(`../peers/zig/${file}`, import.meta.url), new URL(`../../../../bench/contention/peers/zig/${file}`, import.meta.url)];
  for (const c of candidates) if (existsSync(fileURLToPath(c))) return fileURLToPath(c);
  return fileURLToPath(candidates[candidates.length - 1]!);
}

export function zigPeerAvailable(id: string): boolean {
  return existsSync(zigWasmPath(id));
}

const modules = new Map<string, WasmModule>();
function moduleOf(id: string): WasmModule {
  let m = modules.get(id);
  if (!m) {
    m = new Wasm.Module(readFileSync(zigWasmPath(id)));
    modules.set(id, m);
  }
  return m;
}

export class ZigAdapter implements AllocatorAdapter {
  readonly buffer: SharedArrayBuffer;
  private readonly x: ZigExports;

  constructor(id: string, memory: WasmMemory, stackSlot: number) {
    const inst = new Wasm.Instance(moduleOf(id), { env: { memory } });
    this.x = inst.exports as unknown as ZigExports;
    this.buffer = memory.buffer as SharedArrayBuffer;
    if (stackSlot >= 0) {
      if (stackSlot >= STACK_SLOTS) throw new RangeError(`zig peer: stack slot ${stackSlot} beyond the module's ${STACK_SLOTS}`);
      this.x.__stack_pointer.value = this.x.stack_top(stackSlot);
    }
  }

  malloc(n: number): number {
    const p = this.x.malloc(n);
    if (p === 0) throw new Error(`zig peer out of memory allocating ${n} bytes (memory ${this.buffer.byteLength} bytes)`);
    return p;
  }

  free(p: number): void {
    this.x.free(p);
  }

  usableSize(p: number): number {
    return this.x.usable_size(p);
  }

  detach(): void {
    // The GPA keeps no per-thread state; the stack slot is reused by the next task.
  }

  /** committed: the page allocator's high-water mark of pages handed to the GPA */
  memory(): MemorySample {
    return { committed: this.x.stat_peak_page_bytes(), live: this.x.stat_live_bytes(), metadata: 0 };
  }

  snapshot(): AllocatorSnapshot {
    const m = this.memory();
    return { locks: {}, threadCacheHits: 0, threadCacheMisses: 0, mallocCount: 0, freeCount: 0, ...m };
  }

  liveObjects(): number {
    return this.x.stat_live_blocks();
  }

  init(): void {
    this.x.heap_init();
  }

  pageBytes(): number {
    return this.x.stat_page_bytes();
  }
}

/** Worker side: an instance over the run's memory with its own stack. */
export function attachZig(spec: AllocatorSpec, memory: WasmMemory | undefined, workerIndex: number): ZigAdapter {
  if (!memory) throw new Error(`${spec.id}: the task carries no WasmMemory`);
  return new ZigAdapter(spec.id, memory, workerIndex);
}

/** Main side: the memory at its final size, the page allocator given every page above the module's. */
export function createZigHeap(spec: AllocatorSpec, sizing: HeapSizing): HeapInstance {
  // The GPA rounds every block to a power of two and keeps a bucket page per size class
  // while any slot of it lives: ring at 64 workers ran out of 3x live + 64 MiB. The memory is
  // reserved address space; only what the GPA touches becomes resident.
  const bytes = ZIG_MODULE_INITIAL_BYTES + 64 * MIB + Math.ceil(sizing.liveBytes * 6);
  const pages = Math.min(MAX_PAGES - 1, Math.ceil(bytes / PAGE));
  const memory = new Wasm.Memory({ initial: pages, maximum: pages, shared: true });
  const adapter = new ZigAdapter(spec.id, memory, -1);
  adapter.init();
  return {
    spec,
    buffer: adapter.buffer,
    adapter,
    wasmMemory: memory,
    check: () => {
      const live = adapter.liveObjects();
      const page = adapter.pageBytes();
      if (live > 0x7fffffff || page > memory.buffer.byteLength) throw new Error(`zig peer: counters out of range (live blocks ${live}, page bytes ${page})`);
    },
    liveObjects: () => adapter.liveObjects(),
    cheapCleanup: false,
    dispose: () => undefined,
  };
}
