package deploy

import (
	"go/ast"
	"go/parser"
	"go/token"
	"net"
	"net/url"
	"path"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
)

// configFile is where gatewayd reads its variables.
const configFile = "../gateway/config/config.go"

// secretVars are the variables whose values are secrets: they come from a
// Secret (valueFrom.secretKeyRef), never from a ConfigMap or inline.
var secretVars = []string{
	"OBERT_SECRET_KEY",
	"OBERT_AUDIT_SIGNING_KEY",
	"OBERT_IDCAT_CLIENT_SECRET",
	"OBERT_DATABASE_URL", // carries the database password
	"OBERT_SMTP_URL",     // carries the relay's password
	"VAULT_TOKEN",
}

// The Vault Agent Injector's annotations that share the agent's token with
// the pod's containers, in a file under its own volume.
const (
	agentInject      = "vault.hashicorp.com/agent-inject"
	agentInjectToken = "vault.hashicorp.com/agent-inject-token"
	agentTokenFile   = "/vault/secrets/token"
)

var envName = regexp.MustCompile(`^(OBERT_[A-Z0-9_]+|VAULT_TOKEN)$`)

// knownVars reads the variable names gatewayd knows from its configuration
// package: every string literal there that is exactly such a name.
func knownVars(t *testing.T) map[string]bool {
	t.Helper()
	f, err := parser.ParseFile(token.NewFileSet(), configFile, nil, parser.SkipObjectResolution)
	if err != nil {
		t.Fatal(err)
	}
	known := map[string]bool{}
	ast.Inspect(f, func(n ast.Node) bool {
		if lit, ok := n.(*ast.BasicLit); ok && lit.Kind == token.STRING {
			if s, err := strconv.Unquote(lit.Value); err == nil && envName.MatchString(s) {
				known[s] = true
			}
		}
		return true
	})
	for _, v := range []string{"OBERT_MODE", "OBERT_DATABASE_URL", "OBERT_SHUTDOWN_TIMEOUT", "VAULT_TOKEN"} {
		if !known[v] {
			t.Fatalf("%s does not name %s: has the configuration moved?", configFile, v)
		}
	}
	return known
}

// theDeployment is the one Deployment, gatewayd's.
func theDeployment(t *testing.T, ms *manifests) *appsv1.Deployment {
	t.Helper()
	if len(ms.deployments) != 1 {
		t.Fatalf("%d Deployments, want 1 (gatewayd)", len(ms.deployments))
	}
	return ms.deployments[0]
}

func container(t *testing.T, spec *corev1.PodSpec, name string) *corev1.Container {
	t.Helper()
	for i := range spec.Containers {
		if spec.Containers[i].Name == name {
			return &spec.Containers[i]
		}
	}
	t.Fatalf("no container %q", name)
	return nil
}

// podSpecs are every pod template of the manifests, by owner.
func podSpecs(ms *manifests) map[string]*corev1.PodTemplateSpec {
	pods := map[string]*corev1.PodTemplateSpec{}
	for _, d := range ms.deployments {
		pods["Deployment "+d.Name] = &d.Spec.Template
	}
	for _, j := range ms.jobs {
		pods["Job "+j.Name] = &j.Spec.Template
	}
	return pods
}

func allContainers(spec *corev1.PodSpec) []corev1.Container {
	return slices.Concat(spec.InitContainers, spec.Containers)
}

func TestDeployment(t *testing.T) {
	t.Parallel()
	ms := load(t)
	d := theDeployment(t, ms)
	if d.Spec.Replicas == nil || *d.Spec.Replicas < 2 {
		t.Errorf("replicas %v, want at least 2", d.Spec.Replicas)
	}
	if d.Spec.Strategy.Type != appsv1.RollingUpdateDeploymentStrategyType {
		t.Errorf("strategy %q, want RollingUpdate", d.Spec.Strategy.Type)
	}
	pod := &d.Spec.Template.Spec
	c := container(t, pod, "gatewayd")
	probe := func(what string, p *corev1.Probe, want string) {
		if p == nil || p.HTTPGet == nil {
			t.Errorf("%s probe: none by HTTP GET", what)
			return
		}
		if p.HTTPGet.Path != want {
			t.Errorf("%s probe on %q, want %q", what, p.HTTPGet.Path, want)
		}
		if !slices.ContainsFunc(c.Ports, func(cp corev1.ContainerPort) bool {
			return cp.Name == p.HTTPGet.Port.String() || strconv.Itoa(int(cp.ContainerPort)) == p.HTTPGet.Port.String()
		}) {
			t.Errorf("%s probe on port %s, which the container does not declare", what, p.HTTPGet.Port.String())
		}
	}
	probe("readiness", c.ReadinessProbe, "/readyz")
	probe("liveness", c.LivenessProbe, "/healthz")

	spread := slices.ContainsFunc(pod.TopologySpreadConstraints, func(s corev1.TopologySpreadConstraint) bool {
		return s.TopologyKey == "kubernetes.io/hostname" && s.WhenUnsatisfiable == corev1.DoNotSchedule &&
			selects(t, s.LabelSelector, d.Spec.Template.Labels)
	})
	anti := pod.Affinity != nil && pod.Affinity.PodAntiAffinity != nil &&
		slices.ContainsFunc(pod.Affinity.PodAntiAffinity.RequiredDuringSchedulingIgnoredDuringExecution, func(a corev1.PodAffinityTerm) bool {
			return a.TopologyKey == "kubernetes.io/hostname" && selects(t, a.LabelSelector, d.Spec.Template.Labels)
		})
	if !spread && !anti {
		t.Error("replicas are not spread across nodes (no topology spread or anti-affinity on kubernetes.io/hostname)")
	}

	// Kubernetes puts OBERT_SERVICE_HOST and the like in the environment
	// for a Service named obert: names gatewayd does not read.
	if pod.EnableServiceLinks == nil || *pod.EnableServiceLinks {
		t.Error("enableServiceLinks is not false")
	}

	env := environment(t, ms, c)
	if env["OBERT_MODE"] != "prod" {
		t.Errorf("OBERT_MODE %q, want prod", env["OBERT_MODE"])
	}
	// SIGTERM comes after the preStop hook; gatewayd then has
	// OBERT_SHUTDOWN_TIMEOUT to finish requests in flight and as long again
	// to close (cmd/gatewayd: ops.Serve, then Gateway.Close).
	shutdown, err := time.ParseDuration(env["OBERT_SHUTDOWN_TIMEOUT"])
	if err != nil {
		t.Fatalf("OBERT_SHUTDOWN_TIMEOUT: %v", err)
	}
	var preStop time.Duration
	if c.Lifecycle != nil && c.Lifecycle.PreStop != nil && c.Lifecycle.PreStop.Sleep != nil {
		preStop = time.Duration(c.Lifecycle.PreStop.Sleep.Seconds) * time.Second
	}
	if pod.TerminationGracePeriodSeconds == nil {
		t.Fatal("no terminationGracePeriodSeconds")
	}
	if grace := time.Duration(*pod.TerminationGracePeriodSeconds) * time.Second; grace <= preStop+2*shutdown {
		t.Errorf("terminationGracePeriodSeconds %v, want more than the preStop %v and twice OBERT_SHUTDOWN_TIMEOUT %v", grace, preStop, shutdown)
	}

	// Vault: a token from a Secret, or the file the injected agent keeps.
	annotations := d.Spec.Template.Annotations
	injected := annotations[agentInject] == "true" && annotations[agentInjectToken] == "true"
	if env["OBERT_VAULT_ADDR"] != "" {
		switch {
		case env["OBERT_VAULT_TOKEN_FILE"] != "":
			if !injected || env["OBERT_VAULT_TOKEN_FILE"] != agentTokenFile {
				t.Errorf("OBERT_VAULT_TOKEN_FILE=%s, but the pod does not ask the Vault agent for %s (%s, %s)",
					env["OBERT_VAULT_TOKEN_FILE"], agentTokenFile, agentInject, agentInjectToken)
			}
		case env["VAULT_TOKEN"] == "":
			t.Error("OBERT_VAULT_ADDR without VAULT_TOKEN or OBERT_VAULT_TOKEN_FILE")
		}
	}

	// Every key or certificate file gatewayd is told of is mounted.
	for name, v := range env {
		if !strings.HasSuffix(name, "_FILE") || injected && v == agentTokenFile {
			continue
		}
		if !slices.ContainsFunc(c.VolumeMounts, func(m corev1.VolumeMount) bool {
			return strings.HasPrefix(v, strings.TrimSuffix(m.MountPath, "/")+"/")
		}) {
			t.Errorf("%s=%s is under no volume mount of gatewayd", name, v)
		}
	}
}

// selects reports whether sel matches a pod with these labels; a nil or
// empty selector matches nothing here, since it would select every pod.
func selects(t *testing.T, sel *metav1.LabelSelector, podLabels map[string]string) bool {
	t.Helper()
	if sel == nil || (len(sel.MatchLabels) == 0 && len(sel.MatchExpressions) == 0) {
		return false
	}
	s, err := metav1.LabelSelectorAsSelector(sel)
	if err != nil {
		t.Errorf("selector %v: %v", sel, err)
		return false
	}
	return s.Matches(labels.Set(podLabels))
}

func TestSelectorsFindGatewayd(t *testing.T) {
	t.Parallel()
	ms := load(t)
	d := theDeployment(t, ms)
	podLabels := d.Spec.Template.Labels
	if !selects(t, d.Spec.Selector, podLabels) {
		t.Error("the Deployment's selector does not select its own pods")
	}
	if len(ms.pdbs) == 0 {
		t.Fatal("no PodDisruptionBudget")
	}
	for _, p := range ms.pdbs {
		if !selects(t, p.Spec.Selector, podLabels) {
			t.Errorf("PodDisruptionBudget %s does not select gatewayd's pods", p.Name)
		}
		m := p.Spec.MinAvailable
		if m == nil || m.String() != strconv.Itoa(m.IntValue()) {
			t.Errorf("PodDisruptionBudget %s: minAvailable %v, want a number of pods", p.Name, m)
			continue
		}
		if m.IntValue() < 1 || int32(m.IntValue()) >= *d.Spec.Replicas {
			t.Errorf("PodDisruptionBudget %s: minAvailable %d, want at least 1 and fewer than the %d replicas, or no node could ever be drained", p.Name, m.IntValue(), *d.Spec.Replicas)
		}
	}
	// With OBERT_OPS_ADDR, /metrics is on that port only: no Service may
	// carry it to the ingress.
	gw := container(t, &d.Spec.Template.Spec, "gatewayd")
	opsPort := map[string]bool{}
	if addr := environment(t, ms, gw)["OBERT_OPS_ADDR"]; addr != "" {
		_, port, err := net.SplitHostPort(addr)
		if err != nil {
			t.Fatalf("OBERT_OPS_ADDR %q: %v", addr, err)
		}
		opsPort[port] = true
		for _, cp := range gw.Ports {
			if strconv.Itoa(int(cp.ContainerPort)) == port {
				opsPort[cp.Name] = true
			}
		}
	}
	for _, s := range ms.services {
		if len(s.Spec.Selector) == 0 || !labels.SelectorFromSet(s.Spec.Selector).Matches(labels.Set(podLabels)) {
			t.Errorf("Service %s does not select gatewayd's pods", s.Name)
		}
		for _, p := range s.Spec.Ports {
			if opsPort[p.TargetPort.String()] {
				t.Errorf("Service %s exposes the operations port %s (metrics)", s.Name, p.TargetPort.String())
			}
		}
	}
	found := false
	for _, np := range ms.netpols {
		if selects(t, &np.Spec.PodSelector, podLabels) {
			found = true
			if !slices.Contains(np.Spec.PolicyTypes, "Ingress") || !slices.Contains(np.Spec.PolicyTypes, "Egress") {
				t.Errorf("NetworkPolicy %s does not restrict both ingress and egress", np.Name)
			}
		}
	}
	if !found {
		t.Error("no NetworkPolicy selects gatewayd's pods")
	}
}

func TestMigrationJob(t *testing.T) {
	t.Parallel()
	ms := load(t)
	d := theDeployment(t, ms)
	gw := container(t, &d.Spec.Template.Spec, "gatewayd")
	migrates := false
	for _, j := range ms.jobs {
		for _, c := range j.Spec.Template.Spec.Containers {
			argv := slices.Concat(c.Command, c.Args)
			i := slices.IndexFunc(argv, func(a string) bool { return path.Base(a) == "gatewayctl" })
			if i < 0 || i+1 >= len(argv) || argv[i+1] != "migrate" || slices.Contains(argv[i+1:], "status") {
				continue
			}
			migrates = true
			// The schema gate: gatewayd starts only on the schema its own
			// gatewayctl migrates to.
			if c.Image != gw.Image {
				t.Errorf("Job %s migrates with %s, but gatewayd runs %s", j.Name, c.Image, gw.Image)
			}
			if environment(t, ms, &c)["OBERT_DATABASE_URL"] == "" {
				t.Errorf("Job %s: no OBERT_DATABASE_URL", j.Name)
			}
		}
	}
	if !migrates {
		t.Error("no Job runs `gatewayctl migrate`")
	}
}

func TestNoContainerRunsAsRoot(t *testing.T) {
	t.Parallel()
	ms := load(t)
	for owner, tmpl := range podSpecs(ms) {
		pod := tmpl.Spec.SecurityContext
		for _, c := range allContainers(&tmpl.Spec) {
			where := owner + " container " + c.Name
			sc := c.SecurityContext
			if sc == nil {
				t.Errorf("%s: no securityContext", where)
				continue
			}
			nonRoot := sc.RunAsNonRoot
			if nonRoot == nil && pod != nil {
				nonRoot = pod.RunAsNonRoot
			}
			if nonRoot == nil || !*nonRoot {
				t.Errorf("%s: runAsNonRoot is not true", where)
			}
			if sc.RunAsUser != nil && *sc.RunAsUser == 0 || sc.RunAsUser == nil && pod != nil && pod.RunAsUser != nil && *pod.RunAsUser == 0 {
				t.Errorf("%s: runs as uid 0", where)
			}
			if sc.Privileged != nil && *sc.Privileged {
				t.Errorf("%s: privileged", where)
			}
			if sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation {
				t.Errorf("%s: allowPrivilegeEscalation is not false", where)
			}
			if sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem {
				t.Errorf("%s: readOnlyRootFilesystem is not true", where)
			}
			if sc.Capabilities == nil || !slices.Contains(sc.Capabilities.Drop, "ALL") || len(sc.Capabilities.Add) > 0 {
				t.Errorf("%s: capabilities are not exactly drop ALL", where)
			}
			if c.Resources.Requests.Cpu().IsZero() || c.Resources.Requests.Memory().IsZero() || c.Resources.Limits.Memory().IsZero() {
				t.Errorf("%s: no CPU and memory requests and memory limit", where)
			}
		}
	}
}

// environment resolves a container's variables: envFrom ConfigMaps, then
// env (which wins), values from ConfigMaps and Secrets looked up in the
// manifests. It fails the test on a reference to nothing, and on a
// variable gatewayd does not know.
func environment(t *testing.T, ms *manifests, c *corev1.Container) map[string]string {
	t.Helper()
	known := knownVars(t)
	env := map[string]string{}
	set := func(name, value string) {
		if strings.HasPrefix(name, "OBERT_") {
			if !known[name] {
				t.Errorf("container %s sets %s, which gatewayd does not read (%s)", c.Name, name, configFile)
			}
		}
		env[name] = value
	}
	for _, from := range c.EnvFrom {
		switch {
		case from.ConfigMapRef != nil:
			cm, ok := ms.configMaps[from.ConfigMapRef.Name]
			if !ok {
				t.Errorf("container %s: envFrom ConfigMap %q is not among the manifests", c.Name, from.ConfigMapRef.Name)
				continue
			}
			for k, v := range cm.Data {
				set(from.Prefix+k, v)
			}
		case from.SecretRef != nil:
			s, ok := ms.secrets[from.SecretRef.Name]
			if !ok {
				t.Errorf("container %s: envFrom Secret %q is not among the manifests", c.Name, from.SecretRef.Name)
				continue
			}
			for k, v := range s.StringData {
				set(from.Prefix+k, v)
			}
		}
	}
	for _, e := range c.Env {
		switch {
		case e.ValueFrom == nil:
			set(e.Name, e.Value)
		case e.ValueFrom.SecretKeyRef != nil:
			ref := e.ValueFrom.SecretKeyRef
			v, ok := secretKey(ms, ref.Name, ref.Key)
			if !ok {
				t.Errorf("container %s: %s from Secret %s key %s, which is not among the manifests", c.Name, e.Name, ref.Name, ref.Key)
			}
			set(e.Name, v)
		case e.ValueFrom.ConfigMapKeyRef != nil:
			ref := e.ValueFrom.ConfigMapKeyRef
			var v string
			cm, ok := ms.configMaps[ref.Name]
			if ok {
				v, ok = cm.Data[ref.Key]
			}
			if !ok {
				t.Errorf("container %s: %s from ConfigMap %s key %s, which is not among the manifests", c.Name, e.Name, ref.Name, ref.Key)
			}
			set(e.Name, v)
		default:
			set(e.Name, "")
		}
	}
	return env
}

// secretKey returns a key of a Secret among the manifests.
func secretKey(ms *manifests, name, key string) (string, bool) {
	s, ok := ms.secrets[name]
	if !ok {
		return "", false
	}
	if v, ok := s.StringData[key]; ok {
		return v, true
	}
	v, ok := s.Data[key]
	return string(v), ok
}

func TestEveryVariableIsKnownAndEveryReferenceResolves(t *testing.T) {
	t.Parallel()
	ms := load(t)
	for owner, tmpl := range podSpecs(ms) {
		for _, c := range allContainers(&tmpl.Spec) {
			environment(t, ms, &c)
		}
		for _, v := range tmpl.Spec.Volumes {
			if v.Secret != nil {
				if _, ok := ms.secrets[v.Secret.SecretName]; !ok {
					t.Errorf("%s: volume %s from Secret %q, which is not among the manifests", owner, v.Name, v.Secret.SecretName)
				}
			}
			if v.ConfigMap != nil {
				if _, ok := ms.configMaps[v.ConfigMap.Name]; !ok {
					t.Errorf("%s: volume %s from ConfigMap %q, which is not among the manifests", owner, v.Name, v.ConfigMap.Name)
				}
			}
		}
		if sa := tmpl.Spec.ServiceAccountName; sa != "" {
			if _, ok := ms.serviceAccounts[sa]; !ok {
				t.Errorf("%s: service account %q is not among the manifests", owner, sa)
			}
		}
	}
}

func TestSecretsStayInSecrets(t *testing.T) {
	t.Parallel()
	ms := load(t)
	for owner, tmpl := range podSpecs(ms) {
		for _, c := range allContainers(&tmpl.Spec) {
			for _, e := range c.Env {
				if !slices.Contains(secretVars, e.Name) {
					if hasPassword(e.Value) {
						t.Errorf("%s container %s: %s carries a password inline", owner, c.Name, e.Name)
					}
					continue
				}
				if e.ValueFrom != nil && e.ValueFrom.SecretKeyRef != nil {
					continue
				}
				t.Errorf("%s container %s: %s is not from a Secret", owner, c.Name, e.Name)
			}
		}
	}
	var secretValues []string
	for _, s := range ms.secrets {
		for _, v := range s.StringData {
			secretValues = append(secretValues, v)
		}
		for _, v := range s.Data {
			secretValues = append(secretValues, string(v))
		}
	}
	for _, cm := range ms.configMaps {
		for k, v := range cm.Data {
			where := "ConfigMap " + cm.Name + " key " + k
			if slices.Contains(secretVars, k) {
				t.Errorf("%s: a secret variable in a ConfigMap", where)
			}
			if strings.Contains(v, "PRIVATE KEY") || strings.Contains(v, "PRIVATE+KEY") {
				t.Errorf("%s: a private key in a ConfigMap", where)
			}
			if hasPassword(v) {
				t.Errorf("%s: a URL with a password in a ConfigMap", where)
			}
			for _, s := range secretValues {
				if len(s) >= 8 && strings.Contains(v, s) {
					t.Errorf("%s: holds a Secret's value", where)
				}
			}
		}
	}
}

// hasPassword reports whether v is a URL that carries a password.
func hasPassword(v string) bool {
	u, err := url.Parse(strings.TrimSpace(v))
	if err != nil || u.User == nil {
		return false
	}
	_, ok := u.User.Password()
	return ok
}
