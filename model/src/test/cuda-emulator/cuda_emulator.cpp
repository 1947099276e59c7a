// Fiber scheduler of the CUDA emulator (see cuda_emulator.h), its checks of what hardware enforces,
// and its C entry points: emu_launch, emu_error, emu_register and emu_unregister.
#include "cuda_emulator.h"
#include <cstdio>
#include <cstdlib>
#include <map>
#include <string>
#include <vector>

dim3 threadIdx, blockIdx, blockDim, gridDim;
unsigned char* emu_dynamic_smem;
size_t emu_dynamic_smem_bytes;
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
enum State { READY, AT_WARP, AT_SYNC, DONE, FAULTED };
constexpr size_t MAX_SHARED_BYTES = 48 * 1024;  // per block, static plus dynamic (KernelLaunch.MAX_SHARED_BYTES)
constexpr size_t STACK = 64 * 1024;  // emulated WMMA fragments hold whole tiles (1 KB each)
struct Fiber { void* sp; State state; };
std::vector<Fiber> fibers;
std::vector<unsigned char> stacks;
std::vector<unsigned char> dynamicSmem;
void* schedulerSp;
unsigned current;
void (*kernel)(void**);
const char* kernelName;
void** kernelArgs;
std::string error;                               // why the last launch failed
std::map<uintptr_t, size_t> allocations;         // device memory: base address -> bytes
std::vector<const void*> staticShared;           // the static __shared__ variables this launch has declared
size_t staticSharedBytes;

// Ends the current fiber's kernel: the scheduler sees FAULTED and abandons the launch.
[[noreturn]] void fault(const std::string& why) {
    if (error.empty()) {
        char where[160];
        std::snprintf(where, sizeof where, "kernel %s, block (%u, %u), thread %u: ", kernelName, blockIdx.x, blockIdx.y, threadIdx.x);
        error = where + why;
    }
    fibers[current].state = FAULTED;
    emu_switch(&fibers[current].sp, schedulerSp);
    std::abort();
}

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

// Runs one block to completion; returns false on a barrier mismatch or a fault (a kernel bug), with `error` set.
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
                error = std::string("kernel ") + kernelName + ": warp " + std::to_string(w) + " has lanes at __syncthreads and lanes at a shuffle";
                return false;
            }
            for (unsigned i = lo; i < hi; i++) {
                if (fibers[i].state == DONE) continue;
                resume(i);
                if (fibers[i].state == FAULTED) return false;
            }
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

bool emu_find_allocation(uintptr_t address, uintptr_t& lo, uintptr_t& hi) {
    auto it = allocations.upper_bound(address);
    if (it == allocations.begin()) return false;
    --it;
    if (address >= it->first + it->second) return false;
    lo = it->first;
    hi = it->first + it->second;
    return true;
}

void emu_fault_access(uintptr_t address, size_t bytes, uintptr_t lo, uintptr_t hi) {
    char why[240];
    uintptr_t smem = reinterpret_cast<uintptr_t>(emu_dynamic_smem);
    if (address >= lo && address < hi && hi - address >= bytes) {
        std::snprintf(why, sizeof why, "%zu-byte access at 0x%lx is misaligned (a GPU needs it on a multiple of %zu)", bytes,
                      (unsigned long)address, bytes);
    } else if (lo == 0 && hi == 0) {
        std::snprintf(why, sizeof why, "%zu-byte access at 0x%lx through a pointer that is null or not in any device allocation", bytes,
                      (unsigned long)address);
    } else {
        const char* what = lo == smem ? "dynamic shared memory" : "allocation";
        std::snprintf(why, sizeof why, "%zu-byte access at 0x%lx is outside its %s [0x%lx, 0x%lx) of %lu bytes (offset %ld)", bytes,
                      (unsigned long)address, what, (unsigned long)lo, (unsigned long)hi, (unsigned long)(hi - lo), (long)(address - lo));
    }
    fault(why);
}

void emu_static_shared(const void* variable, size_t bytes) {
    if (std::find(staticShared.begin(), staticShared.end(), variable) != staticShared.end()) return;
    staticShared.push_back(variable);
    staticSharedBytes += bytes;
    if (staticSharedBytes + emu_dynamic_smem_bytes > MAX_SHARED_BYTES) {
        fault(std::to_string(staticSharedBytes) + " bytes of static and " + std::to_string(emu_dynamic_smem_bytes) +
              " of dynamic shared memory, more than the " + std::to_string(MAX_SHARED_BYTES) + " a block may use");
    }
}

extern "C" void emu_register(uint64_t base, uint64_t bytes) { allocations[base] = bytes; }
extern "C" void emu_unregister(uint64_t base) { allocations.erase(base); }
extern "C" const char* emu_error() { return error.c_str(); }

struct KernelEntry { const char* name; void (*fn)(void**); };
extern const KernelEntry emu_kernels[];
extern const int emu_kernel_count;

// Runs kernel `name` on a (gridX, gridY) grid of `block`-thread blocks; args as for cuLaunchKernel.
// Returns 0, or -1 when the launch failed, with the reason in emu_error (an unknown kernel, a barrier
// mismatch, an out-of-bounds access, too much shared memory).
extern "C" int emu_launch(const char* name, int gridX, int gridY, int block, int sharedBytes, void** args) {
    error.clear();
    void (*fn)(void**) = nullptr;
    for (int k = 0; k < emu_kernel_count; k++) {
        if (std::strcmp(emu_kernels[k].name, name) == 0) {
            fn = emu_kernels[k].fn;
            kernelName = emu_kernels[k].name;
        }
    }
    if (!fn) {
        error = std::string("no kernel ") + name + " in the emulator";
        return -1;
    }
    if (block < 1 || block > 1024) {  // KernelLaunch refuses these first; the fiber arrays hold 1024
        error = std::string("kernel ") + name + ": " + std::to_string(block) + " threads per block";
        return -1;
    }
    kernel = fn;
    kernelArgs = args;
    staticShared.clear();
    staticSharedBytes = 0;
    fibers.assign(block, Fiber{nullptr, DONE});
    if (stacks.size() < (size_t)block * STACK) stacks.assign((size_t)block * STACK, 0);
    dynamicSmem.assign(std::max(sharedBytes, 16), 0);
    emu_dynamic_smem = dynamicSmem.data();
    emu_dynamic_smem_bytes = sharedBytes;
    gridDim = dim3{(unsigned)gridX, (unsigned)gridY, 1};
    blockDim = dim3{(unsigned)block, 1, 1};
    for (int by = 0; by < gridY; by++) {
        for (int bx = 0; bx < gridX; bx++) {
            blockIdx = dim3{(unsigned)bx, (unsigned)by, 0};
            if (!runBlock(block)) return -1;
        }
    }
    return 0;
}
