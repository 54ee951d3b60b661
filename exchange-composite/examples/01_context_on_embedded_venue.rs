//! An `ExchangeContext` on the embedded venue (`exchange-sim`, on 127.0.0.1 with ephemeral
//! ports): the body reads the market and rests a bid; on its end everything stops in the
//! shutdown order (our bid cancelled and confirmed, the private socket and its listen key, the
//! public socket, the streams, the REST client and rate limiter), under one deadline, with one
//! report.
//!
//! `cargo run -p exchange-composite --example 01_context_on_embedded_venue`
//!
//! Against MEXC itself the configuration is `ExchangeConfig::mexc_spot()` with the keys from
//! `MEXC_API_KEY` and `MEXC_API_SECRET` (`credentials_from_env`) or a file
//! (`credentials_from_file`); the body stays the same.
#![allow(clippy::print_stdout)]

use std::time::Duration;

use exchange_composite::{
    AssetName, ContextError, Credentials, ExchangeConfig, ExchangeContext, ExchangeError,
    OrderRequest, Side, Symbol,
};
use exchange_sim::{DEMO_API_KEY, DEMO_API_SECRET, SimConfig, SimVenue};
use rust_decimal::Decimal;

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let venue = SimVenue::start(SimConfig::default()).await?;
    println!("embedded venue at {}", venue.rest_url());
    let hifi = Symbol::spot(AssetName::new("HIFI")?, AssetName::new("USDT")?);
    let config = ExchangeConfig::new(venue.rest_url(), venue.ws_url())
        .symbol(hifi.clone())
        .credentials(Credentials::new(DEMO_API_KEY, DEMO_API_SECRET))
        .shutdown_budget(Duration::from_secs(5));

    let run = ExchangeContext::run(&config, |exchanges| async move {
        let ticker = exchanges
            .public
            .wait_for_book_ticker(&hifi, Duration::from_secs(5))
            .await?;
        println!(
            "{hifi}: bid {} / ask {}",
            ticker.bid_price, ticker.ask_price
        );
        // Half the bid: it rests until the shutdown cancels it.
        let bid = OrderRequest::limit_maker(
            hifi.clone(),
            Side::Buy,
            ticker.bid_price / Decimal::TWO,
            Decimal::from(50),
        );
        let order = exchanges.private.place_order(bid).await?;
        println!(
            "resting: {} {} at {} (client order id {})",
            order.quantity,
            hifi,
            order.price,
            order
                .client_order_id
                .as_ref()
                .map(ToString::to_string)
                .unwrap_or_default()
        );
        let open = exchanges.private.our_open_orders(&hifi).await?;
        Ok::<_, ExchangeError>(open.len())
    })
    .await;

    let outcome = match run {
        Ok(outcome) => outcome,
        Err(ContextError::Body { error, report }) => {
            println!("{report}");
            return Err(error.into());
        }
        Err(other) => return Err(other.into()),
    };
    println!("open orders of ours during the body: {}", outcome.value);
    println!("{}", outcome.report);
    let left = venue.open_orders(DEMO_API_KEY).unwrap_or_default();
    println!(
        "open orders on the venue after the shutdown: {}",
        left.len()
    );
    venue.stop_within(Duration::from_secs(2)).await;
    if !outcome.report.is_clean() || !left.is_empty() {
        return Err("the shutdown was not clean".into());
    }
    Ok(())
}
