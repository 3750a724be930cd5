package k8sjob_test

import (
	"bytes"
	"io"
	"os"
	"strconv"
	"strings"
	"testing"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/yaml"

	"github.com/devicejs/devicejs/cmd/devicejs/cli"
)

const manifestPath = "../../docs/examples/fleet-job.yaml"

// TestFleetJobManifest decodes the Indexed Job of docs/fleet.md strictly into the Kubernetes API
// types (an unknown or misplaced field fails), parses its arguments with the real `devicejs
// fleet` flags, and checks the settings that made the earlier manifest fail on a real cluster:
// one failed shard must not fail the others, the binary is named (a distroless image has no
// entrypoint), and the memory limit leaves room above --max-memory so that the budget, not the
// kernel, ends a run that grows (and its summary is written).
func TestFleetJobManifest(t *testing.T) {
	raw, err := os.ReadFile(manifestPath)
	if err != nil {
		t.Fatal(err)
	}
	var job batchv1.Job
	if err := yaml.UnmarshalStrict(raw, &job); err != nil {
		t.Fatalf("%s is not a valid batch/v1 Job: %v", manifestPath, err)
	}
	if job.APIVersion != "batch/v1" || job.Kind != "Job" {
		t.Errorf("apiVersion %q kind %q", job.APIVersion, job.Kind)
	}
	s := job.Spec
	if s.CompletionMode == nil || *s.CompletionMode != batchv1.IndexedCompletion {
		t.Errorf("completionMode must be Indexed (JOB_COMPLETION_INDEX for --shard auto/n)")
	}
	if s.Completions == nil || s.Parallelism == nil || *s.Parallelism != *s.Completions {
		t.Fatalf("completions and parallelism must be set and equal (all shards at once)")
	}
	// One failed shard must not fail the Job's other pods: per-index backoff, no Job-wide
	// backoffLimit of 0.
	if s.BackoffLimitPerIndex == nil {
		t.Errorf("backoffLimitPerIndex unset: a failed pod counts against the whole Job")
	}
	if s.BackoffLimit != nil && *s.BackoffLimit == 0 {
		t.Errorf("backoffLimit 0 fails the whole Job on one failed shard")
	}
	if s.MaxFailedIndexes != nil && *s.MaxFailedIndexes < *s.Completions {
		t.Errorf("maxFailedIndexes %d < completions %d: one bad shard stops the others", *s.MaxFailedIndexes, *s.Completions)
	}
	if s.PodFailurePolicy != nil {
		for _, r := range s.PodFailurePolicy.Rules {
			if r.Action == batchv1.PodFailurePolicyActionFailJob {
				t.Errorf("podFailurePolicy rule FailJob stops every shard")
			}
		}
	}
	pod := s.Template.Spec
	if pod.RestartPolicy != corev1.RestartPolicyNever {
		t.Errorf("restartPolicy %q: per-index backoff and podFailurePolicy need Never", pod.RestartPolicy)
	}
	if len(pod.Containers) != 1 {
		t.Fatalf("%d containers", len(pod.Containers))
	}
	c := pod.Containers[0]
	if len(c.Command) == 0 {
		t.Errorf("no command: a distroless image has no entrypoint to take args")
	}

	// The arguments are real `devicejs fleet` flags, and consistent with the Job.
	var got *cli.FleetOptions
	ios := &cli.IOStreams{In: strings.NewReader(""), Out: io.Discard, ErrOut: io.Discard}
	cmd := cli.NewCmdFleet(ios, func(o *cli.FleetOptions) error { got = o; return nil })
	if len(c.Args) == 0 || c.Args[0] != "fleet" {
		t.Fatalf("args %q: want `fleet ...`", c.Args)
	}
	t.Setenv("JOB_COMPLETION_INDEX", "0")
	cmd.SetArgs(c.Args[1:])
	cmd.SetOut(io.Discard)
	cmd.SetErr(io.Discard)
	if err := cmd.Execute(); err != nil || got == nil {
		t.Fatalf("devicejs %s: %v", strings.Join(c.Args, " "), err)
	}
	if got.Shard.Count != int(*s.Completions) {
		t.Errorf("--shard splits %d ways, the Job has %d completions", got.Shard.Count, *s.Completions)
	}
	if got.SummaryJSON == "" {
		t.Errorf("no --summary-json: the results would only be in the text logs")
	}
	budget := parseSize(t, got.MaxMemory.String())
	limit, ok := c.Resources.Limits[corev1.ResourceMemory]
	if !ok {
		t.Fatalf("no memory limit")
	}
	if req, ok := c.Resources.Requests[corev1.ResourceMemory]; !ok || req.Cmp(limit) > 0 {
		t.Errorf("memory request %v missing or above the limit %v", req, limit)
	}
	// The watchdog ends a growing fleet at the budget with peak RSS up to about 2 x budget
	// (docs/reliability.md); the kernel's limit must lie above that.
	if limit.Value() < 2*budget {
		t.Errorf("memory limit %v below 2 x --max-memory (%s): the kernel kills the pod before the budget ends the run", limit.String(), got.MaxMemory.String())
	}
	perPod := got.N / got.Shard.Count
	if perDevice := budget / int64(perPod); perDevice < 150<<10 {
		t.Errorf("--max-memory %s for %d devices per pod is %d bytes each, below the measured ~170 KB (docs/fleet.md)", got.MaxMemory.String(), perPod, perDevice)
	}
}

// TestFleetJobManifestInDocs checks that docs/fleet.md shows the manifest the test checks.
func TestFleetJobManifestInDocs(t *testing.T) {
	raw, err := os.ReadFile(manifestPath)
	if err != nil {
		t.Fatal(err)
	}
	doc, err := os.ReadFile("../../docs/fleet.md")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(doc, append(append([]byte("```yaml\n"), raw...), "```"...)) {
		t.Errorf("docs/fleet.md does not show docs/examples/fleet-job.yaml verbatim in a yaml block")
	}
}

// parseSize reads the "2GiB" / "512MiB" form of --max-memory's String.
func parseSize(t *testing.T, s string) int64 {
	t.Helper()
	for _, u := range []struct {
		suffix string
		n      int64
	}{{"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10}} {
		if v, ok := strings.CutSuffix(s, u.suffix); ok {
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil {
				t.Fatalf("--max-memory %q", s)
			}
			return n * u.n
		}
	}
	t.Fatalf("--max-memory %q: set it explicitly (auto is 1 MiB per device)", s)
	return 0
}
