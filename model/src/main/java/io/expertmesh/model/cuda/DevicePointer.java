package io.expertmesh.model.cuda;

/** An address in a {@link Gpu}'s memory; passed to kernels by value. */
public record DevicePointer(long address) {
    public static final DevicePointer NULL = new DevicePointer(0);

    public DevicePointer plus(long bytes) {
        return new DevicePointer(address + bytes);
    }
}
