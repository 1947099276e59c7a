package io.expertmesh.gateway;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.HashMap;
import java.util.Map;
import org.apache.pekko.http.javadsl.model.ContentType;
import org.apache.pekko.http.javadsl.model.ContentTypes;
import org.apache.pekko.http.javadsl.model.HttpCharsets;
import org.apache.pekko.http.javadsl.model.HttpResponse;
import org.apache.pekko.http.javadsl.model.MediaTypes;
import org.apache.pekko.http.javadsl.model.headers.RawHeader;
import org.apache.pekko.http.javadsl.server.AllDirectives;
import org.apache.pekko.http.javadsl.server.PathMatchers;
import org.apache.pekko.http.javadsl.server.Route;

/**
 * The browser playground: a static page (chat over {@code /v1/stream}, live cluster view from
 * {@code /cluster} and {@code /metrics}) served from the classpath folder {@code playground/}.
 * {@code GET /} is the page, {@code GET /playground/<file>} its script and style sheet. The files are
 * fixed at build time and read once; nothing else is served, so no path reaches outside that list.
 * The page holds no secret, so these routes need no API key.
 */
final class Playground extends AllDirectives {
    private static final ContentType HTML = ContentTypes.TEXT_HTML_UTF8;
    private static final ContentType JS = ContentTypes.create(MediaTypes.APPLICATION_JAVASCRIPT, HttpCharsets.UTF_8);
    private static final ContentType CSS = ContentTypes.create(MediaTypes.TEXT_CSS, HttpCharsets.UTF_8);

    /** File name → content type; the only files served. */
    private static final Map<String, ContentType> FILES = Map.of(
            "index.html", HTML,
            "app.js", JS,
            "app.css", CSS);

    private final Map<String, HttpResponse> responses;

    Playground() {
        var built = new HashMap<String, HttpResponse>();
        FILES.forEach((name, type) -> built.put(name, HttpResponse.create()
                .withEntity(type, read(name))
                .addHeader(RawHeader.create("Cache-Control", "no-cache"))
                .addHeader(RawHeader.create("X-Content-Type-Options", "nosniff"))
                .addHeader(RawHeader.create("Content-Security-Policy",
                        "default-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"))));
        this.responses = Map.copyOf(built);
    }

    private static byte[] read(String name) {
        try (InputStream in = Playground.class.getResourceAsStream("/playground/" + name)) {
            if (in == null) throw new IllegalStateException("playground resource missing from the classpath: playground/" + name);
            return in.readAllBytes();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read playground/" + name, e);
        }
    }

    /**
     * {@code GET /} and {@code GET /playground/<file>}; other paths fall through (404). The path is
     * matched before the method: a method directive that passes cancels other routes' 405s.
     */
    Route route() {
        return concat(
                pathSingleSlash(() -> get(() -> complete(responses.get("index.html")))),
                path(PathMatchers.segment("playground").slash(PathMatchers.segment()), name -> {
                    HttpResponse r = responses.get(name);
                    return r != null ? get(() -> complete(r)) : reject();
                }));
    }
}
