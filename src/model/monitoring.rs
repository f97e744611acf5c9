//! Who scrapes a resource's metrics: the Prometheus pods named by `kotalc.io/monitoring` on the
//! resource, or by `--monitoring` for every resource. A resource so monitored gets a
//! PodMonitor (prometheus-operator's `monitoring.coreos.com/v1`), and its NetworkPolicy admits
//! those pods to its metrics port alone.

use crate::model::policy::{Client, clients};

/// How the scraper is written: the NetworkPolicy clients' syntax.
pub const SCRAPER_HELP: &str = "the Prometheus pods, comma-separated: NS:KEY=VALUE (pods of \
    namespace NS with that label), NS:* (every pod of NS) or KEY=VALUE (pods of the resource's \
    namespace); or \"off\" on one resource, to leave it out of --monitoring";

/// The scrapers of a resource: its annotation's, else the run's. `off` on the resource, or
/// neither, is none. Malformed values are reported by the checks and read as none.
pub fn scrapers(annotation: Option<&str>, run: Option<&str>) -> Vec<Client> {
    match annotation.or(run).map(str::trim) {
        None | Some("off") => Vec::new(),
        Some(text) => clients(text).unwrap_or_default(),
    }
}

/// A scraper list as given, or why it is malformed; `off` is allowed on a resource only.
pub fn parse(text: &str, on_resource: bool) -> Result<Vec<Client>, String> {
    match text.trim() {
        "off" if on_resource => Ok(Vec::new()),
        "" => Err("names no Prometheus pods".into()),
        text => clients(text),
    }
}
