package main

import (
	"bytes"
	"context"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/obert-gov/obert/gateway/store/storetest"
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

func TestMigrateStatus(t *testing.T) {
	db := "sqlite:" + filepath.Join(t.TempDir(), "m.db")
	env := func(string) string { return "" }
	var out, errb bytes.Buffer
	if code := run(context.Background(), []string{"migrate", "status", "--database", db}, &out, &errb, env); code != 0 {
		t.Fatalf("status exit %d: %s", code, errb.String())
	}
	if !strings.Contains(out.String(), "schema version 0 of ") || !strings.Contains(out.String(), "pending 00001_consent.sql") {
		t.Fatalf("status of a fresh database: %q", out.String())
	}
	out.Reset()
	if code := run(context.Background(), []string{"migrate", "up", "--database", db}, &out, &errb, env); code != 0 {
		t.Fatalf("migrate up exit %d: %s", code, errb.String())
	}
	out.Reset()
	run(context.Background(), []string{"migrate", "status", "--database", db}, &out, &errb, env)
	if strings.Contains(out.String(), "pending") || strings.Contains(out.String(), "version 0 of") {
		t.Fatalf("status after migrating: %q", out.String())
	}
	if code := run(context.Background(), []string{"migrate", "sideways", "--database", db}, &out, &errb, env); code != 2 {
		t.Fatalf("an unknown migrate command exit %d, want 2", code)
	}
}

// TestConcurrentMigrations: six gatewayctl processes migrate one fresh
// PostgreSQL database at the same moment; all succeed, taking turns under
// the advisory lock.
func TestConcurrentMigrations(t *testing.T) {
	if storetest.PostgresURL() == "" {
		t.Skip("OBERT_TEST_POSTGRES not set")
	}
	db, _ := storetest.SchemaURL(t, storetest.PostgresURL())
	at := time.Now().Add(1500 * time.Millisecond)
	var wg sync.WaitGroup
	for i := range 6 {
		cmd := exec.Command(os.Args[0], "-test.run=^TestMigrateProcess$", "-test.count=1")
		cmd.Env = append(os.Environ(), "OBERT_MIGRATE_CHILD_URL="+db, "OBERT_MIGRATE_CHILD_AT="+strconv.FormatInt(at.UnixMilli(), 10))
		wg.Go(func() {
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Errorf("migration process %d: %v\n%s", i, err, out)
			}
		})
	}
	wg.Wait()
	var out bytes.Buffer
	run(context.Background(), []string{"migrate", "status", "--database", db}, &out, io.Discard, func(string) string { return "" })
	if strings.Contains(out.String(), "pending") || !strings.Contains(out.String(), "schema version") {
		t.Fatalf("after three concurrent migrations: %s", out.String())
	}
}

// TestMigrateProcess is one process of TestConcurrentMigrations.
func TestMigrateProcess(t *testing.T) {
	db := os.Getenv("OBERT_MIGRATE_CHILD_URL")
	if db == "" {
		t.Skip("run by TestConcurrentMigrations")
	}
	ms, _ := strconv.ParseInt(os.Getenv("OBERT_MIGRATE_CHILD_AT"), 10, 64)
	time.Sleep(time.Until(time.UnixMilli(ms)))
	var errb bytes.Buffer
	if code := run(context.Background(), []string{"migrate", "--database", db}, io.Discard, &errb, func(string) string { return "" }); code != 0 {
		t.Fatalf("migrate exit %d: %s", code, errb.String())
	}
}
