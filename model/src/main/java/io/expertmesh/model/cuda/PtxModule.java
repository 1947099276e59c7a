package io.expertmesh.model.cuda;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * What a PTX module declares that the host must honour: its PTX ISA version (which decides the
 * oldest driver that can load it), its target architecture, and each kernel's parameter types.
 *
 * @param isaMajor the {@code .version} major number
 * @param isaMinor the {@code .version} minor number
 * @param target the {@code .target}, e.g. {@code sm_90}
 * @param kernels each {@code .visible .entry}'s parameter types in order ({@code u64}, {@code u32}, {@code f32}, …)
 */
public record PtxModule(int isaMajor, int isaMinor, String target, Map<String, List<String>> kernels) {
    private static final Pattern VERSION = Pattern.compile("^\\.version (\\d+)\\.(\\d+)\\s*$", Pattern.MULTILINE);
    private static final Pattern TARGET = Pattern.compile("^\\.target (\\w+)", Pattern.MULTILINE);
    private static final Pattern ENTRY = Pattern.compile("\\.visible \\.entry (\\w+)\\(([^)]*)\\)");
    private static final Pattern PARAM = Pattern.compile("\\.param \\.(\\w+)");

    /**
     * The first CUDA driver version (as cuDriverGetVersion reports it: 1000·major + 10·minor) that
     * loads each PTX ISA version, from NVIDIA's PTX ISA release notes; sm_90 needs ISA 7.8 or newer.
     */
    private static final Map<String, Integer> FIRST_DRIVER_FOR_ISA = Map.ofEntries(Map.entry("7.8", 11080), Map.entry("8.0", 12000),
            Map.entry("8.1", 12010), Map.entry("8.2", 12020), Map.entry("8.3", 12030), Map.entry("8.4", 12040), Map.entry("8.5", 12050),
            Map.entry("8.6", 12070), Map.entry("8.7", 12080), Map.entry("8.8", 12090), Map.entry("9.0", 13000));

    /** The Linux driver branch that first ships each of those CUDA versions, so a refusal says what to install. */
    private static final Map<Integer, String> DRIVER_BRANCH = Map.ofEntries(Map.entry(11080, "R520"), Map.entry(12000, "R525"),
            Map.entry(12010, "R530"), Map.entry(12020, "R535"), Map.entry(12030, "R545"), Map.entry(12040, "R550"),
            Map.entry(12050, "R555"), Map.entry(12060, "R560"), Map.entry(12080, "R570"), Map.entry(12090, "R575"),
            Map.entry(13000, "R580"));

    public PtxModule {
        kernels = Map.copyOf(kernels);
    }

    /** Parses a module's header and entry points; fails with a message naming what is missing. */
    public static PtxModule parse(String ptx) {
        Matcher version = VERSION.matcher(ptx);
        if (!version.find()) throw new IllegalArgumentException("PTX without a .version line");
        Matcher target = TARGET.matcher(ptx);
        if (!target.find()) throw new IllegalArgumentException("PTX without a .target line");
        Map<String, List<String>> kernels = new LinkedHashMap<>();
        Matcher entry = ENTRY.matcher(ptx);
        while (entry.find()) {
            List<String> types = new ArrayList<>();
            Matcher param = PARAM.matcher(entry.group(2));
            while (param.find()) types.add(param.group(1));
            kernels.put(entry.group(1), List.copyOf(types));
        }
        return new PtxModule(Integer.parseInt(version.group(1)), Integer.parseInt(version.group(2)), target.group(1), kernels);
    }

    public String isa() {
        return isaMajor + "." + isaMinor;
    }

    /** The oldest driver that loads PTX of this ISA version, as cuDriverGetVersion reports it; empty for an ISA the table lacks. */
    public Optional<Integer> minimumDriverVersion() {
        return Optional.ofNullable(FIRST_DRIVER_FOR_ISA.get(isa()));
    }

    /** Why a driver of {@code driverVersion} (cuDriverGetVersion) cannot load this module, or empty when it can. */
    public Optional<String> driverRefusal(int driverVersion) {
        Optional<Integer> minimum = minimumDriverVersion();
        if (minimum.isEmpty()) {
            return Optional.of("the kernels' PTX declares ISA " + isa() + ", which this build does not know the minimum CUDA driver of");
        }
        if (driverVersion >= minimum.get()) return Optional.empty();
        return Optional.of("the NVIDIA driver supports CUDA " + cudaVersion(driverVersion) + " (cuDriverGetVersion " + driverVersion
                + "), but the kernels' PTX (ISA " + isa() + ", " + target + ") needs a driver for CUDA " + cudaVersion(minimum.get())
                + " or newer" + Optional.ofNullable(DRIVER_BRANCH.get(minimum.get())).map(b -> " (driver " + b + " or newer)").orElse(""));
    }

    /** The parameter types of {@code kernel}; fails for a kernel the module does not have. */
    public List<String> parameters(String kernel) {
        List<String> types = kernels.get(kernel);
        if (types == null) throw new IllegalArgumentException("no kernel " + kernel + " in the PTX module");
        return types;
    }

    static String cudaVersion(int driverVersion) {
        return driverVersion / 1000 + "." + driverVersion % 1000 / 10;
    }
}
