package kubernetes

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"

	"github.com/zclconf/go-cty/cty"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/intstr"
	appsac "k8s.io/client-go/applyconfigurations/apps/v1"
	coreac "k8s.io/client-go/applyconfigurations/core/v1"
	metaac "k8s.io/client-go/applyconfigurations/meta/v1"

	"github.com/ansflow/ansflow/providers"
)

// compactObjects builds the Deployment (and optional Service) of the compact
// form. Only what the user set is included, so server-side apply claims
// nothing else: replicas in particular is left to an HPA or k8s_scale when unset.
func compactObjects(in attrs, ns string) ([]*unstructured.Unstructured, error) {
	name, image := in.str("name"), in.str("image")
	if name == "" {
		return nil, &providers.InputError{Input: "name", Err: errors.New("name is required for the compact form; set name and image, or give the objects with manifest, manifest_files or kustomize")}
	}
	if image == "" {
		return nil, &providers.InputError{Input: "image", Err: errors.New("image is required for the compact form; set it, or give the objects with manifest, manifest_files or kustomize")}
	}
	labels := map[string]string{}
	for k, v := range in.strMap("labels") {
		labels[k] = v
	}
	labels["app"] = name

	ctr := coreac.Container().WithName(name).WithImage(image)
	for _, k := range sortedKeys(in.strMap("env")) {
		ctr.WithEnv(coreac.EnvVar().WithName(k).WithValue(in.strMap("env")[k]))
	}
	if cmd := in.strList("command"); len(cmd) > 0 {
		ctr.WithCommand(cmd...)
	}
	if args := in.strList("args"); len(args) > 0 {
		ctr.WithArgs(args...)
	}
	ports, err := containerPorts(in.get("ports"))
	if err != nil {
		return nil, err
	}
	for _, p := range ports {
		ctr.WithPorts(p)
	}
	if in.isSet("resources") {
		res, err := resourceRequirements(attrs{in.get("resources")})
		if err != nil {
			return nil, err
		}
		ctr.WithResources(res)
	}

	spec := appsac.DeploymentSpec().
		WithSelector(metaac.LabelSelector().WithMatchLabels(map[string]string{"app": name})).
		WithTemplate(coreac.PodTemplateSpec().
			WithLabels(labels).
			WithSpec(coreac.PodSpec().WithContainers(ctr)))
	if r, ok := in.int("replicas"); ok {
		spec.WithReplicas(int32(r))
	}
	deploy := appsac.Deployment(name, ns).WithLabels(labels).WithSpec(spec)
	objs := []any{deploy}

	if in.isSet("service") {
		svc, err := service(attrs{in.get("service")}, name, ns, labels, ports)
		if err != nil {
			return nil, err
		}
		objs = append(objs, svc)
	}
	out := make([]*unstructured.Unstructured, 0, len(objs))
	for _, o := range objs {
		u, err := toUnstructured(o)
		if err != nil {
			return nil, err
		}
		out = append(out, u)
	}
	return out, nil
}

func containerPorts(v cty.Value) ([]*coreac.ContainerPortApplyConfiguration, error) {
	if v.IsNull() {
		return nil, nil
	}
	var out []*coreac.ContainerPortApplyConfiguration
	for it := v.ElementIterator(); it.Next(); {
		_, e := it.Element()
		p := attrs{e}
		n, ok := p.int("container_port")
		if !ok || n < 1 || n > 65535 {
			return nil, fmt.Errorf("ports: container_port must be between 1 and 65535")
		}
		cp := coreac.ContainerPort().WithContainerPort(int32(n))
		if s := p.str("name"); s != "" {
			cp.WithName(s)
		}
		cp.WithProtocol(corev1.Protocol(protocolOr(p.str("protocol"))))
		out = append(out, cp)
	}
	return out, nil
}

func protocolOr(p string) string {
	if p == "" {
		return "TCP"
	}
	return p
}

func resourceRequirements(r attrs) (*coreac.ResourceRequirementsApplyConfiguration, error) {
	out := coreac.ResourceRequirements()
	for _, part := range []string{"requests", "limits"} {
		m := r.strMap(part)
		if len(m) == 0 {
			continue
		}
		list := corev1.ResourceList{}
		for k, v := range m {
			q, err := resource.ParseQuantity(v)
			if err != nil {
				return nil, fmt.Errorf("resources.%s.%s: %q is not a quantity (e.g. 100m, 128Mi): %v", part, k, v, err)
			}
			list[corev1.ResourceName(k)] = q
		}
		if part == "requests" {
			out.WithRequests(list)
		} else {
			out.WithLimits(list)
		}
	}
	return out, nil
}

// service builds the compact form's Service: port -> target_port (default:
// the first container port, else port) on the pods labelled app=name.
func service(s attrs, name, ns string, labels map[string]string, ports []*coreac.ContainerPortApplyConfiguration) (*coreac.ServiceApplyConfiguration, error) {
	port, ok := s.int("port")
	if !ok || port < 1 || port > 65535 {
		return nil, fmt.Errorf("service.port must be between 1 and 65535")
	}
	target := port
	if t, ok := s.int("target_port"); ok {
		target = t
	} else if len(ports) > 0 {
		target = int64(*ports[0].ContainerPort)
	}
	spec := coreac.ServiceSpec().
		WithSelector(map[string]string{"app": name}).
		WithPorts(coreac.ServicePort().
			WithName("http").
			WithPort(int32(port)).
			WithTargetPort(intstr.FromInt32(int32(target))).
			WithProtocol(corev1.ProtocolTCP))
	if t := s.str("type"); t != "" {
		spec.WithType(corev1.ServiceType(t))
	}
	return coreac.Service(name, ns).WithLabels(labels).WithSpec(spec), nil
}

// toUnstructured converts an apply configuration (or any JSON-shaped value).
func toUnstructured(o any) (*unstructured.Unstructured, error) {
	b, err := json.Marshal(o)
	if err != nil {
		return nil, err
	}
	u := &unstructured.Unstructured{}
	if err := u.UnmarshalJSON(b); err != nil {
		return nil, err
	}
	return u, nil
}

// dropNulls removes null map entries (HCL objects carry absent optional
// attributes as null; server-side apply would read them as "unset this").
// Numbers that are whole become int64, as Kubernetes' JSON decoder expects.
func dropNulls(v any) any {
	switch t := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(t))
		for k, e := range t {
			if e == nil {
				continue
			}
			out[k] = dropNulls(e)
		}
		return out
	case []any:
		out := make([]any, 0, len(t))
		for _, e := range t {
			out = append(out, dropNulls(e))
		}
		return out
	case float64:
		if t == float64(int64(t)) {
			return int64(t)
		}
		return t
	default:
		return v
	}
}

// objectRef identifies an applied object; Delete removes exactly these.
type objectRef struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	Namespace  string `json:"namespace,omitempty"`
	Name       string `json:"name"`
}

// objectKey identifies an object whatever version of its API it is read
// through: an applied set compares members by it, as kubectl's ApplySets do.
type objectKey struct {
	Group, Kind, Namespace, Name string
}

func (r objectRef) key() objectKey {
	gv, _ := schema.ParseGroupVersion(r.APIVersion)
	return objectKey{Group: gv.Group, Kind: r.Kind, Namespace: r.Namespace, Name: r.Name}
}

func refOf(u *unstructured.Unstructured) objectRef {
	return objectRef{APIVersion: u.GetAPIVersion(), Kind: u.GetKind(), Namespace: u.GetNamespace(), Name: u.GetName()}
}

func (r objectRef) String() string {
	return fmt.Sprintf("%s/%s", lower(r.Kind), r.Name)
}

// deploymentStatus is a short "2/3 available" summary.
func deploymentStatus(d *appsv1.Deployment) string {
	want := int32(1)
	if d.Spec.Replicas != nil {
		want = *d.Spec.Replicas
	}
	return strconv.Itoa(int(d.Status.AvailableReplicas)) + "/" + strconv.Itoa(int(want))
}
