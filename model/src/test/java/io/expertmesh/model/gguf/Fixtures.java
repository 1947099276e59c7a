package io.expertmesh.model.gguf;

import java.net.URISyntaxException;
import java.net.URL;
import java.nio.file.Path;

/** The committed fixtures of this package (src/test/resources/io/expertmesh/model/gguf, made by make_fixtures.py there). */
final class Fixtures {
    private Fixtures() {}

    static Path resource(String name) {
        URL url = Fixtures.class.getResource(name);
        if (url == null) throw new IllegalStateException("test resource " + name + " not found beside " + Fixtures.class.getName());
        try {
            return Path.of(url.toURI());
        } catch (URISyntaxException e) {
            throw new IllegalStateException(e);
        }
    }
}
