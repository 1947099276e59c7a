package io.expertmesh.experts;

import io.expertmesh.model.engine.ExpertStore;
import io.expertmesh.model.weights.MlpWeights;
import io.expertmesh.protocol.DispatchBatch;
import io.expertmesh.protocol.DispatchFrames;
import io.expertmesh.protocol.ExpertHostProtocol;
import io.expertmesh.protocol.ExpertHostProtocol.Command;
import io.expertmesh.protocol.ExpertHostProtocol.HostedExperts;
import io.expertmesh.protocol.ExpertHostProtocol.Subscribe;
import io.expertmesh.protocol.LinkTransport;
import io.expertmesh.protocol.PartialSums;
import io.expertmesh.protocol.RoutedExpertProtocol;
import java.util.Arrays;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import org.apache.pekko.actor.NoSerializationVerificationNeeded;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.PostStop;
import org.apache.pekko.actor.typed.javadsl.AbstractBehavior;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.actor.typed.javadsl.Receive;
import org.apache.pekko.actor.typed.receptionist.Receptionist;

/**
 * The routed experts of one node. The node's {@link ExpertEntity} instances register their
 * weights here, and the host tells subscribers (every attention node's placement tracker)
 * which experts it serves and at which dispatch link. Batches do not come through this actor: a
 * {@link DispatchBatch} arrives on the host's {@link DispatchLinkServer} with the rows routed to
 * this node's experts, which run as grouped expert FFNs in the node's expert store (CPU or GPU), and
 * ONE {@link PartialSums} reply returns, per row, the weighted sum over the row's experts on this
 * node. Adding an expert may wait for a batch in progress (and uploads weights on a GPU), so the host
 * is spawned on a dedicated dispatcher.
 */
public final class ExpertHost extends AbstractBehavior<Command> {
    /** The dispatcher (this module's reference.conf) to spawn the host on. */
    public static final String DISPATCHER = "expertmesh-expert-dispatcher";

    record ExpertStarted(int expert, MlpWeights[] weights, ActorRef<RoutedExpertProtocol.Command> entity)
            implements Command, NoSerializationVerificationNeeded {}

    record ExpertStopped(int expert, ActorRef<RoutedExpertProtocol.Command> entity) implements Command, NoSerializationVerificationNeeded {}

    private record SubscriberGone(ActorRef<HostedExperts> subscriber) implements Command, NoSerializationVerificationNeeded {}

    private final ServedExperts served;
    private final DispatchLinkServer link;
    private final String node;
    private final Map<Integer, ActorRef<RoutedExpertProtocol.Command>> entities = new TreeMap<>();
    private final Set<ActorRef<HostedExperts>> subscribers = new HashSet<>();
    private long version;

    /**
     * {@code node} names this node in replies (its cluster address); expert FFNs run in {@code store}
     * (CPU or GPU); the dispatch link listens on {@code linkHost} as {@code settings} say, opens its
     * connections with {@code transport} and carries frames of {@code frames}.
     */
    public static Behavior<Command> create(ExpertStore store, String node, String linkHost, ExpertHostSettings settings, LinkTransport transport,
                                           DispatchFrames frames) {
        return Behaviors.setup(ctx -> {
            ServedExperts served = new ServedExperts(store, node);
            DispatchLinkServer link = new DispatchLinkServer(linkHost, settings, transport, frames, served, ctx.getLog());
            ctx.getLog().info("expert host of {} takes dispatch batches at {} ({})", node, link.address(),
                    transport.encrypted() ? "mutual TLS" : "plaintext, unauthenticated");
            ctx.getSystem().receptionist().tell(Receptionist.register(ExpertHostProtocol.SERVICE_KEY, ctx.getSelf()));
            return new ExpertHost(ctx, served, link, node);
        });
    }

    private ExpertHost(ActorContext<Command> ctx, ServedExperts served, DispatchLinkServer link, String node) {
        super(ctx);
        this.served = served;
        this.link = link;
        this.node = node;
    }

    @Override
    public Receive<Command> createReceive() {
        return newReceiveBuilder()
                .onMessage(ExpertStarted.class, this::onStarted)
                .onMessage(ExpertStopped.class, this::onStopped)
                .onMessage(Subscribe.class, this::onSubscribe)
                .onMessage(SubscriberGone.class, gone -> {
                    subscribers.remove(gone.subscriber());
                    return this;
                })
                .onSignal(PostStop.class, stop -> {
                    link.close();
                    return this;
                })
                .build();
    }

    private Behavior<Command> onStarted(ExpertStarted started) {
        try {
            served.add(started.expert(), started.weights());
        } catch (RuntimeException e) {
            // Not listed as hosted, so the placement shows the expert missing instead of the host failing every batch.
            getContext().getLog().error("expert {} could not be loaded on {}", started.expert(), node, e);
            return this;
        }
        entities.put(started.expert(), started.entity());
        changed();
        getContext().getLog().debug("expert {} loaded on {}", started.expert(), node);
        return this;
    }

    private Behavior<Command> onStopped(ExpertStopped stopped) {
        if (stopped.entity().equals(entities.get(stopped.expert()))) {
            served.remove(stopped.expert());
            entities.remove(stopped.expert());
            changed();
            getContext().getLog().info("expert {} left {}", stopped.expert(), node);
        }
        return this;
    }

    private Behavior<Command> onSubscribe(Subscribe subscribe) {
        if (subscribers.add(subscribe.subscriber())) {
            getContext().watchWith(subscribe.subscriber(), new SubscriberGone(subscribe.subscriber()));
        }
        subscribe.subscriber().tell(snapshot());
        return this;
    }

    private void changed() {
        version++;
        HostedExperts now = snapshot();
        for (ActorRef<HostedExperts> s : subscribers) s.tell(now);
    }

    private HostedExperts snapshot() {
        int[] ids = entities.keySet().stream().mapToInt(Integer::intValue).toArray();
        Arrays.sort(ids);
        return new HostedExperts(getContext().getSelf(), node, link.address(), ids, version);
    }
}
