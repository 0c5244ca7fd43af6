/*
 * A CPU stand-in for the parts of libcuda.so.1 and libcublas.so.* that package cuda binds,
 * written from NVIDIA's documentation so the Go side (argument order, the row-major operand
 * swap, CUDA_MEMCPY2D layout, kernelParams, one thread owning the context) can be tested on
 * machines without a GPU. "Device memory" is host memory from malloc; every device access is
 * checked against the live allocations, and every call that needs a context fails unless the
 * calling thread made the context current, as the real driver does.
 *
 * Build: cc -shared -fPIC -O1 -o libcuda.so.1 fakecuda.c -lpthread   (no soname on purpose)
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef int CUresult;
typedef int CUdevice;
typedef unsigned long long CUdeviceptr;
typedef void *CUcontext;
typedef void *CUmodule;
typedef void *CUfunction;
typedef void *CUstream;

enum {
	CUDA_SUCCESS = 0,
	CUDA_ERROR_INVALID_VALUE = 1,
	CUDA_ERROR_OUT_OF_MEMORY = 2,
	CUDA_ERROR_NOT_INITIALIZED = 3,
	CUDA_ERROR_NO_DEVICE = 100,
	CUDA_ERROR_INVALID_DEVICE = 101,
	CUDA_ERROR_INVALID_IMAGE = 200,
	CUDA_ERROR_INVALID_CONTEXT = 201,
	CUDA_ERROR_NOT_FOUND = 500,
	CUDA_ERROR_ILLEGAL_ADDRESS = 700,
	CUDA_ERROR_NOT_SUPPORTED = 801,
};

typedef enum { CU_MEMORYTYPE_HOST = 1, CU_MEMORYTYPE_DEVICE = 2, CU_MEMORYTYPE_ARRAY = 3, CU_MEMORYTYPE_UNIFIED = 4 } CUmemorytype;

typedef struct CUDA_MEMCPY2D_st {
	size_t srcXInBytes;
	size_t srcY;
	CUmemorytype srcMemoryType;
	const void *srcHost;
	CUdeviceptr srcDevice;
	void *srcArray;
	size_t srcPitch;
	size_t dstXInBytes;
	size_t dstY;
	CUmemorytype dstMemoryType;
	void *dstHost;
	CUdeviceptr dstDevice;
	void *dstArray;
	size_t dstPitch;
	size_t WidthInBytes;
	size_t Height;
} CUDA_MEMCPY2D;

_Static_assert(sizeof(CUDA_MEMCPY2D) == 128, "CUDA_MEMCPY2D is 128 bytes on 64-bit systems");
_Static_assert(offsetof(CUDA_MEMCPY2D, srcHost) == 24, "srcHost after the padded enum");
_Static_assert(offsetof(CUDA_MEMCPY2D, dstHost) == 80, "dstHost after the padded enum");

/* ---- state and test controls ---- */

static int fake_devices = 1;
static int initialized;
static int ctx_refs;
static char the_context; /* its address is the primary context */
static __thread void *current_ctx;

#define MAX_ALLOCS 4096
static struct { char *p; size_t n; } allocs[MAX_ALLOCS];
static long launches;

/* fake_set_devices makes cuInit see n GPUs (0: CUDA_ERROR_NO_DEVICE). */
void fake_set_devices(int n) { fake_devices = n; initialized = 0; }

/* fake_live_allocations counts device allocations not yet freed. */
int fake_live_allocations(void) {
	int n = 0;
	for (int i = 0; i < MAX_ALLOCS; i++) n += allocs[i].p != NULL;
	return n;
}

/* fake_context_refs is the primary context's retain count. */
int fake_context_refs(void) { return ctx_refs; }

/* valid reports whether [p, p+n) lies inside one live allocation. */
static int valid(CUdeviceptr p, size_t n) {
	char *c = (char *)(uintptr_t)p;
	for (int i = 0; i < MAX_ALLOCS; i++) {
		if (allocs[i].p && c >= allocs[i].p && c + n <= allocs[i].p + allocs[i].n) return 1;
	}
	return 0;
}

static CUresult need_context(void) {
	if (!initialized) return CUDA_ERROR_NOT_INITIALIZED;
	if (current_ctx != &the_context || ctx_refs == 0) return CUDA_ERROR_INVALID_CONTEXT;
	return CUDA_SUCCESS;
}

/* ---- driver API ---- */

CUresult cuInit(unsigned int flags) {
	if (flags != 0) return CUDA_ERROR_INVALID_VALUE;
	if (fake_devices == 0) return CUDA_ERROR_NO_DEVICE;
	initialized = 1;
	return CUDA_SUCCESS;
}

CUresult cuDriverGetVersion(int *v) { *v = 12040; return CUDA_SUCCESS; }

CUresult cuDeviceGetCount(int *n) {
	if (!initialized) return CUDA_ERROR_NOT_INITIALIZED;
	*n = fake_devices;
	return CUDA_SUCCESS;
}

CUresult cuDeviceGet(CUdevice *d, int ordinal) {
	if (!initialized) return CUDA_ERROR_NOT_INITIALIZED;
	if (ordinal < 0 || ordinal >= fake_devices) return CUDA_ERROR_INVALID_DEVICE;
	*d = ordinal;
	return CUDA_SUCCESS;
}

CUresult cuDeviceGetName(char *name, int len, CUdevice d) {
	if (d < 0 || d >= fake_devices || len <= 0) return CUDA_ERROR_INVALID_VALUE;
	strncpy(name, "Fake CUDA Device", (size_t)len - 1);
	name[len - 1] = 0;
	return CUDA_SUCCESS;
}

CUresult cuDeviceTotalMem_v2(size_t *bytes, CUdevice d) {
	if (d < 0 || d >= fake_devices) return CUDA_ERROR_INVALID_DEVICE;
	*bytes = (size_t)1 << 30;
	return CUDA_SUCCESS;
}

CUresult cuDevicePrimaryCtxRetain(CUcontext *ctx, CUdevice d) {
	if (!initialized) return CUDA_ERROR_NOT_INITIALIZED;
	if (d < 0 || d >= fake_devices) return CUDA_ERROR_INVALID_DEVICE;
	ctx_refs++;
	*ctx = &the_context;
	return CUDA_SUCCESS;
}

CUresult cuDevicePrimaryCtxRelease_v2(CUdevice d) {
	if (d < 0 || d >= fake_devices || ctx_refs == 0) return CUDA_ERROR_INVALID_CONTEXT;
	if (--ctx_refs == 0) { /* the context goes, and its memory with it */
		for (int i = 0; i < MAX_ALLOCS; i++) { free(allocs[i].p); allocs[i].p = NULL; }
	}
	return CUDA_SUCCESS;
}

CUresult cuCtxSetCurrent(CUcontext ctx) {
	if (ctx != NULL && ctx != &the_context) return CUDA_ERROR_INVALID_CONTEXT;
	current_ctx = ctx;
	return CUDA_SUCCESS;
}

CUresult cuCtxSynchronize(void) { return need_context(); }

CUresult cuMemAlloc_v2(CUdeviceptr *p, size_t n) {
	CUresult r = need_context();
	if (r) return r;
	if (n == 0) return CUDA_ERROR_INVALID_VALUE;
	if (n > ((size_t)1 << 30)) return CUDA_ERROR_OUT_OF_MEMORY; /* the fake's "total memory" */
	for (int i = 0; i < MAX_ALLOCS; i++) {
		if (allocs[i].p == NULL) {
			allocs[i].p = malloc(n);
			if (!allocs[i].p) return CUDA_ERROR_OUT_OF_MEMORY;
			allocs[i].n = n;
			memset(allocs[i].p, 0xff, n); /* NaN garbage: nothing may rely on zeroed memory */
			*p = (CUdeviceptr)(uintptr_t)allocs[i].p;
			return CUDA_SUCCESS;
		}
	}
	return CUDA_ERROR_OUT_OF_MEMORY;
}

CUresult cuMemFree_v2(CUdeviceptr p) {
	CUresult r = need_context();
	if (r) return r;
	for (int i = 0; i < MAX_ALLOCS; i++) {
		if (allocs[i].p && (CUdeviceptr)(uintptr_t)allocs[i].p == p) {
			free(allocs[i].p);
			allocs[i].p = NULL;
			return CUDA_SUCCESS;
		}
	}
	return CUDA_ERROR_INVALID_VALUE;
}

CUresult cuMemcpyHtoD_v2(CUdeviceptr dst, const void *src, size_t n) {
	CUresult r = need_context();
	if (r) return r;
	if (!valid(dst, n)) return CUDA_ERROR_INVALID_VALUE;
	memcpy((void *)(uintptr_t)dst, src, n);
	return CUDA_SUCCESS;
}

CUresult cuMemcpyDtoH_v2(void *dst, CUdeviceptr src, size_t n) {
	CUresult r = need_context();
	if (r) return r;
	if (!valid(src, n)) return CUDA_ERROR_INVALID_VALUE;
	memcpy(dst, (void *)(uintptr_t)src, n);
	return CUDA_SUCCESS;
}

CUresult cuMemcpy2D_v2(const CUDA_MEMCPY2D *c) {
	CUresult r = need_context();
	if (r) return r;
	if (c->WidthInBytes > c->srcPitch || c->WidthInBytes > c->dstPitch) return CUDA_ERROR_INVALID_VALUE;
	if (c->srcArray || c->dstArray) return CUDA_ERROR_INVALID_VALUE;
	for (size_t y = 0; y < c->Height; y++) {
		size_t so = c->srcXInBytes + (c->srcY + y) * c->srcPitch;
		size_t dof = c->dstXInBytes + (c->dstY + y) * c->dstPitch;
		const char *s;
		char *d;
		if (c->srcMemoryType == CU_MEMORYTYPE_HOST) {
			s = (const char *)c->srcHost + so;
		} else if (c->srcMemoryType == CU_MEMORYTYPE_DEVICE) {
			if (!valid(c->srcDevice + so, c->WidthInBytes)) return CUDA_ERROR_INVALID_VALUE;
			s = (const char *)(uintptr_t)(c->srcDevice + so);
		} else {
			return CUDA_ERROR_INVALID_VALUE;
		}
		if (c->dstMemoryType == CU_MEMORYTYPE_HOST) {
			d = (char *)c->dstHost + dof;
		} else if (c->dstMemoryType == CU_MEMORYTYPE_DEVICE) {
			if (!valid(c->dstDevice + dof, c->WidthInBytes)) return CUDA_ERROR_INVALID_VALUE;
			d = (char *)(uintptr_t)(c->dstDevice + dof);
		} else {
			return CUDA_ERROR_INVALID_VALUE;
		}
		memcpy(d, s, c->WidthInBytes);
	}
	return CUDA_SUCCESS;
}

CUresult cuMemsetD32_v2(CUdeviceptr dst, unsigned int v, size_t n) {
	CUresult r = need_context();
	if (r) return r;
	if (!valid(dst, n * 4)) return CUDA_ERROR_INVALID_VALUE;
	unsigned int *p = (unsigned int *)(uintptr_t)dst;
	for (size_t i = 0; i < n; i++) p[i] = v;
	return CUDA_SUCCESS;
}

/* Modules hold their PTX text; a function is "found" if the text has ".entry <name>(". */
typedef struct { char *ptx; } fake_module;
typedef struct { char name[64]; } fake_function;

CUresult cuModuleLoadData(CUmodule *m, const void *image) {
	CUresult r = need_context();
	if (r) return r;
	const char *text = image;
	if (!strstr(text, ".version") || !strstr(text, ".target") || !strstr(text, ".entry")) return CUDA_ERROR_INVALID_IMAGE;
	fake_module *fm = malloc(sizeof *fm);
	fm->ptx = strdup(text);
	*m = fm;
	return CUDA_SUCCESS;
}

CUresult cuModuleUnload(CUmodule m) {
	CUresult r = need_context();
	if (r) return r;
	fake_module *fm = m;
	free(fm->ptx);
	free(fm);
	return CUDA_SUCCESS;
}

CUresult cuModuleGetFunction(CUfunction *f, CUmodule m, const char *name) {
	CUresult r = need_context();
	if (r) return r;
	fake_module *fm = m;
	char entry[96];
	snprintf(entry, sizeof entry, ".entry %s(", name);
	if (strlen(name) >= 64 || !strstr(fm->ptx, entry)) return CUDA_ERROR_NOT_FOUND;
	fake_function *ff = malloc(sizeof *ff); /* leaked with the module, as the fake never unloads functions */
	strcpy(ff->name, name);
	*f = ff;
	return CUDA_SUCCESS;
}

/* Only "axpy(y, x, a, n)": y[i] += a*x[i] for every thread index i < n. */
CUresult cuLaunchKernel(CUfunction f, unsigned gx, unsigned gy, unsigned gz, unsigned bx, unsigned by, unsigned bz,
                        unsigned shared, CUstream stream, void **params, void **extra) {
	CUresult r = need_context();
	if (r) return r;
	fake_function *ff = f;
	(void)shared;
	if (stream != NULL || extra != NULL || gx == 0 || bx == 0 || gy != 1 || gz != 1 || by != 1 || bz != 1) return CUDA_ERROR_INVALID_VALUE;
	if (strcmp(ff->name, "axpy") != 0) return CUDA_ERROR_NOT_SUPPORTED;
	CUdeviceptr y = *(CUdeviceptr *)params[0];
	CUdeviceptr x = *(CUdeviceptr *)params[1];
	float a = *(float *)params[2];
	unsigned n = *(unsigned *)params[3];
	size_t threads = (size_t)gx * bx;
	size_t m = threads < n ? threads : n;
	if (m > 0 && (!valid(y, m * 4) || !valid(x, m * 4))) return CUDA_ERROR_ILLEGAL_ADDRESS;
	float *yp = (float *)(uintptr_t)y;
	const float *xp = (const float *)(uintptr_t)x;
	for (size_t i = 0; i < m; i++) yp[i] += a * xp[i];
	launches++;
	return CUDA_SUCCESS;
}

static const char *error_name(CUresult r) {
	switch (r) {
	case CUDA_SUCCESS: return "CUDA_SUCCESS";
	case CUDA_ERROR_INVALID_VALUE: return "CUDA_ERROR_INVALID_VALUE";
	case CUDA_ERROR_OUT_OF_MEMORY: return "CUDA_ERROR_OUT_OF_MEMORY";
	case CUDA_ERROR_NOT_INITIALIZED: return "CUDA_ERROR_NOT_INITIALIZED";
	case CUDA_ERROR_NO_DEVICE: return "CUDA_ERROR_NO_DEVICE";
	case CUDA_ERROR_INVALID_DEVICE: return "CUDA_ERROR_INVALID_DEVICE";
	case CUDA_ERROR_INVALID_IMAGE: return "CUDA_ERROR_INVALID_IMAGE";
	case CUDA_ERROR_INVALID_CONTEXT: return "CUDA_ERROR_INVALID_CONTEXT";
	case CUDA_ERROR_NOT_FOUND: return "CUDA_ERROR_NOT_FOUND";
	case CUDA_ERROR_ILLEGAL_ADDRESS: return "CUDA_ERROR_ILLEGAL_ADDRESS";
	case CUDA_ERROR_NOT_SUPPORTED: return "CUDA_ERROR_NOT_SUPPORTED";
	}
	return NULL;
}

CUresult cuGetErrorName(CUresult r, const char **s) {
	*s = error_name(r);
	return *s ? CUDA_SUCCESS : CUDA_ERROR_INVALID_VALUE;
}

CUresult cuGetErrorString(CUresult r, const char **s) {
	switch (r) {
	case CUDA_ERROR_NO_DEVICE: *s = "no CUDA-capable device is detected"; return CUDA_SUCCESS;
	case CUDA_ERROR_INVALID_CONTEXT: *s = "invalid device context"; return CUDA_SUCCESS;
	case CUDA_ERROR_OUT_OF_MEMORY: *s = "out of memory"; return CUDA_SUCCESS;
	}
	*s = error_name(r);
	return *s ? CUDA_SUCCESS : CUDA_ERROR_INVALID_VALUE;
}

/* ---- cuBLAS (column-major, host pointer mode) ---- */

typedef int cublasStatus_t;
enum {
	CUBLAS_STATUS_SUCCESS = 0,
	CUBLAS_STATUS_NOT_INITIALIZED = 1,
	CUBLAS_STATUS_INVALID_VALUE = 7,
	CUBLAS_STATUS_EXECUTION_FAILED = 13,
};
typedef struct { int math_mode; } fake_handle;
typedef fake_handle *cublasHandle_t;

cublasStatus_t cublasCreate_v2(cublasHandle_t *h) {
	if (need_context()) return CUBLAS_STATUS_NOT_INITIALIZED;
	*h = calloc(1, sizeof(fake_handle));
	return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasDestroy_v2(cublasHandle_t h) {
	if (!h) return CUBLAS_STATUS_NOT_INITIALIZED;
	free(h);
	return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasGetVersion_v2(cublasHandle_t h, int *v) {
	if (!h) return CUBLAS_STATUS_NOT_INITIALIZED;
	*v = 120405;
	return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasSetMathMode(cublasHandle_t h, int mode) {
	if (!h) return CUBLAS_STATUS_NOT_INITIALIZED;
	h->math_mode = mode;
	return CUBLAS_STATUS_SUCCESS;
}

/* extent is the number of elements a column-major rows×cols matrix with leading dimension ld spans. */
static size_t extent(int rows, int cols, int ld) {
	if (rows == 0 || cols == 0) return 0;
	return (size_t)(cols - 1) * ld + rows;
}

static cublasStatus_t gemm1(int ta, int tb, int m, int n, int k, float alpha, const float *A, int lda,
                            const float *B, int ldb, float beta, float *C, int ldc) {
	int aRows = ta == 0 ? m : k, aCols = ta == 0 ? k : m;
	int bRows = tb == 0 ? k : n, bCols = tb == 0 ? n : k;
	int readsAB = k > 0 && alpha != 0;
	if (readsAB && (!valid((CUdeviceptr)(uintptr_t)A, 4 * extent(aRows, aCols, lda)) ||
	                !valid((CUdeviceptr)(uintptr_t)B, 4 * extent(bRows, bCols, ldb))))
		return CUBLAS_STATUS_EXECUTION_FAILED;
	if (!valid((CUdeviceptr)(uintptr_t)C, 4 * extent(m, n, ldc))) return CUBLAS_STATUS_EXECUTION_FAILED;
	double *arow = malloc(sizeof(double) * (k > 0 ? k : 1)); /* row i of op(A), contiguous */
	for (int i = 0; i < m; i++) {
		for (int l = 0; l < k && readsAB; l++) arow[l] = ta == 0 ? A[i + (size_t)l * lda] : A[l + (size_t)i * lda];
		for (int j = 0; j < n; j++) {
			double sum = 0;
			if (readsAB) {
				for (int l = 0; l < k; l++) sum += arow[l] * (tb == 0 ? B[l + (size_t)j * ldb] : B[j + (size_t)l * ldb]);
			}
			float *c = &C[i + (size_t)j * ldc];
			*c = beta == 0 ? (float)(alpha * sum) : (float)(alpha * sum + (double)beta * *c);
		}
	}
	free(arow);
	return CUBLAS_STATUS_SUCCESS;
}

static cublasStatus_t check_args(cublasHandle_t h, int ta, int tb, int m, int n, int k, int lda, int ldb, int ldc) {
	if (!h || need_context()) return CUBLAS_STATUS_NOT_INITIALIZED;
	if (ta < 0 || ta > 2 || tb < 0 || tb > 2 || m < 0 || n < 0 || k < 0) return CUBLAS_STATUS_INVALID_VALUE;
	if (lda < (ta == 0 ? (m > 1 ? m : 1) : (k > 1 ? k : 1))) return CUBLAS_STATUS_INVALID_VALUE;
	if (ldb < (tb == 0 ? (k > 1 ? k : 1) : (n > 1 ? n : 1))) return CUBLAS_STATUS_INVALID_VALUE;
	if (ldc < (m > 1 ? m : 1)) return CUBLAS_STATUS_INVALID_VALUE;
	return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasSgemm_v2(cublasHandle_t h, int ta, int tb, int m, int n, int k, const float *alpha,
                              const float *A, int lda, const float *B, int ldb, const float *beta, float *C, int ldc) {
	cublasStatus_t s = check_args(h, ta, tb, m, n, k, lda, ldb, ldc);
	if (s) return s;
	if (m == 0 || n == 0) return CUBLAS_STATUS_SUCCESS;
	return gemm1(ta != 0, tb != 0, m, n, k, *alpha, A, lda, B, ldb, *beta, C, ldc);
}

cublasStatus_t cublasSgemmStridedBatched(cublasHandle_t h, int ta, int tb, int m, int n, int k, const float *alpha,
                                         const float *A, int lda, long long sA, const float *B, int ldb, long long sB,
                                         const float *beta, float *C, int ldc, long long sC, int batch) {
	cublasStatus_t s = check_args(h, ta, tb, m, n, k, lda, ldb, ldc);
	if (s) return s;
	if (batch < 0) return CUBLAS_STATUS_INVALID_VALUE;
	if (m == 0 || n == 0) return CUBLAS_STATUS_SUCCESS;
	for (int i = 0; i < batch; i++) {
		s = gemm1(ta != 0, tb != 0, m, n, k, *alpha, A + i * sA, lda, B + i * sB, ldb, *beta, C + i * sC, ldc);
		if (s) return s;
	}
	return CUBLAS_STATUS_SUCCESS;
}
