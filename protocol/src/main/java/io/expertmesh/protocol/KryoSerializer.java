package io.expertmesh.protocol;

import com.esotericsoftware.kryo.Kryo;
import com.esotericsoftware.kryo.Serializer;
import com.esotericsoftware.kryo.io.Input;
import com.esotericsoftware.kryo.io.Output;
import com.esotericsoftware.kryo.util.Pool;
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
 * each message class registered under a fixed id, actor references as their serialization format,
 * and activations (rows sent to experts, partial sums back) as F32, or as BF16 when
 * {@code expertmesh.serialization.activations = bf16} (half the bytes, rounded to nearest even).
 */
public final class KryoSerializer extends JSerializer {
    private static final int IDENTIFIER = 7_451_001;

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

    static Kryo newKryo(ActorRefResolver resolver, boolean bf16) {
        Kryo kryo = new Kryo();
        kryo.setRegistrationRequired(false);
        kryo.setReferences(false);
        kryo.addDefaultSerializer(ActorRef.class, new ActorRefSerializer(resolver));
        kryo.register(int[].class, 100);
        kryo.register(float[].class, 101);
        kryo.register(RoutedExpertProtocol.Wake.class, 110);
        kryo.register(DispatchBatch.class, serializer((out, b) -> writeBatch(out, b, bf16), KryoSerializer::readBatch), 111);
        kryo.register(PartialSums.class, serializer((out, p) -> writePartialSums(out, p, bf16), KryoSerializer::readPartialSums), 112);
        kryo.register(DispatchRefused.class, 113);
        kryo.register(ExpertHostProtocol.Subscribe.class, 114);
        kryo.register(ExpertHostProtocol.HostedExperts.class, 115);
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
            return kryo.readClassAndObject(in);
        } finally {
            pool.free(kryo);
        }
    }

    /** An actor reference as its cluster-wide serialization format. */
    private static final class ActorRefSerializer extends Serializer<ActorRef<?>> {
        private final ActorRefResolver resolver;

        ActorRefSerializer(ActorRefResolver resolver) {
            this.resolver = resolver;
        }

        @Override
        public void write(Kryo kryo, Output output, ActorRef<?> ref) {
            output.writeString(resolver.toSerializationFormat(ref));
        }

        @Override
        public ActorRef<?> read(Kryo kryo, Input input, Class<? extends ActorRef<?>> type) {
            return resolver.resolveActorRef(input.readString());
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
        if ((long) rows * k > in.limit() - in.position() || (long) rows * hidden > Integer.MAX_VALUE) {
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
        if (n > (in.limit() - in.position()) / (bf16 ? 1 : 4)) {
            throw new IllegalArgumentException(n + " activations do not fit in the " + (in.limit() - in.position()) + " bytes left");
        }
        if (!bf16) return in.readFloats(n);
        short[] rounded = Bf16Packing.read(in, n);
        float[] values = new float[n];
        for (int i = 0; i < n; i++) values[i] = Float.intBitsToFloat((rounded[i] & 0xFFFF) << 16);
        return values;
    }
}
