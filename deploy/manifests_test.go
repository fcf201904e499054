// Package deploy holds the files that run Obert outside development: the
// environment template, the systemd unit, the Kubernetes manifests and a
// reverse proxy example. Its tests check the Kubernetes manifests against
// the official API types and against what gatewayd reads, so that a
// misspelt field or a variable gatewayd does not know fails here and not
// on a cluster.
package deploy

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"
)

// manifestGlobs are the manifests: the ones applied as they are, and the
// examples kept apart so that applying the directory never overwrites a
// real Secret with a placeholder.
var manifestGlobs = []string{"kubernetes/*.yaml", "kubernetes/*/*.yaml"}

// namespace is where every object lives; the network policies name it too.
const namespace = "obert"

// kinds maps each kind the manifests may hold to its official type. Any
// other kind is refused.
var kinds = map[string]func() any{
	"apps/v1 Deployment":                 func() any { return new(appsv1.Deployment) },
	"batch/v1 Job":                       func() any { return new(batchv1.Job) },
	"v1 Service":                         func() any { return new(corev1.Service) },
	"v1 ConfigMap":                       func() any { return new(corev1.ConfigMap) },
	"v1 Secret":                          func() any { return new(corev1.Secret) },
	"v1 ServiceAccount":                  func() any { return new(corev1.ServiceAccount) },
	"policy/v1 PodDisruptionBudget":      func() any { return new(policyv1.PodDisruptionBudget) },
	"networking.k8s.io/v1 NetworkPolicy": func() any { return new(networkingv1.NetworkPolicy) },
}

// manifest is one YAML document, decoded.
type manifest struct {
	where string // file and document number, for messages
	kind  string // "apiVersion kind"
	obj   any    // a pointer to the official type
}

// manifests holds every document of the deployment, by type.
type manifests struct {
	all             []manifest
	deployments     []*appsv1.Deployment
	jobs            []*batchv1.Job
	services        []*corev1.Service
	configMaps      map[string]*corev1.ConfigMap
	secrets         map[string]*corev1.Secret
	serviceAccounts map[string]*corev1.ServiceAccount
	pdbs            []*policyv1.PodDisruptionBudget
	netpols         []*networkingv1.NetworkPolicy
}

var docSeparator = regexp.MustCompile(`(?m)^---[ \t]*$`)

// load reads and strictly decodes every manifest, failing the test on the
// first document that does not decode.
func load(t *testing.T) *manifests {
	t.Helper()
	var files []string
	for _, g := range manifestGlobs {
		m, err := filepath.Glob(g)
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, m...)
	}
	if len(files) == 0 {
		t.Fatalf("no manifests under %v", manifestGlobs)
	}
	ms := &manifests{
		configMaps:      map[string]*corev1.ConfigMap{},
		secrets:         map[string]*corev1.Secret{},
		serviceAccounts: map[string]*corev1.ServiceAccount{},
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for i, d := range docSeparator.Split(string(b), -1) {
			where := fmt.Sprintf("%s#%d", f, i+1)
			m, ok, err := decode([]byte(d))
			if err != nil {
				t.Fatalf("%s: %v", where, err)
			}
			if !ok {
				continue // comments only
			}
			m.where = where
			ms.add(t, m)
		}
	}
	return ms
}

// decode turns one YAML document into its official type: the fields must
// all be known to that type, spelt exactly (Kubernetes matches field names
// case-sensitively, encoding/json does not), and none may appear twice.
func decode(y []byte) (manifest, bool, error) {
	j, err := yaml.YAMLToJSONStrict(y)
	if err != nil {
		return manifest{}, false, err
	}
	if string(bytes.TrimSpace(j)) == "null" {
		return manifest{}, false, nil
	}
	var tm struct {
		APIVersion string `json:"apiVersion"`
		Kind       string `json:"kind"`
	}
	if err := json.Unmarshal(j, &tm); err != nil {
		return manifest{}, false, err
	}
	kind := tm.APIVersion + " " + tm.Kind
	newObj, ok := kinds[kind]
	if !ok {
		return manifest{}, false, fmt.Errorf("unknown kind %q (known: %v)", kind, slices.Sorted(maps.Keys(kinds)))
	}
	obj := newObj()
	dec := json.NewDecoder(bytes.NewReader(j))
	dec.DisallowUnknownFields()
	if err := dec.Decode(obj); err != nil {
		return manifest{}, false, fmt.Errorf("%s: %w", kind, err)
	}
	var generic any
	if err := json.Unmarshal(j, &generic); err != nil {
		return manifest{}, false, err
	}
	if bad := exactFields("", generic, reflect.TypeOf(obj)); len(bad) > 0 {
		return manifest{}, false, fmt.Errorf("%s: unknown fields %s", kind, strings.Join(bad, ", "))
	}
	return manifest{kind: kind, obj: obj}, true, nil
}

var jsonUnmarshaler = reflect.TypeFor[json.Unmarshaler]()

// exactFields lists the keys of v that name no field of t exactly.
func exactFields(path string, v any, t reflect.Type) []string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if reflect.PointerTo(t).Implements(jsonUnmarshaler) {
		return nil // quantities, int-or-string, times: their own syntax
	}
	var bad []string
	switch t.Kind() {
	case reflect.Struct:
		obj, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		fields := jsonFields(t)
		for k, sub := range obj {
			ft, ok := fields[k]
			if !ok {
				bad = append(bad, path+"."+k)
				continue
			}
			bad = append(bad, exactFields(path+"."+k, sub, ft)...)
		}
	case reflect.Map:
		if obj, ok := v.(map[string]any); ok {
			for k, sub := range obj {
				bad = append(bad, exactFields(path+"."+k, sub, t.Elem())...)
			}
		}
	case reflect.Slice, reflect.Array:
		if arr, ok := v.([]any); ok {
			for i, sub := range arr {
				bad = append(bad, exactFields(fmt.Sprintf("%s[%d]", path, i), sub, t.Elem())...)
			}
		}
	}
	slices.Sort(bad)
	return bad
}

// jsonFields maps the JSON names of t's fields, inlined structs included,
// to their types.
func jsonFields(t reflect.Type) map[string]reflect.Type {
	fields := map[string]reflect.Type{}
	for f := range t.Fields() {
		if !f.IsExported() {
			continue
		}
		tag := f.Tag.Get("json")
		name, _, _ := strings.Cut(tag, ",")
		if name == "-" {
			continue
		}
		if f.Anonymous && name == "" {
			ft := f.Type
			if ft.Kind() == reflect.Pointer {
				ft = ft.Elem()
			}
			for k, v := range jsonFields(ft) {
				fields[k] = v
			}
			continue
		}
		if name == "" {
			name = f.Name
		}
		fields[name] = f.Type
	}
	return fields
}

func (ms *manifests) add(t *testing.T, m manifest) {
	t.Helper()
	ms.all = append(ms.all, m)
	named := func(kind, name string, seen bool) {
		if seen {
			t.Errorf("%s: a second %s named %q", m.where, kind, name)
		}
	}
	switch o := m.obj.(type) {
	case *appsv1.Deployment:
		ms.deployments = append(ms.deployments, o)
	case *batchv1.Job:
		ms.jobs = append(ms.jobs, o)
	case *corev1.Service:
		ms.services = append(ms.services, o)
	case *corev1.ConfigMap:
		_, seen := ms.configMaps[o.Name]
		named("ConfigMap", o.Name, seen)
		ms.configMaps[o.Name] = o
	case *corev1.Secret:
		_, seen := ms.secrets[o.Name]
		named("Secret", o.Name, seen)
		ms.secrets[o.Name] = o
	case *corev1.ServiceAccount:
		ms.serviceAccounts[o.Name] = o
	case *policyv1.PodDisruptionBudget:
		ms.pdbs = append(ms.pdbs, o)
	case *networkingv1.NetworkPolicy:
		ms.netpols = append(ms.netpols, o)
	}
}

func TestManifestsDecodeStrictly(t *testing.T) {
	t.Parallel()
	ms := load(t)
	for _, m := range ms.all {
		om := m.obj.(metav1.Object)
		if om.GetName() == "" {
			t.Errorf("%s: %s without a name", m.where, m.kind)
		}
		if om.GetNamespace() != namespace {
			t.Errorf("%s: %s %s is in namespace %q, not %q", m.where, m.kind, om.GetName(), om.GetNamespace(), namespace)
		}
	}
	for _, want := range []string{"apps/v1 Deployment", "batch/v1 Job", "v1 Service", "v1 ConfigMap", "v1 Secret", "policy/v1 PodDisruptionBudget", "networking.k8s.io/v1 NetworkPolicy"} {
		if !slices.ContainsFunc(ms.all, func(m manifest) bool { return m.kind == want }) {
			t.Errorf("no %s among the manifests", want)
		}
	}
}

// TestDecodeRefuses shows the decoding is strict: each document is valid
// but for one mistake.
func TestDecodeRefuses(t *testing.T) {
	t.Parallel()
	for name, doc := range map[string]string{
		"unknown kind": "apiVersion: v1\nkind: Pod2\nmetadata: {name: x}\n",
		"unknown field": "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: x}\n" +
			"spec:\n  replicas: 3\n  template:\n    spec:\n      containers:\n        - name: c\n          readynessProbe: {}\n",
		"field in the wrong case": "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: x}\n" +
			"spec:\n  Replicas: 3\n",
		"field twice":      "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\ndata: {A: a}\ndata: {B: b}\n",
		"wrong apiVersion": "apiVersion: extensions/v1beta1\nkind: Deployment\nmetadata: {name: x}\n",
	} {
		if _, _, err := decode([]byte(doc)); err == nil {
			t.Errorf("%s: decoded without error", name)
		} else {
			t.Logf("%s: %v", name, err)
		}
	}
}
