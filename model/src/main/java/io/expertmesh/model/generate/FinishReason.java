package io.expertmesh.model.generate;

/** Why a generation ended: a stop token or stop string ({@code STOP}) or the token limit ({@code LENGTH}). */
public enum FinishReason {
    STOP,
    LENGTH;

    /** The OpenAI API's spelling. */
    public String apiName() {
        return name().toLowerCase(java.util.Locale.ROOT);
    }
}
