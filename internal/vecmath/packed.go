package vecmath

// PackedB is a matrix b of n rows by k columns — a linear layer's out × in weights — with an
// optional bias of n, laid out once for GemmPacked: 16-column panels of c, each k rows of 16
// floats (b's rows p·16 … p·16+15, transposed), zero past n. A layer's GEMM then reads its
// weights in the order the kernel consumes them instead of packing them on every call.
type PackedB struct {
	N, K  int
	data  []float32 // panels × k × 16
	bias  []float32 // panels × 16; nil without a bias
	packs int       // number of 16-column panels
}

const panelCols = 16

// PackB packs b (n × k, row stride ldb) and bias (n floats, or nil).
func PackB(b []float32, ldb, n, k int, bias []float32) *PackedB {
	if n <= 0 || k <= 0 || ldb < k {
		panic("vecmath: PackB: bad shape")
	}
	checkLen(len(b), (n-1)*ldb+k, "vecmath: PackB: b too short")
	if bias != nil {
		checkLen(len(bias), n, "vecmath: PackB: bias too short")
	}
	packs := (n + panelCols - 1) / panelCols
	p := &PackedB{N: n, K: k, packs: packs, data: make([]float32, packs*k*panelCols)}
	for j := 0; j < n; j++ {
		panel := p.data[(j/panelCols)*k*panelCols:]
		lane := j % panelCols
		row := b[j*ldb : j*ldb+k]
		for q, v := range row {
			panel[q*panelCols+lane] = v
		}
	}
	if bias != nil {
		p.bias = make([]float32, packs*panelCols)
		copy(p.bias, bias[:n])
	}
	return p
}

// GemmPackedFast says whether GemmPacked runs in assembly on this machine and build; where
// it does not, the GEMM backend is the faster choice.
func GemmPackedFast() bool { return useAVX512 }

// GemmPacked computes c = a·bᵀ + bias, or c += a·bᵀ + bias with acc: a is m × p.K (row stride
// lda), c is m × p.N (ldc). Every element sums its k products in order, adds the bias, then
// (with acc) the old value of c. With AVX-512, six rows by 32 (or 16) columns run per kernel
// call, reading a panel of b from L1 for every six rows of a; elsewhere a Go loop.
func GemmPacked(c []float32, ldc int, a []float32, lda int, m int, p *PackedB, acc bool) {
	gemmPacked(c, ldc, a, lda, m, p, acc, useAVX512)
}

// GemmPackedCols is GemmPacked for output columns [c0, c1) only (c is still the whole m ×
// p.N matrix): c0 a multiple of 16 and c1 one too, or p.N. A few rows' GEMM (one image's last
// stage) is shared between two cores by column ranges, each streaming its part of b.
func GemmPackedCols(c []float32, ldc int, a []float32, lda int, m int, p *PackedB, acc bool, c0, c1 int) {
	if c0 < 0 || c0 > c1 || c1 > p.N || c0%panelCols != 0 || (c1%panelCols != 0 && c1 != p.N) {
		panic("vecmath: GemmPackedCols: columns not on 16-column panels")
	}
	gemmPackedPanels(c, ldc, a, lda, m, p, acc, useAVX512, c0/panelCols, (c1+panelCols-1)/panelCols)
}

func gemmPacked(c []float32, ldc int, a []float32, lda int, m int, p *PackedB, acc, asm bool) {
	gemmPackedPanels(c, ldc, a, lda, m, p, acc, asm, 0, p.packs)
}

func gemmPackedPanels(c []float32, ldc int, a []float32, lda int, m int, p *PackedB, acc, asm bool, q0, q1 int) {
	if m <= 0 || q0 >= q1 {
		return
	}
	if ldc < p.N || lda < p.K {
		panic("vecmath: GemmPacked: bad leading dimension")
	}
	checkLen(len(c), (m-1)*ldc+p.N, "vecmath: GemmPacked: c too short")
	checkLen(len(a), (m-1)*lda+p.K, "vecmath: GemmPacked: a too short")
	packedRun(c, a, p, packedRows{m: m, lda: lda, ldc: ldc, segs: []int{0}, q0: q0, q1: q1}, packedFlags(acc, false), asm)
}

// ConvPacked is GemmPacked for an implicit convolution (no im2col): output row i is written at
// c[cRows[i]:], and its p.K inputs are len(segs) runs of p.K/len(segs) values of a, run s
// starting at a[aRows[i]+segs[s]] (a kernel row of taps × channels in a zero-padded HWC
// image). With relu the sum plus bias goes through ReLU before acc adds the old c.
func ConvPacked(c []float32, cRows []int, a []float32, aRows []int, segs []int, p *PackedB, relu, acc bool) {
	convPacked(c, cRows, a, aRows, segs, p, relu, acc, useAVX512)
}

func convPacked(c []float32, cRows []int, a []float32, aRows []int, segs []int, p *PackedB, relu, acc, asm bool) {
	if len(aRows) != len(cRows) || len(segs) == 0 || p.K%len(segs) != 0 {
		panic("vecmath: ConvPacked: bad rows or segments")
	}
	// packedRun checks every row against a and c as it takes it.
	packedRun(c, a, p, packedRows{m: len(aRows), aRows: aRows, cRows: cRows, segs: segs, q1: p.packs}, packedFlags(acc, relu), asm)
}

// packedRows says where GemmPacked's rows lie: m rows at strides lda and ldc, or (aRows not
// nil) at the element offsets aRows and cRows; each row of a is the runs at segs.
type packedRows struct {
	m        int
	lda, ldc int
	aRows    []int
	cRows    []int
	segs     []int

	aLo, aHi, cHi int // bounds of aRows and cRows values (packedRun)
	q0, q1        int // the panels (16-column groups of c) to compute
}

func (r *packedRows) rowA(i int) int {
	if r.aRows != nil {
		return r.aRows[i]
	}
	return i * r.lda
}

func (r *packedRows) rowC(i int) int {
	if r.cRows != nil {
		return r.cRows[i]
	}
	return i * r.ldc
}

const (
	packedAcc  = 1
	packedReLU = 2
)

func packedFlags(acc, relu bool) int {
	f := 0
	if acc {
		f |= packedAcc
	}
	if relu {
		f |= packedReLU
	}
	return f
}

// packedRun runs the kernels (asm) or the Go loop over rows r; shapes are checked by the
// callers.
func packedRun(c, a []float32, p *PackedB, r packedRows, flags int, asm bool) {
	if r.m <= 0 {
		return
	}
	segK := p.K / len(r.segs)
	if r.aRows != nil {
		// Rows at given offsets (ConvPacked): each is checked against a and c before the
		// first panel's kernel reads or writes it (Go's path checks its own indexing).
		lo, hi := r.segs[0], r.segs[0]
		for _, s := range r.segs {
			lo, hi = min(lo, s), max(hi, s)
		}
		r.aLo, r.aHi, r.cHi = -lo, len(a)-hi-segK, len(c)-p.N
	}
	if !asm {
		gemmPackedGo(c, a, p, &r, flags)
		return
	}
	n := p.N
	var segBytes [32]int
	segs := segBytes[:0]
	if len(r.segs) > len(segBytes) {
		segs = make([]int, 0, len(r.segs))
	}
	for _, s := range r.segs {
		segs = append(segs, 4*s)
	}
	var bias *float32
	panelSize := p.K * panelCols
	// Offsets of the six rows of a full block of a plain GEMM are the same for every block.
	var strided [12]int
	for j := range 6 {
		strided[j], strided[6+j] = 4*j*r.lda, 4*j*r.ldc
	}
	var offs [12]int
	for q := r.q0; q < r.q1; {
		c0 := q * panelCols
		cols := min(n-c0, 2*panelCols)
		if q+1 == r.q1 {
			cols = min(cols, panelCols)
		}
		mask := uint32(1)<<cols - 1
		wide := cols > panelCols
		if p.bias != nil {
			bias = &p.bias[c0]
		}
		b := &p.data[q*panelSize]
		for i := 0; i < r.m; {
			var a0, ci int
			o, blocks := &offs, 1
			switch {
			case r.aRows == nil && i+6 <= r.m:
				// Every full block of a plain GEMM in one call.
				a0, ci, o, blocks = i*r.lda, i*r.ldc, &strided, (r.m-i)/6
			case r.aRows == nil:
				// Rows past the last repeat it: every store of that row writes the same
				// value, since a kernel loads all old values before its first store.
				a0, ci = i*r.lda, i*r.ldc
				for j := range 6 {
					row := min(j, r.m-1-i)
					offs[j], offs[6+j] = 4*row*r.lda, 4*row*r.ldc
				}
			default:
				a0, ci = r.aRows[i], r.cRows[i]
				last := min(i+6, r.m) - 1
				for j := range 6 {
					row := min(i+j, last)
					ar, cr := r.aRows[row], r.cRows[row]
					if q == r.q0 && (ar < r.aLo || ar > r.aHi || cr < 0 || cr > r.cHi) {
						panic("vecmath: ConvPacked: a row outside a or c")
					}
					offs[j], offs[6+j] = 4*(ar-a0), 4*(cr-ci)
				}
			}
			if wide {
				gemmPacked6x32AVX512(&c[ci+c0], &a[a0], o, b, &segs[0], len(segs), segK, bias, flags, mask, blocks, 24*r.lda, 24*r.ldc)
			} else {
				gemmPacked6x16AVX512(&c[ci+c0], &a[a0], o, b, &segs[0], len(segs), segK, bias, flags, mask, blocks, 24*r.lda, 24*r.ldc)
			}
			i += 6 * blocks
		}
		if wide {
			q += 2
		} else {
			q++
		}
	}
}

// gemmPackedGo is the kernels' arithmetic in Go, in the same order per element.
func gemmPackedGo(c, a []float32, p *PackedB, r *packedRows, flags int) {
	n, segK := p.N, p.K/len(r.segs)
	j0, j1 := r.q0*panelCols, min(n, r.q1*panelCols)
	for i := 0; i < r.m; i++ {
		a0, cr := r.rowA(i), c[r.rowC(i):r.rowC(i)+n]
		for j := j0; j < j1; j++ {
			panel := p.data[(j/panelCols)*p.K*panelCols+j%panelCols:]
			var s float32
			q := 0
			for _, seg := range r.segs {
				for _, v := range a[a0+seg : a0+seg+segK] {
					s += v * panel[q*panelCols]
					q++
				}
			}
			if p.bias != nil {
				s += p.bias[j]
			}
			if flags&packedReLU != 0 {
				s = max(s, 0)
			}
			if flags&packedAcc != 0 {
				s += cr[j]
			}
			cr[j] = s
		}
	}
}

// PackConv packs a convolution's weights for ConvPacked over HWC images: w is cout × cin·k·k
// in PyTorch's order (ci, ky, kx) with row stride ldw; the packed inner dimension runs (ky,
// kx, ci), so each kernel row is one run of k·cin values of a padded image row. bias may be
// nil. scale and shift, when not nil, fold an inference BatchNorm that follows the conv:
// weights times scale, bias times scale plus shift.
func PackConv(w []float32, ldw, cout, cin, k int, bias, scale, shift []float32) *PackedB {
	kk := k * k
	if cout <= 0 || cin <= 0 || k <= 0 || ldw < cin*kk {
		panic("vecmath: PackConv: bad shape")
	}
	checkLen(len(w), (cout-1)*ldw+cin*kk, "vecmath: PackConv: w too short")
	hwc := make([]float32, cout*cin*kk)
	b := make([]float32, cout)
	for co := range cout {
		s := float32(1)
		if scale != nil {
			s = scale[co]
		}
		src, dst := w[co*ldw:co*ldw+cin*kk], hwc[co*cin*kk:(co+1)*cin*kk]
		for ci := range cin {
			for tap := range kk {
				dst[tap*cin+ci] = src[ci*kk+tap] * s
			}
		}
		if bias != nil {
			b[co] = bias[co] * s
		}
		if shift != nil {
			b[co] += shift[co]
		}
	}
	return PackB(hwc, cin*kk, cout, cin*kk, b)
}
