// Command psa evaluates pod specs with Kubernetes' own Pod Security Admission checks
// (k8s.io/pod-security-admission, the code the API server's admission plugin runs).
//
// Usage: psa LEVEL VERSION < objects.json
//
// stdin is a JSON array of Kubernetes objects; every Pod, Deployment, StatefulSet, DaemonSet,
// ReplicaSet, Job and CronJob among them is evaluated against the Pod Security Standard LEVEL
// (baseline or restricted) at VERSION (e.g. v1.33). stdout is a JSON array of the breaches,
// "Kind/name: reason (detail)"; an empty array is a pass.
package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/pod-security-admission/api"
	"k8s.io/pod-security-admission/policy"
)

func main() {
	if len(os.Args) != 3 {
		fail("usage: psa LEVEL VERSION < objects.json")
	}
	level, err := api.ParseLevel(os.Args[1])
	if err != nil {
		fail(err.Error())
	}
	version, err := api.ParseVersion(os.Args[2])
	if err != nil {
		fail(err.Error())
	}
	input, err := io.ReadAll(os.Stdin)
	if err != nil {
		fail(err.Error())
	}
	var objects []json.RawMessage
	if err := json.Unmarshal(input, &objects); err != nil {
		fail("stdin: " + err.Error())
	}
	evaluator, err := policy.NewEvaluator(policy.DefaultChecks(), nil)
	if err != nil {
		fail(err.Error())
	}
	breaches := []string{}
	for _, raw := range objects {
		kind, name, meta, spec, err := podOf(raw)
		if err != nil {
			fail(err.Error())
		}
		if spec == nil {
			continue
		}
		lv := api.LevelVersion{Level: level, Version: version}
		for _, result := range evaluator.EvaluatePod(lv, meta, spec) {
			if !result.Allowed {
				breaches = append(breaches, fmt.Sprintf("%s/%s: %s (%s)", kind, name, result.ForbiddenReason, result.ForbiddenDetail))
			}
		}
	}
	out, _ := json.Marshal(breaches)
	fmt.Println(string(out))
}

// podOf decodes one object and returns its pod template, or a nil spec for other kinds.
func podOf(raw json.RawMessage) (string, string, *metav1.ObjectMeta, *corev1.PodSpec, error) {
	var head metav1.TypeMeta
	if err := json.Unmarshal(raw, &head); err != nil {
		return "", "", nil, nil, err
	}
	var template *corev1.PodTemplateSpec
	var name string
	switch head.Kind {
	case "Pod":
		var pod corev1.Pod
		if err := json.Unmarshal(raw, &pod); err != nil {
			return "", "", nil, nil, err
		}
		return head.Kind, pod.Name, &pod.ObjectMeta, &pod.Spec, nil
	case "Deployment":
		var o appsv1.Deployment
		if err := json.Unmarshal(raw, &o); err != nil {
			return "", "", nil, nil, err
		}
		name, template = o.Name, &o.Spec.Template
	case "StatefulSet":
		var o appsv1.StatefulSet
		if err := json.Unmarshal(raw, &o); err != nil {
			return "", "", nil, nil, err
		}
		name, template = o.Name, &o.Spec.Template
	case "DaemonSet":
		var o appsv1.DaemonSet
		if err := json.Unmarshal(raw, &o); err != nil {
			return "", "", nil, nil, err
		}
		name, template = o.Name, &o.Spec.Template
	case "ReplicaSet":
		var o appsv1.ReplicaSet
		if err := json.Unmarshal(raw, &o); err != nil {
			return "", "", nil, nil, err
		}
		name, template = o.Name, &o.Spec.Template
	case "Job":
		var o batchv1.Job
		if err := json.Unmarshal(raw, &o); err != nil {
			return "", "", nil, nil, err
		}
		name, template = o.Name, &o.Spec.Template
	case "CronJob":
		var o batchv1.CronJob
		if err := json.Unmarshal(raw, &o); err != nil {
			return "", "", nil, nil, err
		}
		name, template = o.Name, &o.Spec.JobTemplate.Spec.Template
	default:
		return head.Kind, "", nil, nil, nil
	}
	return head.Kind, name, &template.ObjectMeta, &template.Spec, nil
}

func fail(message string) {
	fmt.Fprintln(os.Stderr, "psa:", message)
	os.Exit(2)
}
