//! The k8s-openapi round trip: a rendered object must survive deserialization into its
//! Kubernetes type and serialization back unchanged, or the template wrote something
//! Kubernetes (v1.33, the oldest version kotalc targets) does not know.

use k8s_openapi::api::apps::v1::StatefulSet;
use k8s_openapi::api::core::v1::{ConfigMap, PersistentVolumeClaim, Service};
use k8s_openapi::api::networking::v1::NetworkPolicy;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value as J;

pub fn check(value: J) -> Result<J, String> {
    let kind = value
        .get("kind")
        .and_then(J::as_str)
        .unwrap_or_default()
        .to_string();
    match kind.as_str() {
        "ConfigMap" => roundtrip::<ConfigMap>(value, &kind),
        "Service" => roundtrip::<Service>(value, &kind),
        "PersistentVolumeClaim" => roundtrip::<PersistentVolumeClaim>(value, &kind),
        "StatefulSet" => roundtrip::<StatefulSet>(value, &kind),
        "NetworkPolicy" => roundtrip::<NetworkPolicy>(value, &kind),
        other => Err(format!(
            "rendered kind `{other}`, which kotalc does not emit"
        )),
    }
}

fn roundtrip<T: DeserializeOwned + Serialize>(value: J, kind: &str) -> Result<J, String> {
    let typed: T = serde_json::from_value(value.clone())
        .map_err(|e| format!("rendered an invalid {kind}: {e}"))?;
    let back = serde_json::to_value(&typed).map_err(|e| e.to_string())?;
    if back == value {
        Ok(back)
    } else {
        let path = first_difference(&value, &back, String::new());
        Err(format!(
            "rendered `{path}`, which is not a field of {kind} in Kubernetes v1.33 or has the wrong shape"
        ))
    }
}

fn first_difference(rendered: &J, typed: &J, path: String) -> String {
    match (rendered, typed) {
        (J::Object(a), J::Object(b)) => {
            for (k, v) in a {
                let child = if path.is_empty() {
                    k.clone()
                } else {
                    format!("{path}.{k}")
                };
                match b.get(k) {
                    Some(w) if w == v => {}
                    Some(w) => return first_difference(v, w, child),
                    None => return child,
                }
            }
            path
        }
        (J::Array(a), J::Array(b)) => {
            for (i, (v, w)) in a.iter().zip(b).enumerate() {
                if v != w {
                    return first_difference(v, w, format!("{path}[{i}]"));
                }
            }
            path
        }
        _ => path,
    }
}
