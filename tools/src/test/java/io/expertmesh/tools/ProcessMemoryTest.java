package io.expertmesh.tools;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteBuffer;
import org.junit.jupiter.api.Test;

/** Reading a process's RSS from /proc and a JVM's heap from its perf data, as the soak does for its nodes. */
class ProcessMemoryTest {
    @Test
    void vmRssIsReadFromProcStatusInBytes() {
        String status = "Name:\tjava\nVmPeak:\t 9000000 kB\nVmRSS:\t  735232 kB\nRssAnon:\t  707736 kB\n";
        assertEquals(735232L * 1024, ProcessMemory.vmRssBytes(status));
        assertEquals(-1, ProcessMemory.vmRssBytes("Name:\tzombie\nState:\tZ (zombie)\n"));
    }

    @Test
    void thisJvmsRssAndHeapAreReadFromOutsideIt() {
        ProcessMemory.Reading r = ProcessMemory.read(ProcessHandle.current().pid());
        assertNotNull(r);
        assertTrue(r.rssBytes() > 1 << 20, "RSS " + r.rssBytes());
        assertNotNull(r.heap(), "HotSpot writes perf data unless -XX:-UsePerfData");
        assertTrue(r.heap().usedBytes() > 0 && r.heap().usedBytes() <= r.heap().committedBytes(), r.heap().toString());
    }

    @Test
    void aBufferThatIsNotPerfDataHasNoHeap() {
        assertNull(ProcessMemory.heap(ByteBuffer.wrap(new byte[64])));
        assertNull(ProcessMemory.heap(ByteBuffer.wrap(new byte[] {(byte) 0xca, (byte) 0xfe})));
    }

    @Test
    void aProcessThatIsGoneHasNoReading() {
        assertNull(ProcessMemory.read(Long.MAX_VALUE));
    }
}
