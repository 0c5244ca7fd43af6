#!/bin/sh
# Regenerates kernels.ptx from kernels.cu with clang's CUDA device compiler; no CUDA SDK or
# GPU is needed (Debian: apt-get install clang-14). The PTX targets sm_52 so that the driver
# JIT-compiles it for any newer GPU. TestPTXUpToDate reruns this and compares.
set -eu
cd "$(dirname "$0")"
CLANG=${CLANG:-clang-14} # the committed PTX is clang 14.0.6's (Debian 12)
"$CLANG" -x cuda --cuda-device-only --cuda-gpu-arch=sm_52 -nocudainc -nocudalib \
	-O3 -ffp-contract=fast -fno-math-errno -S -o "${1:-kernels.ptx}" kernels.cu
