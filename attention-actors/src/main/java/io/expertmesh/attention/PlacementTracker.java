package io.expertmesh.attention;

import io.expertmesh.protocol.ExpertHostProtocol;
import io.expertmesh.protocol.RoutedExpertProtocol;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.apache.pekko.actor.CoordinatedShutdown;
import org.apache.pekko.actor.NoSerializationVerificationNeeded;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.javadsl.AbstractBehavior;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.actor.typed.javadsl.Receive;
import org.apache.pekko.actor.typed.javadsl.TimerScheduler;
import org.apache.pekko.actor.typed.receptionist.Receptionist;
import org.apache.pekko.cluster.sharding.typed.javadsl.ClusterSharding;

/**
 * Keeps this node's placement table (expert → host): finds every expert host through the
 * Receptionist, subscribes to the experts each one hosts, and publishes a new versioned
 * {@link Placement} on every change. While some expert has no host it wakes that expert's sharded
 * entity, so the coordinator starts it somewhere (at boot, and after a node is lost).
 */
public final class PlacementTracker extends AbstractBehavior<PlacementTracker.Command> {
    public sealed interface Command extends NoSerializationVerificationNeeded {}

    private record HostsListed(Receptionist.Listing listing) implements Command {}

    private record Hosted(ExpertHostProtocol.HostedExperts hosted) implements Command {}

    private enum WakeMissing implements Command { INSTANCE }

    private final PlacementView view;
    private final ClusterSharding sharding;
    private final ActorRef<ExpertHostProtocol.HostedExperts> hostedAdapter;
    private final Map<ActorRef<ExpertHostProtocol.Command>, ExpertHostProtocol.HostedExperts> hosts = new HashMap<>();
    private final int experts;
    private long version;

    /** {@code wakeInterval}: how often missing experts are woken while the placement is incomplete. */
    public static Behavior<Command> create(PlacementView view, Duration wakeInterval) {
        return Behaviors.setup(ctx -> Behaviors.withTimers(timers -> new PlacementTracker(ctx, timers, view, wakeInterval)));
    }

    private PlacementTracker(ActorContext<Command> ctx, TimerScheduler<Command> timers, PlacementView view, Duration wakeInterval) {
        super(ctx);
        ctx.setLoggerName(PlacementTracker.class);
        this.view = view;
        this.experts = view.current().experts();
        this.sharding = ClusterSharding.get(ctx.getSystem());
        this.hostedAdapter = ctx.messageAdapter(ExpertHostProtocol.HostedExperts.class, Hosted::new);
        ctx.getSystem().receptionist().tell(Receptionist.subscribe(ExpertHostProtocol.SERVICE_KEY,
                ctx.messageAdapter(Receptionist.Listing.class, HostsListed::new)));
        timers.startTimerWithFixedDelay(WakeMissing.INSTANCE, Duration.ZERO, wakeInterval);
    }

    @Override
    public Receive<Command> createReceive() {
        return newReceiveBuilder()
                .onMessage(HostsListed.class, this::onListing)
                .onMessage(Hosted.class, this::onHosted)
                .onMessage(WakeMissing.class, w -> wakeMissing())
                .build();
    }

    private Behavior<Command> onListing(HostsListed listed) {
        Set<ActorRef<ExpertHostProtocol.Command>> now = listed.listing().getServiceInstances(ExpertHostProtocol.SERVICE_KEY);
        boolean removed = hosts.keySet().retainAll(now);
        for (ActorRef<ExpertHostProtocol.Command> host : now) {
            if (!hosts.containsKey(host)) host.tell(new ExpertHostProtocol.Subscribe(hostedAdapter));
        }
        if (removed) publish();
        return this;
    }

    private Behavior<Command> onHosted(Hosted msg) {
        ExpertHostProtocol.HostedExperts h = msg.hosted();
        ExpertHostProtocol.HostedExperts known = hosts.get(h.host());
        if (known == null || known.version() < h.version()) {
            hosts.put(h.host(), h);
            publish();
        }
        return this;
    }

    private Behavior<Command> wakeMissing() {
        Placement p = view.current();
        if (p.complete() || CoordinatedShutdown.get(getContext().getSystem()).getShutdownReason().isPresent()) return this;
        for (int e = 0; e < experts; e++) {
            if (p.link(e) == null) sharding.entityRefFor(RoutedExpertProtocol.TYPE_KEY, Integer.toString(e)).tell(new RoutedExpertProtocol.Wake());
        }
        return this;
    }

    /** Rebuilds the table. While two hosts claim an expert (during a handoff) the node whose name sorts first serves it, so every attention node picks the same one. */
    private void publish() {
        List<String> nodes = new ArrayList<>(Collections.nCopies(experts, null));
        List<String> links = new ArrayList<>(Collections.nCopies(experts, null));
        List<ExpertHostProtocol.HostedExperts> ordered = new ArrayList<>(hosts.values());
        ordered.sort((a, b) -> a.node().compareTo(b.node()));
        for (ExpertHostProtocol.HostedExperts h : ordered) {
            for (int e : h.experts()) {
                if (e >= 0 && e < experts && links.get(e) == null) {
                    nodes.set(e, h.node());
                    links.set(e, h.link());
                }
            }
        }
        Placement next = new Placement(++version, Collections.unmodifiableList(nodes), Collections.unmodifiableList(links));
        Placement before = view.current();
        view.publish(next);
        if (next.complete() && !before.complete()) {
            getContext().getLog().info("placement complete: {} experts on {} host(s), version {}", experts, hosts.size(), version);
        } else if (!next.complete()) {
            getContext().getLog().debug("placement: {}/{} experts hosted, version {}", next.hosted(), experts, version);
        }
    }
}
