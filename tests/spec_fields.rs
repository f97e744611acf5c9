//! The Kotal samples checked field by field against spec sections 2.1-2.4, independently of
//! the golden files: a wrong golden file cannot bless a wrong rendering.

use serde_json::{Value as J, json};

use kotalc::compile::{Options, compile};
use kotalc::kube::manifest::Object;
use kotalc::secrets::{SecretMode, SecretOptions};

fn build(case: &str) -> Vec<Object> {
    operator_objects(
        crate::common::root()
            .join("fixtures")
            .join(case)
            .join("input"),
    )
}

/// The objects built from `input`, which must compile without errors. Only what the operator
/// renders: the Secret objects and NetworkPolicies are tested on their own.
pub fn operator_objects(input: std::path::PathBuf) -> Vec<Object> {
    let mut outcome = compile(&Options {
        paths: vec![input],
        render: true,
        no_network_policies: true,
        secrets: SecretOptions {
            mode: SecretMode::None,
            ..SecretOptions::default()
        },
        ..Options::default()
    });
    let objects = outcome.take_objects();
    assert!(!outcome.has_errors(), "{:?}", outcome.diagnostics);
    objects
}

fn get<'a>(objects: &'a [Object], kind: &str) -> &'a J {
    &objects
        .iter()
        .find(|o| o.kind == kind)
        .unwrap_or_else(|| panic!("no {kind}"))
        .value
}

fn env(container: &J) -> Vec<(String, String)> {
    container["env"]
        .as_array()
        .map(|list| {
            list.iter()
                .map(|e| {
                    let value = e["value"]
                        .as_str()
                        .map_or_else(|| e["valueFrom"].to_string(), String::from);
                    (e["name"].as_str().unwrap_or_default().to_string(), value)
                })
                .collect()
        })
        .unwrap_or_default()
}

fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
    list.iter()
        .map(|(k, v)| ((*k).to_string(), (*v).to_string()))
        .collect()
}

fn names(list: &J) -> Vec<&str> {
    list.as_array()
        .map(|l| l.iter().filter_map(|x| x["name"].as_str()).collect())
        .unwrap_or_default()
}

/// Spec 2.1 and 2.2: labels everywhere, a selector of Kotal's six labels, the pod security
/// context, and the config hash of spec 2.5.
fn common(objects: &[Object], name: &str, app: &str, component: &str, controller: &str) {
    let kotal = json!({
        "app.kubernetes.io/name": app,
        "app.kubernetes.io/instance": name,
        "app.kubernetes.io/component": component,
        "app.kubernetes.io/managed-by": "kotal-operator",
        "app.kubernetes.io/created-by": controller,
        "kotal.io/protocol": "ipfs",
    });
    let kinds: Vec<&str> = objects.iter().map(|o| o.kind.as_str()).collect();
    assert_eq!(
        kinds,
        [
            "ConfigMap",
            "PersistentVolumeClaim",
            "Service",
            "StatefulSet"
        ]
    );
    for object in objects {
        assert_eq!(object.name, name);
        assert_eq!(object.value["metadata"]["labels"], kotal, "{}", object.kind);
        assert!(object.value["metadata"].get("ownerReferences").is_none());
        assert!(object.value.get("status").is_none());
    }
    let sts = get(objects, "StatefulSet");
    assert_eq!(sts["spec"]["selector"]["matchLabels"], kotal);
    assert_eq!(get(objects, "Service")["spec"]["selector"], kotal);
    assert_eq!(sts["spec"]["template"]["metadata"]["labels"], kotal);
    assert_eq!(
        sts["spec"]["template"]["spec"]["securityContext"],
        json!({"runAsUser": 1000, "runAsGroup": 3000, "runAsNonRoot": true, "fsGroup": 2000, "fsGroupChangePolicy": "OnRootMismatch"})
    );
    let data = &get(objects, "ConfigMap")["data"];
    let digest = sha2_hex(&serde_json::to_string(data).unwrap_or_default());
    assert_eq!(
        sts["spec"]["template"]["metadata"]["annotations"]["kotalc.io/config-sha256"],
        json!(digest)
    );
    let pvc = get(objects, "PersistentVolumeClaim");
    assert_eq!(pvc["spec"]["accessModes"], json!(["ReadWriteOnce"]));
    assert_eq!(
        pvc["metadata"]["annotations"]["argocd.argoproj.io/sync-options"],
        "Prune=false"
    );
    assert_eq!(
        pvc["metadata"]["annotations"]["kustomize.toolkit.fluxcd.io/prune"],
        "disabled"
    );
}

fn sha2_hex(text: &str) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(text.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

struct PeerExpect<'a> {
    name: &'a str,
    api: Option<u16>,
    gateway: Option<u16>,
    api_port: &'a str,
    gateway_port: &'a str,
    routing: &'a str,
    swarm_key: Option<&'a str>,
    cpu: (&'a str, &'a str),
    memory: (&'a str, &'a str),
}

/// Spec 2.3, in the order it is written.
fn peer(objects: &[Object], e: &PeerExpect<'_>) {
    common(objects, e.name, "kubo", "ipfs-peer", "ipfs-peer-controller");
    let data = get(objects, "ConfigMap")["data"].as_object().expect("data");
    let keys: Vec<&str> = data.keys().map(String::as_str).collect();
    assert_eq!(
        keys,
        ["config_ipfs.sh", "copy_swarm_key.sh", "init_ipfs_config.sh"]
    );

    let mut ports = vec![json!(
        {"name": "swarm", "port": 4001, "protocol": "TCP", "targetPort": "swarm"}
    )];
    // Spec 5.3: under a swarm key kubo listens on TCP only.
    if e.swarm_key.is_none() {
        ports.push(
            json!({"name": "swarm-udp", "port": 4001, "protocol": "UDP", "targetPort": "swarm-udp"}),
        );
    }
    if let Some(p) = e.api {
        ports.push(json!({"name": "api", "port": p, "protocol": "TCP", "targetPort": "api"}));
    }
    if let Some(p) = e.gateway {
        ports.push(
            json!({"name": "gateway", "port": p, "protocol": "TCP", "targetPort": "gateway"}),
        );
    }
    let service = get(objects, "Service");
    assert_eq!(service["spec"]["ports"], J::Array(ports.clone()));
    assert_eq!(service["spec"]["type"], "ClusterIP");

    let sts = get(objects, "StatefulSet");
    let pod = &sts["spec"]["template"]["spec"];
    let mut volumes = vec!["data", "config"];
    let mut mounts = vec![
        json!({"name": "data", "mountPath": "/home/ipfs/kotal-data"}),
        json!({"name": "config", "mountPath": "/home/ipfs/kotal-config"}),
    ];
    if let Some(secret) = e.swarm_key {
        volumes.push("swarm-key");
        mounts.push(json!({"name": "swarm-key", "mountPath": "/home/ipfs/.kotal-secrets"}));
        assert_eq!(pod["volumes"][2]["secret"]["secretName"], secret);
    }
    assert_eq!(names(&pod["volumes"]), volumes);
    assert_eq!(
        pod["volumes"][0]["persistentVolumeClaim"]["claimName"],
        e.name
    );
    assert_eq!(pod["volumes"][1]["configMap"]["name"], e.name);

    let init = &pod["initContainers"];
    let mut init_names = vec!["init-ipfs", "config-ipfs"];
    if e.swarm_key.is_some() {
        init_names.insert(0, "copy-swarm-key");
        let copy = &init[0];
        assert_eq!(copy["image"], "busybox:1.34.1");
        assert_eq!(copy["command"], json!(["/bin/sh"]));
        assert_eq!(
            copy["args"],
            json!(["/home/ipfs/kotal-config/copy_swarm_key.sh"])
        );
        assert_eq!(
            env(copy),
            pairs(&[
                ("IPFS_PATH", "/home/ipfs/kotal-data"),
                ("KOTAL_SECRETS_PATH", "/home/ipfs/.kotal-secrets")
            ])
        );
    }
    assert_eq!(names(init), init_names);
    let offset = usize::from(e.swarm_key.is_some());
    let init_ipfs = &init[offset];
    assert_eq!(
        init_ipfs["args"],
        json!(["/home/ipfs/kotal-config/init_ipfs_config.sh"])
    );
    assert_eq!(
        env(init_ipfs),
        pairs(&[
            ("IPFS_PATH", "/home/ipfs/kotal-data"),
            ("IPFS_INIT_PROFILES", "default-datastore")
        ])
    );
    let config = &init[offset + 1];
    assert_eq!(
        config["args"],
        json!(["/home/ipfs/kotal-config/config_ipfs.sh"])
    );
    let host = |on: bool| if on { "0.0.0.0" } else { "127.0.0.1" };
    let config_env = env(config);
    assert_eq!(
        config_env[..5],
        pairs(&[
            ("IPFS_PATH", "/home/ipfs/kotal-data"),
            ("IPFS_API_PORT", e.api_port),
            ("IPFS_API_HOST", host(e.api.is_some())),
            ("IPFS_GATEWAY_PORT", e.gateway_port),
            ("IPFS_GATEWAY_HOST", host(e.gateway.is_some())),
        ])[..]
    );
    assert_eq!(config_env[5].0, "IPFS_PROFILES");
    // Spec 5.3: the private-swarm settings follow the swarm key.
    let private = if e.swarm_key.is_some() {
        "true"
    } else {
        "false"
    };
    // Half of the 4Gi memory limit for libp2p's resource manager, 90% of the 10Gi claim for
    // the repository (docs/rendering.md, "Memory and storage from the spec").
    assert_eq!(
        config_env[6..],
        pairs(&[
            ("KOTAL_PRIVATE_SWARM", private),
            ("KOTAL_RESOURCE_MANAGER_MEMORY", "2GiB"),
            ("KOTAL_STORAGE_MAX", "9GiB"),
            ("KOTAL_STORAGE_GC_WATERMARK", "90"),
        ])[..]
    );

    let main = &pod["containers"][0];
    assert_eq!(names(&pod["containers"]), ["peer"]);
    assert_eq!(main["image"], "kotalco/kubo:v0.28.0");
    assert_eq!(main["command"], json!(["ipfs"]));
    assert_eq!(main["args"], json!(["daemon", "--routing", e.routing]));
    // Spec 5.3: a private peer whose key went missing refuses to start.
    let mut main_env = vec![
        ("IPFS_PATH", "/home/ipfs/kotal-data"),
        ("IPFS_LOGGING", "info"),
        // 80% of the 4Gi memory limit, in whole MiB.
        ("GOMEMLIMIT", "3276MiB"),
    ];
    if e.swarm_key.is_some() {
        main_env.push(("LIBP2P_FORCE_PNET", "1"));
        main_env.push(("LIBP2P_TCP_MUX", "false"));
    }
    assert_eq!(env(main), pairs(&main_env));
    let container_ports: Vec<J> = ports
        .iter()
        .map(|p| json!({"name": p["name"], "containerPort": p["port"], "protocol": p["protocol"]}))
        .collect();
    assert_eq!(main["ports"], J::Array(container_ports));
    assert_eq!(
        main["resources"],
        json!({"requests": {"cpu": e.cpu.0, "memory": e.memory.0}, "limits": {"cpu": e.cpu.1, "memory": e.memory.1}})
    );
    for container in init.as_array().into_iter().flatten().chain([main]) {
        assert_eq!(
            container["volumeMounts"],
            J::Array(mounts.clone()),
            "{}",
            container["name"]
        );
    }
    assert_eq!(sts["spec"]["replicas"], 1);
}

#[test]
fn bare_peer_sample_matches_spec() {
    peer(
        &build("sample-bare-peer"),
        &PeerExpect {
            name: "bare-peer",
            api: Some(5001),
            gateway: Some(8080),
            api_port: "5001",
            gateway_port: "8080",
            routing: "dht",
            swarm_key: None,
            cpu: ("1", "2"),
            memory: ("2Gi", "4Gi"),
        },
    );
}

#[test]
fn swarm_peer_sample_matches_spec() {
    peer(
        &build("sample-swarm-peer"),
        &PeerExpect {
            name: "peer-sample",
            api: None,
            gateway: None,
            api_port: "8999",
            gateway_port: "4444",
            routing: "dhtclient",
            swarm_key: Some("my-swarm-key"),
            cpu: ("1", "2"),
            memory: ("1Gi", "4Gi"),
        },
    );
}

/// Spec 2.4.
#[test]
fn cluster_peer_sample_matches_spec() {
    let objects = build("sample-cluster-peer");
    common(
        &objects,
        "cluster-peer",
        "ipfs-cluster-service",
        "ipfs-clusterpeer",
        "ipfs-clusterpeer-controller",
    );
    let data = get(&objects, "ConfigMap")["data"]
        .as_object()
        .expect("data");
    assert_eq!(
        data.keys().collect::<Vec<_>>(),
        ["init_ipfs_cluster_config.sh"]
    );
    let ports: Vec<(&str, u64, &str)> = get(&objects, "Service")["spec"]["ports"]
        .as_array()
        .expect("ports")
        .iter()
        .map(|p| {
            (
                p["name"].as_str().unwrap_or_default(),
                p["port"].as_u64().unwrap_or(0),
                p["protocol"].as_str().unwrap_or_default(),
            )
        })
        .collect();
    assert_eq!(
        ports,
        [
            // Spec 5.3: only the ports something listens on (swarm-udp, api and tracing
            // of 2.4 are gone); the runtime tests prove each reaches a listener.
            ("swarm", 9096, "TCP"),
            ("proxy-api", 9095, "TCP"),
            ("rest", 9094, "TCP"),
            ("metrics", 8888, "TCP"),
        ]
    );
    let pod = &get(&objects, "StatefulSet")["spec"]["template"]["spec"];
    let init = &pod["initContainers"][0];
    assert_eq!(init["name"], "init-cluster-peer");
    assert_eq!(init["image"], "kotalco/ipfs-cluster:v1.0.8");
    assert_eq!(
        init["args"],
        json!(["/home/ipfs-cluster/kotal-config/init_ipfs_cluster_config.sh"])
    );
    let id = "12D3KooWBcEtY8GH4mNkri9kM3haeWhEXtQV7mi81ErWrqLYGuiq";
    let trusted = format!("{id},12D3KooWQ9yZnqowEDme3gSgS45KY9ZoEmAiGYRxusdEaqtFa9pr");
    // Spec 5.3: the settings ipfs-cluster applies at every start are on both containers.
    let settings = [
        (
            "CLUSTER_IPFSHTTP_NODEMULTIADDRESS",
            "/dns4/bare-peer/tcp/5001",
        ),
        (
            "CLUSTER_SECRET",
            r#"{"secretKeyRef":{"key":"secret","name":"cluster-secret"}}"#,
        ),
        ("CLUSTER_CRDT_TRUSTEDPEERS", trusted.as_str()),
        ("CLUSTER_PEERNAME", "cluster-peer"),
        (
            "CLUSTER_RESTAPI_HTTPLISTENMULTIADDRESS",
            "/ip4/0.0.0.0/tcp/9094",
        ),
        (
            "CLUSTER_IPFSPROXY_LISTENMULTIADDRESS",
            "/ip4/0.0.0.0/tcp/9095",
        ),
        (
            "CLUSTER_IPFSPROXY_NODEMULTIADDRESS",
            "/dns4/bare-peer/tcp/5001",
        ),
        ("CLUSTER_METRICS_ENABLESTATS", "true"),
        (
            "CLUSTER_METRICS_PROMETHEUSENDPOINT",
            "/ip4/0.0.0.0/tcp/8888",
        ),
    ];
    let mut init_env = vec![
        ("IPFS_CLUSTER_PATH", "/home/ipfs-cluster/kotal-data"),
        ("IPFS_CLUSTER_CONSENSUS", "crdt"),
    ];
    init_env.extend(settings);
    init_env.extend([
        ("CLUSTER_ID", id),
        (
            "CLUSTER_PRIVATEKEY",
            r#"{"secretKeyRef":{"key":"key","name":"my-cluster-privatekey"}}"#,
        ),
    ]);
    assert_eq!(env(init), pairs(&init_env));
    let main = &pod["containers"][0];
    assert_eq!(main["name"], "cluster-peer");
    assert_eq!(main["command"], json!(["ipfs-cluster-service"]));
    assert_eq!(main["args"], json!(["daemon"]));
    let mut main_env = vec![("IPFS_CLUSTER_PATH", "/home/ipfs-cluster/kotal-data")];
    main_env.extend(settings);
    main_env.push(("IPFS_CLUSTER_LOG_LEVEL", "info"));
    main_env.push(("GOMEMLIMIT", "3276MiB"));
    assert_eq!(env(main), pairs(&main_env));
    assert_eq!(
        main["volumeMounts"],
        json!([{"name": "data", "mountPath": "/home/ipfs-cluster/kotal-data"}])
    );
    assert_eq!(
        main["resources"]["requests"],
        json!({"cpu": "1", "memory": "1Gi"})
    );
}

/// Spec 2.5: extraArgs sorted by key, `""` as a bare flag.
#[test]
fn extra_args_are_sorted() {
    let objects = build("peer-extra-args-unsorted");
    let args = &get(&objects, "StatefulSet")["spec"]["template"]["spec"]["containers"][0]["args"];
    assert_eq!(
        *args,
        json!([
            "daemon",
            "--routing",
            "dht",
            "--agent-version-suffix=kotalc",
            "--enable-gc",
            "--enable-pubsub-experiment",
            "--migrate",
            "--writable=true"
        ])
    );
}

/// Spec 2.1: user labels are added, Kotal's win, and the selector ignores them.
#[test]
fn user_labels_do_not_reach_the_selector() {
    let objects = build("peer-user-labels");
    let sts = get(&objects, "StatefulSet");
    assert_eq!(sts["metadata"]["labels"]["app.kubernetes.io/name"], "kubo");
    assert_eq!(sts["metadata"]["labels"]["team"], "storage");
    assert_eq!(
        sts["spec"]["template"]["metadata"]["labels"]["environment"],
        "production"
    );
    assert!(sts["spec"]["selector"]["matchLabels"].get("team").is_none());
    assert_eq!(
        sts["metadata"]["annotations"]["argocd.argoproj.io/sync-wave"],
        "1"
    );
    assert!(
        sts["metadata"]["annotations"]
            .get("kotalc.io/allow")
            .is_none()
    );
}
