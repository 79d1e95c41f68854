// gowebhook is the reference the benchmark measures irsa-webhook against: the same mutation
// written the way most Go admission webhooks are, with the standard library only (net/http,
// crypto/tls, encoding/json). It decodes the whole review, looks the ServiceAccount up in a
// map loaded at start from a ServiceAccount List file, and answers with a JSON Patch that, as
// the canonical EKS pod-identity webhook does, replaces the container lists with mutated copies
// and adds the projected token volume.
//
// Usage: gowebhook -addr 127.0.0.1:PORT -tls-cert tls.crt -tls-key tls.key -service-accounts sa.json
package main

import (
	"crypto/tls"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log"
	"net/http"
	"os"
	"strconv"
	"time"
)

const (
	annotationPrefix = "vultr.com/"
	tokenVolume      = "vultr-irsa-token"
	tokenFileName    = "token"
	maxBody          = 8 << 20
)

// settings are what a ServiceAccount's annotations ask for.
type settings struct {
	roleARN     string
	audience    string
	expiration  int64
	regionalSTS bool
}

type serviceAccountList struct {
	Items []struct {
		Metadata struct {
			Name        string            `json:"name"`
			Namespace   string            `json:"namespace"`
			Annotations map[string]string `json:"annotations"`
		} `json:"metadata"`
	} `json:"items"`
}

// loadServiceAccounts reads a v1 List of ServiceAccounts into "namespace/name" -> settings.
func loadServiceAccounts(path string) (map[string]settings, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var list serviceAccountList
	if err := json.Unmarshal(data, &list); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	accounts := make(map[string]settings, len(list.Items))
	for _, item := range list.Items {
		a := item.Metadata.Annotations
		s := settings{roleARN: a[annotationPrefix+"role-arn"], audience: "vultr", expiration: 86400, regionalSTS: true}
		if v := a[annotationPrefix+"audience"]; v != "" {
			s.audience = v
		}
		if n, err := strconv.ParseInt(a[annotationPrefix+"token-expiration"], 10, 64); err == nil && n >= 600 {
			s.expiration = n
		}
		if a[annotationPrefix+"sts-regional-endpoints"] == "false" {
			s.regionalSTS = false
		}
		accounts[item.Metadata.Namespace+"/"+item.Metadata.Name] = s
	}
	return accounts, nil
}

type review struct {
	APIVersion string    `json:"apiVersion"`
	Kind       string    `json:"kind"`
	Request    *request  `json:"request,omitempty"`
	Response   *response `json:"response,omitempty"`
}

type request struct {
	UID       string `json:"uid"`
	Namespace string `json:"namespace"`
	Operation string `json:"operation"`
	Object    pod    `json:"object"`
}

type response struct {
	UID       string   `json:"uid"`
	Allowed   bool     `json:"allowed"`
	Patch     []byte   `json:"patch,omitempty"`
	PatchType string   `json:"patchType,omitempty"`
	Warnings  []string `json:"warnings,omitempty"`
}

type pod struct {
	Metadata struct {
		Namespace   string            `json:"namespace"`
		Annotations map[string]string `json:"annotations"`
	} `json:"metadata"`
	Spec struct {
		ServiceAccountName string            `json:"serviceAccountName"`
		Volumes            []json.RawMessage `json:"volumes"`
		InitContainers     []container       `json:"initContainers"`
		Containers         []container       `json:"containers"`
	} `json:"spec"`
}

type envVar struct {
	Name      string          `json:"name"`
	Value     string          `json:"value,omitempty"`
	ValueFrom json.RawMessage `json:"valueFrom,omitempty"`
}

type mount struct {
	Name      string `json:"name"`
	ReadOnly  bool   `json:"readOnly,omitempty"`
	MountPath string `json:"mountPath"`
	SubPath   string `json:"subPath,omitempty"`
}

// container keeps the fields the mutation does not touch as they came, so the replacement list
// carries them unchanged.
type container struct {
	fields       map[string]json.RawMessage
	env          []envVar
	volumeMounts []mount
}

func (c *container) UnmarshalJSON(data []byte) error {
	if err := json.Unmarshal(data, &c.fields); err != nil {
		return err
	}
	if raw, ok := c.fields["env"]; ok {
		if err := json.Unmarshal(raw, &c.env); err != nil {
			return err
		}
	}
	if raw, ok := c.fields["volumeMounts"]; ok {
		if err := json.Unmarshal(raw, &c.volumeMounts); err != nil {
			return err
		}
	}
	return nil
}

func (c container) MarshalJSON() ([]byte, error) {
	out := make(map[string]any, len(c.fields)+2)
	for key, value := range c.fields {
		out[key] = value
	}
	out["env"] = c.env
	out["volumeMounts"] = c.volumeMounts
	return json.Marshal(out)
}

type patchOperation struct {
	Op    string `json:"op"`
	Path  string `json:"path"`
	Value any    `json:"value"`
}

type webhook struct {
	accounts    map[string]settings
	mountPath   string
	stsEndpoint string
}

func (w *webhook) mutateContainer(c *container, s settings) {
	defined := make(map[string]bool, len(c.env))
	for _, e := range c.env {
		defined[e.Name] = true
	}
	add := func(name, value string) {
		if !defined[name] {
			c.env = append(c.env, envVar{Name: name, Value: value})
		}
	}
	add("AWS_ROLE_ARN", s.roleARN)
	add("AWS_WEB_IDENTITY_TOKEN_FILE", w.mountPath+"/"+tokenFileName)
	if s.regionalSTS {
		add("AWS_STS_REGIONAL_ENDPOINTS", "regional")
	}
	if w.stsEndpoint != "" {
		add("AWS_ENDPOINT_URL_STS", w.stsEndpoint)
	}
	for _, m := range c.volumeMounts {
		if m.MountPath == w.mountPath {
			return
		}
	}
	c.volumeMounts = append(c.volumeMounts, mount{Name: tokenVolume, ReadOnly: true, MountPath: w.mountPath})
}

func (w *webhook) patch(p *pod, s settings) []patchOperation {
	for i := range p.Spec.InitContainers {
		w.mutateContainer(&p.Spec.InitContainers[i], s)
	}
	for i := range p.Spec.Containers {
		w.mutateContainer(&p.Spec.Containers[i], s)
	}
	volume := map[string]any{
		"name": tokenVolume,
		"projected": map[string]any{"sources": []any{map[string]any{"serviceAccountToken": map[string]any{
			"audience": s.audience, "expirationSeconds": s.expiration, "path": tokenFileName,
		}}}},
	}
	var operations []patchOperation
	if p.Spec.Volumes == nil {
		operations = append(operations, patchOperation{"add", "/spec/volumes", []any{volume}})
	} else {
		operations = append(operations, patchOperation{"add", "/spec/volumes/-", volume})
	}
	operations = append(operations, patchOperation{"replace", "/spec/containers", p.Spec.Containers})
	if len(p.Spec.InitContainers) > 0 {
		operations = append(operations, patchOperation{"replace", "/spec/initContainers", p.Spec.InitContainers})
	}
	return operations
}

func (w *webhook) review(r *request) *response {
	answer := &response{UID: r.UID, Allowed: true}
	if r.Operation != "CREATE" {
		return answer
	}
	namespace := r.Namespace
	if namespace == "" {
		namespace = r.Object.Metadata.Namespace
	}
	name := r.Object.Spec.ServiceAccountName
	if name == "" {
		name = "default"
	}
	s, ok := w.accounts[namespace+"/"+name]
	if !ok || s.roleARN == "" {
		return answer
	}
	if v, ok := r.Object.Metadata.Annotations[annotationPrefix+"token-expiration"]; ok {
		if n, err := strconv.ParseInt(v, 10, 64); err == nil && n >= 600 {
			s.expiration = n
		} else {
			answer.Warnings = append(answer.Warnings, "ignored "+annotationPrefix+"token-expiration: "+v)
		}
	}
	patch, err := json.Marshal(w.patch(&r.Object, s))
	if err != nil {
		answer.Warnings = append(answer.Warnings, "patch not built: "+err.Error())
		return answer
	}
	answer.Patch, answer.PatchType = patch, "JSONPatch"
	return answer
}

func (w *webhook) ServeHTTP(rw http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		http.Error(rw, "POST only", http.StatusMethodNotAllowed)
		return
	}
	if r.Header.Get("Content-Type") != "application/json" {
		http.Error(rw, "Content-Type must be application/json", http.StatusUnsupportedMediaType)
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(rw, r.Body, maxBody))
	if err != nil {
		http.Error(rw, err.Error(), http.StatusRequestEntityTooLarge)
		return
	}
	var in review
	if err := json.Unmarshal(body, &in); err != nil || in.Request == nil {
		http.Error(rw, "not an AdmissionReview request", http.StatusBadRequest)
		return
	}
	out, err := json.Marshal(review{APIVersion: in.APIVersion, Kind: in.Kind, Response: w.review(in.Request)})
	if err != nil {
		http.Error(rw, err.Error(), http.StatusInternalServerError)
		return
	}
	// With its length set the answer goes out in one piece, not chunked (net/http chunks bodies
	// over 2 KiB of unknown length), as the other servers send theirs.
	rw.Header().Set("Content-Type", "application/json")
	rw.Header().Set("Content-Length", strconv.Itoa(len(out)))
	rw.Write(out)
}

func main() {
	addr := flag.String("addr", "127.0.0.1:8443", "address to listen on")
	cert := flag.String("tls-cert", "tls.crt", "serving certificate (PEM)")
	key := flag.String("tls-key", "tls.key", "serving key (PEM)")
	accountsFile := flag.String("service-accounts", "", "ServiceAccount List (JSON), as irsa-webhook's --service-accounts-file")
	mountPath := flag.String("token-mount-path", "/var/run/secrets/vultr.com/serviceaccount", "where the token volume is mounted")
	stsEndpoint := flag.String("sts-endpoint", "https://api.vultr.com/v2/assumed-roles/compatibility/aws/sts", "AWS_ENDPOINT_URL_STS; empty leaves it out")
	flag.Parse()

	accounts := map[string]settings{}
	if *accountsFile != "" {
		var err error
		if accounts, err = loadServiceAccounts(*accountsFile); err != nil {
			log.Fatal(err)
		}
	}
	mux := http.NewServeMux()
	mux.Handle("/mutate", &webhook{accounts: accounts, mountPath: *mountPath, stsEndpoint: *stsEndpoint})
	mux.HandleFunc("/healthz", func(rw http.ResponseWriter, _ *http.Request) { io.WriteString(rw, "ok\n") })
	server := &http.Server{
		Addr:              *addr,
		Handler:           mux,
		TLSConfig:         &tls.Config{MinVersion: tls.VersionTLS12},
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       120 * time.Second,
		ErrorLog:          log.New(io.Discard, "", 0),
	}
	log.Printf("gowebhook: https://%s/mutate, %d ServiceAccounts", *addr, len(accounts))
	log.Fatal(server.ListenAndServeTLS(*cert, *key))
}
