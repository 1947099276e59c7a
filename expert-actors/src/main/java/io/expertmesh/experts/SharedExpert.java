package io.expertmesh.experts;

import io.expertmesh.model.engine.Mlp;
import io.expertmesh.model.kernels.FloatMatrix;
import io.expertmesh.model.kernels.KernelBackend;
import io.expertmesh.model.weights.ErnieWeights;
import io.expertmesh.model.weights.MlpWeights;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;
import org.apache.pekko.actor.NoSerializationVerificationNeeded;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.javadsl.Behaviors;

/**
 * The shared-expert MLP of every MoE layer, co-located with the attention side (no network hop):
 * it runs while the routed rows are out at the expert hosts. Compute runs on its own executor and
 * the reply goes straight from there to the waiting step.
 */
public final class SharedExpert {
    public sealed interface Command extends NoSerializationVerificationNeeded {}

    /** The shared expert of {@code layer} over the normed rows {@code x}; replies with the MLP output rows. */
    public record Compute(int layer, FloatMatrix x, ActorRef<Output> replyTo) implements Command {}

    /** {@code out} is null when the compute failed; {@code failure} says why. */
    public record Output(int layer, FloatMatrix out, String failure) implements NoSerializationVerificationNeeded {}

    private SharedExpert() {}

    public static Behavior<Command> create(ErnieWeights weights, KernelBackend backend, Executor compute) {
        return Behaviors.receive(Command.class)
                .onMessage(Compute.class, c -> {
                    MlpWeights w = weights.layers().get(c.layer()).moe().shared();
                    CompletableFuture.supplyAsync(() -> Mlp.swiglu(backend, c.x(), w), compute).whenComplete((out, failure) ->
                            c.replyTo().tell(new Output(c.layer(), out, failure == null ? null : failure.toString())));
                    return Behaviors.same();
                })
                .build();
    }
}
