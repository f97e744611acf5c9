//! A pod runner for the real programs: a rendered StatefulSet run as the kubelet runs it, as
//! processes, on a pod network built as a cluster's bridge CNI builds one. Each pod gets a
//! mount namespace and a network namespace with `lo` and an `eth0`, one end of a veth pair
//! whose other end is a port of the cluster's bridge, with its own address and a default route
//! through the bridge's. The bridge lives in the cluster's own network namespace, which has
//! nothing else: no uplink, no route out, no forwarding, so whatever a pod sends to any
//! address but another pod's ends there. Service names resolve to their pods' addresses
//! through the cluster's DNS, a real CoreDNS serving a `cluster.local` zone that the runner
//! writes from the Services it is given; each pod's `/etc/resolv.conf` points at it with the
//! kubelet's search list. TCP and UDP between pods are plain packets on the bridge.
//!
//! A pod's volumes are directories bind-mounted at their mount paths, and the image is the real
//! binary of its tag on PATH. Init containers run in order, then the main container, each with
//! the manifest's env (secretKeyRef from the test's Secrets, `$(VAR)` expanded as the kubelet
//! expands it), command, args, and the uid and gids of the securityContext.

use std::collections::BTreeMap;
use std::fs::{self, File};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Ipv4Addr, SocketAddrV4, TcpStream};
use std::os::fd::AsRawFd;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use kotalc::kube::manifest::Object;
use serde_json::Value as J;

use crate::common::{debian_program, real_program, scratch};

/// The kubo versions the tests run on: the default image's, one with AutoConf, the newest.
pub const KUBO: [&str; 3] = ["v0.28.0", "v0.38.2", "v0.43.0"];
/// The ipfs-cluster that `tests/tools/build.sh` builds, for every ipfs-cluster image.
pub const CLUSTER: &str = "ipfs-cluster-v1.1.6";

/// Hang guard of an init container and of a `kubectl exec`: far above a normal run.
const INIT_BOUND: Duration = Duration::from_secs(300);
const PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// The pod network: a /24 on the bridge, whose address is every pod's gateway.
const GATEWAY: Ipv4Addr = Ipv4Addr::new(10, 244, 0, 1);
/// The cluster DNS's address (a Service's, in a cluster), on the bridge.
const DNS: Ipv4Addr = Ipv4Addr::new(10, 244, 0, 10);
/// The first pod address; each StatefulSet gets the next one, in the order applied.
const FIRST_POD: u8 = 20;
const BRIDGE: &str = "kbr0";

struct Workload {
    statefulset: J,
    addr: Ipv4Addr,
}

/// The objects of one test's cluster: StatefulSets (each with its address), Services,
/// ConfigMaps, Secrets and claims (directories that outlive pods), and its network.
pub struct Cluster {
    pub dir: PathBuf,
    workloads: BTreeMap<String, Workload>,
    services: BTreeMap<String, J>,
    configmaps: BTreeMap<String, J>,
    secrets: BTreeMap<String, BTreeMap<String, String>>,
    network: Network,
    /// Binaries put beside each pod's image binaries (e.g. a repository migration).
    pub extra_bins: Vec<PathBuf>,
    starts: AtomicUsize,
}

/// The cluster's network namespace (the bridge, the DNS) and the DNS server.
struct Network {
    holder: Child,
    netns: Arc<File>,
    ns_net: String,
    dns: Child,
    /// The `cluster.local` zone file the DNS serves, and its serial.
    zone: PathBuf,
    serial: u32,
    /// Pod addresses whose discovery packets the bridge counts.
    counted: Mutex<Vec<Ipv4Addr>>,
}

impl Cluster {
    pub fn new(name: &str) -> Cluster {
        let dir = scratch(&format!("pods-{name}"));
        let network = Network::new(&dir);
        Cluster {
            dir,
            workloads: BTreeMap::new(),
            services: BTreeMap::new(),
            configmaps: BTreeMap::new(),
            secrets: BTreeMap::new(),
            network,
            extra_bins: Vec::new(),
            starts: AtomicUsize::new(0),
        }
    }

    /// Applies rendered objects: StatefulSets and ConfigMaps replace those of the same name
    /// (a running pod keeps what it started with, as in Kubernetes).
    pub fn apply(&mut self, objects: &[Object]) {
        self.apply_manifests(objects.iter().map(|o| &o.value));
    }

    /// Applies manifests as read from kotalc's output files.
    pub fn apply_manifests<'a>(&mut self, manifests: impl IntoIterator<Item = &'a J>) {
        for manifest in manifests {
            let name = manifest["metadata"]["name"]
                .as_str()
                .expect("metadata.name")
                .to_string();
            match manifest["kind"].as_str() {
                Some("ConfigMap") => {
                    self.configmaps.insert(name, manifest.clone());
                }
                Some("Service") => {
                    self.services.insert(name, manifest.clone());
                }
                Some("StatefulSet") => {
                    let next = Ipv4Addr::new(10, 244, 0, FIRST_POD + self.workloads.len() as u8);
                    let addr = self.workloads.get(&name).map_or(next, |w| w.addr);
                    self.workloads.insert(
                        name,
                        Workload {
                            statefulset: manifest.clone(),
                            addr,
                        },
                    );
                }
                _ => {}
            }
        }
        let records = self.records();
        self.network.zone(&records);
    }

    /// The DNS records of the Services: `NAME.NAMESPACE.svc` to the address of the pod its
    /// selector selects (a Service without one has no record, as it has no endpoints).
    fn records(&self) -> Vec<(String, Ipv4Addr)> {
        let mut records = Vec::new();
        for (name, service) in &self.services {
            let ns = service["metadata"]["namespace"]
                .as_str()
                .unwrap_or("default");
            let Some(selector) = service["spec"]["selector"].as_object() else {
                continue;
            };
            let selected = self.workloads.values().find(|w| {
                let labels = &w.statefulset["spec"]["template"]["metadata"]["labels"];
                !selector.is_empty() && selector.iter().all(|(k, v)| labels[k] == *v)
            });
            if let Some(workload) = selected {
                records.push((format!("{name}.{ns}.svc"), workload.addr));
            }
        }
        records
    }

    /// How many mDNS (224.0.0.251:5353), SSDP (239.255.255.250:1900) and NAT-PMP (the
    /// gateway's 5351) packets the pod has sent, as the bridge counted them.
    pub fn discovery_packets(&self, pod: &Pod) -> u64 {
        self.network.discovery_packets(pod.addr)
    }

    pub fn secret(&mut self, name: &str, key: &str, value: &str) {
        self.secrets
            .entry(name.into())
            .or_default()
            .insert(key.into(), value.into());
    }

    /// The StatefulSet's data claim directory: it survives the pod, as a PVC does.
    pub fn claim(&self, claim: &str) -> PathBuf {
        self.dir.join("claims").join(claim)
    }

    /// Creates pod `<name>-0` of StatefulSet `name` and runs its init containers; their
    /// failure is the error, with their logs. The main containers are left running.
    pub fn start(&self, name: &str) -> Result<Pod, String> {
        let workload = self
            .workloads
            .get(name)
            .unwrap_or_else(|| panic!("no StatefulSet {name}"));
        let spec = workload.statefulset["spec"]["template"]["spec"].clone();
        let addr = workload.addr;
        let start = self.starts.fetch_add(1, Ordering::Relaxed) + 1;
        let dir = self.dir.join(format!("pod-{name}-{start}"));
        fs::create_dir_all(&dir).expect("pod dir");
        let security = &spec["securityContext"];
        let id = |key: &str| security[key].as_u64().map(|n| n as u32);
        let fs_group = id("fsGroup");
        let volumes = self.volumes(&spec, &dir, fs_group)?;
        let containers: Vec<J> = spec["initContainers"]
            .as_array()
            .into_iter()
            .flatten()
            .chain(spec["containers"].as_array().expect("containers"))
            .cloned()
            .collect();

        // The mount namespace: /home (where kotalc mounts) and /usr/local/bin (where the
        // images keep their programs) are the pod's own; /etc/hosts and /etc/resolv.conf are
        // the kubelet's: the pod's own name, and the cluster's DNS with its search list.
        let namespace = workload.statefulset["metadata"]["namespace"]
            .as_str()
            .unwrap_or("default");
        let (hosts, resolv) = (dir.join("hosts"), dir.join("resolv.conf"));
        fs::write(
            &hosts,
            format!("127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n{addr}\t{name}-0\n"),
        )
        .expect("hosts");
        fs::write(
            &resolv,
            format!(
                "search {namespace}.svc.cluster.local svc.cluster.local cluster.local\n\
                 nameserver {DNS}\noptions ndots:5\n"
            ),
        )
        .expect("resolv.conf");
        let mut setup = String::from(
            "set -e\nip link set lo up\nmount -t tmpfs -o mode=755 pod /home\n\
             mount -t tmpfs -o mode=755 pod /usr/local/bin\n",
        );
        setup.push_str(&format!("mount --bind {} /etc/hosts\n", q(&hosts)));
        setup.push_str(&format!("mount --bind {} /etc/resolv.conf\n", q(&resolv)));
        let mut bins: BTreeMap<String, PathBuf> = BTreeMap::new();
        for container in &containers {
            for bin in image_binaries(container["image"].as_str().unwrap_or_default()) {
                bins.insert(file_name(&bin), bin);
            }
        }
        for bin in &self.extra_bins {
            bins.insert(file_name(bin), bin.clone());
        }
        for (name, bin) in &bins {
            let at = format!("/usr/local/bin/{name}");
            setup.push_str(&format!("touch {at}\nmount --bind {} {at}\n", q(bin)));
        }
        let mut mounted: BTreeMap<String, bool> = BTreeMap::new();
        for container in &containers {
            for mount in container["volumeMounts"].as_array().into_iter().flatten() {
                let path = mount["mountPath"].as_str().expect("mountPath");
                assert!(
                    path.starts_with("/home/") && !path.contains(".."),
                    "the runner mounts under /home only: {path}"
                );
                let read_only = mount["readOnly"].as_bool().unwrap_or(false);
                let volume = mount["name"].as_str().expect("volume");
                let Some(host) = volumes.get(volume) else {
                    return Err(format!("{name}: no volume {volume}"));
                };
                if mounted.insert(path.to_string(), read_only).is_none() {
                    setup.push_str(&format!(
                        "mkdir -p {path}\nmount --bind {} {path}\n",
                        q(host)
                    ));
                    if read_only {
                        setup.push_str(&format!("mount -o remount,bind,ro {path}\n"));
                    }
                }
            }
        }
        setup.push_str("echo ready\nexec setpriv --pdeathsig KILL sleep infinity\n");
        let mut holder = Command::new("unshare")
            .args([
                "--net",
                "--mount",
                "--propagation",
                "private",
                "--",
                "sh",
                "-c",
            ])
            .arg(&setup)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(File::create(dir.join("sandbox.log")).expect("log"))
            .spawn()
            .expect("unshare runs");
        let mut ready = String::new();
        let _ = BufReader::new(holder.stdout.take().expect("stdout")).read_line(&mut ready);
        if ready != "ready\n" {
            let _ = holder.kill();
            let _ = holder.wait();
            return Err(format!(
                "{name}: the pod sandbox failed: {}",
                fs::read_to_string(dir.join("sandbox.log")).unwrap_or_default()
            ));
        }
        let ns = |kind: &str| format!("/proc/{}/ns/{kind}", holder.id());
        let (ns_net, ns_mnt) = (ns("net"), ns("mnt"));
        let netns = Arc::new(File::open(&ns_net).expect("netns"));
        let veth = format!("kv{start}");
        let mut pod = Pod {
            name: name.into(),
            addr,
            dir,
            holder,
            netns,
            ns_net,
            ns_mnt,
            user: (id("runAsUser"), id("runAsGroup"), fs_group),
            env: BTreeMap::new(),
            containers: containers.clone(),
            running: Mutex::default(),
            liveness: Mutex::default(),
            veth: veth.clone(),
            cluster_net: self.network.ns_net.clone(),
        };
        self.network.attach(&pod, &veth)?;
        pod.isolate()?;
        self.network.isolated()?;

        for container in &containers {
            let cname = container["name"].as_str().expect("name").to_string();
            let env = self.env(container)?;
            pod.env.insert(cname.clone(), env);
        }
        for init in spec["initContainers"].as_array().into_iter().flatten() {
            let cname = init["name"].as_str().expect("name");
            let mut child = pod.spawn(cname);
            let status = wait_bounded(&mut child, INIT_BOUND);
            if !status.is_some_and(|s| s.success()) {
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!(
                    "pod {name}: init container {cname} failed ({status:?}):\n{}",
                    pod.logs()
                ));
            }
        }
        for main in spec["containers"].as_array().expect("containers") {
            let cname = main["name"].as_str().expect("name").to_string();
            if let Some(probe) = main.get("livenessProbe") {
                pod.liveness
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .insert(cname.clone(), Liveness::new(probe, Instant::now()));
            }
            let child = pod.spawn(&cname);
            pod.running
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .insert(cname, child);
        }
        Ok(pod)
    }

    /// The pod's volumes as host directories, owned as the kubelet leaves them for fsGroup.
    fn volumes(
        &self,
        spec: &J,
        dir: &Path,
        fs_group: Option<u32>,
    ) -> Result<BTreeMap<String, PathBuf>, String> {
        let mut out = BTreeMap::new();
        for volume in spec["volumes"].as_array().into_iter().flatten() {
            let name = volume["name"].as_str().expect("volume name");
            let (host, writable) =
                if let Some(claim) = volume["persistentVolumeClaim"]["claimName"].as_str() {
                    (self.claim(claim), true)
                } else if let Some(map) = volume["configMap"]["name"].as_str() {
                    let Some(config) = self.configmaps.get(map) else {
                        return Err(format!("no ConfigMap {map}"));
                    };
                    let host = dir.join("volumes").join(name);
                    fs::create_dir_all(&host).expect("mkdir");
                    for (file, body) in config["data"].as_object().into_iter().flatten() {
                        write_mode(&host.join(file), body.as_str().unwrap_or_default(), 0o644);
                    }
                    (host, false)
                } else if let Some(secret) = volume["secret"]["secretName"].as_str() {
                    let Some(data) = self.secrets.get(secret) else {
                        return Err(format!("no Secret {secret}: the pod would not start"));
                    };
                    let host = dir.join("volumes").join(name);
                    fs::create_dir_all(&host).expect("mkdir");
                    for (key, value) in data {
                        write_mode(&host.join(key), value, 0o644);
                    }
                    (host, false)
                } else if volume.get("emptyDir").is_some() {
                    (dir.join("volumes").join(name), true)
                } else {
                    return Err(format!("the runner has no volume like {volume}"));
                };
            fs::create_dir_all(&host).expect("volume");
            if let Some(gid) = fs_group {
                own(&host, gid, writable);
            }
            out.insert(name.to_string(), host);
        }
        Ok(out)
    }

    /// The container's environment as the kubelet makes it: in order, each value expanded
    /// with the variables before it, secretKeyRef resolved.
    fn env(&self, container: &J) -> Result<Vec<(String, String)>, String> {
        let mut env: Vec<(String, String)> =
            vec![("PATH".into(), PATH.into()), ("HOME".into(), "/".into())];
        for var in container["env"].as_array().into_iter().flatten() {
            let name = var["name"].as_str().expect("env name").to_string();
            let value = if let Some(r) = var["valueFrom"]["secretKeyRef"].as_object() {
                let (secret, key) = (
                    r["name"].as_str().unwrap_or_default(),
                    r["key"].as_str().unwrap_or_default(),
                );
                match self.secrets.get(secret).and_then(|s| s.get(key)) {
                    Some(v) => v.clone(),
                    None => return Err(format!("no Secret {secret} key {key}")),
                }
            } else {
                expand(var["value"].as_str().unwrap_or_default(), &env)
            };
            env.retain(|(n, _)| *n != name);
            env.push((name, value));
        }
        Ok(env)
    }
}

impl Network {
    /// The cluster's network namespace with its bridge, and CoreDNS serving the zone on it.
    fn new(dir: &Path) -> Network {
        let setup = format!(
            "set -e\nip link set lo up\nip link add {BRIDGE} type bridge\n\
             ip addr add {GATEWAY}/24 dev {BRIDGE}\nip addr add {DNS}/32 dev {BRIDGE}\n\
             ip link set {BRIDGE} up\necho ready\nexec setpriv --pdeathsig KILL sleep infinity\n"
        );
        let mut holder = Command::new("unshare")
            .args(["--net", "--", "sh", "-c", &setup])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(File::create(dir.join("network.log")).expect("log"))
            .spawn()
            .expect("unshare runs");
        let mut ready = String::new();
        let _ = BufReader::new(holder.stdout.take().expect("stdout")).read_line(&mut ready);
        assert_eq!(
            ready,
            "ready\n",
            "the cluster network failed: {}",
            fs::read_to_string(dir.join("network.log")).unwrap_or_default()
        );
        let ns_net = format!("/proc/{}/ns/net", holder.id());
        let netns = Arc::new(File::open(&ns_net).expect("netns"));
        // The bridge counts what pods send to look for a LAN or a router (chain `discovery`,
        // one rule per pod address).
        nft(
            &ns_net,
            "table bridge kotalc {\n chain discovery { type filter hook prerouting priority 0; }\n}\n",
        );

        let zone = dir.join("cluster.local.zone");
        let corefile = dir.join("Corefile");
        fs::write(
            &corefile,
            format!(
                "cluster.local:53 {{\n  bind {DNS}\n  file {} {{\n    reload 1s\n  }}\n}}\n\
                 .:53 {{\n  bind {DNS}\n  template ANY ANY {{\n    rcode NXDOMAIN\n  }}\n}}\n",
                zone.display()
            ),
        )
        .expect("Corefile");
        write_zone(&zone, 1, &[]);
        let log = dir.join("coredns.log");
        let dns = Command::new("nsenter")
            .arg(format!("--net={ns_net}"))
            .args(["--", "setpriv", "--pdeathsig", "KILL"])
            .arg(real_program("coredns-v1.15.0", "coredns"))
            .arg("-conf")
            .arg(&corefile)
            .stdin(Stdio::null())
            .stdout(File::create(&log).expect("log"))
            .stderr(File::create(dir.join("coredns.err")).expect("log"))
            .spawn()
            .expect("nsenter runs");
        let network = Network {
            holder,
            netns,
            ns_net,
            dns,
            zone,
            serial: 1,
            counted: Mutex::default(),
        };
        let dns = SocketAddrV4::new(DNS, 53);
        let netns = network.netns.clone();
        wait_for(
            "the cluster DNS answers on 10.244.0.10:53",
            Duration::from_secs(120),
            || {
                in_netns(&netns, move || {
                    TcpStream::connect_timeout(&dns.into(), Duration::from_secs(2)).is_ok()
                })
            },
            || {
                format!(
                    "{}{}",
                    fs::read_to_string(&log).unwrap_or_default(),
                    fs::read_to_string(dir.join("coredns.err")).unwrap_or_default()
                )
            },
        );
        network.isolated().unwrap_or_else(|e| panic!("{e}"));
        network
    }

    /// Writes the zone anew with the Services' records, and waits until the cluster DNS
    /// answers each of them: CoreDNS reloads the zone within a second, and a pod started
    /// sooner would otherwise ask before the names are there.
    fn zone(&mut self, records: &[(String, Ipv4Addr)]) {
        self.serial += 1;
        write_zone(&self.zone, self.serial, records);
        for (name, addr) in records {
            let (netns, fqdn, addr) = (self.netns.clone(), format!("{name}.cluster.local"), *addr);
            let asked = fqdn.clone();
            wait_for(
                &format!("the cluster DNS answers {fqdn}"),
                Duration::from_secs(120),
                move || {
                    let fqdn = fqdn.clone();
                    in_netns(&netns, move || dns_a(&fqdn) == Some(addr))
                },
                move || format!("{asked} is not answered with {addr}"),
            );
        }
    }

    /// Plugs a pod in: a veth pair, `eth0` in the pod (a MAC derived from its address, so that
    /// the pods' neighbour caches stay right when a StatefulSet's next pod takes it) with the
    /// address and a default route through the bridge, `veth` on the bridge.
    fn attach(&self, pod: &Pod, veth: &str) -> Result<(), String> {
        let pid = pod.holder.id().to_string();
        let [_, _, c, d] = pod.addr.octets();
        let mac = format!("02:42:0a:f4:{c:02x}:{d:02x}");
        let addr = format!("{}/24", pod.addr);
        let gateway = GATEWAY.to_string();
        for (ns, args) in [
            (
                &self.ns_net,
                vec![
                    "link", "add", veth, "type", "veth", "peer", "name", "eth0", "netns", &pid,
                ],
            ),
            (&self.ns_net, vec!["link", "set", veth, "master", BRIDGE]),
            (&self.ns_net, vec!["link", "set", veth, "up"]),
            (&pod.ns_net, vec!["link", "set", "eth0", "address", &mac]),
            (&pod.ns_net, vec!["addr", "add", &addr, "dev", "eth0"]),
            (&pod.ns_net, vec!["link", "set", "eth0", "up"]),
            (
                &pod.ns_net,
                vec!["route", "add", "default", "via", &gateway],
            ),
        ] {
            let (ok, out) = ip_in(ns, &args);
            if !ok {
                return Err(format!("pod {}: ip {}: {out}", pod.name, args.join(" ")));
            }
        }
        let mut counted = self.counted.lock().unwrap_or_else(|e| e.into_inner());
        if !counted.contains(&pod.addr) {
            nft(
                &self.ns_net,
                &format!(
                    "add rule bridge kotalc discovery ip saddr {} ip daddr {{ 224.0.0.251, \
                     239.255.255.250, {GATEWAY} }} udp dport {{ 5353, 1900, 5351 }} counter \
                     comment \"{}\"\n",
                    pod.addr, pod.addr
                ),
            );
            counted.push(pod.addr);
        }
        Ok(())
    }

    fn discovery_packets(&self, addr: Ipv4Addr) -> u64 {
        let out = Command::new("nsenter")
            .arg(format!("--net={}", self.ns_net))
            .arg(debian_program("nft", "nftables"))
            .args(["-j", "list", "chain", "bridge", "kotalc", "discovery"])
            .output()
            .expect("nft runs");
        let listing: J = serde_json::from_slice(&out.stdout).expect("nft -j");
        listing["nftables"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|item| item["rule"]["comment"] == addr.to_string())
            .flat_map(|item| item["rule"]["expr"].as_array().cloned().unwrap_or_default())
            .filter_map(|expr| expr["counter"]["packets"].as_u64())
            .sum()
    }

    /// Checks what the cluster's namespace must be: the bridge and pods' veths, the pod
    /// network's route only, no forwarding: nothing a pod sends leaves it.
    fn isolated(&self) -> Result<(), String> {
        let links = ip_in(&self.ns_net, &["-o", "link"]).1;
        let strangers: Vec<&str> = links
            .lines()
            .filter_map(|l| l.split(": ").nth(1))
            .map(|n| n.split('@').next().unwrap_or(n))
            .filter(|n| *n != "lo" && *n != BRIDGE && !n.starts_with("kv"))
            .collect();
        // A bridge without a pod on it is `linkdown`; its route is the same.
        let routes: Vec<String> =
            lines(&ip_in(&self.ns_net, &["-4", "route", "show", "table", "main"]).1)
                .into_iter()
                .map(|l| l.trim_end_matches(" linkdown").to_string())
                .collect();
        let routes6 = ip_in(&self.ns_net, &["-6", "route", "show", "table", "main"]).1;
        let outside = ["1.1.1.1", "8.8.8.8", "10.0.0.1", "192.168.0.1"];
        let reachable: Vec<&str> = outside
            .into_iter()
            .filter(|a| ip_in(&self.ns_net, &["route", "get", a]).0)
            .collect();
        let forwarding = Command::new("nsenter")
            .arg(format!("--net={}", self.ns_net))
            .args(["cat", "/proc/sys/net/ipv4/ip_forward"])
            .output()
            .expect("nsenter runs");
        let forwards = String::from_utf8_lossy(&forwarding.stdout).trim() != "0";
        let expected = [format!(
            "10.244.0.0/24 dev {BRIDGE} proto kernel scope link src {GATEWAY}"
        )];
        if !strangers.is_empty()
            || routes != expected
            || routes6.contains("default")
            || !reachable.is_empty()
            || forwards
        {
            return Err(format!(
                "the cluster network reaches out: links {strangers:?}, routes {routes:?} \
                 {routes6:?}, route to {reachable:?}, forwarding {forwards}"
            ));
        }
        Ok(())
    }
}

impl Drop for Network {
    fn drop(&mut self) {
        for child in [&mut self.dns, &mut self.holder] {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// Writes the `cluster.local` zone: each Service's record, under a serial that grows at each
/// write (the file plugin reloads a zone whose serial grew), whole, then renamed into place.
/// The first A record the cluster DNS answers for `name`, asked over UDP as a resolver asks.
fn dns_a(name: &str) -> Option<Ipv4Addr> {
    let mut query = vec![0x4b, 0x0c, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0];
    for label in name.split('.') {
        query.push(u8::try_from(label.len()).ok()?);
        query.extend_from_slice(label.as_bytes());
    }
    query.extend_from_slice(&[0, 0, 1, 0, 1]);
    let socket = std::net::UdpSocket::bind("0.0.0.0:0").ok()?;
    socket.set_read_timeout(Some(Duration::from_secs(2))).ok()?;
    socket.send_to(&query, SocketAddrV4::new(DNS, 53)).ok()?;
    let mut answer = [0u8; 512];
    let n = socket.recv(&mut answer).ok()?;
    let answer = &answer[..n];
    // NOERROR and an answer: after the echoed question, the answer's name (a pointer, or the
    // name spelled out), its type, class, TTL and length (ten bytes), then the address.
    if answer.len() < query.len() || answer[3] & 0x0f != 0 || answer[7] == 0 {
        return None;
    }
    let mut at = query.len();
    if answer.get(at)? & 0xc0 == 0xc0 {
        at += 2;
    } else {
        while *answer.get(at)? != 0 {
            at += usize::from(answer[at]) + 1;
        }
        at += 1;
    }
    let rdata = answer.get(at + 10..at + 14)?;
    Some(Ipv4Addr::new(rdata[0], rdata[1], rdata[2], rdata[3]))
}

fn write_zone(path: &Path, serial: u32, records: &[(String, Ipv4Addr)]) {
    let mut zone = format!(
        "$ORIGIN cluster.local.\n@ 30 IN SOA ns.dns hostmaster {serial} 7200 1800 86400 30\n\
         @ 30 IN NS ns.dns\nns.dns 30 IN A {DNS}\n"
    );
    for (name, addr) in records {
        zone.push_str(&format!("{name} 30 IN A {addr}\n"));
    }
    let partial = path.with_extension("partial");
    fs::write(&partial, zone).expect("zone");
    fs::rename(&partial, path).expect("zone");
}

/// The lines of a command's output, trimmed, empty ones left out.
fn lines(text: &str) -> Vec<String> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(String::from)
        .collect()
}

/// `ip ARGS` in a network namespace: whether it succeeded, and what it printed.
fn ip_in(ns_net: &str, args: &[&str]) -> (bool, String) {
    let out = Command::new("nsenter")
        .arg(format!("--net={ns_net}"))
        .arg("ip")
        .args(args)
        .output()
        .expect("ip runs");
    (
        out.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

/// Feeds an nftables script to `nft -f -` in a network namespace.
fn nft(ns_net: &str, rules: &str) {
    let mut nft = Command::new("nsenter")
        .arg(format!("--net={ns_net}"))
        .arg(debian_program("nft", "nftables"))
        .args(["-f", "-"])
        .stdin(Stdio::piped())
        .spawn()
        .expect("nft runs");
    nft.stdin
        .take()
        .expect("stdin")
        .write_all(rules.as_bytes())
        .expect("rules");
    assert!(nft.wait().expect("nft").success(), "nft: {rules}");
}

/// One pod: its sandbox (the namespaces' holder) and its running main containers.
pub struct Pod {
    pub name: String,
    pub addr: Ipv4Addr,
    pub dir: PathBuf,
    holder: Child,
    netns: Arc<File>,
    ns_net: String,
    ns_mnt: String,
    user: (Option<u32>, Option<u32>, Option<u32>),
    env: BTreeMap<String, Vec<(String, String)>>,
    containers: Vec<J>,
    running: Mutex<BTreeMap<String, Child>>,
    liveness: Mutex<BTreeMap<String, Liveness>>,
    /// Its veth's end on the bridge, and the cluster's network namespace, where that is.
    veth: String,
    cluster_net: String,
}

impl Pod {
    /// `nsenter` into the pod as the container's user, with its environment.
    fn enter(&self, container: &str) -> Command {
        let mut command = Command::new("nsenter");
        command
            .arg(format!("--net={}", self.ns_net))
            .arg(format!("--mount={}", self.ns_mnt))
            .args(["--", "setpriv", "--pdeathsig", "KILL"]);
        if let (Some(uid), Some(gid)) = (self.user.0, self.user.1) {
            command.args(["--reuid", &uid.to_string(), "--regid", &gid.to_string()]);
            match self.user.2 {
                Some(group) => command.args(["--groups", &group.to_string()]),
                None => command.arg("--clear-groups"),
            };
        }
        command
            .env_clear()
            .envs(self.env[container].iter().map(|(k, v)| (k, v)))
            .current_dir("/")
            .stdin(Stdio::null());
        command
    }

    /// The container's command and args, `$(VAR)` expanded with its environment.
    pub fn argv(&self, container: &str) -> Vec<String> {
        let spec = self
            .containers
            .iter()
            .find(|c| c["name"] == container)
            .unwrap_or_else(|| panic!("no container {container}"));
        let env = &self.env[container];
        spec["command"]
            .as_array()
            .into_iter()
            .flatten()
            .chain(spec["args"].as_array().into_iter().flatten())
            .map(|a| expand(a.as_str().expect("argument"), env))
            .collect()
    }

    fn log_file(&self, container: &str) -> PathBuf {
        self.dir.join(format!("{container}.log"))
    }

    fn spawn(&self, container: &str) -> Child {
        let log = fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.log_file(container))
            .expect("log");
        self.enter(container)
            .args(self.argv(container))
            .stdout(log.try_clone().expect("log"))
            .stderr(log)
            .spawn()
            .expect("nsenter runs")
    }

    /// Runs a command in the container, as `kubectl exec` does (bounded).
    pub fn exec(&self, container: &str, argv: &[&str]) -> Output {
        self.enter(container)
            .arg("timeout")
            .arg(INIT_BOUND.as_secs().to_string())
            .args(argv)
            .output()
            .expect("nsenter runs")
    }

    /// Every container's log so far, for a failure message.
    pub fn logs(&self) -> String {
        let mut out = String::new();
        for container in &self.containers {
            let name = container["name"].as_str().unwrap_or_default();
            if let Ok(log) = fs::read_to_string(self.log_file(name)) {
                out.push_str(&format!("--- pod {} container {name}:\n{log}", self.name));
            }
        }
        out
    }

    pub fn log(&self, container: &str) -> String {
        fs::read_to_string(self.log_file(container)).unwrap_or_default()
    }

    /// The PID of a running main container's process.
    pub fn pid(&self, container: &str) -> u32 {
        self.running.lock().unwrap_or_else(|e| e.into_inner())[container].id()
    }

    /// Whether a main container has exited, and how.
    pub fn exited(&self, container: &str) -> Option<ExitStatus> {
        self.running
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get_mut(container)
            .and_then(|c| c.try_wait().ok().flatten())
    }

    /// Restarts a main container in the same pod, as the kubelet does after it exits.
    pub fn restart(&self, container: &str) {
        let old = self
            .running
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(container);
        if let Some(mut child) = old {
            stop(&mut child);
        }
        let child = self.spawn(container);
        self.running
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(container.to_string(), child);
        if let Some(probe) = self
            .liveness
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get_mut(container)
        {
            probe.restarted(Instant::now());
        }
    }

    /// What the kubelet does for a main container between two looks of the test (which calls
    /// this from its wait loops): restarts it (restartPolicy Always) when it has exited, or
    /// when its livenessProbe, due every periodSeconds after initialDelaySeconds, has failed
    /// failureThreshold times in a row.
    pub fn kubelet(&self, container: &str) {
        let due = self
            .liveness
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(container)
            .and_then(|probe| probe.due(Instant::now()));
        let dead = due.is_some_and(|check| {
            let alive = self.probe(&check);
            let mut liveness = self.liveness.lock().unwrap_or_else(|e| e.into_inner());
            liveness
                .get_mut(container)
                .is_some_and(|probe| probe.record(Instant::now(), alive))
        });
        if dead || self.exited(container).is_some() {
            self.restart(container);
        }
    }

    /// One run of a probe against the pod's address, as the kubelet's prober runs it.
    fn probe(&self, probe: &Probe) -> bool {
        match &probe.check {
            Check::Http { port, path } => self
                .request("GET", *port, path, None, probe.timeout)
                .is_some_and(|(status, _)| (200..400).contains(&status)),
            Check::Tcp { port } => self.connects(*port, probe.timeout),
        }
    }

    /// Whether `port` accepts TCP connections on the pod's address.
    pub fn listens(&self, port: u16) -> bool {
        self.connects(port, Duration::from_secs(5))
    }

    /// Whether a TCP connection from the pod to `target` is accepted (within 5 s).
    pub fn connects_to(&self, target: SocketAddrV4) -> bool {
        in_netns(&self.netns, move || {
            TcpStream::connect_timeout(&target.into(), Duration::from_secs(5)).is_ok()
        })
    }

    fn connects(&self, port: u16, timeout: Duration) -> bool {
        let target = SocketAddrV4::new(self.addr, port);
        in_netns(&self.netns, move || {
            TcpStream::connect_timeout(&target.into(), timeout).is_ok()
        })
    }

    /// An HTTP/1.0 request to the pod's address: the status and body, if it answered.
    pub fn http(&self, method: &str, port: u16, path: &str) -> Option<(u16, String)> {
        self.request(method, port, path, None, Duration::from_secs(30))
    }

    /// `http` with HTTP basic credentials (`user:password`), when given.
    pub fn http_as(
        &self,
        method: &str,
        port: u16,
        path: &str,
        credentials: Option<&str>,
    ) -> Option<(u16, String)> {
        self.request(method, port, path, credentials, Duration::from_secs(30))
    }

    /// An HTTP/1.0 request answered within `timeout` (for connecting, then for each read).
    fn request(
        &self,
        method: &str,
        port: u16,
        path: &str,
        credentials: Option<&str>,
        timeout: Duration,
    ) -> Option<(u16, String)> {
        use base64::Engine as _;
        let target = SocketAddrV4::new(self.addr, port);
        let authorization = credentials.map_or(String::new(), |c| {
            format!(
                "Authorization: Basic {}\r\n",
                base64::engine::general_purpose::STANDARD.encode(c)
            )
        });
        let request = format!("{method} {path} HTTP/1.0\r\nHost: {target}\r\n{authorization}\r\n");
        in_netns(&self.netns, move || {
            let mut stream =
                TcpStream::connect_timeout(&target.into(), timeout.min(Duration::from_secs(5)))
                    .ok()?;
            stream.set_read_timeout(Some(timeout)).ok()?;
            stream.write_all(request.as_bytes()).ok()?;
            let mut response = String::new();
            stream.read_to_string(&mut response).ok()?;
            let status = response.split(' ').nth(1)?.parse().ok()?;
            let body = response.split_once("\r\n\r\n").map_or("", |(_, b)| b);
            Some((status, body.to_string()))
        })
    }

    /// Checks what every pod's network namespace must be: `lo` and `eth0`, its address on the
    /// pod network and a default route through the bridge, nothing else.
    fn isolate(&self) -> Result<(), String> {
        let ip = |args: &[&str]| ip_in(&self.ns_net, args).1;
        let links = ip(&["-o", "link"]);
        let names: Vec<&str> = links
            .lines()
            .filter_map(|l| l.split(": ").nth(1))
            .map(|n| n.split('@').next().unwrap_or(n))
            .collect();
        let routes = lines(&ip(&["-4", "route", "show", "table", "main"]));
        let expected = [
            format!("default via {GATEWAY} dev eth0"),
            format!(
                "10.244.0.0/24 dev eth0 proto kernel scope link src {}",
                self.addr
            ),
        ];
        let routes6 = ip(&["-6", "route", "show", "table", "main"]);
        if names != ["lo", "eth0"] || routes != expected || routes6.contains("default") {
            return Err(format!(
                "pod {}: its network namespace is not a pod's: links {names:?}, routes \
                 {routes:?} {routes6:?}",
                self.name
            ));
        }
        Ok(())
    }
}

impl Drop for Pod {
    fn drop(&mut self) {
        for child in self
            .running
            .get_mut()
            .unwrap_or_else(|e| e.into_inner())
            .values_mut()
        {
            stop(child);
        }
        let _ = self.holder.kill();
        let _ = self.holder.wait();
        // The bridge's end goes now, not when the kernel frees the namespace: the next pod of
        // the StatefulSet takes the same address.
        let _ = ip_in(&self.cluster_net, &["link", "del", &self.veth]);
    }
}

/// What a probe checks: the kinds kotalc renders.
#[derive(Clone, Debug, PartialEq)]
enum Check {
    Http { port: u16, path: String },
    Tcp { port: u16 },
}

#[derive(Clone, Debug, PartialEq)]
struct Probe {
    check: Check,
    timeout: Duration,
}

/// A container's livenessProbe and its state, counted as the kubelet's prober worker counts:
/// the first run initialDelaySeconds after the container starts, then one every periodSeconds,
/// and a kill after failureThreshold failures in a row (a success resets the count).
#[derive(Debug)]
struct Liveness {
    probe: Probe,
    initial_delay: Duration,
    period: Duration,
    threshold: u32,
    next: Instant,
    failures: u32,
}

impl Liveness {
    /// The probe of a rendered container, with the API's defaults; a kind the runner cannot
    /// run fails the test rather than passing unprobed.
    fn new(probe: &J, started: Instant) -> Liveness {
        let seconds =
            |key: &str, default: u64| Duration::from_secs(probe[key].as_u64().unwrap_or(default));
        let port = |handler: &J| {
            let port = &handler["port"];
            port.as_u64()
                .and_then(|p| u16::try_from(p).ok())
                .unwrap_or_else(|| panic!("the runner probes numbered ports only: {port}"))
        };
        let check = if let Some(http) = probe.get("httpGet") {
            let path = http["path"].as_str().unwrap_or("/").to_string();
            Check::Http {
                port: port(http),
                path,
            }
        } else if let Some(tcp) = probe.get("tcpSocket") {
            Check::Tcp { port: port(tcp) }
        } else {
            panic!("the runner runs httpGet and tcpSocket probes only: {probe}")
        };
        let initial_delay = seconds("initialDelaySeconds", 0);
        Liveness {
            probe: Probe {
                check,
                timeout: seconds("timeoutSeconds", 1),
            },
            initial_delay,
            period: seconds("periodSeconds", 10),
            threshold: probe["failureThreshold"].as_u64().unwrap_or(3) as u32,
            next: started + initial_delay,
            failures: 0,
        }
    }

    /// The probe to run, if one is due at `now`.
    fn due(&self, now: Instant) -> Option<Probe> {
        (now >= self.next).then(|| self.probe.clone())
    }

    /// Counts a run's result; true when the container is to be killed.
    fn record(&mut self, now: Instant, alive: bool) -> bool {
        self.next = now + self.period;
        self.failures = if alive { 0 } else { self.failures + 1 };
        self.failures >= self.threshold
    }

    /// A new container: the count and the initial delay start over.
    fn restarted(&mut self, now: Instant) {
        self.failures = 0;
        self.next = now + self.initial_delay;
    }
}

/// SIGTERM, then SIGKILL if it does not end within the grace period (the kubelet's 30 s).
fn stop(child: &mut Child) {
    let _ = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    if wait_bounded(child, Duration::from_secs(30)).is_none() {
        let _ = child.kill();
        let _ = child.wait();
    }
}

fn wait_bounded(child: &mut Child, bound: Duration) -> Option<ExitStatus> {
    let deadline = Instant::now() + bound;
    while Instant::now() < deadline {
        if let Ok(Some(status)) = child.try_wait() {
            return Some(status);
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    None
}

/// Polls `check` until it holds; past `bound` (a hang guard) the test fails with `logs()`.
pub fn wait_for(
    what: &str,
    bound: Duration,
    mut check: impl FnMut() -> bool,
    logs: impl Fn() -> String,
) {
    let deadline = Instant::now() + bound;
    while !check() {
        assert!(
            Instant::now() < deadline,
            "{what}: not within {} s\n{}",
            bound.as_secs(),
            logs()
        );
        std::thread::sleep(Duration::from_millis(250));
    }
}

/// Runs `f` on a thread inside the network namespace.
fn in_netns<T: Send + 'static>(netns: &Arc<File>, f: impl FnOnce() -> T + Send + 'static) -> T {
    let netns = netns.clone();
    std::thread::spawn(move || {
        enter_netns(&netns);
        f()
    })
    .join()
    .expect("thread")
}

fn enter_netns(netns: &File) {
    // SAFETY: setns on this thread only, with a namespace file the caller keeps open.
    let rc = unsafe { libc::setns(netns.as_raw_fd(), libc::CLONE_NEWNET) };
    assert_eq!(rc, 0, "setns: {}", std::io::Error::last_os_error());
}

/// `$(VAR)` expansion as the kubelet does it (k8s.io/kubernetes third_party/forked/golang/
/// expansion): a defined variable is replaced, an undefined one kept as written, `$$` is a
/// literal `$` (so `$$(VAR)` gives `$(VAR)`), any other `$` is kept.
pub fn expand(input: &str, env: &[(String, String)]) -> String {
    let bytes = input.as_bytes();
    let mut out: Vec<u8> = Vec::with_capacity(bytes.len());
    let mut checkpoint = 0;
    let mut cursor = 0;
    while cursor < bytes.len() {
        if bytes[cursor] == b'$' && cursor + 1 < bytes.len() {
            out.extend_from_slice(&bytes[checkpoint..cursor]);
            let rest = &bytes[cursor + 1..];
            let advance = match rest[0] {
                b'$' => {
                    out.push(b'$');
                    1
                }
                b'(' => match rest.iter().position(|&b| b == b')') {
                    Some(close) => {
                        let name = String::from_utf8_lossy(&rest[1..close]);
                        match env.iter().rev().find(|(n, _)| *n == name) {
                            Some((_, value)) => out.extend_from_slice(value.as_bytes()),
                            None => out.extend_from_slice(format!("$({name})").as_bytes()),
                        }
                        close + 1
                    }
                    None => {
                        out.extend_from_slice(b"$(");
                        1
                    }
                },
                other => {
                    // Go's string(byte): the byte as a rune, UTF-8 encoded.
                    out.push(b'$');
                    let mut buf = [0; 4];
                    out.extend_from_slice(char::from(other).encode_utf8(&mut buf).as_bytes());
                    1
                }
            };
            cursor += advance;
            checkpoint = cursor + 1;
        }
        cursor += 1;
    }
    out.extend_from_slice(&bytes[checkpoint.min(bytes.len())..]);
    String::from_utf8_lossy(&out).into_owned()
}

/// The real programs an image stands for, by repository and tag.
fn image_binaries(image: &str) -> Vec<PathBuf> {
    let (repo, tag) = image.rsplit_once(':').unwrap_or((image, "latest"));
    if repo.ends_with("/kubo") || repo.ends_with("/go-ipfs") {
        vec![real_program(&format!("kubo-{tag}"), "ipfs")]
    } else if repo.ends_with("/ipfs-cluster") {
        vec![
            real_program(CLUSTER, "ipfs-cluster-service"),
            real_program(CLUSTER, "ipfs-cluster-ctl"),
        ]
    } else if repo == "busybox" {
        vec![]
    } else {
        panic!("the runner knows no program for image {image}")
    }
}

fn file_name(path: &Path) -> String {
    path.file_name()
        .expect("file name")
        .to_string_lossy()
        .into_owned()
}

fn q(path: &Path) -> String {
    format!("'{}'", path.display().to_string().replace('\'', "'\\''"))
}

fn write_mode(path: &Path, body: &str, mode: u32) {
    fs::write(path, body).expect("volume file");
    fs::set_permissions(path, fs::Permissions::from_mode(mode)).expect("chmod");
}

/// The kubelet's fsGroup ownership: group `gid`, group-writable (readable for read-only
/// volumes), directories setgid.
fn own(dir: &Path, gid: u32, writable: bool) {
    for entry in walkdir::WalkDir::new(dir).into_iter().flatten() {
        let path = entry.path();
        let _ = std::os::unix::fs::lchown(path, None, Some(gid));
        if entry.file_type().is_symlink() {
            continue;
        }
        let Ok(meta) = fs::metadata(path) else {
            continue;
        };
        let mut mask = if writable { 0o660 } else { 0o440 };
        if meta.is_dir() {
            mask |= 0o2110;
        }
        let _ = fs::set_permissions(
            path,
            fs::Permissions::from_mode(meta.permissions().mode() | mask),
        );
    }
}

#[test]
fn expansion_is_the_kubelets() {
    let env: Vec<(String, String)> = vec![("A".into(), "x".into()), ("S".into(), "s3cret".into())];
    for (input, expected) in [
        ("$(A)", "x"),
        ("--loglevel=$(S)", "--loglevel=s3cret"),
        ("$$(S)", "$(S)"),
        ("--loglevel=$$(S)", "--loglevel=$(S)"),
        ("$$$(A)", "$x"),
        ("$(B)", "$(B)"),
        ("$(A", "$(A"),
        ("a$b", "a$b"),
        ("$", "$"),
        ("$$", "$"),
        ("x$", "x$"),
        ("$()", "$()"),
    ] {
        assert_eq!(expand(input, &env), expected, "{input}");
    }
}

/// The liveness count on a fake clock: nothing before initialDelaySeconds, one run per
/// periodSeconds, a kill only after failureThreshold failures in a row, and a restart starts over.
#[test]
fn liveness_counts_as_the_kubelet() {
    let probe = serde_json::json!({
        "httpGet": {"path": "/health", "port": 9094},
        "initialDelaySeconds": 60, "periodSeconds": 20, "timeoutSeconds": 10, "failureThreshold": 3
    });
    let t0 = Instant::now();
    let at = |s: u64| t0 + Duration::from_secs(s);
    let mut liveness = Liveness::new(&probe, t0);
    let check = Check::Http {
        port: 9094,
        path: "/health".into(),
    };
    assert_eq!(liveness.due(at(59)), None);
    let due = liveness.due(at(60)).expect("due at the initial delay");
    assert_eq!((due.check, due.timeout), (check, Duration::from_secs(10)));
    assert!(!liveness.record(at(60), false));
    assert_eq!(liveness.due(at(79)), None);
    assert!(!liveness.record(at(80), false));
    // A success resets the count: two more failures are not yet three in a row.
    assert!(!liveness.record(at(100), true));
    assert!(!liveness.record(at(120), false));
    assert!(!liveness.record(at(140), false));
    assert!(liveness.record(at(160), false));
    liveness.restarted(at(170));
    assert_eq!(liveness.due(at(229)), None);
    assert!(liveness.due(at(230)).is_some());
    assert!(!liveness.record(at(230), false));
    assert!(!liveness.record(at(250), false));
    assert!(liveness.record(at(270), false));
}

/// A StatefulSet of the `busybox` image (the host's programs) and its Service, as rendered.
#[cfg(test)]
fn sleeper(name: &str) -> [J; 2] {
    let labels = serde_json::json!({"app": name});
    [
        serde_json::json!({
            "kind": "StatefulSet",
            "metadata": {"name": name, "namespace": "net"},
            "spec": {"template": {"metadata": {"labels": labels}, "spec": {
                "containers": [{"name": "main", "image": "busybox",
                                "command": ["sleep", "infinity"]}]
            }}}
        }),
        serde_json::json!({
            "kind": "Service",
            "metadata": {"name": format!("{name}-svc"), "namespace": "net"},
            "spec": {"selector": labels}
        }),
    ]
}

/// The runner's network is a cluster's: Service names resolve through the cluster DNS (the
/// kubelet's search list, a name in another form, an unknown name refused), TCP and UDP go from
/// pod to pod, the bridge counts a pod's discovery packets, and nothing reaches outside.
#[test]
fn the_pod_network_is_a_clusters() {
    let mut cluster = Cluster::new("network");
    let manifests: Vec<J> = [sleeper("left"), sleeper("right")].concat();
    cluster.apply_manifests(&manifests);
    let left = cluster.start("left").unwrap_or_else(|e| panic!("{e}"));
    let right = cluster.start("right").unwrap_or_else(|e| panic!("{e}"));
    assert_ne!(left.addr, right.addr);
    let resolve = |name: &str| {
        let out = left.exec("main", &["getent", "ahostsv4", name]);
        String::from_utf8_lossy(&out.stdout)
            .split_whitespace()
            .next()
            .map(String::from)
    };
    for name in [
        "right-svc",
        "right-svc.net",
        "right-svc.net.svc.cluster.local",
    ] {
        assert_eq!(resolve(name), Some(right.addr.to_string()), "{name}");
    }
    assert_eq!(
        resolve("right"),
        None,
        "a StatefulSet's name is not a Service"
    );
    assert_eq!(
        resolve("example.com"),
        None,
        "no name outside the cluster resolves"
    );

    // TCP and UDP from left to right's address.
    let (target, datagram) = (SocketAddrV4::new(right.addr, 7000), b"kotalc over udp");
    let tcp = in_netns(&right.netns, move || {
        std::net::TcpListener::bind(target).expect("bind tcp")
    });
    let udp = in_netns(&right.netns, move || {
        let socket = std::net::UdpSocket::bind(target).expect("bind udp");
        socket
            .set_read_timeout(Some(Duration::from_secs(30)))
            .expect("timeout");
        socket
    });
    assert!(left.connects_to(target), "TCP from pod to pod");
    drop(tcp);
    in_netns(&left.netns, move || {
        let socket = std::net::UdpSocket::bind("0.0.0.0:0").expect("bind");
        socket.send_to(datagram, target).expect("send");
    });
    let mut buf = [0; 64];
    let (n, from) = udp.recv_from(&mut buf).expect("the datagram arrives");
    assert_eq!((&buf[..n], from.ip()), (&datagram[..], left.addr.into()));

    // An mDNS query from left: the bridge counts it, and it is left's alone.
    assert_eq!(cluster.discovery_packets(&left), 0);
    in_netns(&left.netns, || {
        let socket = std::net::UdpSocket::bind("0.0.0.0:0").expect("bind");
        socket.send_to(b"query", "224.0.0.251:5353").expect("send");
    });
    wait_for(
        "the bridge counts left's mDNS packet",
        Duration::from_secs(30),
        || cluster.discovery_packets(&left) == 1,
        String::new,
    );
    assert_eq!(cluster.discovery_packets(&right), 0);

    // Outside addresses go to the gateway, which routes nowhere.
    assert!(!left.connects_to(SocketAddrV4::new(Ipv4Addr::new(1, 1, 1, 1), 443)));
    cluster.network.isolated().unwrap_or_else(|e| panic!("{e}"));
}
