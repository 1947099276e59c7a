package io.expertmesh.attention;

import io.expertmesh.model.engine.Mlp;
import io.expertmesh.model.kernels.FloatMatrix;
import io.expertmesh.model.kernels.KernelBackend;
import io.expertmesh.model.weights.ErnieWeights;
import org.apache.pekko.actor.NoSerializationVerificationNeeded;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.javadsl.Behaviors;

/**
 * The shared-expert MLP of every MoE layer, co-located with the attention side (no network hop):
 * it runs while the routed rows are out at the expert hosts. It computes inside its message handler,
 * so it must be spawned on a dedicated dispatcher (its compute would otherwise hold a shared actor
 * thread); the reply goes straight from there to the waiting step.
 */
public final class SharedExpert {
    /** The dedicated dispatcher (this module's reference.conf) to spawn it on. */
    public static final String DISPATCHER = "expertmesh-shared-expert-dispatcher";

    public sealed interface Command extends NoSerializationVerificationNeeded {}

    /** The shared expert of {@code layer} over the normed rows {@code x}; replies with the MLP output rows. */
    public record Compute(int layer, FloatMatrix x, ActorRef<Output> replyTo) implements Command {}

    /** {@code out} is null when the compute failed; {@code failure} says why. */
    public record Output(int layer, FloatMatrix out, String failure) implements NoSerializationVerificationNeeded {}

    private SharedExpert() {}

    public static Behavior<Command> create(ErnieWeights weights, KernelBackend backend) {
        return Behaviors.receive(Command.class)
                .onMessage(Compute.class, c -> {
                    Output output;
                    try {
                        output = new Output(c.layer(), Mlp.swiglu(backend, c.x(), weights.layers().get(c.layer()).moe().shared()), null);
                    } catch (RuntimeException e) {
                        output = new Output(c.layer(), null, e.toString());
                    }
                    c.replyTo().tell(output);
                    return Behaviors.same();
                })
                .build();
    }
}
