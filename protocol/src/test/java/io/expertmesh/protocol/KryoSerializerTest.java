package io.expertmesh.protocol;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.typesafe.config.ConfigFactory;
import java.util.List;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.javadsl.Adapter;
import org.apache.pekko.serialization.Serialization;
import org.apache.pekko.serialization.SerializationExtension;
import org.apache.pekko.serialization.Serializers;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** Every message that crosses nodes goes through the project's Kryo serializer and comes back equal. */
class KryoSerializerTest {
    private static ActorTestKit kit;
    private static ActorTestKit bf16Kit;

    @BeforeAll
    static void start() {
        kit = ActorTestKit.create("kryo", ConfigFactory.parseString("pekko.remote.artery.canonical.port = 0").withFallback(ConfigFactory.load()));
        bf16Kit = ActorTestKit.create("kryo-bf16", ConfigFactory.parseString(
                "pekko.remote.artery.canonical.port = 0, expertmesh.serialization.activations = bf16").withFallback(ConfigFactory.load()));
    }

    @AfterAll
    static void stop() {
        kit.shutdownTestKit();
        bf16Kit.shutdownTestKit();
    }

    private static Object roundTrip(ActorTestKit testKit, Object message) {
        Serialization serialization = SerializationExtension.get(Adapter.toClassic(testKit.system()));
        var serializer = serialization.findSerializerFor(message);
        assertInstanceOf(KryoSerializer.class, serializer, message.getClass() + " is serialized by Kryo");
        byte[] bytes = serialization.serialize(message).get();
        return serialization.deserialize(bytes, serializer.identifier(), Serializers.manifestFor(serializer, message)).get();
    }

    @Test
    void everyCrossNodeMessageRoundTrips() {
        ActorRef<ExpertHostProtocol.Command> host = kit.<ExpertHostProtocol.Command>createTestProbe().getRef();
        ActorRef<ExpertHostProtocol.HostedExperts> subscriber = kit.<ExpertHostProtocol.HostedExperts>createTestProbe().getRef();
        var batch = new DispatchBatch(12, 3, 2, 4, new float[] {1, -2.5f, 3e-7f, 4, 5, 6, 7, Float.MIN_VALUE}, 2,
                new int[] {5, -1, 63, 7}, new float[] {0.75f, 0, 0.5f, 0.5f});
        List<MeshMessage> messages = List.of(new RoutedExpertProtocol.Wake(), batch,
                new PartialSums(12, 3, new float[] {0.1f, -0.2f, 1e30f}),
                new DispatchRefused(12, 3, "pekko://expertmesh@127.0.0.1:1", "expert 5 is not hosted here"),
                new ExpertHostProtocol.Subscribe(subscriber),
                new ExpertHostProtocol.HostedExperts(host, "pekko://expertmesh@127.0.0.1:1", "127.0.0.1:40111", new int[] {0, 1, 2, 63}, 9));
        for (MeshMessage m : messages) {
            Object back = roundTrip(kit, m);
            assertEquals(m.getClass(), back.getClass());
            switch (m) {
                case DispatchBatch b -> {
                    var c = (DispatchBatch) back;
                    assertEquals(List.of(b.step(), b.layer(), b.rows(), b.hidden(), b.k()), List.of(c.step(), c.layer(), c.rows(), c.hidden(), c.k()));
                    assertArrayEquals(b.activations(), c.activations(), 0f);
                    assertArrayEquals(b.experts(), c.experts());
                    assertArrayEquals(b.weights(), c.weights(), 0f);
                }
                case PartialSums p -> {
                    var q = (PartialSums) back;
                    assertEquals(p.step(), q.step());
                    assertEquals(p.layer(), q.layer());
                    assertArrayEquals(p.sums(), q.sums(), 0f);
                }
                case ExpertHostProtocol.HostedExperts h -> {
                    var g = (ExpertHostProtocol.HostedExperts) back;
                    assertEquals(h.host(), g.host());
                    assertEquals(h.link(), g.link());
                    assertArrayEquals(h.experts(), g.experts());
                    assertEquals(h.version(), g.version());
                }
                default -> assertEquals(m, back);
            }
        }
    }

    @Test
    void aBatchCarriesOnlyTheChoicesItsNodeServesAndKeepsTheirOrder() {
        var batch = new DispatchBatch(1, 2, 2, 1, new float[] {1, 2}, 3,
                new int[] {-1, 5, 9, 40, -1, -1}, new float[] {0, 0.25f, 0.5f, 1, 0, 0});
        var back = (DispatchBatch) roundTrip(kit, batch);
        assertArrayEquals(new int[] {5, 9, -1, 40, -1, -1}, back.experts());
        assertArrayEquals(new float[] {0.25f, 0.5f, 0, 1, 0, 0}, back.weights(), 0f);
    }

    @Test
    void bf16ActivationsHalveTheBytesAndRoundToNearestEven() {
        float[] values = new float[1024];
        for (int i = 0; i < values.length; i++) values[i] = (float) Math.sin(i) * 3;
        values[0] = 1.00390625f; // exactly between two bfloat16 values: rounds to the even one, 1.0
        values[1] = 1.01171875f; // between 1.0078125 and 1.015625: rounds to even, 1.015625
        var sums = new PartialSums(1, 1, values);
        Serialization f32 = SerializationExtension.get(Adapter.toClassic(kit.system()));
        Serialization bf16 = SerializationExtension.get(Adapter.toClassic(bf16Kit.system()));
        int f32Bytes = f32.serialize(sums).get().length;
        int bf16Bytes = bf16.serialize(sums).get().length;
        assertTrue(bf16Bytes < f32Bytes / 2 + 64, f32Bytes + " vs " + bf16Bytes);
        float[] back = ((PartialSums) roundTrip(bf16Kit, sums)).sums();
        assertEquals(1.0f, back[0]);
        assertEquals(1.015625f, back[1]);
        for (int i = 2; i < values.length; i++) assertEquals(values[i], back[i], Math.abs(values[i]) / 256 + 1e-30f, "value " + i);
    }

    private static byte[] frame(int... varints) {
        try (var out = new com.esotericsoftware.kryo.io.Output(64, -1)) {
            for (int v : varints) out.writeVarInt(v, true);
            return out.toBytes();
        }
    }

    private static IllegalArgumentException refused(byte[] bytes) {
        Serialization serialization = SerializationExtension.get(Adapter.toClassic(kit.system()));
        int kryo = serialization.findSerializerFor(new RoutedExpertProtocol.Wake()).identifier();
        var failure = assertThrows(Exception.class, () -> serialization.deserialize(bytes, kryo, "").get());
        Throwable cause = failure;
        while (!(cause instanceof IllegalArgumentException) && cause.getCause() != null) cause = cause.getCause();
        return assertInstanceOf(IllegalArgumentException.class, cause, failure.toString());
    }

    @Test
    void aFrameNamingAnyClassButAMeshMessageIsRefusedBeforeItIsRead() {
        // Kryo writes a class as its id + 2: 2 + 2 is String (a default registration), 10 + 2 and 120 + 2 no message.
        for (int classId : new int[] {2, 10, 100, 101, 120}) {
            var e = refused(frame(classId + 2, 1_000_000_000));
            assertTrue(e.getMessage().contains("not a mesh message"), e.getMessage());
        }
    }

    @Test
    void countsLargerThanTheFrameAreRefusedBeforeAnythingIsAllocated() {
        // A HostedExperts whose text announces a billion bytes, then one whose expert list announces a billion ids.
        var e = refused(frame(115 + 2, 1_000_000_000));
        assertTrue(e.getMessage().contains("1000000000 text bytes do not fit"), e.getMessage());
        e = refused(frame(113 + 2, 1, 1, 1_000_000_000));
        assertTrue(e.getMessage().contains("do not fit"), e.getMessage());
        e = refused(frame(111 + 2, 1, 1, 1 << 20, 1 << 20, 6));
        assertTrue(e.getMessage().contains("does not fit in its frame"), e.getMessage());
    }
}
