/**
 * The CUDA backend: the project's own kernels (model/src/main/cuda, shipped as PTX) loaded through
 * JCuda's driver API, and the ERNIE forward pass on one GPU with BF16 weights and fp32 activations.
 */
package io.expertmesh.model.cuda;
