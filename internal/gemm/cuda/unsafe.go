package cuda

import (
	"runtime"
	"unsafe"
)

// hostPointer is the address of s[0] for a C struct field. s must be heap memory that stays
// alive (keepAlive) until the call returns: the Go heap does not move, and every host slice
// here has escaped through the closure handed to the serving goroutine.
func hostPointer(s []float32) unsafe.Pointer { return unsafe.Pointer(unsafe.SliceData(s)) }

func keepAlive(s []float32) { runtime.KeepAlive(s) }
