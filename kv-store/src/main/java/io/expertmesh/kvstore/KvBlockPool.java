package io.expertmesh.kvstore;

import io.expertmesh.model.config.ErnieConfig;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.Iterator;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;

/**
 * The KV blocks of one node, shared by all its sequences: a fixed number of blocks derived from a
 * byte budget, reference-counted, with a prefix cache of full blocks keyed by a chained hash of every
 * token from position 0 through the end of the block.
 *
 * <p>A block holds {@code blockSize} positions of every layer's keys and values. Its arrays are
 * allocated the first time it is handed out and reused after that, so an unused budget costs no
 * heap. A published block whose last reference is released stays in the prefix cache and counts as
 * free; allocation takes never-used and released blocks first and only then evicts the least
 * recently released cached block.
 *
 * <p>Allocation, release, publication, prefix lookup and every counter are synchronized on the pool,
 * so gauges may be read from any thread. Block arrays are read without locking through a
 * {@link KvBlockTable}, whose owner hands it to the thread running the forward step.
 */
public final class KvBlockPool {
    /** Parent key and serial of the first block of every sequence. */
    static final long ROOT_KEY = 0x6A09E667F3BCC908L;
    static final long ROOT_SERIAL = 0;
    /** Returned by {@link #publish} when the chain cannot be found again, so later blocks need not be published. */
    static final long BROKEN_CHAIN = -1;

    /** Key of a full block given its parent's key: {@code tokens[from, from + length)} are the block's tokens. */
    @FunctionalInterface
    interface ChainHash {
        long key(long parentKey, int[] tokens, int from, int length);
    }

    /** One block's arrays, one per layer for keys and for values; the mutable fields are guarded by the pool. */
    static final class Block {
        final int id;
        final float[][] keys;
        final float[][] values;
        int refs;
        CachedBlock cached;

        Block(int id, int layers, int floats) {
            this.id = id;
            this.keys = new float[layers][floats];
            this.values = new float[layers][floats];
        }
    }

    /**
     * A published block. The serial is unique per publication, so a child names exactly the
     * publication its KV was computed after even when the parent block is later evicted and reused.
     */
    record CachedBlock(long key, long serial, long parentSerial, int[] tokens, Block block) {
        boolean holds(long parentSerial, int[] tokens, int from) {
            return this.parentSerial == parentSerial && Arrays.equals(this.tokens, 0, this.tokens.length, tokens, from, from + this.tokens.length);
        }
    }

    /** The leading cached blocks a prompt can reuse, with the key and serial of the last one. */
    record PrefixMatch(Block[] blocks, long lastKey, long lastSerial) {}

    private final int blockSize;
    private final int layers;
    private final int blockFloats;
    private final int totalBlocks;
    private final ChainHash hash;

    private final List<Block> created = new ArrayList<>();
    private final ArrayDeque<Block> released = new ArrayDeque<>();
    // Insertion order is release order, so the first element is the least recently used.
    private final LinkedHashSet<Block> evictable = new LinkedHashSet<>();
    private final Map<Long, CachedBlock> cache = new HashMap<>();
    private int usedBlocks;
    private long serials;
    private long prefixQueries;
    private long prefixHits;

    public KvBlockPool(ErnieConfig config, int blockSize, long byteBudget) {
        this(config, blockSize, byteBudget, KvBlockPool::chainKey, true);
    }

    /**
     * A pool whose blocks hold no arrays: the KV lives on a device at the blocks' ids (a GPU's block
     * pool of the same block size and count), and this pool keeps only their bookkeeping —
     * allocation, sharing and the prefix cache. The engine must not read blocks through the tables.
     */
    public static KvBlockPool deviceResident(ErnieConfig config, int blockSize, long byteBudget) {
        return new KvBlockPool(config, blockSize, byteBudget, KvBlockPool::chainKey, false);
    }

    KvBlockPool(ErnieConfig config, int blockSize, long byteBudget, ChainHash hash) {
        this(config, blockSize, byteBudget, hash, true);
    }

    private KvBlockPool(ErnieConfig config, int blockSize, long byteBudget, ChainHash hash, boolean hostArrays) {
        if (blockSize <= 0) throw new IllegalArgumentException("KV block size must be positive, got " + blockSize);
        long perBlock = bytesPerBlock(config, blockSize);
        long blocks = byteBudget / perBlock;
        if (blocks < 1) {
            throw new IllegalArgumentException("KV cache budget of " + byteBudget + " bytes is smaller than one block ("
                    + perBlock + " bytes: " + config.numLayers() + " layers × K,V × " + blockSize + " tokens × "
                    + config.kvDim() + " floats × 4 bytes)");
        }
        this.blockSize = blockSize;
        this.layers = hostArrays ? config.numLayers() : 0;
        this.blockFloats = Math.multiplyExact(blockSize, config.kvDim());
        // Block ids are ints; a budget beyond 2^31 blocks is far past any heap anyway.
        this.totalBlocks = (int) Math.min(blocks, Integer.MAX_VALUE);
        this.hash = hash;
    }

    /** Bytes one block occupies once allocated: every layer's keys and values for {@code blockSize} positions. */
    public static long bytesPerBlock(ErnieConfig config, int blockSize) {
        return (long) config.numLayers() * 2 * blockSize * config.kvDim() * Float.BYTES;
    }

    /** A chained 64-bit hash: each token is folded in through a bijective mixer, seeded by the parent's key. */
    static long chainKey(long parentKey, int[] tokens, int from, int length) {
        long h = parentKey;
        for (int i = from; i < from + length; i++) h = mix(h + (tokens[i] + 1L) * 0x9E3779B97F4A7C15L);
        return h;
    }

    private static long mix(long z) {
        z = (z ^ (z >>> 33)) * 0xFF51AFD7ED558CCDL;
        z = (z ^ (z >>> 33)) * 0xC4CEB9FE1A85EC53L;
        return z ^ (z >>> 33);
    }

    public int blockSize() {
        return blockSize;
    }

    public int totalBlocks() {
        return totalBlocks;
    }

    /** Blocks that can be handed out now: never used, released, or cached without references. */
    public synchronized int freeBlocks() {
        return totalBlocks - created.size() + released.size() + evictable.size();
    }

    /** Blocks referenced by at least one table. */
    public synchronized int usedBlocks() {
        return usedBlocks;
    }

    /** Fraction of all blocks referenced by a table. */
    public synchronized double usage() {
        return (double) usedBlocks / totalBlocks;
    }

    /** Prompt tokens looked up in the prefix cache. */
    public synchronized long prefixQueries() {
        return prefixQueries;
    }

    /** Prompt tokens served from the prefix cache. */
    public synchronized long prefixHits() {
        return prefixHits;
    }

    public KvBlockTable newTable() {
        return new KvBlockTable(this);
    }

    /** Blocks currently in the prefix cache, referenced or not. */
    synchronized int cachedBlocks() {
        return cache.size();
    }

    synchronized int refCount(int blockId) {
        return blockId < created.size() ? created.get(blockId).refs : 0;
    }

    synchronized boolean isCached(int blockId) {
        return blockId < created.size() && created.get(blockId).cached != null;
    }

    long chainKey(long parentKey, int[] tokens, int from) {
        return hash.key(parentKey, tokens, from, blockSize);
    }

    /** {@code n} blocks with one reference each, or null, allocating none, when fewer are free. */
    synchronized Block[] allocate(int n) {
        if (n > freeBlocks()) return null;
        Block[] out = new Block[n];
        for (int i = 0; i < n; i++) {
            Block b = take();
            b.refs = 1;
            usedBlocks++;
            out[i] = b;
        }
        return out;
    }

    private Block take() {
        Block b = released.pollLast();
        if (b != null) return b;
        if (created.size() < totalBlocks) {
            b = new Block(created.size(), layers, blockFloats);
            created.add(b);
            return b;
        }
        Iterator<Block> lru = evictable.iterator();
        b = lru.next();
        lru.remove();
        cache.remove(b.cached.key());
        b.cached = null;
        return b;
    }

    synchronized void release(Block[] blocks, int count) {
        // Tail first: a sequence's last blocks become least recently used, so eviction trims chains
        // from the end and keeps their shorter, more shareable prefixes findable.
        for (int i = count - 1; i >= 0; i--) {
            Block b = blocks[i];
            if (--b.refs > 0) continue;
            usedBlocks--;
            if (b.cached != null) {
                evictable.add(b);
            } else {
                released.addLast(b);
            }
        }
    }

    /**
     * The longest chain of cached blocks matching {@code tokens} from position 0 that leaves the last
     * token uncovered, each block referenced once more; counts the lookup in tokens.
     */
    synchronized PrefixMatch attach(int[] tokens) {
        int maxBlocks = Math.max(0, tokens.length - 1) / blockSize;
        List<Block> matched = new ArrayList<>();
        long parentKey = ROOT_KEY;
        long parentSerial = ROOT_SERIAL;
        for (int i = 0; i < maxBlocks; i++) {
            long key = chainKey(parentKey, tokens, i * blockSize);
            CachedBlock c = cache.get(key);
            if (c == null || !c.holds(parentSerial, tokens, i * blockSize)) break;
            matched.add(c.block());
            parentKey = key;
            parentSerial = c.serial();
        }
        for (Block b : matched) {
            if (b.refs++ == 0) {
                usedBlocks++;
                evictable.remove(b);
            }
        }
        prefixQueries += tokens.length;
        prefixHits += (long) matched.size() * blockSize;
        return new PrefixMatch(matched.toArray(Block[]::new), parentKey, parentSerial);
    }

    /**
     * Publishes a full, final block under {@code key} unless that key is taken. Returns the serial
     * that the next block of this chain names as its parent: the new publication's, the existing
     * one's when it holds the same tokens after the same parent, or {@link #BROKEN_CHAIN} when a
     * different block hashed to the same key.
     */
    synchronized long publish(Block block, long key, long parentSerial, int[] tokens, int from) {
        CachedBlock existing = cache.get(key);
        if (existing != null) return existing.holds(parentSerial, tokens, from) ? existing.serial() : BROKEN_CHAIN;
        CachedBlock c = new CachedBlock(key, ++serials, parentSerial, Arrays.copyOfRange(tokens, from, from + blockSize), block);
        cache.put(key, c);
        block.cached = c;
        return c.serial();
    }
}
