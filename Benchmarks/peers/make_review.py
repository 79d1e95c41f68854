#!/usr/bin/env python3
"""Writes the benchmark's AdmissionReview: the CREATE of a 4.8 KB Pod as the ReplicaSet
controller makes it for a Deployment (one init container and two containers with env,
valueFrom, ports, resources, probes and mounts; ServiceAccount default/app-sa), compact JSON
as kube-apiserver sends it. deploy/dev/review.json is its output (a test keeps them equal).

Usage: make_review.py [-o FILE] [--uid UID] [--pretty]
"""
import argparse
import json
import sys

UID = "6f1d9c2e-3b7a-4e58-9c1d-2a4b5c6d7e8f"
HASH = "7d9f8b6c5d"
API_ACCESS = "kube-api-access-x7k2p"


def group_version(kind_key, kind):
    return {"group": "", "version": "v1", kind_key: kind}


def env(*pairs):
    return [{"name": name, "value": value} for name, value in pairs]


def resources(limit_cpu, limit_memory, request_cpu, request_memory):
    return {"limits": {"cpu": limit_cpu, "memory": limit_memory},
            "requests": {"cpu": request_cpu, "memory": request_memory}}


def mount(name, path, read_only=True):
    result = {"name": name}
    if read_only:
        result["readOnly"] = True
    result["mountPath"] = path
    return result


def api_access_mount():
    return mount(API_ACCESS, "/var/run/secrets/kubernetes.io/serviceaccount")


def http_probe(path, initial_delay, period):
    return {"httpGet": {"path": path, "port": 8080, "scheme": "HTTP"},
            "initialDelaySeconds": initial_delay, "timeoutSeconds": 2, "periodSeconds": period,
            "successThreshold": 1, "failureThreshold": 3}


def port(name, number):
    return {"name": name, "containerPort": number, "protocol": "TCP"}


def with_defaults(container):
    container.update({"terminationMessagePath": "/dev/termination-log",
                      "terminationMessagePolicy": "File", "imagePullPolicy": "IfNotPresent"})
    return container


def config_map_volume(name, config_map):
    return {"name": name, "configMap": {"name": config_map, "defaultMode": 420}}


def api_access_volume():
    return {"name": API_ACCESS, "projected": {"sources": [
        {"serviceAccountToken": {"expirationSeconds": 3607, "path": "token"}},
        {"configMap": {"name": "kube-root-ca.crt", "items": [{"key": "ca.crt", "path": "ca.crt"}]}},
        {"downwardAPI": {"items": [{"path": "namespace",
                                    "fieldRef": {"apiVersion": "v1", "fieldPath": "metadata.namespace"}}]}},
    ], "defaultMode": 420}}


def migrate_container():
    return with_defaults({
        "name": "migrate",
        "image": "images.example.internal/payments/web-migrate:2.14.1",
        "command": ["/bin/migrate"],
        "args": ["--dsn-env=DATABASE_URL", "--timeout=60s"],
        "env": env(("DATABASE_URL", "postgres://web@db:5432/web"), ("LOG_LEVEL", "info")),
        "resources": resources("200m", "128Mi", "50m", "64Mi"),
        "volumeMounts": [api_access_mount()],
    })


def web_container():
    return with_defaults({
        "name": "web",
        "image": "images.example.internal/payments/web:2.14.1",
        "args": ["serve", "--config=/etc/web/config.yaml"],
        "ports": [port("http", 8080), port("metrics", 9102)],
        "env": env(("APP_ENV", "production"), ("LOG_FORMAT", "json"), ("HTTP_PORT", "8080")) + [
            {"name": "POD_NAME", "valueFrom": {"fieldRef": {"apiVersion": "v1", "fieldPath": "metadata.name"}}},
            {"name": "DB_PASSWORD", "valueFrom": {"secretKeyRef": {"name": "web-db", "key": "password"}}},
        ],
        "resources": resources("1", "512Mi", "250m", "256Mi"),
        "volumeMounts": [mount("config", "/etc/web"), mount("tmp", "/tmp", read_only=False), api_access_mount()],
        "livenessProbe": http_probe("/healthz", 10, 10),
        "readinessProbe": http_probe("/ready", 5, 5),
        "securityContext": {"runAsNonRoot": True, "readOnlyRootFilesystem": True},
    })


def envoy_container():
    return with_defaults({
        "name": "envoy",
        "image": "images.example.internal/infra/envoy:v1.29.2",
        "args": ["-c", "/etc/envoy/envoy.yaml"],
        "ports": [port("admin", 9901)],
        "env": env(("ENVOY_UID", "101")),
        "resources": resources("500m", "256Mi", "100m", "128Mi"),
        "volumeMounts": [mount("envoy-config", "/etc/envoy"), api_access_mount()],
    })


def pod():
    return {
        "kind": "Pod",
        "apiVersion": "v1",
        "metadata": {
            "generateName": f"web-{HASH}-",
            "namespace": "default",
            "creationTimestamp": None,
            "labels": {"app.kubernetes.io/name": "web", "app.kubernetes.io/instance": "web-prod",
                       "app.kubernetes.io/version": "2.14.1", "pod-template-hash": HASH, "team": "payments"},
            "annotations": {"kubectl.kubernetes.io/restartedAt": "2024-05-02T10:15:00Z",
                            "prometheus.io/scrape": "true", "prometheus.io/port": "9102"},
            "ownerReferences": [{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": f"web-{HASH}",
                                 "uid": "0b8e4f57-1c2d-4a9e-8f3b-7d6c5b4a3e21",
                                 "controller": True, "blockOwnerDeletion": True}],
        },
        "spec": {
            "volumes": [config_map_volume("config", "web-config"), config_map_volume("envoy-config", "web-envoy"),
                        {"name": "tmp", "emptyDir": {"sizeLimit": "64Mi"}}, api_access_volume()],
            "initContainers": [migrate_container()],
            "containers": [web_container(), envoy_container()],
            "restartPolicy": "Always",
            "terminationGracePeriodSeconds": 30,
            "dnsPolicy": "ClusterFirst",
            "serviceAccountName": "app-sa",
            "serviceAccount": "app-sa",
            "securityContext": {"runAsUser": 10001, "fsGroup": 10001},
            "schedulerName": "default-scheduler",
            "priority": 0,
            "enableServiceLinks": True,
            "preemptionPolicy": "PreemptLowerPriority",
        },
        "status": {},
    }


def review(uid):
    return {
        "kind": "AdmissionReview",
        "apiVersion": "admission.k8s.io/v1",
        "request": {
            "uid": uid,
            "kind": group_version("kind", "Pod"),
            "resource": group_version("resource", "pods"),
            "requestKind": group_version("kind", "Pod"),
            "requestResource": group_version("resource", "pods"),
            "namespace": "default",
            "operation": "CREATE",
            "userInfo": {"username": "system:serviceaccount:kube-system:replicaset-controller",
                         "uid": "c1a2b3d4-e5f6-4a7b-8c9d-0e1f2a3b4c5d",
                         "groups": ["system:serviceaccounts", "system:serviceaccounts:kube-system",
                                    "system:authenticated"]},
            "object": pod(),
            "oldObject": None,
            "dryRun": False,
            "options": {"kind": "CreateOptions", "apiVersion": "meta.k8s.io/v1"},
        },
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-o", "--output", help="file to write (default: standard output)")
    parser.add_argument("--uid", default=UID, help="request.uid (default: a fixed one)")
    parser.add_argument("--pretty", action="store_true", help="indented, for reading")
    arguments = parser.parse_args()
    text = json.dumps(review(arguments.uid), indent=2 if arguments.pretty else None,
                      separators=None if arguments.pretty else (",", ":"))
    if arguments.output:
        with open(arguments.output, "w", encoding="utf-8") as file:
            file.write(text)
    else:
        sys.stdout.write(text)


if __name__ == "__main__":
    main()
