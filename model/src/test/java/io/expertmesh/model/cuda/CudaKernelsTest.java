package io.expertmesh.model.cuda;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/** The PTX shipped in the jar: built for sm_90 from the current kernel sources (no nvcc needed here). */
class CudaKernelsTest {
    private static final Path SOURCE = Path.of("src", "main", "cuda", "ernie.cu");

    @Test
    void shippedPtxTargetsHopperAndDeclaresEveryKernelOfTheSource() throws IOException {
        String ptx = new String(CudaDevice.ptx(), StandardCharsets.US_ASCII);
        assertTrue(ptx.contains("\n.target sm_90\n"), "PTX target");
        assertEquals(names(Files.readString(SOURCE), "extern \"C\" __global__ void (\\w+)\\("),
                names(ptx, "\\.visible \\.entry (\\w+)\\("), "kernels in " + SOURCE + " vs the shipped PTX");
    }

    @Test
    void everyKernelTheModelLaunchesIsInThePtx() throws IOException {
        Set<String> shipped = names(new String(CudaDevice.ptx(), StandardCharsets.US_ASCII), "\\.visible \\.entry (\\w+)\\(");
        Set<String> launched = new TreeSet<>();
        try (var files = Files.list(Path.of("src", "main", "java", "io", "expertmesh", "model", "cuda"))) {
            for (Path file : files.toList()) launched.addAll(names(Files.readString(file), "(?:launch\\(|-> )\"(\\w+)\""));
        }
        assertTrue(launched.size() >= 10, "found the launches: " + launched);
        assertTrue(shipped.containsAll(launched), "launched " + launched + " but the PTX has " + shipped);
    }

    @Test
    void unavailableReasonNamesTheDriverWhenThereIsNoGpu() {
        CudaDevice.unavailableReason().ifPresent(reason -> assertTrue(reason.contains("libcuda.so.1") || reason.contains("CUDA"), reason));
    }

    private static Set<String> names(String text, String regex) {
        Set<String> out = new TreeSet<>();
        Matcher m = Pattern.compile(regex).matcher(text);
        while (m.find()) out.add(m.group(1));
        return out;
    }
}
