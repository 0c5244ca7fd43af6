package checkpoints

import (
	"encoding/binary"
	"fmt"
	"io"
	"math"

	"github.com/nlpodyssey/safetensors"

	"github.com/resnas/resnas/internal/atomicfile"
	"github.com/resnas/resnas/model"
)

// SaveOptions choose how Save stores tensors.
type SaveOptions struct {
	// Float16 stores tensors in IEEE half precision, halving the file. A tensor with a
	// finite value beyond ±65504 stays float32 rather than overflow.
	Float16 bool
}

// Save writes w and meta to path as safetensors, atomically: the file appears whole or not at all.
func Save(path string, w model.Weights, meta Meta, opts SaveOptions) error {
	if len(w) == 0 {
		return fmt.Errorf("%s: no tensors to save", path)
	}
	views := make(map[string]tensorView, len(w))
	for key, t := range w {
		if key == "" || key == "__metadata__" {
			return fmt.Errorf("%s: cannot save a tensor named %q", path, key)
		}
		n := 1
		for _, d := range t.Shape {
			if d < 0 || (d > 0 && n > math.MaxInt/d) {
				return fmt.Errorf("%s: tensor %s has shape %v", path, key, t.Shape)
			}
			n *= d
		}
		if n != len(t.Data) {
			return fmt.Errorf("%s: tensor %s has shape %v but %d values", path, key, t.Shape, len(t.Data))
		}
		dt := safetensors.F32
		if opts.Float16 && fitsHalf(t.Data) {
			dt = safetensors.F16
		}
		views[key] = tensorView{t: t, dtype: dt}
	}
	md, err := meta.encode()
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	// WriteFunc buffers: small writes (the header) are batched, tensors go straight through.
	err = atomicfile.WriteFunc(path, func(out io.Writer) error {
		return safetensors.SerializeToWriter(views, md, out)
	})
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return nil
}

// tensorView encodes a tensor for safetensors.SerializeToWriter only when it is written,
// so saving needs one tensor's bytes at a time rather than a second copy of all weights.
type tensorView struct {
	t     model.Tensor
	dtype safetensors.DType
}

func (v tensorView) DType() safetensors.DType { return v.dtype }

func (v tensorView) Shape() []uint64 {
	s := make([]uint64, len(v.t.Shape))
	for i, d := range v.t.Shape {
		s[i] = uint64(d)
	}
	return s
}

func (v tensorView) DataLen() uint64 { return uint64(len(v.t.Data)) * v.dtype.Size() }

func (v tensorView) Data() []byte {
	b := make([]byte, v.DataLen())
	if v.dtype == safetensors.F16 {
		for i, x := range v.t.Data {
			binary.LittleEndian.PutUint16(b[2*i:], float32ToHalf(x))
		}
		return b
	}
	for i, x := range v.t.Data {
		binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(x))
	}
	return b
}

func loadSafetensorsFrom(name string, r io.ReaderAt, size int64) (*Checkpoint, error) {
	b := make([]byte, size)
	if _, err := r.ReadAt(b, 0); err != nil && err != io.EOF {
		return nil, fmt.Errorf("%s: %v", name, err)
	}
	return loadSafetensors(name, b)
}

func loadSafetensors(name string, b []byte) (*Checkpoint, error) {
	// ReadMetadata checks that the offsets tile the data exactly and match shapes and dtypes.
	n, header, err := safetensors.ReadMetadata(b)
	if err != nil {
		return nil, fmt.Errorf("%s: not a valid safetensors file (%v): truncated or corrupt?", name, err)
	}
	meta, err := decodeMeta(header.Metadata())
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	infos := header.Tensors()
	if len(infos) == 0 {
		return nil, fmt.Errorf("%s: safetensors file holds no tensors", name)
	}
	data := b[8+n:]
	w := make(model.Weights, len(infos))
	for key, info := range infos {
		t, err := decodeTensor(info.DType, info.Shape, data[info.DataOffsets[0]:info.DataOffsets[1]])
		if err != nil {
			return nil, fmt.Errorf("%s: tensor %s: %v", name, printable(key), err)
		}
		w[key] = t
	}
	return &Checkpoint{Weights: w, Meta: meta, Source: SourceSafetensors, Epoch: -1}, nil
}

// decodeTensor converts safetensors data of a checked length to float32.
func decodeTensor(dt safetensors.DType, dims []uint64, data []byte) (model.Tensor, error) {
	shape := make([]int, len(dims))
	for i, d := range dims {
		if d > math.MaxInt32 {
			return model.Tensor{}, fmt.Errorf("dimension %d of %d is too large", i, d)
		}
		shape[i] = int(d)
	}
	var st dtype
	switch dt {
	case safetensors.F32:
		st = dtype{"FloatStorage", 4}
	case safetensors.F16:
		st = dtype{"HalfStorage", 2}
	case safetensors.BF16:
		st = dtype{"BFloat16Storage", 2}
	case safetensors.F64:
		st = dtype{"DoubleStorage", 8}
	case safetensors.I64:
		st = dtype{"LongStorage", 8}
	case safetensors.I32:
		st = dtype{"IntStorage", 4}
	case safetensors.I16:
		st = dtype{"ShortStorage", 2}
	case safetensors.I8:
		st = dtype{"CharStorage", 1}
	case safetensors.U8, safetensors.BOOL:
		st = dtype{"ByteStorage", 1}
	default:
		return model.Tensor{}, fmt.Errorf("dtype %s is not supported", dt)
	}
	t := model.Tensor{Shape: shape, Data: make([]float32, len(data)/st.size)}
	st.decodeRun(t.Data, data, binary.LittleEndian)
	return t, nil
}
