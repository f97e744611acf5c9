//! A pod runner for the real programs: a rendered StatefulSet run as the kubelet runs it, as
//! processes. Each pod gets a network namespace with only loopback and a mount namespace: its
//! volumes are directories bind-mounted at their mount paths, `/etc/hosts` maps every
//! StatefulSet's name (its Service) to that pod's own 127.0.0.x, and the image is the real
//! binary of its tag on PATH. Init containers run in order, then the main container, each
//! with the manifest's env (secretKeyRef from the test's Secrets, `$(VAR)` expanded as the
//! kubelet expands it), command, args, and the uid and gids of the securityContext.
//!
//! Pods reach each other the way kube-proxy's userspace mode did: in each namespace an
//! nftables rule redirects TCP to another pod's address to a relay in the test process, which
//! connects to that address inside the other pod's namespace, on the ports its containers
//! declare. No namespace has any interface but `lo`, so nothing can reach any other address.

use std::collections::BTreeMap;
use std::fs::{self, File};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Ipv4Addr, Shutdown, SocketAddrV4, TcpListener, TcpStream};
use std::os::fd::AsRawFd;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use kotalc::render::Object;
use serde_json::Value as J;

use crate::common::{debian_program, real_program, scratch};

/// The kubo versions the tests run on: the default image's, one with AutoConf, the newest.
pub const KUBO: [&str; 3] = ["v0.28.0", "v0.38.2", "v0.43.0"];
/// The ipfs-cluster that `tests/tools/build.sh` builds, for every ipfs-cluster image.
pub const CLUSTER: &str = "ipfs-cluster-v1.1.6";

/// Hang guard of an init container and of a `kubectl exec`: far above a normal run.
const INIT_BOUND: Duration = Duration::from_secs(300);
/// The port each namespace's relay listens on (127.0.0.1), above the ephemeral range.
const RELAY_PORT: u16 = 61999;
const PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// A pod's namespace as the relays see it: where to connect, and which ports it serves.
struct Endpoint {
    netns: Arc<File>,
    ports: Vec<u16>,
}

type Endpoints = Arc<Mutex<BTreeMap<Ipv4Addr, Endpoint>>>;

struct Workload {
    statefulset: J,
    addr: Ipv4Addr,
}

/// The objects of one test's cluster: StatefulSets (each with its address), ConfigMaps,
/// Secrets and claims (directories that outlive pods).
pub struct Cluster {
    pub dir: PathBuf,
    hosts: PathBuf,
    workloads: BTreeMap<String, Workload>,
    configmaps: BTreeMap<String, J>,
    secrets: BTreeMap<String, BTreeMap<String, String>>,
    endpoints: Endpoints,
    /// Binaries put beside each pod's image binaries (e.g. a repository migration).
    pub extra_bins: Vec<PathBuf>,
    starts: AtomicUsize,
}

impl Cluster {
    pub fn new(name: &str) -> Cluster {
        let dir = scratch(&format!("pods-{name}"));
        let hosts = dir.join("hosts");
        fs::write(&hosts, "").expect("hosts");
        Cluster {
            dir,
            hosts,
            workloads: BTreeMap::new(),
            configmaps: BTreeMap::new(),
            secrets: BTreeMap::new(),
            endpoints: Arc::default(),
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
                Some("StatefulSet") => {
                    let next = Ipv4Addr::new(127, 0, 0, 2 + self.workloads.len() as u8);
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
        let mut hosts = String::from("127.0.0.1\tlocalhost\n::1\tlocalhost\n");
        for (name, workload) in &self.workloads {
            let ns = workload.statefulset["metadata"]["namespace"]
                .as_str()
                .unwrap_or("default");
            hosts.push_str(&format!(
                "{}\t{name} {name}.{ns} {name}.{ns}.svc {name}.{ns}.svc.cluster.local\n",
                workload.addr
            ));
        }
        fs::write(&self.hosts, hosts).expect("hosts");
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
        // images keep their programs) are the pod's own; /etc/hosts is the cluster's.
        let mut setup = String::from(
            "set -e\nip link set lo up\nmount -t tmpfs -o mode=755 pod /home\n\
             mount -t tmpfs -o mode=755 pod /usr/local/bin\n",
        );
        setup.push_str(&format!("mount --bind {} /etc/hosts\n", q(&self.hosts)));
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
        let stop = Arc::new(AtomicBool::new(false));
        let mut pod = Pod {
            name: name.into(),
            addr,
            dir,
            holder,
            netns: netns.clone(),
            ns_net,
            ns_mnt,
            user: (id("runAsUser"), id("runAsGroup"), fs_group),
            env: BTreeMap::new(),
            containers: containers.clone(),
            running: Mutex::default(),
            liveness: Mutex::default(),
            endpoints: self.endpoints.clone(),
            stop: stop.clone(),
        };
        pod.isolate()?;
        relay(netns.clone(), self.endpoints.clone(), stop);
        let ports: Vec<u16> = containers
            .iter()
            .flat_map(|c| c["ports"].as_array().cloned().unwrap_or_default())
            .filter(|p| p["protocol"].as_str().unwrap_or("TCP") == "TCP")
            .filter_map(|p| p["containerPort"].as_u64().map(|n| n as u16))
            .collect();
        self.endpoints
            .lock()
            .expect("endpoints")
            .insert(addr, Endpoint { netns, ports });

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
    endpoints: Endpoints,
    stop: Arc<AtomicBool>,
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
                .request("GET", *port, path, probe.timeout)
                .is_some_and(|(status, _)| (200..400).contains(&status)),
            Check::Tcp { port } => self.connects(*port, probe.timeout),
        }
    }

    /// Whether `port` accepts TCP connections on the pod's address.
    pub fn listens(&self, port: u16) -> bool {
        self.connects(port, Duration::from_secs(5))
    }

    fn connects(&self, port: u16, timeout: Duration) -> bool {
        let target = SocketAddrV4::new(self.addr, port);
        in_netns(&self.netns, move || {
            TcpStream::connect_timeout(&target.into(), timeout).is_ok()
        })
    }

    /// An HTTP/1.0 request to the pod's address: the status and body, if it answered.
    pub fn http(&self, method: &str, port: u16, path: &str) -> Option<(u16, String)> {
        self.request(method, port, path, Duration::from_secs(30))
    }

    /// An HTTP/1.0 request answered within `timeout` (for connecting, then for each read).
    fn request(
        &self,
        method: &str,
        port: u16,
        path: &str,
        timeout: Duration,
    ) -> Option<(u16, String)> {
        let target = SocketAddrV4::new(self.addr, port);
        let request = format!("{method} {path} HTTP/1.0\r\nHost: {target}\r\n\r\n");
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

    /// Checks what every pod's network namespace must be: only `lo`, no route to anywhere.
    fn isolate(&self) -> Result<(), String> {
        let ip = |args: &[&str]| {
            let out = Command::new("nsenter")
                .arg(format!("--net={}", self.ns_net))
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
        };
        let (_, links) = ip(&["-o", "link"]);
        let names: Vec<&str> = links.lines().filter_map(|l| l.split(": ").nth(1)).collect();
        let (_, routes) = ip(&["-4", "route", "show", "table", "main"]);
        let (_, routes6) = ip(&["-6", "route", "show", "table", "main"]);
        let outside = ["1.1.1.1", "8.8.8.8", "10.0.0.1", "192.168.0.1"];
        let reachable: Vec<&str> = outside
            .into_iter()
            .filter(|a| ip(&["route", "get", a]).0)
            .collect();
        if names != ["lo"]
            || !routes.trim().is_empty()
            || routes6.contains("default")
            || !reachable.is_empty()
        {
            return Err(format!(
                "pod {}: its network namespace reaches out: links {names:?}, routes \
                 {routes:?} {routes6:?}, route to {reachable:?}",
                self.name
            ));
        }
        let rules = format!(
            "table ip kotalc {{\n\
             chain relay {{ type nat hook output priority -100; \
             ip daddr 127.0.0.2-127.0.0.254 ip daddr != {addr} meta l4proto tcp \
             redirect to :{RELAY_PORT}; }}\n\
             chain other_udp {{ type filter hook output priority 0; \
             ip daddr 127.0.0.2-127.0.0.254 ip daddr != {addr} meta l4proto udp reject; }}\n}}\n",
            addr = self.addr
        );
        let mut nft = Command::new("nsenter")
            .arg(format!("--net={}", self.ns_net))
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
        self.stop.store(true, Ordering::Relaxed);
        let mut endpoints = self.endpoints.lock().unwrap_or_else(|e| e.into_inner());
        if endpoints
            .get(&self.addr)
            .is_some_and(|e| Arc::ptr_eq(&e.netns, &self.netns))
        {
            endpoints.remove(&self.addr);
        }
        let _ = self.holder.kill();
        let _ = self.holder.wait();
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

/// The namespace's relay: takes the connections its nftables rule redirects, and connects to
/// their original destination inside that pod's namespace, on the ports the pod declares.
fn relay(netns: Arc<File>, endpoints: Endpoints, stop: Arc<AtomicBool>) {
    let (bound, ready) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        enter_netns(&netns);
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, RELAY_PORT)).expect("relay bind");
        listener.set_nonblocking(true).expect("nonblocking");
        let _ = bound.send(());
        while !stop.load(Ordering::Relaxed) {
            match listener.accept() {
                Ok((client, _)) => {
                    let endpoints = endpoints.clone();
                    std::thread::spawn(move || forward(client, &endpoints));
                }
                Err(_) => std::thread::sleep(Duration::from_millis(50)),
            }
        }
    });
    ready.recv().expect("relay listens");
}

fn forward(client: TcpStream, endpoints: &Endpoints) {
    let _ = client.set_nonblocking(false);
    let Some(target) = original_destination(&client) else {
        return;
    };
    let netns = {
        let endpoints = endpoints.lock().unwrap_or_else(|e| e.into_inner());
        match endpoints.get(target.ip()) {
            Some(e) if e.ports.contains(&target.port()) => e.netns.clone(),
            _ => return,
        }
    };
    enter_netns(&netns);
    let Ok(server) = TcpStream::connect_timeout(&target.into(), Duration::from_secs(10)) else {
        return;
    };
    let (Ok(mut client_in), Ok(mut server_in)) = (client.try_clone(), server.try_clone()) else {
        return;
    };
    let up = std::thread::spawn(move || {
        let mut server = server;
        let _ = std::io::copy(&mut client_in, &mut server);
        let _ = server.shutdown(Shutdown::Write);
    });
    let mut client = client;
    let _ = std::io::copy(&mut server_in, &mut client);
    let _ = client.shutdown(Shutdown::Write);
    let _ = up.join();
}

fn original_destination(stream: &TcpStream) -> Option<SocketAddrV4> {
    const SO_ORIGINAL_DST: libc::c_int = 80;
    // SAFETY: a sockaddr_in-sized buffer for getsockopt, which writes at most `len` bytes.
    let mut addr: libc::sockaddr_in = unsafe { std::mem::zeroed() };
    let mut len = std::mem::size_of::<libc::sockaddr_in>() as libc::socklen_t;
    let rc = unsafe {
        libc::getsockopt(
            stream.as_raw_fd(),
            libc::SOL_IP,
            SO_ORIGINAL_DST,
            (&mut addr as *mut libc::sockaddr_in).cast(),
            &mut len,
        )
    };
    (rc == 0).then(|| {
        SocketAddrV4::new(
            Ipv4Addr::from(u32::from_be(addr.sin_addr.s_addr)),
            u16::from_be(addr.sin_port),
        )
    })
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
