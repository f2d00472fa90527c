//! A daemon with a TCP listener for one test, and authenticated tonic clients to it.

use std::time::Duration;

use procward_proto::v1::ports_client::PortsClient;
use procward_proto::v1::process_manager_service_client::ProcessManagerServiceClient;
use procward_proto::v1::supervisor_client::SupervisorClient;
use tonic::metadata::MetadataValue;
use tonic::service::interceptor::InterceptedService;
use tonic::transport::Channel;

use super::daemon::Daemon;

/// A runtime for one test's client calls.
pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

/// Adds `authorization: Bearer TOKEN` to every call.
#[derive(Clone)]
pub struct Bearer(pub Option<String>);

impl tonic::service::Interceptor for Bearer {
    fn call(
        &mut self,
        mut request: tonic::Request<()>,
    ) -> Result<tonic::Request<()>, tonic::Status> {
        if let Some(token) = &self.0 {
            let value: MetadataValue<_> = format!("Bearer {token}").parse().unwrap();
            request.metadata_mut().insert("authorization", value);
        }
        Ok(request)
    }
}

/// An authenticated channel.
pub type Authed = InterceptedService<Channel, Bearer>;

/// A daemon serving gRPC on 127.0.0.1 (a free port) beside its Unix socket.
pub struct TcpDaemon {
    /// The daemon (stopped with everything it manages on drop).
    pub daemon: Daemon,
    /// `127.0.0.1:PORT`.
    pub address: String,
    /// The bearer token.
    pub token: String,
}

impl TcpDaemon {
    /// Starts the daemon detached with `--listen 127.0.0.1:0`.
    pub fn start() -> Self {
        Self::start_in(Daemon::new(), &[])
    }

    /// Starts `daemon` detached with `--listen 127.0.0.1:0` and `extra` flags (its
    /// config file, if the test wrote one, applies too).
    pub fn start_in(daemon: Daemon, extra: &[&str]) -> Self {
        daemon
            .cmd()
            .args(["daemon", "--detach", "--listen", "127.0.0.1:0"])
            .args(extra)
            .assert()
            .success();
        let info_path = daemon.pw.dir().join("home/tcp.json");
        assert!(
            super::wait_for(Duration::from_secs(10), || info_path.exists()),
            "tcp.json was not written"
        );
        let info: serde_json::Value =
            serde_json::from_slice(&std::fs::read(&info_path).unwrap()).unwrap();
        let address = info["address"].as_str().unwrap().to_owned();
        let out = daemon.cmd().arg("token").output().unwrap();
        let token = String::from_utf8(out.stdout).unwrap().trim().to_owned();
        Self {
            daemon,
            address,
            token,
        }
    }

    /// A channel presenting `token` (none when `None`).
    pub async fn channel_with(&self, token: Option<&str>) -> Authed {
        let channel = Channel::from_shared(format!("http://{}", self.address))
            .unwrap()
            .connect()
            .await
            .expect("connect to the daemon");
        InterceptedService::new(channel, Bearer(token.map(str::to_owned)))
    }

    /// A `ProcessManagerService` client with the right token.
    pub async fn manager(&self) -> ProcessManagerServiceClient<Authed> {
        ProcessManagerServiceClient::new(self.channel_with(Some(&self.token)).await)
    }

    /// A `Ports` client with the right token.
    pub async fn ports(&self) -> PortsClient<Authed> {
        PortsClient::new(self.channel_with(Some(&self.token)).await)
    }

    /// A `Supervisor` client with the right token.
    pub async fn supervisor(&self) -> SupervisorClient<Authed> {
        SupervisorClient::new(self.channel_with(Some(&self.token)).await)
    }
}
