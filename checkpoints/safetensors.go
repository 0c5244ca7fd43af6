package checkpoints

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"math/bits"
	"sort"

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
		if n != t.Len() {
			return fmt.Errorf("%s: tensor %s has shape %v but %d values", path, key, t.Shape, t.Len())
		}
		dt := safetensors.F32
		if t.IsHalf() || opts.Float16 && model.FitsHalf(t.Data) {
			dt = safetensors.F16 // weights held in float16 are written as they are
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

func (v tensorView) DataLen() uint64 { return uint64(v.t.Len()) * v.dtype.Size() }

func (v tensorView) Data() []byte {
	b := make([]byte, v.DataLen())
	if v.t.IsHalf() {
		for i, h := range v.t.Half {
			binary.LittleEndian.PutUint16(b[2*i:], h)
		}
		return b
	}
	if v.dtype == safetensors.F16 {
		for i, x := range v.t.Data {
			binary.LittleEndian.PutUint16(b[2*i:], model.Float32ToHalf(x))
		}
		return b
	}
	for i, x := range v.t.Data {
		binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(x))
	}
	return b
}

// loadSafetensorsFrom reads the header, then decodes each tensor from r through a buffer of
// at most 1 MiB straight into its float32 slice, so loading holds one copy of the weights and
// never the file's bytes as well.
func loadSafetensorsFrom(name string, r io.ReaderAt, size int64, half bool) (*Checkpoint, error) {
	bad := func(err error) error {
		return fmt.Errorf("%s: not a valid safetensors file (%v): truncated or corrupt?", name, err)
	}
	var head [8]byte
	if _, err := r.ReadAt(head[:], 0); err != nil {
		return nil, bad(err)
	}
	n := binary.LittleEndian.Uint64(head[:])
	if n > maxSafetensorsHeader || int64(n) > size-8 {
		return nil, bad(fmt.Errorf("header of %d bytes in a %d-byte file", n, size))
	}
	hb := make([]byte, n)
	if _, err := r.ReadAt(hb, 8); err != nil {
		return nil, bad(err)
	}
	var header safetensors.Metadata
	if err := json.Unmarshal(hb, &header); err != nil {
		return nil, bad(fmt.Errorf("invalid header deserialization: %w", err))
	}
	infos := header.Tensors()
	if err := checkTiling(infos, uint64(size)-8-n); err != nil {
		return nil, bad(err)
	}
	meta, err := decodeMeta(header.Metadata())
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	if len(infos) == 0 {
		return nil, fmt.Errorf("%s: safetensors file holds no tensors", name)
	}
	data := io.NewSectionReader(r, 8+int64(n), size-8-int64(n))
	w := make(model.Weights, len(infos))
	var buf []byte
	var sc scratch
	for key, info := range infos {
		off := info.DataOffsets
		t, err := decodeTensorFrom(info.DType, info.Shape, io.NewSectionReader(data, int64(off[0]), int64(off[1]-off[0])), &buf, &sc, half)
		if err != nil {
			return nil, fmt.Errorf("%s: tensor %s: %v", name, printable(key), err)
		}
		if half {
			t = keepHalf(t)
		}
		w[key] = t
	}
	return &Checkpoint{Weights: w, Meta: meta, Source: SourceSafetensors, Epoch: -1}, nil
}

// checkTiling checks what safetensors.ReadMetadata checks of a whole file, from the header
// alone: the tensors' byte ranges tile the dataLen bytes after the header exactly, and each
// range is as long as its shape and dtype say.
func checkTiling(infos map[string]*safetensors.TensorInfo, dataLen uint64) error {
	names := make([]string, 0, len(infos))
	for k := range infos {
		names = append(names, k)
	}
	// Ends and names break ties, so an empty tensor sharing its start with the next one sorts
	// first whatever the map's order (as safetensors.ReadMetadata orders them).
	sort.Slice(names, func(i, j int) bool {
		a, b := infos[names[i]].DataOffsets, infos[names[j]].DataOffsets
		if a[0] != b[0] {
			return a[0] < b[0]
		}
		if a[1] != b[1] {
			return a[1] < b[1]
		}
		return names[i] < names[j]
	})
	at := uint64(0)
	for _, k := range names {
		info := infos[k]
		s, e := info.DataOffsets[0], info.DataOffsets[1]
		if s != at || e < s {
			return fmt.Errorf("invalid metadata offset for tensor %q", printable(k))
		}
		bytes := info.DType.Size()
		for _, d := range info.Shape {
			hi, lo := bits.Mul64(bytes, d)
			if hi != 0 {
				return fmt.Errorf("tensor %q: shape %v overflows", printable(k), info.Shape)
			}
			bytes = lo
		}
		if e-s != bytes {
			return fmt.Errorf("tensor %q: data offsets span %d bytes, its shape and dtype %d", printable(k), e-s, bytes)
		}
		at = e
	}
	if at != dataLen {
		return fmt.Errorf("tensors span %d bytes after the header, the file holds %d", at, dataLen)
	}
	return nil
}

// decodeTensorFrom converts the data r holds (of a length checked against the shape) to
// float32, read through *buf, which grows to 1 MiB and is reused.
func decodeTensorFrom(dt safetensors.DType, dims []uint64, r *io.SectionReader, buf *[]byte, sc *scratch, half bool) (model.Tensor, error) {
	st, err := storageOf(dt)
	if err != nil {
		return model.Tensor{}, err
	}
	shape, err := shapeOf(dims)
	if err != nil {
		return model.Tensor{}, err
	}
	t := model.Tensor{Shape: shape, Data: sc.values(int(r.Size())/st.size, half)}
	if cap(*buf) < 1<<20 {
		*buf = make([]byte, 1<<20)
	}
	per := (1 << 20) / st.size
	for k := 0; k < len(t.Data); k += per {
		m := min(per, len(t.Data)-k)
		b := (*buf)[:m*st.size]
		if _, err := io.ReadFull(r, b); err != nil {
			return model.Tensor{}, fmt.Errorf("%v (truncated?)", err)
		}
		st.decodeRun(t.Data[k:k+m], b, binary.LittleEndian)
	}
	return t, nil
}

// shapeOf converts safetensors dimensions.
func shapeOf(dims []uint64) ([]int, error) {
	shape := make([]int, len(dims))
	for i, d := range dims {
		if d > math.MaxInt32 {
			return nil, fmt.Errorf("dimension %d of %d is too large", i, d)
		}
		shape[i] = int(d)
	}
	return shape, nil
}

// storageOf is the element type of a safetensors dtype.
func storageOf(dt safetensors.DType) (dtype, error) {
	switch dt {
	case safetensors.F32:
		return dtype{"FloatStorage", 4}, nil
	case safetensors.F16:
		return dtype{"HalfStorage", 2}, nil
	case safetensors.BF16:
		return dtype{"BFloat16Storage", 2}, nil
	case safetensors.F64:
		return dtype{"DoubleStorage", 8}, nil
	case safetensors.I64:
		return dtype{"LongStorage", 8}, nil
	case safetensors.I32:
		return dtype{"IntStorage", 4}, nil
	case safetensors.I16:
		return dtype{"ShortStorage", 2}, nil
	case safetensors.I8:
		return dtype{"CharStorage", 1}, nil
	case safetensors.U8, safetensors.BOOL:
		return dtype{"ByteStorage", 1}, nil
	}
	return dtype{}, fmt.Errorf("dtype %s is not supported", dt)
}
