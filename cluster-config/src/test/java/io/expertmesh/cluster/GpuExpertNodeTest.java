package io.expertmesh.cluster;

import static org.junit.jupiter.api.Assertions.assertEquals;

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
 * Two nodes in this JVM on loopback: A (gateway, attention) on the CPU and B (expert) whose experts
 * run on the emulated GPU (see EmulatedGpu in the model module). Every MoE layer of A's steps is
 * dispatched to B and computed by the CUDA kernels there; the stream must equal the one-node CPU
 * greedy text.
 */
class GpuExpertNodeTest {
    @Test
    void anExpertNodeOnTheGpuServesTheDispatchedLayersWithTheCpuResult() throws IOException {
        var gpu = EmulatedGpu.open();
        int portA = freePort(), portB = freePort();
        String seed = "pekko://expertmesh@127.0.0.1:" + portA;
        Config a = node(List.of("gateway", "attention"), portA, seed);
        Config b = node(List.of("expert"), portB, seed);
        try (ReferenceGenerator reference = new ReferenceGenerator();
             MeshNode attention = MeshNode.start(TestServer.MODEL, a, GatewaySettings.from(a).withPort(0));
             MeshNode experts = MeshNode.start(TestServer.MODEL, b, GatewaySettings.from(b).withPort(0), () -> gpu)) {
            TestServer client = TestServer.attach(attention);
            String prompt = "Give me a short introduction to large language model.";
            HttpResponse<String> r = client.post("/v1/chat/completions", TestServer.chatBody(prompt, 6, true).toString());
            assertEquals(200, r.statusCode(), r.body());
            List<JsonNode> events = TestServer.events(r);
            assertEquals(reference.greedyChat(prompt, 6).text(), TestServer.text(events.subList(0, events.size() - 1)));
            assertEquals(0, client.metric("mesh:num_requests_running"));
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
