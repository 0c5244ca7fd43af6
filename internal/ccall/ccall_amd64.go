//go:build amd64 && linux

package ccall

import (
	"math"
	"unsafe"

	// purego sets up the runtime for C calls (fakecgo) when built with CGO_ENABLED=0;
	// without it runtime.cgocall throws "cgocall unavailable".
	_ "github.com/ebitengine/purego"
)

// Supported says whether Frame.Call works on this platform.
const Supported = true

// Capacities of a Frame. System V passes the first six integer-class arguments in RDI, RSI,
// RDX, RCX, R8, R9 and the first eight floating-point ones in XMM0–XMM7; the rest go on the
// stack, in order, one 8-byte slot each. cublasSgemmStridedBatched, the widest call this
// project makes, puts 12 on the stack.
const (
	intRegs   = 6
	floatRegs = 8
	// MaxStack is how many arguments may go on the C stack.
	MaxStack = 16
	// MaxPointers is how many pointer arguments one call may take.
	MaxPointers = 8
)

// Frame is the argument block of one C call. Build it on the stack with New, add the
// arguments in the C prototype's order, then Call:
//
//	f := ccall.New(fn)
//	f.Ptr(unsafe.Pointer(&buf[0]))
//	f.Int(int64(len(buf)))
//	n := f.Call()
//
// The fields up to ret are read and written by the trampoline (ccall_amd64.s), which finds
// them through go_asm.h: keep their order.
type Frame struct {
	fn       uintptr
	ints     [intRegs]uintptr
	floats   [floatRegs]uint64
	stack    [MaxStack]uintptr
	nFloat   uintptr // copied to AL: a variadic callee reads how many XMM registers hold arguments
	ret      uintptr // RAX after the call
	retFloat uint64  // XMM0 after the call

	// Pointer arguments are kept as pointers, so that the garbage collector keeps what they
	// point to alive and a move of the goroutine stack updates them, and are turned into
	// integers only in Call, after the last point where the stack can move.
	ptrs    [MaxPointers]unsafe.Pointer
	ptrSlot [MaxPointers]int8 // < intRegs: an integer register; else intRegs + stack slot
	nPtr    int8
	nInt    int8
	nStack  int8
}

// New starts a call to the C function at fn.
func New(fn uintptr) Frame {
	return Frame{fn: fn}
}

// Int adds an integer-class argument: any C integer type (a narrower C type reads the low
// bits), an enum or a bool.
func (f *Frame) Int(v int64) { f.word(uintptr(v)) }

// Ptr adds a pointer argument. The frame keeps what p points to alive until Call returns.
// (The compiler sees p stored through a pointer and so moves a stack variable passed here to
// the heap; Call would cope with a moved stack anyway.)
func (f *Frame) Ptr(p unsafe.Pointer) {
	if f.nPtr == MaxPointers {
		panic("ccall: too many pointer arguments")
	}
	f.ptrs[f.nPtr] = p
	f.ptrSlot[f.nPtr] = f.nextIntSlot()
	f.nPtr++
}

// Float32 adds a C float argument.
func (f *Frame) Float32(v float32) { f.float(uint64(math.Float32bits(v))) }

// Float64 adds a C double argument.
func (f *Frame) Float64(v float64) { f.float(math.Float64bits(v)) }

func (f *Frame) word(v uintptr) {
	s := f.nextIntSlot()
	if s < intRegs {
		f.ints[s] = v
	} else {
		f.stack[s-intRegs] = v
	}
}

// nextIntSlot reserves the place of the next integer-class argument, encoded as in ptrSlot.
func (f *Frame) nextIntSlot() int8 {
	if f.nInt < intRegs {
		f.nInt++
		return f.nInt - 1
	}
	return intRegs + f.nextStackSlot()
}

func (f *Frame) nextStackSlot() int8 {
	if f.nStack == MaxStack {
		panic("ccall: too many stack arguments")
	}
	f.nStack++
	return f.nStack - 1
}

func (f *Frame) float(bits uint64) {
	if f.nFloat < floatRegs {
		f.floats[f.nFloat] = bits
		f.nFloat++
		return
	}
	// A float32 on the stack is read from the low four bytes of its slot.
	f.stack[f.nextStackSlot()] = uintptr(bits)
}

// Call calls the function and returns its integer-class result (RAX); a function returning
// void leaves garbage there. It runs on the system stack, outside the Go scheduler's count of
// running goroutines, as a cgo call does, so a long call does not hold up other goroutines or
// the garbage collector. Call may be called again to repeat the call.
func (f *Frame) Call() uintptr {
	if f.fn == 0 {
		panic("ccall: nil function")
	}
	// From here to the C call nothing can move the goroutine stack: runtimeCgocall is
	// nosplit, so it cannot grow it, and the garbage collector does not shrink the stack of
	// a goroutine stopped inside a system call or at an asynchronous preemption.
	for i := range f.nPtr {
		s := f.ptrSlot[i]
		if s < intRegs {
			f.ints[s] = uintptr(f.ptrs[i])
		} else {
			f.stack[s-intRegs] = uintptr(f.ptrs[i])
		}
	}
	runtimeCgocall(callSysVABI0, unsafe.Pointer(f))
	return f.ret
}

// Float32Result is the C float the last Call returned.
func (f *Frame) Float32Result() float32 { return math.Float32frombits(uint32(f.retFloat)) }

// Float64Result is the C double the last Call returned.
func (f *Frame) Float64Result() float64 { return math.Float64frombits(f.retFloat) }

// callSysVABI0 holds the address of the trampoline (ccall_amd64.s), which is what
// runtime.cgocall calls with the frame as its one C argument.
var callSysVABI0 uintptr

// runtimeCgocall switches to the system stack, tells the scheduler this goroutine is in a
// system call, and calls fn(arg) with the C calling convention. The runtime marks cgocall as
// reachable by linkname (go.dev/issue/67401). It keeps arg only for the call, hence noescape,
// which lets each Frame live on its caller's stack.
//
//go:linkname runtimeCgocall runtime.cgocall
//go:noescape
func runtimeCgocall(fn uintptr, arg unsafe.Pointer) int32
