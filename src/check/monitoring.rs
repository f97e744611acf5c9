//! `kotalc.io/monitoring` on one resource: a scraper list or `off`, and on a Peer an RPC API
//! that listens on the pod's address, where kubo serves its metrics.

use crate::diagnostic::{Code, Diagnostic};
use crate::model::annotations::MONITORING;
use crate::model::defaults::Config;
use crate::model::monitoring::{SCRAPER_HELP, parse};
use crate::model::parse::Resource;

pub fn check(resource: &Resource, config: &Config, diagnostics: &mut Vec<Diagnostic>) {
    let Some((_, node)) = crate::model::parse::annotation(resource, MONITORING) else {
        return;
    };
    // A value of the wrong type is reported by the schema check.
    let Some(text) = node.as_str() else { return };
    let field = format!("metadata.annotations[{MONITORING}]");
    match parse(text, true) {
        Err(problem) => diagnostics.push(
            Diagnostic::new(
                Code::InvalidAnnotation,
                format!("{MONITORING:?}: {problem}"),
            )
            .at(node.span)
            .field(field)
            .help(SCRAPER_HELP),
        ),
        Ok(scrapers) if !scrapers.is_empty() => {
            if let Config::Peer(peer) = config
                && !peer.api
            {
                diagnostics.push(
                    Diagnostic::new(
                        Code::MonitoringApiClosed,
                        "kubo serves its metrics (/debug/metrics/prometheus) only on its RPC \
                         API, which listens on 127.0.0.1 while `api` is false: no scraper \
                         could reach them",
                    )
                    .at(node.span)
                    .field(field)
                    .help(
                        "set `spec.api: true` (the NetworkPolicy admits the scrapers to the RPC \
                         API port, and only its clients besides them), or remove the annotation",
                    ),
                );
            }
        }
        Ok(_) => {}
    }
}
