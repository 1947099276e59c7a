package io.expertmesh.gateway;

import java.time.Duration;
import org.apache.pekko.Done;
import org.apache.pekko.NotUsed;
import org.apache.pekko.http.javadsl.model.HttpEntities;
import org.apache.pekko.http.javadsl.model.HttpRequest;
import org.apache.pekko.http.javadsl.model.HttpResponse;
import org.apache.pekko.http.javadsl.model.ResponseEntity;
import org.apache.pekko.http.javadsl.model.StatusCodes;
import org.apache.pekko.stream.Attributes;
import org.apache.pekko.stream.BidiShape;
import org.apache.pekko.stream.Inlet;
import org.apache.pekko.stream.Outlet;
import org.apache.pekko.stream.javadsl.BidiFlow;
import org.apache.pekko.stream.stage.AbstractInHandler;
import org.apache.pekko.stream.stage.AbstractOutHandler;
import org.apache.pekko.stream.stage.AsyncCallback;
import org.apache.pekko.stream.stage.GraphStage;
import org.apache.pekko.stream.stage.GraphStageLogic;
import org.apache.pekko.stream.stage.TimerGraphStageLogic;

/**
 * The header timeout of one connection, between pekko-http's server layer and the routes: from the
 * moment the connection is accepted, and from the end of each response, the next complete request
 * head must arrive within {@code timeout}, or the server layer is told to close the connection.
 * pekko-http has no such timeout, and its idle-timeout must stay long for quiet streams. No deadline
 * runs while a request is in progress, nor after a WebSocket upgrade.
 */
final class HeaderDeadline extends GraphStage<BidiShape<HttpResponse, HttpResponse, HttpRequest, HttpRequest>> {
    private static final String DEADLINE = "header-deadline";

    private final Inlet<HttpResponse> responseIn = Inlet.create("HeaderDeadline.responseIn");
    private final Outlet<HttpResponse> responseOut = Outlet.create("HeaderDeadline.responseOut");
    private final Inlet<HttpRequest> requestIn = Inlet.create("HeaderDeadline.requestIn");
    private final Outlet<HttpRequest> requestOut = Outlet.create("HeaderDeadline.requestOut");
    private final BidiShape<HttpResponse, HttpResponse, HttpRequest, HttpRequest> shape =
            new BidiShape<>(responseIn, responseOut, requestIn, requestOut);
    private final Duration timeout;

    private HeaderDeadline(Duration timeout) {
        this.timeout = timeout;
    }

    /** Responses go down (routes to server layer), requests up (server layer to routes). */
    static BidiFlow<HttpResponse, HttpResponse, HttpRequest, HttpRequest, NotUsed> of(Duration timeout) {
        return BidiFlow.fromGraph(new HeaderDeadline(timeout));
    }

    @Override
    public BidiShape<HttpResponse, HttpResponse, HttpRequest, HttpRequest> shape() {
        return shape;
    }

    @Override
    public GraphStageLogic createLogic(Attributes inheritedAttributes) {
        return new TimerGraphStageLogic(shape) {
            /** Requests whose response has not ended yet. */
            private int inProgress;
            private boolean upgraded;
            private final AsyncCallback<Done> streamedResponseEnded = createAsyncCallback(done -> responseEnded());

            {
                setHandler(requestIn, new AbstractInHandler() {
                    @Override
                    public void onPush() {
                        cancelTimer(DEADLINE);
                        inProgress++;
                        push(requestOut, grab(requestIn));
                    }

                    @Override
                    public void onUpstreamFinish() {
                        complete(requestOut);
                    }
                });
                setHandler(requestOut, new AbstractOutHandler() {
                    @Override
                    public void onPull() {
                        pull(requestIn);
                    }

                    @Override
                    public void onDownstreamFinish(Throwable cause) {
                        cancel(requestIn, cause);
                    }
                });
                setHandler(responseIn, new AbstractInHandler() {
                    @Override
                    public void onPush() {
                        push(responseOut, watched(grab(responseIn)));
                    }

                    @Override
                    public void onUpstreamFinish() {
                        complete(responseOut);
                    }
                });
                setHandler(responseOut, new AbstractOutHandler() {
                    @Override
                    public void onPull() {
                        pull(responseIn);
                    }

                    @Override
                    public void onDownstreamFinish(Throwable cause) {
                        cancel(responseIn, cause);
                    }
                });
            }

            @Override
            public void preStart() {
                scheduleOnce(DEADLINE, timeout);
            }

            /**
             * Cancelling the requests makes the server layer close the connection, its parser with it.
             * Completing the responses instead would close the socket first, and the parser would then
             * warn about the half-sent head as an illegal request, once per stalled connection.
             */
            @Override
            public void onTimer(Object key) {
                cancel(requestIn);
            }

            /** The response, its body watched so the deadline starts again when the body has been sent. */
            private HttpResponse watched(HttpResponse response) {
                if (response.status().equals(StatusCodes.SWITCHING_PROTOCOLS)) {
                    // The connection carries WebSocket frames from now on, no more request heads.
                    upgraded = true;
                    return response;
                }
                ResponseEntity entity = response.entity();
                if (entity.isStrict() || entity.isKnownEmpty()) {
                    responseEnded();
                    return response;
                }
                // Chunks stay chunks; a streamed body of known length would go out chunked (the routes send none).
                return response.withEntity(HttpEntities.createChunked(entity.getContentType(),
                        entity.getDataBytes().watchTermination((mat, done) -> {
                            done.whenComplete((d, failure) -> streamedResponseEnded.invoke(Done.getInstance()));
                            return mat;
                        })));
            }

            private void responseEnded() {
                inProgress--;
                if (inProgress == 0 && !upgraded) scheduleOnce(DEADLINE, timeout);
            }
        };
    }
}
