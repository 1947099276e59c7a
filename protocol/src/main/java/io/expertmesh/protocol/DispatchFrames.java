package io.expertmesh.protocol;

import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.javadsl.Adapter;
import org.apache.pekko.serialization.Serialization;
import org.apache.pekko.serialization.SerializationExtension;
import org.apache.pekko.serialization.Serializer;
import org.apache.pekko.serialization.Serializers;

/**
 * One {@link MeshMessage} per frame on a dispatch link, serialized by the serializer the actor
 * system binds to it (the project's Kryo serializer), exactly as Artery would carry it: the frame's
 * length (4 bytes, counting what follows), the serializer id (4 bytes), the manifest (2-byte length
 * and UTF-8) and the serialized bytes. A frame longer than {@code maxFrameBytes} is refused on both
 * ends, so a bad peer cannot make a node allocate without bound.
 */
public final class DispatchFrames {
    private final Serialization serialization;
    private final int maxFrameBytes;

    /** A message read from a link and the bytes its frame took on the wire. */
    public record Received(MeshMessage message, int bytes) {}

    public DispatchFrames(ActorSystem<?> system, long maxFrameBytes) {
        this.serialization = SerializationExtension.get(Adapter.toClassic(system));
        if (maxFrameBytes <= 0 || maxFrameBytes > Integer.MAX_VALUE - 8) {
            throw new IllegalArgumentException("dispatch frame limit must be between 1 byte and 2 GiB, got " + maxFrameBytes);
        }
        this.maxFrameBytes = (int) maxFrameBytes;
    }

    /** The most bytes one frame takes on a link, its length field included. */
    public int largestFrameOnWire() {
        return maxFrameBytes + 4;
    }

    /** Writes and flushes one frame; returns its size in bytes. */
    public int write(DataOutputStream out, MeshMessage message) throws IOException {
        Serializer serializer = serialization.findSerializerFor(message);
        String manifest = Serializers.manifestFor(serializer, message);
        byte[] bytes = serializer.toBinary(message);
        byte[] manifestBytes = manifest.getBytes(StandardCharsets.UTF_8);
        long length = 4L + 2 + manifestBytes.length + bytes.length;
        if (length > maxFrameBytes) {
            throw new IOException("a " + message.getClass().getSimpleName() + " of " + length
                    + " bytes exceeds the dispatch frame limit of " + maxFrameBytes + " bytes (expertmesh.experts.max-frame-size)");
        }
        out.writeInt((int) length);
        out.writeInt(serializer.identifier());
        out.writeShort(manifestBytes.length);
        out.write(manifestBytes);
        out.write(bytes);
        out.flush();
        return (int) length + 4;
    }

    /** Reads one frame; an end of stream, a bad length or bytes the serializer rejects throw. */
    public Received read(DataInputStream in) throws IOException {
        int length = in.readInt();
        if (length < 6 || length > maxFrameBytes) {
            throw new IOException("dispatch frame of " + length + " bytes is outside 6.." + maxFrameBytes + " bytes");
        }
        int serializerId = in.readInt();
        // Only the mesh serializer is read: another id would let the peer pick any of Pekko's
        // serializers (the null serializer's frame decodes to null, the byte-array one to a byte[]).
        if (serializerId != KryoSerializer.IDENTIFIER) {
            throw new IOException("dispatch frame names serializer " + serializerId + "; only the mesh serializer (" + KryoSerializer.IDENTIFIER
                    + ") is read");
        }
        int manifestLength = in.readUnsignedShort();
        if (manifestLength > length - 6) throw new IOException("dispatch frame's manifest runs past its end");
        byte[] manifest = in.readNBytes(manifestLength);
        // Read as it arrives, not allocated from the announced length: a peer that announces a large
        // frame and sends little costs what it sent.
        byte[] bytes = in.readNBytes(length - 6 - manifestLength);
        if (manifest.length < manifestLength || bytes.length < length - 6 - manifestLength) {
            throw new EOFException("dispatch frame of " + length + " bytes ended after " + (6 + manifest.length + bytes.length));
        }
        Object message;
        try {
            message = serialization.deserialize(bytes, serializerId, new String(manifest, StandardCharsets.UTF_8)).get();
        } catch (RuntimeException e) {
            throw new IOException("dispatch frame could not be deserialized (serializer " + serializerId + "): " + e, e);
        }
        if (!(message instanceof MeshMessage mesh)) {
            throw new IOException("dispatch frame holds " + (message == null ? "null" : "a " + message.getClass().getName()) + ", not a mesh message");
        }
        return new Received(mesh, length + 4);
    }
}
