"""NVIDIA GPU confidential computing: SPDM measurement reports (:mod:`.spdm`), signed reference
integrity manifests (:mod:`.rim`) and the GPU verifier (:mod:`.gpu`), all offline
(docs/trust-model.md#gpu-evidence)."""

from privcloud.attest.nvidia.gpu import (
    GPU_NONCE_LABEL,
    TEE_NVIDIA_GPU,
    GpuAttestation,
    GpuEvidence,
    GpuPolicy,
    NvidiaGpuVerifier,
    check_gpu_binding,
    gpu_id,
    gpu_nonce_for,
    pinned_nvidia_roots,
    verify_node_gpus,
)

__all__ = [
    "GPU_NONCE_LABEL",
    "TEE_NVIDIA_GPU",
    "GpuAttestation",
    "GpuEvidence",
    "GpuPolicy",
    "NvidiaGpuVerifier",
    "check_gpu_binding",
    "gpu_id",
    "gpu_nonce_for",
    "pinned_nvidia_roots",
    "verify_node_gpus",
]
