package io.expertmesh.protocol;

import com.esotericsoftware.kryo.Kryo;
import com.esotericsoftware.kryo.Serializer;
import com.esotericsoftware.kryo.io.Input;
import com.esotericsoftware.kryo.io.Output;
import com.esotericsoftware.kryo.util.Pool;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.function.BiConsumer;
import java.util.function.Function;
import org.apache.pekko.actor.ExtendedActorSystem;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.ActorRefResolver;
import org.apache.pekko.actor.typed.javadsl.Adapter;
import org.apache.pekko.serialization.JSerializer;

/**
 * The serializer of every {@link io.expertmesh.protocol.MeshMessage} that crosses nodes: Kryo with
 * registration required and each message class registered under a fixed id with a serializer that
 * bounds every length it reads by the bytes left in the frame, actor references as their
 * serialization format, and activations (rows sent to experts, partial sums back) as F32, or as BF16
 * when {@code expertmesh.serialization.activations = bf16} (half the bytes, rounded to nearest even).
 * A frame naming any other class is refused before anything of it is read.
 */
public final class KryoSerializer extends JSerializer {
    static final int IDENTIFIER = 7_451_001;

    private final Pool<Kryo> pool;

    public KryoSerializer(ExtendedActorSystem system) {
        ActorRefResolver resolver = ActorRefResolver.get(Adapter.toTyped(system));
        String activations = system.settings().config().getString("expertmesh.serialization.activations");
        boolean bf16 = switch (activations) {
            case "f32" -> false;
            case "bf16" -> true;
            default -> throw new IllegalArgumentException(
                    "expertmesh.serialization.activations must be \"f32\" or \"bf16\", got \"" + activations + "\"");
        };
        this.pool = new Pool<>(true, false, 64) {
            @Override
            protected Kryo create() {
                return newKryo(resolver, bf16);
            }
        };
    }

    /** The registration id of each message class; nothing else is read from the wire. */
    private static final int WAKE = 110, BATCH = 111, PARTIAL_SUMS = 112, REFUSED = 113, SUBSCRIBE = 114, HOSTED = 115;

    static Kryo newKryo(ActorRefResolver resolver, boolean bf16) {
        Kryo kryo = new Kryo();
        kryo.setRegistrationRequired(true);
        kryo.setReferences(false);
        kryo.register(RoutedExpertProtocol.Wake.class, serializer((out, w) -> { }, in -> new RoutedExpertProtocol.Wake()), WAKE);
        kryo.register(DispatchBatch.class, serializer((out, b) -> writeBatch(out, b, bf16), KryoSerializer::readBatch), BATCH);
        kryo.register(PartialSums.class, serializer((out, p) -> writePartialSums(out, p, bf16), KryoSerializer::readPartialSums),
                PARTIAL_SUMS);
        kryo.register(DispatchRefused.class, serializer(KryoSerializer::writeRefused, KryoSerializer::readRefused), REFUSED);
        kryo.register(ExpertHostProtocol.Subscribe.class, serializer(
                (out, m) -> writeText(out, resolver.toSerializationFormat(m.subscriber())),
                in -> new ExpertHostProtocol.Subscribe(resolver.resolveActorRef(readText(in)))), SUBSCRIBE);
        kryo.register(ExpertHostProtocol.HostedExperts.class, serializer((out, h) -> writeHosted(out, h, resolver),
                in -> readHosted(in, resolver)), HOSTED);
        return kryo;
    }

    @Override
    public int identifier() {
        return IDENTIFIER;
    }

    @Override
    public boolean includeManifest() {
        return false;
    }

    @Override
    public byte[] toBinary(Object o) {
        Kryo kryo = pool.obtain();
        try (Output out = new Output(256, -1)) {
            kryo.writeClassAndObject(out, o);
            return out.toBytes();
        } finally {
            pool.free(kryo);
        }
    }

    @Override
    public Object fromBinaryJava(byte[] bytes, Class<?> manifest) {
        Kryo kryo = pool.obtain();
        try (Input in = new Input(bytes)) {
            int id = in.readVarInt(true) - 2;  // Kryo writes a class as its registration id + 2
            if (id < WAKE || id > HOSTED) throw new IllegalArgumentException("frame names class id " + id + ", not a mesh message");
            return kryo.readObject(in, kryo.getRegistration(id).getType());
        } finally {
            pool.free(kryo);
        }
    }

    /** A serializer from a message's two halves: how it is written and how it is read back. */
    private static <T> Serializer<T> serializer(BiConsumer<Output, T> write, Function<Input, T> read) {
        return new Serializer<>() {
            @Override
            public void write(Kryo kryo, Output out, T message) {
                write.accept(out, message);
            }

            @Override
            public T read(Kryo kryo, Input in, Class<? extends T> type) {
                return read.apply(in);
            }
        };
    }

    /** Text as a byte count and UTF-8, read back only when the frame holds that many bytes. */
    static void writeText(Output out, String text) {
        byte[] bytes = text.getBytes(StandardCharsets.UTF_8);
        out.writeVarInt(bytes.length, true);
        out.writeBytes(bytes);
    }

    static String readText(Input in) {
        return new String(in.readBytes(count(in, 1, "text bytes")), StandardCharsets.UTF_8);
    }

    /** A count read from the frame, refused when its items, each at least {@code minBytes}, cannot fit in what is left. */
    private static int count(Input in, int minBytes, String what) {
        int n = in.readVarInt(true);
        if (n < 0 || n > (in.limit() - in.position()) / minBytes) {
            throw new IllegalArgumentException(n + " " + what + " do not fit in the " + (in.limit() - in.position()) + " bytes left");
        }
        return n;
    }

    static void writeRefused(Output out, DispatchRefused r) {
        out.writeVarLong(r.step(), true);
        out.writeVarInt(r.layer(), true);
        writeText(out, r.node());
        writeText(out, r.reason());
    }

    static DispatchRefused readRefused(Input in) {
        return new DispatchRefused(in.readVarLong(true), in.readVarInt(true), readText(in), readText(in));
    }

    static void writeHosted(Output out, ExpertHostProtocol.HostedExperts h, ActorRefResolver resolver) {
        writeText(out, resolver.toSerializationFormat(h.host()));
        writeText(out, h.node());
        writeText(out, h.link());
        out.writeVarInt(h.experts().length, true);
        for (int e : h.experts()) out.writeVarInt(e, true);
        out.writeVarLong(h.version(), true);
    }

    static ExpertHostProtocol.HostedExperts readHosted(Input in, ActorRefResolver resolver) {
        ActorRef<ExpertHostProtocol.Command> host = resolver.resolveActorRef(readText(in));
        String node = readText(in);
        String link = readText(in);
        int[] experts = new int[count(in, 1, "expert ids")];
        for (int i = 0; i < experts.length; i++) experts[i] = in.readVarInt(true);
        return new ExpertHostProtocol.HostedExperts(host, node, link, experts, in.readVarLong(true));
    }

    static void writeBatch(Output out, DispatchBatch b, boolean bf16) {
        out.writeVarLong(b.step(), true);
        out.writeVarInt(b.layer(), true);
        out.writeVarInt(b.rows(), true);
        out.writeVarInt(b.hidden(), true);
        out.writeVarInt(b.k(), true);
        writeActivations(out, b.activations(), bf16);
        writeChoices(out, b.rows(), b.k(), b.experts(), b.weights());
    }

    static DispatchBatch readBatch(Input in) {
        long step = in.readVarLong(true);
        int layer = in.readVarInt(true);
        int rows = in.readVarInt(true);
        int hidden = in.readVarInt(true);
        int k = in.readVarInt(true);
        if (rows < 0 || k < 0 || hidden < 0 || (long) rows * k > in.limit() - in.position() || (long) rows * hidden > Integer.MAX_VALUE) {
            throw new IllegalArgumentException("a batch of " + rows + " rows × " + k + " choices × " + hidden
                    + " activations does not fit in its frame");
        }
        float[] activations = readActivations(in);
        int[] experts = new int[rows * k];
        float[] weights = new float[rows * k];
        readChoices(in, rows, k, experts, weights);
        return new DispatchBatch(step, layer, rows, hidden, activations, k, experts, weights);
    }

    static void writePartialSums(Output out, PartialSums p, boolean bf16) {
        out.writeVarLong(p.step(), true);
        out.writeVarInt(p.layer(), true);
        writeActivations(out, p.sums(), bf16);
    }

    static PartialSums readPartialSums(Input in) {
        return new PartialSums(in.readVarLong(true), in.readVarInt(true), readActivations(in));
    }

    /**
     * Per row, only the choices this node serves (ids below 0 mark choices served elsewhere): their
     * count, then each expert id (one byte below 128) and its router weight (F32, exact). The reader
     * puts them back at the front of the row, in order, with -1 after them, which the expert store
     * adds up in the same order.
     */
    static void writeChoices(Output out, int rows, int k, int[] experts, float[] weights) {
        for (int r = 0; r < rows; r++) {
            int n = 0;
            for (int j = 0; j < k; j++) if (experts[r * k + j] >= 0) n++;
            out.writeVarInt(n, true);
            for (int j = 0; j < k; j++) {
                if (experts[r * k + j] < 0) continue;
                out.writeVarInt(experts[r * k + j], true);
                out.writeFloat(weights[r * k + j]);
            }
        }
    }

    static void readChoices(Input in, int rows, int k, int[] experts, float[] weights) {
        Arrays.fill(experts, -1);
        for (int r = 0; r < rows; r++) {
            int n = in.readVarInt(true);
            if (n > k) throw new IllegalArgumentException("row " + r + " names " + n + " experts, more than k = " + k);
            for (int j = 0; j < n; j++) {
                experts[r * k + j] = in.readVarInt(true);
                weights[r * k + j] = in.readFloat();
            }
        }
    }

    /**
     * Length, then the values: as F32 (4 bytes each), or rounded to BF16 (nearest even) and written
     * by {@link Bf16Packing}, which stores the rounded values exactly in about 1.5 bytes each.
     */
    static void writeActivations(Output out, float[] values, boolean bf16) {
        out.writeVarInt(values.length, true);
        out.writeBoolean(bf16);
        if (!bf16) {
            out.writeFloats(values, 0, values.length);
            return;
        }
        short[] rounded = new short[values.length];
        for (int i = 0; i < values.length; i++) {
            int bits = Float.floatToRawIntBits(values[i]);
            rounded[i] = (short) (Float.isNaN(values[i]) ? (bits >>> 16) | 0x40 : (bits + 0x7FFF + ((bits >>> 16) & 1)) >>> 16);
        }
        Bf16Packing.write(out, rounded);
    }

    static float[] readActivations(Input in) {
        int n = in.readVarInt(true);
        boolean bf16 = in.readBoolean();
        // A count the frame cannot hold is refused before anything is allocated for it.
        if (n < 0 || n > (in.limit() - in.position()) / (bf16 ? 1 : 4)) {
            throw new IllegalArgumentException(n + " activations do not fit in the " + (in.limit() - in.position()) + " bytes left");
        }
        if (!bf16) return in.readFloats(n);
        short[] rounded = Bf16Packing.read(in, n);
        float[] values = new float[n];
        for (int i = 0; i < n; i++) values[i] = Float.intBitsToFloat((rounded[i] & 0xFFFF) << 16);
        return values;
    }
}
