package io.expertmesh.model.generate;

import io.expertmesh.model.config.ErnieConfig;
import io.expertmesh.model.tokenizer.Tokenizer;
import java.util.LinkedHashSet;
import java.util.Set;

/** The token ids that end a turn by default: the config's eos ids, {@code </s>} and {@code <|end_of_sentence|>}. */
public final class StopTokens {
    private StopTokens() {}

    public static Set<Integer> defaults(ErnieConfig config, Tokenizer tokenizer) {
        Set<Integer> ids = new LinkedHashSet<>(config.eosTokenIds());
        tokenizer.tokenId("</s>").ifPresent(ids::add);
        tokenizer.tokenId("<|end_of_sentence|>").ifPresent(ids::add);
        return ids;
    }
}
