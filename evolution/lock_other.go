//go:build !unix

package evolution

import "os"

// lockFile does nothing where flock is missing; concurrent searches on one journal are then
// the user's to avoid.
func lockFile(*os.File) error { return nil }
