"""Writes what `kubectl get -o yaml` prints for the objects the Kotal operator (v0.3.0)
creates for the samples in namespace ipfs: the custom resources after the defaulting webhook,
and the StatefulSets, Services, ConfigMaps and PVCs of its controllers, with the API server's
defaults, ownerReferences and server fields."""
import json, yaml, sys, hashlib, copy

NS = "ipfs"
TS = "2024-03-01T10:00:00Z"
def uid(s):
    h = hashlib.sha256(s.encode()).hexdigest()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:32]}"
rv = [1000]
def nrv():
    rv[0] += 7
    return str(rv[0])

def labels(name, client, kind):
    return {
        "app.kubernetes.io/component": f"ipfs-{kind}",
        "app.kubernetes.io/created-by": f"ipfs-{kind}-controller",
        "app.kubernetes.io/instance": name,
        "app.kubernetes.io/managed-by": "kotal-operator",
        "app.kubernetes.io/name": client,
        "kotal.io/protocol": "ipfs",
    }

samples = [
    ("Peer", "bare-peer", {"api": True, "gateway": True}),
    ("Peer", "peer-sample", {"swarmKeySecretName": "my-swarm-key", "routing": "dhtclient",
        "apiPort": 8999, "gatewayPort": 4444, "resources": {"cpu": "1", "memory": "1Gi"}}),
    ("ClusterPeer", "cluster-peer", {
        "id": "12D3KooWBcEtY8GH4mNkri9kM3haeWhEXtQV7mi81ErWrqLYGuiq",
        "privateKeySecretName": "my-cluster-privatekey", "consensus": "crdt",
        "trustedPeers": ["12D3KooWBcEtY8GH4mNkri9kM3haeWhEXtQV7mi81ErWrqLYGuiq",
                         "12D3KooWQ9yZnqowEDme3gSgS45KY9ZoEmAiGYRxusdEaqtFa9pr"],
        "peerEndpoint": "/dns4/bare-peer/tcp/5001", "clusterSecretName": "cluster-secret",
        "logging": "info", "resources": {"cpu": "1", "memory": "1Gi"}}),
]

def default(kind, spec):
    s = copy.deepcopy(spec)
    r = s.setdefault("resources", {})
    for k, v in [("cpu", "1"), ("cpuLimit", "2"), ("memory", "2Gi"), ("memoryLimit", "4Gi"), ("storage", "10Gi")]:
        r.setdefault(k, v)
    s.setdefault("replicas", 1)
    s.setdefault("logging", "info")
    if kind == "Peer":
        s.setdefault("image", "kotalco/kubo:v0.28.0")
        s.setdefault("routing", "dht")
        s.setdefault("apiPort", 5001)
        s.setdefault("gatewayPort", 8080)
        if not s.get("initProfiles"):
            s["initProfiles"] = ["default-datastore"]
    else:
        s.setdefault("image", "kotalco/ipfs-cluster:v1.0.8")
        s.setdefault("consensus", "crdt")
        if not s.get("trustedPeers"):
            s["trustedPeers"] = ["*"]
    return s

def cr(kind, name, spec):
    applied = {"apiVersion": "ipfs.kotal.io/v1alpha1", "kind": kind,
               "metadata": {"annotations": {}, "name": name, "namespace": NS}, "spec": spec}
    return {
        "apiVersion": "ipfs.kotal.io/v1alpha1", "kind": kind,
        "metadata": {
            "annotations": {"kubectl.kubernetes.io/last-applied-configuration":
                            json.dumps(applied, separators=(",", ":"), sort_keys=True) + "\n"},
            "creationTimestamp": TS, "generation": 1,
            "managedFields": [
                {"apiVersion": "ipfs.kotal.io/v1alpha1", "fieldsType": "FieldsV1",
                 "fieldsV1": {"f:metadata": {"f:annotations": {".": {}, "f:kubectl.kubernetes.io/last-applied-configuration": {}}},
                              "f:spec": {".": {}, **{f"f:{k}": {} for k in sorted(spec)}}},
                 "manager": "kubectl-client-side-apply", "operation": "Update", "time": TS},
                {"apiVersion": "ipfs.kotal.io/v1alpha1", "fieldsType": "FieldsV1",
                 "fieldsV1": {"f:status": {".": {}, "f:client": {}}},
                 "manager": "manager", "operation": "Update", "subresource": "status", "time": TS}],
            "name": name, "namespace": NS, "resourceVersion": nrv(), "uid": uid(kind + name)},
        "spec": default(kind, spec),
        "status": {"client": "kubo" if kind == "Peer" else "ipfs-cluster-service"},
    }

def owner(kind, name):
    return [{"apiVersion": "ipfs.kotal.io/v1alpha1", "blockOwnerDeletion": True, "controller": True,
             "kind": kind, "name": name, "uid": uid(kind + name)}]

def meta(kind, name, lab, **extra):
    m = {"creationTimestamp": TS, "labels": lab, "name": name, "namespace": NS,
         "ownerReferences": owner(kind, name), "resourceVersion": nrv(), "uid": uid("obj" + kind + name + str(extra))}
    m.update(extra)
    return m

def container(c):
    c.setdefault("imagePullPolicy", "IfNotPresent")
    c["resources"] = c.get("resources", {})
    c["terminationMessagePath"] = "/dev/termination-log"
    c["terminationMessagePolicy"] = "File"
    for p in c.get("ports", []):
        p.setdefault("protocol", "TCP")
    return c

def objects(kind, name, spec):
    s = default(kind, spec)
    peer = kind == "Peer"
    lab = labels(name, "kubo" if peer else "ipfs-cluster-service", "peer" if peer else "clusterpeer")
    home = "/home/ipfs" if peer else "/home/ipfs-cluster"
    data, config, secrets = f"{home}/kotal-data", f"{home}/kotal-config", f"{home}/.kotal-secrets"
    out = []
    # ConfigMap: the operator's scripts, represented here by their names only.
    keys = ["config_ipfs.sh", "copy_swarm_key.sh", "init_ipfs_config.sh"] if peer else ["init_ipfs_cluster_config.sh"]
    out.append({"apiVersion": "v1", "kind": "ConfigMap",
                "data": {k: f"# the Kotal operator's {k}\n" for k in keys},
                "metadata": meta(kind, name, lab)})
    # Service
    if peer:
        ports = [("swarm", 4001, "TCP"), ("swarm-udp", 4001, "UDP")]
        if s.get("api"): ports.append(("api", s["apiPort"], "TCP"))
        if s.get("gateway"): ports.append(("gateway", s["gatewayPort"], "TCP"))
    else:
        ports = [("swarm", 9096, "TCP"), ("swarm-udp", 9096, "UDP"), ("api", 5001, "TCP"), ("proxy-api", 9095, "TCP"),
                 ("rest", 9094, "TCP"), ("metrics", 8888, "TCP"), ("tracing", 6831, "TCP")]
    ip = "10.96.%d.%d" % (len(name), sum(map(ord, name)) % 250)
    out.append({"apiVersion": "v1", "kind": "Service", "metadata": meta(kind, name, lab),
        "spec": {"clusterIP": ip, "clusterIPs": [ip], "internalTrafficPolicy": "Cluster",
                 "ipFamilies": ["IPv4"], "ipFamilyPolicy": "SingleStack",
                 "ports": [{"name": n, "port": p, "protocol": pr, "targetPort": n} for n, p, pr in ports],
                 "selector": lab, "sessionAffinity": "None", "type": "ClusterIP"},
        "status": {"loadBalancer": {}}})
    # PVC, bound by the default storage class
    pm = meta(kind, name, lab)
    pm["annotations"] = {"pv.kubernetes.io/bind-completed": "yes", "pv.kubernetes.io/bound-by-controller": "yes",
                         "volume.beta.kubernetes.io/storage-provisioner": "rancher.io/local-path",
                         "volume.kubernetes.io/selected-node": "node-1",
                         "volume.kubernetes.io/storage-provisioner": "rancher.io/local-path"}
    pm["finalizers"] = ["kubernetes.io/pvc-protection"]
    out.append({"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": pm,
        "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": s["resources"]["storage"]}},
                 "storageClassName": "local-path", "volumeMode": "Filesystem", "volumeName": "pvc-" + uid("pv" + name)},
        "status": {"accessModes": ["ReadWriteOnce"], "capacity": {"storage": s["resources"]["storage"]}, "phase": "Bound"}})
    # StatefulSet
    mounts = [{"mountPath": data, "name": "data"}, {"mountPath": config, "name": "config"}]
    volumes = [{"name": "data", "persistentVolumeClaim": {"claimName": name}},
               {"configMap": {"defaultMode": 420, "name": name}, "name": "config"}]
    res = {"limits": {"cpu": s["resources"]["cpuLimit"], "memory": s["resources"]["memoryLimit"]},
           "requests": {"cpu": s["resources"]["cpu"], "memory": s["resources"]["memory"]}}
    if peer:
        init = []
        if s.get("swarmKeySecretName"):
            volumes.append({"name": "swarm-key", "secret": {"defaultMode": 420, "secretName": s["swarmKeySecretName"]}})
            mounts.append({"mountPath": secrets, "name": "swarm-key"})
            init.append(container({"args": [f"{config}/copy_swarm_key.sh"], "command": ["/bin/sh"],
                "env": [{"name": "IPFS_PATH", "value": data}, {"name": "KOTAL_SECRETS_PATH", "value": secrets}],
                "image": "busybox:1.34.1", "name": "copy-swarm-key", "volumeMounts": mounts}))
        init.append(container({"args": [f"{config}/init_ipfs_config.sh"], "command": ["/bin/sh"],
            "env": [{"name": "IPFS_PATH", "value": data}, {"name": "IPFS_INIT_PROFILES", "value": ",".join(s["initProfiles"])}],
            "image": s["image"], "name": "init-ipfs", "volumeMounts": mounts}))
        env = [{"name": "IPFS_PATH", "value": data},
               {"name": "IPFS_API_PORT", "value": str(s["apiPort"])},
               {"name": "IPFS_API_HOST", "value": "0.0.0.0" if s.get("api") else "127.0.0.1"},
               {"name": "IPFS_GATEWAY_PORT", "value": str(s["gatewayPort"])},
               {"name": "IPFS_GATEWAY_HOST", "value": "0.0.0.0" if s.get("gateway") else "127.0.0.1"},
               {"name": "IPFS_PROFILES"}]
        init.append(container({"args": [f"{config}/config_ipfs.sh"], "command": ["/bin/sh"], "env": env,
            "image": s["image"], "name": "config-ipfs", "volumeMounts": mounts}))
        cports = [{"containerPort": 4001, "name": "swarm"}, {"containerPort": 4001, "name": "swarm-udp", "protocol": "UDP"}]
        if s.get("api"): cports.append({"containerPort": s["apiPort"], "name": "api"})
        if s.get("gateway"): cports.append({"containerPort": s["gatewayPort"], "name": "gateway"})
        main = container({"args": ["daemon", "--routing", s["routing"]], "command": ["ipfs"],
            "env": [{"name": "IPFS_PATH", "value": data}, {"name": "IPFS_LOGGING", "value": s["logging"]}],
            "image": s["image"], "name": "peer", "ports": cports, "resources": res, "volumeMounts": mounts})
    else:
        env = [{"name": "IPFS_CLUSTER_PATH", "value": data}, {"name": "IPFS_CLUSTER_CONSENSUS", "value": s["consensus"]},
               {"name": "CLUSTER_IPFSHTTP_NODEMULTIADDRESS", "value": s["peerEndpoint"]},
               {"name": "CLUSTER_SECRET", "valueFrom": {"secretKeyRef": {"key": "secret", "name": s["clusterSecretName"]}}},
               {"name": "CLUSTER_CRDT_TRUSTEDPEERS", "value": ",".join(s["trustedPeers"])}]
        if s.get("id"):
            env += [{"name": "CLUSTER_ID", "value": s["id"]},
                    {"name": "CLUSTER_PRIVATEKEY", "valueFrom": {"secretKeyRef": {"key": "key", "name": s["privateKeySecretName"]}}}]
        init = [container({"args": [f"{config}/init_ipfs_cluster_config.sh"], "command": ["/bin/sh"], "env": env,
            "image": s["image"], "name": "init-cluster-peer", "volumeMounts": mounts})]
        cports = [{"containerPort": p, "name": n, **({"protocol": pr} if pr == "UDP" else {})} for n, p, pr in ports]
        main = container({"args": ["daemon"], "command": ["ipfs-cluster-service"],
            "env": [{"name": "IPFS_CLUSTER_PATH", "value": data}, {"name": "CLUSTER_PEERNAME", "value": name},
                    {"name": "IPFS_LOGGING", "value": s["logging"]}],
            "image": s["image"], "name": "cluster-peer", "ports": cports, "resources": res, "volumeMounts": mounts[:1]})
    sm = meta(kind, name, lab, generation=1)
    out.append({"apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": sm,
        "spec": {"persistentVolumeClaimRetentionPolicy": {"whenDeleted": "Retain", "whenScaled": "Retain"},
                 "podManagementPolicy": "OrderedReady", "replicas": s["replicas"], "revisionHistoryLimit": 10,
                 "selector": {"matchLabels": lab},
                 "template": {"metadata": {"creationTimestamp": None, "labels": lab},
                    "spec": {"containers": [main], "dnsPolicy": "ClusterFirst", "initContainers": init,
                             "restartPolicy": "Always", "schedulerName": "default-scheduler",
                             "securityContext": {"fsGroup": 2000, "fsGroupChangePolicy": "OnRootMismatch",
                                                 "runAsGroup": 3000, "runAsNonRoot": True, "runAsUser": 1000},
                             "terminationGracePeriodSeconds": 30, "volumes": volumes}},
                 "updateStrategy": {"rollingUpdate": {"partition": 0}, "type": "RollingUpdate"}},
        "status": {"availableReplicas": 1, "collisionCount": 0, "currentReplicas": 1,
                   "currentRevision": name + "-5d8f9c7b6", "observedGeneration": 1, "readyReplicas": 1,
                   "replicas": 1, "updateRevision": name + "-5d8f9c7b6", "updatedReplicas": 1}})
    return out

def lst(items):
    return {"apiVersion": "v1", "items": items, "kind": "List", "metadata": {"resourceVersion": ""}}

class Dumper(yaml.SafeDumper):
    pass

def text(dumper, value):
    # As kubectl (go-yaml) prints: multi-line strings as literal blocks.
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style="|" if "\n" in value else None)

Dumper.add_representer(str, text)

def dump(obj, path):
    import re
    out = yaml.dump(obj, Dumper=Dumper, sort_keys=True, default_flow_style=False, width=1 << 20)
    # go-yaml quotes with double quotes where quoting is needed.
    out = re.sub(r"(: |- )'([^'\"\\]*)'$", r'\1"\2"', out, flags=re.M)
    with open(path, "w") as f:
        f.write(out)

# python3 tests/data/operator/generate.py tests/data/operator  (PyYAML)
out = sys.argv[1]
crs = [cr(k, n, s) for k, n, s in samples]
dump(lst(crs), f"{out}/peers-clusterpeers.yaml")
objs = [o for k, n, s in samples for o in objects(k, n, s)]
order = {"StatefulSet": 0, "Service": 1, "ConfigMap": 2, "PersistentVolumeClaim": 3}
objs.sort(key=lambda o: (order[o["kind"]], o["metadata"]["name"]))
dump(lst(objs), f"{out}/sts-svc-cm-pvc.yaml")
with open(f"{out}/peers-clusterpeers.json", "w") as f:
    json.dump(lst(crs), f, indent=4, sort_keys=True)
    f.write("\n")
