// Package k8sjob holds no code: its test checks the Kubernetes manifest that docs/fleet.md
// shows (docs/examples/fleet-job.yaml) against the Kubernetes API types, so that a misspelt or
// misplaced field, or a setting that would make the Job fail on a real cluster, fails the suite.
package k8sjob
