package checkpoints

import (
	"archive/zip"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"math/big"
	"sort"
	"strings"

	"github.com/resnas/resnas/model"
)

// This file reads torch.save zip archives (reference.md §4.1): <prefix>/data.pkl holds the
// pickled object, and <prefix>/data/<key> the raw bytes of each storage it refers to.

// dtype is a torch storage element type.
type dtype struct {
	name string // torch storage class, e.g. "FloatStorage"
	size int    // bytes per element
}

// storageDType maps an allow-listed torch.<X>Storage class to its element type.
func storageDType(class string) (dtype, bool) {
	switch class {
	case "FloatStorage":
		return dtype{class, 4}, true
	case "HalfStorage", "BFloat16Storage", "ShortStorage":
		return dtype{class, 2}, true
	case "DoubleStorage", "LongStorage":
		return dtype{class, 8}, true
	case "IntStorage":
		return dtype{class, 4}, true
	case "CharStorage", "ByteStorage", "BoolStorage":
		return dtype{class, 1}, true
	}
	return dtype{}, false
}

// decodeRun converts len(dst) consecutive elements of src to float32.
func (dt dtype) decodeRun(dst []float32, src []byte, order binary.ByteOrder) {
	le := order == binary.ByteOrder(binary.LittleEndian) // concrete calls inline; interface calls do not
	switch dt.name {
	case "FloatStorage":
		if le {
			src = src[:4*len(dst)]
			for i := range dst {
				dst[i] = math.Float32frombits(binary.LittleEndian.Uint32(src[4*i:]))
			}
			return
		}
		for i := range dst {
			dst[i] = math.Float32frombits(order.Uint32(src[4*i:]))
		}
	case "HalfStorage":
		if le {
			src = src[:2*len(dst)]
			for i := range dst {
				dst[i] = model.HalfToFloat32(binary.LittleEndian.Uint16(src[2*i:]))
			}
			return
		}
		for i := range dst {
			dst[i] = model.HalfToFloat32(order.Uint16(src[2*i:]))
		}
	case "BFloat16Storage":
		for i := range dst {
			dst[i] = math.Float32frombits(uint32(order.Uint16(src[2*i:])) << 16)
		}
	case "ShortStorage":
		for i := range dst {
			dst[i] = float32(int16(order.Uint16(src[2*i:])))
		}
	case "DoubleStorage":
		for i := range dst {
			dst[i] = float32(math.Float64frombits(order.Uint64(src[8*i:])))
		}
	case "LongStorage":
		for i := range dst {
			dst[i] = float32(int64(order.Uint64(src[8*i:])))
		}
	case "IntStorage":
		for i := range dst {
			dst[i] = float32(int32(order.Uint32(src[4*i:])))
		}
	case "CharStorage":
		for i := range dst {
			dst[i] = float32(int8(src[i]))
		}
	case "ByteStorage", "BoolStorage":
		for i := range dst {
			dst[i] = float32(src[i])
		}
	default:
		panic("checkpoints: decodeRun of an unknown dtype")
	}
}

// pyStorage is a persistent storage reference: ('storage', torch.<X>Storage, key, location, numel).
type pyStorage struct {
	dtype dtype
	key   string
	numel int64
}

// pyTensor is a tensor view of a storage, as _rebuild_tensor_v2 describes it.
type pyTensor struct {
	storage *pyStorage
	offset  int64
	size    []int64
	stride  []int64
}

// torchHooks is the allow-list: the only globals a checkpoint may name, and what they build.
func torchHooks() pickleHooks {
	return pickleHooks{global: torchGlobal, call: torchCall, persistentLoad: torchPersistentLoad}
}

func torchGlobal(module, name string) (any, error) {
	g := pyGlobal{module, name}
	switch module {
	case "collections":
		if name == "OrderedDict" {
			return g, nil
		}
	case "torch._utils":
		switch name {
		case "_rebuild_tensor", "_rebuild_tensor_v2", "_rebuild_parameter", "_rebuild_parameter_with_state":
			return g, nil
		}
	case "torch":
		if _, ok := storageDType(name); ok {
			return g, nil
		}
	case "argparse":
		if name == "Namespace" {
			return g, nil
		}
	}
	if strings.HasPrefix(module, "__torch__") {
		return nil, errors.New("pickle is a TorchScript archive (torch.jit.save), not a torch.save checkpoint: save the model's state_dict() with torch.save instead")
	}
	return nil, &refusedGlobalError{module, name}
}

func torchCall(fn any, args pyTuple) (any, error) {
	g, ok := fn.(pyGlobal)
	if !ok {
		return nil, fmt.Errorf("calls a %s, which is not a class or function", typeName(fn))
	}
	switch g.String() {
	case "collections.OrderedDict":
		d := newPyDict(true)
		if len(args) == 0 {
			return d, nil
		}
		if len(args) == 1 {
			if items, ok := sequence(args[0]); ok {
				for _, it := range items {
					pair, ok := sequence(it)
					if !ok || len(pair) != 2 {
						return nil, errors.New("OrderedDict items are not pairs")
					}
					d.set(pair[0], pair[1])
				}
				return d, nil
			}
		}
		return nil, fmt.Errorf("OrderedDict called with %d arguments", len(args))
	case "torch._utils._rebuild_tensor", "torch._utils._rebuild_tensor_v2":
		// (storage, storage_offset, size, stride[, requires_grad, backward_hooks[, metadata]])
		if len(args) < 4 {
			return nil, fmt.Errorf("%s called with %d arguments, want at least 4", g, len(args))
		}
		return rebuildTensor(args)
	case "torch._utils._rebuild_parameter", "torch._utils._rebuild_parameter_with_state":
		// (data, requires_grad, backward_hooks[, state]): a Parameter is its tensor here.
		if len(args) < 1 {
			return nil, fmt.Errorf("%s called without a tensor", g)
		}
		t, ok := args[0].(*pyTensor)
		if !ok {
			return nil, fmt.Errorf("%s of a %s, not a tensor", g, typeName(args[0]))
		}
		return t, nil
	case "argparse.Namespace":
		return &pyObject{class: g}, nil
	}
	return nil, fmt.Errorf("calls %s, which only names a type here", g)
}

func rebuildTensor(args pyTuple) (*pyTensor, error) {
	st, ok := args[0].(*pyStorage)
	if !ok {
		return nil, fmt.Errorf("tensor storage is a %s", typeName(args[0]))
	}
	offset, ok := args[1].(int64)
	if !ok || offset < 0 {
		return nil, errors.New("tensor storage offset is not a non-negative int")
	}
	size, ok1 := intTuple(args[2])
	stride, ok2 := intTuple(args[3])
	if !ok1 || !ok2 || len(size) != len(stride) {
		return nil, errors.New("tensor size and stride are not int tuples of one length")
	}
	return &pyTensor{storage: st, offset: offset, size: size, stride: stride}, nil
}

func torchPersistentLoad(pid any) (any, error) {
	t, ok := pid.(pyTuple)
	if !ok || len(t) != 5 || t[0] != "storage" {
		return nil, fmt.Errorf("persistent id is not ('storage', type, key, location, numel)")
	}
	g, ok := t[1].(pyGlobal)
	dt, known := storageDType(g.Name)
	if !ok || g.Module != "torch" || !known {
		return nil, fmt.Errorf("storage type %s is not a torch storage", typeName(t[1]))
	}
	key, ok := t[2].(string)
	if !ok || key == "" || strings.ContainsAny(key, "/\\") {
		return nil, errors.New("storage key is not a plain name")
	}
	numel, ok := t[4].(int64)
	if !ok || numel < 0 {
		return nil, fmt.Errorf("storage %s has no element count", printable(key))
	}
	return &pyStorage{dtype: dt, key: key, numel: numel}, nil
}

func sequence(v any) ([]any, bool) {
	switch v := v.(type) {
	case pyTuple:
		return v, true
	case *pyList:
		return v.items, true
	}
	return nil, false
}

func intTuple(v any) ([]int64, bool) {
	items, ok := sequence(v)
	if !ok || len(items) > 64 {
		return nil, false
	}
	out := make([]int64, len(items))
	for i, it := range items {
		n, ok := it.(int64)
		if !ok || n < 0 {
			return nil, false
		}
		out[i] = n
	}
	return out, true
}

// torchArchive is an opened torch.save zip.
type torchArchive struct {
	name    string // file name for errors
	size    int64  // file size: no entry can be larger
	prefix  string // "<prefix>/" of data.pkl
	files   map[string]*zip.File
	order   binary.ByteOrder
	raw     map[string][]byte // storage bytes read and still needed, by key
	refs    map[string]int    // tensors still to be built from each storage, by key
	half    bool              // keep tensors in float16 (Options.Float16)
	scratch scratch           // float32 values of the tensor being read, when half
	budget  int64             // float32 elements tensors may still expand to
	unread  int64             // bytes entries may still take: crafted entries can overlap
}

func openTorchArchive(name string, r io.ReaderAt, size int64) (*torchArchive, error) {
	zr, err := zip.NewReader(r, size)
	if err != nil {
		return nil, fmt.Errorf("%s: unreadable zip (%v): truncated or not a torch.save checkpoint", name, err)
	}
	a := &torchArchive{name: name, size: size, files: make(map[string]*zip.File), order: binary.LittleEndian,
		raw: make(map[string][]byte), refs: make(map[string]int), budget: size, unread: size}
	var pkls []string
	for _, f := range zr.File {
		a.files[f.Name] = f
		if dir, ok := strings.CutSuffix(f.Name, "/data.pkl"); ok && dir != "" && !strings.Contains(dir, "/") {
			pkls = append(pkls, f.Name)
		}
	}
	switch len(pkls) {
	case 0:
		return nil, fmt.Errorf("%s: zip has no <name>/data.pkl entry: not a torch.save checkpoint", name)
	case 1:
	default:
		sort.Strings(pkls)
		return nil, fmt.Errorf("%s: zip has %d data.pkl entries (%s): not a single torch.save checkpoint", name, len(pkls), strings.Join(pkls, ", "))
	}
	a.prefix = strings.TrimSuffix(pkls[0], "data.pkl")
	if f, ok := a.files[a.prefix+"byteorder"]; ok {
		b, err := a.read(f)
		if err != nil {
			return nil, err
		}
		switch string(b) {
		case "little":
		case "big":
			a.order = binary.BigEndian
		default:
			return nil, fmt.Errorf("%s: %s says %s, want little or big", name, f.Name, printable(string(b)))
		}
	}
	return a, nil
}

// read returns an entry's bytes, checked against its CRC. Entries must be stored
// uncompressed, as torch.save writes them, which also bounds them by the file size.
func (a *torchArchive) read(f *zip.File) ([]byte, error) {
	rc, err := a.open(f)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	b := make([]byte, f.UncompressedSize64)
	if _, err := io.ReadFull(rc, b); err != nil {
		return nil, fmt.Errorf("%s: %s: %v (truncated?)", a.name, f.Name, err)
	}
	if err := a.finish(f, rc); err != nil {
		return nil, err
	}
	return b, nil
}

// open checks an entry's header against the file and opens it for reading; finish then
// checks its end and CRC.
func (a *torchArchive) open(f *zip.File) (io.ReadCloser, error) {
	if f.Method != zip.Store {
		return nil, fmt.Errorf("%s: %s is compressed (method %d); torch.save stores entries uncompressed: re-save it with torch.save", a.name, f.Name, f.Method)
	}
	if f.UncompressedSize64 > uint64(a.size) || f.CompressedSize64 != f.UncompressedSize64 {
		return nil, fmt.Errorf("%s: %s claims %d bytes in a %d-byte file (truncated or corrupt?)", a.name, f.Name, f.UncompressedSize64, a.size)
	}
	if f.UncompressedSize64 > uint64(a.unread) {
		return nil, fmt.Errorf("%s: %s: entries claim more than the %d-byte file holds (overlapping entries: corrupt or crafted zip)", a.name, f.Name, a.size)
	}
	a.unread -= int64(f.UncompressedSize64)
	rc, err := f.Open()
	if err != nil {
		return nil, fmt.Errorf("%s: %s: %v (truncated or corrupt?)", a.name, f.Name, err)
	}
	return rc, nil
}

// finish reads what is left of an entry, which makes archive/zip compare the CRC.
func (a *torchArchive) finish(f *zip.File, rc io.Reader) error {
	if _, err := io.Copy(io.Discard, rc); err != nil {
		return fmt.Errorf("%s: %s: %v (corrupt file?)", a.name, f.Name, err)
	}
	return nil
}

func (a *torchArchive) unpickle() (any, error) {
	f := a.files[a.prefix+"data.pkl"]
	b, err := a.read(f)
	if err != nil {
		return nil, err
	}
	v, err := unpickle(b, torchHooks())
	if err != nil {
		var refused *refusedGlobalError
		if errors.As(err, &refused) {
			return nil, fmt.Errorf("%s: %w", a.name, err)
		}
		return nil, fmt.Errorf("%s: %s: %w", a.name, f.Name, err)
	}
	return v, nil
}

// storageBytes returns the bytes of a storage, read once per key and kept while tensors
// still to be read share it (a.refs).
func (a *torchArchive) storageBytes(st *pyStorage) ([]byte, error) {
	if b, ok := a.raw[st.key]; ok {
		return b, nil
	}
	f, err := a.storageEntry(st)
	if err != nil {
		return nil, err
	}
	b, err := a.read(f)
	if err != nil {
		return nil, err
	}
	a.raw[st.key] = b
	return b, nil
}

func (a *torchArchive) storageEntry(st *pyStorage) (*zip.File, error) {
	entry := a.prefix + "data/" + st.key
	f, ok := a.files[entry]
	if !ok {
		return nil, fmt.Errorf("%s: storage %s has no entry %s (truncated or corrupt?)", a.name, printable(st.key), printable(entry))
	}
	return f, nil
}

// tensor materialises t as a contiguous float32 model.Tensor. A contiguous view of a
// storage no other tensor uses (every tensor torch.save writes from a state_dict) is
// decoded from the entry in 1 MiB pieces straight into its float32 slice, so loading holds
// one copy of the weights, not the file's bytes as well; other storages are read whole and
// dropped once their last tensor is built.
func (a *torchArchive) tensor(key string, t *pyTensor) (model.Tensor, error) {
	st := t.storage
	fail := func(format string, args ...any) error {
		return fmt.Errorf("%s: tensor %s: %s", a.name, printable(key), fmt.Sprintf(format, args...))
	}
	numel := int64(1)
	for _, d := range t.size {
		if d != 0 && numel > a.budget/d {
			return model.Tensor{}, fail("shape %v has more elements than the file can hold (corrupt file?)", t.size)
		}
		numel *= d
	}
	if numel > a.budget {
		return model.Tensor{}, fail("shape %v needs more elements than the file can hold (overlapping views or corrupt file?)", t.size)
	}
	last := t.offset // index of the last element the view reads
	if numel > 0 {
		for i, d := range t.size {
			step := t.stride[i]
			if step != 0 && d-1 > (math.MaxInt64-last)/step {
				return model.Tensor{}, fail("strides %v reach past any storage (corrupt file?)", t.stride)
			}
			last += (d - 1) * step
		}
		if last >= st.numel {
			return model.Tensor{}, fail("view reaches element %d of storage %s, which has %d elements (corrupt file?)", last, printable(st.key), st.numel)
		}
	}
	tooShort := func(n int64) error {
		return fail("storage %s holds %d bytes, too short for %d %s elements (truncated or corrupt?)", printable(st.key), n, st.numel, strings.TrimSuffix(st.dtype.name, "Storage"))
	}
	defer func() {
		if a.refs[st.key]--; a.refs[st.key] <= 0 {
			delete(a.raw, st.key)
		}
	}()
	shape := make([]int, len(t.size))
	for i, d := range t.size {
		shape[i] = int(d)
	}
	if _, cached := a.raw[st.key]; !cached && a.refs[st.key] == 1 && rowMajor(t.size, t.stride) {
		f, err := a.storageEntry(st)
		if err != nil {
			return model.Tensor{}, err
		}
		if n := int64(f.UncompressedSize64); n/int64(st.dtype.size) < st.numel {
			return model.Tensor{}, tooShort(n)
		}
		a.budget -= numel
		out := model.Tensor{Shape: shape, Data: a.scratch.values(int(numel), a.half)}
		if err := a.stream(f, st.dtype, t.offset, out.Data); err != nil {
			return model.Tensor{}, err
		}
		return out, nil
	}
	raw, err := a.storageBytes(st)
	if err != nil {
		return model.Tensor{}, err
	}
	if int64(len(raw))/int64(st.dtype.size) < st.numel {
		return model.Tensor{}, tooShort(int64(len(raw)))
	}
	a.budget -= numel
	out := model.Tensor{Shape: shape, Data: a.scratch.values(int(numel), a.half)}
	if numel > 0 {
		gather(out.Data, raw, st.dtype, a.order, t.offset, t.size, t.stride)
	}
	return out, nil
}

// stream decodes len(dst) consecutive elements of entry f, from element offset on, into dst,
// through a buffer of at most 1 MiB, then reads the entry to its end to check its CRC.
func (a *torchArchive) stream(f *zip.File, dt dtype, offset int64, dst []float32) error {
	rc, err := a.open(f)
	if err != nil {
		return err
	}
	defer rc.Close()
	es := int64(dt.size)
	if _, err := io.CopyN(io.Discard, rc, offset*es); err != nil {
		return fmt.Errorf("%s: %s: %v (truncated?)", a.name, f.Name, err)
	}
	buf := make([]byte, min(int64(len(dst))*es, 1<<20))
	per := int64(len(buf)) / max(es, 1)
	for k := int64(0); k < int64(len(dst)); k += per {
		n := min(per, int64(len(dst))-k)
		if _, err := io.ReadFull(rc, buf[:n*es]); err != nil {
			return fmt.Errorf("%s: %s: %v (truncated?)", a.name, f.Name, err)
		}
		dt.decodeRun(dst[k:k+n], buf[:n*es], a.order)
	}
	return a.finish(f, rc)
}

// rowMajor reports whether strides are row-major for size (dimensions of one element may
// have any stride), so the view is one run of the storage.
func rowMajor(size, stride []int64) bool {
	want := int64(1)
	for i := len(size) - 1; i >= 0; i-- {
		if size[i] != 1 && stride[i] != want {
			return false
		}
		want *= size[i]
	}
	return true
}

// gather copies a strided view into dst in row-major order; the caller has checked bounds.
func gather(dst []float32, raw []byte, dt dtype, order binary.ByteOrder, offset int64, size, stride []int64) {
	es := int64(dt.size)
	if len(size) == 0 {
		dt.decodeRun(dst[:1], raw[offset*es:], order)
		return
	}
	inner := len(size) - 1
	n, step := size[inner], stride[inner]
	idx := make([]int64, inner)
	base := offset
	for k := int64(0); k < int64(len(dst)); k += n {
		if step == 1 {
			dt.decodeRun(dst[k:k+n], raw[base*es:(base+n)*es], order)
		} else {
			for j := int64(0); j < n; j++ {
				at := (base + j*step) * es
				dt.decodeRun(dst[k+j:k+j+1], raw[at:at+es], order)
			}
		}
		for d := inner - 1; d >= 0; d-- {
			idx[d]++
			base += stride[d]
			if idx[d] < size[d] {
				break
			}
			base -= stride[d] * size[d]
			idx[d] = 0
		}
	}
}

// loadTorch reads the weights of a torch.save zip.
func loadTorch(name string, r io.ReaderAt, size int64, opts Options) (*Checkpoint, error) {
	a, err := openTorchArchive(name, r, size)
	if err != nil {
		return nil, err
	}
	root, err := a.unpickle()
	if err != nil {
		return nil, err
	}
	top, ok := root.(*pyDict)
	if !ok {
		return nil, fmt.Errorf("%s: holds a %s, want a dict with model/model_ema or a state_dict", name, typeName(root))
	}
	ck := &Checkpoint{Path: name, Epoch: -1}
	sd, source, err := chooseStateDict(name, top, opts.Prefer)
	if err != nil {
		return nil, err
	}
	ck.Source = source
	if sd != top {
		if e, ok := top.get("epoch"); ok {
			if e, ok := e.(int64); ok && e >= 0 && e <= math.MaxInt32 {
				ck.Epoch = int(e)
			}
		}
		if args, ok := top.get("args"); ok {
			if ns, ok := args.(*pyObject); ok {
				args = ns.state
			}
			budget := 1 << 16
			if m, ok := plain(args, 0, &budget).(map[string]any); ok {
				ck.Args = m
			}
		}
	}
	a.half = opts.Float16
	ck.Weights, err = a.weights(sd)
	if err != nil {
		return nil, err
	}
	return ck, nil
}

// chooseStateDict picks the state_dict to load (reference.md §4.1: evaluation prefers model_ema).
func chooseStateDict(name string, top *pyDict, prefer string) (*pyDict, string, error) {
	if isStateDict(top) {
		if prefer == SourceModelEMA {
			return nil, "", fmt.Errorf("%s: holds a bare state_dict, not model_ema weights: load it without choosing model_ema", name)
		}
		return top, SourceStateDict, nil
	}
	stateDict := func(key string) (*pyDict, bool, error) {
		v, ok := top.get(key)
		if !ok || v == nil {
			return nil, false, nil
		}
		d, ok := v.(*pyDict)
		if !ok {
			return nil, true, fmt.Errorf("%s: %s is a %s, not a state_dict", name, key, typeName(v))
		}
		return d, true, nil
	}
	ema, hasEMA, err := stateDict(SourceModelEMA)
	if err != nil {
		return nil, "", err
	}
	mdl, hasModel, err := stateDict(SourceModel)
	if err != nil {
		return nil, "", err
	}
	switch {
	case hasEMA && prefer != SourceModel:
		return ema, SourceModelEMA, nil
	case hasModel && prefer != SourceModelEMA:
		return mdl, SourceModel, nil
	case hasModel:
		return nil, "", fmt.Errorf("%s: has no model_ema weights (trained with --no-model-ema?): load model instead", name)
	case hasEMA:
		return nil, "", fmt.Errorf("%s: has no model weights, only model_ema: load model_ema instead", name)
	}
	// Other trainers (Lightning, timm's train.py) nest the weights under state_dict.
	if sd, ok, err := stateDict("state_dict"); err != nil {
		return nil, "", err
	} else if ok && prefer != SourceModelEMA {
		return sd, SourceStateDict, nil
	}
	return nil, "", fmt.Errorf("%s: holds a dict with keys %s, want model, model_ema or a state_dict of tensors", name, keyList(top))
}

func isStateDict(d *pyDict) bool {
	if d.len() == 0 {
		return false
	}
	for _, v := range d.vals {
		if _, ok := v.(*pyTensor); !ok {
			return false
		}
	}
	return true
}

func keyList(d *pyDict) string {
	var names []string
	for i, k := range d.keys {
		if i == 8 {
			names = append(names, "…")
			break
		}
		if s, ok := k.(string); ok {
			names = append(names, printable(s))
		} else {
			names = append(names, typeName(k))
		}
	}
	return "[" + strings.Join(names, ", ") + "]"
}

// weights materialises a state_dict, stripping the module. prefix DataParallel adds.
func (a *torchArchive) weights(sd *pyDict) (model.Weights, error) {
	if sd.len() == 0 {
		return nil, fmt.Errorf("%s: the state_dict is empty", a.name)
	}
	strip := true
	for _, k := range sd.keys {
		if s, ok := k.(string); !ok || !strings.HasPrefix(s, "module.") {
			strip = false
			break
		}
	}
	for _, v := range sd.vals {
		if t, ok := v.(*pyTensor); ok {
			a.refs[t.storage.key]++
		}
	}
	w := make(model.Weights, sd.len())
	for i, k := range sd.keys {
		key, ok := k.(string)
		if !ok {
			return nil, fmt.Errorf("%s: state_dict key is a %s, not a string", a.name, typeName(k))
		}
		t, ok := sd.vals[i].(*pyTensor)
		if !ok {
			return nil, fmt.Errorf("%s: state_dict entry %s is a %s, not a tensor", a.name, printable(key), typeName(sd.vals[i]))
		}
		if strip {
			key = strings.TrimPrefix(key, "module.")
		}
		if _, dup := w[key]; dup {
			return nil, fmt.Errorf("%s: state_dict has %s twice", a.name, printable(key))
		}
		mt, err := a.tensor(key, t)
		if err != nil {
			return nil, err
		}
		if a.half {
			mt = keepHalf(mt)
		}
		w[key] = mt
	}
	return w, nil
}

// plain converts a decoded pickle value into JSON-like Go values for provenance (args).
// budget bounds the work, since shared references could otherwise expand exponentially.
func plain(v any, depth int, budget *int) any {
	*budget--
	if depth > 32 || *budget < 0 {
		return nil
	}
	switch v := v.(type) {
	case nil, bool, float64, string:
		return v
	case int64:
		return int(v)
	case *big.Int:
		return v.String()
	case []byte:
		return string(v)
	case pyTuple:
		return plainList(v, depth, budget)
	case *pyList:
		return plainList(v.items, depth, budget)
	case *pySet:
		return plainList(v.items, depth, budget)
	case *pyDict:
		m := make(map[string]any, v.len())
		for i, k := range v.keys {
			var ks string
			switch k := k.(type) {
			case string:
				ks = k
			case int64:
				ks = fmt.Sprint(k)
			default:
				continue
			}
			m[ks] = plain(v.vals[i], depth+1, budget)
		}
		return m
	case *pyObject:
		return plain(v.state, depth+1, budget)
	case *pyTensor:
		return fmt.Sprintf("tensor%v", v.size)
	}
	return typeName(v)
}

func plainList(items []any, depth int, budget *int) []any {
	out := make([]any, 0, len(items))
	for _, it := range items {
		out = append(out, plain(it, depth+1, budget))
	}
	return out
}
