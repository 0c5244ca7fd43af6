package profiler

import (
	"fmt"
	"math"
	"os"
	"strconv"
	"strings"

	"github.com/resnas/resnas/model"
)

// BatchBytesPerImage estimates the host memory one image of a batch takes in a forward: its
// input, its logits, the raw bytes it is read from and, on the CPU, the activations the
// workspaces hold for every image of the batch (token matrices, qkv, attention, MLP hidden).
// On the GPU, activations live in a bounded device workspace, so only the host side counts.
func BatchBytesPerImage(a model.Arch, in model.Input, gpu bool) float64 {
	pix := float64(in.Channels) * float64(in.Size) * float64(in.Size)
	floats := 2*pix + float64(a.Head.Classes) // input, its raw bytes (as many), logits
	if !gpu {
		grid, c := float64(in.Grid()), float64(a.Stem.Width)
		tok := 1 + grid*grid
		tokens, widest := tok*c, 0.0
		for _, l := range a.Layers {
			switch l.Type {
			case model.TypeBlock:
				if l.Exists {
					hd := float64(l.Heads) * float64(l.HeadDim)
					widest = max(widest, tok*(4*hd+float64(l.MLP))) // qkv, attention, hidden
				}
			case model.TypeReduction:
				grid = math.Floor(grid / 2)
				tok = 1 + grid*grid
				tokens = max(tokens, tok*float64(l.Out))
			}
		}
		floats += 3*tokens + widest // x, xAlt and the LayerNorm output
	}
	return 4 * floats
}

// MemoryError says a batch would not fit in the memory available.
type MemoryError struct {
	Batch           int
	Need, Available float64 // bytes
	MaxBatch        int     // the largest batch that fits
}

func (e *MemoryError) Error() string {
	return fmt.Sprintf("%d images need about %s of memory for inputs and activations, but %s is available",
		e.Batch, HumanBytes(e.Need), HumanBytes(e.Available))
}

// CheckBatchMemory returns a *MemoryError when a forward of batch images of a would not fit
// in the memory available now, so a typo in a batch size is an error message rather than an
// out-of-memory crash. Where the available memory is unknown it returns nil.
func CheckBatchMemory(batch int, a model.Arch, in model.Input, gpu bool) error {
	per := BatchBytesPerImage(a, in, gpu)
	need := per * float64(batch)
	avail, ok := AvailableMemory()
	if !ok || need <= float64(avail) {
		return nil
	}
	return &MemoryError{Batch: batch, Need: need, Available: float64(avail), MaxBatch: int(float64(avail) / per)}
}

// AvailableMemory reads MemAvailable from /proc/meminfo; ok is false where that is unknown.
func AvailableMemory() (uint64, bool) {
	b, err := os.ReadFile("/proc/meminfo")
	if err != nil {
		return 0, false
	}
	return parseMemAvailable(string(b))
}

func parseMemAvailable(meminfo string) (uint64, bool) {
	for _, line := range strings.Split(meminfo, "\n") {
		if rest, found := strings.CutPrefix(line, "MemAvailable:"); found {
			kb, err := strconv.ParseUint(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
			if err != nil {
				return 0, false
			}
			return kb * 1024, true
		}
	}
	return 0, false
}

// HumanBytes prints a byte count in MiB, GiB or TiB.
func HumanBytes(b float64) string {
	switch {
	case b >= 1<<40:
		return fmt.Sprintf("%.1f TiB", b/(1<<40))
	case b >= 1<<30:
		return fmt.Sprintf("%.1f GiB", b/(1<<30))
	default:
		return fmt.Sprintf("%.0f MiB", b/(1<<20))
	}
}
