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

// templates maps each kind that carries a pod template to the decoder that finds it.
var templates = map[string]func(json.RawMessage) (string, *corev1.PodTemplateSpec, error){
	"Deployment":  template(func(o *appsv1.Deployment) (string, *corev1.PodTemplateSpec) { return o.Name, &o.Spec.Template }),
	"StatefulSet": template(func(o *appsv1.StatefulSet) (string, *corev1.PodTemplateSpec) { return o.Name, &o.Spec.Template }),
	"DaemonSet":   template(func(o *appsv1.DaemonSet) (string, *corev1.PodTemplateSpec) { return o.Name, &o.Spec.Template }),
	"ReplicaSet":  template(func(o *appsv1.ReplicaSet) (string, *corev1.PodTemplateSpec) { return o.Name, &o.Spec.Template }),
	"Job":         template(func(o *batchv1.Job) (string, *corev1.PodTemplateSpec) { return o.Name, &o.Spec.Template }),
	"CronJob": template(func(o *batchv1.CronJob) (string, *corev1.PodTemplateSpec) {
		return o.Name, &o.Spec.JobTemplate.Spec.Template
	}),
}

// template decodes an object of type T and returns its name and pod template.
func template[T any](of func(*T) (string, *corev1.PodTemplateSpec)) func(json.RawMessage) (string, *corev1.PodTemplateSpec, error) {
	return func(raw json.RawMessage) (string, *corev1.PodTemplateSpec, error) {
		var object T
		if err := json.Unmarshal(raw, &object); err != nil {
			return "", nil, err
		}
		name, tpl := of(&object)
		return name, tpl, nil
	}
}

// podOf decodes one object and returns its pod's metadata and spec, or a nil spec for other kinds.
func podOf(raw json.RawMessage) (string, string, *metav1.ObjectMeta, *corev1.PodSpec, error) {
	var head metav1.TypeMeta
	if err := json.Unmarshal(raw, &head); err != nil {
		return "", "", nil, nil, err
	}
	if head.Kind == "Pod" {
		var pod corev1.Pod
		if err := json.Unmarshal(raw, &pod); err != nil {
			return "", "", nil, nil, err
		}
		return head.Kind, pod.Name, &pod.ObjectMeta, &pod.Spec, nil
	}
	decode, ok := templates[head.Kind]
	if !ok {
		return head.Kind, "", nil, nil, nil
	}
	name, tpl, err := decode(raw)
	if err != nil {
		return "", "", nil, nil, err
	}
	return head.Kind, name, &tpl.ObjectMeta, &tpl.Spec, nil
}

func fail(message string) {
	fmt.Fprintln(os.Stderr, "psa:", message)
	os.Exit(2)
}
