// Package shipped is the supernet resnas ships: a Fashion-MNIST supernet trained by resnas
// itself, with its validation and test shards, embedded so the explorer runs offline with
// nothing on disk. It is its own package so that checkpoints (the file formats) does not
// depend on data (the shards).
package shipped

import (
	"embed"
	"fmt"
	"io/fs"

	"github.com/resnas/resnas/checkpoints"
	"github.com/resnas/resnas/data"
)

//go:embed default
var defaultFS embed.FS

const defaultWeights = "default/supernet.safetensors"

// Checkpoint loads the shipped default supernet.
func Checkpoint() (*checkpoints.Checkpoint, error) { return CheckpointWith(checkpoints.Options{}) }

// CheckpointWith loads the shipped default supernet with opts (Float16: each tensor rounded
// as it is decoded).
func CheckpointWith(opts checkpoints.Options) (*checkpoints.Checkpoint, error) {
	b, err := fs.ReadFile(defaultFS, defaultWeights)
	if err != nil {
		return nil, fmt.Errorf("this build ships no default supernet (%s missing); pass --checkpoint FILE", defaultWeights)
	}
	return checkpoints.LoadBytes("default", b, opts)
}

// SubVal opens the shipped default's sub-val shards.
func SubVal() (*data.Set, error) { return openShards("default/sub-val") }

// Test opens the shipped default's test shards.
func Test() (*data.Set, error) { return openShards("default/test") }

func openShards(dir string) (*data.Set, error) {
	if _, err := fs.Stat(defaultFS, dir+"/manifest.json"); err != nil {
		return nil, fmt.Errorf("this build ships no %s shards; pass --data DIR", dir)
	}
	return data.OpenFS(defaultFS, dir)
}
