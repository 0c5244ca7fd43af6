package checkpoints

import (
	"archive/zip"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"path/filepath"
	"strings"

	"github.com/resnas/resnas/internal/atomicfile"
	"github.com/resnas/resnas/model"
)

// This file writes the torch.save zip format (PyTorch ≥ 1.6) as torch 1.13 writes it, so that
// torch.load(path, weights_only=True) reads it and so does the reference's own loading code:
//
//	NAME/data.pkl   pickle protocol 2: an OrderedDict of
//	                torch._utils._rebuild_tensor_v2(storage, offset, size, stride, False, OrderedDict())
//	                where storage is the persistent id ('storage', torch.FloatStorage, 'K', 'cpu', numel)
//	NAME/data/K     the raw little-endian bytes of storage K (one per tensor, K = 0, 1, …)
//	NAME/version    "3\n"
//
// Every entry is stored uncompressed with a data descriptor, and its data starts on a 64-byte
// boundary: torch pads the local header's extra field with an "FB" record of 'Z' bytes.

// TorchTensor is one state_dict entry for SaveTorch.
type TorchTensor struct {
	Key    string
	Tensor model.Tensor
	// Int64 stores the values as torch.int64 (a LongStorage), rounded: BatchNorm's
	// num_batches_tracked is int64 in every PyTorch state_dict.
	Int64 bool
}

// TorchSaveOptions shape what SaveTorch writes.
type TorchSaveOptions struct {
	// Wrap nests the state_dict under this key of a plain dict ({"model": state_dict}), as the
	// reference's training checkpoints hold it; "" writes the bare OrderedDict.
	Wrap string
}

// torchAlignment is the data alignment of torch.save entries (caffe2 serialize
// inline_container.cc kFieldAlignment).
const torchAlignment = 64

// SaveTorch writes tensors, in order, to path as a torch.save zip, atomically: the file
// appears whole or not at all. The archive's folder is named after the file, as torch names it.
func SaveTorch(path string, tensors []TorchTensor, opts TorchSaveOptions) error {
	if err := checkTorchTensors(tensors); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return atomicfile.WriteFunc(path, func(w io.Writer) error {
		return WriteTorch(w, torchArchiveName(path), tensors, opts)
	})
}

// torchArchiveName is the folder inside the zip: the file's base name without its extension
// (subnet.pth → subnet, a.pth.tar → a.pth), or "archive", torch's name for unnamed streams,
// when that is unusable.
func torchArchiveName(path string) string {
	base := filepath.Base(path)
	if i := strings.LastIndexByte(base, '.'); i >= 0 {
		base = base[:i]
	}
	if base == "" || strings.ContainsAny(base, "/\\") || !isPlainASCII(base) {
		return "archive"
	}
	return base
}

func isPlainASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] <= ' ' || s[i] >= 0x7f {
			return false
		}
	}
	return true
}

func checkTorchTensors(tensors []TorchTensor) error {
	if len(tensors) == 0 {
		return errors.New("no tensors to save")
	}
	seen := make(map[string]bool, len(tensors))
	for _, t := range tensors {
		if t.Key == "" {
			return errors.New("a tensor has an empty name")
		}
		if seen[t.Key] {
			return fmt.Errorf("tensor %s is listed twice", t.Key)
		}
		seen[t.Key] = true
		if t.Tensor.Numel() != len(t.Tensor.Data) {
			return fmt.Errorf("tensor %s: shape %v has %d elements, data %d", t.Key, t.Tensor.Shape, t.Tensor.Numel(), len(t.Tensor.Data))
		}
		for _, d := range t.Tensor.Shape {
			if d < 0 {
				return fmt.Errorf("tensor %s: negative dimension in shape %v", t.Key, t.Tensor.Shape)
			}
		}
	}
	return nil
}

// WriteTorch streams the torch.save zip of tensors to w; archive names its folder.
func WriteTorch(w io.Writer, archive string, tensors []TorchTensor, opts TorchSaveOptions) error {
	if err := checkTorchTensors(tensors); err != nil {
		return err
	}
	cw := &countingWriter{w: w}
	zw := zip.NewWriter(cw)
	pending := int64(0) // the data descriptor of the previous entry, written when the next begins
	add := func(name string, fill func(io.Writer) error) error {
		// The local header (30 bytes, the name, the extra field) starts after what is written
		// and the previous entry's descriptor; the extra field pads the data onto the next
		// 64-byte boundary.
		if err := zw.Flush(); err != nil {
			return err
		}
		name = archive + "/" + name
		start := cw.n + pending + 30 + int64(len(name)) + 4
		pad := (torchAlignment - start%torchAlignment) % torchAlignment
		extra := make([]byte, 4+pad)
		copy(extra, "FB")
		binary.LittleEndian.PutUint16(extra[2:], uint16(pad))
		for i := 4; i < len(extra); i++ {
			extra[i] = 'Z'
		}
		fw, err := zw.CreateHeader(&zip.FileHeader{Name: name, Method: zip.Store, Extra: extra})
		if err != nil {
			return err
		}
		counted := &countingWriter{w: fw}
		if err := fill(counted); err != nil {
			return err
		}
		// Signature, CRC-32 and two sizes: 32-bit sizes, 64-bit ones from 4 GiB on (zip64).
		pending = 16
		if counted.n >= math.MaxUint32 {
			pending = 24
		}
		return nil
	}
	pkl := torchPickle(tensors, opts)
	if err := add("data.pkl", func(w io.Writer) error { _, err := w.Write(pkl); return err }); err != nil {
		return err
	}
	buf := make([]byte, 0, 1<<16)
	for i, t := range tensors {
		err := add(fmt.Sprintf("data/%d", i), func(w io.Writer) error {
			for at := 0; at < len(t.Tensor.Data); {
				buf = buf[:0]
				for ; at < len(t.Tensor.Data) && len(buf)+8 <= cap(buf); at++ {
					if t.Int64 {
						buf = binary.LittleEndian.AppendUint64(buf, uint64(int64(math.Round(float64(t.Tensor.Data[at])))))
					} else {
						buf = binary.LittleEndian.AppendUint32(buf, math.Float32bits(t.Tensor.Data[at]))
					}
				}
				if _, err := w.Write(buf); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return err
		}
	}
	if err := add("version", func(w io.Writer) error { _, err := io.WriteString(w, "3\n"); return err }); err != nil {
		return err
	}
	return zw.Close()
}

type countingWriter struct {
	w io.Writer
	n int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// torchPickle is data.pkl: protocol 2, the opcodes the pickle module itself emits for a
// state_dict (and nothing torch's weights_only unpickler refuses), globals memoised once.
func torchPickle(tensors []TorchTensor, opts TorchSaveOptions) []byte {
	p := &pickler{memo: map[string]int{}}
	p.b.Write([]byte{0x80, 2}) // PROTO 2
	if opts.Wrap != "" {
		p.b.WriteByte('}') // EMPTY_DICT
		p.str(opts.Wrap)
	}
	p.global("collections", "OrderedDict")
	p.b.WriteString(")R") // EMPTY_TUPLE REDUCE: OrderedDict()
	// The pickle module writes MARK … SETITEMS in batches of 1000 items, a lone item with SETITEM.
	for start := 0; start < len(tensors); start += 1000 {
		batch := tensors[start:min(start+1000, len(tensors))]
		if len(batch) > 1 {
			p.b.WriteByte('(') // MARK
		}
		for i, t := range batch {
			p.str(t.Key)
			p.tensor(start+i, t)
		}
		if len(batch) > 1 {
			p.b.WriteByte('u') // SETITEMS
		} else {
			p.b.WriteByte('s') // SETITEM
		}
	}
	if opts.Wrap != "" {
		p.b.WriteByte('s') // SETITEM
	}
	p.b.WriteByte('.') // STOP
	return p.b.Bytes()
}

type pickler struct {
	b    bytes.Buffer
	memo map[string]int // global → memo index
}

// global pushes module.name: GLOBAL and BINPUT the first time, BINGET after.
func (p *pickler) global(module, name string) {
	key := module + "\n" + name
	if i, ok := p.memo[key]; ok {
		p.get(i)
		return
	}
	p.b.WriteString("c" + key + "\n")
	i := len(p.memo)
	p.memo[key] = i
	if i < 256 {
		p.b.Write([]byte{'q', byte(i)}) // BINPUT
	} else {
		p.b.WriteByte('r') // LONG_BINPUT
		p.b.Write(binary.LittleEndian.AppendUint32(nil, uint32(i)))
	}
}

func (p *pickler) get(i int) {
	if i < 256 {
		p.b.Write([]byte{'h', byte(i)}) // BINGET
		return
	}
	p.b.WriteByte('j') // LONG_BINGET
	p.b.Write(binary.LittleEndian.AppendUint32(nil, uint32(i)))
}

func (p *pickler) str(s string) {
	p.b.WriteByte('X') // BINUNICODE
	p.b.Write(binary.LittleEndian.AppendUint32(nil, uint32(len(s))))
	p.b.WriteString(s)
}

// int writes n ≥ 0 with the shortest opcode the pickle module would choose.
func (p *pickler) int(n int64) {
	switch {
	case n < 1<<8:
		p.b.Write([]byte{'K', byte(n)}) // BININT1
	case n < 1<<16:
		p.b.WriteByte('M') // BININT2
		p.b.Write(binary.LittleEndian.AppendUint16(nil, uint16(n)))
	case n < 1<<31:
		p.b.WriteByte('J') // BININT
		p.b.Write(binary.LittleEndian.AppendUint32(nil, uint32(n)))
	default:
		p.b.Write([]byte{0x8a, 8}) // LONG1, 8 bytes, two's complement little-endian
		p.b.Write(binary.LittleEndian.AppendUint64(nil, uint64(n)))
	}
}

// ints writes a tuple of ints as the pickle module does: TUPLE1-3 or MARK … TUPLE.
func (p *pickler) ints(xs []int64) {
	if len(xs) == 0 {
		p.b.WriteByte(')') // EMPTY_TUPLE
		return
	}
	if len(xs) > 3 {
		p.b.WriteByte('(') // MARK
	}
	for _, x := range xs {
		p.int(x)
	}
	switch len(xs) {
	case 1:
		p.b.WriteByte(0x85) // TUPLE1
	case 2:
		p.b.WriteByte(0x86) // TUPLE2
	case 3:
		p.b.WriteByte(0x87) // TUPLE3
	default:
		p.b.WriteByte('t') // TUPLE
	}
}

// tensor writes _rebuild_tensor_v2 of a contiguous tensor on storage key.
func (p *pickler) tensor(key int, t TorchTensor) {
	p.global("torch._utils", "_rebuild_tensor_v2")
	p.b.WriteByte('(') // MARK: the arguments
	// The persistent id ('storage', torch.FloatStorage, 'key', 'cpu', numel).
	p.b.WriteByte('(')
	p.str("storage")
	if t.Int64 {
		p.global("torch", "LongStorage")
	} else {
		p.global("torch", "FloatStorage")
	}
	p.str(fmt.Sprint(key))
	p.str("cpu")
	p.int(int64(len(t.Tensor.Data)))
	p.b.WriteByte('t')
	p.b.WriteByte('Q') // BINPERSID
	p.int(0)           // storage offset
	size := make([]int64, len(t.Tensor.Shape))
	stride := make([]int64, len(t.Tensor.Shape))
	step := int64(1)
	for i := len(size) - 1; i >= 0; i-- {
		size[i] = int64(t.Tensor.Shape[i])
		stride[i] = step
		step *= max(size[i], 1)
	}
	p.ints(size)
	p.ints(stride)
	p.b.WriteByte(0x89) // NEWFALSE: requires_grad
	p.global("collections", "OrderedDict")
	p.b.WriteString(")R") // backward_hooks: OrderedDict()
	p.b.WriteString("tR") // TUPLE REDUCE
}
