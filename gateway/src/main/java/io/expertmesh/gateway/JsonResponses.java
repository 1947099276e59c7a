package io.expertmesh.gateway;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.expertmesh.model.Json;
import org.apache.pekko.http.javadsl.model.ContentTypes;
import org.apache.pekko.http.javadsl.model.HttpResponse;
import org.apache.pekko.http.javadsl.model.StatusCodes;

/** A JSON body as an HTTP response; the routes and {@link GatewayErrors} both answer this way. */
final class JsonResponses {
    private JsonResponses() {}

    static HttpResponse of(int status, ObjectNode body) {
        return HttpResponse.create().withStatus(StatusCodes.get(status)).withEntity(ContentTypes.APPLICATION_JSON, Json.write(body));
    }
}
