//! The order guardian served on in-memory pipes, for the guardian tests.

use std::time::Duration;

use exchange_composite::guardian::{
    ARMED, GuardianBrief, GuardianExit, ParentMessage, serve_guardian,
};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader, DuplexStream};

use super::config_for;

/// Starts the guardian on in-memory pipes, briefs it, waits for `armed`; returns the
/// parent's ends and the guardian's task.
pub async fn armed_guardian(
    brief: GuardianBrief,
) -> (
    DuplexStream,
    BufReader<DuplexStream>,
    tokio::task::JoinHandle<GuardianExit>,
) {
    let (mut to_guardian, guardian_in) = tokio::io::duplex(4096);
    let (guardian_out, from_guardian) = tokio::io::duplex(4096);
    let task = tokio::spawn(serve_guardian(guardian_in, guardian_out));
    to_guardian
        .write_all(ParentMessage::Brief(brief).to_line().as_bytes())
        .await
        .unwrap();
    let mut from_guardian = BufReader::new(from_guardian);
    let mut line = String::new();
    from_guardian.read_line(&mut line).await.unwrap();
    assert_eq!(line.trim(), ARMED);
    (to_guardian, from_guardian, task)
}

pub fn brief_for(sim: &exchange_sim::SimVenue, prefix: &str) -> GuardianBrief {
    let mut config = config_for(sim);
    config.client_order_id_prefix = prefix.to_owned();
    let mut brief = GuardianBrief::for_config(&config).unwrap();
    brief.sweep_timeout = Duration::from_secs(5);
    // In one process the guardian's "parent" is ours (alive): only the pipe tells.
    brief.parent_pid = std::os::unix::process::parent_id();
    brief
}
