//go:build !linux

package gateway_test

import (
	"context"
	"testing"
)

// layout places the pipeline benchmark's processes on Linux only.
type layout struct{}

func sourceApart(b testing.TB) *layout {
	b.Skip("the source apart needs Linux's processor affinities")
	return nil
}

func (*layout) source(int) error                               { return nil }
func (*layout) backends(context.Context, string, string) error { return nil }
func (*layout) restore()                                       {}
