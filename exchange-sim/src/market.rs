//! The synthetic market: a seeded market maker keeps a ladder of quotes around a moving mid
//! price, and a seeded taker trades against the touch, so resting orders near the touch fill
//! within seconds. Pausable for deterministic tests.

use std::collections::BTreeMap;
use std::sync::Arc;

use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use rust_decimal::Decimal;
use tokio::time::MissedTickBehavior;

use crate::accounts::AccountId;
use crate::app::App;
use crate::config::{MarketConfig, SymbolConfig};
use crate::events::Event;
use crate::matching::{Engine, NewOrder, Side};

/// Mid price state of one symbol: the mid oscillates around an anchor that drifts slowly,
/// so prices come back to a resting order near the touch within seconds.
#[derive(Debug, Clone)]
struct SymbolState {
    mid: Decimal,
    anchor: Decimal,
}

/// The synthetic market's state: its random generator and the mid of every symbol.
#[derive(Debug)]
pub(crate) struct SyntheticMarket {
    rng: StdRng,
    states: BTreeMap<String, SymbolState>,
}

impl SyntheticMarket {
    /// Seed the market and quote every symbol once, so the book is two-sided as soon as the
    /// venue has started (paused or not).
    pub(crate) fn start(app: &App) -> Self {
        let mut market = Self {
            rng: StdRng::seed_from_u64(app.config.market.seed),
            states: app
                .config
                .symbols
                .iter()
                .map(|s| {
                    let state = SymbolState {
                        mid: s.initial_mid,
                        anchor: s.initial_mid,
                    };
                    (s.symbol.clone(), state)
                })
                .collect(),
        };
        let config = &app.config.market;
        app.execute(|engine, now, out| {
            for spec in &app.config.symbols {
                if let Some(state) = market.states.get_mut(&spec.symbol) {
                    quote(
                        engine,
                        app.market_accounts.0,
                        spec,
                        state,
                        config,
                        &mut market.rng,
                        now,
                        out,
                    );
                }
            }
        });
        market
    }

    /// The background task: one step per tick while not paused.
    pub(crate) async fn run(mut self, app: Arc<App>) {
        let config = app.config.market.clone();
        let mut shutdown = app.tasks.signal();
        let mut paused = app.market_paused.subscribe();
        let mut ticker = tokio::time::interval(config.tick);
        ticker.set_missed_tick_behavior(MissedTickBehavior::Delay);
        loop {
            let is_paused = *paused.borrow_and_update();
            if is_paused {
                tokio::select! {
                    biased;
                    () = crate::shutdown::wait_until(&mut shutdown, true) => return,
                    _ = paused.changed() => continue,
                }
            }
            tokio::select! {
                biased;
                () = crate::shutdown::wait_until(&mut shutdown, true) => return,
                _ = paused.changed() => continue,
                _ = ticker.tick() => {}
            }
            self.step(&app, &config);
        }
    }

    fn step(&mut self, app: &App, config: &MarketConfig) {
        let (maker, taker) = app.market_accounts;
        let Self { rng, states } = self;
        app.execute(|engine, now, out| {
            // Checked under the engine lock: once `pause` returned, no step runs.
            if *app.market_paused.borrow() {
                return;
            }
            for spec in &app.config.symbols {
                let Some(state) = states.get_mut(&spec.symbol) else {
                    continue;
                };
                step_mid(spec, state, config, rng);
                quote(engine, maker, spec, state, config, rng, now, out);
                if rng.random_bool(config.taker_probability.clamp(0.0, 1.0)) {
                    let side = if rng.random_bool(0.5) { Side::Buy } else { Side::Sell };
                    // Up to about two levels deep.
                    let quantity = spec.market_quantity * Decimal::from(rng.random_range(1..=6u32));
                    let order = NewOrder::market(&spec.symbol, side, quantity);
                    if let Err(e) = engine.place(taker, &order, now, out) {
                        tracing::debug!(symbol = %spec.symbol, error = %e, "synthetic taker order refused");
                    }
                }
            }
        });
    }
}

fn tick_size(spec: &SymbolConfig) -> Decimal {
    Decimal::new(1, spec.quote_precision)
}

/// One step of the mid: a random move of up to `max_step_bps` plus a pull of a third of the
/// distance back to the anchor; the anchor drifts by one tick now and then and stays within
/// 10 % of the initial mid.
fn step_mid(spec: &SymbolConfig, state: &mut SymbolState, config: &MarketConfig, rng: &mut StdRng) {
    let tick = tick_size(spec);
    let max_ticks = (state.mid * Decimal::from(config.max_step_bps) / Decimal::from(10_000) / tick)
        .floor()
        .max(Decimal::ONE);
    let max_ticks = i64::try_from(max_ticks).unwrap_or(1);
    if rng.random_bool(0.1) {
        let drift = (state.anchor - spec.initial_mid) / spec.initial_mid;
        let direction = if drift > Decimal::new(1, 1)
            || (drift >= Decimal::new(-1, 1) && rng.random_bool(0.5))
        {
            -1
        } else {
            1
        };
        state.anchor += tick * Decimal::from(direction);
    }
    // Mean reversion: a third of the distance to the anchor, plus noise.
    let deviation = i64::try_from(((state.mid - state.anchor) / tick).round()).unwrap_or(0);
    let step = rng.random_range(-max_ticks..=max_ticks) - deviation / 3;
    let next = state.mid + tick * Decimal::from(step);
    if next > tick * Decimal::from(100) {
        state.mid = next;
    }
}

/// Replace the market maker's ladder for one symbol.
#[allow(clippy::too_many_arguments)]
fn quote(
    engine: &mut Engine,
    maker: AccountId,
    spec: &SymbolConfig,
    state: &SymbolState,
    config: &MarketConfig,
    rng: &mut StdRng,
    now: i64,
    out: &mut Vec<Event>,
) {
    if let Err(e) = engine.cancel_all(maker, std::slice::from_ref(&spec.symbol), now, out) {
        tracing::debug!(symbol = %spec.symbol, error = %e, "synthetic quotes not cancelled");
    }
    let tick = tick_size(spec);
    for level in 0..config.levels {
        let distance =
            tick * Decimal::from(config.half_spread_ticks + level * config.level_spacing_ticks);
        for (side, price) in [
            (Side::Buy, state.mid - distance),
            (Side::Sell, state.mid + distance),
        ] {
            if price <= Decimal::ZERO {
                continue;
            }
            let quantity = spec.market_quantity * Decimal::from(rng.random_range(1..=4u32));
            let order = NewOrder::limit(
                &spec.symbol,
                side,
                price.round_dp(spec.quote_precision),
                quantity,
            );
            // A quote may meet a user order that crossed the new mid: it then trades, as on a
            // real venue.
            if let Err(e) = engine.place(maker, &order, now, out) {
                tracing::debug!(symbol = %spec.symbol, error = %e, "synthetic quote refused");
            }
        }
    }
}
