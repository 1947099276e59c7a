package io.expertmesh.model.tokenizer;

import io.expertmesh.model.ModelFormatException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * The vocabulary of a SentencePiece {@code tokenizer.model}: a protobuf {@code ModelProto} whose
 * repeated field 1 holds the pieces ({@code piece} 1, {@code score} 2, {@code type} 3) and whose
 * field 2, the trainer spec, names the model type (field 3). Only those fields are read; every length
 * is checked against the bytes left before anything is allocated.
 */
public record SentencePieceModel(List<Piece> pieces) {
    /** SentencePiece's piece types, numbered as in the proto and in GGUF's {@code tokenizer.ggml.token_type}. */
    public static final int NORMAL = 1, UNKNOWN = 2, CONTROL = 3, USER_DEFINED = 4, UNUSED = 5, BYTE = 6;
    /** A tokenizer.model larger than this is not a tokenizer (ERNIE-4.5's is 1.6 MB). */
    static final long MAX_FILE_BYTES = 256L << 20;
    private static final int TRAINER_BPE = 2;

    public record Piece(String text, float score, int type) {}

    public SentencePieceModel {
        pieces = List.copyOf(pieces);
    }

    /** Reads {@code file}; a model trained as anything but BPE is refused, since its scores are no merge order. */
    public static SentencePieceModel read(Path file) {
        byte[] bytes;
        try {
            long size = Files.size(file);
            if (size > MAX_FILE_BYTES) throw new ModelFormatException(file + ": " + size + " bytes, more than a tokenizer.model can be");
            bytes = Files.readAllBytes(file);
        } catch (NoSuchFileException e) {
            throw new ModelFormatException(file + ": file not found (a SentencePiece tokenizer.model is required)");
        } catch (IOException e) {
            throw new ModelFormatException(file + ": cannot read: " + e.getMessage(), e);
        }
        var in = new Reader(file, ByteBuffer.wrap(bytes));
        List<Piece> pieces = new ArrayList<>();
        int modelType = TRAINER_BPE;
        while (in.hasMore()) {
            long tag = in.varint("a field tag");
            if (tag == (1 << 3 | 2)) {
                pieces.add(piece(in.message("piece " + pieces.size()), pieces.size()));
            } else if (tag == (2 << 3 | 2)) {
                modelType = modelType(in.message("trainer_spec"));
            } else {
                in.skip(tag, "field " + (tag >>> 3));
            }
        }
        if (modelType != TRAINER_BPE) {
            throw new ModelFormatException(file + ": trainer_spec.model_type is " + modelType + ", not BPE (2); only BPE SentencePiece models are supported");
        }
        if (pieces.isEmpty()) throw new ModelFormatException(file + ": no pieces");
        return new SentencePieceModel(pieces);
    }

    private static Piece piece(Reader in, int index) {
        String text = null;
        float score = 0;
        int type = NORMAL;
        while (in.hasMore()) {
            long tag = in.varint("piece " + index);
            switch (tag > Integer.MAX_VALUE ? -1 : (int) tag) {
                case 1 << 3 | 2 -> text = in.utf8("piece " + index + " text");
                case 2 << 3 | 5 -> score = in.float32("piece " + index + " score");
                case 3 << 3 -> {
                    long t = in.varint("piece " + index + " type");
                    if (t < NORMAL || t > BYTE) throw in.error("piece " + index + " has type " + t + ", not one of 1..6");
                    type = (int) t;
                }
                default -> in.skip(tag, "piece " + index + " field " + (tag >>> 3));
            }
        }
        if (text == null) throw in.error("piece " + index + " has no text");
        return new Piece(text, score, type);
    }

    private static int modelType(Reader in) {
        int type = 1;
        while (in.hasMore()) {
            long tag = in.varint("trainer_spec");
            if (tag == 3 << 3) type = (int) in.varint("trainer_spec.model_type");
            else in.skip(tag, "trainer_spec field " + (tag >>> 3));
        }
        return type;
    }

    /** Protobuf wire format over a buffer, each error naming the file. */
    private record Reader(Path file, ByteBuffer buf) {
        boolean hasMore() {
            return buf.hasRemaining();
        }

        long varint(String what) {
            long v = 0;
            for (int shift = 0; shift < 64; shift += 7) {
                if (!buf.hasRemaining()) throw error("truncated varint in " + what);
                byte b = buf.get();
                v |= (long) (b & 0x7F) << shift;
                if (b >= 0) return v;
            }
            throw error("varint longer than 10 bytes in " + what);
        }

        Reader message(String what) {
            int n = length(what);
            ByteBuffer slice = buf.slice(buf.position(), n);
            buf.position(buf.position() + n);
            return new Reader(file, slice);
        }

        String utf8(String what) {
            int n = length(what);
            ByteBuffer slice = buf.slice(buf.position(), n);
            buf.position(buf.position() + n);
            try {
                return StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
                        .onUnmappableCharacter(CodingErrorAction.REPORT).decode(slice).toString();
            } catch (CharacterCodingException e) {
                throw error(what + " is not valid UTF-8");
            }
        }

        float float32(String what) {
            if (buf.remaining() < 4) throw error("truncated float in " + what);
            return Float.intBitsToFloat(Integer.reverseBytes(buf.getInt()));
        }

        void skip(long tag, String what) {
            switch ((int) (tag & 7)) {
                case 0 -> varint(what);
                case 1 -> advance(8, what);
                case 2 -> advance(length(what), what);
                case 5 -> advance(4, what);
                default -> throw error(what + " has unsupported wire type " + (tag & 7));
            }
        }

        private int length(String what) {
            long n = varint(what + " (its length)");
            if (n < 0 || n > buf.remaining()) throw error(what + " claims " + Long.toUnsignedString(n) + " bytes, but " + buf.remaining() + " are left");
            return (int) n;
        }

        private void advance(int n, String what) {
            if (n > buf.remaining()) throw error("truncated " + what);
            buf.position(buf.position() + n);
        }

        ModelFormatException error(String message) {
            return new ModelFormatException(file + ": " + message);
        }
    }
}
