package io.expertmesh.cluster;

import io.expertmesh.kvstore.PooledSequences;
import io.expertmesh.model.engine.LoadedModel;
import io.expertmesh.model.generate.Generation;
import io.expertmesh.model.generate.Generator;
import io.expertmesh.model.generate.StopTokens;
import io.expertmesh.model.sampling.SamplingParams;
import io.expertmesh.model.tokenizer.ChatMessage;
import io.expertmesh.model.tokenizer.ChatTemplate;
import io.expertmesh.model.tokenizer.Tokenizer;
import java.util.List;

/** The in-process generator on the tiny model: what {@code ./mesh generate --temperature 0} computes, stopping at EOS as the API does. */
final class ReferenceGenerator implements AutoCloseable {
    final LoadedModel model = LoadedModel.open(TestServer.MODEL, 2);
    final Tokenizer tokenizer = Tokenizer.load(TestServer.MODEL);
    final ChatTemplate template = ChatTemplate.load(TestServer.MODEL);

    int[] chatPrompt(String user) {
        return tokenizer.encode(template.render(List.of(new ChatMessage("user", user)), true));
    }

    Generation greedy(int[] prompt, int maxTokens) {
        var params = SamplingParams.greedy(maxTokens, StopTokens.defaults(model.config(), tokenizer));
        return new Generator(PooledSequences.onHeap(model.model()), tokenizer).generate(prompt, params, text -> {});
    }

    Generation greedyChat(String user, int maxTokens) {
        return greedy(chatPrompt(user), maxTokens);
    }

    @Override
    public void close() {
        model.close();
    }
}
