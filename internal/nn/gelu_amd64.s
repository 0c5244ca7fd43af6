#include "textflag.h"

// Code generated from internal/nn/fastmath.go's constants; 8 copies of each float32 so that
// AVX2 instructions can take them as memory operands.

DATA gc<>+0(SB)/4, $0x3f000000 // half
DATA gc<>+4(SB)/4, $0x3f000000 // 
DATA gc<>+8(SB)/4, $0x3f000000 // 
DATA gc<>+12(SB)/4, $0x3f000000 // 
DATA gc<>+16(SB)/4, $0x3f000000 // 
DATA gc<>+20(SB)/4, $0x3f000000 // 
DATA gc<>+24(SB)/4, $0x3f000000 // 
DATA gc<>+28(SB)/4, $0x3f000000 // 
DATA gc<>+32(SB)/4, $0x3f800000 // one
DATA gc<>+36(SB)/4, $0x3f800000 // 
DATA gc<>+40(SB)/4, $0x3f800000 // 
DATA gc<>+44(SB)/4, $0x3f800000 // 
DATA gc<>+48(SB)/4, $0x3f800000 // 
DATA gc<>+52(SB)/4, $0x3f800000 // 
DATA gc<>+56(SB)/4, $0x3f800000 // 
DATA gc<>+60(SB)/4, $0x3f800000 // 
DATA gc<>+64(SB)/4, $0x40800000 // four
DATA gc<>+68(SB)/4, $0x40800000 // 
DATA gc<>+72(SB)/4, $0x40800000 // 
DATA gc<>+76(SB)/4, $0x40800000 // 
DATA gc<>+80(SB)/4, $0x40800000 // 
DATA gc<>+84(SB)/4, $0x40800000 // 
DATA gc<>+88(SB)/4, $0x40800000 // 
DATA gc<>+92(SB)/4, $0x40800000 // 
DATA gc<>+96(SB)/4, $0xc0800000 // mfour
DATA gc<>+100(SB)/4, $0xc0800000 // 
DATA gc<>+104(SB)/4, $0xc0800000 // 
DATA gc<>+108(SB)/4, $0xc0800000 // 
DATA gc<>+112(SB)/4, $0xc0800000 // 
DATA gc<>+116(SB)/4, $0xc0800000 // 
DATA gc<>+120(SB)/4, $0xc0800000 // 
DATA gc<>+124(SB)/4, $0xc0800000 // 
DATA gc<>+128(SB)/4, $0x3f3504f3 // rsqrt2
DATA gc<>+132(SB)/4, $0x3f3504f3 // 
DATA gc<>+136(SB)/4, $0x3f3504f3 // 
DATA gc<>+140(SB)/4, $0x3f3504f3 // 
DATA gc<>+144(SB)/4, $0x3f3504f3 // 
DATA gc<>+148(SB)/4, $0x3f3504f3 // 
DATA gc<>+152(SB)/4, $0x3f3504f3 // 
DATA gc<>+156(SB)/4, $0x3f3504f3 // 
DATA gc<>+160(SB)/4, $0x3ecc422a // rsqrt2pi
DATA gc<>+164(SB)/4, $0x3ecc422a // 
DATA gc<>+168(SB)/4, $0x3ecc422a // 
DATA gc<>+172(SB)/4, $0x3ecc422a // 
DATA gc<>+176(SB)/4, $0x3ecc422a // 
DATA gc<>+180(SB)/4, $0x3ecc422a // 
DATA gc<>+184(SB)/4, $0x3ecc422a // 
DATA gc<>+188(SB)/4, $0x3ecc422a // 
DATA gc<>+192(SB)/4, $0xbf000000 // mhalf
DATA gc<>+196(SB)/4, $0xbf000000 // 
DATA gc<>+200(SB)/4, $0xbf000000 // 
DATA gc<>+204(SB)/4, $0xbf000000 // 
DATA gc<>+208(SB)/4, $0xbf000000 // 
DATA gc<>+212(SB)/4, $0xbf000000 // 
DATA gc<>+216(SB)/4, $0xbf000000 // 
DATA gc<>+220(SB)/4, $0xbf000000 // 
DATA gc<>+224(SB)/4, $0xaf95df0b // ep0
DATA gc<>+228(SB)/4, $0xaf95df0b // 
DATA gc<>+232(SB)/4, $0xaf95df0b // 
DATA gc<>+236(SB)/4, $0xaf95df0b // 
DATA gc<>+240(SB)/4, $0xaf95df0b // 
DATA gc<>+244(SB)/4, $0xaf95df0b // 
DATA gc<>+248(SB)/4, $0xaf95df0b // 
DATA gc<>+252(SB)/4, $0xaf95df0b // 
DATA gc<>+256(SB)/4, $0x32edffee // ep1
DATA gc<>+260(SB)/4, $0x32edffee // 
DATA gc<>+264(SB)/4, $0x32edffee // 
DATA gc<>+268(SB)/4, $0x32edffee // 
DATA gc<>+272(SB)/4, $0x32edffee // 
DATA gc<>+276(SB)/4, $0x32edffee // 
DATA gc<>+280(SB)/4, $0x32edffee // 
DATA gc<>+284(SB)/4, $0x32edffee // 
DATA gc<>+288(SB)/4, $0xb60cff51 // ep2
DATA gc<>+292(SB)/4, $0xb60cff51 // 
DATA gc<>+296(SB)/4, $0xb60cff51 // 
DATA gc<>+300(SB)/4, $0xb60cff51 // 
DATA gc<>+304(SB)/4, $0xb60cff51 // 
DATA gc<>+308(SB)/4, $0xb60cff51 // 
DATA gc<>+312(SB)/4, $0xb60cff51 // 
DATA gc<>+316(SB)/4, $0xb60cff51 // 
DATA gc<>+320(SB)/4, $0xb86ec2d2 // ep3
DATA gc<>+324(SB)/4, $0xb86ec2d2 // 
DATA gc<>+328(SB)/4, $0xb86ec2d2 // 
DATA gc<>+332(SB)/4, $0xb86ec2d2 // 
DATA gc<>+336(SB)/4, $0xb86ec2d2 // 
DATA gc<>+340(SB)/4, $0xb86ec2d2 // 
DATA gc<>+344(SB)/4, $0xb86ec2d2 // 
DATA gc<>+348(SB)/4, $0xb86ec2d2 // 
DATA gc<>+352(SB)/4, $0xba40ac63 // ep4
DATA gc<>+356(SB)/4, $0xba40ac63 // 
DATA gc<>+360(SB)/4, $0xba40ac63 // 
DATA gc<>+364(SB)/4, $0xba40ac63 // 
DATA gc<>+368(SB)/4, $0xba40ac63 // 
DATA gc<>+372(SB)/4, $0xba40ac63 // 
DATA gc<>+376(SB)/4, $0xba40ac63 // 
DATA gc<>+380(SB)/4, $0xba40ac63 // 
DATA gc<>+384(SB)/4, $0xbb41a1f6 // ep5
DATA gc<>+388(SB)/4, $0xbb41a1f6 // 
DATA gc<>+392(SB)/4, $0xbb41a1f6 // 
DATA gc<>+396(SB)/4, $0xbb41a1f6 // 
DATA gc<>+400(SB)/4, $0xbb41a1f6 // 
DATA gc<>+404(SB)/4, $0xbb41a1f6 // 
DATA gc<>+408(SB)/4, $0xbb41a1f6 // 
DATA gc<>+412(SB)/4, $0xbb41a1f6 // 
DATA gc<>+416(SB)/4, $0xbc83dbd4 // ep6
DATA gc<>+420(SB)/4, $0xbc83dbd4 // 
DATA gc<>+424(SB)/4, $0xbc83dbd4 // 
DATA gc<>+428(SB)/4, $0xbc83dbd4 // 
DATA gc<>+432(SB)/4, $0xbc83dbd4 // 
DATA gc<>+436(SB)/4, $0xbc83dbd4 // 
DATA gc<>+440(SB)/4, $0xbc83dbd4 // 
DATA gc<>+444(SB)/4, $0xbc83dbd4 // 
DATA gc<>+448(SB)/4, $0xb77460cd // eq0
DATA gc<>+452(SB)/4, $0xb77460cd // 
DATA gc<>+456(SB)/4, $0xb77460cd // 
DATA gc<>+460(SB)/4, $0xb77460cd // 
DATA gc<>+464(SB)/4, $0xb77460cd // 
DATA gc<>+468(SB)/4, $0xb77460cd // 
DATA gc<>+472(SB)/4, $0xb77460cd // 
DATA gc<>+476(SB)/4, $0xb77460cd // 
DATA gc<>+480(SB)/4, $0xb95fbd29 // eq1
DATA gc<>+484(SB)/4, $0xb95fbd29 // 
DATA gc<>+488(SB)/4, $0xb95fbd29 // 
DATA gc<>+492(SB)/4, $0xb95fbd29 // 
DATA gc<>+496(SB)/4, $0xb95fbd29 // 
DATA gc<>+500(SB)/4, $0xb95fbd29 // 
DATA gc<>+504(SB)/4, $0xb95fbd29 // 
DATA gc<>+508(SB)/4, $0xb95fbd29 // 
DATA gc<>+512(SB)/4, $0xbadc924e // eq2
DATA gc<>+516(SB)/4, $0xbadc924e // 
DATA gc<>+520(SB)/4, $0xbadc924e // 
DATA gc<>+524(SB)/4, $0xbadc924e // 
DATA gc<>+528(SB)/4, $0xbadc924e // 
DATA gc<>+532(SB)/4, $0xbadc924e // 
DATA gc<>+536(SB)/4, $0xbadc924e // 
DATA gc<>+540(SB)/4, $0xbadc924e // 
DATA gc<>+544(SB)/4, $0xbbf19bf8 // eq3
DATA gc<>+548(SB)/4, $0xbbf19bf8 // 
DATA gc<>+552(SB)/4, $0xbbf19bf8 // 
DATA gc<>+556(SB)/4, $0xbbf19bf8 // 
DATA gc<>+560(SB)/4, $0xbbf19bf8 // 
DATA gc<>+564(SB)/4, $0xbbf19bf8 // 
DATA gc<>+568(SB)/4, $0xbbf19bf8 // 
DATA gc<>+572(SB)/4, $0xbbf19bf8 // 
DATA gc<>+576(SB)/4, $0xbc69b6a7 // eq4
DATA gc<>+580(SB)/4, $0xbc69b6a7 // 
DATA gc<>+584(SB)/4, $0xbc69b6a7 // 
DATA gc<>+588(SB)/4, $0xbc69b6a7 // 
DATA gc<>+592(SB)/4, $0xbc69b6a7 // 
DATA gc<>+596(SB)/4, $0xbc69b6a7 // 
DATA gc<>+600(SB)/4, $0xbc69b6a7 // 
DATA gc<>+604(SB)/4, $0xbc69b6a7 // 
DATA gc<>+608(SB)/4, $0x3fb8aa3b // log2e
DATA gc<>+612(SB)/4, $0x3fb8aa3b // 
DATA gc<>+616(SB)/4, $0x3fb8aa3b // 
DATA gc<>+620(SB)/4, $0x3fb8aa3b // 
DATA gc<>+624(SB)/4, $0x3fb8aa3b // 
DATA gc<>+628(SB)/4, $0x3fb8aa3b // 
DATA gc<>+632(SB)/4, $0x3fb8aa3b // 
DATA gc<>+636(SB)/4, $0x3fb8aa3b // 
DATA gc<>+640(SB)/4, $0xc2ae0000 // m87
DATA gc<>+644(SB)/4, $0xc2ae0000 // 
DATA gc<>+648(SB)/4, $0xc2ae0000 // 
DATA gc<>+652(SB)/4, $0xc2ae0000 // 
DATA gc<>+656(SB)/4, $0xc2ae0000 // 
DATA gc<>+660(SB)/4, $0xc2ae0000 // 
DATA gc<>+664(SB)/4, $0xc2ae0000 // 
DATA gc<>+668(SB)/4, $0xc2ae0000 // 
DATA gc<>+672(SB)/4, $0x3f318000 // c1
DATA gc<>+676(SB)/4, $0x3f318000 // 
DATA gc<>+680(SB)/4, $0x3f318000 // 
DATA gc<>+684(SB)/4, $0x3f318000 // 
DATA gc<>+688(SB)/4, $0x3f318000 // 
DATA gc<>+692(SB)/4, $0x3f318000 // 
DATA gc<>+696(SB)/4, $0x3f318000 // 
DATA gc<>+700(SB)/4, $0x3f318000 // 
DATA gc<>+704(SB)/4, $0xb95e8083 // c2
DATA gc<>+708(SB)/4, $0xb95e8083 // 
DATA gc<>+712(SB)/4, $0xb95e8083 // 
DATA gc<>+716(SB)/4, $0xb95e8083 // 
DATA gc<>+720(SB)/4, $0xb95e8083 // 
DATA gc<>+724(SB)/4, $0xb95e8083 // 
DATA gc<>+728(SB)/4, $0xb95e8083 // 
DATA gc<>+732(SB)/4, $0xb95e8083 // 
DATA gc<>+736(SB)/4, $0x39506967 // xp0
DATA gc<>+740(SB)/4, $0x39506967 // 
DATA gc<>+744(SB)/4, $0x39506967 // 
DATA gc<>+748(SB)/4, $0x39506967 // 
DATA gc<>+752(SB)/4, $0x39506967 // 
DATA gc<>+756(SB)/4, $0x39506967 // 
DATA gc<>+760(SB)/4, $0x39506967 // 
DATA gc<>+764(SB)/4, $0x39506967 // 
DATA gc<>+768(SB)/4, $0x3ab743ce // xp1
DATA gc<>+772(SB)/4, $0x3ab743ce // 
DATA gc<>+776(SB)/4, $0x3ab743ce // 
DATA gc<>+780(SB)/4, $0x3ab743ce // 
DATA gc<>+784(SB)/4, $0x3ab743ce // 
DATA gc<>+788(SB)/4, $0x3ab743ce // 
DATA gc<>+792(SB)/4, $0x3ab743ce // 
DATA gc<>+796(SB)/4, $0x3ab743ce // 
DATA gc<>+800(SB)/4, $0x3c088908 // xp2
DATA gc<>+804(SB)/4, $0x3c088908 // 
DATA gc<>+808(SB)/4, $0x3c088908 // 
DATA gc<>+812(SB)/4, $0x3c088908 // 
DATA gc<>+816(SB)/4, $0x3c088908 // 
DATA gc<>+820(SB)/4, $0x3c088908 // 
DATA gc<>+824(SB)/4, $0x3c088908 // 
DATA gc<>+828(SB)/4, $0x3c088908 // 
DATA gc<>+832(SB)/4, $0x3d2aa9c1 // xp3
DATA gc<>+836(SB)/4, $0x3d2aa9c1 // 
DATA gc<>+840(SB)/4, $0x3d2aa9c1 // 
DATA gc<>+844(SB)/4, $0x3d2aa9c1 // 
DATA gc<>+848(SB)/4, $0x3d2aa9c1 // 
DATA gc<>+852(SB)/4, $0x3d2aa9c1 // 
DATA gc<>+856(SB)/4, $0x3d2aa9c1 // 
DATA gc<>+860(SB)/4, $0x3d2aa9c1 // 
DATA gc<>+864(SB)/4, $0x3e2aaaaa // xp4
DATA gc<>+868(SB)/4, $0x3e2aaaaa // 
DATA gc<>+872(SB)/4, $0x3e2aaaaa // 
DATA gc<>+876(SB)/4, $0x3e2aaaaa // 
DATA gc<>+880(SB)/4, $0x3e2aaaaa // 
DATA gc<>+884(SB)/4, $0x3e2aaaaa // 
DATA gc<>+888(SB)/4, $0x3e2aaaaa // 
DATA gc<>+892(SB)/4, $0x3e2aaaaa // 
DATA gc<>+896(SB)/4, $0x3f000000 // xp5
DATA gc<>+900(SB)/4, $0x3f000000 // 
DATA gc<>+904(SB)/4, $0x3f000000 // 
DATA gc<>+908(SB)/4, $0x3f000000 // 
DATA gc<>+912(SB)/4, $0x3f000000 // 
DATA gc<>+916(SB)/4, $0x3f000000 // 
DATA gc<>+920(SB)/4, $0x3f000000 // 
DATA gc<>+924(SB)/4, $0x3f000000 // 
DATA gc<>+928(SB)/4, $127
DATA gc<>+932(SB)/4, $127
DATA gc<>+936(SB)/4, $127
DATA gc<>+940(SB)/4, $127
DATA gc<>+944(SB)/4, $127
DATA gc<>+948(SB)/4, $127
DATA gc<>+952(SB)/4, $127
DATA gc<>+956(SB)/4, $127
GLOBL gc<>(SB), RODATA|NOPTR, $960

// func geluAVX2(y, d, x []float32)
// y = x·Φ(x), and d = Φ(x) + x·φ(x) unless d is empty; len(x) a multiple of 8, y and d at
// least as long. d may alias x: each block of 8 is loaded before anything is stored.
TEXT ·geluAVX2(SB), NOSPLIT, $0-72
	MOVQ y_base+0(FP), DI
	MOVQ d_base+24(FP), SI
	MOVQ d_len+32(FP), DX
	MOVQ x_base+48(FP), BX
	MOVQ x_len+56(FP), CX
	SHRQ $3, CX
	JZ   gdone

gloop:
	VMOVUPS      (BX), Y0            // v
	// erf(v/√2), v/√2 clamped to [-4, 4]
	VMULPS       gc<>+128(SB), Y0, Y1
	VMINPS       gc<>+64(SB), Y1, Y1
	VMAXPS       gc<>+96(SB), Y1, Y1
	VMULPS       Y1, Y1, Y2          // t²
	VMOVUPS      gc<>+224(SB), Y3
	VFMADD213PS  gc<>+256(SB), Y2, Y3
	VFMADD213PS  gc<>+288(SB), Y2, Y3
	VFMADD213PS  gc<>+320(SB), Y2, Y3
	VFMADD213PS  gc<>+352(SB), Y2, Y3
	VFMADD213PS  gc<>+384(SB), Y2, Y3
	VFMADD213PS  gc<>+416(SB), Y2, Y3
	VMULPS       Y1, Y3, Y3          // p·t
	VMOVUPS      gc<>+448(SB), Y4
	VFMADD213PS  gc<>+480(SB), Y2, Y4
	VFMADD213PS  gc<>+512(SB), Y2, Y4
	VFMADD213PS  gc<>+544(SB), Y2, Y4
	VFMADD213PS  gc<>+576(SB), Y2, Y4
	VDIVPS       Y4, Y3, Y3          // erf
	VADDPS       gc<>+32(SB), Y3, Y3
	VMULPS       gc<>+0(SB), Y3, Y3    // cdf
	VMULPS       Y3, Y0, Y5          // y = v·cdf
	TESTQ        DX, DX
	JZ           gstore

	// pdf: e^(−v²/2)/√(2π), the argument clamped at −87 and the result flushed below it
	VMULPS       Y0, Y0, Y6
	VMULPS       gc<>+192(SB), Y6, Y6   // a = −v²/2
	VMOVUPS      gc<>+640(SB), Y14
	VCMPPS       $1, Y14, Y6, Y13    // a < −87
	VMAXPS       Y14, Y6, Y6
	VMULPS       gc<>+608(SB), Y6, Y7
	VROUNDPS     $0, Y7, Y7          // n
	VFNMADD231PS gc<>+672(SB), Y7, Y6      // r = a − n·c1 − n·c2
	VFNMADD231PS gc<>+704(SB), Y7, Y6
	VMULPS       Y6, Y6, Y8          // r²
	VMOVUPS      gc<>+736(SB), Y9
	VFMADD213PS  gc<>+768(SB), Y6, Y9
	VFMADD213PS  gc<>+800(SB), Y6, Y9
	VFMADD213PS  gc<>+832(SB), Y6, Y9
	VFMADD213PS  gc<>+864(SB), Y6, Y9
	VFMADD213PS  gc<>+896(SB), Y6, Y9
	VFMADD213PS  Y6, Y8, Y9          // ·r² + r
	VADDPS       gc<>+32(SB), Y9, Y9
	VCVTPS2DQ    Y7, Y10
	VPADDD       gc<>+928(SB), Y10, Y10
	VPSLLD       $23, Y10, Y10
	VMULPS       Y10, Y9, Y9         // e^a
	VANDNPS      Y9, Y13, Y9
	VMULPS       gc<>+160(SB), Y9, Y9 // pdf
	VFMADD213PS  Y3, Y0, Y9          // d = v·pdf + cdf
	VMOVUPS      Y9, (SI)
	ADDQ         $32, SI

gstore:
	VMOVUPS      Y5, (DI)
	ADDQ         $32, DI
	ADDQ         $32, BX
	DECQ         CX
	JNZ          gloop
	VZEROUPPER

gdone:
	RET
