package io.expertmesh.model.guided;

import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * A compiled {@link GuideSpec}: a DFA over the output's UTF-8 bytes. Compiling is the expensive,
 * vocabulary-independent part and may fail with a {@link GuideException}; {@link #over} binds the
 * guide to a tokenizer's vocabulary. Compiled guides are cached per spec (the most recent
 * {@link #CACHE_SIZE}), and each guide caches its constraint per vocabulary.
 */
public final class Guide {
    public static final int CACHE_SIZE = 64;
    private static final Map<GuideSpec, Guide> CACHE = new LinkedHashMap<>(16, 0.75f, true) {
        @Override
        protected boolean removeEldestEntry(Map.Entry<GuideSpec, Guide> eldest) {
            return size() > CACHE_SIZE;
        }
    };

    private final ByteAutomaton automaton;
    private TokenVocabulary boundVocabulary;
    private TokenConstraint bound;

    private Guide(ByteAutomaton automaton) {
        this.automaton = automaton;
    }

    /** The guide for {@code spec}, compiled now or taken from the cache. */
    public static Guide compile(GuideSpec spec) {
        synchronized (CACHE) {
            Guide cached = CACHE.get(spec);
            if (cached != null) return cached;
        }
        Guide guide = new Guide(ByteAutomaton.compile(pattern(spec)));
        synchronized (CACHE) {
            CACHE.put(spec, guide);
        }
        return guide;
    }

    static BytePattern pattern(GuideSpec spec) {
        return switch (spec) {
            case GuideSpec.JsonObject o -> JsonSchemaPatterns.anyObject();
            case GuideSpec.JsonSchema s -> JsonSchemaPatterns.compile(s.schema());
            case GuideSpec.Regex r -> RegexPatterns.compile(r.pattern());
            case GuideSpec.Choice c -> {
                if (c.choices().isEmpty()) throw new GuideException("the list of choices is empty");
                yield new BytePattern.Alt(c.choices().stream().map(BytePattern::literal).toList());
            }
            case GuideSpec.Framed f -> BytePattern.concat(BytePattern.literal(f.prefix()), pattern(f.inner()), BytePattern.literal(f.suffix()));
            case GuideSpec.OneOf o -> {
                if (o.options().isEmpty()) throw new GuideException("the list of options is empty");
                yield new BytePattern.Alt(o.options().stream().map(Guide::pattern).toList());
            }
        };
    }

    /** Whether the whole of {@code text} is output this guide allows. */
    public boolean matches(String text) {
        return automaton.matches(text.getBytes(StandardCharsets.UTF_8));
    }

    /**
     * The most UTF-8 bytes any output of this guide has, so at most that many tokens (each token
     * is at least one byte), plus a stop token, complete it; -1 when outputs are unbounded.
     */
    public int longestOutputBytes() {
        return automaton.longestOutput();
    }

    /** How many DFA states the guide has. */
    public int stateCount() {
        return automaton.stateCount();
    }

    /** This guide over {@code vocabulary}; the same vocabulary gets the same constraint (and its mask cache) back. */
    public synchronized TokenConstraint over(TokenVocabulary vocabulary) {
        if (boundVocabulary != vocabulary) {
            bound = new TokenConstraint(automaton, vocabulary);
            boundVocabulary = vocabulary;
        }
        return bound;
    }
}
