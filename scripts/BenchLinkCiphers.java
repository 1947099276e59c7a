import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import javax.crypto.Cipher;
import javax.crypto.Mac;
import javax.crypto.spec.GCMParameterSpec;
import javax.crypto.spec.IvParameterSpec;
import javax.crypto.spec.SecretKeySpec;

/**
 * What protecting one dispatch link record costs in this JDK on this CPU, per way of protecting it:
 * AES-256-GCM as the link seals and opens its records (a cipher set-up per record, since each
 * record has its own nonce), and the MAC-only choices that would drop confidentiality (GMAC,
 * Poly1305 by way of ChaCha20-Poly1305 with the record as associated data, HMAC-SHA256). The
 * ways alternate within each repeat; the first repeats warm up the JIT and are not printed.
 * Run by scripts/bench-link-ciphers.
 */
public class BenchLinkCiphers {
    private static final int WARMUP_REPEATS = 3;

    private interface RecordOp {
        void run() throws Exception;
    }

    public static void main(String[] args) throws Exception {
        int repeats = args.length > 0 ? Integer.parseInt(args[0]) : 7;
        byte[] key = new byte[32];
        SecretKeySpec aes = new SecretKeySpec(key, "AES");
        SecretKeySpec chachaKey = new SecretKeySpec(key, "ChaCha20");
        Cipher gcm = Cipher.getInstance("AES/GCM/NoPadding");
        Cipher chacha = Cipher.getInstance("ChaCha20-Poly1305");
        Mac hmac = Mac.getInstance("HmacSHA256");
        hmac.init(new SecretKeySpec(key, "HmacSHA256"));
        System.out.println("µs per record, median of " + repeats + " repeats (min-max); " + System.getProperty("java.vm.version"));
        for (int size : new int[] {700, 2_600, 10_000, 20_000, 40_000}) {
            byte[] record = new byte[size];
            byte[] sealed = new byte[size + 16];
            byte[] opened = new byte[size];
            byte[] tag = new byte[32];
            byte[] nonce = new byte[12];
            long[] sequence = {0};
            Map<String, RecordOp> ops = new LinkedHashMap<>();
            ops.put("AES-256-GCM seal", () -> {
                gcm.init(Cipher.ENCRYPT_MODE, aes, new GCMParameterSpec(128, next(nonce, sequence)));
                gcm.doFinal(record, 0, size, sealed, 0);
            });
            ops.put("AES-256-GCM open", () -> {
                gcm.init(Cipher.DECRYPT_MODE, aes, new GCMParameterSpec(128, nonce));
                gcm.doFinal(sealed, 0, size + 16, opened, 0);
            });
            ops.put("GMAC (AES-GCM, record as AAD)", () -> {
                gcm.init(Cipher.ENCRYPT_MODE, aes, new GCMParameterSpec(128, next(nonce, sequence)));
                gcm.updateAAD(record, 0, size);
                gcm.doFinal(tag, 0);
            });
            ops.put("ChaCha20-Poly1305 seal", () -> {
                chacha.init(Cipher.ENCRYPT_MODE, chachaKey, new IvParameterSpec(next(nonce, sequence)));
                chacha.doFinal(record, 0, size, sealed, 0);
            });
            ops.put("Poly1305 (ChaCha20-Poly1305, record as AAD)", () -> {
                chacha.init(Cipher.ENCRYPT_MODE, chachaKey, new IvParameterSpec(next(nonce, sequence)));
                chacha.updateAAD(record, 0, size);
                chacha.doFinal(tag, 0);
            });
            ops.put("HMAC-SHA256", () -> {
                hmac.update(record, 0, size);
                hmac.doFinal(tag, 0);
            });
            Map<String, List<Double>> micros = new LinkedHashMap<>();
            int records = 20_000_000 / (size + 2_000);
            for (int r = 0; r < WARMUP_REPEATS + repeats; r++) {
                for (var op : ops.entrySet()) {
                    long start = System.nanoTime();
                    for (int i = 0; i < records; i++) op.getValue().run();
                    double us = (System.nanoTime() - start) / 1e3 / records;
                    if (r >= WARMUP_REPEATS) micros.computeIfAbsent(op.getKey(), k -> new ArrayList<>()).add(us);
                }
            }
            System.out.printf("record of %,d bytes:%n", size);
            for (var e : micros.entrySet()) {
                List<Double> sorted = new ArrayList<>(e.getValue());
                Collections.sort(sorted);
                System.out.printf("  %-45s %7.2f  (%.2f-%.2f)%n", e.getKey(), sorted.get(sorted.size() / 2), sorted.getFirst(), sorted.getLast());
            }
        }
    }

    /** The next record's nonce: its sequence number, as the link numbers its records. */
    private static byte[] next(byte[] nonce, long[] sequence) {
        long s = ++sequence[0];
        for (int i = 0; i < 8; i++) nonce[4 + i] = (byte) (s >>> (56 - 8 * i));
        return nonce;
    }
}
