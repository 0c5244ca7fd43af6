package main

import (
	"context"
	"errors"
)

// Commands whose engines are still being built; each returns an error until wired.
func cmdTUI(ctx context.Context, args []string, e env) error { return errors.New("tui: not wired yet") }
func cmdTrain(ctx context.Context, args []string, e env) error {
	return errors.New("train: not wired yet")
}
func cmdSearch(ctx context.Context, args []string, e env) error {
	return errors.New("search: not wired yet")
}
