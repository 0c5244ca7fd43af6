package distributed

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/nats-io/nats.go/jetstream"
)

// Files moves the checkpoint and the shards from the driver to workers that lack them,
// through JetStream's object store; objects are named by their content's digest.
type Files struct {
	js  jetstream.JetStream
	obs jetstream.ObjectStore
}

func (f *Files) store(ctx context.Context) (jetstream.ObjectStore, error) {
	if f.obs != nil {
		return f.obs, nil
	}
	obs, err := f.js.CreateOrUpdateObjectStore(ctx, jetstream.ObjectStoreConfig{Bucket: FilesBucket, Storage: jetstream.FileStorage})
	if err != nil {
		return nil, fmt.Errorf("object store %s: %w", FilesBucket, err)
	}
	f.obs = obs
	return obs, nil
}

// Put uploads path under name unless an object of that name is there already.
func (f *Files) Put(ctx context.Context, name, path string) error {
	obs, err := f.store(ctx)
	if err != nil {
		return err
	}
	if _, err := obs.GetInfo(ctx, name); err == nil {
		return nil
	}
	r, err := os.Open(path)
	if err != nil {
		return err
	}
	defer r.Close()
	_, err = obs.Put(ctx, jetstream.ObjectMeta{Name: name}, r)
	return err
}

// Get downloads name into path (whole or not at all); ok is false when the driver did not
// publish it.
func (f *Files) Get(ctx context.Context, name, path string) (ok bool, err error) {
	if f == nil || f.js == nil {
		return false, nil
	}
	obs, err := f.store(ctx)
	if err != nil {
		return false, err
	}
	if _, err := obs.GetInfo(ctx, name); errors.Is(err, jetstream.ErrObjectNotFound) {
		return false, nil
	} else if err != nil { // a timeout or a broken link is not "the driver has no copy"
		return false, fmt.Errorf("looking up %s on the driver: %w", name, err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return false, err
	}
	tmp := path + ".part"
	if err := obs.GetFile(ctx, name, tmp); err != nil {
		os.Remove(tmp)
		return false, fmt.Errorf("fetching %s from the driver: %w", name, err)
	}
	return true, os.Rename(tmp, path)
}

// NewFiles gives the driver its side of the object store.
func NewFiles(js jetstream.JetStream) *Files { return &Files{js: js} }
