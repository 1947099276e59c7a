// Fiber scheduler of the CUDA emulator (see cuda_emulator.h) and its C entry point, emu_launch.
#include "cuda_emulator.h"
#include <cstdio>
#include <cstdlib>
#include <vector>

dim3 threadIdx, blockIdx, blockDim, gridDim;
unsigned char* emu_dynamic_smem;
uint64_t emu_shuffle_slots[1024];

extern "C" void emu_switch(void** save_sp, void* load_sp);
asm(R"(
.pushsection .text
.globl emu_switch
.type emu_switch, @function
emu_switch:
    pushq %rbp
    pushq %rbx
    pushq %r12
    pushq %r13
    pushq %r14
    pushq %r15
    movq %rsp, (%rdi)
    movq %rsi, %rsp
    popq %r15
    popq %r14
    popq %r13
    popq %r12
    popq %rbx
    popq %rbp
    ret
.size emu_switch, .-emu_switch
.popsection
)");

namespace {
enum State { READY, AT_WARP, AT_SYNC, DONE };
constexpr size_t STACK = 64 * 1024;  // emulated WMMA fragments hold whole tiles (1 KB each)
struct Fiber { void* sp; State state; };
std::vector<Fiber> fibers;
std::vector<unsigned char> stacks;
std::vector<unsigned char> dynamicSmem;
void* schedulerSp;
unsigned current;
void (*kernel)(void**);
void** kernelArgs;

void yieldAs(State s) {
    fibers[current].state = s;
    emu_switch(&fibers[current].sp, schedulerSp);
}

[[noreturn]] void fiberEntry() {
    kernel(kernelArgs);
    fibers[current].state = DONE;
    emu_switch(&fibers[current].sp, schedulerSp);
    std::abort();
}

void startFiber(unsigned i) {
    unsigned char* top = stacks.data() + (size_t)(i + 1) * STACK;
    uintptr_t t = reinterpret_cast<uintptr_t>(top) & ~uintptr_t(15);
    void** sp = reinterpret_cast<void**>(t);
    *--sp = nullptr;                                    // the entry's return address (it never returns)
    *--sp = reinterpret_cast<void*>(&fiberEntry);       // where emu_switch's ret goes
    for (int r = 0; r < 6; r++) *--sp = nullptr;        // rbp, rbx, r12-r15
    fibers[i] = Fiber{sp, READY};
}

void resume(unsigned i) {
    current = i;
    threadIdx = dim3{i, 0, 0};
    emu_switch(&schedulerSp, fibers[i].sp);
}

// Runs one block to completion; returns false on a barrier mismatch (a kernel bug).
bool runBlock(unsigned threads) {
    for (unsigned i = 0; i < threads; i++) startFiber(i);
    while (true) {
        bool progressed = false;
        for (unsigned w = 0; w * 32 < threads; w++) {
            unsigned lo = w * 32, hi = std::min(threads, lo + 32);
            bool runnable = false, blocked = false;
            for (unsigned i = lo; i < hi; i++) {
                if (fibers[i].state == AT_SYNC) blocked = true;
                else if (fibers[i].state != DONE) runnable = true;
            }
            if (!runnable) continue;
            if (blocked) {
                std::fprintf(stderr, "cuda emulator: warp %u has lanes at __syncthreads and lanes at a shuffle\n", w);
                return false;
            }
            for (unsigned i = lo; i < hi; i++) if (fibers[i].state != DONE) resume(i);
            progressed = true;
        }
        if (progressed) continue;
        bool waiting = false;
        for (unsigned i = 0; i < threads; i++) {
            if (fibers[i].state == AT_SYNC) {
                fibers[i].state = READY;
                waiting = true;
            }
        }
        if (!waiting) return true;
    }
}
}

void emu_yield_sync() { yieldAs(AT_SYNC); }
void emu_yield_warp() { yieldAs(AT_WARP); }

struct KernelEntry { const char* name; void (*fn)(void**); };
extern const KernelEntry emu_kernels[];
extern const int emu_kernel_count;

// Runs kernel `name` on a (gridX, gridY) grid of `block`-thread blocks; args as for cuLaunchKernel.
// Returns 0, or -1 for an unknown kernel, -2 for a barrier mismatch.
extern "C" int emu_launch(const char* name, int gridX, int gridY, int block, int sharedBytes, void** args) {
    void (*fn)(void**) = nullptr;
    for (int k = 0; k < emu_kernel_count; k++) if (std::strcmp(emu_kernels[k].name, name) == 0) fn = emu_kernels[k].fn;
    if (!fn || block < 1 || block > 1024) return -1;
    kernel = fn;
    kernelArgs = args;
    fibers.assign(block, Fiber{nullptr, DONE});
    if (stacks.size() < (size_t)block * STACK) stacks.assign((size_t)block * STACK, 0);
    dynamicSmem.assign(std::max(sharedBytes, 16), 0);
    emu_dynamic_smem = dynamicSmem.data();
    gridDim = dim3{(unsigned)gridX, (unsigned)gridY, 1};
    blockDim = dim3{(unsigned)block, 1, 1};
    for (int by = 0; by < gridY; by++) {
        for (int bx = 0; bx < gridX; bx++) {
            blockIdx = dim3{(unsigned)bx, (unsigned)by, 0};
            if (!runBlock(block)) return -2;
        }
    }
    return 0;
}
