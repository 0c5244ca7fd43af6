//go:build !(amd64 && linux)

package ccall

// Supported says whether Frame.Call works on this platform; callers fall back to purego where
// it does not.
const Supported = false
