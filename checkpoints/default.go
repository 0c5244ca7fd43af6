package checkpoints

import (
	"embed"
	"fmt"
	"io/fs"

	"github.com/resnas/resnas/data"
)

// The shipped default: a Fashion-MNIST supernet trained by resnas itself, with its
// validation shards, embedded so the explorer runs offline with nothing on disk.
//
//go:embed default
var defaultFS embed.FS

const defaultWeights = "default/supernet.safetensors"

// Default loads the shipped default supernet.
func Default() (*Checkpoint, error) {
	b, err := fs.ReadFile(defaultFS, defaultWeights)
	if err != nil {
		return nil, fmt.Errorf("this build ships no default supernet (%s missing); pass --checkpoint FILE", defaultWeights)
	}
	return LoadBytes("default", b, Options{})
}

// DefaultSubVal opens the shipped default's sub-val shards.
func DefaultSubVal() (*data.Set, error) { return openDefaultShards("default/sub-val") }

// DefaultTest opens the shipped default's test shards.
func DefaultTest() (*data.Set, error) { return openDefaultShards("default/test") }

func openDefaultShards(dir string) (*data.Set, error) {
	if _, err := fs.Stat(defaultFS, dir+"/manifest.json"); err != nil {
		return nil, fmt.Errorf("this build ships no %s shards; pass --data DIR", dir)
	}
	return data.OpenFS(defaultFS, dir)
}
