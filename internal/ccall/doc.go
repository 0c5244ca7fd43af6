// Package ccall calls C functions through function pointers (from purego.Dlsym) without cgo and
// without allocating: the arguments are laid out in a Frame, which lives on the caller's stack,
// and a small assembly trampoline loads them into the registers and stack slots of the C
// calling convention before calling the function on the system stack through runtime.cgocall,
// as cgo-generated code does.
//
// purego.RegisterFunc does the same through reflection, which costs about fifteen allocations
// and a microsecond per call; that is too much for the thousands of small GEMMs of one batch.
//
// Only linux/amd64 (System V ABI) is implemented: Supported is false elsewhere and callers keep
// purego there.
package ccall
