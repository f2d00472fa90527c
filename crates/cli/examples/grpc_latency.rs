//! Benchmark client: times sequential `ListProcesses` calls over the daemon's TCP
//! listener, as a Rust program would make them (one channel, token on every call).
//!
//! Usage: `PROCWARD_HOME=... grpc_latency [CALLS]` — reads `tcp.json` and `token` from
//! the home and prints one JSON object with p50, p99, mean and max in milliseconds.

use std::time::Instant;

use procward_proto::v1;
use procward_proto::v1::process_manager_service_client::ProcessManagerServiceClient;
use tonic::metadata::MetadataValue;
use tonic::transport::Channel;

#[tokio::main(flavor = "current_thread")]
async fn main() -> anyhow::Result<()> {
    let calls: usize = std::env::args().nth(1).map_or(Ok(2000), |n| n.parse())?;
    let home = std::path::PathBuf::from(std::env::var("PROCWARD_HOME")?);
    let info: serde_json::Value = serde_json::from_slice(&std::fs::read(home.join("tcp.json"))?)?;
    let address = info["address"].as_str().unwrap_or_default().to_owned();
    let token = std::fs::read_to_string(home.join("token"))?
        .trim()
        .to_owned();
    let bearer: MetadataValue<_> = format!("Bearer {token}").parse()?;
    let channel = Channel::from_shared(format!("http://{address}"))?
        .connect()
        .await?;
    let mut client =
        ProcessManagerServiceClient::with_interceptor(channel, move |mut r: tonic::Request<()>| {
            r.metadata_mut().insert("authorization", bearer.clone());
            Ok(r)
        });
    let mut processes = 0;
    for _ in 0..50 {
        let answer = client
            .list_processes(v1::ListProcessesRequest::default())
            .await?;
        processes = answer.into_inner().processes.len();
    }
    let mut times = Vec::with_capacity(calls);
    for _ in 0..calls {
        let started = Instant::now();
        client
            .list_processes(v1::ListProcessesRequest::default())
            .await?;
        times.push(started.elapsed().as_secs_f64() * 1000.0);
    }
    times.sort_by(f64::total_cmp);
    let at = |q: f64| times[((times.len() - 1) as f64 * q).round() as usize];
    let mean = times.iter().sum::<f64>() / times.len() as f64;
    println!(
        "{}",
        serde_json::json!({
            "client": "rust", "calls": calls, "processes": processes,
            "p50_ms": at(0.50), "p99_ms": at(0.99), "mean_ms": mean, "max_ms": at(1.0),
        })
    );
    Ok(())
}
