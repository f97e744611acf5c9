//! `kotalc diff`'s verdict is the API server's. For each kind of change diff can print, the old
//! render is applied to a real kube-apiserver, exported with `kubectl get -o yaml`, compared
//! with `kotalc diff NEW --against EXPORT`, and the new render is applied: what kotalc calls
//! refused is refused, everything else is accepted, "rolls pods" changes the pod template,
//! and an object kotalc calls unchanged is not changed by the apply.

use std::collections::BTreeMap;
use std::fs;

use serde_json::{Value as J, json};

use crate::api_accepts::{list_in, objects};
use crate::apiserver::{Server, server};
use crate::common::{run, scratch, text};

/// A change: the old and new inputs (a Peer in the test's namespace `NS`), an edit to the old
/// render (as an older render or a hand edit left it), what to do to the cluster after the old
/// apply, and the verdicts kotalc must print, by object kind.
struct Case {
    name: &'static str,
    old: String,
    new: String,
    edit_old: fn(&mut J),
    after_old: fn(&Server, &str),
    /// Extra arguments for the new render (`--templates DIR`).
    new_args: &'static [&'static str],
    expect: &'static [(&'static str, &'static str)],
}

const PEER: &str = "apiVersion: ipfs.kotal.io/v1alpha1\nkind: Peer\nmetadata:\n  name: gateway\n  \
                    namespace: NS\nspec:\n  image: kotalco/kubo:v0.28.0\n  resources:\n    \
                    storage: 10Gi\n";

fn nothing(_: &mut J) {}
fn no_setup(_: &Server, _: &str) {}

impl Default for Case {
    fn default() -> Self {
        Case {
            name: "",
            old: PEER.to_string(),
            new: PEER.to_string(),
            edit_old: nothing,
            after_old: no_setup,
            new_args: &[],
            expect: &[],
        }
    }
}

/// What kotalc printed for each object: `Kind` -> verdicts ("unchanged" when not listed).
fn verdicts(stdout: &str) -> BTreeMap<String, Vec<String>> {
    let mut out: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut current = String::new();
    for line in stdout.lines() {
        if let Some(key) = line.strip_prefix("~ ").or(line.strip_prefix("! ")) {
            current = key.split(' ').next().unwrap_or_default().to_string();
            out.entry(current.clone())
                .or_default()
                .push("changed".into());
        } else if let Some(finding) = line.strip_prefix("  ")
            && !finding.starts_with(' ')
            && let Some((gravity, _)) = finding.split_once(": ")
        {
            out.entry(current.clone()).or_default().push(gravity.into());
        }
    }
    out
}

fn render(dir: &std::path::Path, input: &str, ns: &str, extra: &[&str]) -> Vec<J> {
    let inputs = dir.join("ipfs");
    fs::create_dir_all(&inputs).expect("mkdir");
    fs::write(inputs.join("peer.yaml"), input.replace("NS", ns)).expect("write");
    let mut args = vec!["build", "--secret-mode", "none", "ipfs"];
    args.extend_from_slice(extra);
    let out = run(dir, &args);
    out.success();
    objects(&text(&out.stdout))
}

fn check(case: Case) {
    let server = server();
    let ns = server.namespace(&format!("diff-{}", case.name));
    let dir = scratch(&format!("api-diff-{}", case.name));
    // The old render, applied as a GitOps tool applies it.
    let mut old = render(&dir.join("old"), &case.old, &ns, &[]);
    old.iter_mut().for_each(case.edit_old);
    let file = dir.join("old.json");
    list_in(&ns, &old, &file);
    server.ok(&[
        "apply",
        "--server-side",
        "--field-manager=kotalc",
        "-f",
        &file.to_string_lossy(),
    ]);
    (case.after_old)(server, &ns);
    // The export, and kotalc's verdict on the new inputs against it.
    let export = server.ok(&[
        "get",
        "sts,svc,cm,pvc,netpol",
        "-n",
        &ns,
        "-o",
        "yaml",
        "--show-managed-fields",
    ]);
    fs::write(dir.join("export.yaml"), &export).expect("write");
    // For `--templates ../templates`: a Service template that makes the Service headless.
    let service =
        fs::read_to_string(crate::common::root().join("templates/service.yaml")).expect("template");
    fs::create_dir_all(dir.join("templates")).expect("mkdir");
    fs::write(
        dir.join("templates/service.yaml"),
        service.replace(
            "\"type\": \"ClusterIP\",",
            "\"type\": \"ClusterIP\",\n    \"clusterIP\": \"None\",",
        ),
    )
    .expect("write");
    let new_dir = dir.join("new");
    let new = render(&new_dir, &case.new, &ns, case.new_args);
    let mut args = vec![
        "diff",
        "ipfs",
        "--against",
        "../export.yaml",
        "--secret-mode",
        "none",
        "--color",
        "never",
        "--fail-on",
        "destructive",
    ];
    args.extend_from_slice(case.new_args);
    let diff = run(&new_dir, &args);
    let stdout = text(&diff.stdout);
    let said = verdicts(&stdout);
    let blocking = said
        .values()
        .flatten()
        .any(|v| v == "refused" || v == "destructive");
    assert_eq!(
        diff.status.code(),
        Some(i32::from(blocking)),
        "--fail-on destructive fails exactly on a refused or destructive change:\n{stdout}{}",
        text(&diff.stderr)
    );
    let before: BTreeMap<String, J> = objects(&export)
        .into_iter()
        .map(|o| (o["kind"].as_str().unwrap_or_default().to_string(), o))
        .collect();
    // The new render, applied object by object: the server's verdict on each.
    let mut wrong = Vec::new();
    for object in &new {
        let kind = object["kind"].as_str().unwrap_or_default().to_string();
        let name = object["metadata"]["name"].as_str().unwrap_or_default();
        let file = dir.join(format!("new-{kind}.json"));
        list_in(&ns, std::slice::from_ref(object), &file);
        let applied = server.kubectl(&[
            "apply",
            "--server-side",
            "--field-manager=kotalc",
            "-f",
            &file.to_string_lossy(),
        ]);
        let verdict = said.get(&kind).cloned().unwrap_or_default();
        let refused = verdict.iter().any(|v| v == "refused");
        // "needs" names a condition of the cluster: the server decides either way.
        let conditional = verdict.iter().any(|v| v == "needs");
        if applied.status.success() == refused && !conditional {
            wrong.push(format!(
                "{kind} {name}: kotalc says {verdict:?}, the server {}: {}",
                if refused { "accepts it" } else { "refuses it" },
                text(&applied.stderr)
            ));
        }
        if !applied.status.success() {
            continue;
        }
        let after: J =
            serde_json::from_str(&server.ok(&["get", "-n", &ns, &kind, name, "-o", "json"]))
                .expect("JSON");
        let old = &before[&kind];
        let moved = |path: &str| old.pointer(path) != after.pointer(path);
        // What the object holds, apart from the record of who set it.
        let content = |o: &J| {
            let mut o = o.clone();
            if let Some(meta) = o["metadata"].as_object_mut() {
                meta.remove("managedFields");
                meta.remove("resourceVersion");
            }
            o
        };
        if verdict.is_empty() && content(old) != content(&after) {
            wrong.push(format!(
                "{kind} {name}: kotalc says unchanged, the apply changed it:\n{}\n{}",
                content(old),
                content(&after)
            ));
        }
        if kind == "StatefulSet"
            && moved("/metadata/generation") != verdict.iter().any(|v| v == "rolls pods")
            && !refused
        {
            wrong.push(format!(
                "{kind} {name}: kotalc says {verdict:?}, the pod template {}",
                if moved("/metadata/generation") {
                    "changed"
                } else {
                    "did not change"
                }
            ));
        }
    }
    for (kind, expected) in case.expect {
        let got = said.get(*kind).cloned().unwrap_or_default();
        let hit = if *expected == "unchanged" {
            got.is_empty()
        } else {
            got.iter().any(|v| v == expected)
        };
        if !hit {
            wrong.push(format!(
                "{kind}: expected {expected:?}, kotalc says {got:?}"
            ));
        }
    }
    assert!(
        wrong.is_empty(),
        "{}\n--- kotalc diff ---\n{stdout}",
        wrong.join("\n")
    );
}

fn storage_class(server: &Server, name: &str, expands: bool) {
    let class = json!({
        "apiVersion": "storage.k8s.io/v1",
        "kind": "StorageClass",
        "metadata": {"name": name},
        "provisioner": "example.com/none",
        "allowVolumeExpansion": expands,
    });
    let out = server.kubectl_stdin(
        &["apply", "--server-side", "-f", "-"],
        class.to_string().as_bytes(),
    );
    out.success();
}

/// The claim bound, as a provisioner binds it (no volume controller runs here).
fn bind(server: &Server, ns: &str) {
    server.ok(&[
        "patch",
        "pvc",
        "gateway",
        "-n",
        ns,
        "--subresource=status",
        "--type=merge",
        "-p",
        r#"{"status":{"phase":"Bound","capacity":{"storage":"10Gi"}}}"#,
    ]);
}

fn edit(kind: &str, object: &mut J, f: impl FnOnce(&mut J)) {
    if object["kind"] == kind {
        f(object)
    }
}

#[test]
fn verdict_unchanged_is_an_apply_that_changes_nothing() {
    check(Case {
        name: "unchanged",
        expect: &[
            ("StatefulSet", "unchanged"),
            ("Service", "unchanged"),
            ("ConfigMap", "unchanged"),
            ("PersistentVolumeClaim", "unchanged"),
        ],
        ..Case::default()
    });
}

#[test]
fn verdict_rolls_pods_is_a_new_pod_template() {
    check(Case {
        name: "rolls-pods",
        new: PEER.replace("v0.28.0", "v0.29.0"),
        expect: &[("StatefulSet", "rolls pods")],
        ..Case::default()
    });
}

#[test]
fn verdict_on_a_statefulset_selector() {
    check(Case {
        name: "selector",
        edit_old: |o| {
            edit("StatefulSet", o, |o| {
                o["spec"]["selector"]["matchLabels"]["tier"] = json!("old");
                o["spec"]["template"]["metadata"]["labels"]["tier"] = json!("old");
            })
        },
        expect: &[("StatefulSet", "refused")],
        ..Case::default()
    });
}

#[test]
fn verdict_on_a_statefulset_service_name() {
    check(Case {
        name: "service-name",
        edit_old: |o| {
            edit("StatefulSet", o, |o| {
                o["spec"]["serviceName"] = json!("gateway-old")
            })
        },
        expect: &[("StatefulSet", "refused")],
        ..Case::default()
    });
}

#[test]
fn verdict_on_a_statefulset_pod_management_policy() {
    check(Case {
        name: "pod-management",
        edit_old: |o| {
            edit("StatefulSet", o, |o| {
                o["spec"]["podManagementPolicy"] = json!("Parallel")
            })
        },
        expect: &[("StatefulSet", "refused")],
        ..Case::default()
    });
}

#[test]
fn verdict_on_statefulset_volume_claim_templates() {
    check(Case {
        name: "claim-templates",
        edit_old: |o| {
            edit("StatefulSet", o, |o| {
                o["spec"]["volumeClaimTemplates"] = json!([{
                    "metadata": {"name": "data"},
                    "spec": {"accessModes": ["ReadWriteOnce"],
                             "resources": {"requests": {"storage": "1Gi"}}}
                }])
            })
        },
        expect: &[("StatefulSet", "refused")],
        ..Case::default()
    });
}

#[test]
fn verdict_on_a_claim_that_shrinks() {
    check(Case {
        name: "shrink",
        old: PEER.replace("10Gi", "20Gi"),
        expect: &[("PersistentVolumeClaim", "refused")],
        ..Case::default()
    });
}

#[test]
fn verdict_on_a_pending_claim_that_grows() {
    check(Case {
        name: "grow-pending",
        new: PEER.replace("10Gi", "20Gi"),
        expect: &[("PersistentVolumeClaim", "refused")],
        ..Case::default()
    });
}

const CLASS_PEER: &str = "apiVersion: ipfs.kotal.io/v1alpha1\nkind: Peer\nmetadata:\n  name: gateway\n  \
                    namespace: NS\nspec:\n  image: kotalco/kubo:v0.28.0\n  resources:\n    \
                    storage: 10Gi\n    storageClass: CLASS\n";

#[test]
fn verdict_on_a_bound_claim_that_grows_in_a_class_that_expands() {
    check(Case {
        name: "grow-expands",
        old: CLASS_PEER.replace("CLASS", "expands"),
        new: CLASS_PEER
            .replace("CLASS", "expands")
            .replace("10Gi", "20Gi"),
        after_old: |server, ns| {
            storage_class(server, "expands", true);
            bind(server, ns);
        },
        expect: &[("PersistentVolumeClaim", "needs")],
        ..Case::default()
    });
}

#[test]
fn verdict_on_a_bound_claim_that_grows_in_a_class_that_does_not_expand() {
    // "needs" names the class; this server's class refuses, so the apply is refused.
    check(Case {
        name: "grow-fixed",
        old: CLASS_PEER.replace("CLASS", "fixed"),
        new: CLASS_PEER.replace("CLASS", "fixed").replace("10Gi", "20Gi"),
        after_old: |server, ns| {
            storage_class(server, "fixed", false);
            bind(server, ns);
        },
        expect: &[("PersistentVolumeClaim", "needs")],
        ..Case::default()
    });
}

#[test]
fn verdict_on_a_claim_whose_class_changes() {
    check(Case {
        name: "class-changes",
        old: CLASS_PEER.replace("CLASS", "fast"),
        new: CLASS_PEER.replace("CLASS", "slow"),
        expect: &[("PersistentVolumeClaim", "refused")],
        ..Case::default()
    });
}

/// A claim created without a class (this cluster has no default class) may be given one: the
/// API server's retroactive default-class rule, pending or bound.
#[test]
fn verdict_on_a_pending_claim_that_gains_a_class() {
    check(Case {
        name: "class-added",
        new: CLASS_PEER.replace("CLASS", "fast"),
        expect: &[("PersistentVolumeClaim", "changed")],
        ..Case::default()
    });
}

#[test]
fn verdict_on_a_bound_claim_that_gains_a_class() {
    check(Case {
        name: "class-added-bound",
        new: CLASS_PEER.replace("CLASS", "fast"),
        after_old: bind,
        expect: &[("PersistentVolumeClaim", "changed")],
        ..Case::default()
    });
}

#[test]
fn verdict_on_a_claim_class_the_new_render_drops() {
    check(Case {
        name: "class-dropped",
        old: CLASS_PEER.replace("CLASS", "fast"),
        expect: &[("PersistentVolumeClaim", "refused")],
        ..Case::default()
    });
}

#[test]
fn verdict_on_a_claim_access_mode() {
    check(Case {
        name: "access-modes",
        edit_old: |o| {
            edit("PersistentVolumeClaim", o, |o| {
                o["spec"]["accessModes"] = json!(["ReadWriteMany"])
            })
        },
        expect: &[("PersistentVolumeClaim", "refused")],
        ..Case::default()
    });
}

#[test]
fn verdict_on_the_rest_of_a_claim_spec() {
    check(Case {
        name: "claim-spec",
        edit_old: |o| {
            edit("PersistentVolumeClaim", o, |o| {
                o["spec"]["volumeMode"] = json!("Block")
            })
        },
        expect: &[("PersistentVolumeClaim", "refused")],
        ..Case::default()
    });
}

#[test]
fn verdict_on_a_service_address_the_cluster_allocated() {
    // The render sets no clusterIP: the API server keeps the one it allocated.
    check(Case {
        name: "cluster-ip-kept",
        edit_old: |o| edit("Service", o, |o| o["spec"]["clusterIP"] = json!("None")),
        expect: &[("Service", "unchanged")],
        ..Case::default()
    });
}

#[test]
fn verdict_on_a_service_cluster_ip() {
    // A template that makes the Service headless: its allocated address cannot change.
    check(Case {
        name: "cluster-ip",
        new_args: &["--templates", "../templates"],
        expect: &[("Service", "refused")],
        ..Case::default()
    });
}

#[test]
fn verdict_on_a_service_type() {
    check(Case {
        name: "service-type",
        edit_old: |o| edit("Service", o, |o| o["spec"]["type"] = json!("NodePort")),
        expect: &[("Service", "destructive")],
        ..Case::default()
    });
}
