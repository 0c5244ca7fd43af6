#!/bin/sh
# Regenerates the embedded PTX from kernels.cu with clang's CUDA device compiler; no CUDA SDK
# or GPU is needed (Debian: apt-get install clang-14). Two targets, the same code: sm_75 (PTX
# 6.3), which Load tries first and which drivers that dropped older targets still accept, and
# sm_52 (PTX 4.1) for Maxwell and Pascal GPUs. The driver JIT-compiles either for newer GPUs.
# TestPTXUpToDate reruns this and compares.
# Usage: gen.sh [OUTDIR]   (default: this directory)
set -eu
cd "$(dirname "$0")"
out=${1:-.}
CLANG=${CLANG:-clang-14} # the committed PTX is clang 14.0.6's (Debian 12)
for arch in 75 52; do
	"$CLANG" -x cuda --cuda-device-only --cuda-gpu-arch=sm_$arch -nocudainc -nocudalib \
		-O3 -ffp-contract=fast -fno-math-errno -S -o "$out/kernels_sm$arch.ptx" kernels.cu
done
