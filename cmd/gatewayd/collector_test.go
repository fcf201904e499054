package main

import (
	"errors"
	"io/fs"
	"testing"
)

func TestCollectorDefaults(t *testing.T) {
	env := func(kv ...string) func(string) string {
		return func(k string) string {
			for i := 0; i+1 < len(kv); i += 2 {
				if kv[i] == k {
					return kv[i+1]
				}
			}
			return ""
		}
	}
	for _, tc := range []struct {
		name      string
		getenv    func(string) string
		container int64
		want      collector
	}{
		{"nothing set, no container limit", env(), 0, collector{percent: defaultGCPercent}},
		{"nothing set, 1 GiB container", env(), 1 << 30, collector{percent: defaultGCPercent, limit: 768 << 20}},
		{"GOGC set", env("GOGC", "100"), 1 << 30, collector{limit: 768 << 20}},
		{"GOGC off", env("GOGC", "off"), 0, collector{}},
		{"GOMEMLIMIT set", env("GOMEMLIMIT", "200MiB"), 1 << 30, collector{percent: defaultGCPercent}},
		{"both set", env("GOGC", "50", "GOMEMLIMIT", "1GiB"), 1 << 30, collector{}},
	} {
		if got := collectorDefaults(tc.getenv, tc.container); got != tc.want {
			t.Errorf("%s: %+v, want %+v", tc.name, got, tc.want)
		}
	}
	if a := (collector{}).attrs(); len(a) != 0 {
		t.Errorf("nothing set logs %v", a)
	}
	if a := (collector{percent: 400, limit: 768 << 20}).attrs(); len(a) != 2 {
		t.Errorf("both set log %v", a)
	}
}

func TestContainerMemoryLimit(t *testing.T) {
	files := func(m map[string]string) func(string) ([]byte, error) {
		return func(name string) ([]byte, error) {
			if v, ok := m[name]; ok {
				return []byte(v), nil
			}
			return nil, fs.ErrNotExist
		}
	}
	const v2, v1 = "/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"
	for _, tc := range []struct {
		name  string
		files map[string]string
		want  int64
	}{
		{"no cgroup files", nil, 0},
		{"v2 without a limit", map[string]string{v2: "max\n"}, 0},
		{"v2 limit", map[string]string{v2: "1073741824\n"}, 1 << 30},
		{"v2 read first", map[string]string{v2: "536870912\n", v1: "1073741824\n"}, 512 << 20},
		{"v1 limit", map[string]string{v1: "402653184\n"}, 384 << 20},
		{"v1 without a limit", map[string]string{v1: "9223372036854771712\n"}, 0},
		{"garbage", map[string]string{v2: "lots\n"}, 0},
		{"zero", map[string]string{v2: "0\n"}, 0},
	} {
		if got := containerMemoryLimit(files(tc.files)); got != tc.want {
			t.Errorf("%s: %d, want %d", tc.name, got, tc.want)
		}
	}
	unreadable := func(string) ([]byte, error) { return nil, errors.New("permission denied") }
	if got := containerMemoryLimit(unreadable); got != 0 {
		t.Errorf("unreadable: %d", got)
	}
}
