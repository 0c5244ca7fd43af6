package nn

import (
	"math"

	"github.com/resnas/resnas/internal/gemm"
	"github.com/resnas/resnas/internal/vecmath"
)

// ResidualForward adds a residual branch with drop-path: x[r] += scale[r/tokens]·f[r], one
// scale per sample (0 for a dropped path, 1/keep otherwise, as timm's drop_path); a nil scale
// means 1 everywhere. x, f (Images·tokens, C).
func ResidualForward(e *Exec, x, f gemm.Mat, tokens int, scale []float32) {
	if e.serial(x.Rows, 64) {
		scaledAddRows(x, f, tokens, scale, 0, x.Rows)
		return
	}
	e.For(x.Rows, 64, func(lo, hi int) { scaledAddRows(x, f, tokens, scale, lo, hi) })
}

// ResidualBackward adds the branch gradient df[r] += scale[r/tokens]·dx[r]; the identity
// path's gradient is dx itself, which the caller keeps.
func ResidualBackward(e *Exec, df, dx gemm.Mat, tokens int, scale []float32) {
	if e.serial(dx.Rows, 64) {
		scaledAddRows(df, dx, tokens, scale, 0, dx.Rows)
		return
	}
	e.For(dx.Rows, 64, func(lo, hi int) { scaledAddRows(df, dx, tokens, scale, lo, hi) })
}

// scaledAddRows adds scale[r/tokens]·src[r] to rows r in [lo, hi) of dst (nil scale: 1).
func scaledAddRows(dst, src gemm.Mat, tokens int, scale []float32, lo, hi int) {
	for i := lo; i < hi; i++ {
		s := float32(1)
		if scale != nil {
			s = scale[i/tokens]
		}
		if s == 0 {
			continue
		}
		vecmath.Axpy(s, row(src, i), row(dst, i))
	}
}

// DropPathScales fills scale (one per sample) for drop probability p from uniform draws u in
// [0,1): 0 where u < p, else 1/(1−p). It matches timm's floor(keep + rand) test.
func DropPathScales(scale, u []float32, p float32) {
	for i := range scale {
		if p <= 0 {
			scale[i] = 1
		} else if u[i] < p {
			scale[i] = 0
		} else {
			scale[i] = 1 / (1 - p)
		}
	}
}

// CrossEntropyForward computes per-sample label-smoothed cross-entropy (timm's
// LabelSmoothingCrossEntropy): loss = (1−s)·(−log p_y) + s·mean_j(−log p_j). It writes the
// softmax probabilities into probs (N, K) for backward and the losses into loss (N).
func CrossEntropyForward(e *Exec, loss []float32, probs, logits gemm.Mat, labels []int, smoothing float32) {
	k := logits.Cols
	for i := 0; i < logits.Rows; i++ {
		lr, pr := row(logits, i), row(probs, i)
		mx := lr[0]
		for _, v := range lr {
			mx = max(mx, v)
		}
		var s, sumLogit float64
		for _, v := range lr {
			s += math.Exp(float64(v - mx))
			sumLogit += float64(v)
		}
		lse := float64(mx) + math.Log(s)
		for j, v := range lr {
			pr[j] = float32(math.Exp(float64(v) - lse))
		}
		nll := lse - float64(lr[labels[i]])
		smooth := lse - sumLogit/float64(k)
		loss[i] = float32((1-float64(smoothing))*nll + float64(smoothing)*smooth)
	}
}

// CrossEntropyBackward adds dlogits += scale·(p − t), with t the smoothed target
// (1−s)·onehot(y) + s/K. scale is usually 1/(batch size) for a mean loss.
func CrossEntropyBackward(e *Exec, dlogits, probs gemm.Mat, labels []int, smoothing, scale float32) {
	k := probs.Cols
	u := smoothing / float32(k)
	for i := 0; i < probs.Rows; i++ {
		pr, dr := row(probs, i), row(dlogits, i)
		for j, p := range pr {
			t := u
			if j == labels[i] {
				t += 1 - smoothing
			}
			dr[j] += scale * (p - t)
		}
	}
}
