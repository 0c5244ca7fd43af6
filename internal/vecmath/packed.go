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

func gemmPacked(c []float32, ldc int, a []float32, lda int, m int, p *PackedB, acc, asm bool) {
	if m <= 0 {
		return
	}
	n, k := p.N, p.K
	if ldc < n || lda < k {
		panic("vecmath: GemmPacked: bad leading dimension")
	}
	checkLen(len(c), (m-1)*ldc+n, "vecmath: GemmPacked: c too short")
	checkLen(len(a), (m-1)*lda+k, "vecmath: GemmPacked: a too short")
	if !asm {
		gemmPackedGo(c, ldc, a, lda, m, p, acc)
		return
	}
	var full, tail [12]int
	for i := range 6 {
		full[i], full[6+i] = 4*i*lda, 4*i*ldc
	}
	m6 := m - m%6
	if r := m - m6; r > 0 {
		// The last r < 6 rows: rows past r repeat row r−1, whose result every store writes
		// again (all old values are loaded before the first store).
		for i := range 6 {
			j := min(i, r-1)
			tail[i], tail[6+i] = 4*j*lda, 4*j*ldc
		}
	}
	var bias *float32
	panelSize := k * panelCols
	for q := 0; q < p.packs; {
		c0 := q * panelCols
		cols := min(n-c0, 2*panelCols)
		mask := uint32(1)<<cols - 1
		wide := cols > panelCols
		if p.bias != nil {
			bias = &p.bias[c0]
		}
		b := &p.data[q*panelSize]
		for i := 0; i < m; i += 6 {
			offs := &full
			if i >= m6 {
				offs = &tail
			}
			if wide {
				gemmPacked6x32AVX512(&c[i*ldc+c0], &a[i*lda], offs, b, k, bias, acc, mask)
			} else {
				gemmPacked6x16AVX512(&c[i*ldc+c0], &a[i*lda], offs, b, k, bias, acc, mask)
			}
		}
		if wide {
			q += 2
		} else {
			q++
		}
	}
}

// gemmPackedGo is GemmPacked's arithmetic in Go, in the same order per element.
func gemmPackedGo(c []float32, ldc int, a []float32, lda int, m int, p *PackedB, acc bool) {
	n, k := p.N, p.K
	for i := 0; i < m; i++ {
		ar := a[i*lda : i*lda+k]
		cr := c[i*ldc : i*ldc+n]
		for j := range cr {
			panel := p.data[(j/panelCols)*k*panelCols+j%panelCols:]
			var s float32
			for q, v := range ar {
				s += v * panel[q*panelCols]
			}
			if p.bias != nil {
				s += p.bias[j]
			}
			if acc {
				s += cr[j]
			}
			cr[j] = s
		}
	}
}
