package io.expertmesh.gateway;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import io.expertmesh.gateway.api.Endpoint;
import io.expertmesh.gateway.api.GenerationRequest;
import io.expertmesh.gateway.api.RequestParser;
import io.expertmesh.model.Json;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.slf4j.LoggerFactory;

class RequestLogTest {
    @Test
    void theRequestLineNamesTheClientsUserAndChoices() throws Exception {
        Logger logger = (Logger) LoggerFactory.getLogger(RequestLog.class);
        Level before = logger.getLevel();
        ListAppender<ILoggingEvent> appender = new ListAppender<>();
        appender.start();
        logger.addAppender(appender);
        logger.setLevel(Level.DEBUG);
        try {
            GenerationRequest request = RequestParser.parse(Endpoint.CHAT, Json.MAPPER.readTree(
                    "{\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],\"user\":\"end-user-42\",\"n\":2}"));
            RequestLog.accepted("chatcmpl-x", request, new ServedModel.Prepared(new int[] {1, 2, 3}, request.sampling(8, Set.of(), null), ""));
            assertEquals(1, appender.list.size());
            String line = appender.list.getFirst().getFormattedMessage();
            assertTrue(line.contains("chatcmpl-x") && line.contains("user end-user-42") && line.contains("n 2"), line);
        } finally {
            logger.detachAppender(appender);
            logger.setLevel(before);
        }
    }
}
