package io.expertmesh.loadtests;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.util.List;
import org.junit.jupiter.api.Test;

class SimulationLogTest {
    /** A real simulation.log: a 10 s mixed run of StreamingSimulation (4 users) written by Gatling 3.15.1. */
    static SimulationLog fixture() throws IOException {
        try (InputStream is = SimulationLogTest.class.getResourceAsStream("/gatling-3.15.1-simulation-log.bin")) {
            return SimulationLog.read(is);
        }
    }

    @Test
    void readsARealGatlingLog() throws IOException {
        SimulationLog log = fixture();
        assertEquals("3.15.1", log.gatlingVersion);
        assertEquals("io.expertmesh.loadtests.StreamingSimulation", log.simulationClass);
        assertEquals(List.of("sse", "ws"), log.scenarios);
        // Gatling's console for that run: "request count 294 | 294 OK"; 33 SSE and 42 WebSocket completions
        assertEquals(294, log.requests.size());
        assertTrue(log.requests.stream().allMatch(SimulationLog.Request::ok));
        assertEquals(33, log.groups(List.of("sse request")).size());
        assertEquals(42, log.groups(List.of("ws request")).size());
        assertEquals(33, log.requests(List.of("sse request", "sse ttft"), "sse first token").size());
        assertEquals(42, log.requests(List.of("ws request"), "ws ttft").size());
        // Gatling's assertions for that run: p99 of 'sse ttft' 425 ms, of 'ws ttft' 512 ms
        MsHistogram sse = new MsHistogram();
        log.groups(List.of("sse request", "sse ttft")).forEach(g -> sse.add(g.cumulated()));
        assertEquals(425, sse.percentile(99));
        MsHistogram ws = new MsHistogram();
        log.requests(List.of("ws request"), "ws ttft").forEach(r -> ws.add(r.responseTime()));
        assertEquals(512, ws.percentile(99));
        assertTrue(log.lastEventOffset > 10_000 && log.lastEventOffset < 12_000, "run length " + log.lastEventOffset);
        assertEquals(log.usersStarted, log.usersEnded);
    }

    @Test
    void readsWhatItWrites() throws IOException {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        DataOutputStream out = new DataOutputStream(bytes);
        out.writeByte(0);
        string(out, "3.15.1");
        string(out, "x.Sim");
        out.writeLong(1_000_000L);
        string(out, "");
        out.writeInt(1);
        string(out, "sc\u00e9nario \u2603"); // UTF-16 coder
        out.writeInt(0); // no assertions
        out.writeByte(2); // user start
        out.writeInt(0);
        out.writeBoolean(true);
        out.writeInt(5);
        out.writeByte(1); // request in group "g"
        out.writeInt(1);
        out.writeInt(1);
        string(out, "g");
        out.writeInt(2);
        string(out, "req");
        out.writeInt(10);
        out.writeInt(30);
        out.writeBoolean(false);
        out.writeInt(3);
        string(out, "boom");
        out.writeByte(3); // group g
        out.writeInt(1);
        out.writeInt(-1);
        out.writeInt(10);
        out.writeInt(40);
        out.writeInt(20);
        out.writeBoolean(false);
        out.writeByte(4); // error
        out.writeInt(-3);
        out.writeInt(41);
        SimulationLog log = SimulationLog.read(new ByteArrayInputStream(bytes.toByteArray()));
        assertEquals(List.of("sc\u00e9nario \u2603"), log.scenarios);
        assertEquals(List.of(new SimulationLog.Request(List.of("g"), "req", 10, 30, false, "boom")), log.requests);
        assertEquals(List.of(new SimulationLog.Group(List.of("g"), 10, 40, 20, false)), log.groups);
        assertEquals(List.of("boom"), log.errors);
        assertEquals(41, log.lastEventOffset);
        assertEquals(1, log.usersStarted);
    }

    @Test
    void refusesOtherVersions() throws IOException {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        DataOutputStream out = new DataOutputStream(bytes);
        out.writeByte(0);
        string(out, "3.9.0");
        IOException e = assertThrows(IOException.class, () -> SimulationLog.read(new ByteArrayInputStream(bytes.toByteArray())));
        assertTrue(e.getMessage().contains("3.9.0"));
    }

    /** Writes a string the way the JDK stores it: Latin-1 bytes and coder 0, or UTF-16 in native order and coder 1. */
    private static void string(DataOutputStream out, String s) throws IOException {
        boolean latin1 = s.chars().allMatch(c -> c < 256);
        byte[] b = s.getBytes(latin1 ? java.nio.charset.StandardCharsets.ISO_8859_1
                : java.nio.ByteOrder.nativeOrder() == java.nio.ByteOrder.LITTLE_ENDIAN
                ? java.nio.charset.StandardCharsets.UTF_16LE : java.nio.charset.StandardCharsets.UTF_16BE);
        out.writeInt(b.length);
        if (b.length == 0) return;
        out.write(b);
        out.writeByte(latin1 ? 0 : 1);
    }
}
