import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.locks.LockSupport;
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
 *
 * <p>With {@code --cold} each record is timed on its own, after the thread has slept 200 µs and
 * written over 8 MiB: what a record costs on the MoE layer's path, where the link thread wakes up
 * for it and the layer's compute has pushed the cipher's code and state out of the caches. A
 * plain copy of the record, which a plaintext link pays too, is measured the same way beside them.
 * Run by scripts/bench-link-ciphers.
 */
public class BenchLinkCiphers {
    private static final int WARMUP_REPEATS = 3;
    private static final int COLD_RECORDS = 400;
    private static final byte[] CACHE_SWEEP = new byte[8 << 20];

    private interface RecordOp {
        void run() throws Exception;
    }

    public static void main(String[] args) throws Exception {
        boolean cold = List.of(args).contains("--cold");
        int repeats = 7;
        for (String arg : args) {
            if (arg.equals("--cold")) continue;
            if (!arg.matches("[1-9][0-9]{0,3}")) {
                System.err.println("bench-link-ciphers: REPEATS must be a whole number from 1 to 9999, got \"" + arg
                        + "\" (usage: scripts/bench-link-ciphers [REPEATS] [--cold])");
                System.exit(2);
            }
            repeats = Integer.parseInt(arg);
        }
        byte[] key = new byte[32];
        SecretKeySpec aes = new SecretKeySpec(key, "AES");
        SecretKeySpec chachaKey = new SecretKeySpec(key, "ChaCha20");
        Cipher gcm = Cipher.getInstance("AES/GCM/NoPadding");
        Cipher chacha = Cipher.getInstance("ChaCha20-Poly1305");
        Mac hmac = Mac.getInstance("HmacSHA256");
        hmac.init(new SecretKeySpec(key, "HmacSHA256"));
        System.out.println("µs per record, median of " + repeats + " repeats (min-max)"
                + (cold ? " of each repeat's median over " + COLD_RECORDS + " records, each after a 200 µs sleep and an 8 MiB sweep" : "")
                + "; " + System.getProperty("java.vm.version"));
        for (int size : cold ? new int[] {700, 1_300, 2_600} : new int[] {700, 2_600, 10_000, 20_000, 40_000}) {
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
            if (cold) ops.put("copy of the record (plaintext pays it too)", () -> System.arraycopy(record, 0, opened, 0, size));
            Map<String, List<Double>> micros = new LinkedHashMap<>();
            int records = 20_000_000 / (size + 2_000);
            for (int r = 0; r < WARMUP_REPEATS + repeats; r++) {
                for (var op : ops.entrySet()) {
                    double us = cold && r >= WARMUP_REPEATS ? coldMedian(op.getValue()) : hotMean(op.getValue(), records);
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

    /** µs per record over {@code records} records in a row. */
    private static double hotMean(RecordOp op, int records) throws Exception {
        long start = System.nanoTime();
        for (int i = 0; i < records; i++) op.run();
        return (System.nanoTime() - start) / 1e3 / records;
    }

    /** The median µs of {@link #COLD_RECORDS} records, each timed alone after a sleep and a sweep over memory. */
    private static double coldMedian(RecordOp op) throws Exception {
        long[] nanos = new long[COLD_RECORDS];
        for (int i = 0; i < COLD_RECORDS; i++) {
            LockSupport.parkNanos(200_000);
            for (int b = 0; b < CACHE_SWEEP.length; b += 64) CACHE_SWEEP[b]++;
            long start = System.nanoTime();
            op.run();
            nanos[i] = System.nanoTime() - start;
        }
        Arrays.sort(nanos);
        return nanos[COLD_RECORDS / 2] / 1e3;
    }

    /** The next record's nonce: its sequence number, as the link numbers its records. */
    private static byte[] next(byte[] nonce, long[] sequence) {
        long s = ++sequence[0];
        for (int i = 0; i < 8; i++) nonce[4 + i] = (byte) (s >>> (56 - 8 * i));
        return nonce;
    }
}
