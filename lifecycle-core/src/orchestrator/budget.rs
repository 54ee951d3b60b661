//! How an orchestrated shutdown shares its one budget: between phases (each later phase keeps
//! a reserved share, what a phase leaves unused flows on), between the dependency levels of a
//! phase (each level keeps an equal share), and the one fixed slack the whole shutdown may
//! overrun by when stops break their contract.

use std::time::Duration;

use tokio::time::Instant;

/// The most a whole shutdown overruns its budget, however many stops break their contract:
/// the orchestrator waits this much past the deadline for late reports and first polls, once
/// for the whole shutdown, never once per phase.
pub(super) const CONTRACT_SLACK: Duration = Duration::from_millis(20);

/// The part of [`CONTRACT_SLACK`] spent waiting for late reports; the rest is for stops that
/// have not even been polled yet (a starved runtime).
const REPORT_SLACK: Duration = Duration::from_millis(15);

/// How long a dependency level waits past its users' deadline for their reports (timer
/// granularity, scheduling) before it breaks the order and begins anyway: a quarter of a
/// level's share, at least one timer tick, at most this.
const ORDER_SLACK: Duration = Duration::from_millis(5);

/// tokio's timers fire on whole milliseconds: two deadlines closer than this may fire in the
/// same tick, in either order. Every slack that orders two events is at least this.
const TIMER_RESOLUTION: Duration = Duration::from_millis(1);

/// The default share of the budget reserved for each later phase that has resources.
pub(super) const DEFAULT_PHASE_RESERVE_PERCENT: u8 = 5;

/// The largest reserve per later phase: four later phases keep at most 80% of the budget.
pub(super) const MAX_PHASE_RESERVE_PERCENT: u8 = 20;

/// The time plan of one shutdown.
#[derive(Debug, Clone, Copy)]
pub(super) struct ShutdownBudget {
    /// Every stop must be done by then.
    deadline: Instant,
    /// Past this no phase waits for reports.
    report_limit: Instant,
    /// Past this no phase waits even for first polls.
    poll_limit: Instant,
    /// Kept for each later phase that has resources.
    reserve_per_phase: Duration,
}

impl ShutdownBudget {
    /// A shutdown begun at `begun` whose stops must be done by `deadline`, overrunning by at
    /// most `slack` (at most [`CONTRACT_SLACK`]).
    pub(super) fn new(
        begun: Instant,
        deadline: Instant,
        slack: Duration,
        reserve_percent: u8,
    ) -> Self {
        let slack = slack.min(CONTRACT_SLACK);
        let total = deadline.saturating_duration_since(begun);
        let percent = u32::from(reserve_percent.min(MAX_PHASE_RESERVE_PERCENT));
        Self {
            deadline,
            report_limit: deadline + REPORT_SLACK.min(slack),
            poll_limit: deadline + slack,
            reserve_per_phase: total * percent / 100,
        }
    }

    /// The window of a phase that begins `now`, with `later_phases` non-empty phases after it.
    pub(super) fn phase(&self, now: Instant, later_phases: usize) -> PhaseWindow {
        let reserve = self
            .reserve_per_phase
            .saturating_mul(u32::try_from(later_phases).unwrap_or(u32::MAX));
        let end = self.deadline.checked_sub(reserve).unwrap_or(now).max(now);
        // Waiting for late reports past the end eats into the next phase's reserve: at most a
        // quarter of it. The last phase may use the whole report slack.
        let report_slack = if later_phases == 0 {
            REPORT_SLACK
        } else {
            (self.reserve_per_phase / 4).clamp(TIMER_RESOLUTION, REPORT_SLACK)
        };
        PhaseWindow {
            begun: now,
            end,
            wait_limit: (end + report_slack).min(self.report_limit).max(now),
            poll_limit: self.poll_limit.max(now),
        }
    }
}

/// The time one phase has.
#[derive(Debug, Clone, Copy)]
pub(super) struct PhaseWindow {
    /// When the phase began.
    pub(super) begun: Instant,
    /// Its last level's deadline.
    pub(super) end: Instant,
    /// When it stops waiting for reports.
    pub(super) wait_limit: Instant,
    /// When it stops waiting for first polls.
    pub(super) poll_limit: Instant,
}

/// When a member of dependency level `level` (of `levels`) may begin at the latest, and by
/// when it must be done.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct LevelWindow {
    /// It begins then even if a user has not returned (the ordering is then broken).
    pub(super) latest_start: Instant,
    /// Its stop deadline.
    pub(super) deadline: Instant,
}

impl PhaseWindow {
    /// The rule: the phase's time is split in equal shares, one per dependency level. Level
    /// `k` must be done by the end of share `k` (the last level by the phase's end), and begins
    /// when its users are done or, at the latest, when share `k` begins (plus a little slack
    /// for reports in flight). A user that overruns its share loses its ordering guarantee,
    /// never what it uses its stop.
    pub(super) fn level(&self, level: usize, levels: usize) -> LevelWindow {
        let levels = u32::try_from(levels.max(1)).unwrap_or(u32::MAX);
        let level = u32::try_from(level).unwrap_or(u32::MAX).min(levels - 1);
        let share = self.end.saturating_duration_since(self.begun) / levels;
        let latest_start = if level == 0 {
            self.begun
        } else {
            let slack = (share / 4).clamp(TIMER_RESOLUTION, ORDER_SLACK);
            (self.begun + share * level + slack).min(self.end.max(self.begun + slack))
        };
        let deadline = if level + 1 == levels {
            self.end
        } else {
            self.begun + share * (level + 1)
        };
        LevelWindow {
            latest_start,
            deadline,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A phase of 900 ms from `begun`, waiting 15 ms past its end for reports and polling 5 ms
    /// longer.
    fn phase_of_900_ms(begun: Instant) -> PhaseWindow {
        PhaseWindow {
            begun,
            end: begun + Duration::from_millis(900),
            wait_limit: begun + Duration::from_millis(915),
            poll_limit: begun + Duration::from_millis(920),
        }
    }

    #[test]
    fn later_phases_keep_their_reserve_and_the_last_gets_the_deadline() {
        let begun = Instant::now();
        let budget = ShutdownBudget::new(
            begun,
            begun + Duration::from_secs(1),
            CONTRACT_SLACK,
            DEFAULT_PHASE_RESERVE_PERCENT,
        );
        let first = budget.phase(begun, 4);
        assert_eq!(first.end, begun + Duration::from_millis(800));
        // Late reports may eat a quarter of the next phase's 50 ms reserve at most.
        assert_eq!(
            first.wait_limit,
            begun + Duration::from_millis(812) + Duration::from_micros(500)
        );
        let last = budget.phase(begun + Duration::from_millis(990), 0);
        assert_eq!(last.end, begun + Duration::from_secs(1));
        assert_eq!(last.wait_limit, begun + Duration::from_millis(1015));
        assert_eq!(last.poll_limit, begun + Duration::from_millis(1020));
        // A phase that begins after the deadline has no time, and waits for nothing.
        let late = budget.phase(begun + Duration::from_secs(2), 1);
        assert_eq!(late.end, late.begun);
        assert_eq!(late.wait_limit, late.begun);
    }

    #[test]
    fn levels_share_a_phase_equally() {
        let begun = Instant::now();
        let phase = phase_of_900_ms(begun);
        let ms = |m| begun + Duration::from_millis(m);
        assert_eq!(
            phase.level(0, 3),
            LevelWindow {
                latest_start: ms(0),
                deadline: ms(300)
            }
        );
        assert_eq!(
            phase.level(1, 3),
            LevelWindow {
                latest_start: ms(305),
                deadline: ms(600)
            }
        );
        assert_eq!(
            phase.level(2, 3),
            LevelWindow {
                latest_start: ms(605),
                deadline: ms(900)
            }
        );
        assert_eq!(
            phase.level(0, 1),
            LevelWindow {
                latest_start: ms(0),
                deadline: ms(900)
            }
        );
    }

    /// Every level's latest start and deadline, exactly, for one, two and three levels of a
    /// phase whose length does not divide evenly (so the last level's deadline is the phase's
    /// end, not the sum of the shares).
    #[test]
    fn each_level_of_an_uneven_phase_has_an_exact_window() {
        let begun = Instant::now();
        let end = begun + Duration::from_millis(100) + Duration::from_nanos(1);
        let phase = PhaseWindow {
            begun,
            end,
            wait_limit: end + Duration::from_millis(15),
            poll_limit: end + Duration::from_millis(20),
        };
        let at = |nanos: u64| begun + Duration::from_nanos(nanos);
        let window = |latest_start, deadline| LevelWindow {
            latest_start,
            deadline,
        };
        assert_eq!(phase.level(0, 1), window(begun, end));
        // Two shares of 50 ms: the second begins at the latest 5 ms (the order slack) into its
        // share.
        assert_eq!(phase.level(0, 2), window(begun, at(50_000_000)));
        assert_eq!(phase.level(1, 2), window(at(55_000_000), end));
        // Three shares of 33.333333 ms.
        assert_eq!(phase.level(0, 3), window(begun, at(33_333_333)));
        assert_eq!(phase.level(1, 3), window(at(38_333_333), at(66_666_666)));
        assert_eq!(phase.level(2, 3), window(at(71_666_666), end));
    }

    #[test]
    fn a_level_past_the_last_gets_the_last_window() {
        let begun = Instant::now();
        let phase = phase_of_900_ms(begun);
        assert_eq!(phase.level(5, 3), phase.level(2, 3));
        assert_eq!(phase.level(3, 3), phase.level(2, 3));
        assert_eq!(phase.level(1, 0), phase.level(0, 1));
    }

    #[test]
    fn a_short_share_waits_a_quarter_of_itself_for_reports() {
        let begun = Instant::now();
        let end = begun + Duration::from_millis(12);
        let phase = PhaseWindow {
            begun,
            end,
            wait_limit: end,
            poll_limit: end,
        };
        // Two shares of 6 ms: the second level begins at the latest 1.5 ms into its share.
        assert_eq!(
            phase.level(1, 2),
            LevelWindow {
                latest_start: begun + Duration::from_micros(7_500),
                deadline: end,
            }
        );
    }

    #[test]
    fn a_phase_with_no_time_still_orders_its_levels_by_one_tick() {
        let begun = Instant::now();
        let phase = PhaseWindow {
            begun,
            end: begun,
            wait_limit: begun,
            poll_limit: begun,
        };
        assert_eq!(
            phase.level(0, 2),
            LevelWindow {
                latest_start: begun,
                deadline: begun,
            }
        );
        // No share at all: a later level still waits one timer tick for its users' reports.
        assert_eq!(
            phase.level(1, 2),
            LevelWindow {
                latest_start: begun + TIMER_RESOLUTION,
                deadline: begun,
            }
        );
    }

    #[test]
    fn the_reserve_is_capped() {
        let begun = Instant::now();
        let budget = ShutdownBudget::new(begun, begun + Duration::from_secs(1), CONTRACT_SLACK, 90);
        assert_eq!(
            budget.phase(begun, 4).end,
            begun + Duration::from_millis(200)
        );
    }
}
