package io.expertmesh.experts;

import io.expertmesh.model.weights.MlpWeights;
import java.util.function.IntFunction;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.PostStop;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.cluster.sharding.typed.javadsl.EntityTypeKey;

/**
 * One routed expert as a Cluster Sharding entity (entity id = expert id). Where the sharding
 * coordinator places it, it loads the expert's weights for every MoE layer (views into the mapped
 * checkpoint, so loading is cheap) and hands them to its node's {@link ExpertHost}; when it stops
 * (rebalance, leave) it takes them back.
 */
public final class ExpertEntity {
    public static final EntityTypeKey<Command> TYPE_KEY = EntityTypeKey.create(Command.class, "RoutedExpert");

    public sealed interface Command extends MeshMessage {}

    /** Starts the entity where sharding places it; a running entity ignores it. */
    public record Wake() implements Command {}

    private ExpertEntity() {}

    /** {@code loader} maps an expert id to its per-layer weights. */
    public static Behavior<Command> create(int expert, ActorRef<ExpertHost.Command> host, IntFunction<MlpWeights[]> loader) {
        return Behaviors.setup(ctx -> {
            host.tell(new ExpertHost.ExpertStarted(expert, loader.apply(expert), ctx.getSelf()));
            return Behaviors.receive(Command.class)
                    .onMessage(Wake.class, wake -> Behaviors.same())
                    .onSignal(PostStop.class, stop -> {
                        host.tell(new ExpertHost.ExpertStopped(expert, ctx.getSelf()));
                        return Behaviors.same();
                    })
                    .build();
        });
    }
}
