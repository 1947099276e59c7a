package io.expertmesh.model.tokenizer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.expertmesh.model.ModelFormatException;
import io.expertmesh.model.TinyModel;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The protobuf reader of tokenizer.model. */
class SentencePieceModelTest {
    /** Field 1, a piece with text "a" and type 4 (user-defined). */
    private static final byte[] PIECE = {0x0A, 0x05, 0x0A, 0x01, 'a', 0x18, 0x04};

    @TempDir
    Path tmp;

    @Test
    void readsTheTinyModelsPiecesWithTheirScoresAndTypes() {
        var pieces = SentencePieceModel.read(TinyModel.dir().resolve("tokenizer.model")).pieces();
        assertEquals(4096, pieces.size());
        assertEquals(new SentencePieceModel.Piece("<unk>", 0f, SentencePieceModel.UNKNOWN), pieces.get(0));
        assertEquals(new SentencePieceModel.Piece("<mask:0>", 0f, SentencePieceModel.USER_DEFINED), pieces.get(5));
        assertEquals(new SentencePieceModel.Piece("<0x0A>", 0f, SentencePieceModel.BYTE), pieces.get(23));
        assertEquals(new SentencePieceModel.Piece("le", -36f, SentencePieceModel.NORMAL), pieces.get(305));
    }

    @Test
    void aModelTrainedAsUnigramIsRefused() throws IOException {
        Path file = write(PIECE, new byte[] {0x12, 0x02, 0x18, 0x01});
        var e = assertThrows(ModelFormatException.class, () -> SentencePieceModel.read(file));
        assertEquals(file + ": trainer_spec.model_type is 1, not BPE (2); only BPE SentencePiece models are supported", e.getMessage());
    }

    @Test
    void aLengthBeyondTheEndOfTheFileIsRefusedBeforeAnythingIsAllocated() throws IOException {
        Path file = write(new byte[] {0x0A, (byte) 0xFF, (byte) 0xFF, (byte) 0xFF, (byte) 0xFF, 0x07});
        var e = assertThrows(ModelFormatException.class, () -> SentencePieceModel.read(file));
        assertEquals(file + ": piece 0 claims 2147483647 bytes, but 0 are left", e.getMessage());
    }

    @Test
    void aPieceTypeOutsideTheEnumIsRefused() throws IOException {
        Path file = write(new byte[] {0x0A, 0x05, 0x0A, 0x01, 'a', 0x18, 0x09});
        var e = assertThrows(ModelFormatException.class, () -> SentencePieceModel.read(file));
        assertEquals(file + ": piece 0 has type 9, not one of 1..6", e.getMessage());
    }

    private Path write(byte[]... parts) throws IOException {
        var out = new ByteArrayOutputStream();
        for (byte[] p : parts) out.write(p);
        return Files.write(tmp.resolve("tokenizer.model"), out.toByteArray());
    }
}
