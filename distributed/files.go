package distributed

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/resnas/resnas/internal/atomicfile"
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

// PutBytes uploads b under name, replacing what was there.
func (f *Files) PutBytes(ctx context.Context, name string, b []byte) error {
	obs, err := f.store(ctx)
	if err != nil {
		return err
	}
	_, err = obs.PutBytes(ctx, name, b)
	return err
}

// GetBytes reads name; ok is false when the driver did not publish it.
func (f *Files) GetBytes(ctx context.Context, name string) (b []byte, ok bool, err error) {
	if f == nil || f.js == nil {
		return nil, false, nil
	}
	obs, err := f.store(ctx)
	if err != nil {
		return nil, false, err
	}
	b, err = obs.GetBytes(ctx, name)
	switch {
	case errors.Is(err, jetstream.ErrObjectNotFound):
		return nil, false, nil
	case err != nil: // a timeout or a broken link is not "the driver has no copy"
		return nil, false, fmt.Errorf("fetching %s from the driver: %w", name, err)
	}
	return b, true, nil
}

// Get downloads name into path, whole or not at all; ok is false when the driver did not
// publish it.
func (f *Files) Get(ctx context.Context, name, path string) (ok bool, err error) {
	if f == nil || f.js == nil {
		return false, nil
	}
	obs, err := f.store(ctx)
	if err != nil {
		return false, err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return false, err
	}
	err = atomicfile.WriteFunc(path, func(w io.Writer) error {
		r, err := obs.Get(ctx, name)
		if err != nil {
			return err
		}
		defer r.Close()
		_, err = io.Copy(w, r)
		return err
	})
	switch {
	case errors.Is(err, jetstream.ErrObjectNotFound):
		return false, nil
	case err != nil: // a timeout or a broken link is not "the driver has no copy"
		return false, fmt.Errorf("fetching %s from the driver: %w", name, err)
	}
	return true, nil
}

// NewFiles gives the driver its side of the object store.
func NewFiles(js jetstream.JetStream) *Files { return &Files{js: js} }
