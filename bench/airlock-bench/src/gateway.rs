//! Requests per second of artifact submit and exchange status: our `GatewayClient`
//! against a raw hyper-util client replaying the same bytes (the floor), in alternating
//! rounds.

use crate::shared::floor::Floor;
use crate::shared::measure::{paired_requests_per_sec, report_na, report_paired};
use crate::shared::ours;
use crate::shared::server::CannedServer;

/// The keys this part reports.
const KEYS: [&str; 12] = [
    "gw.submit.seq.ours",
    "gw.submit.seq.floor",
    "gw.submit.seq.ours_per_floor",
    "gw.status.seq.ours",
    "gw.status.seq.floor",
    "gw.status.seq.ours_per_floor",
    "gw.submit.c64.ours",
    "gw.submit.c64.floor",
    "gw.submit.c64.ours_per_floor",
    "gw.status.c64.ours",
    "gw.status.c64.floor",
    "gw.status.c64.ours_per_floor",
];

pub(crate) fn run() {
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => return all_na(&format!("no tokio runtime: {e}")),
    };
    if let Err(e) = runtime.block_on(measure_all()) {
        all_na(&e);
    }
}

fn all_na(reason: &str) {
    for key in KEYS {
        report_na(key, reason);
    }
}

async fn measure_all() -> Result<(), String> {
    let server = CannedServer::start().map_err(|e| format!("cannot start the server: {e}"))?;
    let ours = ours::Gateway::new(&server.base_url())?;
    let floor = Floor::capture(&server, &ours).await?;
    const NAMES: [&str; 3] = ["ours", "floor", "ours_per_floor"];
    for (label, concurrency) in [("seq", 1), ("c64", 64)] {
        report_paired(
            &format!("gw.submit.{label}"),
            NAMES,
            paired_requests_per_sec(concurrency, || ours.submit(), || floor.submit()).await,
        );
        report_paired(
            &format!("gw.status.{label}"),
            NAMES,
            paired_requests_per_sec(concurrency, || ours.status(), || floor.status()).await,
        );
    }
    Ok(())
}
