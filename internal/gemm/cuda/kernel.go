package cuda

import (
	"fmt"
	"math"
	"runtime"
	"strings"
	"unsafe"
)

// Module is PTX code loaded into the device's context.
type Module struct {
	dev *Device
	h   uintptr
}

// Function is a kernel of a loaded Module.
type Function struct {
	dev  *Device
	h    uintptr
	name string
}

// Dim3 is a grid or block size; a zero component counts as 1.
type Dim3 struct{ X, Y, Z int }

// JIT options of cuModuleLoadDataEx (cuda.h's CUjit_option).
const (
	jitErrorLogBuffer     = 5
	jitErrorLogBufferSize = 6
)

// LoadModule JIT-compiles PTX text for the device (cuModuleLoadDataEx), so kernels written for
// an old target run on newer GPUs. When the JIT fails, its log is part of the error.
func (d *Device) LoadModule(ptx string) (*Module, error) {
	image := append([]byte(ptx), 0)
	log := make([]byte, 4096)
	options := [2]int32{jitErrorLogBuffer, jitErrorLogBufferSize}
	// The driver reads the buffer's address and size from values and writes back the log's
	// length in place of the size. log lives on the Go heap, which does not move.
	values := [2]uintptr{uintptr(unsafe.Pointer(&log[0])), uintptr(len(log))}
	m := &Module{dev: d}
	err := d.do(func() error {
		r := d.drv.cuModuleLoadDataEx(&m.h, &image[0], 2, &options[0], &values[0])
		runtime.KeepAlive(log)
		return d.check("cuModuleLoadDataEx", r)
	})
	if err != nil {
		if msg := strings.TrimSpace(goString(&log[0])); msg != "" {
			return nil, fmt.Errorf("%w: %s", err, strings.Join(strings.Fields(msg), " "))
		}
		return nil, err
	}
	return m, nil
}

// Function looks up the kernel called name (its .entry name in the PTX).
func (m *Module) Function(name string) (Function, error) {
	f := Function{dev: m.dev, name: name}
	err := m.dev.do(func() error {
		return m.dev.check("cuModuleGetFunction", m.dev.drv.cuModuleGetFunction(&f.h, m.h, name))
	})
	if err != nil {
		return Function{}, fmt.Errorf("%w: kernel %q", err, name)
	}
	return f, nil
}

// Unload frees the module; its Functions must not be launched afterwards.
func (m *Module) Unload() error {
	if m.h == 0 {
		return nil
	}
	h := m.h
	m.h = 0
	err := m.dev.do(func() error { return m.dev.check("cuModuleUnload", m.dev.drv.cuModuleUnload(h)) })
	if err == ErrClosed {
		return nil
	}
	return err
}

// Launch queues f on a grid of blocks with the kernel's parameters in order. Each argument is
// a *Buffer or DevPtr (a device pointer), int32, uint32, int64, uint64, float32 or float64,
// matching the kernel's .param types. Errors raised while the kernel runs surface at the next
// Synchronize or download.
func (d *Device) Launch(f Function, grid, block Dim3, sharedBytes int, args ...any) error {
	return d.launch(d.do, f, grid, block, sharedBytes, args...)
}

func (d *Device) launch(run runner, f Function, grid, block Dim3, sharedBytes int, args ...any) error {
	if f.dev != d || f.h == 0 {
		return fmt.Errorf("cuda: launch of %q: function not loaded on this device", f.name)
	}
	params, err := packParams(args)
	if err != nil {
		return fmt.Errorf("cuda: launch of %q: %w", f.name, err)
	}
	g, b := grid.dims(), block.dims()
	for _, v := range [...]int{g[0], g[1], g[2], b[0], b[1], b[2], sharedBytes} {
		if v < 0 || v > math.MaxUint32 {
			return fmt.Errorf("cuda: launch of %q: grid %v, block %v, shared %d out of range", f.name, grid, block, sharedBytes)
		}
	}
	err = run(func() error {
		var p *uint64
		if len(args) > 0 {
			p = &params[len(args)]
		}
		r := d.drv.cuLaunchKernel(f.h, uint32(g[0]), uint32(g[1]), uint32(g[2]), uint32(b[0]), uint32(b[1]), uint32(b[2]),
			uint32(sharedBytes), 0, p, 0)
		runtime.KeepAlive(params)
		return d.check("cuLaunchKernel", r)
	})
	if err != nil {
		return fmt.Errorf("%w: kernel %q", err, f.name)
	}
	return nil
}

func (g Dim3) dims() [3]int {
	return [3]int{max(1, g.X), max(1, g.Y), max(1, g.Z)}
}

// packParams builds cuLaunchKernel's kernelParams: an array of pointers, one to each argument's
// value. Values and pointers share one heap block (values first, then their addresses stored as
// integers), so the C side sees live memory without Go pointers inside it; the driver copies the
// values when the launch is queued.
func packParams(args []any) ([]uint64, error) {
	n := len(args)
	block := make([]uint64, 2*n)
	for i, a := range args {
		switch v := a.(type) {
		case *Buffer:
			if v == nil || v.ptr == 0 {
				return nil, fmt.Errorf("argument %d: buffer is nil or freed", i)
			}
			block[i] = v.ptr
		case DevPtr:
			block[i] = uint64(v)
		case int32:
			block[i] = uint64(uint32(v))
		case uint32:
			block[i] = uint64(v)
		case int64:
			block[i] = uint64(v)
		case uint64:
			block[i] = v
		case float32:
			block[i] = uint64(math.Float32bits(v))
		case float64:
			block[i] = math.Float64bits(v)
		default:
			return nil, fmt.Errorf("argument %d has type %T; use *Buffer, DevPtr, int32, uint32, int64, uint64, float32 or float64", i, a)
		}
		// 4-byte values sit in the low bytes of their 8-byte slot, which is where a pointer to
		// the slot points on little-endian machines (amd64, arm64).
		block[n+i] = uint64(uintptr(unsafe.Pointer(&block[i])))
	}
	return block, nil
}
