//! The KRM function reads items as an orchestrator hands them over: without annotations, in
//! large numbers, with values YAML 1.1 readers would change; and its results never quote the
//! input's Secret values.

use crate::common::{Kotalc, scratch, text};

fn krm(list: &str) -> (i32, serde_json::Value, String) {
    let dir = scratch("krm-items");
    let out = Kotalc::new()
        .current_dir(&dir)
        .args(["krm"])
        .stdin(list.as_bytes())
        .run();
    let stdout = text(&out.stdout);
    let value = serde_saphyr::from_str_with_options(&stdout, kotalc::input::yaml::options())
        .unwrap_or(serde_json::Value::Null);
    (out.status.code().unwrap_or(-1), value, stdout)
}

const HEAD: &str = "apiVersion: config.kubernetes.io/v1\nkind: ResourceList\nitems:\n";

#[test]
fn items_without_annotations_are_read() {
    let list = format!(
        "{HEAD}- apiVersion: ipfs.kotal.io/v1alpha1\n  kind: Peer\n  metadata:\n    name: p\n    namespace: ipfs\n- apiVersion: ipfs.kotal.io/v1alpha1\n  kind: Peer\n  metadata: {{name: q, namespace: ipfs}}\n  spec: {{}}\n"
    );
    let (code, value, stdout) = krm(&list);
    assert_eq!(code, 0, "{stdout}");
    let kinds: Vec<&str> = value["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter_map(|i| i["kind"].as_str())
        .collect();
    assert_eq!(
        kinds.iter().filter(|k| **k == "StatefulSet").count(),
        2,
        "{stdout}"
    );
}

#[test]
fn kotal_items_are_parsed_as_build_parses_them_and_others_keep_their_values() {
    let list = format!(
        "{HEAD}- apiVersion: ipfs.kotal.io/v1alpha1\n  kind: Peer\n  metadata:\n    name: p\n  spec:\n    api: yes\n"
    );
    let (code, _, stdout) = krm(&list);
    assert_eq!(
        code, 1,
        "`api: yes` is refused, as build refuses it: {stdout}"
    );
    assert!(stdout.contains("wrong-type"), "{stdout}");

    let list = format!(
        "{HEAD}- apiVersion: v1\n  kind: ConfigMap\n  metadata:\n    name: c\n  data:\n    name: n\n    answer: \"yes\"\n- apiVersion: ipfs.kotal.io/v1alpha1\n  kind: Peer\n  metadata:\n    name: p\n"
    );
    let (code, value, stdout) = krm(&list);
    assert_eq!(code, 0, "{stdout}");
    let config = value["items"]
        .as_array()
        .expect("items")
        .iter()
        .find(|i| i["kind"] == "ConfigMap" && i["metadata"]["name"] == "c")
        .expect("the ConfigMap passes through");
    assert_eq!(config["data"]["name"], "n", "{stdout}");
    assert_eq!(config["data"]["answer"], "yes", "{stdout}");
}

#[test]
fn a_list_as_large_as_build_accepts_works() {
    let mut list = String::from(HEAD);
    for i in 0..20_000 {
        list.push_str(&format!(
            "- apiVersion: v1\n  kind: ConfigMap\n  metadata:\n    name: c{i}\n  data:\n    k: v\n"
        ));
    }
    list.push_str("- apiVersion: ipfs.kotal.io/v1alpha1\n  kind: Peer\n  metadata:\n    name: p\n");
    let (code, value, stdout) = krm(&list);
    assert_eq!(code, 0, "{}", &stdout[..stdout.len().min(2000)]);
    assert!(!stdout.contains("budget"));
    assert!(value["items"].as_array().expect("items").len() > 20_000);
}

#[test]
fn results_never_quote_the_inputs_secret_values() {
    let value = "c2VjcmV0LXZhbHVlLW5vdC10by1sZWFr";
    let list = format!(
        "{HEAD}- apiVersion: v1\n  kind: Secret\n  metadata:\n    name: s\n  data:\n    password: {value}\n    password: {value}\n  bad: [\n"
    );
    let (code, _, stdout) = krm(&list);
    assert_eq!(code, 1);
    assert!(!stdout.contains(value), "{stdout}");
}

#[test]
fn items_kotalc_does_not_consume_pass_through_as_written() {
    let untouched = "- apiVersion: v1\n  kind: ConfigMap   # kept\n  metadata:\n    name: c\n  data:\n    big: 123456789012345678901234567890\n    octal: 010\n    bin: !!binary aGVsbG8=\n    n: n\n    script: |\n      line one\n        indented\n";
    // Indented under `items:` as some orchestrators write it: the same item, re-indented.
    let indented: String = untouched.lines().map(|l| format!("  {l}\n")).collect();
    let peer = "- apiVersion: ipfs.kotal.io/v1alpha1\n  kind: Peer\n  metadata:\n    name: p\n";
    let peer_indented: String = peer.lines().map(|l| format!("  {l}\n")).collect();
    for (body, peer) in [
        (untouched.to_string(), peer.to_string()),
        (indented, peer_indented),
    ] {
        let list = format!("{HEAD}{body}{peer}");
        let (code, value, stdout) = krm(&list);
        assert_eq!(code, 0, "{stdout}");
        assert!(
            stdout.contains(untouched),
            "the item is copied as written:\n{stdout}"
        );
        assert!(value["items"].as_array().expect("items").len() > 1);
    }
}

/// Results stop at the first 1,000 diagnostics, but the closing summary counts them all.
#[test]
fn the_summary_counts_every_diagnostic_not_only_the_results_shown() {
    let mut list = String::from(HEAD);
    for i in 0..1500 {
        list.push_str(&format!(
            "- apiVersion: ipfs.kotal.io/v1alpha1\n  kind: Peer\n  metadata:\n    name: p{i}\n  \
             spec:\n    replicas: 2\n"
        ));
    }
    let (code, value, stdout) = krm(&list);
    assert_eq!(code, 1, "{}", &stdout[..stdout.len().min(2000)]);
    let results = value["results"].as_array().expect("results");
    let last = results.last().expect("a summary")["message"]
        .as_str()
        .unwrap_or_default();
    assert!(last.contains("1500 resources, 1500 errors"), "{last}");
}

/// An untouched item's alias whose anchor sat in a Kotal item that kotalc replaces: the
/// output list is valid YAML, the alias resolved.
#[test]
fn an_alias_into_a_replaced_item_is_resolved() {
    let list = format!(
        "{HEAD}- apiVersion: ipfs.kotal.io/v1alpha1\n  kind: Peer\n  metadata:\n    name: p\n    namespace: ipfs\n    labels: &shared\n      team: storage\n- apiVersion: v1\n  kind: ConfigMap\n  metadata:\n    name: c\n    namespace: ipfs\n    labels: *shared\n  # kept as it was\n  data:\n    k: v\n"
    );
    let (code, value, stdout) = krm(&list);
    assert_eq!(code, 0, "{stdout}");
    assert!(value.is_object(), "the output is not valid YAML:\n{stdout}");
    let config_map = value["items"]
        .as_array()
        .expect("items")
        .iter()
        .find(|i| i["kind"] == "ConfigMap")
        .expect("the ConfigMap passes through");
    assert_eq!(
        config_map["metadata"]["labels"]["team"], "storage",
        "{stdout}"
    );
    // An item whose aliases are its own keeps its text, comments included.
    let own = format!(
        "{HEAD}- apiVersion: ipfs.kotal.io/v1alpha1\n  kind: Peer\n  metadata: {{name: p, namespace: ipfs}}\n- apiVersion: v1\n  kind: ConfigMap\n  metadata:\n    name: c\n    labels: &own {{team: x}}\n    annotations: *own\n  # kept as it was\n  data: {{}}\n"
    );
    let (code, value, stdout) = krm(&own);
    assert_eq!(code, 0, "{stdout}");
    assert!(value.is_object(), "{stdout}");
    assert!(stdout.contains("# kept as it was"), "{stdout}");
}
