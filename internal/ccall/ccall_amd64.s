//go:build amd64 && linux

#include "textflag.h"
#include "go_asm.h"

// callSysV(frame *Frame) is entered from runtime.asmcgocall on the system stack with the C
// calling convention: DI holds the frame and SP+8 is 16-byte aligned. It loads the arguments,
// calls frame.fn and stores RAX and XMM0 back into the frame. It touches only registers a C
// function may clobber (callee-saved BX, BP, R12–R15 are left alone; the assembler saves BP).
//
// The 144-byte frame holds the 16 outgoing stack slots at 0(SP) and the saved frame pointer at
// 128(SP); with the 8 bytes the assembler adds for BP, SP stays 16-byte aligned at the CALL.
TEXT callSysV<>(SB), NOSPLIT, $144
	MOVQ DI, 128(SP)
	MOVQ DI, R11

	MOVQ (Frame_stack+0*8)(R11), AX
	MOVQ AX, 0*8(SP)
	MOVQ (Frame_stack+1*8)(R11), AX
	MOVQ AX, 1*8(SP)
	MOVQ (Frame_stack+2*8)(R11), AX
	MOVQ AX, 2*8(SP)
	MOVQ (Frame_stack+3*8)(R11), AX
	MOVQ AX, 3*8(SP)
	MOVQ (Frame_stack+4*8)(R11), AX
	MOVQ AX, 4*8(SP)
	MOVQ (Frame_stack+5*8)(R11), AX
	MOVQ AX, 5*8(SP)
	MOVQ (Frame_stack+6*8)(R11), AX
	MOVQ AX, 6*8(SP)
	MOVQ (Frame_stack+7*8)(R11), AX
	MOVQ AX, 7*8(SP)
	MOVQ (Frame_stack+8*8)(R11), AX
	MOVQ AX, 8*8(SP)
	MOVQ (Frame_stack+9*8)(R11), AX
	MOVQ AX, 9*8(SP)
	MOVQ (Frame_stack+10*8)(R11), AX
	MOVQ AX, 10*8(SP)
	MOVQ (Frame_stack+11*8)(R11), AX
	MOVQ AX, 11*8(SP)
	MOVQ (Frame_stack+12*8)(R11), AX
	MOVQ AX, 12*8(SP)
	MOVQ (Frame_stack+13*8)(R11), AX
	MOVQ AX, 13*8(SP)
	MOVQ (Frame_stack+14*8)(R11), AX
	MOVQ AX, 14*8(SP)
	MOVQ (Frame_stack+15*8)(R11), AX
	MOVQ AX, 15*8(SP)

	MOVQ (Frame_floats+0*8)(R11), X0
	MOVQ (Frame_floats+1*8)(R11), X1
	MOVQ (Frame_floats+2*8)(R11), X2
	MOVQ (Frame_floats+3*8)(R11), X3
	MOVQ (Frame_floats+4*8)(R11), X4
	MOVQ (Frame_floats+5*8)(R11), X5
	MOVQ (Frame_floats+6*8)(R11), X6
	MOVQ (Frame_floats+7*8)(R11), X7

	MOVQ (Frame_ints+1*8)(R11), SI
	MOVQ (Frame_ints+2*8)(R11), DX
	MOVQ (Frame_ints+3*8)(R11), CX
	MOVQ (Frame_ints+4*8)(R11), R8
	MOVQ (Frame_ints+5*8)(R11), R9
	MOVQ (Frame_ints+0*8)(R11), DI
	MOVQ Frame_nFloat(R11), AX
	MOVQ Frame_fn(R11), R10
	CALL R10

	MOVQ 128(SP), R11
	MOVQ AX, Frame_ret(R11)
	MOVQ X0, Frame_retFloat(R11)
	RET

GLOBL ·callSysVABI0(SB), NOPTR|RODATA, $8
DATA ·callSysVABI0(SB)/8, $callSysV<>(SB)
