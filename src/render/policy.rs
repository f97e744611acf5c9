//! Least-privilege NetworkPolicies (networking.k8s.io/v1), one per resource, from the whole
//! set: kotalc sees which ClusterPeer drives which Peer's RPC API, which Peers form one
//! private swarm and which ClusterPeers form one cluster, so each policy admits exactly
//! those. A swarm's and a cluster's members are selected by a label kotalc sets on each of
//! their pods, so no policy grows with the set. A rule is never written with an empty peer
//! list, which NetworkPolicy reads as "everyone", and a peer never with an empty namespace
//! selector, which reads as "every namespace".

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Value as J, json};

use crate::check::set::service;
use crate::ipfs::multiaddr::{self, Host, Multiaddr, Shape};
use crate::kube::manifest::Object;
use crate::model::Kind;
use crate::model::defaults::Config;
use crate::model::defaults::{ClusterPeerConfig, PeerConfig};
use crate::model::parse::Resource;
use crate::model::policy::{CLUSTER_CLIENT_LABEL, CLUSTER_LABEL, Client, SWARM_LABEL};
use crate::render::Port;

/// The label Kubernetes puts on every namespace, naming it.
const NAMESPACE_NAME_LABEL: &str = "kubernetes.io/metadata.name";

/// The labels that pick a resource's pods out of every other pod: a subset of the
/// StatefulSet's selector, which kotalc sets on the pods whatever the user's labels say.
fn pods(kind: Kind, name: &str) -> J {
    json!({ "matchLabels": { COMPONENT_LABEL: component(kind), INSTANCE_LABEL: name } })
}

const COMPONENT_LABEL: &str = "app.kubernetes.io/component";
const INSTANCE_LABEL: &str = "app.kubernetes.io/instance";

fn component(kind: Kind) -> &'static str {
    match kind {
        Kind::ClusterPeer => "ipfs-clusterpeer",
        Kind::Peer | Kind::Swarm => "ipfs-peer",
    }
}

/// `peer` (a pod selector) in `namespaces`, seen from a policy of namespace `from`: its own
/// namespace needs no namespace selector; others are named, and an unknown one (`""`) is
/// left out.
fn in_namespaces<'n>(mut peer: J, from: &str, namespaces: impl IntoIterator<Item = &'n str>) -> J {
    let others: BTreeSet<&str> = namespaces
        .into_iter()
        .filter(|ns| *ns != from && !ns.is_empty())
        .collect();
    if let Some(&only) = others.iter().next().filter(|_| others.len() == 1) {
        peer["namespaceSelector"] = json!({ "matchLabels": { NAMESPACE_NAME_LABEL: only } });
    } else if !others.is_empty() {
        peer["namespaceSelector"] = json!({ "matchExpressions": [{
            "key": NAMESPACE_NAME_LABEL, "operator": "In", "values": others,
        }] });
    }
    peer
}

/// The whole set, as the policies see it.
pub struct Input<'a> {
    resources: &'a [Resource],
    configs: &'a [Option<Config>],
    /// Resources with a configuration, by kind, namespace and name.
    index: BTreeMap<(Kind, &'a str, &'a str), usize>,
}

impl<'a> Input<'a> {
    pub fn new(resources: &'a [Resource], configs: &'a [Option<Config>]) -> Input<'a> {
        let mut input = Input {
            resources,
            configs,
            index: BTreeMap::new(),
        };
        for (i, r) in resources.iter().enumerate() {
            if configs[i].is_some() {
                let ns = input.namespace(i);
                input.index.insert((r.kind, ns, r.name.as_str()), i);
            }
        }
        input
    }

    /// `""` when neither the resource nor `--namespace` names one.
    fn namespace(&self, i: usize) -> &'a str {
        self.resources[i].namespace_or_empty()
    }

    /// Policy peers that select the pods of `members` (resources of one kind), seen from
    /// namespace `from`: one per namespace, naming the instances. Pods of a namespace kotalc
    /// does not know, seen from another, are never selected (`check::policy::namespaces`
    /// refuses such a grant).
    fn peers(&self, members: &BTreeSet<usize>, from: &str) -> Vec<J> {
        let mut by_namespace: BTreeMap<(&str, Kind), Vec<&str>> = BTreeMap::new();
        for &i in members {
            let r = &self.resources[i];
            by_namespace
                .entry((self.namespace(i), r.kind))
                .or_default()
                .push(&r.name);
        }
        by_namespace
            .into_iter()
            .filter(|((ns, _), _)| *ns == from || !ns.is_empty())
            .map(|((ns, kind), mut names)| {
                names.sort_unstable();
                let mut selector = pods(kind, names[0]);
                if names.len() > 1 {
                    selector = json!({
                        "matchLabels": { COMPONENT_LABEL: component(kind) },
                        "matchExpressions": [{
                            "key": INSTANCE_LABEL, "operator": "In", "values": names,
                        }],
                    });
                }
                in_namespaces(json!({ "podSelector": selector }), from, [ns])
            })
            .collect()
    }

    /// The resource of the set that a multiaddr's host names, if its kind is `kind`.
    fn named(&self, address: &Multiaddr, from: usize, kind: Kind) -> Option<usize> {
        let (ns, name) = service(&address.host, self.namespace(from))?;
        self.index.get(&(kind, ns.as_str(), name.as_str())).copied()
    }

    fn peer_config(&self, i: usize) -> Option<&PeerConfig> {
        match &self.configs[i] {
            Some(Config::Peer(p)) => Some(p),
            _ => None,
        }
    }

    fn cluster_config(&self, i: usize) -> Option<&ClusterPeerConfig> {
        match &self.configs[i] {
            Some(Config::ClusterPeer(c)) => Some(c),
            _ => None,
        }
    }
}

fn ports(numbers: &[(u16, &str)]) -> J {
    numbers
        .iter()
        .map(|(port, protocol)| json!({ "port": port, "protocol": protocol }))
        .collect()
}

/// A rule admitting `peers` on `numbers`; `None` when there are no peers, because a rule with
/// an empty peer list admits everyone.
fn rule(direction: &str, peers: Vec<J>, numbers: &[(u16, &str)]) -> Option<J> {
    (!peers.is_empty()).then(|| json!({ direction: peers, "ports": ports(numbers) }))
}

/// Any address on these ports.
fn anywhere(numbers: &[(u16, &str)]) -> J {
    json!({ "ports": ports(numbers) })
}

/// DNS queries to the cluster's DNS servers only: port 53 of any other address could carry
/// data out of a swarm whose egress is otherwise closed.
fn dns(settings: &crate::model::policy::Settings, own: &str) -> J {
    let servers = settings
        .dns
        .clone()
        .unwrap_or_else(crate::model::policy::default_dns);
    json!({ "to": client_peers(&servers, own), "ports": ports(&[(53, "UDP"), (53, "TCP")]) })
}

/// Where an address outside the set is reached: an IP exactly; a DNS name on its port,
/// to anywhere, since a policy cannot name a host.
fn outside(address: &Multiaddr, protocols: &BTreeSet<&'static str>) -> J {
    let numbers: Vec<(u16, &str)> = protocols.iter().map(|p| (address.port, *p)).collect();
    let cidr = match &address.host {
        Host::Ip4(ip) => format!("{ip}/32"),
        Host::Ip6(ip) => format!("{ip}/128"),
        Host::Dns(_) => return anywhere(&numbers),
    };
    json!({ "to": [{ "ipBlock": { "cidr": cidr } }], "ports": ports(&numbers) })
}

fn client_peers(clients: &[Client], own: &str) -> Vec<J> {
    clients
        .iter()
        .map(|client| match client {
            Client::Namespace(ns) => {
                json!({ "namespaceSelector": { "matchLabels": { NAMESPACE_NAME_LABEL: ns } } })
            }
            Client::Pods {
                namespace,
                key,
                value,
            } => {
                let mut peer = json!({ "podSelector": { "matchLabels": { key: value } } });
                match namespace.as_deref() {
                    Some(ns) if ns != own => {
                        peer["namespaceSelector"] =
                            json!({ "matchLabels": { NAMESPACE_NAME_LABEL: ns } });
                    }
                    _ => {}
                }
                peer
            }
            Client::Block(cidr) => json!({ "ipBlock": { "cidr": cidr } }),
        })
        .collect()
}

/// Who talks to whom across the set, worked out once: who drives whose RPC API; which private
/// swarm peers talk to each other (both ways): those sharing a swarm key in one namespace
/// (one label), and those that name each other; and which cluster peers form one cluster:
/// those connected, transitively, by a shared cluster secret in one namespace or a bootstrap
/// address in either direction, as a crdt or raft cluster is a full mesh.
pub struct Plan {
    api_clients: BTreeMap<usize, BTreeSet<usize>>,
    links: BTreeMap<usize, BTreeSet<usize>>,
    /// Each member's group: one kind, namespace and secret.
    group_of: BTreeMap<usize, usize>,
    /// Each group's (kind, namespace, secret), and its parent towards the root of its cluster
    /// (a union-find of the groups that bootstrap addresses connect; a Peer's group is its
    /// own root).
    groups: Vec<((Kind, String, String), usize)>,
    /// Each cluster's label value and namespaces.
    clusters: BTreeMap<usize, (String, BTreeSet<String>)>,
}

impl Plan {
    pub fn new(input: &Input<'_>) -> Plan {
        let n = input.resources.len();
        let mut api_clients: BTreeMap<usize, BTreeSet<usize>> = BTreeMap::new();
        let mut links: BTreeMap<usize, BTreeSet<usize>> = BTreeMap::new();
        let mut keys: BTreeMap<(Kind, &str, &str), usize> = BTreeMap::new();
        let mut group_of: BTreeMap<usize, usize> = BTreeMap::new();
        for i in 0..n {
            let secret = match &input.configs[i] {
                Some(Config::ClusterPeer(c)) => Some(c.cluster_secret_name.as_str()),
                Some(Config::Peer(p)) => p.swarm_key_secret_name.as_deref(),
                None => None,
            };
            if let Some(secret) = secret {
                let key = (input.resources[i].kind, input.namespace(i), secret);
                let next = keys.len();
                group_of.insert(i, *keys.entry(key).or_insert(next));
            }
        }
        let mut link = |a: usize, b: usize| {
            links.entry(a).or_default().insert(b);
            links.entry(b).or_default().insert(a);
        };
        for i in 0..n {
            if let Some(cluster) = input.cluster_config(i) {
                if let Ok(endpoint) = multiaddr::parse(&cluster.peer_endpoint, Shape::Endpoint)
                    && let Some(p) = input.named(&endpoint, i, Kind::Peer)
                {
                    api_clients.entry(p).or_default().insert(i);
                }
                for address in &cluster.bootstrap_peers {
                    if let Ok(address) = multiaddr::parse(address, Shape::WithPeer)
                        && let Some(b) = input.named(&address, i, Kind::ClusterPeer)
                    {
                        link(i, b);
                    }
                }
            }
            if let Some(peer) = input.peer_config(i)
                && peer.swarm_key_secret_name.is_some()
            {
                for address in peering(peer) {
                    if let Some(q) = input.named(&address, i, Kind::Peer)
                        && input
                            .peer_config(q)
                            .is_some_and(|q| q.swarm_key_secret_name.is_some())
                    {
                        link(i, q);
                    }
                }
            }
        }
        let mut by_index: Vec<(usize, (Kind, &str, &str))> =
            keys.into_iter().map(|(key, g)| (g, key)).collect();
        by_index.sort_unstable_by_key(|(g, _)| *g);
        let mut groups: Vec<((Kind, String, String), usize)> = by_index
            .into_iter()
            .map(|(g, (kind, ns, secret))| ((kind, ns.to_string(), secret.to_string()), g))
            .collect();
        // A cluster's groups, joined by their bootstrap links (union-find, by group).
        fn root(groups: &mut [((Kind, String, String), usize)], mut g: usize) -> usize {
            while groups[g].1 != g {
                let up = groups[groups[g].1].1;
                groups[g].1 = up;
                g = up;
            }
            g
        }
        for (&a, others) in &links {
            if input.resources[a].kind != Kind::ClusterPeer {
                continue;
            }
            for b in others {
                let (Some(&ga), Some(&gb)) = (group_of.get(&a), group_of.get(b)) else {
                    continue;
                };
                let (ra, rb) = (root(&mut groups, ga), root(&mut groups, gb));
                // The smaller key roots the cluster: its label does not depend on the order.
                let (low, high) = if groups[ra].0 <= groups[rb].0 {
                    (ra, rb)
                } else {
                    (rb, ra)
                };
                groups[high].1 = low;
            }
        }
        let mut clusters: BTreeMap<usize, (String, BTreeSet<String>)> = BTreeMap::new();
        for g in 0..groups.len() {
            let r = root(&mut groups, g);
            let (kind, ns, _) = &groups[g].0;
            if *kind != Kind::ClusterPeer {
                continue;
            }
            let ns = ns.clone();
            let (_, root_ns, root_secret) = &groups[r].0;
            let value = crate::model::policy::member_value(root_ns, root_secret);
            clusters
                .entry(r)
                .or_insert_with(|| (value, BTreeSet::new()))
                .1
                .insert(ns);
        }
        Plan {
            api_clients,
            links,
            group_of,
            groups,
            clusters,
        }
    }

    /// The label that makes resource `i`'s pods members of its private swarm or cluster.
    pub fn membership(&self, i: usize) -> Option<(&'static str, String)> {
        let &g = self.group_of.get(&i)?;
        let ((kind, ns, secret), _) = &self.groups[g];
        match kind {
            Kind::ClusterPeer => {
                let (value, _) = self.clusters.get(&self.root_of(g))?;
                Some((CLUSTER_LABEL, value.clone()))
            }
            Kind::Peer | Kind::Swarm => {
                Some((SWARM_LABEL, crate::model::policy::member_value(ns, secret)))
            }
        }
    }

    fn root_of(&self, mut g: usize) -> usize {
        while self.groups[g].1 != g {
            g = self.groups[g].1;
        }
        g
    }

    /// The peers resource `i` talks to on its swarm port: a private Peer's swarm (one label)
    /// and the Peers it names or that name it; a ClusterPeer's cluster (one label, in each of
    /// its namespaces).
    fn linked(&self, input: &Input<'_>, i: usize) -> Vec<J> {
        let from = input.namespace(i);
        let Some((key, value)) = self.membership(i) else {
            return Vec::new();
        };
        let label = json!({ "podSelector": { "matchLabels": { key: value } } });
        if key == CLUSTER_LABEL {
            let namespaces: BTreeSet<&str> = self
                .group_of
                .get(&i)
                .and_then(|&g| self.clusters.get(&self.root_of(g)))
                .map(|(_, namespaces)| namespaces.iter().map(String::as_str).collect())
                .unwrap_or_default();
            let mut peers = Vec::new();
            if namespaces.contains(from) {
                peers.push(label.clone());
            }
            if namespaces.iter().any(|ns| *ns != from && !ns.is_empty()) {
                peers.push(in_namespaces(label, from, namespaces));
            }
            return peers;
        }
        let group = self.group_of.get(&i);
        let named: BTreeSet<usize> = self
            .links
            .get(&i)
            .into_iter()
            .flatten()
            .copied()
            .filter(|q| self.group_of.get(q) != group)
            .collect();
        let mut peers = vec![label];
        peers.extend(input.peers(&named, from));
        peers
    }
}

/// The label each resource's pods get as members of their private swarm or cluster, in
/// resource order: set on the pod template, never on the StatefulSet's selector, which cannot
/// change.
pub fn memberships(input: &Input<'_>) -> Vec<Option<(&'static str, String)>> {
    let plan = Plan::new(input);
    (0..input.resources.len())
        .map(|i| plan.membership(i))
        .collect()
}

/// Resource `i`'s NetworkPolicy; none when it has no configuration or its policy is off.
pub fn one(
    input: &Input<'_>,
    plan: &Plan,
    i: usize,
    metadata: &dyn Fn(usize) -> J,
) -> Option<Object> {
    let linked = |i: usize| plan.linked(input, i);
    let api_clients = &plan.api_clients;
    let resource = &input.resources[i];
    let ns = input.namespace(i);
    let config = input.configs[i].as_ref()?;
    // The pods' own ports, by the names the container gives them: whatever the template
    // exposes, the policy covers, and nothing else.
    let (swarm, other): (Vec<Port>, Vec<Port>) = crate::render::ports(config)
        .into_iter()
        .partition(|p| p.name.starts_with("swarm"));
    let numbers = |ports: &[&Port]| -> Vec<(u16, &'static str)> {
        ports.iter().map(|p| (p.port, p.protocol)).collect()
    };
    let named = |name: &str| numbers(&other.iter().filter(|p| p.name == name).collect::<Vec<_>>());
    let swarm = numbers(&swarm.iter().collect::<Vec<_>>());
    let (settings, ingress, egress) = match config {
        Config::Peer(peer) => {
            let mut ingress = vec![anywhere(&swarm)];
            let gateway = named("gateway");
            if !gateway.is_empty() {
                let exposed = crate::render::gateway::ingress(config, peer.gateway_port);
                ingress.push(exposed.unwrap_or_else(|| anywhere(&gateway)));
            }
            let api = named("api");
            if !api.is_empty() {
                let mut from = api_clients
                    .get(&i)
                    .map(|clients| input.peers(clients, ns))
                    .unwrap_or_default();
                from.extend(client_peers(&peer.policy.clients, ns));
                ingress.extend(rule("from", from, &api));
            }
            let egress = if peer.policy.open_egress || peer.swarm_key_secret_name.is_none() {
                vec![json!({})]
            } else {
                let mut egress = vec![dns(&peer.policy, ns)];
                egress.extend(rule("to", linked(i), &swarm));
                let protocols: BTreeSet<&str> = swarm.iter().map(|(_, p)| *p).collect();
                for address in peering(peer) {
                    if input.named(&address, i, Kind::Peer).is_none() {
                        egress.push(outside(&address, &protocols));
                    }
                }
                egress
            };
            (&peer.policy, ingress, egress)
        }
        Config::ClusterPeer(cluster) => {
            let mut ingress = Vec::new();
            ingress.extend(rule("from", linked(i), &swarm));
            let mut from = vec![json!({ "podSelector": { "matchLabels": {
                CLUSTER_CLIENT_LABEL: cluster.cluster_secret_name
            } } })];
            from.extend(client_peers(&cluster.policy.clients, ns));
            // REST API, IPFS proxy and metrics.
            let apis = numbers(&other.iter().collect::<Vec<_>>());
            ingress.extend(rule("from", from, &apis));
            let egress = if cluster.policy.open_egress {
                vec![json!({})]
            } else {
                let mut egress = vec![dns(&cluster.policy, ns)];
                egress.extend(rule("to", linked(i), &swarm));
                for address in &cluster.bootstrap_peers {
                    if let Ok(address) = multiaddr::parse(address, Shape::WithPeer)
                        && input.named(&address, i, Kind::ClusterPeer).is_none()
                    {
                        egress.push(outside(&address, &BTreeSet::from(["TCP"])));
                    }
                }
                if let Ok(endpoint) = multiaddr::parse(&cluster.peer_endpoint, Shape::Endpoint) {
                    egress.push(match input.named(&endpoint, i, Kind::Peer) {
                        Some(p) => json!({
                            "to": input.peers(&BTreeSet::from([p]), ns),
                            "ports": ports(&[(endpoint.port, "TCP")]),
                        }),
                        None => outside(&endpoint, &BTreeSet::from(["TCP"])),
                    });
                }
                egress
            };
            (&cluster.policy, ingress, egress)
        }
    };
    if !settings.enabled {
        return None;
    }
    let mut ingress = ingress;
    ingress.extend(crate::render::monitoring::ingress(config, ns));
    let value = json!({
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": metadata(i),
        "spec": {
            "podSelector": pods(resource.kind, &resource.name),
            "policyTypes": ["Ingress", "Egress"],
            "ingress": ingress,
            "egress": egress,
        },
    });
    Some(Object::from_value(value, resource.origin))
}

/// The addresses of a Peer's `kotalc.io/peering`, parsed.
fn peering(peer: &PeerConfig) -> Vec<Multiaddr> {
    let Some(text) = &peer.peering_list else {
        return Vec::new();
    };
    crate::model::annotations::list(text)
        .filter_map(|entry| multiaddr::parse(entry, Shape::WithPeer).ok())
        .collect()
}
