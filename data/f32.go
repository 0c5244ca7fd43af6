package data

import (
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"os"
)

// ReadFloat32 reads a raw input file of exactly n little-endian float32 values (NCHW images,
// already normalised, as resnas predict takes them).
func ReadFloat32(path string, n int) ([]float32, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if st.IsDir() {
		return nil, fmt.Errorf("%s is a directory; give a file of float32 NCHW values", path)
	}
	if st.Size() != int64(n)*4 {
		return nil, fmt.Errorf("%s: %d bytes, but --shape needs %d values = %d bytes", path, st.Size(), n, int64(n)*4)
	}
	buf := make([]byte, n*4)
	if _, err := io.ReadFull(f, buf); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	x := make([]float32, n)
	for i := range x {
		x[i] = math.Float32frombits(binary.LittleEndian.Uint32(buf[i*4:]))
	}
	return x, nil
}
