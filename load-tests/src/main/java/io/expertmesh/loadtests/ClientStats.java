package io.expertmesh.loadtests;

import com.fasterxml.jackson.core.type.TypeReference;
import io.expertmesh.model.Json;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.atomic.AtomicLong;

/**
 * What the simulation measures beyond Gatling's own records, per transport ("sse", "ws"): completions
 * started and finished, OK/KO/cancelled, tokens (the usage chunk's completion_tokens, or the text chunks of a
 * cancelled request), and the gaps between consecutive text chunks, from the arrival times Gatling stamps
 * on each message. Written as JSON when the simulation ends and read back by {@link LoadSummary}.
 */
public final class ClientStats {
    /** The error recorded for a completion that failed through a Gatling request or check (simulation.log has its message). */
    public static final String GATLING_KO = "a Gatling request or check failed";

    /** Counters and histograms of one transport. */
    public static final class Transport {
        public final AtomicLong started = new AtomicLong();
        public final AtomicLong ok = new AtomicLong();
        public final AtomicLong ko = new AtomicLong();
        public final AtomicLong cancelled = new AtomicLong();
        public final AtomicLong tokens = new AtomicLong();
        public final AtomicLong contentChunks = new AtomicLong();
        /** Gaps between consecutive text chunks of one stream, ms. */
        public final MsHistogram gaps = new MsHistogram();
        /** Client-side time to first token (request sent to the first chunk with text or a finish_reason), ms. */
        public final MsHistogram ttft = new MsHistogram();
        private final Map<String, Long> errors = new TreeMap<>();

        synchronized void error(String message) {
            if (errors.size() < 20 || errors.containsKey(message)) errors.merge(message, 1L, Long::sum);
        }

        public synchronized Map<String, Long> errors() {
            return new TreeMap<>(errors);
        }

        public long finished() {
            return ok.get() + ko.get();
        }

        Map<String, Object> toJson() {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("started", started.get());
            m.put("ok", ok.get());
            m.put("ko", ko.get());
            m.put("cancelled", cancelled.get());
            m.put("tokens", tokens.get());
            m.put("contentChunks", contentChunks.get());
            m.put("gapsMs", gaps.toJson());
            m.put("ttftMs", ttft.toJson());
            m.put("errors", errors());
            return m;
        }

        static Transport fromJson(Map<?, ?> m) {
            Transport t = new Transport();
            t.started.set(num(m, "started"));
            t.ok.set(num(m, "ok"));
            t.ko.set(num(m, "ko"));
            t.cancelled.set(num(m, "cancelled"));
            t.tokens.set(num(m, "tokens"));
            t.contentChunks.set(num(m, "contentChunks"));
            t.gaps.addAll(MsHistogram.fromJson(m.get("gapsMs")));
            t.ttft.addAll(MsHistogram.fromJson(m.get("ttftMs")));
            if (m.get("errors") instanceof Map<?, ?> errs) {
                errs.forEach((k, v) -> t.errors.put(String.valueOf(k), ((Number) v).longValue()));
            }
            return t;
        }

        private static long num(Map<?, ?> m, String key) {
            return m.get(key) instanceof Number n ? n.longValue() : 0;
        }
    }

    public final Transport sse = new Transport();
    public final Transport ws = new Transport();
    /** Describes the run: the parameters the simulation used. */
    public final Map<String, Object> params = new LinkedHashMap<>();
    private final AtomicLong firstStart = new AtomicLong(Long.MAX_VALUE);
    private final AtomicLong lastEnd = new AtomicLong(Long.MIN_VALUE);

    public Transport transport(String name) {
        return switch (name) {
            case "sse" -> sse;
            case "ws" -> ws;
            default -> throw new IllegalArgumentException("unknown transport " + name);
        };
    }

    public void started(String transport, long nowMs) {
        transport(transport).started.incrementAndGet();
        firstStart.accumulateAndGet(nowMs, Math::min);
    }

    /**
     * Records a finished completion.
     *
     * @param ttftMs client-side time to first token, or negative when none arrived
     * @param error null when the completion passed every check
     */
    public void finished(String transport, long nowMs, String error, boolean cancelled, long ttftMs, long tokens, List<Long> contentTimes) {
        Transport t = transport(transport);
        lastEnd.accumulateAndGet(nowMs, Math::max);
        if (error == null) t.ok.incrementAndGet();
        else {
            t.ko.incrementAndGet();
            t.error(error);
        }
        if (cancelled) t.cancelled.incrementAndGet();
        if (ttftMs >= 0) t.ttft.add(ttftMs);
        if (tokens > 0) t.tokens.addAndGet(tokens);
        t.contentChunks.addAndGet(contentTimes.size());
        for (int i = 1; i < contentTimes.size(); i++) t.gaps.add(contentTimes.get(i) - contentTimes.get(i - 1));
    }

    public String toJson() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("params", params);
        m.put("firstStartMs", firstStart.get() == Long.MAX_VALUE ? null : firstStart.get());
        m.put("lastEndMs", lastEnd.get() == Long.MIN_VALUE ? null : lastEnd.get());
        m.put("sse", sse.toJson());
        m.put("ws", ws.toJson());
        return Json.write(m);
    }

    public void write(Path file) throws IOException {
        if (file.getParent() != null) Files.createDirectories(file.getParent());
        Files.writeString(file, toJson() + "\n");
    }

    /** The window from the first request sent to the last one finished, ms; 0 when nothing ran. */
    public long windowMs() {
        long a = firstStart.get(), b = lastEnd.get();
        return a == Long.MAX_VALUE || b == Long.MIN_VALUE ? 0 : Math.max(0, b - a);
    }

    public static ClientStats read(Path file) throws IOException {
        Map<String, Object> m = Json.MAPPER.readValue(Files.readString(file), new TypeReference<>() {});
        if (m == null) throw new IOException(file + ": not a JSON object");
        ClientStats s = new ClientStats();
        if (m.get("params") instanceof Map<?, ?> p) p.forEach((k, v) -> s.params.put(String.valueOf(k), v));
        if (m.get("firstStartMs") instanceof Number n) s.firstStart.set(n.longValue());
        if (m.get("lastEndMs") instanceof Number n) s.lastEnd.set(n.longValue());
        if (m.get("sse") instanceof Map<?, ?> t) copy(Transport.fromJson(t), s.sse);
        if (m.get("ws") instanceof Map<?, ?> t) copy(Transport.fromJson(t), s.ws);
        return s;
    }

    private static void copy(Transport from, Transport to) {
        to.started.set(from.started.get());
        to.ok.set(from.ok.get());
        to.ko.set(from.ko.get());
        to.cancelled.set(from.cancelled.get());
        to.tokens.set(from.tokens.get());
        to.contentChunks.set(from.contentChunks.get());
        to.gaps.addAll(from.gaps);
        to.ttft.addAll(from.ttft);
        from.errors().forEach((k, v) -> to.errors.merge(k, v, Long::sum));
    }
}
