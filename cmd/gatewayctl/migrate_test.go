package main

import (
	"bytes"
	"context"
	"path/filepath"
	"strings"
	"testing"
)

func TestMigrateIsIdempotent(t *testing.T) {
	db := "sqlite:" + filepath.Join(t.TempDir(), "m.db")
	env := func(string) string { return "" }
	var out, errb bytes.Buffer
	if code := run(context.Background(), []string{"migrate", "--database", db}, &out, &errb, env); code != 0 {
		t.Fatalf("migrate exit %d: %s", code, errb.String())
	}
	if !strings.Contains(out.String(), "applied 00001_consent.sql") {
		t.Fatalf("first migrate output: %q", out.String())
	}
	out.Reset()
	if code := run(context.Background(), []string{"migrate", "--database", db}, &out, &errb, env); code != 0 {
		t.Fatalf("second migrate exit %d: %s", code, errb.String())
	}
	if !strings.Contains(out.String(), "up to date") {
		t.Fatalf("second migrate output: %q", out.String())
	}
	if code := run(context.Background(), []string{"migrate"}, &out, &errb, env); code != 2 {
		t.Fatalf("migrate without database exit %d, want 2", code)
	}
	if code := run(context.Background(), []string{"frobnicate"}, &out, &errb, env); code != 2 {
		t.Fatalf("unknown command exit %d, want 2", code)
	}
}
