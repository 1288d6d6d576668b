//! malloc/free over Zig's std.heap.GeneralPurposeAllocator(.{ .thread_safe = true }), for
//! wasm32 with shared memory: the allocator a user gets by compiling Zig's general-purpose
//! allocator to threaded WebAssembly. Every JS thread instantiates this module over one
//! shared WebAssembly.Memory; the globals below live in that memory, so every instance
//! drives the same GPA.
//!
//! Thread-safety model: one std.Thread.Mutex (a futex on memory.atomic.wait32/notify)
//! inside the GPA guards every alloc and free, including the backing page allocator it
//! calls. WasmPageAllocator itself keeps unlocked globals: only the GPA may call it.
//! The counters are updated with atomic read-modify-writes outside that mutex.
//!
//! Memory: the JS side creates the memory at its final size (initial = maximum, so its
//! SharedArrayBuffer never changes and every typed-array view covers the heap). heap_init
//! hands the pages above __heap_base to the page allocator once, as if they had been freed;
//! after that the page allocator reuses them instead of growing the memory.
//!
//! Block layout: a 16-byte header holding the requested size, then the user bytes, so free
//! knows the slice length the GPA needs. Blocks are 16-byte aligned.
const std = @import("std");

const HEADER: usize = 16;
const ALIGN = 16;
/// stack bytes per JS thread (the GPA's call depth is small)
pub const STACK_SIZE: usize = 32 * 1024;
pub const MAX_THREADS: usize = 160;

var stacks: [MAX_THREADS * STACK_SIZE]u8 align(16) = undefined;

var gpa = std.heap.GeneralPurposeAllocator(.{ .thread_safe = true }){
    .backing_allocator = .{ .ptr = undefined, .vtable = &counting_vtable },
};

/// live blocks, live requested bytes, page-allocator bytes in use, peak of the latter
var live_blocks: u32 = 0;
var live_bytes: u32 = 0;
var page_bytes: u32 = 0;
var peak_page_bytes: u32 = 0;
var initialised: u32 = 0;

const counting_vtable = std.mem.Allocator.VTable{ .alloc = cAlloc, .resize = cResize, .free = cFree };

fn pageRound(n: usize) usize {
    return std.mem.alignForward(usize, n, std.mem.page_size);
}

fn cAlloc(ctx: *anyopaque, len: usize, log2_align: u8, ra: usize) ?[*]u8 {
    const p = std.heap.page_allocator.rawAlloc(len, log2_align, ra) orelse return null;
    _ = ctx;
    const now = @atomicRmw(u32, &page_bytes, .Add, @intCast(pageRound(len)), .monotonic) + @as(u32, @intCast(pageRound(len)));
    _ = @atomicRmw(u32, &peak_page_bytes, .Max, now, .monotonic);
    return p;
}

fn cResize(ctx: *anyopaque, buf: []u8, log2_align: u8, new_len: usize, ra: usize) bool {
    _ = ctx;
    if (!std.heap.page_allocator.rawResize(buf, log2_align, new_len, ra)) return false;
    const old = pageRound(buf.len);
    const new = pageRound(new_len);
    if (new > old) {
        const now = @atomicRmw(u32, &page_bytes, .Add, @intCast(new - old), .monotonic) + @as(u32, @intCast(new - old));
        _ = @atomicRmw(u32, &peak_page_bytes, .Max, now, .monotonic);
    } else {
        _ = @atomicRmw(u32, &page_bytes, .Sub, @intCast(old - new), .monotonic);
    }
    return true;
}

fn cFree(ctx: *anyopaque, buf: []u8, log2_align: u8, ra: usize) void {
    _ = ctx;
    std.heap.page_allocator.rawFree(buf, log2_align, ra);
    _ = @atomicRmw(u32, &page_bytes, .Sub, @intCast(pageRound(buf.len)), .monotonic);
}

extern const __heap_base: u8;

/// Once, before any malloc: gives the page allocator every page from __heap_base to the
/// end of the memory. Returns the first donated byte address (0 if already done).
export fn heap_init() u32 {
    if (@cmpxchgStrong(u32, &initialised, 0, 1, .seq_cst, .seq_cst) != null) return 0;
    const start = pageRound(@intFromPtr(&__heap_base));
    const end = @wasmMemorySize(0) * std.wasm.page_size;
    if (end > start) {
        const region: [*]u8 = @ptrFromInt(start);
        std.heap.page_allocator.rawFree(region[0 .. end - start], 16, 0);
    }
    return @intCast(start);
}

/// Top of the stack region of JS thread `slot` (stacks grow down).
export fn stack_top(slot: u32) u32 {
    if (slot >= MAX_THREADS) return 0;
    return @intCast(@intFromPtr(&stacks) + (slot + 1) * STACK_SIZE);
}

export fn malloc(n: u32) u32 {
    const a = gpa.allocator();
    const mem = a.alignedAlloc(u8, ALIGN, HEADER + n) catch return 0;
    const hdr: *u32 = @ptrCast(@alignCast(mem.ptr));
    hdr.* = n;
    _ = @atomicRmw(u32, &live_blocks, .Add, 1, .monotonic);
    _ = @atomicRmw(u32, &live_bytes, .Add, n, .monotonic);
    return @intCast(@intFromPtr(mem.ptr) + HEADER);
}

export fn free(p: u32) void {
    if (p == 0) return;
    const base: [*]align(ALIGN) u8 = @ptrFromInt(p - HEADER);
    const n = @as(*u32, @ptrCast(base)).*;
    gpa.allocator().free(base[0 .. HEADER + n]);
    _ = @atomicRmw(u32, &live_blocks, .Sub, 1, .monotonic);
    _ = @atomicRmw(u32, &live_bytes, .Sub, n, .monotonic);
}

export fn usable_size(p: u32) u32 {
    return @as(*const u32, @ptrFromInt(p - HEADER)).*;
}

export fn stat_live_blocks() u32 {
    return @atomicLoad(u32, &live_blocks, .monotonic);
}
export fn stat_live_bytes() u32 {
    return @atomicLoad(u32, &live_bytes, .monotonic);
}
export fn stat_page_bytes() u32 {
    return @atomicLoad(u32, &page_bytes, .monotonic);
}
export fn stat_peak_page_bytes() u32 {
    return @atomicLoad(u32, &peak_page_bytes, .monotonic);
}
