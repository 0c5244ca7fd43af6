//go:build !purego

#include "textflag.h"

// AVX2+FMA kernels for vecmath. Each processes 8 floats per step; the last n%8 are loaded
// with VMASKMOVPS (which never touches the masked-off memory) and stored by STORETAIL. The
// arithmetic follows generic.go step by step; comments there explain the approximations.
//
// Go assembler operand order is the reverse of Intel's: VSUBPS b, a, d is d = a − b;
// VFMADD213PS c, b, a is a = b·a + c; VFMADD231PS c, b, a is a = b·c + a.
// MINPS/MAXPS return their second Intel source (the first Go operand) when either input is
// NaN, so the value that must keep its NaN is written first.

#define CONST8(sym, v) \
	DATA sym<>+0(SB)/4, $v; DATA sym<>+4(SB)/4, $v; DATA sym<>+8(SB)/4, $v; DATA sym<>+12(SB)/4, $v; \
	DATA sym<>+16(SB)/4, $v; DATA sym<>+20(SB)/4, $v; DATA sym<>+24(SB)/4, $v; DATA sym<>+28(SB)/4, $v; \
	GLOBL sym<>(SB), RODATA|NOPTR, $32

CONST8(log2e, 1.44269504088896341)
CONST8(ln2Hi, 0.693359375)
CONST8(ln2Lo, -2.12194440e-4)
CONST8(expP0, 1.9875691500e-4)
CONST8(expP1, 1.3981999507e-3)
CONST8(expP2, 8.3334519073e-3)
CONST8(expP3, 4.1665795894e-2)
CONST8(expP4, 1.6666665459e-1)
CONST8(expP5, 5.0000001201e-1)
CONST8(expMin, -87.33)
CONST8(expMax, 88.72)
CONST8(one, 1.0)
CONST8(half, 0.5)
CONST8(negHalf, -0.5)
CONST8(int127, 127)
CONST8(posInf, 0x7f800000)
CONST8(negInf, 0xff800000)
CONST8(erfHi, 4.0)
CONST8(erfLo, -4.0)
CONST8(erfA0, -2.72614225801306e-10)
CONST8(erfA1, 2.77068142495902e-08)
CONST8(erfA2, -2.10102402082508e-06)
CONST8(erfA3, -5.69250639462346e-05)
CONST8(erfA4, -7.34990630326855e-04)
CONST8(erfA5, -2.95459980854025e-03)
CONST8(erfA6, -1.60960333262415e-02)
CONST8(erfB0, -1.45660718464996e-05)
CONST8(erfB1, -2.13374055278905e-04)
CONST8(erfB2, -1.68282697438203e-03)
CONST8(erfB3, -7.37332916720468e-03)
CONST8(erfB4, -1.42647390514189e-02)
CONST8(invSqrt2, 0.7071067811865476)
CONST8(invSqrt2Pi, 0.3989422804014327)

// tailmask<>+32-4t holds t all-ones lanes, then zeros: the mask of a tail of t < 8 floats.
DATA tailmask<>+0(SB)/8, $-1
DATA tailmask<>+8(SB)/8, $-1
DATA tailmask<>+16(SB)/8, $-1
DATA tailmask<>+24(SB)/8, $-1
DATA tailmask<>+32(SB)/8, $0
DATA tailmask<>+40(SB)/8, $0
DATA tailmask<>+48(SB)/8, $0
DATA tailmask<>+56(SB)/8, $0
GLOBL tailmask<>(SB), RODATA|NOPTR, $64

// TAILMASK(t, tmp, tmp2, m) sets m to the mask of the first t lanes (0 ≤ t < 8).
#define TAILMASK(t, tmp, tmp2, m) \
	LEAQ tailmask<>+32(SB), tmp; \
	MOVQ t, tmp2; \
	NEGQ tmp2; \
	VMOVDQU (tmp)(tmp2*4), m

// STORETAIL(y, x, p, t, l4, l2, l1) stores the first t (< 8) lanes of y at p as 4, 2 and 1
// floats: a VMASKMOVPS store took ~10 ns on AMD EPYC (microcoded), this ~1 ns. x is y's low
// half; y, p and t are clobbered; l4, l2, l1 name labels unique in the function.
#define STORETAIL(y, x, p, t, l4, l2, l1) \
	TESTQ $4, t; \
	JZ l4; \
	VMOVUPS x, (p); \
	VEXTRACTF128 $1, y, x; \
	ADDQ $16, p; \
l4: \
	TESTQ $2, t; \
	JZ l2; \
	VMOVSD x, (p); \
	VMOVHLPS x, x, x; \
	ADDQ $8, p; \
l2: \
	TESTQ $1, t; \
	JZ l1; \
	VMOVSS x, (p); \
l1:

// HSUM(y, x, t) leaves in x's lane 0 the sum of y's 8 lanes, as a tree: l+l₄, +l₂, +l₁.
// x is y's low half.
#define HSUM(y, x, t) \
	VEXTRACTF128 $1, y, t; \
	VADDPS t, x, x; \
	VMOVHLPS x, x, t; \
	VADDPS t, x, x; \
	VMOVSHDUP x, t; \
	VADDSS t, x, x

// EXPCORE(x, n, y, z): reduces x to r = x − n·ln2 with n = round(x·log2e), and leaves
// y = e^r (polynomial) and n as int32 lanes. z is scratch.
#define EXPCORE(x, n, y, z) \
	VMULPS log2e<>(SB), x, n; \
	VROUNDPS $0, n, n; \
	VFNMADD231PS ln2Hi<>(SB), n, x; \
	VFNMADD231PS ln2Lo<>(SB), n, x; \
	VCVTPS2DQ n, n; \
	VMULPS x, x, z; \
	VMOVUPS expP0<>(SB), y; \
	VFMADD213PS expP1<>(SB), x, y; \
	VFMADD213PS expP2<>(SB), x, y; \
	VFMADD213PS expP3<>(SB), x, y; \
	VFMADD213PS expP4<>(SB), x, y; \
	VFMADD213PS expP5<>(SB), x, y; \
	VFMADD213PS x, z, y; \
	VADDPS one<>(SB), y, y

// EXPNONPOS(x, n, y, z, m): x = e^x for x ≤ 0 or NaN; 0 below expMin.
#define EXPNONPOS(x, n, y, z, m) \
	VCMPPS $1, expMin<>(SB), x, m; \
	EXPCORE(x, n, y, z); \
	VPADDD int127<>(SB), n, n; \
	VPSLLD $23, n, n; \
	VMULPS n, y, x; \
	VANDNPS x, m, x

// EXP512(x, n, y, z, m, keep): EXPNONPOS on 16 lanes, in Z0–Z15 only (VZEROUPPER then leaves
// no dirty upper state for the SSE code around it), constants by embedded broadcast.
#define EXP512(x, n, y, z, m, keep) \
	VCMPPS.BCST $1, expMin<>(SB), x, m; \
	VMULPS.BCST log2e<>(SB), x, n; \
	VRNDSCALEPS $0, n, n; \
	VFNMADD231PS.BCST ln2Hi<>(SB), n, x; \
	VFNMADD231PS.BCST ln2Lo<>(SB), n, x; \
	VCVTPS2DQ n, n; \
	VMULPS x, x, z; \
	VBROADCASTSS expP0<>(SB), y; \
	VFMADD213PS.BCST expP1<>(SB), x, y; \
	VFMADD213PS.BCST expP2<>(SB), x, y; \
	VFMADD213PS.BCST expP3<>(SB), x, y; \
	VFMADD213PS.BCST expP4<>(SB), x, y; \
	VFMADD213PS.BCST expP5<>(SB), x, y; \
	VFMADD213PS x, z, y; \
	VADDPS.BCST one<>(SB), y, y; \
	VPADDD.BCST int127<>(SB), n, n; \
	VPSLLD $23, n, n; \
	VMULPS n, y, x; \
	KNOTW m, keep; \
	VMOVAPS.Z x, keep, x

// EXPF(x, n, y, z, m, g): x = e^x on the whole line: 0 below expMin, +Inf above expMax, NaN
// for NaN; 2^n applied as 2^(n>>1)·2^(n−n>>1).
#define EXPF(x, n, y, z, m, g) \
	VCMPPS $1, expMin<>(SB), x, m; \
	VCMPPS $0x1e, expMax<>(SB), x, g; \
	EXPCORE(x, n, y, z); \
	VPSRAD $1, n, z; \
	VPSUBD z, n, n; \
	VPADDD int127<>(SB), z, z; \
	VPSLLD $23, z, z; \
	VPADDD int127<>(SB), n, n; \
	VPSLLD $23, n, n; \
	VMULPS z, y, y; \
	VMULPS n, y, x; \
	VBLENDVPS g, posInf<>(SB), x, x; \
	VANDNPS x, m, x

// ERF(u, s, p, q): u = erf(u) on u clamped to [-4, 4] (NaN stays NaN).
#define ERF(u, s, p, q) \
	VMOVUPS erfHi<>(SB), p; \
	VMINPS u, p, u; \
	VMOVUPS erfLo<>(SB), p; \
	VMAXPS u, p, u; \
	VMULPS u, u, s; \
	VMOVUPS erfA0<>(SB), p; \
	VFMADD213PS erfA1<>(SB), s, p; \
	VFMADD213PS erfA2<>(SB), s, p; \
	VFMADD213PS erfA3<>(SB), s, p; \
	VFMADD213PS erfA4<>(SB), s, p; \
	VFMADD213PS erfA5<>(SB), s, p; \
	VFMADD213PS erfA6<>(SB), s, p; \
	VMULPS u, p, p; \
	VMOVUPS erfB0<>(SB), q; \
	VFMADD213PS erfB1<>(SB), s, q; \
	VFMADD213PS erfB2<>(SB), s, q; \
	VFMADD213PS erfB3<>(SB), s, q; \
	VFMADD213PS erfB4<>(SB), s, q; \
	VDIVPS q, p, u

// GELUV(v, u, s, p, q): u = GELU(v) = h·erf(v/√2) + h with h = v/2; v becomes h.
#define GELUV(v, u, s, p, q) \
	VMULPS invSqrt2<>(SB), v, u; \
	ERF(u, s, p, q); \
	VMULPS half<>(SB), v, v; \
	VFMADD213PS v, v, u

// GELUD(v, e, c, a, t1, t2, t3, t4): c = GELU'(v) = Φ(v) + v·φ(v) and e = erf(v/√2);
// v is kept.
#define GELUD(v, e, c, a, t1, t2, t3, t4) \
	VMULPS invSqrt2<>(SB), v, e; \
	ERF(e, t1, t2, t3); \
	VMOVUPS half<>(SB), c; \
	VFMADD213PS c, e, c; \
	VMULPS v, v, a; \
	VMULPS negHalf<>(SB), a, a; \
	EXPNONPOS(a, t1, t2, t3, t4); \
	VMULPS invSqrt2Pi<>(SB), a, a; \
	VFMADD231PS a, v, c

// func expAVX2(x *float32, n int)
TEXT ·expAVX2(SB), NOSPLIT, $0-16
	MOVQ x+0(FP), SI
	MOVQ n+8(FP), CX
exploop:
	CMPQ CX, $8
	JLT  exptail
	VMOVUPS (SI), Y0
	EXPF(Y0, Y1, Y2, Y3, Y4, Y5)
	VMOVUPS Y0, (SI)
	ADDQ $32, SI
	SUBQ $8, CX
	JMP  exploop
exptail:
	TESTQ CX, CX
	JZ    expdone
	TAILMASK(CX, AX, DX, Y15)
	VMASKMOVPS (SI), Y15, Y0
	EXPF(Y0, Y1, Y2, Y3, Y4, Y5)
	STORETAIL(Y0, X0, SI, CX, exp4, exp2, exp1)
expdone:
	VZEROUPPER
	RET

// func softmaxAVX2(y, x *float32, n int, scale float32)
TEXT ·softmaxAVX2(SB), NOSPLIT, $0-28
	MOVQ y+0(FP), DI
	MOVQ x+8(FP), SI
	MOVQ n+16(FP), CX
	VBROADCASTSS scale+24(FP), Y14
	MOVQ CX, BX
	ANDQ $7, BX        // tail length
	ANDQ $-8, CX       // whole vectors, in floats
	TAILMASK(BX, AX, DX, Y15)

	// Pass 1: the row maximum, in four accumulators.
	VMOVUPS negInf<>(SB), Y0
	VMOVAPS Y0, Y1
	VMOVAPS Y0, Y2
	VMOVAPS Y0, Y3
	MOVQ SI, AX
	MOVQ CX, R9
smmax4:
	CMPQ R9, $32
	JLT  smmax1
	VMAXPS (AX), Y0, Y0
	VMAXPS 32(AX), Y1, Y1
	VMAXPS 64(AX), Y2, Y2
	VMAXPS 96(AX), Y3, Y3
	ADDQ $128, AX
	SUBQ $32, R9
	JMP  smmax4
smmax1:
	TESTQ R9, R9
	JZ    smmaxtail
	VMAXPS (AX), Y0, Y0
	ADDQ $32, AX
	SUBQ $8, R9
	JMP  smmax1
smmaxtail:
	TESTQ BX, BX
	JZ    smmaxred
	VMASKMOVPS (AX), Y15, Y4
	VMOVUPS negInf<>(SB), Y5
	VBLENDVPS Y15, Y4, Y5, Y4
	VMAXPS Y4, Y0, Y0
smmaxred:
	VMAXPS Y1, Y0, Y0
	VMAXPS Y3, Y2, Y2
	VMAXPS Y2, Y0, Y0
	VPERM2F128 $1, Y0, Y0, Y1
	VMAXPS Y1, Y0, Y0
	VPERMILPS $0x4e, Y0, Y1
	VMAXPS Y1, Y0, Y0
	VPERMILPS $0xb1, Y0, Y1
	VMAXPS Y1, Y0, Y13 // the maximum in every lane

	// Pass 2: y = e^((x − max)·scale), summed into Y12.
	VXORPS Y12, Y12, Y12
	MOVQ SI, AX
	MOVQ DI, R10
	MOVQ CX, R9
smexp:
	TESTQ R9, R9
	JZ    smexptail
	VMOVUPS (AX), Y0
	VSUBPS Y13, Y0, Y0
	VMULPS Y14, Y0, Y0
	EXPNONPOS(Y0, Y1, Y2, Y3, Y4)
	VMOVUPS Y0, (R10)
	VADDPS Y0, Y12, Y12
	ADDQ $32, AX
	ADDQ $32, R10
	SUBQ $8, R9
	JMP  smexp
smexptail:
	TESTQ BX, BX
	JZ    smexpred
	VMASKMOVPS (AX), Y15, Y0
	VSUBPS Y13, Y0, Y0
	VMULPS Y14, Y0, Y0
	EXPNONPOS(Y0, Y1, Y2, Y3, Y4)
	VANDPS Y15, Y0, Y11 // kept for pass 3
	VADDPS Y11, Y12, Y12
smexpred:
	HSUM(Y12, X12, X0)
	VMOVSS one<>(SB), X1
	VDIVSS X12, X1, X1
	VBROADCASTSS X1, Y12 // 1/sum

	// Pass 3: y *= 1/sum.
	MOVQ DI, R10
	MOVQ CX, R9
smnorm:
	TESTQ R9, R9
	JZ    smnormtail
	VMULPS (R10), Y12, Y0
	VMOVUPS Y0, (R10)
	ADDQ $32, R10
	SUBQ $8, R9
	JMP  smnorm
smnormtail:
	TESTQ BX, BX
	JZ    smdone
	VMULPS Y11, Y12, Y0
	STORETAIL(Y0, X0, R10, BX, sm4, sm2, sm1)
smdone:
	VZEROUPPER
	RET

// func softmaxBackwardAVX2(dx, dy, y *float32, n int, scale, dot float32, add bool)
TEXT ·softmaxBackwardAVX2(SB), NOSPLIT, $0-41
	MOVQ dx+0(FP), DI
	MOVQ dy+8(FP), SI
	MOVQ y+16(FP), DX
	MOVQ n+24(FP), CX
	VBROADCASTSS scale+32(FP), Y14
	VBROADCASTSS dot+36(FP), Y13
	MOVBLZX add+40(FP), BX
smbloop:
	CMPQ CX, $8
	JLT  smbtail
	VMULPS (DX), Y14, Y0
	VMOVUPS (SI), Y1
	VSUBPS Y13, Y1, Y1
	TESTQ BX, BX
	JZ    smbset
	VFMADD213PS (DI), Y0, Y1
	JMP  smbstore
smbset:
	VMULPS Y0, Y1, Y1
smbstore:
	VMOVUPS Y1, (DI)
	ADDQ $32, DI
	ADDQ $32, SI
	ADDQ $32, DX
	SUBQ $8, CX
	JMP  smbloop
smbtail:
	TESTQ CX, CX
	JZ    smbdone
	TAILMASK(CX, AX, R8, Y15)
	VMASKMOVPS (DX), Y15, Y2
	VMULPS Y2, Y14, Y0
	VMASKMOVPS (SI), Y15, Y1
	VSUBPS Y13, Y1, Y1
	TESTQ BX, BX
	JZ    smbtailset
	VMASKMOVPS (DI), Y15, Y3
	VFMADD213PS Y3, Y0, Y1
	JMP  smbtailstore
smbtailset:
	VMULPS Y0, Y1, Y1
smbtailstore:
	STORETAIL(Y1, X1, DI, CX, smb4, smb2, smb1)
smbdone:
	VZEROUPPER
	RET

// func geluAVX2(y, x *float32, n int)
TEXT ·geluAVX2(SB), NOSPLIT, $0-24
	MOVQ y+0(FP), DI
	MOVQ x+8(FP), SI
	MOVQ n+16(FP), CX
geluloop:
	CMPQ CX, $8
	JLT  gelutail
	VMOVUPS (SI), Y0
	GELUV(Y0, Y1, Y2, Y3, Y4)
	VMOVUPS Y1, (DI)
	ADDQ $32, SI
	ADDQ $32, DI
	SUBQ $8, CX
	JMP  geluloop
gelutail:
	TESTQ CX, CX
	JZ    geludone
	TAILMASK(CX, AX, DX, Y15)
	VMASKMOVPS (SI), Y15, Y0
	GELUV(Y0, Y1, Y2, Y3, Y4)
	STORETAIL(Y1, X1, DI, CX, gelu4, gelu2, gelu1)
geludone:
	VZEROUPPER
	RET

// func biasGELUAVX2(x, bias *float32, n int)
TEXT ·biasGELUAVX2(SB), NOSPLIT, $0-24
	MOVQ x+0(FP), DI
	MOVQ bias+8(FP), SI
	MOVQ n+16(FP), CX
bgeluloop:
	CMPQ CX, $8
	JLT  bgelutail
	VMOVUPS (DI), Y0
	VADDPS (SI), Y0, Y0
	GELUV(Y0, Y1, Y2, Y3, Y4)
	VMOVUPS Y1, (DI)
	ADDQ $32, SI
	ADDQ $32, DI
	SUBQ $8, CX
	JMP  bgeluloop
bgelutail:
	TESTQ CX, CX
	JZ    bgeludone
	TAILMASK(CX, AX, DX, Y15)
	VMASKMOVPS (DI), Y15, Y0
	VMASKMOVPS (SI), Y15, Y5
	VADDPS Y5, Y0, Y0
	GELUV(Y0, Y1, Y2, Y3, Y4)
	STORETAIL(Y1, X1, DI, CX, bgelu4, bgelu2, bgelu1)
bgeludone:
	VZEROUPPER
	RET

// func geluDerivAVX2(y, d, x *float32, n int)
TEXT ·geluDerivAVX2(SB), NOSPLIT, $0-32
	MOVQ y+0(FP), DI
	MOVQ d+8(FP), DX
	MOVQ x+16(FP), SI
	MOVQ n+24(FP), CX
gdloop:
	CMPQ CX, $8
	JLT  gdtail
	VMOVUPS (SI), Y0
	GELUD(Y0, Y1, Y2, Y3, Y4, Y5, Y6, Y7)
	VMULPS half<>(SB), Y0, Y0
	VFMADD213PS Y0, Y0, Y1
	VMOVUPS Y1, (DI)
	VMOVUPS Y2, (DX)
	ADDQ $32, SI
	ADDQ $32, DI
	ADDQ $32, DX
	SUBQ $8, CX
	JMP  gdloop
gdtail:
	TESTQ CX, CX
	JZ    gddone
	TAILMASK(CX, AX, R8, Y15)
	VMASKMOVPS (SI), Y15, Y0
	GELUD(Y0, Y1, Y2, Y3, Y4, Y5, Y6, Y7)
	VMULPS half<>(SB), Y0, Y0
	VFMADD213PS Y0, Y0, Y1
	MOVQ CX, R9
	STORETAIL(Y1, X1, DI, CX, gdy4, gdy2, gdy1)
	STORETAIL(Y2, X2, DX, R9, gdd4, gdd2, gdd1)
gddone:
	VZEROUPPER
	RET

// func geluGradAVX2(dx, dy, x *float32, n int)
TEXT ·geluGradAVX2(SB), NOSPLIT, $0-32
	MOVQ dx+0(FP), DI
	MOVQ dy+8(FP), DX
	MOVQ x+16(FP), SI
	MOVQ n+24(FP), CX
ggloop:
	CMPQ CX, $8
	JLT  ggtail
	VMOVUPS (SI), Y0
	GELUD(Y0, Y1, Y2, Y3, Y4, Y5, Y6, Y7)
	VMOVUPS (DI), Y8
	VFMADD231PS (DX), Y2, Y8
	VMOVUPS Y8, (DI)
	ADDQ $32, SI
	ADDQ $32, DI
	ADDQ $32, DX
	SUBQ $8, CX
	JMP  ggloop
ggtail:
	TESTQ CX, CX
	JZ    ggdone
	TAILMASK(CX, AX, R8, Y15)
	VMASKMOVPS (SI), Y15, Y0
	GELUD(Y0, Y1, Y2, Y3, Y4, Y5, Y6, Y7)
	VMASKMOVPS (DI), Y15, Y8
	VMASKMOVPS (DX), Y15, Y9
	VFMADD231PS Y9, Y2, Y8
	STORETAIL(Y8, X8, DI, CX, gg4, gg2, gg1)
ggdone:
	VZEROUPPER
	RET

// The reductions below keep four vector accumulators over blocks of 32 floats, then add
// whole vectors and the masked tail into the first (generic.go's lanes and reduce32).

// func sumAVX2(x *float32, n int) float32
TEXT ·sumAVX2(SB), NOSPLIT, $0-20
	MOVQ x+0(FP), SI
	MOVQ n+8(FP), CX
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3
sum4:
	CMPQ CX, $32
	JLT  sum1
	VADDPS (SI), Y0, Y0
	VADDPS 32(SI), Y1, Y1
	VADDPS 64(SI), Y2, Y2
	VADDPS 96(SI), Y3, Y3
	ADDQ $128, SI
	SUBQ $32, CX
	JMP  sum4
sum1:
	CMPQ CX, $8
	JLT  sumtail
	VADDPS (SI), Y0, Y0
	ADDQ $32, SI
	SUBQ $8, CX
	JMP  sum1
sumtail:
	TESTQ CX, CX
	JZ    sumred
	TAILMASK(CX, AX, DX, Y15)
	VMASKMOVPS (SI), Y15, Y4
	VADDPS Y4, Y0, Y0
sumred:
	VADDPS Y1, Y0, Y0
	VADDPS Y3, Y2, Y2
	VADDPS Y2, Y0, Y0
	HSUM(Y0, X0, X1)
	VMOVSS X0, ret+16(FP)
	VZEROUPPER
	RET

// func dotAVX2(x, y *float32, n int) float32
TEXT ·dotAVX2(SB), NOSPLIT, $0-28
	MOVQ x+0(FP), SI
	MOVQ y+8(FP), DI
	MOVQ n+16(FP), CX
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3
dot4:
	CMPQ CX, $32
	JLT  dot1
	VMOVUPS (SI), Y4
	VMOVUPS 32(SI), Y5
	VMOVUPS 64(SI), Y6
	VMOVUPS 96(SI), Y7
	VFMADD231PS (DI), Y4, Y0
	VFMADD231PS 32(DI), Y5, Y1
	VFMADD231PS 64(DI), Y6, Y2
	VFMADD231PS 96(DI), Y7, Y3
	ADDQ $128, SI
	ADDQ $128, DI
	SUBQ $32, CX
	JMP  dot4
dot1:
	CMPQ CX, $8
	JLT  dottail
	VMOVUPS (SI), Y4
	VFMADD231PS (DI), Y4, Y0
	ADDQ $32, SI
	ADDQ $32, DI
	SUBQ $8, CX
	JMP  dot1
dottail:
	TESTQ CX, CX
	JZ    dotred
	TAILMASK(CX, AX, DX, Y15)
	VMASKMOVPS (SI), Y15, Y4
	VMASKMOVPS (DI), Y15, Y5
	VFMADD231PS Y5, Y4, Y0
dotred:
	VADDPS Y1, Y0, Y0
	VADDPS Y3, Y2, Y2
	VADDPS Y2, Y0, Y0
	HSUM(Y0, X0, X1)
	VMOVSS X0, ret+24(FP)
	VZEROUPPER
	RET

// CSUMS(off, d, a1, a2): d = x[off] − m0; a1 += d; a2 += d² (x at SI, m0 in Y12).
#define CSUMS(off, d, a1, a2) \
	VMOVUPS off(SI), d; \
	VSUBPS Y12, d, d; \
	VADDPS d, a1, a1; \
	VFMADD231PS d, d, a2

// LNSTATS(eps): from s1 in X0, s2 in X4 and n (float64) in X14, the float64 statistics
// c = s1/n into X1 and rstd = 1/√(max(s2/n − c², 0) + eps) as float32 into X3 (X2 and AX
// clobbered; a NaN variance stays NaN). Shared by both row kernels, which must agree bit for bit.
#define LNSTATS(eps) \
	VCVTSS2SD X0, X0, X1; \
	VDIVSD X14, X1, X1; \
	VCVTSS2SD X4, X4, X2; \
	VDIVSD X14, X2, X2; \
	VMULSD X1, X1, X3; \
	VSUBSD X3, X2, X2; \
	VXORPD X3, X3, X3; \
	VMAXSD X2, X3, X2; \
	VADDSD eps, X2, X2; \
	VSQRTSD X2, X2, X2; \
	MOVQ $0x3ff0000000000000, AX; \
	VMOVQ AX, X3; \
	VDIVSD X2, X3, X3; \
	VCVTSD2SS X3, X3, X3

// LNAPPLY(y, x, w, b): y = ((x − m0) − c)·rstd·w + b with m0, c, rstd in Y12, Y13, Y14.
#define LNAPPLY(y, x, w, b) \
	VSUBPS Y12, x, y; \
	VSUBPS Y13, y, y; \
	VMULPS Y14, y, y; \
	VFMADD213PS b, w, y

// func layerNormAVX2(y, x, w, b *float32, n int, nf, eps float64) (mean, rstd float32)
//
// Three passes over the row, as layerNormGo: m0 = Σx/n; s1 = Σ(x−m0), s2 = Σ(x−m0)²;
// c = s1/n, var = max(s2/n − c², 0) in float64; then y.
TEXT ·layerNormAVX2(SB), NOSPLIT, $0-64
	MOVQ x+8(FP), SI
	MOVQ n+32(FP), CX
	MOVQ CX, BX
	ANDQ $7, BX
	TAILMASK(BX, AX, DX, Y15)

	// Pass 1: Σx in four accumulators.
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3
	MOVQ CX, R9
lnsum4:
	CMPQ R9, $32
	JLT  lnsum1
	VADDPS (SI), Y0, Y0
	VADDPS 32(SI), Y1, Y1
	VADDPS 64(SI), Y2, Y2
	VADDPS 96(SI), Y3, Y3
	ADDQ $128, SI
	SUBQ $32, R9
	JMP  lnsum4
lnsum1:
	CMPQ R9, $8
	JLT  lnsumtail
	VADDPS (SI), Y0, Y0
	ADDQ $32, SI
	SUBQ $8, R9
	JMP  lnsum1
lnsumtail:
	TESTQ BX, BX
	JZ    lnsumred
	VMASKMOVPS (SI), Y15, Y4
	VADDPS Y4, Y0, Y0
lnsumred:
	VADDPS Y1, Y0, Y0
	VADDPS Y3, Y2, Y2
	VADDPS Y2, Y0, Y0
	HSUM(Y0, X0, X1)
	VMOVSD nf+40(FP), X14 // Y14 is free until rstd
	VCVTSD2SS X14, X14, X10
	VDIVSS X10, X0, X13 // m0 = Σx / float32(n)
	VBROADCASTSS X13, Y12

	// Pass 2: Σd and Σd², d = x − m0.
	MOVQ x+8(FP), SI
	MOVQ CX, R9
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3
	VXORPS Y4, Y4, Y4
	VXORPS Y5, Y5, Y5
	VXORPS Y6, Y6, Y6
	VXORPS Y7, Y7, Y7
lncs4:
	CMPQ R9, $32
	JLT  lncs1
	CSUMS(0, Y8, Y0, Y4)
	CSUMS(32, Y9, Y1, Y5)
	CSUMS(64, Y10, Y2, Y6)
	CSUMS(96, Y11, Y3, Y7)
	ADDQ $128, SI
	SUBQ $32, R9
	JMP  lncs4
lncs1:
	CMPQ R9, $8
	JLT  lncstail
	CSUMS(0, Y8, Y0, Y4)
	ADDQ $32, SI
	SUBQ $8, R9
	JMP  lncs1
lncstail:
	TESTQ BX, BX
	JZ    lncsred
	VMASKMOVPS (SI), Y15, Y8
	VSUBPS Y12, Y8, Y8
	VANDPS Y15, Y8, Y8
	VADDPS Y8, Y0, Y0
	VFMADD231PS Y8, Y8, Y4
lncsred:
	VADDPS Y1, Y0, Y0
	VADDPS Y3, Y2, Y2
	VADDPS Y2, Y0, Y0
	HSUM(Y0, X0, X1) // s1
	VADDPS Y5, Y4, Y4
	VADDPS Y7, Y6, Y6
	VADDPS Y6, Y4, Y4
	HSUM(Y4, X4, X5) // s2

	// Statistics in float64.
	LNSTATS(eps+48(FP))
	VMOVSS X3, rstd+60(FP)
	VBROADCASTSS X3, Y14
	VCVTSS2SD X13, X13, X4
	VADDSD X1, X4, X4
	VCVTSD2SS X4, X4, X4 // mean = m0 + c
	VMOVSS X4, mean+56(FP)
	VCVTSD2SS X1, X1, X1
	VBROADCASTSS X1, Y13 // c

	// Pass 3: y.
	MOVQ y+0(FP), DI
	MOVQ x+8(FP), SI
	MOVQ w+16(FP), DX
	MOVQ b+24(FP), R8
lnaloop:
	CMPQ CX, $8
	JLT  lnatail
	VMOVUPS (SI), Y0
	VMOVUPS (DX), Y1
	LNAPPLY(Y2, Y0, Y1, (R8))
	VMOVUPS Y2, (DI)
	ADDQ $32, DI
	ADDQ $32, SI
	ADDQ $32, DX
	ADDQ $32, R8
	SUBQ $8, CX
	JMP  lnaloop
lnatail:
	TESTQ BX, BX
	JZ    lnadone
	VMASKMOVPS (SI), Y15, Y0
	VMASKMOVPS (DX), Y15, Y1
	VMASKMOVPS (R8), Y15, Y3
	LNAPPLY(Y2, Y0, Y1, Y3)
	STORETAIL(Y2, X2, DI, BX, lna4, lna2, lna1)
lnadone:
	VZEROUPPER
	RET

// LNBSUMS(off, g, t, a1, a2): g = dy·w, t = (x − mean)·rstd; a1 += g; a2 += g·t
// (dy at SI, x at DI, w at DX; mean and rstd in Y12, Y13).
#define LNBSUMS(off, g, t, a1, a2) \
	VMOVUPS off(SI), g; \
	VMULPS off(DX), g, g; \
	VMOVUPS off(DI), t; \
	VSUBPS Y12, t, t; \
	VMULPS Y13, t, t; \
	VADDPS g, a1, a1; \
	VFMADD231PS t, g, a2

// LNBAPPLY(dx, dy, x, w, g, t): dx += rstd·((dy·w − mg) − t·mgx), t = (x − mean)·rstd
// (mean, rstd, mg, mgx in Y12, Y13, Y14, Y11).
#define LNBAPPLY(dx, dy, x, w, g, t) \
	VMULPS w, dy, g; \
	VSUBPS Y14, g, g; \
	VSUBPS Y12, x, t; \
	VMULPS Y13, t, t; \
	VFNMADD231PS Y11, t, g; \
	VFMADD231PS Y13, g, dx

// func layerNormBackwardAVX2(dx, dy, x, w *float32, n int, nf, mean, rstd float32)
//
// Two passes, as layerNormBackwardGo: Σg and Σg·x̂, then dx.
TEXT ·layerNormBackwardAVX2(SB), NOSPLIT, $0-52
	MOVQ dy+8(FP), SI
	MOVQ x+16(FP), DI
	MOVQ w+24(FP), DX
	MOVQ n+32(FP), CX
	VBROADCASTSS mean+44(FP), Y12
	VBROADCASTSS rstd+48(FP), Y13
	MOVQ CX, BX
	ANDQ $7, BX
	TAILMASK(BX, AX, R8, Y15)
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3
	VXORPS Y4, Y4, Y4
	VXORPS Y5, Y5, Y5
	VXORPS Y6, Y6, Y6
	VXORPS Y7, Y7, Y7
	MOVQ CX, R9
lnbs4:
	CMPQ R9, $32
	JLT  lnbs1
	LNBSUMS(0, Y8, Y9, Y0, Y4)
	LNBSUMS(32, Y10, Y11, Y1, Y5)
	LNBSUMS(64, Y8, Y9, Y2, Y6)
	LNBSUMS(96, Y10, Y11, Y3, Y7)
	ADDQ $128, SI
	ADDQ $128, DI
	ADDQ $128, DX
	SUBQ $32, R9
	JMP  lnbs4
lnbs1:
	CMPQ R9, $8
	JLT  lnbstail
	LNBSUMS(0, Y8, Y9, Y0, Y4)
	ADDQ $32, SI
	ADDQ $32, DI
	ADDQ $32, DX
	SUBQ $8, R9
	JMP  lnbs1
lnbstail:
	TESTQ BX, BX
	JZ    lnbsred
	VMASKMOVPS (SI), Y15, Y8
	VMASKMOVPS (DX), Y15, Y10
	VMULPS Y10, Y8, Y8
	VMASKMOVPS (DI), Y15, Y9
	VSUBPS Y12, Y9, Y9
	VMULPS Y13, Y9, Y9
	VANDPS Y15, Y9, Y9
	VADDPS Y8, Y0, Y0
	VFMADD231PS Y9, Y8, Y4
lnbsred:
	VADDPS Y1, Y0, Y0
	VADDPS Y3, Y2, Y2
	VADDPS Y2, Y0, Y0
	HSUM(Y0, X0, X1)
	VADDPS Y5, Y4, Y4
	VADDPS Y7, Y6, Y6
	VADDPS Y6, Y4, Y4
	HSUM(Y4, X4, X5)
	VMOVSS nf+40(FP), X6
	VDIVSS X6, X0, X0
	VBROADCASTSS X0, Y14 // mg = Σg/n
	VDIVSS X6, X4, X4
	VBROADCASTSS X4, Y11 // mgx = Σg·x̂/n

	MOVQ dx+0(FP), DI
	MOVQ dy+8(FP), SI
	MOVQ x+16(FP), DX
	MOVQ w+24(FP), R8
lnbaloop:
	CMPQ CX, $8
	JLT  lnbatail
	VMOVUPS (DI), Y0
	VMOVUPS (SI), Y1
	VMOVUPS (DX), Y2
	LNBAPPLY(Y0, Y1, Y2, (R8), Y3, Y4)
	VMOVUPS Y0, (DI)
	ADDQ $32, DI
	ADDQ $32, SI
	ADDQ $32, DX
	ADDQ $32, R8
	SUBQ $8, CX
	JMP  lnbaloop
lnbatail:
	TESTQ BX, BX
	JZ    lnbadone
	VMASKMOVPS (DI), Y15, Y0
	VMASKMOVPS (SI), Y15, Y1
	VMASKMOVPS (DX), Y15, Y2
	VMASKMOVPS (R8), Y15, Y5
	LNBAPPLY(Y0, Y1, Y2, Y5, Y3, Y4)
	STORETAIL(Y0, X0, DI, BX, lnba4, lnba2, lnba1)
lnbadone:
	VZEROUPPER
	RET

// func layerNormParamGradAVX2(dw, db, dy, x *float32, n int, mean, rstd float32)
TEXT ·layerNormParamGradAVX2(SB), NOSPLIT, $0-48
	MOVQ dw+0(FP), DI
	MOVQ db+8(FP), R8
	MOVQ dy+16(FP), SI
	MOVQ x+24(FP), DX
	MOVQ n+32(FP), CX
	VBROADCASTSS mean+40(FP), Y12
	VBROADCASTSS rstd+44(FP), Y13
lnploop:
	CMPQ CX, $8
	JLT  lnptail
	VMOVUPS (SI), Y0
	VMOVUPS (DX), Y1
	VSUBPS Y12, Y1, Y1
	VMULPS Y13, Y1, Y1
	VMOVUPS (DI), Y2
	VFMADD231PS Y1, Y0, Y2
	VMOVUPS Y2, (DI)
	VADDPS (R8), Y0, Y3
	VMOVUPS Y3, (R8)
	ADDQ $32, DI
	ADDQ $32, R8
	ADDQ $32, SI
	ADDQ $32, DX
	SUBQ $8, CX
	JMP  lnploop
lnptail:
	TESTQ CX, CX
	JZ    lnpdone
	TAILMASK(CX, AX, R9, Y15)
	VMASKMOVPS (SI), Y15, Y0
	VMASKMOVPS (DX), Y15, Y1
	VSUBPS Y12, Y1, Y1
	VMULPS Y13, Y1, Y1
	VMASKMOVPS (DI), Y15, Y2
	VFMADD231PS Y1, Y0, Y2
	VMASKMOVPS (R8), Y15, Y3
	VADDPS Y3, Y0, Y3
	MOVQ CX, R10
	STORETAIL(Y2, X2, DI, CX, lnpw4, lnpw2, lnpw1)
	STORETAIL(Y3, X3, R8, R10, lnpb4, lnpb2, lnpb1)
lnpdone:
	VZEROUPPER
	RET

// func axpyAVX2(alpha float32, x, y *float32, n int)
TEXT ·axpyAVX2(SB), NOSPLIT, $0-32
	VBROADCASTSS alpha+0(FP), Y14
	MOVQ x+8(FP), SI
	MOVQ y+16(FP), DI
	MOVQ n+24(FP), CX
axpy2:
	CMPQ CX, $16
	JLT  axpy1
	VMOVUPS (DI), Y0
	VMOVUPS 32(DI), Y1
	VFMADD231PS (SI), Y14, Y0
	VFMADD231PS 32(SI), Y14, Y1
	VMOVUPS Y0, (DI)
	VMOVUPS Y1, 32(DI)
	ADDQ $64, SI
	ADDQ $64, DI
	SUBQ $16, CX
	JMP  axpy2
axpy1:
	CMPQ CX, $8
	JLT  axpytail
	VMOVUPS (DI), Y0
	VFMADD231PS (SI), Y14, Y0
	VMOVUPS Y0, (DI)
	ADDQ $32, SI
	ADDQ $32, DI
	SUBQ $8, CX
axpytail:
	TESTQ CX, CX
	JZ    axpydone
	TAILMASK(CX, AX, DX, Y15)
	VMASKMOVPS (DI), Y15, Y0
	VMASKMOVPS (SI), Y15, Y1
	VFMADD231PS Y1, Y14, Y0
	STORETAIL(Y0, X0, DI, CX, axpy4, axpy2t, axpy1t)
axpydone:
	VZEROUPPER
	RET

// func addAVX2(dst, src *float32, n int)
TEXT ·addAVX2(SB), NOSPLIT, $0-24
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ n+16(FP), CX
add2:
	CMPQ CX, $16
	JLT  add1
	VMOVUPS (DI), Y0
	VMOVUPS 32(DI), Y1
	VADDPS (SI), Y0, Y0
	VADDPS 32(SI), Y1, Y1
	VMOVUPS Y0, (DI)
	VMOVUPS Y1, 32(DI)
	ADDQ $64, SI
	ADDQ $64, DI
	SUBQ $16, CX
	JMP  add2
add1:
	CMPQ CX, $8
	JLT  addtail
	VMOVUPS (DI), Y0
	VADDPS (SI), Y0, Y0
	VMOVUPS Y0, (DI)
	ADDQ $32, SI
	ADDQ $32, DI
	SUBQ $8, CX
addtail:
	TESTQ CX, CX
	JZ    adddone
	TAILMASK(CX, AX, DX, Y15)
	VMASKMOVPS (DI), Y15, Y0
	VMASKMOVPS (SI), Y15, Y1
	VADDPS Y1, Y0, Y0
	STORETAIL(Y0, X0, DI, CX, add4, add2t, add1t)
adddone:
	VZEROUPPER
	RET

// func mulAddAVX2(dst, a, b *float32, n int)
TEXT ·mulAddAVX2(SB), NOSPLIT, $0-32
	MOVQ dst+0(FP), DI
	MOVQ a+8(FP), SI
	MOVQ b+16(FP), DX
	MOVQ n+24(FP), CX
muladd1:
	CMPQ CX, $8
	JLT  muladdtail
	VMOVUPS (DI), Y0
	VMOVUPS (SI), Y1
	VFMADD231PS (DX), Y1, Y0
	VMOVUPS Y0, (DI)
	ADDQ $32, SI
	ADDQ $32, DI
	ADDQ $32, DX
	SUBQ $8, CX
	JMP  muladd1
muladdtail:
	TESTQ CX, CX
	JZ    muladddone
	TAILMASK(CX, AX, R8, Y15)
	VMASKMOVPS (DI), Y15, Y0
	VMASKMOVPS (SI), Y15, Y1
	VMASKMOVPS (DX), Y15, Y2
	VFMADD231PS Y2, Y1, Y0
	STORETAIL(Y0, X0, DI, CX, muladd4, muladd2, muladd1t)
muladddone:
	VZEROUPPER
	RET

// func scaleShiftReLUAVX2(x *float32, n int, scale, shift float32)
TEXT ·scaleShiftReLUAVX2(SB), NOSPLIT, $0-24
	MOVQ x+0(FP), DI
	MOVQ n+8(FP), CX
	VBROADCASTSS scale+16(FP), Y13
	VBROADCASTSS shift+20(FP), Y14
	VXORPS Y12, Y12, Y12
ssrloop:
	CMPQ CX, $8
	JLT  ssrtail
	VMOVUPS (DI), Y0
	VFMADD213PS Y14, Y13, Y0
	VMAXPS Y0, Y12, Y0
	VMOVUPS Y0, (DI)
	ADDQ $32, DI
	SUBQ $8, CX
	JMP  ssrloop
ssrtail:
	TESTQ CX, CX
	JZ    ssrdone
	TAILMASK(CX, AX, DX, Y15)
	VMASKMOVPS (DI), Y15, Y0
	VFMADD213PS Y14, Y13, Y0
	VMAXPS Y0, Y12, Y0
	STORETAIL(Y0, X0, DI, CX, ssr4, ssr2, ssr1)
ssrdone:
	VZEROUPPER
	RET

// func matMulAVX2(c *float32, ldc int, a *float32, rs, ks int, b *float32, ldb int, m, nb, k int)
//
// c (m × 8·nb, row stride ldc) = A (m × k) · b (k × 8·nb, ldb), k ≥ 1, m ≥ 1, nb ≥ 1, where
// A[i][p] = a[i·rs + p·ks]: a row-major (rs = lda, ks = 1; MatMul) or read down its columns
// (rs = 1, ks = lda; MatMulTN, attention's P·v over column-softmaxed scores). Four rows of A
// by two 8-column blocks of b at a time (eight accumulators), then by one block (four), then
// the remaining rows one at a time; every element sums p = 0..k-1 in order.
TEXT ·matMulAVX2(SB), NOSPLIT, $0-80
	MOVQ c+0(FP), DI
	MOVQ ldc+8(FP), R8
	MOVQ a+16(FP), SI
	MOVQ rs+24(FP), R9
	MOVQ ks+32(FP), R15
	MOVQ b+40(FP), DX
	MOVQ ldb+48(FP), R10
	MOVQ m+56(FP), R11
	MOVQ nb+64(FP), R13
	SHLQ $2, R8
	SHLQ $2, R9
	SHLQ $2, R15
	SHLQ $2, R10
	SHLQ $5, R13
mm4rows:
	CMPQ R11, $4
	JLT  mm1rows
	XORQ R12, R12
mm4pair:
	// Two column blocks at once while at least two remain: eight accumulators, each
	// broadcast of a serving two FMAs.
	LEAQ 32(R12), AX
	CMPQ AX, R13
	JGE  mm4block
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3
	VXORPS Y4, Y4, Y4
	VXORPS Y5, Y5, Y5
	VXORPS Y6, Y6, Y6
	VXORPS Y7, Y7, Y7
	MOVQ SI, AX
	LEAQ (SI)(R9*2), BX
	ADDQ R9, BX
	LEAQ (DX)(R12*1), CX
	MOVQ k+72(FP), R14
mm4pk:
	VMOVUPS      (CX), Y8
	VMOVUPS      32(CX), Y9
	VBROADCASTSS (AX), Y10
	VFMADD231PS  Y10, Y8, Y0
	VFMADD231PS  Y10, Y9, Y1
	VBROADCASTSS (AX)(R9*1), Y11
	VFMADD231PS  Y11, Y8, Y2
	VFMADD231PS  Y11, Y9, Y3
	VBROADCASTSS (AX)(R9*2), Y12
	VFMADD231PS  Y12, Y8, Y4
	VFMADD231PS  Y12, Y9, Y5
	VBROADCASTSS (BX), Y13
	VFMADD231PS  Y13, Y8, Y6
	VFMADD231PS  Y13, Y9, Y7
	ADDQ R15, AX
	ADDQ R15, BX
	ADDQ R10, CX
	DECQ R14
	JNZ  mm4pk
	LEAQ    (DI)(R12*1), AX
	VMOVUPS Y0, (AX)
	VMOVUPS Y1, 32(AX)
	VMOVUPS Y2, (AX)(R8*1)
	VMOVUPS Y3, 32(AX)(R8*1)
	VMOVUPS Y4, (AX)(R8*2)
	VMOVUPS Y5, 32(AX)(R8*2)
	LEAQ    (AX)(R8*2), BX
	VMOVUPS Y6, (BX)(R8*1)
	VMOVUPS Y7, 32(BX)(R8*1)
	ADDQ $64, R12
	JMP  mm4pair
mm4block:
	CMPQ R12, R13
	JGE  mm4next
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3
	MOVQ SI, AX
	LEAQ (SI)(R9*2), BX
	ADDQ R9, BX
	LEAQ (DX)(R12*1), CX
	MOVQ k+72(FP), R14
mm4k:
	VMOVUPS      (CX), Y4
	VBROADCASTSS (AX), Y5
	VFMADD231PS  Y5, Y4, Y0
	VBROADCASTSS (AX)(R9*1), Y6
	VFMADD231PS  Y6, Y4, Y1
	VBROADCASTSS (AX)(R9*2), Y7
	VFMADD231PS  Y7, Y4, Y2
	VBROADCASTSS (BX), Y8
	VFMADD231PS  Y8, Y4, Y3
	ADDQ R15, AX
	ADDQ R15, BX
	ADDQ R10, CX
	DECQ R14
	JNZ  mm4k
	LEAQ    (DI)(R12*1), AX
	VMOVUPS Y0, (AX)
	VMOVUPS Y1, (AX)(R8*1)
	VMOVUPS Y2, (AX)(R8*2)
	LEAQ    (AX)(R8*2), BX
	VMOVUPS Y3, (BX)(R8*1)
	ADDQ $32, R12
	JMP  mm4block
mm4next:
	LEAQ (SI)(R9*4), SI
	LEAQ (DI)(R8*4), DI
	SUBQ $4, R11
	JMP  mm4rows
mm1rows:
	TESTQ R11, R11
	JZ    mmdone
	XORQ  R12, R12
mm1block:
	VXORPS Y0, Y0, Y0
	MOVQ SI, AX
	LEAQ (DX)(R12*1), CX
	MOVQ k+72(FP), R14
mm1k:
	VBROADCASTSS (AX), Y5
	VFMADD231PS  (CX), Y5, Y0
	ADDQ R15, AX
	ADDQ R10, CX
	DECQ R14
	JNZ  mm1k
	VMOVUPS Y0, (DI)(R12*1)
	ADDQ $32, R12
	CMPQ R12, R13
	JLT  mm1block
	ADDQ R9, SI
	ADDQ R8, DI
	DECQ R11
	JMP  mm1rows
mmdone:
	VZEROUPPER
	RET

// HSUM4(a, b, c, d, xa, t): the four lanes of xa (a's low half) become the sums of the
// eight-lane accumulators a, b, c and d, each as ((l0+l1)+(l2+l3)) + ((l4+l5)+(l6+l7)); b, c
// and d and t are clobbered. The few-row kernels' reduction of four output columns.
#define HSUM4(a, b, c, d, xa, t) \
	VHADDPS b, a, a; \
	VHADDPS d, c, c; \
	VHADDPS c, a, a; \
	VEXTRACTF128 $1, a, t; \
	VADDPS t, xa, xa

// func matMulNT2AVX2(c0, c1, a0, a1, b *float32, ldb, nq, k int, acc bool)
//
// Rows c0 and c1 (4·nq values each) = (or += with acc) rows a0 and a1 (k values) times bᵀ,
// b being 4·nq rows of k values ldb apart; k is a multiple of 8. Four rows of b at a time
// against both rows of a (eight accumulators, six loads per eight FMAs, b never packed);
// each output sums its eight lanes as ((l0+l1)+(l2+l3)) + ((l4+l5)+(l6+l7)).
TEXT ·matMulNT2AVX2(SB), NOSPLIT, $0-65
	MOVQ c0+0(FP), DI
	MOVQ c1+8(FP), R8
	MOVQ a0+16(FP), SI
	MOVQ a1+24(FP), R9
	MOVQ b+32(FP), DX
	MOVQ ldb+40(FP), R10
	MOVQ nq+48(FP), R11
	MOVQ k+56(FP), R14
	MOVBQZX acc+64(FP), R15
	SHLQ $2, R10
	SHLQ $2, R14
nt2blk:
	MOVQ DX, BX
	LEAQ (DX)(R10*1), CX
	LEAQ (CX)(R10*1), R12
	LEAQ (R12)(R10*1), R13
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3
	VXORPS Y4, Y4, Y4
	VXORPS Y5, Y5, Y5
	VXORPS Y6, Y6, Y6
	VXORPS Y7, Y7, Y7
	XORQ AX, AX
nt2k:
	VMOVUPS (SI)(AX*1), Y8
	VMOVUPS (R9)(AX*1), Y9
	VMOVUPS (BX)(AX*1), Y10
	VFMADD231PS Y8, Y10, Y0
	VFMADD231PS Y9, Y10, Y4
	VMOVUPS (CX)(AX*1), Y11
	VFMADD231PS Y8, Y11, Y1
	VFMADD231PS Y9, Y11, Y5
	VMOVUPS (R12)(AX*1), Y10
	VFMADD231PS Y8, Y10, Y2
	VFMADD231PS Y9, Y10, Y6
	VMOVUPS (R13)(AX*1), Y11
	VFMADD231PS Y8, Y11, Y3
	VFMADD231PS Y9, Y11, Y7
	ADDQ $32, AX
	CMPQ AX, R14
	JLT  nt2k
	HSUM4(Y0, Y1, Y2, Y3, X0, X1)
	HSUM4(Y4, Y5, Y6, Y7, X4, X5)
	TESTQ R15, R15
	JZ    nt2store
	VADDPS (DI), X0, X0
	VADDPS (R8), X4, X4
nt2store:
	VMOVUPS X0, (DI)
	VMOVUPS X4, (R8)
	ADDQ $16, DI
	ADDQ $16, R8
	LEAQ (R13)(R10*1), DX
	DECQ R11
	JNZ  nt2blk
	VZEROUPPER
	RET

// func matMulNT1AVX2(c0, a0, b *float32, ldb, nq, k int, acc bool)
//
// matMulNT2AVX2 for one row.
TEXT ·matMulNT1AVX2(SB), NOSPLIT, $0-49
	MOVQ c0+0(FP), DI
	MOVQ a0+8(FP), SI
	MOVQ b+16(FP), DX
	MOVQ ldb+24(FP), R10
	MOVQ nq+32(FP), R11
	MOVQ k+40(FP), R14
	MOVBQZX acc+48(FP), R15
	SHLQ $2, R10
	SHLQ $2, R14
nt1blk:
	MOVQ DX, BX
	LEAQ (DX)(R10*1), CX
	LEAQ (CX)(R10*1), R12
	LEAQ (R12)(R10*1), R13
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3
	XORQ AX, AX
nt1k:
	VMOVUPS (SI)(AX*1), Y8
	VFMADD231PS (BX)(AX*1), Y8, Y0
	VFMADD231PS (CX)(AX*1), Y8, Y1
	VFMADD231PS (R12)(AX*1), Y8, Y2
	VFMADD231PS (R13)(AX*1), Y8, Y3
	ADDQ $32, AX
	CMPQ AX, R14
	JLT  nt1k
	HSUM4(Y0, Y1, Y2, Y3, X0, X1)
	TESTQ R15, R15
	JZ    nt1store
	VADDPS (DI), X0, X0
nt1store:
	VMOVUPS X0, (DI)
	ADDQ $16, DI
	LEAQ (R13)(R10*1), DX
	DECQ R11
	JNZ  nt1blk
	VZEROUPPER
	RET

// func matMulNT3AVX2(c *float32, ldc int, a *float32, lda int, b *float32, ldb, nq, k int, acc bool)
//
// matMulNT2AVX2 for three rows of a and c (ldc and lda apart): twelve accumulators, seven loads
// per twelve FMAs, so five rows of a late stage stream b twice (3 + 2), not three times.
TEXT ·matMulNT3AVX2(SB), NOSPLIT, $0-65
	MOVQ c+0(FP), DI
	MOVQ ldc+8(FP), R8
	MOVQ a+16(FP), SI
	MOVQ lda+24(FP), R9
	MOVQ b+32(FP), DX
	MOVQ ldb+40(FP), R10
	MOVQ nq+48(FP), R11
	MOVQ k+56(FP), R14
	MOVBQZX acc+64(FP), R15
	SHLQ $2, R8
	SHLQ $2, R9
	SHLQ $2, R10
	SHLQ $2, R14
nt3blk:
	MOVQ SI, AX
	MOVQ DX, BX
	LEAQ (DX)(R10*2), R12
	MOVQ R14, R13
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3
	VXORPS Y4, Y4, Y4
	VXORPS Y5, Y5, Y5
	VXORPS Y6, Y6, Y6
	VXORPS Y7, Y7, Y7
	VXORPS Y8, Y8, Y8
	VXORPS Y9, Y9, Y9
	VXORPS Y10, Y10, Y10
	VXORPS Y11, Y11, Y11
nt3k:
	VMOVUPS (AX), Y12
	VMOVUPS (AX)(R9*1), Y13
	VMOVUPS (AX)(R9*2), Y14
	VMOVUPS (BX), Y15
	VFMADD231PS Y12, Y15, Y0
	VFMADD231PS Y13, Y15, Y4
	VFMADD231PS Y14, Y15, Y8
	VMOVUPS (BX)(R10*1), Y15
	VFMADD231PS Y12, Y15, Y1
	VFMADD231PS Y13, Y15, Y5
	VFMADD231PS Y14, Y15, Y9
	VMOVUPS (R12), Y15
	VFMADD231PS Y12, Y15, Y2
	VFMADD231PS Y13, Y15, Y6
	VFMADD231PS Y14, Y15, Y10
	VMOVUPS (R12)(R10*1), Y15
	VFMADD231PS Y12, Y15, Y3
	VFMADD231PS Y13, Y15, Y7
	VFMADD231PS Y14, Y15, Y11
	ADDQ $32, AX
	ADDQ $32, BX
	ADDQ $32, R12
	SUBQ $32, R13
	JNZ  nt3k
	HSUM4(Y0, Y1, Y2, Y3, X0, X1)
	HSUM4(Y4, Y5, Y6, Y7, X4, X5)
	HSUM4(Y8, Y9, Y10, Y11, X8, X9)
	TESTQ R15, R15
	JZ    nt3store
	VADDPS (DI), X0, X0
	VADDPS (DI)(R8*1), X4, X4
	VADDPS (DI)(R8*2), X8, X8
nt3store:
	VMOVUPS X0, (DI)
	VMOVUPS X4, (DI)(R8*1)
	VMOVUPS X8, (DI)(R8*2)
	ADDQ $16, DI
	LEAQ (DX)(R10*4), DX
	DECQ R11
	JNZ  nt3blk
	VZEROUPPER
	RET

// func softmaxColsAVX2(m *float32, rows, nb, stride int, scale float32)
//
// Softmax with scale down each of the 8·nb columns of a rows × 8·nb matrix (row stride
// stride), eight columns at a time: the maximum, e^((x − max)·scale) and the sum are all
// lane-wise, so there are no horizontal reductions, and each lane sums its column top to
// bottom. rows ≥ 1, nb ≥ 1.
TEXT ·softmaxColsAVX2(SB), NOSPLIT, $0-36
	MOVQ m+0(FP), DI
	MOVQ rows+8(FP), R11
	MOVQ nb+16(FP), R13
	MOVQ stride+24(FP), R10
	VBROADCASTSS scale+32(FP), Y14
	SHLQ $2, R10
scblk:
	// Pass 1: the column maxima.
	VMOVUPS negInf<>(SB), Y13
	MOVQ DI, AX
	MOVQ R11, CX
scmax:
	VMAXPS (AX), Y13, Y13
	ADDQ R10, AX
	DECQ CX
	JNZ  scmax

	// Pass 2: e^((x − max)·scale) in place, summed into Y12.
	// Two rows per step, so two exp chains are in flight; the sum still adds row after row.
	VXORPS Y12, Y12, Y12
	MOVQ DI, AX
	MOVQ R11, CX
scexp2:
	CMPQ CX, $2
	JLT  scexp1
	VMOVUPS (AX), Y0
	VMOVUPS (AX)(R10*1), Y5
	VSUBPS Y13, Y0, Y0
	VSUBPS Y13, Y5, Y5
	VMULPS Y14, Y0, Y0
	VMULPS Y14, Y5, Y5
	EXPNONPOS(Y0, Y1, Y2, Y3, Y4)
	EXPNONPOS(Y5, Y6, Y7, Y8, Y9)
	VMOVUPS Y0, (AX)
	VMOVUPS Y5, (AX)(R10*1)
	VADDPS Y0, Y12, Y12
	VADDPS Y5, Y12, Y12
	LEAQ (AX)(R10*2), AX
	SUBQ $2, CX
	JMP  scexp2
scexp1:
	TESTQ CX, CX
	JZ    scexpdone
	VMOVUPS (AX), Y0
	VSUBPS Y13, Y0, Y0
	VMULPS Y14, Y0, Y0
	EXPNONPOS(Y0, Y1, Y2, Y3, Y4)
	VMOVUPS Y0, (AX)
	VADDPS Y0, Y12, Y12
scexpdone:

	// Pass 3: times 1/sum.
	VMOVUPS one<>(SB), Y1
	VDIVPS Y12, Y1, Y12
	MOVQ DI, AX
	MOVQ R11, CX
scnorm:
	VMULPS (AX), Y12, Y0
	VMOVUPS Y0, (AX)
	ADDQ R10, AX
	DECQ CX
	JNZ  scnorm

	ADDQ $32, DI
	DECQ R13
	JNZ  scblk
	VZEROUPPER
	RET

// func transpose8AVX2(dst *float32, ldd int, src *float32, lds int, nb int)
//
// nb 8×8 blocks down src (rows 8b…8b+7, columns 0…7) into dst (rows 0…7, columns 8b…8b+7):
// dst[j·ldd + 8b + i] = src[(8b+i)·lds + j]. Eight loads, the usual unpack / shuffle /
// 128-bit permute network, eight stores per block.
TEXT ·transpose8AVX2(SB), NOSPLIT, $0-40
	MOVQ dst+0(FP), DI
	MOVQ ldd+8(FP), R8
	MOVQ src+16(FP), SI
	MOVQ lds+24(FP), R9
	MOVQ nb+32(FP), CX
	SHLQ $2, R8
	SHLQ $2, R9
	LEAQ (R9)(R9*2), R10
	LEAQ (R8)(R8*2), R11
tr8:
	VMOVUPS (SI), Y0
	VMOVUPS (SI)(R9*1), Y1
	VMOVUPS (SI)(R9*2), Y2
	VMOVUPS (SI)(R10*1), Y3
	LEAQ    (SI)(R9*4), AX
	VMOVUPS (AX), Y4
	VMOVUPS (AX)(R9*1), Y5
	VMOVUPS (AX)(R9*2), Y6
	VMOVUPS (AX)(R10*1), Y7
	VUNPCKLPS Y1, Y0, Y8
	VUNPCKHPS Y1, Y0, Y9
	VUNPCKLPS Y3, Y2, Y10
	VUNPCKHPS Y3, Y2, Y11
	VUNPCKLPS Y5, Y4, Y12
	VUNPCKHPS Y5, Y4, Y13
	VUNPCKLPS Y7, Y6, Y14
	VUNPCKHPS Y7, Y6, Y15
	VSHUFPS $0x44, Y10, Y8, Y0
	VSHUFPS $0xEE, Y10, Y8, Y1
	VSHUFPS $0x44, Y11, Y9, Y2
	VSHUFPS $0xEE, Y11, Y9, Y3
	VSHUFPS $0x44, Y14, Y12, Y4
	VSHUFPS $0xEE, Y14, Y12, Y5
	VSHUFPS $0x44, Y15, Y13, Y6
	VSHUFPS $0xEE, Y15, Y13, Y7
	VPERM2F128 $0x20, Y4, Y0, Y8
	VPERM2F128 $0x20, Y5, Y1, Y9
	VPERM2F128 $0x20, Y6, Y2, Y10
	VPERM2F128 $0x20, Y7, Y3, Y11
	VPERM2F128 $0x31, Y4, Y0, Y12
	VPERM2F128 $0x31, Y5, Y1, Y13
	VPERM2F128 $0x31, Y6, Y2, Y14
	VPERM2F128 $0x31, Y7, Y3, Y15
	VMOVUPS Y8, (DI)
	VMOVUPS Y9, (DI)(R8*1)
	VMOVUPS Y10, (DI)(R8*2)
	VMOVUPS Y11, (DI)(R11*1)
	LEAQ    (DI)(R8*4), AX
	VMOVUPS Y12, (AX)
	VMOVUPS Y13, (AX)(R8*1)
	VMOVUPS Y14, (AX)(R8*2)
	VMOVUPS Y15, (AX)(R11*1)
	LEAQ (SI)(R9*8), SI
	ADDQ $32, DI
	DECQ CX
	JNZ  tr8
	VZEROUPPER
	RET

// func layerNormColsAVX2(t *float32, c int, w, b *float32, n, eps float32)
//
// LayerNorm of eight rows held transposed in t (c rows of 8 lanes: t[8j+l] is channel j of
// row l), in place, every step lane-wise: m0 = Σ/n, then c = Σ(x−m0)/n and
// var = max(Σ(x−m0)²/n − c², 0), rstd = 1/√(var+eps), y = ((x−m0)−c)·rstd·w + b.
TEXT ·layerNormColsAVX2(SB), NOSPLIT, $0-40
	MOVQ t+0(FP), DI
	MOVQ c+8(FP), CX
	MOVQ w+16(FP), SI
	MOVQ b+24(FP), DX
	VBROADCASTSS n+32(FP), Y15
	VBROADCASTSS eps+36(FP), Y14

	// Pass 1: m0 = Σx / n.
	VXORPS Y0, Y0, Y0
	MOVQ DI, AX
	MOVQ CX, R9
lnc1:
	VADDPS (AX), Y0, Y0
	ADDQ $32, AX
	DECQ R9
	JNZ  lnc1
	VDIVPS Y15, Y0, Y13 // m0

	// Pass 2: the shifted sums.
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	MOVQ DI, AX
	MOVQ CX, R9
lnc2:
	VMOVUPS (AX), Y3
	VSUBPS Y13, Y3, Y3
	VADDPS Y3, Y1, Y1
	VFMADD231PS Y3, Y3, Y2
	ADDQ $32, AX
	DECQ R9
	JNZ  lnc2
	VDIVPS Y15, Y1, Y12 // c
	VDIVPS Y15, Y2, Y2
	VMULPS Y12, Y12, Y3
	VSUBPS Y3, Y2, Y2
	VXORPS Y3, Y3, Y3
	VMAXPS Y3, Y2, Y2   // variance, clamped at 0
	VADDPS Y14, Y2, Y2
	VSQRTPS Y2, Y2
	VMOVUPS one<>(SB), Y3
	VDIVPS Y2, Y3, Y11  // rstd

	// Pass 3: normalise, scale, shift.
	MOVQ DI, AX
	MOVQ CX, R9
lnc3:
	VMOVUPS (AX), Y3
	VSUBPS Y13, Y3, Y3
	VSUBPS Y12, Y3, Y3
	VMULPS Y11, Y3, Y3
	VBROADCASTSS (SI), Y4
	VMULPS Y4, Y3, Y3
	VBROADCASTSS (DX), Y4
	VADDPS Y4, Y3, Y3
	VMOVUPS Y3, (AX)
	ADDQ $32, AX
	ADDQ $4, SI
	ADDQ $4, DX
	DECQ R9
	JNZ  lnc3
	VZEROUPPER
	RET

// func softmaxCols512(m *float32, rows, nb, stride int, scale float32)
//
// softmaxColsAVX2 on 16 columns at a time (nb blocks of 16), AVX-512.
TEXT ·softmaxCols512(SB), NOSPLIT, $0-36
	MOVQ m+0(FP), DI
	MOVQ rows+8(FP), R11
	MOVQ nb+16(FP), R13
	MOVQ stride+24(FP), R10
	VBROADCASTSS scale+32(FP), Z14
	SHLQ $2, R10
s5blk:
	VBROADCASTSS negInf<>(SB), Z13
	MOVQ DI, AX
	MOVQ R11, CX
s5max:
	VMAXPS (AX), Z13, Z13
	ADDQ R10, AX
	DECQ CX
	JNZ  s5max
	VXORPS Z12, Z12, Z12
	MOVQ DI, AX
	MOVQ R11, CX
s5exp2:
	CMPQ CX, $2
	JLT  s5exp1
	VMOVUPS (AX), Z0
	VMOVUPS (AX)(R10*1), Z5
	VSUBPS Z13, Z0, Z0
	VSUBPS Z13, Z5, Z5
	VMULPS Z14, Z0, Z0
	VMULPS Z14, Z5, Z5
	EXP512(Z0, Z1, Z2, Z3, K1, K2)
	EXP512(Z5, Z6, Z7, Z8, K3, K4)
	VMOVUPS Z0, (AX)
	VMOVUPS Z5, (AX)(R10*1)
	VADDPS Z0, Z12, Z12
	VADDPS Z5, Z12, Z12
	LEAQ (AX)(R10*2), AX
	SUBQ $2, CX
	JMP  s5exp2
s5exp1:
	TESTQ CX, CX
	JZ    s5expdone
	VMOVUPS (AX), Z0
	VSUBPS Z13, Z0, Z0
	VMULPS Z14, Z0, Z0
	EXP512(Z0, Z1, Z2, Z3, K1, K2)
	VMOVUPS Z0, (AX)
	VADDPS Z0, Z12, Z12
s5expdone:
	VBROADCASTSS one<>(SB), Z1
	VDIVPS Z12, Z1, Z12
	MOVQ DI, AX
	MOVQ R11, CX
s5norm:
	VMULPS (AX), Z12, Z0
	VMOVUPS Z0, (AX)
	ADDQ R10, AX
	DECQ CX
	JNZ  s5norm
	ADDQ $64, DI
	DECQ R13
	JNZ  s5blk
	VZEROUPPER
	RET

// ERF512(u, s, p, q, r): ERF on 16 lanes in Z0–Z15 only; the division p/q is a 14-bit
// reciprocal of q refined by one Newton step (q ≤ −0.0142 on the clamped range, so the
// quotient stays within an ulp or two of the divided one).
#define ERF512(u, s, p, q, r) \
	VBROADCASTSS erfHi<>(SB), p; \
	VMINPS u, p, u; \
	VBROADCASTSS erfLo<>(SB), p; \
	VMAXPS u, p, u; \
	VMULPS u, u, s; \
	VBROADCASTSS erfA0<>(SB), p; \
	VFMADD213PS.BCST erfA1<>(SB), s, p; \
	VFMADD213PS.BCST erfA2<>(SB), s, p; \
	VFMADD213PS.BCST erfA3<>(SB), s, p; \
	VFMADD213PS.BCST erfA4<>(SB), s, p; \
	VFMADD213PS.BCST erfA5<>(SB), s, p; \
	VFMADD213PS.BCST erfA6<>(SB), s, p; \
	VMULPS u, p, p; \
	VBROADCASTSS erfB0<>(SB), q; \
	VFMADD213PS.BCST erfB1<>(SB), s, q; \
	VFMADD213PS.BCST erfB2<>(SB), s, q; \
	VFMADD213PS.BCST erfB3<>(SB), s, q; \
	VFMADD213PS.BCST erfB4<>(SB), s, q; \
	VRCP14PS q, r; \
	VMULPS r, p, u; \
	VFNMADD213PS p, u, q; \
	VFMADD231PS q, r, u

// func biasGELU512(x, bias *float32, n int)
//
// biasGELUAVX2 on 16 lanes, the last n%16 under a mask; without a bias (nil) GELU in place.
TEXT ·biasGELU512(SB), NOSPLIT, $0-24
	MOVQ x+0(FP), DI
	MOVQ bias+8(FP), SI
	MOVQ n+16(FP), CX
bg5loop:
	CMPQ CX, $16
	JLT  bg5tail
	VMOVUPS (DI), Z0
	TESTQ SI, SI
	JZ   bg5nob
	VADDPS (SI), Z0, Z0
	ADDQ $64, SI
bg5nob:
	VMULPS.BCST invSqrt2<>(SB), Z0, Z1
	ERF512(Z1, Z2, Z3, Z4, Z5)
	VMULPS.BCST half<>(SB), Z0, Z0
	VFMADD213PS Z0, Z0, Z1
	VMOVUPS Z1, (DI)
	ADDQ $64, DI
	SUBQ $16, CX
	JMP  bg5loop
bg5tail:
	TESTQ CX, CX
	JZ    bg5done
	MOVL $1, AX
	SHLL CX, AX
	DECL AX
	KMOVW AX, K1
	VMOVUPS.Z (DI), K1, Z0
	TESTQ SI, SI
	JZ   bg5tnob
	VMOVUPS.Z (SI), K1, Z6
	VADDPS Z6, Z0, Z0
bg5tnob:
	VMULPS.BCST invSqrt2<>(SB), Z0, Z1
	ERF512(Z1, Z2, Z3, Z4, Z5)
	VMULPS.BCST half<>(SB), Z0, Z0
	VFMADD213PS Z0, Z0, Z1
	VMOVUPS Z1, K1, (DI)
bg5done:
	VZEROUPPER
	RET

// func attnD8AVX512(o, q *float32, idx *[32]int32, nq int, k, v *float32, ldkv, tok int, s *float32, scale float32)
//
// One head of attention with head dimension 8 for up to sixteen queries (one lane each),
// fused. Query l's 8 values are q[idx[l]+c] and its output o[idx[16+l]+c], for the first nq
// lanes (gathered and scattered; the other lanes compute on zeros and are not stored); k and v
// are tok rows of 8 (stride ldkv). Sᵀ[j] = Σc k[j][c]·q[c] (c in order, as matMulAVX2), then
// softmaxCols512 on the column — (Sᵀ − max)·scale, exp, sum over keys in order, times 1/sum —
// into s (tok × 16), then o[c] = Σj Sᵀ[j]·v[j][c] in key order (as matMulTNAVX2): the same
// operations per element, so the same bits as those kernels. Z0–Z15 only.
TEXT ·attnD8AVX512(SB), NOSPLIT, $0-76
	MOVQ q+8(FP), SI
	MOVQ idx+16(FP), DX
	MOVQ nq+24(FP), CX
	MOVL $1, AX
	SHLL CX, AX
	DECL AX
	MOVL AX, R14 // lane mask of the nq queries
	VMOVDQU32 (DX), Z15
	VXORPS Z0, Z0, Z0
	VXORPS Z1, Z1, Z1
	VXORPS Z2, Z2, Z2
	VXORPS Z3, Z3, Z3
	VXORPS Z4, Z4, Z4
	VXORPS Z5, Z5, Z5
	VXORPS Z6, Z6, Z6
	VXORPS Z7, Z7, Z7
	KMOVW R14, K1
	VGATHERDPS (SI)(Z15*4), K1, Z0
	KMOVW R14, K1
	VGATHERDPS 4(SI)(Z15*4), K1, Z1
	KMOVW R14, K1
	VGATHERDPS 8(SI)(Z15*4), K1, Z2
	KMOVW R14, K1
	VGATHERDPS 12(SI)(Z15*4), K1, Z3
	KMOVW R14, K1
	VGATHERDPS 16(SI)(Z15*4), K1, Z4
	KMOVW R14, K1
	VGATHERDPS 20(SI)(Z15*4), K1, Z5
	KMOVW R14, K1
	VGATHERDPS 24(SI)(Z15*4), K1, Z6
	KMOVW R14, K1
	VGATHERDPS 28(SI)(Z15*4), K1, Z7
	MOVQ k+32(FP), BX
	MOVQ ldkv+48(FP), R9
	SHLQ $2, R9
	MOVQ tok+56(FP), CX
	MOVQ s+64(FP), R10

	// Scores, and their running maximum per query.
	VBROADCASTSS negInf<>(SB), Z9
	MOVQ BX, AX
	MOVQ R10, R12
	MOVQ CX, R13
ad8score:
	VXORPS Z8, Z8, Z8
	VFMADD231PS.BCST (AX), Z0, Z8
	VFMADD231PS.BCST 4(AX), Z1, Z8
	VFMADD231PS.BCST 8(AX), Z2, Z8
	VFMADD231PS.BCST 12(AX), Z3, Z8
	VFMADD231PS.BCST 16(AX), Z4, Z8
	VFMADD231PS.BCST 20(AX), Z5, Z8
	VFMADD231PS.BCST 24(AX), Z6, Z8
	VFMADD231PS.BCST 28(AX), Z7, Z8
	VMOVUPS Z8, (R12)
	VMAXPS Z8, Z9, Z9
	ADDQ R9, AX
	ADDQ $64, R12
	DECQ R13
	JNZ  ad8score

	// exp((s − max)·scale) and its sum over keys, in key order.
	VBROADCASTSS scale+72(FP), Z14
	VXORPS Z12, Z12, Z12
	MOVQ R10, R12
	MOVQ CX, R13
ad8exp:
	VMOVUPS (R12), Z0
	VSUBPS Z9, Z0, Z0
	VMULPS Z14, Z0, Z0
	EXP512(Z0, Z1, Z2, Z3, K1, K2)
	VMOVUPS Z0, (R12)
	VADDPS Z0, Z12, Z12
	ADDQ $64, R12
	DECQ R13
	JNZ  ad8exp
	VBROADCASTSS one<>(SB), Z1
	VDIVPS Z12, Z1, Z12

	// o[c] = Σj (p[j]·(1/sum))·v[j][c].
	VXORPS Z0, Z0, Z0
	VXORPS Z1, Z1, Z1
	VXORPS Z2, Z2, Z2
	VXORPS Z3, Z3, Z3
	VXORPS Z4, Z4, Z4
	VXORPS Z5, Z5, Z5
	VXORPS Z6, Z6, Z6
	VXORPS Z7, Z7, Z7
	MOVQ v+40(FP), AX
	MOVQ R10, R12
	MOVQ CX, R13
ad8pv:
	VMULPS (R12), Z12, Z8
	VFMADD231PS.BCST (AX), Z8, Z0
	VFMADD231PS.BCST 4(AX), Z8, Z1
	VFMADD231PS.BCST 8(AX), Z8, Z2
	VFMADD231PS.BCST 12(AX), Z8, Z3
	VFMADD231PS.BCST 16(AX), Z8, Z4
	VFMADD231PS.BCST 20(AX), Z8, Z5
	VFMADD231PS.BCST 24(AX), Z8, Z6
	VFMADD231PS.BCST 28(AX), Z8, Z7
	ADDQ R9, AX
	ADDQ $64, R12
	DECQ R13
	JNZ  ad8pv
	MOVQ o+0(FP), DI
	VMOVDQU32 64(DX), Z15
	KMOVW R14, K1
	VSCATTERDPS Z0, K1, (DI)(Z15*4)
	KMOVW R14, K1
	VSCATTERDPS Z1, K1, 4(DI)(Z15*4)
	KMOVW R14, K1
	VSCATTERDPS Z2, K1, 8(DI)(Z15*4)
	KMOVW R14, K1
	VSCATTERDPS Z3, K1, 12(DI)(Z15*4)
	KMOVW R14, K1
	VSCATTERDPS Z4, K1, 16(DI)(Z15*4)
	KMOVW R14, K1
	VSCATTERDPS Z5, K1, 20(DI)(Z15*4)
	KMOVW R14, K1
	VSCATTERDPS Z6, K1, 24(DI)(Z15*4)
	KMOVW R14, K1
	VSCATTERDPS Z7, K1, 28(DI)(Z15*4)
	VZEROUPPER
	RET

// func layerNormRows512(y *float32, ldy int, x *float32, ldx int, rows, n int, w, b *float32, nf, eps float64)
//
// layerNormAVX2 for rows rows (strides ldy and ldx) in one call, on 16 lanes, with the same
// arithmetic lane for lane: the AVX2 kernel's four 8-lane accumulators Y0|Y1 and Y2|Y3 are
// the halves of Z0 and Z1 (Z2, Z3 for Σd²), an 8-float group past the last 32 goes into
// the low half only (mask K3), the n%8 tail under K4, and the halves are added in the AVX2
// order before the same HSUM — so every row's y is the bits layerNormAVX2 gives. Z0–Z15 only.
TEXT ·layerNormRows512(SB), NOSPLIT, $0-80
	MOVL $0xff, AX
	KMOVW AX, K3
	MOVQ n+40(FP), CX
	ANDQ $7, CX
	MOVQ CX, BX // n%8
	MOVL $1, AX
	SHLL CX, AX
	DECL AX
	KMOVW AX, K4
	MOVQ n+40(FP), CX
	ANDQ $15, CX
	MOVL $1, AX
	SHLL CX, AX
	DECL AX
	KMOVW AX, K5 // the n%16 tail of pass 3
	MOVQ n+40(FP), CX
	MOVQ rows+32(FP), R11
	MOVQ x+16(FP), R12
	MOVQ y+0(FP), R13
	MOVQ ldx+24(FP), R14
	SHLQ $2, R14
	MOVQ ldy+8(FP), R15
	SHLQ $2, R15
ln5row:
	// Pass 1: Σx.
	MOVQ R12, SI
	VXORPS Z0, Z0, Z0
	VXORPS Z1, Z1, Z1
	MOVQ CX, R9
ln5sum32:
	CMPQ R9, $32
	JLT  ln5sum8
	VADDPS (SI), Z0, Z0
	VADDPS 64(SI), Z1, Z1
	ADDQ $128, SI
	SUBQ $32, R9
	JMP  ln5sum32
ln5sum8:
	CMPQ R9, $8
	JLT  ln5sumtail
	VMOVUPS.Z (SI), K3, Z4
	VADDPS Z4, Z0, K3, Z0
	ADDQ $32, SI
	SUBQ $8, R9
	JMP  ln5sum8
ln5sumtail:
	TESTQ BX, BX
	JZ    ln5sumred
	VMOVUPS.Z (SI), K4, Z4
	VADDPS Z4, Z0, K3, Z0
ln5sumred:
	VEXTRACTF64X4 $1, Z0, Y4
	VADDPS Y4, Y0, Y0
	VEXTRACTF64X4 $1, Z1, Y5
	VADDPS Y5, Y1, Y1
	VADDPS Y1, Y0, Y0
	HSUM(Y0, X0, X1)
	VMOVSD nf+64(FP), X14
	VCVTSD2SS X14, X14, X10
	VDIVSS X10, X0, X13 // m0 = Σx / float32(n)
	VBROADCASTSS X13, Z12

	// Pass 2: Σd and Σd², d = x − m0.
	MOVQ R12, SI
	VXORPS Z0, Z0, Z0
	VXORPS Z1, Z1, Z1
	VXORPS Z2, Z2, Z2
	VXORPS Z3, Z3, Z3
	MOVQ CX, R9
ln5cs32:
	CMPQ R9, $32
	JLT  ln5cs8
	VMOVUPS (SI), Z8
	VSUBPS Z12, Z8, Z8
	VADDPS Z8, Z0, Z0
	VFMADD231PS Z8, Z8, Z2
	VMOVUPS 64(SI), Z9
	VSUBPS Z12, Z9, Z9
	VADDPS Z9, Z1, Z1
	VFMADD231PS Z9, Z9, Z3
	ADDQ $128, SI
	SUBQ $32, R9
	JMP  ln5cs32
ln5cs8:
	CMPQ R9, $8
	JLT  ln5cstail
	VMOVUPS.Z (SI), K3, Z8
	VSUBPS Z12, Z8, Z8
	VADDPS Z8, Z0, K3, Z0
	VFMADD231PS Z8, Z8, K3, Z2
	ADDQ $32, SI
	SUBQ $8, R9
	JMP  ln5cs8
ln5cstail:
	TESTQ BX, BX
	JZ    ln5csred
	VMOVUPS.Z (SI), K4, Z8
	VSUBPS Z12, Z8, Z8
	VMOVAPS.Z Z8, K4, Z8
	VADDPS Z8, Z0, K3, Z0
	VFMADD231PS Z8, Z8, K3, Z2
ln5csred:
	VEXTRACTF64X4 $1, Z0, Y8
	VADDPS Y8, Y0, Y0
	VEXTRACTF64X4 $1, Z1, Y9
	VADDPS Y9, Y1, Y1
	VADDPS Y1, Y0, Y0
	HSUM(Y0, X0, X1) // s1
	VEXTRACTF64X4 $1, Z2, Y8
	VADDPS Y8, Y2, Y4
	VEXTRACTF64X4 $1, Z3, Y9
	VADDPS Y9, Y3, Y5
	VADDPS Y5, Y4, Y4
	HSUM(Y4, X4, X5) // s2

	// Statistics in float64, as layerNormAVX2.
	LNSTATS(eps+72(FP))
	VBROADCASTSS X3, Z14
	VCVTSD2SS X1, X1, X1
	VBROADCASTSS X1, Z13 // c

	// Pass 3: y = ((x − m0) − c)·rstd·w + b.
	MOVQ R13, DI
	MOVQ R12, SI
	MOVQ w+48(FP), DX
	MOVQ b+56(FP), R8
	MOVQ CX, R9
ln5ap:
	CMPQ R9, $16
	JLT  ln5aptail
	VMOVUPS (SI), Z0
	VMOVUPS (DX), Z1
	VSUBPS Z12, Z0, Z2
	VSUBPS Z13, Z2, Z2
	VMULPS Z14, Z2, Z2
	VFMADD213PS (R8), Z1, Z2
	VMOVUPS Z2, (DI)
	ADDQ $64, DI
	ADDQ $64, SI
	ADDQ $64, DX
	ADDQ $64, R8
	SUBQ $16, R9
	JMP  ln5ap
ln5aptail:
	TESTQ R9, R9
	JZ    ln5apdone
	VMOVUPS.Z (SI), K5, Z0
	VMOVUPS.Z (DX), K5, Z1
	VMOVUPS.Z (R8), K5, Z3
	VSUBPS Z12, Z0, Z2
	VSUBPS Z13, Z2, Z2
	VMULPS Z14, Z2, Z2
	VFMADD213PS Z3, Z1, Z2
	VMOVUPS Z2, K5, (DI)
ln5apdone:
	ADDQ R14, R12
	ADDQ R15, R13
	DECQ R11
	JNZ  ln5row
	VZEROUPPER
	RET
