//! The order guardian: MEXC spot has no dead-man's switch (no cancel-all-after, no
//! cancel-on-disconnect), so a trading process killed by SIGKILL, the OOM killer or an abort
//! would leave its resting orders and its listen key on the venue. The guardian is a small
//! child process of ours (typically the same binary with a hidden subcommand) that does it
//! for us.
//!
//! - Parent side: [`OrderGuardian`], an `AsyncResource` ([`OrderGuardianConfig`],
//!   [`GuardianCommand`], [`GuardianLossPolicy`]).
//! - Child side: [`serve_guardian`], the body of the guardian process.
//! - Between them, over the guardian's stdin (an inherited pipe, never argv or the
//!   environment, both readable through `/proc`): the [`GuardianBrief`] (venue URL,
//!   credentials, our client-order-id prefix, markets, our pid), then the listen key whenever
//!   it changes, and at a clean end the word [`ParentMessage::Clean`].
//!
//! The guardian watches its parent through that pipe (its end means the parent is gone: the
//! kernel closes it on every death) and, on Linux, through a pidfd of the parent.

mod brief;
mod error;
mod message;
mod parent_death;
mod process;
mod serve;
mod supervisor;

pub use brief::{DEFAULT_GUARDIAN_SWEEP_TIMEOUT, GuardianBrief};
pub use error::GuardianError;
pub use message::{ARMED, ParentMessage};
pub use process::GuardianCommand;
pub use serve::{GuardianExit, serve_guardian};
pub use supervisor::{
    CleanCheck, DEFAULT_ARM_TIMEOUT, GuardianLossPolicy, OrderGuardian, OrderGuardianConfig,
};
