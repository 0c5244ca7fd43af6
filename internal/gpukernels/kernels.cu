/*
 * Elementwise and row kernels of resnas's GPU forward pass (the GEMMs are cuBLAS).
 *
 * One source, two compilers:
 *   - clang (CUDA device mode, no CUDA SDK needed) turns it into kernels_sm75.ptx and
 *     kernels_sm52.ptx, which the Go binary embeds and JIT-loads with cuModuleLoadData (gen.sh);
 *   - cc compiles it as plain C into the fake libcuda used by the tests, which runs every
 *     block and thread of a launch in turn on the CPU.
 * So that the fake's sequential run means what the GPU's parallel run means, a kernel never
 * uses shared memory or barriers: each thread owns its outputs (one element, or one row for the
 * row reductions), and grid-stride loops make any grid size correct.
 *
 * The math follows internal/vecmath: the same Cephes exp and the same rational erf, so CPU and
 * GPU differ only in summation order and fused multiply-adds.
 */

#ifdef __CUDA__
#define KERNEL extern "C" __attribute__((global)) void
#define DEVICE static __attribute__((device)) inline
#define THREAD_ID() (__nvvm_read_ptx_sreg_ctaid_x() * __nvvm_read_ptx_sreg_ntid_x() + __nvvm_read_ptx_sreg_tid_x())
#define THREAD_COUNT() (__nvvm_read_ptx_sreg_nctaid_x() * __nvvm_read_ptx_sreg_ntid_x())
#define SQRTF(x) __builtin_sqrtf(x)
#define RESTRICT __restrict__
#else
/* The fake driver sets these before calling a kernel for one thread. */
extern __thread unsigned sim_tid, sim_ntid, sim_ctaid, sim_nctaid;
#define KERNEL void
#define DEVICE static inline
#define THREAD_ID() ((long)sim_ctaid * sim_ntid + sim_tid)
#define THREAD_COUNT() ((long)sim_nctaid * sim_ntid)
#define SQRTF(x) __builtin_sqrtf(x)
#define RESTRICT restrict
#endif

#define FOR_EACH(i, n) for (long i = THREAD_ID(); i < (long)(n); i += THREAD_COUNT())

/* Cephes expf for x ≤ 0 (softmax arguments after subtracting the row maximum). */
DEVICE float exp_nonpos(float x) {
	if (!(x >= -87.33f)) return x != x ? x : 0.0f;
	float fn = x * 1.44269504088896341f + 12582912.0f - 12582912.0f;
	float r = x - fn * 0.693359375f - fn * -2.12194440e-4f;
	float y = ((((1.9875691500e-4f * r + 1.3981999507e-3f) * r + 8.3334519073e-3f) * r + 4.1665795894e-2f) * r +
	           1.6666665459e-1f) * r + 5.0000001201e-1f;
	y = y * (r * r) + r + 1.0f;
	int n = (int)fn;
	union { unsigned u; float f; } p;
	p.u = (unsigned)(n + 127) << 23;
	return y * p.f;
}

/* erf on [-4, 4] (clamped), the rational approximation Eigen and XLA use for float32. */
DEVICE float erf_approx(float x) {
	x = x < -4.0f ? -4.0f : (x > 4.0f ? 4.0f : x);
	float s = x * x;
	float p = ((((((-2.72614225801306e-10f * s + 2.77068142495902e-08f) * s + -2.10102402082508e-06f) * s +
	             -5.69250639462346e-05f) * s + -7.34990630326855e-04f) * s + -2.95459980854025e-03f) * s +
	           -1.60960333262415e-02f) * x;
	float q = (((-1.45660718464996e-05f * s + -2.13374055278905e-04f) * s + -1.68282697438203e-03f) * s +
	           -7.37332916720468e-03f) * s + -1.42647390514189e-02f;
	return p / q;
}

/* y[r, :] = LN(x[r, :])·w + b for rows r < rows, one thread per row (eps as F.layer_norm). */
KERNEL layernorm(float *RESTRICT y, int ldy, const float *RESTRICT x, int ldx, const float *RESTRICT w,
                 const float *RESTRICT b, int rows, int cols, float eps) {
	FOR_EACH(r, rows) {
		const float *xr = x + r * ldx;
		float *yr = y + r * ldy;
		float sum = 0;
		for (int c = 0; c < cols; c++) sum += xr[c];
		float mean = sum / cols;
		float sq = 0;
		for (int c = 0; c < cols; c++) {
			float d = xr[c] - mean;
			sq += d * d;
		}
		float rstd = 1.0f / SQRTF(sq / cols + eps);
		for (int c = 0; c < cols; c++) yr[c] = (xr[c] - mean) * rstd * w[c] + b[c];
	}
}

/* y[r, c] += bias[c]. */
KERNEL bias_rows(float *y, int ldy, const float *RESTRICT bias, int rows, int cols) {
	FOR_EACH(i, (long)rows * cols) {
		long r = i / cols, c = i % cols;
		y[r * ldy + c] += bias[c];
	}
}

/* y[r, c] = GELU(y[r, c] + bias[c]), the exact (erf) GELU. */
KERNEL bias_gelu(float *y, int ldy, const float *RESTRICT bias, int rows, int cols) {
	FOR_EACH(i, (long)rows * cols) {
		long r = i / cols, c = i % cols;
		float v = y[r * ldy + c] + bias[c];
		float h = 0.5f * v;
		y[r * ldy + c] = h * erf_approx(v * 0.7071067811865476f) + h;
	}
}

/* Softmax of each row in place, one thread per row (the score scale is the GEMM's alpha). */
KERNEL softmax_rows(float *y, int ldy, int rows, int cols) {
	FOR_EACH(r, rows) {
		float *yr = y + r * ldy;
		float mx = yr[0];
		for (int c = 1; c < cols; c++) mx = yr[c] > mx ? yr[c] : mx;
		float sum = 0;
		for (int c = 0; c < cols; c++) {
			float e = exp_nonpos(yr[c] - mx);
			yr[c] = e;
			sum += e;
		}
		float inv = 1.0f / sum;
		for (int c = 0; c < cols; c++) yr[c] *= inv;
	}
}

/*
 * Patches of CHW images for tokens = cols·Wᵀ: image i (src + i·cin·h·w) gives rows oy·wo+ox of
 * cols + i·ho·wo·cin·k², columns ci·k²+ky·k+kx; taps outside the image are 0.
 */
KERNEL im2col_rows(float *RESTRICT cols, const float *RESTRICT src, int batch, int cin, int h, int w, int k,
                   int stride, int pad, int ho, int wo) {
	long kk = (long)cin * k * k;
	FOR_EACH(i, (long)batch * ho * wo * kk) {
		long col = i % kk, row = i / kk;
		long img = row / ((long)ho * wo), pix = row % ((long)ho * wo);
		int oy = pix / wo, ox = pix % wo;
		int ci = col / (k * k), ky = col / k % k, kx = col % k;
		int iy = oy * stride - pad + ky, ix = ox * stride - pad + kx;
		float v = 0;
		if (iy >= 0 && iy < h && ix >= 0 && ix < w) v = src[((img * cin + ci) * h + iy) * w + ix];
		cols[i] = v;
	}
}

/*
 * The transpose, for out(Cout × HW) = W·cols: image i gives rows ci·k²+ky·k+kx and columns
 * oy·wo+ox of cols + i·cin·k²·ho·wo.
 */
KERNEL im2col_cols(float *RESTRICT cols, const float *RESTRICT src, int batch, int cin, int h, int w, int k,
                   int stride, int pad, int ho, int wo) {
	long hw = (long)ho * wo, kk = (long)cin * k * k;
	FOR_EACH(i, (long)batch * kk * hw) {
		long pix = i % hw, row = i / hw;
		long img = row / kk, r = row % kk;
		int ci = r / (k * k), ky = r / k % k, kx = r % k;
		int oy = pix / wo, ox = pix % wo;
		int iy = oy * stride - pad + ky, ix = ox * stride - pad + kx;
		float v = 0;
		if (iy >= 0 && iy < h && ix >= 0 && ix < w) v = src[((img * cin + ci) * h + iy) * w + ix];
		cols[i] = v;
	}
}

/*
 * Patches of a g×g token grid (HWC, token t = y·g+x at row t of cin values) for the
 * reduction's 3×3, stride 2, pad 1 conv: image i's grid starts at src + i·ldimg; its rows
 * oy·g2+ox of cols + i·g2²·cin·9 hold columns ci·9+ky·3+kx.
 */
KERNEL im2col_tokens(float *RESTRICT cols, const float *RESTRICT src, long ldimg, int batch, int g, int cin) {
	int g2 = g / 2;
	long kk = (long)cin * 9;
	FOR_EACH(i, (long)batch * g2 * g2 * kk) {
		long col = i % kk, row = i / kk;
		long img = row / ((long)g2 * g2), pix = row % ((long)g2 * g2);
		int oy = pix / g2, ox = pix % g2;
		int ci = col / 9, ky = col / 3 % 3, kx = col % 3;
		int iy = 2 * oy - 1 + ky, ix = 2 * ox - 1 + kx;
		float v = 0;
		if (iy >= 0 && iy < g && ix >= 0 && ix < g) v = src[img * ldimg + ((long)iy * g + ix) * cin + ci];
		cols[i] = v;
	}
}

/* x = max(0, x·scale[ch] + shift[ch]) over batch images of ch planes of hw values. */
KERNEL scale_shift_relu(float *x, const float *RESTRICT scale, const float *RESTRICT shift, int batch, int ch, int hw) {
	FOR_EACH(i, (long)batch * ch * hw) {
		int c = i / hw % ch;
		float v = x[i] * scale[c] + shift[c];
		x[i] = v > 0 ? v : 0;
	}
}

/* y += x over n values. */
KERNEL add(float *y, const float *RESTRICT x, long n) {
	FOR_EACH(i, n) y[i] += x[i];
}

/*
 * Completes stage-1 tokens in X (batch × tok × c): row 0 of each image becomes the class
 * token plus pos[0]; the patch rows, which the stem GEMM wrote, get the stem bias and pos[r].
 */
KERNEL embed_tokens(float *X, const float *RESTRICT cls, const float *RESTRICT bias, const float *RESTRICT pos,
                    int ldpos, int batch, int tok, int c) {
	FOR_EACH(i, (long)batch * tok * c) {
		int ch = i % c, r = i / c % tok;
		if (r == 0)
			X[i] = cls[ch] + pos[ch];
		else
			X[i] += bias[ch] + pos[(long)r * ldpos + ch];
	}
}

/*
 * Completes a residual spatial reduction's output (batch × (1+g2²) × cout) from its input X
 * (batch × (1+g²) × cin, before LN). The class row holds token_transform(LN(cls)) and gets its
 * bias plus the raw class token zero-padded to cout; a patch row holds the conv and gets the
 * conv bias, its position embedding and, on its first cin channels, the 2×2 average of the
 * four input tokens it covers.
 */
KERNEL reduce_finish(float *out, const float *RESTRICT x, const float *RESTRICT cls_bias,
                     const float *RESTRICT conv_bias, const float *RESTRICT pos, int ldpos, int batch, int g,
                     int cin, int cout) {
	int g2 = g / 2;
	long tok_in = 1 + (long)g * g, tok_out = 1 + (long)g2 * g2;
	FOR_EACH(i, (long)batch * tok_out * cout) {
		int ch = i % cout;
		long r = i / cout % tok_out, img = i / (cout * tok_out);
		const float *xi = x + img * tok_in * cin;
		if (r == 0) {
			out[i] += cls_bias[ch] + (ch < cin ? xi[ch] : 0.0f);
			continue;
		}
		float v = conv_bias[ch] + pos[(r - 1) * ldpos + ch];
		if (ch < cin) {
			long p = r - 1, oy = p / g2, ox = p % g2;
			const float *p00 = xi + (1 + (2 * oy) * g + 2 * ox) * cin;
			const float *p10 = xi + (1 + (2 * oy + 1) * g + 2 * ox) * cin;
			v += (p00[ch] + p00[cin + ch] + p10[ch] + p10[cin + ch]) * 0.25f;
		}
		out[i] += v;
	}
}

#ifndef __CUDA__
/*
 * The fake driver's view of the kernels: each entry unpacks cuLaunchKernel's kernelParams
 * (pointers to the argument values, in order) and calls the kernel for the current thread.
 */
#define P(type, k) (*(type *)params[k])
#define PTR(k) ((float *)(uintptr_t)P(unsigned long long, k))

static void run_layernorm(void **params) {
	layernorm(PTR(0), P(int, 1), PTR(2), P(int, 3), PTR(4), PTR(5), P(int, 6), P(int, 7), P(float, 8));
}
static void run_bias_rows(void **params) { bias_rows(PTR(0), P(int, 1), PTR(2), P(int, 3), P(int, 4)); }
static void run_bias_gelu(void **params) { bias_gelu(PTR(0), P(int, 1), PTR(2), P(int, 3), P(int, 4)); }
static void run_softmax_rows(void **params) { softmax_rows(PTR(0), P(int, 1), P(int, 2), P(int, 3)); }
static void run_im2col_rows(void **params) {
	im2col_rows(PTR(0), PTR(1), P(int, 2), P(int, 3), P(int, 4), P(int, 5), P(int, 6), P(int, 7), P(int, 8),
	            P(int, 9), P(int, 10));
}
static void run_im2col_cols(void **params) {
	im2col_cols(PTR(0), PTR(1), P(int, 2), P(int, 3), P(int, 4), P(int, 5), P(int, 6), P(int, 7), P(int, 8),
	            P(int, 9), P(int, 10));
}
static void run_im2col_tokens(void **params) {
	im2col_tokens(PTR(0), PTR(1), P(long, 2), P(int, 3), P(int, 4), P(int, 5));
}
static void run_scale_shift_relu(void **params) {
	scale_shift_relu(PTR(0), PTR(1), PTR(2), P(int, 3), P(int, 4), P(int, 5));
}
static void run_add(void **params) { add(PTR(0), PTR(1), P(long, 2)); }
static void run_embed_tokens(void **params) {
	embed_tokens(PTR(0), PTR(1), PTR(2), PTR(3), P(int, 4), P(int, 5), P(int, 6), P(int, 7));
}
static void run_reduce_finish(void **params) {
	reduce_finish(PTR(0), PTR(1), PTR(2), PTR(3), PTR(4), P(int, 5), P(int, 6), P(int, 7), P(int, 8), P(int, 9));
}

typedef struct {
	const char *name;
	void (*run)(void **params);
} sim_kernel;

static const sim_kernel sim_kernels[] = {
	{"layernorm", run_layernorm},
	{"bias_rows", run_bias_rows},
	{"bias_gelu", run_bias_gelu},
	{"softmax_rows", run_softmax_rows},
	{"im2col_rows", run_im2col_rows},
	{"im2col_cols", run_im2col_cols},
	{"im2col_tokens", run_im2col_tokens},
	{"scale_shift_relu", run_scale_shift_relu},
	{"add", run_add},
	{"embed_tokens", run_embed_tokens},
	{"reduce_finish", run_reduce_finish},
	{0, 0},
};
#endif
