//go:build !purego

#include "textflag.h"

// Packed GEMM micro-kernels (AVX-512, Z0–Z15 only; see useAVX512). b is packed by PackB into
// 16-column panels, k rows of 16 floats each. Each kernel computes six rows of c over one (16
// columns) or two (32) adjacent panels. Row i of a starts offs[i] bytes after a, and of c
// offs[6+i] bytes after c; its k values are nseg segments of segK floats, segment s starting
// segs[s] bytes after the row's start (one segment of k for a plain GEMM; a convolution's
// kernel rows for an implicit one). Every element sums its products in order, adds bias (if
// not nil), applies ReLU (flags&2), adds the old c (flags&1), and keeps the lanes of mask.
// The kernel repeats this for blocks blocks of six rows, a and c advancing by aStep and
// cStep bytes from one to the next (the offsets staying), so a plain GEMM's rows cost one
// call per panel instead of one per six rows.

// PKBLOCK starts a six-row block: a's block start in DX, b's panel in BX, the segment table
// and count in R14 and R15, and rows 1–5's offsets of a (from offs at R8) in R9, R10, R12,
// R13 and SI.
#define PKBLOCK \
	MOVQ a+8(FP), DX; \
	MOVQ b+24(FP), BX; \
	MOVQ segs+32(FP), R14; \
	MOVQ nseg+40(FP), R15; \
	MOVQ 8(R8), R9; \
	MOVQ 16(R8), R10; \
	MOVQ 24(R8), R12; \
	MOVQ 32(R8), R13; \
	MOVQ 40(R8), SI

// PKSEGMENT starts a segment: AX at its first value of row 0, CX counting its segK values.
#define PKSEGMENT \
	MOVQ DX, AX; \
	ADDQ (R14), AX; \
	MOVQ segK+48(FP), CX

// PKEPILOGUE ends a block's k loop (kLabel) and segment loop (segLabel), then loads the bias
// pointer into DX, the flags into R15 and rows 1–5's offsets of c into R9, R10, R12, R13, SI.
#define PKEPILOGUE(kLabel, segLabel) \
	ADDQ $64, BX; \
	DECQ CX; \
	JNZ  kLabel; \
	ADDQ $8, R14; \
	DECQ R15; \
	JNZ  segLabel; \
	MOVQ bias+56(FP), DX; \
	MOVQ flags+64(FP), R15; \
	MOVQ 56(R8), R9; \
	MOVQ 64(R8), R10; \
	MOVQ 72(R8), R12; \
	MOVQ 80(R8), R13; \
	MOVQ 88(R8), SI

// PKNEXT moves a and c on by a block and goes back to blkLabel while blocks remain.
#define PKNEXT(blkLabel, doneLabel) \
	DECQ blocks+80(FP); \
	JZ   doneLabel; \
	MOVQ a+8(FP), DX; \
	ADDQ aStep+88(FP), DX; \
	MOVQ DX, a+8(FP); \
	ADDQ cStep+96(FP), DI; \
	JMP  blkLabel

// func gemmPacked6x32AVX512(c, a *float32, offs *[12]int, b *float32, segs *int, nseg, segK int, bias *float32, flags int, mask uint32, blocks, aStep, cStep int)
TEXT ·gemmPacked6x32AVX512(SB), NOSPLIT, $0-104
	MOVQ c+0(FP), DI
	MOVQ offs+16(FP), R8
	MOVL mask+72(FP), R11
	KMOVW R11, K1
	SHRL $16, R11
	KMOVW R11, K2
	MOVQ nseg+40(FP), R11
	IMULQ segK+48(FP), R11
	SHLQ $6, R11 // one panel: k·16 floats
p32blk:
	PKBLOCK
	VXORPS Z0, Z0, Z0
	VXORPS Z1, Z1, Z1
	VXORPS Z2, Z2, Z2
	VXORPS Z3, Z3, Z3
	VXORPS Z4, Z4, Z4
	VXORPS Z5, Z5, Z5
	VXORPS Z6, Z6, Z6
	VXORPS Z7, Z7, Z7
	VXORPS Z8, Z8, Z8
	VXORPS Z9, Z9, Z9
	VXORPS Z10, Z10, Z10
	VXORPS Z11, Z11, Z11
p32seg:
	PKSEGMENT
p32k:
	VMOVUPS (BX), Z12
	VMOVUPS (BX)(R11*1), Z13
	VBROADCASTSS (AX), Z14
	VFMADD231PS Z14, Z12, Z0
	VFMADD231PS Z14, Z13, Z1
	VBROADCASTSS (AX)(R9*1), Z15
	VFMADD231PS Z15, Z12, Z2
	VFMADD231PS Z15, Z13, Z3
	VBROADCASTSS (AX)(R10*1), Z14
	VFMADD231PS Z14, Z12, Z4
	VFMADD231PS Z14, Z13, Z5
	VBROADCASTSS (AX)(R12*1), Z15
	VFMADD231PS Z15, Z12, Z6
	VFMADD231PS Z15, Z13, Z7
	VBROADCASTSS (AX)(R13*1), Z14
	VFMADD231PS Z14, Z12, Z8
	VFMADD231PS Z14, Z13, Z9
	VBROADCASTSS (AX)(SI*1), Z15
	VFMADD231PS Z15, Z12, Z10
	VFMADD231PS Z15, Z13, Z11
	ADDQ $4, AX
	PKEPILOGUE(p32k, p32seg)
	TESTQ DX, DX
	JZ   p32nobias
	VMOVUPS (DX), Z12
	VMOVUPS 64(DX), Z13
	VADDPS Z12, Z0, Z0
	VADDPS Z13, Z1, Z1
	VADDPS Z12, Z2, Z2
	VADDPS Z13, Z3, Z3
	VADDPS Z12, Z4, Z4
	VADDPS Z13, Z5, Z5
	VADDPS Z12, Z6, Z6
	VADDPS Z13, Z7, Z7
	VADDPS Z12, Z8, Z8
	VADDPS Z13, Z9, Z9
	VADDPS Z12, Z10, Z10
	VADDPS Z13, Z11, Z11
p32nobias:
	TESTQ $2, R15
	JZ   p32norelu
	VXORPS Z12, Z12, Z12
	VMAXPS Z12, Z0, Z0
	VMAXPS Z12, Z1, Z1
	VMAXPS Z12, Z2, Z2
	VMAXPS Z12, Z3, Z3
	VMAXPS Z12, Z4, Z4
	VMAXPS Z12, Z5, Z5
	VMAXPS Z12, Z6, Z6
	VMAXPS Z12, Z7, Z7
	VMAXPS Z12, Z8, Z8
	VMAXPS Z12, Z9, Z9
	VMAXPS Z12, Z10, Z10
	VMAXPS Z12, Z11, Z11
p32norelu:
	TESTQ $1, R15
	JZ   p32store
	VMOVUPS.Z (DI), K1, Z12
	VMOVUPS.Z 64(DI), K2, Z13
	VADDPS Z12, Z0, Z0
	VADDPS Z13, Z1, Z1
	VMOVUPS.Z (DI)(R9*1), K1, Z12
	VMOVUPS.Z 64(DI)(R9*1), K2, Z13
	VADDPS Z12, Z2, Z2
	VADDPS Z13, Z3, Z3
	VMOVUPS.Z (DI)(R10*1), K1, Z12
	VMOVUPS.Z 64(DI)(R10*1), K2, Z13
	VADDPS Z12, Z4, Z4
	VADDPS Z13, Z5, Z5
	VMOVUPS.Z (DI)(R12*1), K1, Z12
	VMOVUPS.Z 64(DI)(R12*1), K2, Z13
	VADDPS Z12, Z6, Z6
	VADDPS Z13, Z7, Z7
	VMOVUPS.Z (DI)(R13*1), K1, Z12
	VMOVUPS.Z 64(DI)(R13*1), K2, Z13
	VADDPS Z12, Z8, Z8
	VADDPS Z13, Z9, Z9
	VMOVUPS.Z (DI)(SI*1), K1, Z12
	VMOVUPS.Z 64(DI)(SI*1), K2, Z13
	VADDPS Z12, Z10, Z10
	VADDPS Z13, Z11, Z11
p32store:
	VMOVUPS Z0, K1, (DI)
	VMOVUPS Z1, K2, 64(DI)
	VMOVUPS Z2, K1, (DI)(R9*1)
	VMOVUPS Z3, K2, 64(DI)(R9*1)
	VMOVUPS Z4, K1, (DI)(R10*1)
	VMOVUPS Z5, K2, 64(DI)(R10*1)
	VMOVUPS Z6, K1, (DI)(R12*1)
	VMOVUPS Z7, K2, 64(DI)(R12*1)
	VMOVUPS Z8, K1, (DI)(R13*1)
	VMOVUPS Z9, K2, 64(DI)(R13*1)
	VMOVUPS Z10, K1, (DI)(SI*1)
	VMOVUPS Z11, K2, 64(DI)(SI*1)
	PKNEXT(p32blk, p32done)
p32done:
	VZEROUPPER
	RET

// func gemmPacked6x16AVX512(c, a *float32, offs *[12]int, b *float32, segs *int, nseg, segK int, bias *float32, flags int, mask uint32, blocks, aStep, cStep int)
//
// One panel: the low 16 bits of mask.
TEXT ·gemmPacked6x16AVX512(SB), NOSPLIT, $0-104
	MOVQ c+0(FP), DI
	MOVQ offs+16(FP), R8
	MOVL mask+72(FP), R11
	KMOVW R11, K1
p16blk:
	PKBLOCK
	VXORPS Z0, Z0, Z0
	VXORPS Z1, Z1, Z1
	VXORPS Z2, Z2, Z2
	VXORPS Z3, Z3, Z3
	VXORPS Z4, Z4, Z4
	VXORPS Z5, Z5, Z5
p16seg:
	PKSEGMENT
p16k:
	VMOVUPS (BX), Z12
	VBROADCASTSS (AX), Z13
	VBROADCASTSS (AX)(R9*1), Z14
	VBROADCASTSS (AX)(R10*1), Z15
	VFMADD231PS Z13, Z12, Z0
	VFMADD231PS Z14, Z12, Z1
	VFMADD231PS Z15, Z12, Z2
	VBROADCASTSS (AX)(R12*1), Z13
	VBROADCASTSS (AX)(R13*1), Z14
	VBROADCASTSS (AX)(SI*1), Z15
	VFMADD231PS Z13, Z12, Z3
	VFMADD231PS Z14, Z12, Z4
	VFMADD231PS Z15, Z12, Z5
	ADDQ $4, AX
	PKEPILOGUE(p16k, p16seg)
	TESTQ DX, DX
	JZ   p16nobias
	VMOVUPS (DX), Z12
	VADDPS Z12, Z0, Z0
	VADDPS Z12, Z1, Z1
	VADDPS Z12, Z2, Z2
	VADDPS Z12, Z3, Z3
	VADDPS Z12, Z4, Z4
	VADDPS Z12, Z5, Z5
p16nobias:
	TESTQ $2, R15
	JZ   p16norelu
	VXORPS Z12, Z12, Z12
	VMAXPS Z12, Z0, Z0
	VMAXPS Z12, Z1, Z1
	VMAXPS Z12, Z2, Z2
	VMAXPS Z12, Z3, Z3
	VMAXPS Z12, Z4, Z4
	VMAXPS Z12, Z5, Z5
p16norelu:
	TESTQ $1, R15
	JZ   p16store
	VMOVUPS.Z (DI), K1, Z12
	VMOVUPS.Z (DI)(R9*1), K1, Z13
	VMOVUPS.Z (DI)(R10*1), K1, Z14
	VADDPS Z12, Z0, Z0
	VADDPS Z13, Z1, Z1
	VADDPS Z14, Z2, Z2
	VMOVUPS.Z (DI)(R12*1), K1, Z12
	VMOVUPS.Z (DI)(R13*1), K1, Z13
	VMOVUPS.Z (DI)(SI*1), K1, Z14
	VADDPS Z12, Z3, Z3
	VADDPS Z13, Z4, Z4
	VADDPS Z14, Z5, Z5
p16store:
	VMOVUPS Z0, K1, (DI)
	VMOVUPS Z1, K1, (DI)(R9*1)
	VMOVUPS Z2, K1, (DI)(R10*1)
	VMOVUPS Z3, K1, (DI)(R12*1)
	VMOVUPS Z4, K1, (DI)(R13*1)
	VMOVUPS Z5, K1, (DI)(SI*1)
	PKNEXT(p16blk, p16done)
p16done:
	VZEROUPPER
	RET
