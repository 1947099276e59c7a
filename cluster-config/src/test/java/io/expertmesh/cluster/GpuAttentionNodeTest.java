package io.expertmesh.cluster;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import com.typesafe.config.ConfigValueFactory;
import io.expertmesh.gateway.GatewaySettings;
import io.expertmesh.model.cuda.EmulatedGpu;
import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.http.HttpResponse;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * Three nodes in this JVM on loopback: A (gateway, attention) with its engine on the emulated GPU
 * (see EmulatedGpu in the model module) and no experts of its own, B and C (expert) on the CPU.
 * Every MoE layer of A's GPU steps leaves the device through the same MoE hook the CPU engine uses
 * and is dispatched to B and C; the stream must equal the one-node CPU greedy text.
 */
class GpuAttentionNodeTest {
    @Test
    void aGpuAttentionNodeDispatchesItsExpertsToCpuExpertNodesWithTheCpuResult() throws IOException {
        var gpu = EmulatedGpu.open();
        int portA = freePort(), portB = freePort(), portC = freePort();
        String seed = "pekko://expertmesh@127.0.0.1:" + portA;
        Config a = node(List.of("gateway", "attention"), portA, seed);
        Config b = node(List.of("expert"), portB, seed);
        Config c = node(List.of("expert"), portC, seed);
        try (ReferenceGenerator reference = new ReferenceGenerator();
             MeshNode attention = MeshNode.start(TestServer.MODEL, a, GatewaySettings.from(a).withPort(0), () -> gpu);
             MeshNode expertsB = MeshNode.start(TestServer.MODEL, b, GatewaySettings.from(b).withPort(0));
             MeshNode expertsC = MeshNode.start(TestServer.MODEL, c, GatewaySettings.from(c).withPort(0))) {
            TestServer client = TestServer.attach(attention);
            for (String prompt : List.of("Give me a short introduction to large language model.", "Count to five.")) {
                HttpResponse<String> r = client.post("/v1/chat/completions", TestServer.chatBody(prompt, 6, true).toString());
                assertEquals(200, r.statusCode(), r.body());
                List<JsonNode> events = TestServer.events(r);
                assertEquals(reference.greedyChat(prompt, 6).text(), TestServer.text(events.subList(0, events.size() - 1)), prompt);
            }
            assertEquals(0, client.metric("mesh:num_requests_running"));
            assertTrue(client.metric("mesh:moe_layer_seconds_count") > 0, "MoE layers went through the hook, not the device's experts");
        }
    }

    private static Config node(List<String> roles, int port, String seed) {
        return ConfigFactory.empty()
                .withValue("pekko.cluster.roles", ConfigValueFactory.fromIterable(roles))
                .withValue("pekko.cluster.seed-nodes", ConfigValueFactory.fromIterable(List.of(seed)))
                .withValue("pekko.remote.artery.canonical.hostname", ConfigValueFactory.fromAnyRef("127.0.0.1"))
                .withValue("pekko.remote.artery.canonical.port", ConfigValueFactory.fromAnyRef(port))
                .withFallback(ConfigFactory.load());
    }

    private static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            return s.getLocalPort();
        }
    }
}
