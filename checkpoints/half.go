package checkpoints

import "github.com/resnas/resnas/model"

// IEEE 754 binary16 conversions for float16 storage live in model (half.go); these names
// keep this package's readers and writers short.

func halfToFloat32(h uint16) float32 { return model.HalfToFloat32(h) }

func float32ToHalf(f float32) uint16 { return model.Float32ToHalf(f) }

func fitsHalf(data []float32) bool { return model.FitsHalf(data) }
