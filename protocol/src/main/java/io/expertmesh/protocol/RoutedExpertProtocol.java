package io.expertmesh.protocol;

import org.apache.pekko.cluster.sharding.typed.javadsl.EntityTypeKey;

/** The routed experts as Cluster Sharding entities: entity id = expert id, under {@link #TYPE_KEY}. */
public final class RoutedExpertProtocol {
    public static final EntityTypeKey<Command> TYPE_KEY = EntityTypeKey.create(Command.class, "RoutedExpert");

    public sealed interface Command extends MeshMessage permits Wake {}

    /** Starts the entity where sharding places it; a running entity ignores it. */
    public record Wake() implements Command {}

    private RoutedExpertProtocol() {}
}
