package io.expertmesh.experts;

import io.expertmesh.model.weights.MlpWeights;
import io.expertmesh.protocol.ExpertHostProtocol;
import io.expertmesh.protocol.RoutedExpertProtocol.Command;
import io.expertmesh.protocol.RoutedExpertProtocol.Wake;
import java.util.function.IntFunction;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.PostStop;
import org.apache.pekko.actor.typed.javadsl.Behaviors;

/**
 * One routed expert as a Cluster Sharding entity (entity id = expert id). Where the sharding
 * coordinator places it, it loads the expert's weights for every MoE layer (views into the mapped
 * checkpoint, so loading is cheap) and hands them to its node's {@link ExpertHost}; when it stops
 * (rebalance, leave) it takes them back.
 */
public final class ExpertEntity {
    private ExpertEntity() {}

    /** {@code loader} maps an expert id to its per-layer weights. */
    public static Behavior<Command> create(int expert, ActorRef<ExpertHostProtocol.Command> host, IntFunction<MlpWeights[]> loader) {
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
