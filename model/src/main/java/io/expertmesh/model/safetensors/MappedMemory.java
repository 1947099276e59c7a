package io.expertmesh.model.safetensors;

import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.util.Optional;

/**
 * Asks Linux to back mapped checkpoint files with 2 MB pages where it can ({@code madvise
 * MADV_HUGEPAGE}: page faults then read whole 2 MB folios). A decode step streams over a gigabyte of
 * weights from a different set of experts each time; with 4 KB pages the page-table walks alone
 * cost a third of the memory bandwidth. Best effort: elsewhere, or if the call fails, nothing changes.
 */
public final class MappedMemory {
    private static final int MADV_HUGEPAGE = 14;
    private static final Optional<MethodHandle> MADVISE = lookup();

    private MappedMemory() {}

    private static Optional<MethodHandle> lookup() {
        if (!System.getProperty("os.name", "").startsWith("Linux")) return Optional.empty();
        try {
            Linker linker = Linker.nativeLinker();
            return linker.defaultLookup().find("madvise").map(symbol -> linker.downcallHandle(symbol,
                    FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.ADDRESS, ValueLayout.JAVA_LONG, ValueLayout.JAVA_INT)));
        } catch (RuntimeException | LinkageError e) {
            return Optional.empty();
        }
    }

    /** Returns whether the kernel accepted the advice. */
    public static boolean adviseHugePages(MemorySegment mapped) {
        if (MADVISE.isEmpty()) return false;
        try {
            return (int) MADVISE.get().invokeExact(mapped, mapped.byteSize(), MADV_HUGEPAGE) == 0;
        } catch (Throwable e) {
            return false;
        }
    }
}
