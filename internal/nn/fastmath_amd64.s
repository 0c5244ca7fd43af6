#include "textflag.h"

// Constants of expNeg (fastmath.go), as float32 bit patterns.
DATA expc<>+0(SB)/4, $0x3fb8aa3b  // log2(e)
DATA expc<>+4(SB)/4, $0xc2ae0000  // -87: below, the result is flushed to 0
DATA expc<>+8(SB)/4, $0x3f318000  // ln2, high part
DATA expc<>+12(SB)/4, $0xb95e8083 // ln2, low part (negated)
DATA expc<>+16(SB)/4, $0x39506967 // polynomial p0 … p5
DATA expc<>+20(SB)/4, $0x3ab743ce
DATA expc<>+24(SB)/4, $0x3c088908
DATA expc<>+28(SB)/4, $0x3d2aa9c1
DATA expc<>+32(SB)/4, $0x3e2aaaaa
DATA expc<>+36(SB)/4, $0x3f000000
DATA expc<>+40(SB)/4, $0x3f800000 // 1
DATA expc<>+44(SB)/4, $127        // exponent bias (int32)
GLOBL expc<>(SB), RODATA|NOPTR, $48

// func expNegAVX2(x []float32)
TEXT ·expNegAVX2(SB), NOSPLIT, $0-24
	MOVQ x_base+0(FP), DI
	MOVQ x_len+8(FP), CX
	SHRQ $3, CX
	JZ   done

	VBROADCASTSS expc<>+0(SB), Y15  // log2e
	VBROADCASTSS expc<>+4(SB), Y14  // -87
	VBROADCASTSS expc<>+8(SB), Y12  // c1
	VBROADCASTSS expc<>+12(SB), Y11 // c2
	VBROADCASTSS expc<>+20(SB), Y10 // p1
	VBROADCASTSS expc<>+24(SB), Y9  // p2
	VBROADCASTSS expc<>+28(SB), Y8  // p3
	VBROADCASTSS expc<>+32(SB), Y7  // p4
	VBROADCASTSS expc<>+36(SB), Y6  // p5
	VBROADCASTSS expc<>+40(SB), Y5  // 1

loop:
	VMOVUPS      (DI), Y0
	VCMPPS       $1, Y14, Y0, Y13     // Y13 = x < -87
	VMAXPS       Y14, Y0, Y0          // clamp
	VMULPS       Y15, Y0, Y1          // x·log2e
	VROUNDPS     $0, Y1, Y1           // n = round(x·log2e)
	VFNMADD231PS Y12, Y1, Y0          // r = x − n·c1
	VFNMADD231PS Y11, Y1, Y0          // r −= n·c2
	VMULPS       Y0, Y0, Y2           // z = r²
	VBROADCASTSS expc<>+16(SB), Y3    // y = p0
	VFMADD213PS  Y10, Y0, Y3          // y = y·r + p1
	VFMADD213PS  Y9, Y0, Y3
	VFMADD213PS  Y8, Y0, Y3
	VFMADD213PS  Y7, Y0, Y3
	VFMADD213PS  Y6, Y0, Y3           // … + p5
	VFMADD213PS  Y0, Y2, Y3           // y = y·z + r
	VADDPS       Y5, Y3, Y3           // y += 1
	VCVTPS2DQ    Y1, Y4               // 2^n: (n + 127) << 23
	VPBROADCASTD expc<>+44(SB), Y2
	VPADDD       Y2, Y4, Y4
	VPSLLD       $23, Y4, Y4
	VMULPS       Y4, Y3, Y3
	VANDNPS      Y3, Y13, Y3          // flush where x < -87
	VMOVUPS      Y3, (DI)
	ADDQ         $32, DI
	DECQ         CX
	JNZ          loop
	VZEROUPPER

done:
	RET

DATA sc<>+0(SB)/4, $0x3f800000 // 1
DATA sc<>+4(SB)/4, $0x3f800000
DATA sc<>+8(SB)/4, $0x3f800000
DATA sc<>+12(SB)/4, $0x3f800000
DATA sc<>+16(SB)/4, $0x3f800000
DATA sc<>+20(SB)/4, $0x3f800000
DATA sc<>+24(SB)/4, $0x3f800000
DATA sc<>+28(SB)/4, $0x3f800000
DATA sc<>+32(SB)/4, $0xc2ae0000 // -87
DATA sc<>+36(SB)/4, $0xc2ae0000
DATA sc<>+40(SB)/4, $0xc2ae0000
DATA sc<>+44(SB)/4, $0xc2ae0000
DATA sc<>+48(SB)/4, $0xc2ae0000
DATA sc<>+52(SB)/4, $0xc2ae0000
DATA sc<>+56(SB)/4, $0xc2ae0000
DATA sc<>+60(SB)/4, $0xc2ae0000
GLOBL sc<>(SB), RODATA|NOPTR, $64

// func maxAVX2(x []float32) float32
// The maximum of x; len(x) must be a positive multiple of 8.
TEXT ·maxAVX2(SB), NOSPLIT, $0-28
	MOVQ         x_base+0(FP), DI
	MOVQ         x_len+8(FP), CX
	SHRQ         $3, CX
	VMOVUPS      (DI), Y0
	ADDQ         $32, DI
	DECQ         CX
	JZ           mreduce

mloop:
	VMAXPS       (DI), Y0, Y0
	ADDQ         $32, DI
	DECQ         CX
	JNZ          mloop

mreduce:
	VEXTRACTF128 $1, Y0, X1
	VMAXPS       X1, X0, X0
	VPERMILPS    $0x4e, X0, X1
	VMAXPS       X1, X0, X0
	VPERMILPS    $0xb1, X0, X1
	VMAXPS       X1, X0, X0
	VZEROUPPER
	MOVSS        X0, ret+24(FP)
	RET

// func expSubSumAVX2(x []float32, sub float32) float32
// x[i] = e^(x[i] − sub) for x[i] ≤ sub (expNeg's method) and returns the sum of the results;
// len(x) must be a multiple of 8.
TEXT ·expSubSumAVX2(SB), NOSPLIT, $0-36
	MOVQ         x_base+0(FP), DI
	MOVQ         x_len+8(FP), CX
	VBROADCASTSS sub+24(FP), Y5
	VXORPS       Y14, Y14, Y14        // running sum
	SHRQ         $3, CX
	JZ           sdone

	VBROADCASTSS expc<>+0(SB), Y15    // log2e
	VBROADCASTSS expc<>+8(SB), Y12    // c1
	VBROADCASTSS expc<>+12(SB), Y11   // c2
	VBROADCASTSS expc<>+20(SB), Y10   // p1
	VBROADCASTSS expc<>+24(SB), Y9    // p2
	VBROADCASTSS expc<>+28(SB), Y8    // p3
	VBROADCASTSS expc<>+32(SB), Y7    // p4
	VBROADCASTSS expc<>+36(SB), Y6    // p5

sloop:
	VMOVUPS      (DI), Y0
	VSUBPS       Y5, Y0, Y0           // x − sub
	VCMPPS       $1, sc<>+32(SB), Y0, Y13
	VMAXPS       sc<>+32(SB), Y0, Y0
	VMULPS       Y15, Y0, Y1
	VROUNDPS     $0, Y1, Y1
	VFNMADD231PS Y12, Y1, Y0
	VFNMADD231PS Y11, Y1, Y0
	VMULPS       Y0, Y0, Y2
	VBROADCASTSS expc<>+16(SB), Y3
	VFMADD213PS  Y10, Y0, Y3
	VFMADD213PS  Y9, Y0, Y3
	VFMADD213PS  Y8, Y0, Y3
	VFMADD213PS  Y7, Y0, Y3
	VFMADD213PS  Y6, Y0, Y3
	VFMADD213PS  Y0, Y2, Y3
	VADDPS       sc<>+0(SB), Y3, Y3
	VCVTPS2DQ    Y1, Y4
	VPBROADCASTD expc<>+44(SB), Y2
	VPADDD       Y2, Y4, Y4
	VPSLLD       $23, Y4, Y4
	VMULPS       Y4, Y3, Y3
	VANDNPS      Y3, Y13, Y3
	VMOVUPS      Y3, (DI)
	VADDPS       Y3, Y14, Y14
	ADDQ         $32, DI
	DECQ         CX
	JNZ          sloop

sdone:
	VEXTRACTF128 $1, Y14, X1
	VADDPS       X1, X14, X0
	VPERMILPS    $0x4e, X0, X1
	VADDPS       X1, X0, X0
	VPERMILPS    $0xb1, X0, X1
	VADDPS       X1, X0, X0
	VZEROUPPER
	MOVSS        X0, ret+32(FP)
	RET
