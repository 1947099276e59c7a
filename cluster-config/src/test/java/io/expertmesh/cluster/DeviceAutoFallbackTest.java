package io.expertmesh.cluster;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import com.fasterxml.jackson.databind.JsonNode;
import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import io.expertmesh.gateway.GatewaySettings;
import io.expertmesh.model.cuda.Gpu;
import java.net.http.HttpResponse;
import java.util.List;
import java.util.function.Supplier;
import org.junit.jupiter.api.Test;

/**
 * A gateway and attention node whose GPU cannot be opened: with {@code expertmesh.engine.device =
 * auto} it serves from the CPU (the CPU's greedy text), with {@code cuda} it refuses to start.
 */
class DeviceAutoFallbackTest {
    private static final Supplier<Gpu> BROKEN_GPU = () -> {
        throw new IllegalStateException("this test's GPU cannot be opened");
    };

    private static Config device(String device) {
        return ConfigFactory.parseString("expertmesh.engine.device = " + device).withFallback(ConfigFactory.load());
    }

    @Test
    void autoFallsBackToTheCpuWhenTheGpuCannotTakeTheEngine() {
        Config config = device("auto");
        try (ReferenceGenerator reference = new ReferenceGenerator();
             MeshNode node = MeshNode.start(TestServer.MODEL, config, GatewaySettings.from(config).withPort(0), BROKEN_GPU)) {
            TestServer client = TestServer.attach(node);
            String prompt = "Count to five.";
            HttpResponse<String> r = client.post("/v1/chat/completions", TestServer.chatBody(prompt, 5, true).toString());
            assertEquals(200, r.statusCode(), r.body());
            List<JsonNode> events = TestServer.events(r);
            assertEquals(reference.greedyChat(prompt, 5).text(), TestServer.text(events.subList(0, events.size() - 1)));
        }
    }

    @Test
    void cudaRefusesToStartWhenTheGpuCannotTakeTheEngine() {
        Config config = device("cuda");
        var e = assertThrows(IllegalStateException.class,
                () -> MeshNode.start(TestServer.MODEL, config, GatewaySettings.from(config).withPort(0), BROKEN_GPU));
        assertEquals("this test's GPU cannot be opened", e.getMessage());
    }
}
